//! End-to-end tests of the event tables beside process_events: sockets,
//! process exits and signals, each against events this test makes, with
//! exact fields. Every query filters on this test's own processes.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};

use common::Running;
use serde_json::{json, Value};

fn me() -> String {
    std::process::id().to_string()
}

fn pick(rows: &[Value], keys: &[&str]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            Value::Object(
                keys.iter()
                    .map(|k| (k.to_string(), r[*k].clone()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn tcp_connect_and_accept_on_ipv4_show_both_ends() {
    let ebq = Running::start(&[&format!(
        "select action, family, protocol, local_address, local_port, remote_address, remote_port, exit_code, status from socket_events where pid = {} and action in ('connect', 'accept') and family = 'AF_INET'",
        me()
    )]);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (_server, peer) = listener.accept().expect("accept");
    let cport = client.local_addr().expect("local").port();
    assert_eq!(peer.port(), cport);
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let keys = [
        "action",
        "family",
        "protocol",
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "exit_code",
        "status",
    ];
    let connect = rows
        .iter()
        .find(|r| r["action"] == "connect")
        .expect("a connect row");
    let accept = rows
        .iter()
        .find(|r| r["action"] == "accept")
        .expect("an accept row");
    assert_eq!(
        pick(std::slice::from_ref(connect), &keys)[0],
        json!({"action": "connect", "family": 2, "protocol": 6, "local_address": "127.0.0.1", "local_port": cport, "remote_address": "127.0.0.1", "remote_port": port, "exit_code": 0, "status": "succeeded"})
    );
    assert_eq!(accept["local_port"], json!(port));
    assert_eq!(accept["remote_port"], json!(cport));
    assert_eq!(accept["remote_address"], json!("127.0.0.1"));
    assert!(accept["exit_code"].as_i64().expect("fd") >= 0);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn tcp_on_ipv6_loopback() {
    let ebq = Running::start(&[&format!(
        "select action, family, local_address, local_port, remote_address, remote_port from socket_events where pid = {} and family = 10 and action in ('connect', 'accept')",
        me()
    )]);
    let listener = TcpListener::bind("[::1]:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("::1", port)).expect("connect");
    let (_s, _) = listener.accept().expect("accept");
    let cport = client.local_addr().expect("local").port();
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let mut rows = rows;
    rows.sort_by_key(|r| r["action"].as_str().map(str::to_string));
    assert_eq!(
        rows,
        [
            json!({"action": "accept", "family": 10, "local_address": "::1", "local_port": port, "remote_address": "::1", "remote_port": cport}),
            json!({"action": "connect", "family": 10, "local_address": "::1", "local_port": cport, "remote_address": "::1", "remote_port": port}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn refused_connect_is_a_failed_row() {
    // A port nobody listens on: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let ebq = Running::start(&[&format!(
        "select remote_address, remote_port, exit_code, error, status from socket_events where pid = {} and action = 'connect' and remote_port = {port}",
        me()
    )]);
    let err = TcpStream::connect(("127.0.0.1", port)).expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"remote_address": "127.0.0.1", "remote_port": port, "exit_code": -111, "error": "ECONNREFUSED", "status": "failed"})
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn udp_bind_reports_the_port_the_kernel_chose() {
    let ebq = Running::start(&[&format!(
        "select action, protocol, local_address, local_port from socket_events where pid = {} and protocol = 'udp'",
        me()
    )]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = sock.local_addr().expect("addr").port();
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"action": "bind", "protocol": 17, "local_address": "127.0.0.1", "local_port": port})
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn unix_sockets_carry_their_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ebq.sock");
    let p = path.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!("select action, family, local_address, remote_address from socket_events where pid = {} and family = 'unix'", me())]);
    let l = UnixListener::bind(&path).expect("bind");
    let mut c = UnixStream::connect(&path).expect("connect");
    let (mut s, _) = l.accept().expect("accept");
    c.write_all(b"x").expect("write");
    let mut b = [0u8; 1];
    s.read_exact(&mut b).expect("read");
    let rows = ebq.wait_rows(4, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"action": "bind", "family": 1, "local_address": p, "remote_address": null}),
            json!({"action": "listen", "family": 1, "local_address": p, "remote_address": null}),
            json!({"action": "connect", "family": 1, "local_address": null, "remote_address": p}),
            json!({"action": "accept", "family": 1, "local_address": p, "remote_address": null}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn action_picks_only_the_connect_programs() {
    let ebq = Running::start(&[&format!(
        "select action from socket_events where action = 'connect' and pid = {}",
        me()
    )]);
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let _c = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(rows, [json!({"action": "connect"})]);
    let attached = done
        .stderr
        .iter()
        .find(|l| l.contains("stats: attached"))
        .expect("stats line");
    assert!(
        attached.contains("attached 2 programs (connect_enter, connect_exit)"),
        "{attached}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn exits_show_the_code_or_the_signal() {
    let ebq = Running::start(&[&format!(
        "select pid, parent, exit_code, signal, signal_name, core_dumped from process_exit_events where parent = {}",
        me()
    )]);
    let mut three = Command::new("/bin/sh")
        .args(["-c", "exit 3"])
        .spawn()
        .expect("sh");
    let three_pid = three.id();
    three.wait().expect("wait");
    let mut sleeper = Command::new("/bin/sleep").arg("60").spawn().expect("sleep");
    let sleeper_pid = sleeper.id();
    std::thread::sleep(std::time::Duration::from_millis(100));
    sleeper.kill().expect("SIGKILL");
    sleeper.wait().expect("wait");
    // Only these two: other tests' children have the same parent.
    let ours = |r: &Value| r["pid"] == json!(three_pid) || r["pid"] == json!(sleeper_pid);
    ebq.wait_rows(2, ours);
    let rows: Vec<Value> = ebq.stop().rows.into_iter().filter(ours).collect();
    assert_eq!(
        rows,
        [
            json!({"pid": three_pid, "parent": std::process::id(), "exit_code": 3, "signal": null, "signal_name": null, "core_dumped": false}),
            json!({"pid": sleeper_pid, "parent": std::process::id(), "exit_code": null, "signal": 9, "signal_name": "SIGKILL", "core_dumped": false}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn kill_between_two_processes_is_a_signal_row() {
    common::require_bpf();
    let mut target = Command::new("/bin/sleep")
        .arg("60")
        .spawn()
        .expect("target");
    let target_pid = target.id();
    let ebq = Running::start(&[&format!(
        "select comm, signal, signal_name, target_pid, target_comm, code, result from signal_events where signal = 'SIGUSR1' and target_pid = {target_pid}"
    )]);
    let status = Command::new("/bin/kill")
        .args(["-USR1", &target_pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = target.wait();
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"comm": "kill", "signal": 10, "signal_name": "SIGUSR1", "target_pid": target_pid, "target_comm": "sleep", "code": 0, "result": "delivered"})
        ]
    );
}

/// Runs a shell script in `dir` and returns its pid.
#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn one_uid_or_one_comm_is_checked_first_and_exactly() {
    common::require_root("run a process as another user");
    // `uid = v` and `comm = 'x'` are the quick check of the file entries
    // (bpf/ebq.h, enum ebq_quick): only the matching opens come up.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::write(d.join("f"), "x").expect("file");
    let tag = format!("q{}", std::process::id() % 1_000_000);
    std::os::unix::fs::symlink("/bin/cat", d.join(&tag)).expect("symlink");
    let prefix = format!("{}/%", d.display());
    let by_uid = Running::start(&[&format!(
        "select uid, path from file_events where uid = 5656 and path like '{prefix}'"
    )]);
    let by_comm = Running::start(&[&format!(
        "select comm, path from file_events where comm = '{tag}' and path like '{prefix}'"
    )]);
    let cat = |prog: &std::path::Path, uid: Option<u32>| {
        let mut c = Command::new(prog);
        c.arg(d.join("f")).stdout(Stdio::null());
        if let Some(u) = uid {
            std::os::unix::process::CommandExt::uid(&mut c, u);
        }
        assert!(c.status().expect("cat runs").success());
    };
    cat(std::path::Path::new("/bin/cat"), None);
    cat(std::path::Path::new("/bin/cat"), Some(5656));
    cat(&d.join(&tag), None);
    by_uid.wait_rows(1, |_| true);
    by_comm.wait_rows(1, |_| true);
    let (u, c) = (by_uid.stop(), by_comm.stop());
    let file = d.join("f").display().to_string();
    assert_eq!(u.rows, [json!({"uid": 5656, "path": file})]);
    assert_eq!(c.rows, [json!({"comm": tag, "path": file})]);
    // Decided in the kernel: besides the row, at most cat's one open whose
    // path the kernel cannot judge (it opens "" once; relative and empty
    // paths go to userspace). The two other cats' opens of the file would
    // make it 4 or more.
    assert!(u.stat("sent") <= 2, "{:?}", u.stderr);
    assert!(c.stat("sent") <= 2, "{:?}", c.stderr);
}

fn sh_in(dir: &std::path::Path, script: &str) -> u32 {
    let mut c = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh");
    let pid = c.id();
    c.wait().expect("sh ends");
    pid
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn file_operations_have_absolute_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    let ds = d.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!("select action, path, dest_path, mode, exit_code, error from file_events where path like '{ds}/%'")]);
    // Relative paths throughout: ebq must resolve them against the cwd.
    sh_in(&d, "echo x > new.txt && mv new.txt moved.txt && chmod 600 moved.txt && mkdir sub && rmdir sub && ln -s moved.txt sym && rm sym moved.txt && cat missing");
    // The shell has ended: every row is in the kernel's buffer, and the
    // end of the run delivers all of them.
    let rows = ebq.stop().rows;
    let got: Vec<Value> = rows
        .into_iter()
        .filter(|r| !(r["action"] == "open" && r["exit_code"].as_i64().is_some_and(|c| c >= 0)))
        .collect();
    let p = |f: &str| format!("{ds}/{f}");
    assert_eq!(
        got,
        [
            json!({"action": "create", "path": p("new.txt"), "dest_path": null, "mode": 0o666, "exit_code": 3, "error": null}),
            json!({"action": "rename", "path": p("new.txt"), "dest_path": p("moved.txt"), "mode": null, "exit_code": 0, "error": null}),
            json!({"action": "chmod", "path": p("moved.txt"), "dest_path": null, "mode": 0o600, "exit_code": 0, "error": null}),
            json!({"action": "mkdir", "path": p("sub"), "dest_path": null, "mode": 0o777, "exit_code": 0, "error": null}),
            json!({"action": "rmdir", "path": p("sub"), "dest_path": null, "mode": null, "exit_code": 0, "error": null}),
            json!({"action": "symlink", "path": p("sym"), "dest_path": "moved.txt", "mode": null, "exit_code": 0, "error": null}),
            json!({"action": "unlink", "path": p("sym"), "dest_path": null, "mode": null, "exit_code": 0, "error": null}),
            json!({"action": "unlink", "path": p("moved.txt"), "dest_path": null, "mode": null, "exit_code": 0, "error": null}),
            json!({"action": "open", "path": p("missing"), "dest_path": null, "mode": 0, "exit_code": -2, "error": "ENOENT"}),
        ]
    );
}

/// Without exit_code, error or duration in the query the entry reports
/// each call itself and no exit program is attached, but for the opens,
/// whose file is known at their exit: same rows.
#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn file_rows_from_the_entry_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    let ds = d.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!(
        "select action, path, dest_path, mode from file_events where path like '{ds}/%'"
    )]);
    sh_in(&d, "echo x > new.txt && mv new.txt moved.txt && chmod 600 moved.txt && ln -s moved.txt sym && rm sym moved.txt && cat missing");
    let done = ebq.stop();
    let rows = done.rows.clone();
    let attached = done
        .stderr
        .iter()
        .find(|l| l.contains("stats: attached"))
        .expect("the attached line");
    // The opens report from their exits (the file opened is known
    // there); every other call from its entry alone.
    assert!(
        attached.contains("openat_enter")
            && attached.contains("openat_exit")
            && !attached.contains("rename_exit")
            && !attached.contains("unlink_exit")
            && !attached.contains("chmod_exit"),
        "{attached}"
    );
    // Every record the kernel sent is read, the last ones at the stop too.
    assert_eq!(
        done.stat("sent"),
        done.stat("userspace:"),
        "{:?}",
        done.stderr
    );
    let p = |f: &str| format!("{ds}/{f}");
    let got: Vec<Value> = rows
        .into_iter()
        .filter(|r| r["action"] != "open" || r["path"] == json!(p("missing")))
        .collect();
    assert_eq!(
        got,
        [
            json!({"action": "create", "path": p("new.txt"), "dest_path": null, "mode": 0o666}),
            json!({"action": "rename", "path": p("new.txt"), "dest_path": p("moved.txt"), "mode": null}),
            json!({"action": "chmod", "path": p("moved.txt"), "dest_path": null, "mode": 0o600}),
            json!({"action": "symlink", "path": p("sym"), "dest_path": "moved.txt", "mode": null}),
            json!({"action": "unlink", "path": p("sym"), "dest_path": null, "mode": null}),
            json!({"action": "unlink", "path": p("moved.txt"), "dest_path": null, "mode": null}),
            json!({"action": "open", "path": p("missing"), "dest_path": null, "mode": 0}),
        ],
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn dirfd_relative_paths_resolve_against_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir(d.join("inner")).expect("mkdir");
    let ds = d.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!(
        "select action, path from file_events where action = 'create' and pid = {}",
        me()
    )]);
    // openat(dirfd of inner, "f.txt", O_CREAT): through the fd, not the cwd.
    let inner = std::fs::File::open(d.join("inner")).expect("open dir");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&inner);
    let name = std::ffi::CString::new("f.txt").expect("cstr");
    // SAFETY: a plain openat(2) with a valid dirfd and a NUL-terminated name.
    let f = unsafe { libc::openat(fd, name.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644) };
    assert!(f >= 0);
    // SAFETY: f is the fd openat just returned.
    unsafe { libc::close(f) };
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [json!({"action": "create", "path": format!("{ds}/inner/f.txt")})]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn path_prefix_filter_keeps_other_opens_in_the_kernel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    let target = d.join("only-this");
    std::fs::write(&target, b"x").expect("write");
    let ebq = Running::start(&[&format!(
        "select path from file_events where action = 'open' and path like '{}%' and pid = {}",
        target.display(),
        me()
    )]);
    // 500 opens the filter must reject in the kernel, then one it keeps.
    for _ in 0..500 {
        let _ = std::fs::File::open("/etc/hostname");
    }
    let _ = std::fs::File::open(&target).expect("open");
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(rows, [json!({"path": target.to_str().expect("utf8")})]);
    // Other tests open files meanwhile: the kernel may send some of theirs
    // up (the pid filter is in the kernel too), but never our 500.
    assert!(done.stat("sent") < 50, "{:?}", done.stderr);
    assert!(done.stat("rejected") >= 500, "{:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn chown_link_and_truncate_rows_carry_their_values() {
    common::require_root("chown a file to another user");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().canonicalize().expect("canonical");
    let ds = d.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!(
        "select action, path, dest_path, owner_uid, owner_gid, exit_code from file_events where action in ('chown', 'link', 'truncate') and path like '{ds}/%'"
    )]);
    let f = d.join("f");
    std::fs::write(&f, b"data").expect("write");
    let c = |p: &std::path::Path| std::ffi::CString::new(p.to_str().expect("utf8")).expect("cstr");
    // SAFETY: plain syscalls on paths this test made, NUL-terminated.
    unsafe {
        assert_eq!(libc::chown(c(&f).as_ptr(), 4242, u32::MAX), 0);
        assert_eq!(libc::link(c(&f).as_ptr(), c(&d.join("g")).as_ptr()), 0);
        assert_eq!(libc::truncate(c(&f).as_ptr(), 1), 0);
    }
    let rows = ebq.wait_rows(3, |_| true);
    ebq.stop();
    let p = |n: &str| format!("{ds}/{n}");
    assert_eq!(
        rows,
        [
            json!({"action": "chown", "path": p("f"), "dest_path": null, "owner_uid": 4242, "owner_gid": -1, "exit_code": 0}),
            json!({"action": "link", "path": p("f"), "dest_path": p("g"), "owner_uid": null, "owner_gid": null, "exit_code": 0}),
            json!({"action": "truncate", "path": p("f"), "dest_path": null, "owner_uid": null, "owner_gid": null, "exit_code": 0}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn syscall_arguments_are_the_calls_own_and_filter_in_the_kernel() {
    let me = std::process::id();
    let ebq = Running::start(&[&format!(
        "select syscall, arg0, arg1, arg2, exit_code, error from syscall_events where pid = {me} and syscall = 'lseek' and arg1 = 424242 and arg2 between 5 and 9"
    )]);
    for (offset, whence) in [(424242i64, 7i64), (111, 7), (424242, 3), (424242, 8)] {
        // SAFETY: lseek of a bad fd: it fails with EBADF and touches nothing.
        let r = unsafe { libc::syscall(libc::SYS_lseek, -1i64, offset, whence) };
        assert_eq!(r, -1);
    }
    let rows = ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"syscall": "lseek", "arg0": -1, "arg1": 424242, "arg2": 7, "exit_code": -libc::EBADF, "error": "EBADF"}),
            json!({"syscall": "lseek", "arg0": -1, "arg1": 424242, "arg2": 8, "exit_code": -libc::EBADF, "error": "EBADF"}),
        ]
    );
    // Decided in the kernel: the two calls the arguments rule out never
    // came up.
    assert_eq!(done.stat("sent"), 2, "{:?}", done.stderr);
}
