//! Build script: compiles every BPF object in bpf/ with clang and generates
//! its libbpf-rs skeleton in OUT_DIR. The skeleton embeds the object, so the
//! ebq binary needs no compiler and no files at run time, and it carries Rust
//! types generated from the object's BTF: the kernel/user structs of
//! bpf/ebq.h are defined once, in C.
//!
//! Kernel types come from the hand-written bpf/include/vmlinux.h, never from
//! the build machine's running kernel. `CLANG` overrides the compiler.

use std::{env, ffi::OsString, path::PathBuf};

use libbpf_cargo::SkeletonBuilder;

/// One entry per BPF object: bpf/<name>.bpf.c -> OUT_DIR/<name>.skel.rs.
/// `selftest` is embedded only in test builds (src/kernel/selftest.rs).
const OBJECTS: &[&str] = &["ebq", "pidns", "selftest"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("bpf");
    let clang = env::var_os("CLANG").unwrap_or_else(|| OsString::from("clang"));
    for name in OBJECTS {
        let src = dir.join(format!("{name}.bpf.c"));
        let obj = out.join(format!("{name}.bpf.o"));
        let mut builder = SkeletonBuilder::new();
        builder.source(&src).obj(&obj).clang(&clang).clang_args([
            OsString::from("-I"),
            dir.join("include").into_os_string(),
            OsString::from("-I"),
            dir.clone().into_os_string(),
            OsString::from("-Wall"),
            OsString::from("-Werror"),
        ]);
        let failed = |e: &dyn std::fmt::Display| -> ! {
            panic!(
                "building {}: {e:#}\n(needs clang: run ./install-deps)",
                src.display()
            )
        };
        builder
            .build()
            .unwrap_or_else(|e| failed(&format!("{e:#}")));
        strip_branch_labels(&obj);
        builder
            .generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| failed(&format!("{e:#}")));
        println!("cargo:rerun-if-changed={}", src.display());
        // The object's identity, for the cache of the kernel's BTF
        // (src/kernel/btf.rs): a new object may relocate against new types.
        let bytes = std::fs::read(&obj).expect("the object clang just wrote");
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&bytes, &mut h);
        std::fs::write(
            out.join(format!("{name}.objhash")),
            format!("{:016x}", std::hash::Hasher::finish(&h)),
        )
        .expect("OUT_DIR is writable");
    }
    // The whole folder: every header a program includes is in it.
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-env-changed=CLANG");
}

/// Drops clang's branch labels (LBB*: 3,600 of the object's 3,800 symbols
/// with clang 14, which names them as symbols for BPF) from the object.
/// libbpf scans every symbol once per program section while opening it
/// (bpf_object__add_programs), so they cost 1 ms of every start; nothing
/// refers to them. Without llvm-objcopy (./install-deps installs it) the
/// object is left as it is: correct, a little slower to open.
fn strip_branch_labels(obj: &std::path::Path) {
    let objcopy = env::var_os("LLVM_OBJCOPY").unwrap_or_else(|| OsString::from("llvm-objcopy"));
    println!("cargo:rerun-if-env-changed=LLVM_OBJCOPY");
    let status = std::process::Command::new(&objcopy)
        .args(["--wildcard", "--strip-symbol=LBB*"])
        .arg(obj)
        .status();
    match status {
        Ok(s) if s.success() => {}
        _ => println!(
            "cargo:warning=llvm-objcopy did not strip the BPF object's branch labels: ebq starts about 1 ms slower (run ./install-deps)"
        ),
    }
}
