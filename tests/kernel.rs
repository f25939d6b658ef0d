//! End-to-end tests against real kernel events: each starts the real ebq
//! binary with root, makes processes with a unique marker, and checks the
//! exact fields of the rows ebq prints. One behaviour per test; tests run
//! in parallel, so every query filters on its own marker.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{marker, real, with, Running};
use serde_json::{json, Value};

fn run_ok(cmd: &mut Command) -> u32 {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("workload starts");
    let pid = child.id();
    child.wait().expect("workload ends");
    pid
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn exec_rows_carry_exact_fields() {
    let m = marker("exec");
    let ebq = Running::start(&[&format!(
        "select pid, parent, uid, euid, path, cmdline, argv, argc, cwd, exit_code, error, comm, syscall, truncated from process_events where cmdline like '%{m}%'"
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().canonicalize().expect("canonical");
    let pid = run_ok(
        Command::new("/bin/true")
            .args([m.as_str(), "two words", ""])
            .current_dir(&cwd),
    );
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["pid"], json!(pid));
    assert_eq!(r["parent"], json!(std::process::id()));
    assert_eq!(r["uid"], json!(nix::unistd::getuid().as_raw()));
    assert_eq!(r["euid"], json!(nix::unistd::geteuid().as_raw()));
    // The file the kernel ran, symlinks followed (as /proc/PID/exe).
    assert_eq!(r["path"], json!(real("/bin/true")));
    assert_eq!(r["cmdline"], json!(format!("/bin/true {m} 'two words' ''")));
    assert_eq!(r["argv"], json!(["/bin/true", m, "two words", ""]));
    assert_eq!(r["argc"], json!(4));
    assert_eq!(r["cwd"], json!(cwd.to_str().expect("utf8")));
    assert_eq!(r["exit_code"], json!(0));
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["comm"], json!("true"));
    assert_eq!(r["syscall"], json!("execve"));
    assert_eq!(r["truncated"], json!(false));
    // Keys in SELECT order, integers as numbers.
    assert!(
        done.lines[0].starts_with(&format!("{{\"pid\":{pid},\"parent\":")),
        "{}",
        done.lines[0]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn failed_exec_is_a_row_with_the_error() {
    let m = marker("fail");
    let ebq = Running::start(&[&format!(
        "select parent, path, argv, exit_code, error from process_events where exit_code < 0 and cmdline like '%{m}%'"
    )]);
    let missing = format!("/nonexistent-{m}/prog");
    let err = Command::new(&missing)
        .arg(&m)
        .spawn()
        .expect_err("no such program");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert!(done.status.success());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["path"], json!(missing));
    assert_eq!(rows[0]["argv"], json!([missing, m]));
    assert_eq!(rows[0]["exit_code"], json!(-libc::ENOENT));
    assert_eq!(rows[0]["error"], json!("ENOENT"));
    assert_eq!(rows[0]["parent"], json!(std::process::id()));
}

/// execveat(dirfd, name, [name, marker], [LD_PRELOAD=...], 0) from a fresh
/// child; Err when the kernel refused it.
fn execveat(dir: &std::fs::File, name: &str, m: &str, preload: &str) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let c = |s: String| CString::new(s).expect("no NUL");
    let (name, m) = (c(name.to_string()), c(m.to_string()));
    let env = c(format!("LD_PRELOAD={preload}"));
    let argv = [name.as_ptr(), m.as_ptr(), std::ptr::null()];
    let envp = [env.as_ptr(), std::ptr::null()];
    let (fd, name_p, argv_p, envp_p) = (
        dir.as_raw_fd(),
        name.as_ptr() as usize,
        argv.as_ptr() as usize,
        envp.as_ptr() as usize,
    );
    let mut cmd = Command::new("/bin/false");
    // SAFETY: the closure only makes one system call in the forked child;
    // the pointers are to this frame's CStrings and arrays, which the child
    // has a copy of, alive until spawn() returns.
    unsafe {
        cmd.pre_exec(move || {
            libc::syscall(libc::SYS_execveat, fd, name_p, argv_p, envp_p, 0);
            Err(std::io::Error::last_os_error())
        });
    }
    let mut child = cmd.stdout(Stdio::null()).spawn()?;
    child.wait()?;
    Ok(())
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn execveat_is_reported_with_its_syscall_path_and_environment() {
    let m = marker("at");
    let ebq = Running::start(&[&format!(
        "select syscall, path, exit_code, ld_preload from process_events where cmdline like '%{m}%'"
    )]);
    let dir = std::fs::File::open("/usr/bin").expect("/usr/bin");
    let missing = format!("missing-{m}");
    execveat(&dir, "true", &m, "/ok.so").expect("execveat of /usr/bin/true");
    let err = execveat(&dir, &missing, &m, &format!("/{m}.so")).expect_err("no such program");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    let mut rows = done.rows.clone();
    rows.sort_by_key(|r| r["exit_code"].as_i64());
    // The dirfd's directory joins the name; the failed call's environment
    // is read from the caller's envp, execveat's fourth argument.
    assert_eq!(
        rows,
        [
            json!({"syscall": "execveat", "path": format!("/usr/bin/{missing}"), "exit_code": -libc::ENOENT, "ld_preload": format!("/{m}.so")}),
            json!({"syscall": "execveat", "path": "/usr/bin/true", "exit_code": 0, "ld_preload": "/ok.so"}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn relative_paths_become_absolute() {
    let m = marker("rel");
    let ebq = Running::start(&[&format!(
        "select path, exit_code from process_events where cmdline like '%{m}%'"
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().canonicalize().expect("canonical");
    std::fs::copy("/bin/true", cwd.join("prog")).expect("copy");
    run_ok(Command::new("./prog").arg(&m).current_dir(&cwd));
    let _ = Command::new("./missing").arg(&m).current_dir(&cwd).status();
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let paths: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().expect("path"),
                r["exit_code"].as_i64().expect("code"),
            )
        })
        .collect();
    let prog = cwd.join("prog");
    let missing = cwd.join("missing");
    assert_eq!(
        paths,
        [
            (prog.to_str().expect("utf8"), 0),
            (missing.to_str().expect("utf8"), -2)
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn arguments_are_kept_past_32_and_4k_and_cuts_are_flagged() {
    let m = marker("args");
    let ebq = Running::start(&[&format!(
        "select argv, argc, truncated from process_events where cmdline like '%{m}%'"
    )]);
    // 40 arguments, 5 KiB in all: everything must come through.
    let many: Vec<String> = (0..40)
        .map(|i| format!("{m}-{i:02}-{}", "y".repeat(110)))
        .collect();
    run_ok(Command::new("/bin/true").args(&many));
    // One argument far past the capture bound: cut, and flagged.
    let huge = format!("{m}{}", "z".repeat(20_000));
    run_ok(Command::new("/bin/true").arg(&huge));
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let argv: Vec<String> = serde_json::from_value(rows[0]["argv"].clone()).expect("an array");
    assert_eq!(argv[1..], many[..]);
    assert_eq!(rows[0]["argc"], json!(41));
    assert_eq!(rows[0]["truncated"], json!(false));
    assert_eq!(rows[1]["argc"], json!(2));
    assert_eq!(rows[1]["truncated"], json!(true));
    let cut: Vec<String> = serde_json::from_value(rows[1]["argv"].clone()).expect("an array");
    // The cut argument says so: it ends with "...", after what was kept.
    let kept = cut[1].strip_suffix("...").expect("marked as cut");
    assert!(
        huge.starts_with(kept) && kept.len() < huge.len(),
        "cut to {}",
        kept.len()
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn kernel_filter_keeps_other_events_out() {
    let m = marker("push");
    // Nothing runs as uid 4242 but the one process below: the kernel sends
    // up exactly one event, whatever else the machine (or the other tests)
    // execs meanwhile.
    let ebq = Running::start(&[&format!(
        "select uid, cmdline from process_events where uid = 4242 and cmdline like '%{m}%'"
    )]);
    for _ in 0..20 {
        run_ok(Command::new("/bin/true").arg(&m));
    }
    if nix::unistd::geteuid().is_root() {
        run_ok(Command::new("/bin/true").arg(&m).uid(4242).gid(4242));
    }
    let expect = usize::from(nix::unistd::geteuid().is_root());
    let rows = ebq.wait_rows(expect, |_| true);
    let done = ebq.stop();
    assert_eq!(rows.len(), expect, "{rows:?}");
    assert_eq!(done.stat("sent"), expect as u64);
    assert!(done.stat("rejected") >= 20, "{:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn comm_and_path_filters_run_in_the_kernel() {
    let m = marker("comm");
    let ebq = Running::start(&[&format!(
        "select comm, path from process_events where comm = 'env' and path like '/usr/bin/%' and cmdline like '%{m}%'"
    )]);
    // Outside the prefix, whatever its name says: /bin/env is
    // /usr/bin/env on a merged-/usr system, so a copy elsewhere.
    let dir = tempfile::tempdir().expect("tempdir");
    let env_copy = dir.path().join("env");
    std::fs::copy("/usr/bin/env", &env_copy).expect("copy");
    run_ok(Command::new("/usr/bin/env").args(["true", m.as_str()]));
    run_ok(Command::new("/bin/true").arg(&m));
    run_ok(Command::new(&env_copy).args(["true", m.as_str()]));
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(rows, [json!({"comm": "env", "path": "/usr/bin/env"})]);
    assert!(done.stat("rejected") >= 2);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn set_filters_run_in_the_kernel() {
    common::require_root("run processes as other users");
    let m = marker("sets");
    // IN and NOT IN on an integer and on comm, and three path prefixes: the
    // kernel's set lookups and prefix trie decide, userspace re-checks.
    // No other test runs anything as uid 5151 or 5353.
    let dir = std::env::temp_dir().join(&m);
    std::fs::create_dir(&dir).expect("temp dir");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let elsewhere = dir.join("true");
    std::fs::copy("/bin/true", &elsewhere).expect("copy");
    let ebq = Running::start(&[&format!(
        "select uid, comm, path from process_events where gid in (5151, 5252, 5353) and uid between 5151 and 5353 and uid not in (5252) \
         and comm in ('true', 'sh') and comm not in ('sh') \
         and (path like '/usr/bin/%' or path like '/bin/%' or path like '/usr/sbin/%') and cmdline like '%{m}%'"
    )]);
    let as_user = |cmd: &mut Command, uid: u32| {
        run_ok(cmd.uid(uid).gid(uid));
    };
    as_user(Command::new("/bin/true").arg(&m), 5151); // kept
    as_user(Command::new("/bin/true").arg(&m), 5252); // uid NOT IN
    as_user(Command::new("/bin/true").arg(&m), 5353); // kept
    as_user(Command::new("/bin/sh").args(["-c", ":", &m]), 5151); // comm NOT IN
    as_user(Command::new(&elsewhere).arg(&m), 5151); // no prefix
    run_ok(Command::new("/bin/true").arg(&m)); // uid 0: not IN
    ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = done.rows.clone();
    rows.sort_by_key(|r| r["uid"].as_u64());
    assert_eq!(
        rows,
        [
            json!({"uid": 5151, "comm": "true", "path": real("/bin/true")}),
            json!({"uid": 5353, "comm": "true", "path": real("/bin/true")}),
        ],
    );
    // Exactly those two came up from the kernel (these uids are this
    // test's own): the sets and the trie rejected the other four there.
    assert_eq!(done.stat("sent"), 2, "{:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_query_that_copies_nothing_runs_the_bare_reports() {
    common::require_root("run processes as other users");
    // Nothing else runs as uid 5454. The query reads no path, argument,
    // cwd or environment: the reports without capture code are loaded.
    let ebq = Running::start(&[
        "select uid, comm, syscall, exit_code, error from process_events where uid = 5454",
    ]);
    run_ok(Command::new("/bin/true").uid(5454).gid(5454));
    let err = Command::new("/nonexistent-ebq-bare")
        .uid(5454)
        .gid(5454)
        .spawn()
        .expect_err("no such program");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert!(
        done.stderr
            .iter()
            .any(|l| l.contains("attached") && l.contains("exec_done_bare")),
        "{:?}",
        done.stderr
    );
    let mut rows = done.rows.clone();
    rows.sort_by_key(|r| r["exit_code"].as_i64());
    assert_eq!(rows.len(), 2, "{rows:?}");
    // The failed exec keeps the caller's comm (a test thread's): not checked.
    assert_eq!(
        (
            &rows[0]["uid"],
            &rows[0]["syscall"],
            &rows[0]["exit_code"],
            &rows[0]["error"]
        ),
        (
            &json!(5454),
            &json!("execve"),
            &json!(-libc::ENOENT),
            &json!("ENOENT")
        )
    );
    assert_eq!(
        rows[1],
        json!({"uid": 5454, "comm": "true", "syscall": "execve", "exit_code": 0, "error": null})
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn command_mode_traces_only_the_command_and_its_children() {
    let m = marker("cmd");
    let outside = marker("out");
    let mut cmd = common::ebq_root();
    // The outside process runs while ebq traces the command.
    let bg = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true {outside}; sleep 0.1; done"
        ))
        .spawn()
        .expect("bg");
    let out = cmd
        .args(["-o", "json", "-c", &format!("/bin/sh -c '/bin/true {m}; sleep 0.5; /bin/true {m}'")])
        .arg(format!("select path, cmdline from process_events where cmdline like '%{m}%' or cmdline like '%{outside}%'"))
        .output()
        .expect("ebq runs");
    let mut bg = bg;
    let _ = bg.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(with(&rows, "cmdline", &outside).is_empty(), "{rows:?}");
    assert_eq!(with(&rows, "path", &real("/bin/true")).len(), 2, "{rows:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn limit_ends_the_run() {
    let m = marker("limit");
    let ebq = Running::start(&[&format!(
        "select pid from process_events where cmdline like '%{m}%' limit 2"
    )]);
    for _ in 0..5 {
        run_ok(Command::new("/bin/true").arg(&m));
    }
    let done = ebq.finish();
    assert!(done.status.success());
    assert_eq!(done.rows.len(), 2);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn closed_pipe_ends_quietly() {
    let m = marker("pipe");
    let mut cmd = common::ebq_root();
    let mut child = cmd
        .args([
            "-o",
            "json",
            "-d",
            "20s",
            &format!("select pid from process_events where cmdline like '%{m}%'"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(stdout);
    let worker = std::thread::spawn({
        let m = m.clone();
        move || {
            for _ in 0..100 {
                run_ok(Command::new("/bin/true").arg(&m));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    });
    std::io::BufRead::read_line(&mut reader, &mut first).expect("a row");
    drop(reader); // the reader goes away, like `| head -1`
    let out = child.wait_with_output().expect("ebq ends");
    assert!(first.contains("pid"));
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let _ = worker.join();
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn events_started_elsewhere_are_reported_exactly() {
    let m = marker("else");
    let ebq = Running::start(&[&format!(
        "select pid, parent, path, cmdline, cwd from process_events where cmdline like '%{m}%'"
    )]);
    let mut pids = Vec::new();
    for i in 0..3 {
        pids.push(run_ok(
            Command::new("/bin/echo")
                .arg(format!("{m}-{i}"))
                .current_dir("/"),
        ));
    }
    let rows = ebq.wait_rows(3, |_| true);
    ebq.stop();
    let want: Vec<Value> = pids
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"pid": p, "parent": std::process::id(), "path": real("/bin/echo"), "cmdline": format!("/bin/echo {m}-{i}"), "cwd": "/"}))
        .collect();
    assert_eq!(rows, want);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn sigterm_ends_the_run_cleanly() {
    let ebq = Running::start(&["select pid from process_events where pid = 1"]);
    let t = std::time::Instant::now();
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.status);
    assert!(t.elapsed() < std::time::Duration::from_secs(3));
    assert!(
        done.stderr.iter().any(|l| l.contains("stats: kernel")),
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
// A failing assertion may leave the target unwaited: fine in a test.
#[allow(clippy::zombie_processes)]
fn pid_mode_traces_the_process_tree_and_ends_with_it() {
    common::require_bpf();
    let m = marker("tree");
    let outside = marker("notree");
    // The target waits for a line on stdin, so it runs its children only
    // once ebq is attached.
    let mut target = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "read go; /bin/true {m}-1; /bin/sh -c '/bin/true {m}-2'"
        ))
        .stdin(Stdio::piped())
        .spawn()
        .expect("target");
    let pid = target.id().to_string();
    let ebq = Running::start(&["-p", &pid, &format!("select parent, cmdline from process_events where cmdline like '%{m}%' or cmdline like '%{outside}%'")]);
    run_ok(Command::new("/bin/true").arg(&outside));
    std::io::Write::write_all(&mut target.stdin.take().expect("stdin"), b"go\n").expect("go");
    target.wait().expect("target ends");
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    let cmdlines: Vec<&str> = done
        .rows
        .iter()
        .map(|r| r["cmdline"].as_str().expect("cmdline"))
        .collect();
    assert_eq!(
        cmdlines,
        [
            format!("/bin/true {m}-1"),
            format!("/bin/sh -c '/bin/true {m}-2'"),
            format!("/bin/true {m}-2")
        ]
    );
    assert_eq!(done.rows[0]["parent"], json!(target.id()));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ld_preload_comes_from_the_new_programs_environment() {
    let m = marker("ldp");
    let ebq = Running::start(&[&format!(
        "select cmdline, ld_preload, exit_code from process_events where cmdline like '%{m}%'"
    )]);
    // The loader ignores a preload it cannot find, with a warning on stderr.
    run_ok(
        Command::new("/bin/true")
            .arg(format!("{m}-a"))
            .env("LD_PRELOAD", format!("/nonexistent/{m}.so")),
    );
    run_ok(
        Command::new("/bin/true")
            .arg(format!("{m}-b"))
            .env_remove("LD_PRELOAD"),
    );
    // Past a large environment, and for a failed exec too.
    let _ = Command::new(format!("/nonexistent-{m}"))
        .arg(format!("{m}-c"))
        .env("BIG", "b".repeat(3000))
        .env("LD_PRELOAD", "/x.so")
        .status();
    let rows = ebq.wait_rows(3, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"cmdline": format!("/bin/true {m}-a"), "ld_preload": format!("/nonexistent/{m}.so"), "exit_code": 0}),
            json!({"cmdline": format!("/bin/true {m}-b"), "ld_preload": null, "exit_code": 0}),
            json!({"cmdline": format!("/nonexistent-{m} {m}-c"), "ld_preload": "/x.so", "exit_code": -2}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn losses_are_counted_so_that_the_accounting_closes() {
    common::require_bpf();
    // A storm of exactly N syscalls through the smallest ring buffer: every
    // one is either a row or counted as lost, and the run says so.
    const N: u64 = 200_000;
    let (r, w) = nix::unistd::pipe().expect("pipe");
    // SAFETY: the child only reads a pipe, makes syscalls and exits.
    let child = match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            drop(w);
            let mut b = [0u8; 1];
            // SAFETY: one byte from our own pipe; then plain syscalls.
            unsafe {
                libc::read(
                    std::os::fd::AsRawFd::as_raw_fd(&r),
                    b.as_mut_ptr().cast(),
                    1,
                );
                for _ in 0..N {
                    libc::getppid();
                }
                libc::_exit(0)
            }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(r);
    let ebq = Running::start(&[
        "--buffer-size",
        "4K",
        &format!("select pid from syscall_events where syscall = 'getppid' and pid = {child}"),
    ]);
    nix::unistd::write(&w, &[1u8]).expect("go");
    nix::sys::wait::waitpid(child, None).expect("wait");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let done = ebq.stop();
    let delivered = done.rows.len() as u64;
    let lost = done.stat("lost");
    assert_eq!(delivered + lost, N, "{:?}", done.stderr);
    assert!(
        lost > 0,
        "a 4 KiB buffer should overflow: {:?}",
        done.stderr
    );
    assert_eq!(
        done.status.code(),
        Some(3),
        "a run that lost events exits 3"
    );
    assert!(
        done.stderr.iter().any(|l| l.contains("events were lost")),
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn sigterm_ends_a_run_in_a_storm() {
    common::require_bpf();
    // Every syscall of the machine while a child makes them as fast as it
    // can: the buffer never runs dry, and a stop must still be seen.
    // SAFETY: the child only makes syscalls until it is killed.
    let child = match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => loop {
            // SAFETY: getppid(2) has no preconditions.
            unsafe { libc::getppid() };
        },
        nix::unistd::ForkResult::Parent { child } => child,
    };
    let kill = || {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
    };
    // The rows go to /dev/null: what is timed is ebq's own stop, not a
    // reader's (this test's, parsing every row, is the slower end of the
    // pipe under qemu, and ebq would wait for it in write(2)).
    let mut ebq = common::ebq_root()
        .args([
            "-o",
            "json",
            "--stats",
            "select pid, syscall from syscall_events",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq starts");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let err = ebq.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(err)) {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut stderr = Vec::new();
    let attach_by = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !stderr
        .iter()
        .any(|l: &String| l.contains("stats: attached"))
    {
        let left = attach_by.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) => stderr.push(l),
            Err(_) => {
                let _ = ebq.kill();
                kill();
                panic!("ebq did not attach: {stderr:?}");
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let t = std::time::Instant::now();
    let pid = nix::unistd::Pid::from_raw(ebq.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let end_by = t + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = ebq.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > end_by {
            let _ = ebq.kill();
            break ebq.wait().expect("wait");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let took = t.elapsed();
    kill();
    let _ = reader.join();
    stderr.extend(lines.try_iter());
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "{status:?} {stderr:?}"
    );
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    assert!(
        stderr.iter().any(|l| l.contains("stats: kernel")),
        "{stderr:?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn hostile_arguments_stay_inert_in_every_format() {
    use std::os::unix::ffi::OsStrExt;
    let m = marker("evil");
    let args: Vec<&std::ffi::OsStr> = vec![
        std::ffi::OsStr::new(m.as_str()),
        std::ffi::OsStr::new("\x1b[2J\x1b]0;owned\x07"),
        std::ffi::OsStr::new("line1\nline2\r"),
        std::ffi::OsStr::from_bytes(b"bad\xff\xfeutf8"),
        std::ffi::OsStr::new("rtl\u{202e}txt"),
    ];
    let mut table = common::ebq_root();
    // path: the other ebq runs carry the marker in their own command lines.
    let q = format!(
        "select cmdline, argv from process_events where path = '{}' and cmdline like '%{m}%'",
        real("/bin/true")
    );
    let (json_run, csv_run) = (Running::start(&[&q]), common::ebq_root());
    // Both attached before the exec: a fixed wait lost to a slow start
    // (2 s and more each under qemu's TCG, two starting at once).
    let mut table = table
        .args(["-o", "table", "--stats", "-d", "3s", &q])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq");
    let mut csv = {
        let mut c = csv_run;
        c.args(["-o", "csv", "--stats", "-d", "3s", &q])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ebq")
    };
    common::wait_attached(&mut table);
    common::wait_attached(&mut csv);
    run_ok(Command::new("/bin/true").args(&args));
    let rows = json_run.wait_rows(1, |_| true);
    json_run.stop();
    let table_out = table.wait_with_output().expect("table").stdout;
    let csv_out = csv.wait_with_output().expect("csv").stdout;
    // JSON: argv an array, every string in ebq's encoding (controls, C1,
    // bidi and invalid bytes escaped), so the line is plain ASCII.
    let argv: Vec<&str> = rows[0]["argv"]
        .as_array()
        .expect("argv is an array")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    assert_eq!(argv[2], "\\x1b[2J\\x1b]0;owned\\x07");
    assert_eq!(argv[3], "line1\\nline2\\r");
    assert_eq!(argv[4], "bad\\xff\\xfeutf8");
    assert_eq!(argv[5], "rtl\\u{202e}txt");
    // Table and CSV: no control character, no bidi override, on one line.
    for (name, out) in [("table", &table_out), ("csv", &csv_out)] {
        let text = String::from_utf8_lossy(out);
        assert!(text.contains(&m), "{name}: {text}");
        assert!(
            !out.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
            "{name}: {text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{name}");
        assert!(text.contains("\\x1b[2J"), "{name}: {text}");
        let line = text.lines().find(|l| l.contains(&m)).expect("the row");
        assert!(line.contains("line1\\nline2"), "{name}: {line}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn thousands_of_arguments_and_an_empty_argv() {
    let m = marker("many");
    let ebq = Running::start(&[&format!("select path, argc, truncated, exit_code from process_events where path like '%{m}%' or cmdline like '%{m}%'")]);
    // 5000 arguments: more text than is kept, so cut and flagged, but
    // every argument is counted.
    let many: Vec<String> = std::iter::once(m.clone())
        .chain((0..4999).map(|i| format!("{i}")))
        .collect();
    run_ok(Command::new("/bin/true").args(&many));
    // execve with an empty argv, of a file that does not exist: a row with
    // no arguments at all.
    let path = std::ffi::CString::new(format!("/nonexistent-{m}")).expect("cstr");
    // SAFETY: the child calls execve (async-signal-safe) and _exit only.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let argv: [*const libc::c_char; 1] = [std::ptr::null()];
            // SAFETY: a valid path and NULL-terminated argv and envp.
            unsafe {
                libc::execve(path.as_ptr(), argv.as_ptr(), argv.as_ptr());
                libc::_exit(0)
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            nix::sys::wait::waitpid(child, None).expect("wait");
        }
    }
    let rows = ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert_eq!(rows.len(), 2, "{rows:?} {:?}", done.stderr);
    assert_eq!(rows[0]["argc"], json!(5001));
    assert_eq!(rows[0]["truncated"], json!(true));
    assert_eq!(
        rows[1],
        json!({"path": format!("/nonexistent-{m}"), "argc": 0, "truncated": false, "exit_code": -2})
    );
}

/// BPF program ids a process holds (its fdinfo shows prog_id for program
/// and link fds).
fn prog_ids(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        ids.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("prog_id:"))
                .filter_map(|v| v.trim().parse::<u32>().ok()),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn nothing_stays_attached_after_a_run() {
    // Through sudo the pid is sudo's, whose fds are not ebq's.
    common::require_root("read ebq's fdinfo (sudo's pid is not ebq's)");
    let ebq = Running::start(&["select pid from process_events where pid = 1"]);
    let ids = prog_ids(ebq.pid());
    // exec_enter and exec_exit (each on both exec syscalls), the failed
    // exec's tail and exec_done.
    assert_eq!(
        ids.len(),
        4,
        "ebq holds its programs while it runs: {ids:?}"
    );
    let done = ebq.stop();
    assert!(done.status.success());
    // A tail-called program goes when its prog array does, which the
    // kernel frees after an RCU grace period: gone within a few seconds.
    let loaded = |id: u32| {
        // SAFETY: a plain bpf(2) lookup by id; a returned fd is closed.
        let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
        if fd >= 0 {
            // SAFETY: fd was just returned to us.
            unsafe { libc::close(fd) };
        }
        fd >= 0
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut left: Vec<u32> = ids;
    while !left.is_empty() && std::time::Instant::now() < deadline {
        left.retain(|&id| loaded(id));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        left.is_empty(),
        "programs {left:?} are still loaded 5 s after ebq ended"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ebq_runs_beside_another_ebq_and_bpftrace() {
    // bpftrace runs here directly, not through sudo.
    common::require_root("run bpftrace");
    let bpftrace = which("bpftrace").expect("bpftrace is not installed (.ci/run installs it)");
    let m = marker("beside");
    // path: the second ebq's own command line carries the marker too.
    let q = format!(
        "select pid, cmdline from process_events where path = '{}' and cmdline like '%{m}%'",
        real("/bin/true")
    );
    let first = Running::start(&[&q]);
    let second = Running::start(&[&q]);
    // bpftrace on the same tracepoint, printing the same exec.
    let mut bt = Command::new(bpftrace)
        .args(["-e", "BEGIN { printf(\"ready\\n\"); } tracepoint:syscalls:sys_enter_execve /strncmp(str(args->filename), \"/bin/true\", 9) == 0/ { printf(\"exec %d\\n\", pid); }"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("bpftrace");
    let mut out = std::io::BufReader::new(bt.stdout.take().expect("stdout"));
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap_or(0) > 0
        && !line.contains("ready")
    {
        line.clear();
    }
    let pid = run_ok(Command::new("/bin/true").arg(&m));
    let a = first.wait_rows(1, |_| true);
    let b = second.wait_rows(1, |_| true);
    first.stop();
    second.stop();
    let want = json!([{"pid": pid, "cmdline": format!("/bin/true {m}")}]);
    assert_eq!(json!(a), want);
    assert_eq!(json!(b), want);
    line.clear();
    let mut seen = false;
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap_or(0) > 0 {
        if line.trim() == format!("exec {pid}") {
            seen = true;
            break;
        }
        line.clear();
    }
    let _ = bt.kill();
    let _ = bt.wait();
    assert!(seen, "bpftrace saw the exec too");
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

/// One traced exec through ebq with `EBQ_BTF_CACHE=cache`: the row and
/// what --stats says of the BTF.
fn exec_row_with_cache(cache: &str) -> (Value, String) {
    let m = marker("btf");
    let ebq = Running::start_env(
        &[("EBQ_BTF_CACHE", cache)],
        &[&format!(
            "select pid, path, cmdline, cwd, exit_code from process_events where cmdline like '%{m}%'"
        )],
    );
    let pid = run_ok(Command::new("/bin/true").arg(&m).current_dir("/"));
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(
        json!(rows),
        json!([{"pid": pid, "path": real("/bin/true"), "cmdline": format!("/bin/true {m}"), "cwd": "/", "exit_code": 0}])
    );
    let btf = done
        .stderr
        .iter()
        .find_map(|l| l.strip_prefix("ebq: stats: BTF: "))
        .unwrap_or_else(|| panic!("no BTF line: {:?}", done.stderr))
        .to_string();
    (rows[0].clone(), btf)
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn btf_copy_is_cached_used_and_replaced_when_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let cache = cache.to_str().expect("utf8");
    let (_, btf) = exec_row_with_cache(cache);
    assert_eq!(btf, "the kernel's; a copy is cached for the next start");
    let files: Vec<_> = std::fs::read_dir(cache)
        .expect("the cache directory was made")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let copy = &files[0];
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(cache).expect("dir").permissions(),
    );
    assert_eq!(mode & 0o777, 0o700);
    let (_, btf) = exec_row_with_cache(cache);
    assert_eq!(btf, format!("cached copy {}", copy.display()));
    // A broken copy is dropped, the kernel's BTF used, the row the same.
    std::fs::write(copy, b"not BTF").expect("overwrite");
    let (_, btf) = exec_row_with_cache(cache);
    assert_eq!(btf, "the kernel's (the cached copy failed: removed)");
    assert!(!copy.exists());
    let (_, btf) = exec_row_with_cache("off");
    assert_eq!(btf, "the kernel's (no cache)");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn success_only_query_loads_no_exit_and_sees_no_failure() {
    let m = marker("okonly");
    let ebq = Running::start(&[&format!(
        "select pid, exit_code from process_events where exit_code = 0 and cmdline like '%{m}%'"
    )]);
    let _ = Command::new(format!("/nonexistent-{m}/prog"))
        .arg(&m)
        .status();
    let pid = run_ok(Command::new("/bin/true").arg(&m));
    ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(done.rows, [json!({"pid": pid, "exit_code": 0})]);
    let attached = done
        .stderr
        .iter()
        .find(|l| l.contains("stats: attached"))
        .expect("the attached line");
    assert!(!attached.contains("_exit"), "{attached}");
}

/// An environment of `n` variables of `len` bytes and one of 100 KiB,
/// sorted before LD_PRELOAD (Command keeps its variables in name order).
fn big_environment(cmd: &mut Command, n: usize, len: usize, preload: &str) {
    cmd.env_clear();
    cmd.env("AAA_LONG", "l".repeat(100 << 10));
    for i in 0..n {
        cmd.env(format!("AAB{i:05}"), "v".repeat(len));
    }
    cmd.env("LD_PRELOAD", preload);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ld_preload_is_found_past_nearly_two_megabytes_of_environment() {
    let m = marker("ldbig");
    let ebq = Running::start(&[&format!(
        "select ld_preload, exit_code, truncated from process_events where cmdline like '%{m}%'"
    )]);
    // 1.8 MB in 1500 variables and one longer than a single read, before
    // LD_PRELOAD: in the new program's environment block, and in a failed
    // exec's envp array.
    let mut ok = Command::new("/bin/true");
    ok.arg(&m);
    big_environment(&mut ok, 1500, 1200, &format!("/nonexistent/{m}.so"));
    run_ok(&mut ok);
    let mut failed = Command::new(format!("/nonexistent-{m}"));
    failed.arg(&m);
    big_environment(&mut failed, 1500, 1200, "/x.so");
    assert!(failed.status().is_err());
    let mut rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    rows.sort_by_key(|r| r["exit_code"].as_i64());
    assert_eq!(
        rows,
        [
            json!({"ld_preload": "/x.so", "exit_code": -2, "truncated": false}),
            json!({"ld_preload": format!("/nonexistent/{m}.so"), "exit_code": 0, "truncated": false}),
        ]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_failed_exec_counts_every_argument_and_marks_the_cut_one() {
    let m = marker("failargs");
    let ebq = Running::start(&[&format!(
        "select argc, argv, truncated from process_events where exit_code < 0 and cmdline like '%{m}%'"
    )]);
    // 5000 arguments: copied as far as the bound goes, all counted.
    let missing = format!("/nonexistent-{m}");
    let many: Vec<String> = (0..4999).map(|i| format!("{i}")).collect();
    assert!(Command::new(&missing).arg(&m).args(&many).status().is_err());
    // One argument longer than what is copied: cut, and marked.
    let huge = format!("{m}{}", "z".repeat(20_000));
    assert!(Command::new(&missing).arg(&huge).status().is_err());
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (a, b) = if rows[0]["argc"] == json!(5001) {
        (&rows[0], &rows[1])
    } else {
        (&rows[1], &rows[0])
    };
    assert_eq!(a["argc"], json!(5001));
    assert_eq!(a["truncated"], json!(true));
    assert_eq!(b["argc"], json!(2));
    assert_eq!(b["truncated"], json!(true));
    let argv: Vec<String> = serde_json::from_value(b["argv"].clone()).expect("an array");
    assert_eq!(argv[0], missing);
    let kept = argv[1]
        .strip_suffix("...")
        .expect("the cut argument is marked");
    assert!(
        huge.starts_with(kept) && kept.len() < huge.len(),
        "{}",
        kept.len()
    );
}

/// A child that execs `prog` with exactly this argv and envp (duplicates
/// and all), which Command cannot express.
fn exec_with_env(prog: &str, argv: &[&str], envp: &[String]) {
    use std::ffi::CString;
    let c = |s: &str| CString::new(s).expect("no NUL");
    let prog = c(prog);
    let argv: Vec<CString> = argv.iter().map(|a| c(a)).collect();
    let envp: Vec<CString> = envp.iter().map(|e| c(e)).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let (p, a, e) = (
        prog.as_ptr() as usize,
        argv_p.as_ptr() as usize,
        envp_p.as_ptr() as usize,
    );
    let mut cmd = Command::new("/bin/false");
    // SAFETY: one execve in the forked child, of pointers into this
    // frame's CStrings and arrays, which the child has a copy of.
    unsafe {
        cmd.pre_exec(move || {
            libc::execve(
                p as *const libc::c_char,
                a as *const *const libc::c_char,
                e as *const *const libc::c_char,
            );
            Err(std::io::Error::last_os_error())
        });
    }
    if let Ok(mut child) = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
        let _ = child.wait();
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ld_preload_is_the_last_one_and_a_long_one_is_marked_cut() {
    let m = marker("ldlast");
    let ebq = Running::start(&[&format!(
        "select cmdline, ld_preload, truncated from process_events where cmdline like '%{m}%'"
    )]);
    // Twice: the loader (elf/rtld.c) takes the last one.
    let twice = [
        format!("LD_PRELOAD=/nonexistent/{m}-first.so"),
        "PATH=/bin".to_string(),
        format!("LD_PRELOAD=/nonexistent/{m}-last.so"),
    ];
    exec_with_env("/bin/true", &["/bin/true", &format!("{m}-ok")], &twice);
    exec_with_env(
        &format!("/nonexistent-{m}"),
        &["x", &format!("{m}-fail")],
        &twice,
    );
    // Longer than the 4 KiB the kernel copies: cut, and said to be.
    let long = format!("LD_PRELOAD=/nonexistent/{m}{}.so", "x".repeat(5000));
    exec_with_env(
        "/bin/true",
        &["/bin/true", &format!("{m}-long")],
        std::slice::from_ref(&long),
    );
    let rows = ebq.wait_rows(3, |_| true);
    ebq.stop();
    let by = |tag: &str| {
        rows.iter()
            .find(|r| r["cmdline"].as_str().is_some_and(|c| c.ends_with(tag)))
            .unwrap_or_else(|| panic!("no row {tag}: {rows:?}"))
            .clone()
    };
    assert_eq!(
        by("-ok")["ld_preload"],
        json!(format!("/nonexistent/{m}-last.so"))
    );
    assert_eq!(
        by("-fail")["ld_preload"],
        json!(format!("/nonexistent/{m}-last.so"))
    );
    assert_eq!(by("-ok")["truncated"], json!(false));
    let cut = by("-long");
    assert_eq!(cut["truncated"], json!(true));
    let v = cut["ld_preload"].as_str().expect("a value");
    let kept = v.strip_suffix("...").expect("marked cut");
    assert!(
        long["LD_PRELOAD=".len()..].starts_with(kept) && kept.len() == 4095,
        "{}",
        kept.len()
    );
}
