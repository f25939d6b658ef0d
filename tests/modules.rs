//! module_events against real modules: loads, unloads and failed loads,
//! each row checked whole.
//!
//! A test loads a real module only where ci/kernels booted a guest for it
//! and packed the modules of that kernel's package (EBQ_TEST_MODULES, a
//! directory of uncompressed .ko files: ts_kmp, which loads and unloads
//! with nothing else needed, and coretemp, whose init fails without an
//! Intel CPU with a digital thermal sensor, as qemu's is): loading modules
//! is not something a test does to its host. Where the kernel has modules
//! but EBQ_TEST_MODULES is not set, only the loads that must fail are
//! checked, unless EBQ_REQUIRE_BPF=1 (the guests set it), which makes the
//! missing modules a failure. On a kernel without module support (our
//! hosts') module_events must refuse to run, and say why.

mod common;

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use common::Running;
use serde_json::{json, Value};

/// The tests load and unload the same modules, and their rows are told
/// apart by pid only (a test's threads share it): one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn has_modules() -> bool {
    Path::new("/proc/modules").exists()
}

fn require_bpf_set() -> bool {
    std::env::var_os("EBQ_REQUIRE_BPF").is_some_and(|v| v == "1")
}

/// The packed module NAME (EBQ_TEST_MODULES/NAME.ko), or None where no
/// module may be loaded (not set, EBQ_REQUIRE_BPF unset). Fails when the
/// kernel has no module support (the caller checks first), when the
/// directory is set but lacks the module, and when it is not set under
/// EBQ_REQUIRE_BPF=1.
fn packed_module(name: &str) -> Option<PathBuf> {
    assert!(has_modules(), "only where the kernel has modules");
    let Some(dir) = std::env::var_os("EBQ_TEST_MODULES") else {
        assert!(
            !require_bpf_set(),
            "EBQ_REQUIRE_BPF=1 and this kernel has modules, but EBQ_TEST_MODULES (the directory of the modules to load, as ci/kernels packs them) is not set"
        );
        eprintln!(
            "EBQ_TEST_MODULES is not set: no module loaded (ci/kernels sets it in its guests)"
        );
        return None;
    };
    let f = Path::new(&dir).join(format!("{name}.ko"));
    assert!(
        f.is_file(),
        "EBQ_TEST_MODULES={} has no {name}.ko (ci/kernels packs it from the kernel's package)",
        f.parent().expect("dir").display()
    );
    assert!(
        !Path::new("/sys/module").join(name).exists(),
        "{name} is loaded already: the test cannot load it"
    );
    Some(f)
}

/// For a test that loads modules: root, the others' end, and the packed
/// modules NAMES (see `packed_module`); None where it may load none (no
/// module support: module_events_report_a_failed_load_or_say_why_not
/// checks the refusal).
fn loadable<const N: usize>(names: [&str; N]) -> Option<(MutexGuard<'static, ()>, [PathBuf; N])> {
    common::require_root("load kernel modules");
    let one = serial();
    if !has_modules() {
        return None;
    }
    let files = names.map(packed_module);
    if files.iter().any(Option::is_none) {
        return None;
    }
    Some((one, files.map(|f| f.expect("packed"))))
}

fn me() -> u32 {
    std::process::id()
}

/// The rows of every module call of this process, all columns a row has.
fn start() -> Running {
    Running::start(&[&format!(
        "select action, name, path, flags, exit_code, error, syscall from module_events where pid = {}",
        me()
    )])
}

/// 0, or -errno, as the exit_code column has it.
fn ret(r: libc::c_long) -> i64 {
    if r == 0 {
        0
    } else {
        assert_eq!(r, -1);
        -i64::from(
            std::io::Error::last_os_error()
                .raw_os_error()
                .expect("errno"),
        )
    }
}

fn finit_module(fd: i32, params: &str, flags: u32) -> i64 {
    let p = CString::new(params).expect("params");
    // SAFETY: finit_module(2) with a NUL-terminated parameter string.
    ret(unsafe { libc::syscall(libc::SYS_finit_module, fd, p.as_ptr(), flags) })
}

fn finit_file(f: &Path, params: &str, flags: u32) -> i64 {
    let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    finit_module(file.as_raw_fd(), params, flags)
}

fn init_module(image: &[u8], params: &str) -> i64 {
    let p = CString::new(params).expect("params");
    // SAFETY: init_module(2) with a buffer of its length and a
    // NUL-terminated parameter string.
    ret(unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len(),
            p.as_ptr(),
        )
    })
}

fn delete_module(name: &str, flags: i32) -> i64 {
    let n = CString::new(name).expect("name");
    // SAFETY: delete_module(2) with a NUL-terminated name.
    ret(unsafe { libc::syscall(libc::SYS_delete_module, n.as_ptr(), flags) })
}

fn path(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .to_str()
        .expect("utf8")
        .to_string()
}

/// A row of module_events as `start` selects it.
#[allow(clippy::too_many_arguments)]
fn row(
    action: &str,
    name: Option<&str>,
    path: Option<&str>,
    flags: u32,
    exit_code: i64,
    error: Option<&str>,
    syscall: &str,
) -> Value {
    json!({"action": action, "name": name, "path": path, "flags": flags, "exit_code": exit_code, "error": error, "syscall": syscall})
}

fn load(name: Option<&str>, path: Option<&str>, exit_code: i64, error: Option<&str>) -> Value {
    let syscall = if path.is_some() {
        "finit_module"
    } else {
        "init_module"
    };
    row("load", name, path, 0, exit_code, error, syscall)
}

fn unload(name: &str, flags: u32, exit_code: i64, error: Option<&str>) -> Value {
    row(
        "unload",
        Some(name),
        None,
        flags,
        exit_code,
        error,
        "delete_module",
    )
}

/// Waits for `n` rows, stops ebq and returns all it printed.
fn rows(ebq: Running, n: usize) -> Vec<Value> {
    ebq.wait_rows(n, |_| true);
    ebq.stop().rows
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn module_events_report_a_failed_load_or_say_why_not() {
    let _one = serial();
    if has_modules() {
        // No module is loaded here: finit_module on a file that is no
        // module fails, and is a row.
        let ebq = start();
        let rc = finit_file(Path::new("/bin/true"), "", 0);
        assert_eq!(rc, -i64::from(libc::ENOEXEC));
        let true_path = path(Path::new("/bin/true"));
        assert_eq!(
            rows(ebq, 1),
            [load(None, Some(&true_path), rc, Some("ENOEXEC"))]
        );
    } else {
        let out = common::ebq_root()
            .args([
                "-o",
                "json",
                "-d",
                "300ms",
                "select action, name, exit_code, error from module_events",
            ])
            .output()
            .expect("ebq runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(
            err.trim_end(),
            "ebq: this kernel has no tracepoint syscalls:sys_enter_init_module, which module_events needs (it was built without module support)"
        );
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_module_loads_by_file_and_from_memory_unloads_and_fails_to_load_twice() {
    let Some((_one, [ko])) = loadable(["ts_kmp"]) else {
        return;
    };
    let image = std::fs::read(&ko).expect("read");
    let p = path(&ko);
    let ebq = start();
    let calls = [
        finit_file(&ko, "", 0),
        delete_module("ts_kmp", libc::O_NONBLOCK),
        init_module(&image, ""),
        finit_file(&ko, "", 0),
        init_module(&image, ""),
        delete_module("ts_kmp", 0),
        delete_module("ts_kmp", 0),
    ];
    let (eexist, enoent) = (-i64::from(libc::EEXIST), -i64::from(libc::ENOENT));
    assert_eq!(calls, [0, 0, 0, eexist, eexist, 0, enoent]);
    assert_eq!(
        rows(ebq, calls.len()),
        [
            load(Some("ts_kmp"), Some(&p), 0, None),
            unload("ts_kmp", libc::O_NONBLOCK as u32, 0, None),
            load(Some("ts_kmp"), None, 0, None),
            // The kernel finds the name taken before module:module_load,
            // which names a module: no name.
            load(None, Some(&p), eexist, Some("EEXIST")),
            load(None, None, eexist, Some("EEXIST")),
            unload("ts_kmp", 0, 0, None),
            unload("ts_kmp", 0, enoent, Some("ENOENT")),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn loads_with_parameters_and_a_module_whose_init_fails() {
    let Some((_one, [kmp, coretemp])) = loadable(["ts_kmp", "coretemp"]) else {
        return;
    };
    let image = std::fs::read(&kmp).expect("read");
    let (kp, cp) = (path(&kmp), path(&coretemp));
    let ebq = start();
    let calls = [
        // An unknown parameter is ignored (with a warning).
        init_module(&image, "ebq_unknown=1"),
        delete_module("ts_kmp", 0),
        // coretemp's own parameter, then its init: no such CPU.
        finit_file(&coretemp, "tjmax=90", 0),
        // A value the parameter cannot take: refused before module_load.
        finit_file(&coretemp, "tjmax=hot", 0),
        // A flag finit_module does not know.
        finit_file(&kmp, "", 0x100),
    ];
    let (enodev, einval) = (-i64::from(libc::ENODEV), -i64::from(libc::EINVAL));
    assert_eq!(calls, [0, 0, enodev, einval, einval]);
    assert!(!Path::new("/sys/module/coretemp").exists());
    assert_eq!(
        rows(ebq, calls.len()),
        [
            load(Some("ts_kmp"), None, 0, None),
            unload("ts_kmp", 0, 0, None),
            load(Some("coretemp"), Some(&cp), enodev, Some("ENODEV")),
            load(None, Some(&cp), einval, Some("EINVAL")),
            row(
                "load",
                None,
                Some(&kp),
                0x100,
                einval,
                Some("EINVAL"),
                "finit_module"
            ),
        ]
    );
}

/// `image` (a module file) renamed to `name`: the name in its struct
/// module (.gnu.linkonce.this_module, where the kernel reads it), and its
/// signature cut off (the kernel refuses a bad signature, and takes an
/// unsigned module where signatures are not enforced, as on Debian's
/// kernels, tainting itself).
fn renamed(image: &[u8], old: &str, name: &str) -> Vec<u8> {
    const SIG: &[u8] = b"~Module signature appended~\n";
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([image[o], image[o + 1]]));
    let u32_at = |o: usize| u32::from_le_bytes(image[o..o + 4].try_into().expect("4")) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(image[o..o + 8].try_into().expect("8")) as usize;
    assert_eq!(&image[..5], b"\x7fELF\x02", "an ELF64 module");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(sh(shstrndx) + 24);
    let this_module = (0..shnum)
        .find(|&i| {
            let n = strtab + u32_at(sh(i));
            image[n..].starts_with(b".gnu.linkonce.this_module\0")
        })
        .map(|i| u64_at(sh(i) + 24))
        .expect(".gnu.linkonce.this_module");
    // struct module: enum module_state (4 bytes and 4 of padding), struct
    // list_head (16), then char name[MODULE_NAME_LEN].
    let at = this_module + 24;
    let mut old0 = old.as_bytes().to_vec();
    old0.push(0);
    assert!(image[at..].starts_with(&old0), "the module's name at {at}");
    assert!(name.len() < 56, "MODULE_NAME_LEN is 56, its NUL included");
    let mut out = image.to_vec();
    out[at..at + 56].fill(0);
    out[at..at + name.len()].copy_from_slice(name.as_bytes());
    if out.ends_with(SIG) {
        // struct module_signature (12 bytes, sig_len big-endian last)
        // after the signature, then the marker.
        let end = out.len() - SIG.len();
        let sig_len = u32::from_be_bytes(out[end - 4..end].try_into().expect("4")) as usize;
        out.truncate(end - 12 - sig_len);
    }
    out
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn module_names_fill_all_56_bytes_of_theirs() {
    let Some((_one, [kmp])) = loadable(["ts_kmp"]) else {
        return;
    };
    // 55 bytes and the NUL: the longest name a module has.
    let long = format!("ebq_{}", "n".repeat(51));
    assert_eq!(long.len(), 55);
    assert!(!Path::new("/sys/module").join(&long).exists());
    let image = renamed(&std::fs::read(&kmp).expect("read"), "ts_kmp", &long);
    // A name too long for a module: kernels since the stable updates of
    // 2025 refuse it (ENOENT), older ones look up its first 55 bytes (and
    // unload the module). ebq reads those 55 bytes either way.
    let longer = format!("{long}_and_more");
    let ebq = start();
    let calls = [
        init_module(&image, ""),
        delete_module(&longer, 0),
        delete_module(&long, 0),
    ];
    let enoent = -i64::from(libc::ENOENT);
    assert!(
        calls == [0, 0, enoent] || calls == [0, enoent, 0],
        "{calls:?}"
    );
    let error = |rc| (rc != 0).then_some("ENOENT");
    assert_eq!(
        rows(ebq, calls.len()),
        [
            load(Some(&long), None, 0, None),
            unload(&long, 0, calls[1], error(calls[1])),
            unload(&long, 0, calls[2], error(calls[2])),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn loads_from_a_deleted_file_a_memfd_and_no_file() {
    let Some((_one, [kmp])) = loadable(["ts_kmp"]) else {
        return;
    };
    let image = std::fs::read(&kmp).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir
        .path()
        .canonicalize()
        .expect("canonical")
        .join("ts_kmp.ko");
    std::fs::write(&copy, &image).expect("write");
    let gone = std::fs::File::open(&copy).expect("open");
    let copy_path = copy.to_str().expect("utf8").to_string();
    std::fs::remove_file(&copy).expect("unlink");
    let name = CString::new("ebq-module").expect("name");
    // SAFETY: memfd_create(2) with a NUL-terminated name; the fd is ours.
    let memfd = unsafe {
        let fd = libc::memfd_create(name.as_ptr(), 0);
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        OwnedFd::from_raw_fd(fd)
    };
    std::fs::File::from(memfd.try_clone().expect("dup"))
        .write_all_at(&image, 0)
        .expect("write the memfd");
    let ebq = start();
    let calls = [
        finit_module(gone.as_raw_fd(), "", 0),
        delete_module("ts_kmp", 0),
        finit_module(memfd.as_raw_fd(), "", 0),
        delete_module("ts_kmp", 0),
        finit_module(-1, "", 0),
    ];
    let ebadf = -i64::from(libc::EBADF);
    assert_eq!(calls, [0, 0, 0, 0, ebadf]);
    let deleted = format!("{copy_path} (deleted)");
    assert_eq!(
        rows(ebq, calls.len()),
        [
            load(Some("ts_kmp"), Some(&deleted), 0, None),
            unload("ts_kmp", 0, 0, None),
            load(Some("ts_kmp"), Some("/memfd:ebq-module (deleted)"), 0, None),
            unload("ts_kmp", 0, 0, None),
            row("load", None, None, 0, ebadf, Some("EBADF"), "finit_module"),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_compressed_module_file_loads_where_the_kernel_decompresses() {
    let Some((_one, [kmp])) = loadable(["ts_kmp"]) else {
        return;
    };
    // The package's own file, where it ships compressed ones (Debian 13's:
    // kmod hands them to finit_module as they are).
    let Some(packed) = ["xz", "zst", "gz"]
        .iter()
        .map(|z| kmp.with_extension(format!("ko.{z}")))
        .find(|f| f.is_file())
    else {
        eprintln!("this kernel's package ships its modules uncompressed");
        return;
    };
    assert!(
        Path::new("/sys/module/compression").exists(),
        "a package of compressed modules for a kernel that cannot decompress them"
    );
    const MODULE_INIT_COMPRESSED_FILE: u32 = 4;
    let p = path(&packed);
    let ebq = start();
    let calls = [
        finit_file(&packed, "", MODULE_INIT_COMPRESSED_FILE),
        delete_module("ts_kmp", 0),
        // Without the flag the kernel reads it as an ELF file: it is none.
        finit_file(&packed, "", 0),
    ];
    let enoexec = -i64::from(libc::ENOEXEC);
    assert_eq!(calls, [0, 0, enoexec]);
    let compressed = MODULE_INIT_COMPRESSED_FILE;
    assert_eq!(
        rows(ebq, calls.len()),
        [
            row(
                "load",
                Some("ts_kmp"),
                Some(&p),
                compressed,
                0,
                None,
                "finit_module"
            ),
            unload("ts_kmp", 0, 0, None),
            load(None, Some(&p), enoexec, Some("ENOEXEC")),
        ]
    );
}
