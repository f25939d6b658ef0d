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
const OBJECTS: &[&str] = &["ebq"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("bpf");
    let clang = env::var_os("CLANG").unwrap_or_else(|| OsString::from("clang"));
    for name in OBJECTS {
        let src = dir.join(format!("{name}.bpf.c"));
        let obj = out.join(format!("{name}.bpf.o"));
        SkeletonBuilder::new()
            .source(&src)
            .obj(&obj)
            .clang(&clang)
            .clang_args([
                OsString::from("-I"),
                dir.join("include").into_os_string(),
                OsString::from("-I"),
                dir.clone().into_os_string(),
                OsString::from("-Wall"),
                OsString::from("-Werror"),
            ])
            .build_and_generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| {
                panic!(
                    "building {}: {e:#}\n(needs clang: run ./install-deps)",
                    src.display()
                )
            });
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
