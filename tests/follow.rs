//! End-to-end tests of -c and -p: a traced tree is followed whole, however
//! its processes exec and exit (a thread's exec, a leader that leaves
//! first), signals to and from it are in scope, the -c command never
//! outlives ebq and gives ebq its exit status, and all of it works from
//! inside a pid namespace. One behaviour per test, each with its marker.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{marker, threads_helper, Running};
use serde_json::{json, Value};

/// Runs `ebq -o json ARGS` to its end; (status, rows, stderr).
fn ebq_run(args: &[&str]) -> (std::process::ExitStatus, Vec<Value>, String) {
    let mut cmd = common::ebq_root();
    let out = cmd
        .args(["-o", "json"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ebq runs");
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        out.status,
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pid_of(rows: &[Value], cmdline_start: &str) -> u64 {
    rows.iter()
        .find(|r| {
            r["cmdline"]
                .as_str()
                .is_some_and(|c| c.starts_with(cmdline_start))
        })
        .and_then(|r| r["pid"].as_u64())
        .unwrap_or_else(|| panic!("no row starting {cmdline_start}: {rows:?}"))
}

fn row<'a>(rows: &'a [Value], cmdline: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["cmdline"] == json!(cmdline))
        .unwrap_or_else(|| panic!("no row {cmdline}: {rows:?}"))
}

/// The pids of the processes whose command line holds `m`.
fn pids_with(m: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if std::fs::read(format!("/proc/{p}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(m))
        {
            out.push(p);
        }
    }
    out
}

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_exec_from_another_thread_keeps_the_command_followed() {
    let m = marker("texec");
    let helper = threads_helper();
    let cmd = format!(
        "{} thread-exec /bin/sh -c '/bin/true {m}-child' {m}",
        helper.display()
    );
    let (status, rows, err) = ebq_run(&[
        "-c",
        &cmd,
        &format!("select pid, parent, cmdline from process_events where cmdline like '%{m}%'"),
    ]);
    assert!(status.success(), "{err}");
    let helper_pid = pid_of(&rows, &helper.display().to_string());
    // The thread's exec keeps the process's pid; what it runs follows.
    let exec = row(&rows, &format!("/bin/sh -c '/bin/true {m}-child' {m}"));
    assert_eq!(exec["pid"], json!(helper_pid), "{rows:?}");
    let child = row(&rows, &format!("/bin/true {m}-child"));
    assert_eq!(child["parent"], json!(helper_pid), "{rows:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_exec_from_another_thread_finds_what_its_entry_noted() {
    // de_thread() gives the thread the leader's pid: the row still has
    // the call its entry noted (the syscall, and a duration from its
    // start), in task storage and in the hash by thread id alike
    // (EBQ_FORCE_FALLBACK=task_storage: the old pid looks it up).
    let m = marker("tentry");
    let helper = threads_helper();
    let cmd = format!("{} thread-exec /bin/true {m}", helper.display());
    let (status, rows, err) = ebq_run(&[
        "-c",
        &cmd,
        &format!(
            "select syscall, duration > 0 as timed, pid = tid as leader from process_events where cmdline = '/bin/true {m}'"
        ),
    ]);
    assert!(status.success(), "{err}");
    assert_eq!(
        rows,
        vec![json!({"syscall": "execve", "timed": true, "leader": true})],
        "{err}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_exec_from_another_thread_keeps_a_pid_followed() {
    common::require_bpf();
    let m = marker("texecp");
    let mut target = Command::new(threads_helper())
        .args([
            "thread-exec",
            "/bin/sh",
            "-c",
            &format!("/bin/true {m}-child"),
            &m,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("helper");
    let pid = target.id();
    let ebq = Running::start(&[
        "-p",
        &pid.to_string(),
        &format!("select pid, parent, cmdline from process_events where cmdline like '%{m}%'"),
    ]);
    target
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"g")
        .expect("go");
    target.wait().expect("ends");
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows.len(), 2, "{:?}", done.rows);
    assert_eq!(
        done.rows[0],
        json!({"pid": pid, "parent": std::process::id(), "cmdline": format!("/bin/sh -c '/bin/true {m}-child' {m}")})
    );
    assert_eq!(done.rows[1]["parent"], json!(pid));
    assert_eq!(
        done.rows[1]["cmdline"],
        json!(format!("/bin/true {m}-child"))
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_leader_that_leaves_first_keeps_its_process_followed() {
    let m = marker("lexit");
    let helper = threads_helper();
    let cmd = format!("{} leader-exit /bin/true {m}-late", helper.display());
    let (status, rows, err) = ebq_run(&[
        "-c",
        &cmd,
        &format!("select pid, parent, cmdline from process_events where cmdline like '%{m}%'"),
    ]);
    // The command's status (the helper's) is ebq's.
    assert_eq!(status.code(), Some(3), "{err}");
    let helper_pid = pid_of(&rows, &helper.display().to_string());
    // Run after the leader left, by the thread still running.
    let late = row(&rows, &format!("/bin/true {m}-late"));
    assert_eq!(late["parent"], json!(helper_pid), "{rows:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_process_whose_leader_left_first_has_its_exit_row() {
    let m = marker("lexitrow");
    let helper = threads_helper();
    let cmd = format!("{} leader-exit /bin/true {m}", helper.display());
    let (_, rows, err) = ebq_run(&[
        "-c",
        &cmd,
        "select comm, exit_code from process_exit_events",
    ]);
    // The helper's name, as its comm (15 bytes).
    let comm: String = helper
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a name")
        .chars()
        .take(15)
        .collect();
    let mine: Vec<&Value> = rows.iter().filter(|r| r["comm"] == json!(comm)).collect();
    assert_eq!(
        mine,
        [&json!({"comm": comm, "exit_code": 3})],
        "{rows:?} {err}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn the_sigchld_of_a_child_in_the_tree_is_a_row() {
    let m = marker("chld");
    let (status, rows, err) = ebq_run(&[
        "-c",
        &format!("/bin/sh -c '/bin/true {m}; exit 0'"),
        "select comm, signal_name, target_comm from signal_events where signal = 'SIGCHLD'",
    ]);
    assert!(status.success(), "{err}");
    // Sent by the child that exited, after its exit.
    assert!(
        rows.contains(&json!({"comm": "true", "signal_name": "SIGCHLD", "target_comm": "sh"})),
        "{rows:?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_signal_from_outside_into_the_tree_is_a_row() {
    let m = marker("outside");
    let ebq = Running::start(&[
        "-c",
        &format!("/bin/sh -c 'trap \"\" USR1; sleep 2; exit 0' {m}"),
        "select pid, signal_name, target_pid from signal_events where signal = 'SIGUSR1'",
    ]);
    let deadline = Instant::now() + Duration::from_secs(2);
    // The shell, once its trap is set (SigIgn holds SIGUSR1: bit 9), so
    // the signal is a row and not the shell's death.
    let ignores_usr1 = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/status")).is_ok_and(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .is_some_and(|mask| mask & (1 << (libc::SIGUSR1 - 1)) != 0)
        })
    };
    let target = loop {
        if let Some(p) = pids_with(&m).into_iter().find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"/bin/sh\0-c\0trap"))
                && ignores_usr1(*p)
        }) {
            break p;
        }
        assert!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(target as i32),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .expect("kill");
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    // The test is not in the tree; its target is.
    assert_eq!(
        done.rows,
        [json!({"pid": std::process::id(), "signal_name": "SIGUSR1", "target_pid": target})]
    );
}

/// Runs `-d 1s -c CMD` (CMD's processes carry the marker `m`) and checks
/// that none of them is left running once ebq has ended.
fn nothing_outlives(m: &str, cmd: &str) {
    let ebq = Running::start(&[
        "-d",
        "1s",
        "-c",
        cmd,
        "select pid from process_events where pid = 1",
    ]);
    std::thread::sleep(Duration::from_millis(400));
    let marked = pids_with(m);
    assert!(!marked.is_empty(), "the command runs");
    let started = Instant::now();
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    // SIGTERM, then SIGKILL after the grace: none of it is left.
    for p in marked {
        assert!(!running(p), "{p} outlived ebq");
    }
    assert!(pids_with(m).iter().all(|p| !running(*p)));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn the_command_does_not_outlive_ebq() {
    let m = marker("outlive");
    // A command that ignores SIGTERM, and a child that inherits that.
    nothing_outlives(
        &m,
        &format!("/bin/sh -c 'trap \"\" TERM; sleep 30; echo {m}' {m}"),
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_descendant_that_left_the_process_group_does_not_outlive_ebq_either() {
    let m = marker("setsid");
    nothing_outlives(
        &m,
        &format!("setsid /bin/sh -c 'sleep 30; : {m}' & sleep 30"),
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ebq_exits_with_the_commands_status() {
    let (status, _, _) = ebq_run(&["-c", "exit 7", "select pid from process_events"]);
    assert_eq!(status.code(), Some(7));
    let (status, _, _) = ebq_run(&["-c", "kill -TERM $$", "select pid from process_events"]);
    // Killed by a signal: 128 + its number, as a shell says it.
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_command_that_succeeds_in_a_run_that_lost_events_gives_3() {
    let m = marker("lostc");
    // A storm of syscalls through the smallest ring buffer.
    let storm = "dd if=/dev/zero of=/dev/null bs=1 count=300000 2>/dev/null";
    let q = "select pid, syscall from syscall_events where comm = 'dd'";
    let (status, _, err) = ebq_run(&["--buffer-size", "4K", "-c", &format!("{storm}; : {m}"), q]);
    assert!(err.contains("events were lost"), "{err}");
    assert_eq!(status.code(), Some(3), "{err}");
    // A failing command's own status comes first.
    let (status, _, err) = ebq_run(&["--buffer-size", "4K", "-c", &format!("{storm}; exit 5"), q]);
    assert!(err.contains("events were lost"), "{err}");
    assert_eq!(status.code(), Some(5), "{err}");
}

#[test]
fn a_thread_id_is_refused_with_its_process() {
    let mut target = Command::new(threads_helper())
        .args(["thread-exec", "/bin/true"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("helper");
    let pid = target.id();
    // Its second thread, once it exists.
    let deadline = Instant::now() + Duration::from_secs(5);
    let tid = loop {
        let tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("task dir")
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .filter(|t| *t != pid)
            .collect();
        if let Some(t) = tids.first() {
            break *t;
        }
        assert!(Instant::now() < deadline, "no second thread");
        std::thread::sleep(Duration::from_millis(10));
    };
    // -d: a build that follows the thread instead ends, and fails here.
    let out = common::ebq()
        .args([
            "-d",
            "3s",
            "-p",
            &tid.to_string(),
            "select pid from process_events",
        ])
        .output()
        .expect("ebq runs");
    let _ = target.kill();
    let _ = target.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "ebq: -p {tid} is a thread of process {pid} (threads-"
        )) && err.trim_end().ends_with(&format!("use -p {pid}")),
        "{err}"
    );
}

/// ebq copied to a name of its own (so its comm is this test's alone), in
/// a directory any user can reach.
fn ebq_named(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let bin = dir.path().join(name);
    std::fs::copy(common::bin(), &bin).expect("copy ebq");
    (dir, bin)
}

fn unshared(bin: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::require_root("unshare --pid");
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(bin)
        .args(["-o", "json"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs")
}

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn inside_a_pid_namespace_c_follows_its_command_with_host_pids() {
    let m = marker("nsc");
    let (_dir, bin) = ebq_named("ebq");
    let out = unshared(
        &bin,
        &[
            "-c",
            &format!("/bin/true {m}"),
            &format!("select pid, ns_pid, parent, cmdline from process_events where cmdline like '%{m}%'"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rows = json_lines(&out);
    let shell = row(&rows, &format!("/bin/sh -c '/bin/true {m}'"));
    let child = row(&rows, &format!("/bin/true {m}"));
    assert_eq!(child["parent"], shell["pid"], "{rows:?}");
    // Host pids in `pid`; the namespace's own (small) ones in `ns_pid`.
    for r in [shell, child] {
        let (pid, ns) = (
            r["pid"].as_u64().expect("pid"),
            r["ns_pid"].as_u64().expect("ns_pid"),
        );
        assert!(ns > 1 && ns < 100 && pid != ns, "{r}");
    }
}

/// `ebq -p $!` inside `unshare --pid --fork [--mount-proc] /bin/sh -c ...`,
/// of a `sleep` in the background: its exit row. The sleep outlasts ebq's
/// start by far on any machine: under qemu's TCG on 5.10 a start in a pid
/// namespace with the host's /proc (the pid helper loaded first, the
/// compat object's) once took over 3 s, and `-p 2` found no process.
fn p_in_a_pid_namespace(mount_proc: bool) {
    common::require_root("unshare --pid");
    let (_dir, bin) = ebq_named("ebq");
    let script = format!(
        "sleep 10 & {} -o json -p $! \"select pid, ns_pid, comm from process_exit_events\"",
        bin.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork"]);
    if mount_proc {
        cmd.arg("--mount-proc");
    }
    let out = cmd
        .args(["/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1, "{rows:?} {err}");
    assert_eq!(rows[0]["comm"], json!("sleep"));
    // sleep is the namespace's pid 2 (after sh, its pid 1).
    assert_eq!(rows[0]["ns_pid"], json!(2));
    assert_ne!(rows[0]["pid"], json!(2));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn inside_a_pid_namespace_p_takes_the_namespaces_pid() {
    p_in_a_pid_namespace(true);
}

/// `unshare --pid` alone keeps the host's /proc: -p still takes the
/// namespace's pid, as getpid() and $! give it.
#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn inside_a_pid_namespace_with_the_hosts_proc_p_takes_the_namespaces_pid() {
    p_in_a_pid_namespace(false);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn inside_a_pid_namespace_ebq_never_reports_itself() {
    let m = marker("nsself");
    // Its own name, so no other ebq of the tests matches its comm.
    let name: String = m.chars().take(15).collect();
    let (_dir, bin) = ebq_named(&name);
    let out = unshared(
        &bin,
        &[
            "-d",
            "1s",
            "--stats",
            &format!("select comm from syscall_events where comm = '{name}'"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(json_lines(&out).is_empty(), "{err}");
    assert!(err.contains("sent 0 events"), "{err}");
}
