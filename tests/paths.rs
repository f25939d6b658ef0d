//! End-to-end tests of the paths rows report: every way of naming one file
//! (`//`, `/./`, `/../`, relative, a dirfd, a symlink, a chroot) gives the
//! one path the kernel resolved, with the name as written beside it; memfd
//! and deleted files read as /proc names them; a path too deep to copy is
//! cut visibly and kept by the kernel's prefix filter. Each test makes its
//! own files under a fresh directory and filters on its own marker.

mod common;

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{marker, real, Running};
use serde_json::{json, Value};

/// A fresh directory, resolved (no symlink in its name), readable by all.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("chmod");
    (dir, d)
}

fn s(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}

fn run(cmd: &mut Command) -> u32 {
    let mut c = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let pid = c.id();
    c.wait().expect("ends");
    pid
}

/// A child that makes one exec-family system call with these raw
/// arguments (it only returns when the call failed); its errno.
fn raw_exec(nr: i64, a: [usize; 5]) -> i32 {
    let mut cmd = Command::new("/bin/false");
    // SAFETY: the closure makes one system call in the forked child; the
    // pointers in `a` are to the caller's CStrings and arrays, which the
    // child has a copy of and which outlive spawn().
    unsafe {
        cmd.pre_exec(move || {
            libc::syscall(nr, a[0], a[1], a[2], a[3], a[4]);
            Err(std::io::Error::last_os_error())
        });
    }
    match cmd.stdout(Stdio::null()).spawn() {
        Ok(mut c) => {
            c.wait().expect("ends");
            0
        }
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// execveat(fd, "", argv, {}, AT_EMPTY_PATH) in a child: fexecve; its errno.
fn fexecve(fd: i32, args: &[&str]) -> i32 {
    let empty = CString::new("").expect("no NUL");
    let args = argv(args);
    let env = argv(&[]);
    raw_exec(
        libc::SYS_execveat,
        [
            fd as usize,
            empty.as_ptr() as usize,
            args.ptrs.as_ptr() as usize,
            env.ptrs.as_ptr() as usize,
            libc::AT_EMPTY_PATH as usize,
        ],
    )
}

struct Argv {
    _strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

fn argv(args: &[&str]) -> Argv {
    let strings: Vec<CString> = args
        .iter()
        .map(|a| CString::new(*a).expect("no NUL"))
        .collect();
    let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    Argv {
        _strings: strings,
        ptrs,
    }
}

fn by_key(mut rows: Vec<Value>, key: &str) -> Vec<Value> {
    rows.sort_by_key(|r| r[key].to_string());
    rows
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn every_spelling_of_an_opened_file_gives_one_path() {
    let m = marker("spell");
    let (_dir, d) = scratch();
    let f = d.join(format!("{m}.txt"));
    std::fs::write(&f, "x").expect("file");
    std::fs::create_dir(d.join("sub")).expect("sub");
    std::os::unix::fs::symlink(&f, d.join("sub/link")).expect("symlink");
    // The prefix filter is on the file's own directory: a spelling that
    // dodges it as written must still be caught.
    let ebq = Running::start(&[&format!(
        "select path, requested_path from file_events where action = 'open' and path like '{}/%' and path like '%{m}%'",
        s(&d)
    )]);
    let name = format!("{m}.txt");
    let ds = s(&d);
    let spellings = [
        format!("/{ds}/{name}"),
        format!("{ds}/./{name}"),
        format!("{ds}/sub/../{name}"),
        format!("/tmp/../{}/{name}", ds.trim_start_matches('/')),
        format!("{ds}/sub/link"),
        name.clone(),
        format!("sub/../{name}"),
    ];
    for sp in &spellings {
        run(Command::new("/bin/cat").arg(sp).current_dir(&d));
    }
    // openat(dirfd, name): the dirfd's directory, resolved.
    let dirfd = std::fs::File::open(&d).expect("dir");
    let path = CString::new(name.clone()).expect("no NUL");
    // SAFETY: a plain openat of a NUL-terminated name; the fd is closed.
    let fd = unsafe { libc::openat(dirfd.as_raw_fd(), path.as_ptr(), libc::O_RDONLY) };
    assert!(fd >= 0);
    // SAFETY: fd was opened just above.
    unsafe { libc::close(fd) };
    let rows = ebq.wait_rows(spellings.len() + 1, |_| true);
    ebq.stop();
    let want: Vec<Value> = spellings
        .iter()
        .chain(std::iter::once(&name))
        .map(|sp| json!({"path": s(&f), "requested_path": sp}))
        .collect();
    assert_eq!(
        by_key(rows, "requested_path"),
        by_key(want, "requested_path")
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_path_the_kernel_gives_no_file_for_is_normalized() {
    // unlink and a failed open have no file to walk: the path as written,
    // made absolute against the walked cwd, `//` and `.` dropped; a `..`
    // after a name as written stays (the name may be a symlink).
    let m = marker("lex");
    let (_dir, d) = scratch();
    std::fs::create_dir(d.join("sub")).expect("sub");
    let ds = s(&d);
    let gone = format!("{m}-gone");
    std::fs::write(d.join(&gone), "x").expect("file");
    let ebq = Running::start(&[&format!(
        "select action, path, requested_path, error from file_events where path like '{ds}/%' and requested_path like '%{m}%'"
    )]);
    run(Command::new("/bin/rm")
        .arg(format!("sub/..//./{gone}"))
        .current_dir(&d));
    run(Command::new("/bin/cat").arg(format!("/{ds}/sub/../{m}-missing")));
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(
        by_key(rows, "action"),
        [
            json!({"action": "open", "path": format!("{ds}/sub/../{m}-missing"), "requested_path": format!("/{ds}/sub/../{m}-missing"), "error": "ENOENT"}),
            json!({"action": "unlink", "path": format!("{ds}/sub/../{gone}"), "requested_path": format!("sub/..//./{gone}"), "error": null}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn every_spelling_of_an_executed_file_gives_one_path() {
    let m = marker("xspell");
    let (_dir, d) = scratch();
    std::os::unix::fs::symlink("/usr/bin/true", d.join("t")).expect("symlink");
    let truth = real("/usr/bin/true");
    let ebq = Running::start(&[&format!(
        "select path, requested_path from process_events where path = '{truth}' and cmdline like '%{m}%'"
    )]);
    let spellings = [
        "/usr//bin/true".to_string(),
        "/tmp/../usr/bin/./true".to_string(),
        s(&d.join("t")),
    ];
    for sp in &spellings {
        run(Command::new(sp).arg(&m));
    }
    run(Command::new("./true").arg(&m).current_dir("/usr/bin"));
    // execveat(dirfd of /usr/bin, "true"): the name as written is "true".
    let dir = std::fs::File::open("/usr/bin").expect("/usr/bin");
    let name = CString::new("true").expect("no NUL");
    let args = argv(&["true", &m]);
    let env = argv(&[]);
    assert_eq!(
        raw_exec(
            libc::SYS_execveat,
            [
                dir.as_raw_fd() as usize,
                name.as_ptr() as usize,
                args.ptrs.as_ptr() as usize,
                env.ptrs.as_ptr() as usize,
                0
            ]
        ),
        0
    );
    let rows = ebq.wait_rows(5, |_| true);
    ebq.stop();
    let want: Vec<Value> = spellings
        .iter()
        .map(String::as_str)
        .chain(["./true", "true"])
        .map(|sp| json!({"path": truth, "requested_path": sp}))
        .collect();
    assert_eq!(
        by_key(rows, "requested_path"),
        by_key(want, "requested_path")
    );
}

/// A root of its own for a chroot: /usr bound in (a private mount
/// namespace keeps it from the rest of the machine), the host's top-level
/// symlinks (bin, lib, lib64 on a merged-/usr system) copied, a data file.
fn chroot_script(r: &Path, m: &str, then: &str) -> String {
    let mut links = String::new();
    for top in ["bin", "sbin", "lib", "lib32", "lib64"] {
        if let Ok(t) = std::fs::read_link(Path::new("/").join(top)) {
            links.push_str(&format!("ln -s {} {}/{top}; ", t.display(), s(r)));
        }
    }
    format!(
        "set -e; mkdir -p {r}/usr {r}/data {r}/etc; echo x > {r}/data/{m}; {links}\
         mount --make-rprivate / && mount --bind /usr {r}/usr && {then}",
        r = s(r)
    )
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_chrooted_process_gets_the_paths_it_sees() {
    common::require_root("unshare, mount and chroot");
    let m = marker("root");
    let (_dir, d) = scratch();
    let files = Running::start(&[&format!(
        "select path, requested_path from file_events where action = 'open' and requested_path like '%{m}%'"
    )]);
    let execs = Running::start(&[&format!(
        "select path, cwd from process_events where comm = 'cat' and cmdline like '%{m}%'"
    )]);
    let script = chroot_script(
        &d,
        &m,
        &format!("chroot {} /usr/bin/cat /data/{m} data/../data/{m}", s(&d)),
    );
    let status = Command::new("unshare")
        .args(["-m", "/bin/sh", "-c", &script])
        .stdout(Stdio::null())
        .status()
        .expect("unshare runs");
    assert!(status.success(), "the chroot set-up failed: {script}");
    let f = files.wait_rows(2, |_| true);
    let x = execs.wait_rows(1, |_| true);
    files.stop();
    execs.stop();
    // The root is the chroot: the process's own view, never the host's
    // prefix (/tmp/...), for the file, the program and the cwd alike.
    assert_eq!(
        by_key(f, "requested_path"),
        [
            json!({"path": format!("/data/{m}"), "requested_path": format!("/data/{m}")}),
            json!({"path": format!("/data/{m}"), "requested_path": format!("data/../data/{m}")}),
        ]
    );
    assert_eq!(x, [json!({"path": "/usr/bin/cat", "cwd": "/"})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_memfd_and_a_deleted_file_read_as_proc_names_them() {
    let m = marker("memfd");
    let (_dir, d) = scratch();
    let ebq = Running::start(&[&format!(
        "select path, requested_path, exit_code from process_events where cmdline like '%{m}%'"
    )]);
    let prog = std::fs::read("/usr/bin/true").expect("read /usr/bin/true");
    // A memfd holding the program, executed by its fd (fexecve).
    let name = CString::new(format!("ebq-{m}")).expect("no NUL");
    // SAFETY: memfd_create with a NUL-terminated name; the fd is owned
    // by the File made from it below.
    let mfd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    assert!(mfd >= 0, "memfd_create");
    // SAFETY: mfd is a fresh fd this test owns.
    let mut memfd = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(mfd) };
    std::io::Write::write_all(&mut memfd, &prog).expect("write the memfd");
    // A copy of the program, opened, then unlinked, then executed by fd.
    let copy = d.join(format!("{m}-prog"));
    std::fs::write(&copy, &prog).expect("copy");
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let opened = std::fs::File::open(&copy).expect("open the copy");
    std::fs::remove_file(&copy).expect("unlink");
    for fd in [memfd.as_raw_fd(), opened.as_raw_fd()] {
        assert_eq!(fexecve(fd, &["prog", &m]), 0);
    }
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(
        by_key(rows, "path"),
        [
            json!({"path": format!("/memfd:ebq-{m} (deleted)"), "requested_path": "", "exit_code": 0}),
            json!({"path": format!("{} (deleted)", s(&copy)), "requested_path": "", "exit_code": 0}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_empty_or_bad_path_is_null_never_the_cwd() {
    let m = marker("empty");
    let ebq = Running::start(&[&format!(
        "select path, requested_path, error from process_events where exit_code < 0 and cmdline like '%{m}%'"
    )]);
    let empty = CString::new("").expect("no NUL");
    let args = argv(&["x", &m]);
    let env = argv(&[]);
    let (a, e) = (args.ptrs.as_ptr() as usize, env.ptrs.as_ptr() as usize);
    assert_eq!(
        raw_exec(libc::SYS_execve, [empty.as_ptr() as usize, a, e, 0, 0]),
        libc::ENOENT
    );
    // An address nothing is mapped at.
    assert_eq!(raw_exec(libc::SYS_execve, [8, a, e, 0, 0]), libc::EFAULT);
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(
        by_key(rows, "error"),
        [
            json!({"path": null, "requested_path": null, "error": "EFAULT"}),
            json!({"path": null, "requested_path": "", "error": "ENOENT"}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_script_is_its_own_path_and_names_its_interpreter() {
    let m = marker("script");
    let (_dir, d) = scratch();
    let script = d.join("s.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let link = d.join("run-me");
    std::os::unix::fs::symlink(&script, &link).expect("symlink");
    let ebq = Running::start(&[&format!(
        "select path, interpreter, requested_path, argv from process_events where cmdline like '%{m}%'"
    )]);
    run(Command::new(&link).arg(&m));
    run(Command::new("/usr/bin/true").arg(&m));
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    // The script, resolved through the link; the interpreter the kernel
    // ran; argv as the kernel rewrote it (interpreter, script as named).
    assert_eq!(
        by_key(rows, "requested_path"),
        by_key(
            vec![
                json!({"path": s(&script), "interpreter": real("/bin/sh"), "requested_path": s(&link), "argv": ["/bin/sh", s(&link), m]}),
                json!({"path": real("/usr/bin/true"), "interpreter": null, "requested_path": "/usr/bin/true", "argv": ["/usr/bin/true", m]}),
            ],
            "requested_path"
        )
    );
}

/// Makes `depth` nested directories of 40-byte names below `dir` as uid,
/// then runs `/bin/sh -c 'echo x > NAME'` at the bottom; returns the
/// directory chain's length in bytes.
fn deep_write(dir: &Path, depth: usize, uid: u32, name: &str) -> usize {
    let comp = CString::new("d".repeat(40)).expect("no NUL");
    let cp = comp.as_ptr() as usize;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("echo x > {name}"))
        .current_dir(dir)
        .uid(uid)
        .gid(uid);
    // SAFETY: mkdir and chdir of a NUL-terminated name this frame owns (the
    // child has a copy); no allocation in the child.
    unsafe {
        cmd.pre_exec(move || {
            for _ in 0..depth {
                if libc::mkdir(cp as *const libc::c_char, 0o755) != 0
                    || libc::chdir(cp as *const libc::c_char) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    run(&mut cmd);
    depth * 41
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_path_too_long_to_copy_is_cut_visibly_and_kept_by_the_kernel() {
    common::require_root("run processes as other users");
    let m = marker("deep");
    let (_dir, d) = scratch();
    let ds = s(&d);
    // Every open of uid 5858 (this test's own), and the same with the
    // directory's prefix, which the cut path cannot be checked against.
    let all = Running::start(&[
        "select path, requested_path, truncated from file_events where uid = 5858 and action = 'create'",
    ]);
    let prefixed = Running::start(&[&format!(
        "select path from file_events where uid = 5858 and action = 'create' and path like '{ds}/%'"
    )]);
    let name = format!("{m}.txt");
    assert!(deep_write(&d, 120, 5858, &name) > 4096);
    let rows = all.wait_rows(1, |_| true);
    let pre = prefixed.stop();
    all.stop();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let path = rows[0]["path"].as_str().expect("path");
    // The tail, after "...": never a shorter path that looks absolute.
    assert!(path.starts_with(".../"), "{path}");
    assert!(
        path.ends_with(&format!("/{}/{name}", "d".repeat(40))),
        "{path}"
    );
    assert!(path.len() <= 4096 + 3, "{}", path.len());
    assert_eq!(rows[0]["truncated"], json!(true));
    assert_eq!(rows[0]["requested_path"], json!(name));
    // The kernel kept it (it could not tell), userspace decided on the
    // path the row reports, which the prefix does not match.
    assert!(pre.stat("sent") >= 1, "{:?}", pre.stderr);
    assert!(pre.rows.is_empty(), "{:?}", pre.rows);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_deep_path_that_fits_is_whole() {
    common::require_root("run processes as other users");
    let m = marker("fits");
    let (_dir, d) = scratch();
    let ebq = Running::start(&[
        "select path, truncated from file_events where uid = 5859 and action = 'create'",
    ]);
    let name = format!("{m}.txt");
    assert!(deep_write(&d, 80, 5859, &name) < 4096 - s(&d).len() - name.len() - 1);
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    let want = format!(
        "{}{}/{name}",
        s(&d),
        format!("/{}", "d".repeat(40)).repeat(80)
    );
    assert_eq!(rows, [json!({"path": want, "truncated": false})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_failed_exec_of_an_fd_is_the_fds_file() {
    let m = marker("fdfail");
    let (_dir, d) = scratch();
    // Not executable: execveat(fd, "", AT_EMPTY_PATH) fails with EACCES.
    let f = d.join(format!("{m}.txt"));
    std::fs::write(&f, "not a program").expect("file");
    let opened = std::fs::File::open(&f).expect("open");
    let ebq = Running::start(&[&format!(
        "select path, requested_path, error from process_events where exit_code < 0 and cmdline like '%{m}%'"
    )]);
    assert_eq!(fexecve(opened.as_raw_fd(), &["x", &m]), libc::EACCES);
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [json!({"path": s(&f), "requested_path": "", "error": "EACCES"})]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_dotdot_after_a_symlink_never_names_another_file() {
    // real/sub is a directory, link points at it: link/../victim is
    // real/victim, not ./victim as the text would fold to.
    let m = marker("dotdot");
    let (_dir, d) = scratch();
    std::fs::create_dir_all(d.join("real/sub")).expect("dirs");
    let victim = d.join("real").join(format!("{m}-victim"));
    std::fs::write(&victim, "x").expect("victim");
    std::os::unix::fs::symlink(d.join("real/sub"), d.join("link")).expect("symlink");
    let written = format!("{}/link/../{m}-victim", s(&d));
    let ebq = Running::start(&[&format!(
        "select action, path, requested_path from file_events where action = 'chmod' and requested_path like '%{m}%'"
    )]);
    run(Command::new("/bin/chmod").args(["600", &written]));
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert!(
        std::fs::metadata(&victim).is_ok(),
        "chmod changed the victim"
    );
    // The name as written, `..` kept: never the untouched ./victim.
    assert_eq!(
        rows,
        [json!({"action": "chmod", "path": written, "requested_path": written})]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_exec_with_every_field_at_its_longest_keeps_each_whole() {
    // A script 3.6 KB deep, whose #! names (through a short link) an
    // interpreter as deep, run with 9 KB of arguments from /etc: every
    // field of the event near its bound at once, none over another.
    let m = marker("longest");
    let (_dir, d) = scratch();
    let deep = |tag: &str| {
        let mut p = d.join(tag);
        while s(&p).len() < 3600 {
            p = p.join("d".repeat(60));
        }
        std::fs::create_dir_all(&p).expect("deep dirs");
        p
    };
    let interp = deep("i").join("sh");
    std::fs::copy(real("/bin/sh"), &interp).expect("copy sh");
    std::os::unix::fs::symlink(&interp, d.join("l")).expect("link");
    let script = deep("s").join(format!("{m}.sh"));
    std::fs::write(&script, format!("#!{}\nexit 0\n", s(&d.join("l")))).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let ebq = Running::start(&[&format!(
        "select path, interpreter, requested_path, cwd, argc, truncated from process_events where requested_path like '%{m}%'"
    )]);
    run(Command::new(&script)
        .arg("a".repeat(9000))
        .current_dir("/etc"));
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"path": s(&script), "interpreter": s(&interp), "requested_path": s(&script), "cwd": real("/etc"), "argc": 3, "truncated": true})
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_failed_exec_at_a_bad_dirfd_is_never_joined_to_the_cwd() {
    let m = marker("badfd");
    let ebq = Running::start(&[&format!(
        "select path, requested_path, cwd, error from process_events where exit_code < 0 and cmdline like '%{m}%'"
    )]);
    let name = CString::new(format!("{m}-prog")).expect("no NUL");
    let args = argv(&["x", &m]);
    let env = argv(&[]);
    // fd 9999 is open in no process of this test: EBADF, from /etc.
    let mut cmd = Command::new("/bin/false");
    let (n, a, e) = (
        name.as_ptr() as usize,
        args.ptrs.as_ptr() as usize,
        env.ptrs.as_ptr() as usize,
    );
    cmd.current_dir("/etc");
    // SAFETY: one execveat in the forked child, of pointers into this
    // frame's CStrings and arrays, which the child has a copy of.
    unsafe {
        cmd.pre_exec(move || {
            libc::syscall(libc::SYS_execveat, 9999, n, a, e, 0);
            Err(std::io::Error::last_os_error())
        });
    }
    let err = cmd.spawn().expect_err("EBADF");
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    // The name relative to a directory there is none of: as written.
    assert_eq!(
        rows,
        [
            json!({"path": format!("{m}-prog"), "requested_path": format!("{m}-prog"), "cwd": real("/etc"), "error": "EBADF"})
        ]
    );
}
