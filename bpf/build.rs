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

/// One entry per BPF object: (its name, its source bpf/<source>.bpf.c,
/// whether it is the compat build) -> OUT_DIR/<name>.bpf.o and
/// <name>.skel.rs. `selftest` is embedded only in test builds
/// (src/kernel/selftest.rs). `ebq_compat` is ebq.bpf.c again with
/// EBQ_COMPAT, for kernels without bpf_loop (bpf/common.bpf.h,
/// EBQ_STEPS()); it must have ebq's maps, programs and sections exactly,
/// for ebq's skeleton opens either one (checked below).
const OBJECTS: &[(&str, &str, bool)] = &[
    ("ebq", "ebq", false),
    ("ebq_compat", "ebq", true),
    ("pidns", "pidns", false),
    ("pidns_compat", "pidns", true),
    ("selftest", "selftest", false),
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("bpf");
    let clang = env::var_os("CLANG").unwrap_or_else(|| OsString::from("clang"));
    for &(name, source, compat) in OBJECTS {
        let src = dir.join(format!("{source}.bpf.c"));
        let obj = out.join(format!("{name}.bpf.o"));
        let mut builder = SkeletonBuilder::new();
        let mut args = vec![
            OsString::from("-I"),
            dir.join("include").into_os_string(),
            OsString::from("-I"),
            dir.clone().into_os_string(),
            OsString::from("-Wall"),
            OsString::from("-Werror"),
        ];
        if compat {
            args.push(OsString::from("-DEBQ_COMPAT=1"));
        }
        builder
            .source(&src)
            .obj(&obj)
            .clang(&clang)
            .clang_args(args);
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
        let skel = out.join(format!("{name}.skel.rs"));
        builder
            .generate(&skel)
            .unwrap_or_else(|e| failed(&format!("{e:#}")));
        if compat {
            check_compat(&obj);
            same_skeleton(&out.join(format!("{source}.skel.rs")), &skel, source, name);
        } else if OBJECTS.iter().any(|o| o.1 == name && o.2) {
            take_object_at_open(&skel, name);
        }
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

/// A skeleton that opens the object its loader chooses: the generated code
/// hands libbpf its own embedded object (`new(&DATA)`); this one asks
/// `crate::abi::object(name, &DATA)` (src/abi.rs), which gives it back, or
/// the compat build's, whose maps, programs and sections are the same
/// (same_skeleton()). libbpf finds every map and program by name when it
/// opens a skeleton (bpf_object__open_skeleton()), so either fits.
fn take_object_at_open(skel: &std::path::Path, name: &str) {
    let text = std::fs::read_to_string(skel).expect("the skeleton just generated");
    let from = "ObjectSkeletonConfigBuilder::new(&DATA)";
    assert_eq!(
        text.matches(from).count(),
        1,
        "{}: libbpf-cargo's skeleton no longer opens its object with `{from}`: bpf/build.rs must learn its new form",
        skel.display()
    );
    let text = text.replace(
        from,
        &format!("ObjectSkeletonConfigBuilder::new(crate::abi::object({name:?}, &DATA))"),
    );
    std::fs::write(skel, text).expect("OUT_DIR is writable");
}

/// The compat object's skeleton, but for its names and embedded bytes, has
/// the lines of the main one's (in any order: libbpf looks maps and
/// programs up by name), so the main skeleton can open it: a map or
/// program only one of them has, or a section laid out differently, is a
/// build error here rather than a failed load on an old kernel.
fn same_skeleton(main: &std::path::Path, compat: &std::path::Path, source: &str, name: &str) {
    let camel = |s: &str| -> String {
        s.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    };
    // libbpf names an object's sections from the object's first 8
    // characters ("ebq_bpf", "ebq_comp"), the skeleton from its file.
    let short = |s: &str| -> String { format!("{s}_bpf").chars().take(8).collect() };
    let lines = |p: &std::path::Path, from: &[(String, String)]| -> Vec<String> {
        let text = std::fs::read_to_string(p).expect("a generated skeleton");
        let body = text
            .split("static DATA")
            .next()
            .unwrap_or_default()
            .to_string();
        let mut v: Vec<String> = body
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                for (a, b) in from {
                    l = l.replace(a.as_str(), b);
                }
                l = l.replace(&format!("crate::abi::object({source:?}, &DATA)"), "&DATA");
                // Anonymous types are numbered in the order clang met
                // them, which code may change.
                anon_numbers(&l)
            })
            .collect();
        v.sort();
        v
    };
    // .kconfig (8 characters) leaves room for 7 of the object's name
    // (libbpf: BPF_OBJ_NAME_LEN - 1 - its length).
    let short7 = |s: &str| -> String { format!("{s}_bpf").chars().take(7).collect() };
    let renames = vec![
        (
            format!("{}.kconfig", short7(name)),
            format!("{}.kconfig", short7(source)),
        ),
        (format!("{}.", short(name)), format!("{}.", short(source))),
        (camel(name), camel(source)),
        (name.to_string(), source.to_string()),
    ];
    let a = lines(main, &[]);
    let b = lines(compat, &renames);
    if a != b {
        let only: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(5).collect();
        let missing: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(5).collect();
        panic!(
            "{name}.bpf.o does not match {source}.bpf.o's maps, programs and sections (EBQ_COMPAT must only change code): only in {name}: {only:?}; only in {source}: {missing:?}"
        );
    }
}

/// What no program of a compat object may hold, because a kernel before
/// 5.17 refuses it while reading the program, whichever branches would
/// run: a bpf_loop() call (helper 181, whose callback is a function
/// pointer: a BPF_PSEUDO_FUNC ld_imm64, which libbpf only marks as one
/// when it relocates, so the call is what shows here; every other helper
/// that takes a callback is newer than 5.10 too), or an atomic other than
/// a plain add (atomic or/and/xor/xchg/cmpxchg and fetching ones came in
/// 5.12). Helpers newer than 5.10 are only the variants' (task storage,
/// attach cookies: src/kernel/variants.rs cuts them by configuration).
fn check_compat(obj: &std::path::Path) {
    use object::{Object, ObjectSection, SectionKind};

    /// bpf_task_storage_get, bpf_get_current_task_btf (5.11),
    /// bpf_get_attach_cookie (5.15).
    const VARIANTS_HELPERS: [i32; 3] = [156, 158, 174];
    /// The last helper of Linux 5.10 (bpf_redirect_peer).
    const LAST_HELPER_5_10: i32 = 155;
    let bytes = std::fs::read(obj).expect("the object clang just wrote");
    let file = object::File::parse(&*bytes).expect("clang writes ELF");
    let mut bad = Vec::new();
    for section in file.sections() {
        if section.kind() != SectionKind::Text {
            continue;
        }
        let name = section.name().unwrap_or("?").to_string();
        let code = section.data().expect("a section's bytes");
        let mut at = 0;
        while at + 8 <= code.len() {
            let i = &code[at..at + 8];
            let (op, src) = (i[0], i[1] >> 4);
            let imm = i32::from_le_bytes([i[4], i[5], i[6], i[7]]);
            let what = match op {
                0x85 if src == 0 && imm == 181 => Some("a bpf_loop() call".to_string()),
                0x85 if src == 0 && imm > LAST_HELPER_5_10 && !VARIANTS_HELPERS.contains(&imm) => {
                    Some(format!("helper {imm}, newer than Linux 5.10"))
                }
                0xc3 | 0xdb if imm != 0 => Some(format!("atomic op {imm:#x}, not a plain add")),
                _ => None,
            };
            if let Some(w) = what {
                bad.push(format!("{w} in {name} at instruction {}", at / 8));
            }
            at += if op == 0x18 { 16 } else { 8 };
        }
    }
    assert!(
        bad.is_empty(),
        "{} cannot load on the kernels it is for: {}",
        obj.display(),
        bad.join("; ")
    );
}

/// `__anon_12` as `__anon_`.
fn anon_numbers(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("__anon_") {
        out.push_str(&rest[..i + 7]);
        rest = rest[i + 7..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}
