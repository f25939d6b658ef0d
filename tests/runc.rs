//! The container columns on a real container: runc (1.1, cgroupfs driver,
//! docker's v1 path `/docker/<id>`) runs a busybox rootfs this test builds,
//! and ebq, started before it, is pointed (EBQ_CONTAINER_ROOT) at a
//! directory holding docker's config.v2.json for the container's id, so
//! no docker is needed. Exact fields on process_events, file_events and
//! socket_events rows: the id, runtime and name, the pid inside the
//! container's pid namespace, paths as the container sees them.
//!
//! Needs runc and /bin/busybox (Debian's runc and busybox-static; .ci/run
//! installs them): without them the tests fail, they do not skip. Every
//! container, cgroup and directory made here is removed however a test
//! ends, and the tests take turns (each one's cgroups share `/docker`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Running;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// One test at a time: both make (and remove) `/docker` in every hierarchy.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fails the test unless runc and a static busybox are here, and it runs
/// as root (runc and the cgroups need it, not only ebq).
fn require_tools() {
    common::require_root("run a container with runc");
    let runc = Command::new("runc")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runc,
        "runc is not installed: apt-get install runc (.ci/run installs it)"
    );
    assert!(
        Path::new("/bin/busybox").is_file(),
        "/bin/busybox is missing: apt-get install busybox-static (.ci/run installs it)"
    );
}

/// Every cgroup hierarchy's mount point (the v1 controllers' and cgroup2's).
fn hierarchies() -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    table
        .lines()
        .filter_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            let fstype = tail.split(' ').next()?;
            (fstype == "cgroup" || fstype == "cgroup2").then(|| PathBuf::from(point))
        })
        .collect()
}

/// A runc container: its bundle (a busybox rootfs and config.json) in a
/// temporary directory, beside the files ebq is pointed to. Dropped, it is
/// deleted (`runc delete -f`, which also kills what is left of it), and so
/// are its cgroups and the `/docker` parents runc made for them.
struct Container {
    name: String,
    id: String,
    /// `/docker` in each hierarchy where it was not there before.
    parents: Vec<PathBuf>,
    dir: tempfile::TempDir,
}

impl Container {
    /// A bundle for a container of id `id` running `args`, with docker's
    /// config.v2.json naming it `docker_name` under `root()`.
    fn new(tag: &str, id: &str, docker_name: &str, args: &[&str]) -> Container {
        let dir = tempfile::tempdir().expect("tmp");
        let parents = hierarchies()
            .into_iter()
            .map(|h| h.join("docker"))
            .filter(|p| !p.exists())
            .collect();
        let c = Container {
            name: common::marker(tag),
            id: id.to_string(),
            parents,
            dir,
        };
        let bin = c.rootfs().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir rootfs/bin");
        std::fs::copy("/bin/busybox", bin.join("busybox")).expect("copy /bin/busybox");
        for applet in ["sh", "cat", "true", "nc"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("symlink");
        }
        let conf = c.root().join("var/lib/docker/containers").join(id);
        std::fs::create_dir_all(&conf).expect("mkdir");
        std::fs::write(
            conf.join("config.v2.json"),
            json!({"ID": id, "Name": format!("/{docker_name}")}).to_string(),
        )
        .expect("write config.v2.json");
        c.write_spec(args);
        c
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// The directory EBQ_CONTAINER_ROOT names.
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn root_env(&self) -> String {
        self.root().to_str().expect("utf-8").to_string()
    }

    /// `runc spec`'s config.json, edited: `args` with no terminal, the
    /// cgroup `/docker/<id>` (the cgroupfs driver's path, as docker gives
    /// it), the host's network (the socket test connects to the test's
    /// listener on 127.0.0.1), a writable rootfs, and the open files limit
    /// of this process (root here has no CAP_SYS_RESOURCE: runc could not
    /// raise it; the spec's other rlimits are dropped).
    fn write_spec(&self, args: &[&str]) {
        let out = Command::new("runc")
            .arg("spec")
            .arg("--bundle")
            .arg(self.dir.path())
            .output()
            .expect("runc spec");
        assert!(
            out.status.success(),
            "runc spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self.dir.path().join("config.json");
        let mut spec: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("config.json"))
                .expect("config.json is JSON");
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit into `lim`.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        assert_eq!(rc, 0, "getrlimit");
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(args);
        spec["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "hard": lim.rlim_max, "soft": lim.rlim_cur}]);
        spec["root"]["readonly"] = json!(false);
        spec["linux"]["cgroupsPath"] = json!(format!("/docker/{}", self.id));
        let ns = spec["linux"]["namespaces"]
            .as_array_mut()
            .expect("linux.namespaces");
        ns.retain(|n| n["type"] != "network");
        std::fs::write(&path, spec.to_string()).expect("write config.json");
    }

    /// Starts `runc run` in the foreground (no -d: it ends with the
    /// container), its output to a file of the bundle's directory.
    fn start(&self) -> Run {
        let out_path = self.dir.path().join("runc.out");
        let out = std::fs::File::create(&out_path).expect("runc.out");
        let err = out.try_clone().expect("dup");
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(self.dir.path())
            .arg(&self.name)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("runc run");
        Run {
            child: Some(child),
            out_path,
        }
    }

    /// Runs the container to its end; its output.
    fn run(&self) -> String {
        self.start().wait()
    }

    /// The host pid of the container's init (`runc state`).
    fn init_pid(&self) -> u32 {
        let out = Command::new("runc")
            .args(["state", &self.name])
            .output()
            .expect("runc state");
        assert!(
            out.status.success(),
            "runc state: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state: Value = serde_json::from_slice(&out.stdout).expect("runc state's JSON");
        let pid = state["pid"].as_u64().expect("runc state: pid");
        u32::try_from(pid).expect("a pid")
    }

    /// The container's cgroup in each hierarchy that has it now.
    fn cgroups(&self) -> Vec<PathBuf> {
        hierarchies()
            .into_iter()
            .map(|h| h.join("docker").join(&self.id))
            .filter(|p| p.exists())
            .collect()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for leaf in self.cgroups() {
            let _ = std::fs::remove_dir(leaf);
        }
        for p in &self.parents {
            // Not empty when another container is in it: then it stays.
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// A `runc run` under way: killed if the test ends before its `wait`
/// (the container's Drop then deletes what runc left).
struct Run {
    child: Option<std::process::Child>,
    out_path: PathBuf,
}

impl Run {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// Fails the test if runc has ended (the container never got there).
    fn still_running(&mut self) {
        let child = self.child.as_mut().expect("running");
        if let Some(s) = child.try_wait().expect("wait runc") {
            panic!("runc run ended early: {s}: {}", self.output());
        }
    }

    /// Waits for runc to end (60 s at most), fails the test unless it
    /// exits 0, and returns the container's output.
    fn wait(mut self) -> String {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait runc") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("runc run did not end in 60 s: {}", self.output());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let output = self.output();
        assert!(status.success(), "runc run: {status}: {output}");
        output
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Opens `fifo` for writing once its reader (the container, blocked in a
/// shell's `read`) has it open, 30 s at most: the container is then there
/// and waits for a line.
fn gate(fifo: &Path, run: &mut Run) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo)
        {
            Ok(f) => return f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
            Err(e) => panic!("{}: {e}", fifo.display()),
        }
        run.still_running();
        assert!(
            Instant::now() < deadline,
            "the container did not reach its gate: {}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every check of a test, each failure kept, so that one run reports all
/// of them (with their rows), not the first alone.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn eq(&mut self, what: &str, got: &Value, want: impl Into<Value>, row: &Value) {
        let want = want.into();
        if *got != want {
            self.0
                .push(format!("{what}: got {got}, want {want}\n    row: {row}"));
        }
    }

    fn ok(&mut self, what: &str, cond: bool, detail: &dyn std::fmt::Display) {
        if !cond {
            self.0.push(format!("{what}\n    {detail}"));
        }
    }

    /// The container columns of every row of container `c` named `name`.
    fn container(&mut self, what: &str, row: &Value, c: &Container, name: &str) {
        self.eq(
            &format!("{what}: container_id"),
            &row["container_id"],
            c.id.clone(),
            row,
        );
        self.eq(
            &format!("{what}: container_runtime"),
            &row["container_runtime"],
            "docker",
            row,
        );
        self.eq(
            &format!("{what}: container_name"),
            &row["container_name"],
            name,
            row,
        );
        self.eq(
            &format!("{what}: cgroup_path"),
            &row["cgroup_path"],
            format!("/docker/{}", c.id),
            row,
        );
        for k in ["pod_name", "pod_namespace", "pod_uid"] {
            self.eq(&format!("{what}: {k}"), &row[k], Value::Null, row);
        }
    }

    fn done(self) {
        assert!(
            self.0.is_empty(),
            "{} checks failed:\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

/// An ebq that is sent SIGCONT and SIGTERM if the test ends before its
/// `stop` (a panic), so none is left running, or stopped, behind.
struct Ebq(Option<Running>);

impl Ebq {
    fn start(env: &[(&str, &str)], query: &str) -> Ebq {
        Ebq(Some(Running::start_env(env, &[query])))
    }

    fn running(&self) -> &Running {
        self.0.as_ref().expect("running")
    }

    fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.running().pid() as i32), s).expect("signal ebq");
    }

    fn stop(self) -> common::Finished {
        self.signal(Signal::SIGCONT);
        self.signal(Signal::SIGTERM);
        self.finish()
    }

    /// Waits for the end of an ebq told to stop (see `stop`).
    fn finish(mut self) -> common::Finished {
        self.0.take().expect("running").finish()
    }
}

impl Drop for Ebq {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            let _ = kill(Pid::from_raw(r.pid() as i32), Signal::SIGCONT);
            let _ = r.stop();
        }
    }
}

/// A TCP listener on 127.0.0.1 that accepts and closes connections until
/// dropped, so a client's connect succeeds and it sees the end at once.
struct Listener {
    port: u16,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn new() -> Listener {
        use std::sync::atomic::{AtomicBool, Ordering};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => drop(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Listener {
            port,
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const COLS: &str =
    "cgroup_id, container_id, container_runtime, container_name, pod_name, pod_namespace, pod_uid, cgroup_path";

/// Row `i` of `rows`, or null (a missing row fails its count's check).
fn nth(rows: &[Value], i: usize) -> &Value {
    static NULL: Value = Value::Null;
    rows.get(i).unwrap_or(&NULL)
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_runc_container_has_its_columns_on_every_table() {
    require_tools();
    let _turn = turn();
    let t0 = Instant::now();
    let id = common::fresh_id(0xa7);
    let marker = common::marker("runc");
    let file = format!("/{marker}");
    let listener = Listener::new();
    // pid 1 waits at its gate (a shell's read on a fifo: no exec), so the
    // test can look at it from the host; then creates the marker file; a
    // child shell writes its pid and execs cat on the file; nc connects.
    let script = format!(
        "read -r go < /gate && echo m > {file} && \
         /bin/sh -c 'echo $$ > /child.pid; exec /bin/cat {file}' && \
         /bin/nc 127.0.0.1 {} < /dev/null",
        listener.port
    );
    let c = Container::new("runc", &id, "ebq-web", &["/bin/sh", "-c", &script]);
    let fifo = c.rootfs().join("gate");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let root = c.root_env();
    let env = [("EBQ_CONTAINER_ROOT", root.as_str())];
    let by_id = Ebq::start(
        &env,
        &format!(
            "select requested_path, ns_pid, pid_ns from process_events where container_id = '{id}'"
        ),
    );
    let files = Ebq::start(
        &env,
        &format!("select action, path, ns_pid, {COLS} from file_events where path = '{file}'"),
    );
    let socks = Ebq::start(
        &env,
        &format!(
            "select action, remote_address, remote_port, status, ns_pid, {COLS} from socket_events where action = 'connect' and remote_port = {}",
            listener.port
        ),
    );
    // The "done when" query, word for word (with the container's
    // id to pick its rows from those of other tests' containers).
    let done_when = Ebq::start(
        &env,
        "select container_name, pod_name, pid, path, container_id, pid_ns from process_events where container_id is not null",
    );
    // process_events' query last: the other ebqs' command lines hold the
    // marker too, and their execs are over before it starts.
    let procs = Ebq::start(
        &env,
        &format!(
            "select pid, parent, ns_pid, path, requested_path, argv, {COLS} from process_events where cmdline like '%{marker}%'"
        ),
    );
    let ready = t0.elapsed();
    let mut run = c.start();
    let mut gate = gate(&fifo, &mut run);
    // The container from the host: its init's cgroups, and the id of its
    // cgroup2 directory (if runc put it in one) that its rows must carry.
    let init_pid = c.init_pid();
    let proc_cgroup = std::fs::read_to_string(format!("/proc/{init_pid}/cgroup"))
        .expect("the container's /proc/PID/cgroup");
    eprintln!("container {id}, init pid {init_pid}: /proc/{init_pid}/cgroup:\n{proc_cgroup}");
    let v2 = proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a 0:: line")
        .to_string();
    // The container's pid namespace: its own processes' rows carry it.
    // runc's bootstrap (runc init re-executing itself from a memfd) may
    // be in the container's cgroup before it enters that namespace: its
    // execs are rows of the container too, and not the container's own.
    let pid_ns = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{init_pid}/ns/pid"))
            .expect("the container's pid namespace")
            .ino()
    };
    let v2_id = {
        use std::os::unix::fs::MetadataExt;
        let dir = common::cgroup2().join(v2.trim_start_matches('/'));
        std::fs::metadata(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .ino()
    };
    {
        use std::io::Write as _;
        gate.write_all(b"go\n").expect("open the gate");
    }
    drop(gate);
    let out = run.wait();
    let ran = t0.elapsed();
    let child: i64 = std::fs::read_to_string(c.rootfs().join("child.pid"))
        .expect("child.pid")
        .trim()
        .parse()
        .expect("a pid");
    assert_eq!(out, "m\n", "the container's output");

    procs.running().wait_rows(3, |_| true);
    by_id.running().wait_rows(4, |_| true);
    done_when
        .running()
        .wait_rows(4, |r| r["container_id"] == json!(id));
    files.running().wait_rows(2, |_| true);
    socks.running().wait_rows(1, |_| true);
    let waited = t0.elapsed();
    // All four told to stop at once: each takes a while to end.
    for e in [&procs, &by_id, &files, &socks, &done_when] {
        e.signal(Signal::SIGTERM);
    }
    let (procs, by_id, files, socks, done_when) = (
        procs.finish(),
        by_id.finish(),
        files.finish(),
        socks.finish(),
        done_when.finish(),
    );
    eprintln!(
        "ebq ready after {ready:?}, container done after {ran:?}, rows waited for until {waited:?}"
    );
    for (what, f) in [
        ("process_events", &procs),
        ("process_events by container_id", &by_id),
        ("file_events", &files),
        ("socket_events", &socks),
        ("container_id is not null", &done_when),
    ] {
        assert!(f.status.success(), "{what}: {:?} {:?}", f.status, f.stderr);
    }
    let (p, b, f, s) = (&procs.rows, &by_id.rows, &files.rows, &socks.rows);
    eprintln!(
        "process_events:\n{}\nby container_id:\n{}\nfile_events:\n{}\nsocket_events:\n{}",
        procs.lines.join("\n"),
        by_id.lines.join("\n"),
        files.lines.join("\n"),
        socks.lines.join("\n")
    );
    let mut k = Checks::default();
    // The kernel's part: the cgroup2 id of the container's cgroup (when
    // runc put it in one: else its v1 cgroups are all it has).
    let in_v2 = v2 == format!("/docker/{id}");
    for (what, rows) in [
        ("process_events", p),
        ("file_events", f),
        ("socket_events", s),
    ] {
        for r in rows {
            if in_v2 {
                k.eq(&format!("{what}: cgroup_id"), &r["cgroup_id"], v2_id, r);
            }
        }
    }

    // process_events: the container's init (pid 1 inside), and the child
    // shell and the cat it execs (one process: the child's pid inside).
    // Paths as the container sees them: the symlinks resolved in its root,
    // not the host's temporary directory.
    k.ok("process_events: 3 rows", p.len() == 3, &format!("{p:?}"));
    let init = nth(p, 0);
    k.eq("init: pid", &init["pid"], init_pid, init);
    k.eq("init: ns_pid", &init["ns_pid"], 1, init);
    k.eq("init: path", &init["path"], "/bin/busybox", init);
    k.eq(
        "init: requested_path",
        &init["requested_path"],
        "/bin/sh",
        init,
    );
    k.eq(
        "init: argv",
        &init["argv"],
        json!(["/bin/sh", "-c", script]),
        init,
    );
    for (i, req) in [(1, "/bin/sh"), (2, "/bin/cat")] {
        let r = nth(p, i);
        let what = format!("child's exec of {req}");
        k.eq(&format!("{what}: ns_pid"), &r["ns_pid"], child, r);
        k.eq(
            &format!("{what}: pid"),
            &r["pid"],
            nth(p, 1)["pid"].clone(),
            r,
        );
        k.ok(
            &format!("{what}: pid is the host's"),
            r["pid"] != r["ns_pid"],
            r,
        );
        k.eq(&format!("{what}: parent"), &r["parent"], init_pid, r);
        k.eq(&format!("{what}: path"), &r["path"], "/bin/busybox", r);
        k.eq(
            &format!("{what}: requested_path"),
            &r["requested_path"],
            req,
            r,
        );
    }
    for r in p {
        k.container("process_events", r, &c, "ebq-web");
    }

    // container_id = '<id>' keeps exactly the container's execs: the three
    // above and nc's (its pid inside as its connect gives it).
    let got: Vec<(Value, Value)> = b
        .iter()
        .filter(|r| r["pid_ns"] == json!(pid_ns))
        .map(|r| (r["requested_path"].clone(), r["ns_pid"].clone()))
        .collect();
    let want = vec![
        (json!("/bin/sh"), json!(1)),
        (json!("/bin/sh"), json!(child)),
        (json!("/bin/cat"), json!(child)),
        (json!("/bin/nc"), nth(s, 0)["ns_pid"].clone()),
    ];
    k.ok(
        "process_events where container_id = '<id>': the container's 4 execs",
        got == want,
        &format!("got {got:?}\n    want {want:?}"),
    );

    // container_id is not null: the same 4 execs, named, with the paths
    // the container sees; no pod (runc alone is no Kubernetes).
    let got: Vec<(Value, Value, Value, Value)> = done_when
        .rows
        .iter()
        .filter(|r| r["container_id"] == json!(id) && r["pid_ns"] == json!(pid_ns))
        .map(|r| {
            (
                r["container_name"].clone(),
                r["pod_name"].clone(),
                r["pid"].clone(),
                r["path"].clone(),
            )
        })
        .collect();
    let want = vec![
        (
            json!("ebq-web"),
            Value::Null,
            json!(init_pid),
            json!("/bin/busybox"),
        ),
        (
            json!("ebq-web"),
            Value::Null,
            nth(p, 1)["pid"].clone(),
            json!("/bin/busybox"),
        ),
        (
            json!("ebq-web"),
            Value::Null,
            nth(p, 1)["pid"].clone(),
            json!("/bin/busybox"),
        ),
        // nc, the script's last command: the shell execs it in place.
        (
            json!("ebq-web"),
            Value::Null,
            json!(init_pid),
            json!("/bin/busybox"),
        ),
    ];
    k.ok(
        "process_events where container_id is not null: the container's 4 execs",
        got == want,
        &format!("got {got:?}\n    want {want:?}"),
    );
    // And no row of the host among them.
    k.ok(
        "container_id is not null: no host row",
        done_when.rows.iter().all(|r| !r["container_id"].is_null()),
        &format!("{:?}", done_when.rows),
    );

    // file_events: pid 1's create and cat's open, the path inside the
    // container.
    k.ok("file_events: 2 rows", f.len() == 2, &format!("{f:?}"));
    for (i, action, ns_pid) in [(0, "create", 1), (1, "open", child)] {
        let r = nth(f, i);
        k.eq(
            &format!("file_events {action}: action"),
            &r["action"],
            action,
            r,
        );
        k.eq(
            &format!("file_events {action}: ns_pid"),
            &r["ns_pid"],
            ns_pid,
            r,
        );
        k.eq(
            &format!("file_events {action}: path"),
            &r["path"],
            file.clone(),
            r,
        );
    }
    for r in f {
        k.container("file_events", r, &c, "ebq-web");
    }

    // socket_events: nc's connect to the test's listener.
    k.ok("socket_events: 1 row", s.len() == 1, &format!("{s:?}"));
    let r = nth(s, 0);
    k.eq(
        "socket_events: remote_address",
        &r["remote_address"],
        "127.0.0.1",
        r,
    );
    k.eq("socket_events: status", &r["status"], "succeeded", r);
    for r in s {
        k.container("socket_events", r, &c, "ebq-web");
    }
    drop(c);
    eprintln!("took {:?}", t0.elapsed());
    k.done();
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_runc_container_gone_before_its_row_is_read_keeps_its_columns() {
    require_tools();
    let _turn = turn();
    let t0 = Instant::now();
    let id = common::fresh_id(0xb8);
    let marker = common::marker("gone");
    // One exec, and the container is over: runc removes its cgroups.
    let c = Container::new("gone", &id, "ebq-gone", &["/bin/true", &marker]);
    let root = c.root_env();
    let ebq = Ebq::start(
        &[("EBQ_CONTAINER_ROOT", root.as_str())],
        &format!(
            "select ns_pid, path, requested_path, {COLS} from process_events where cmdline like '%{marker}%'"
        ),
    );
    // ebq reads no row while the container lives (SIGSTOP; the kernel keeps
    // the events in the ring buffer): it learns of the container's cgroup,
    // made after ebq started, only once the cgroup is gone, as a loaded
    // machine's ebq may.
    ebq.signal(Signal::SIGSTOP);
    c.run();
    assert_eq!(
        c.cgroups(),
        Vec::<PathBuf>::new(),
        "runc removed the container's cgroups"
    );
    ebq.signal(Signal::SIGCONT);
    ebq.running().wait_rows(1, |_| true);
    let fin = ebq.stop();
    assert!(fin.status.success(), "{:?} {:?}", fin.status, fin.stderr);
    eprintln!("process_events:\n{}", fin.lines.join("\n"));
    let mut k = Checks::default();
    k.ok(
        "process_events: 1 row",
        fin.rows.len() == 1,
        &format!("{:?}", fin.rows),
    );
    let r = nth(&fin.rows, 0);
    k.eq("init: ns_pid", &r["ns_pid"], 1, r);
    k.eq("init: path", &r["path"], "/bin/busybox", r);
    k.eq("init: requested_path", &r["requested_path"], "/bin/true", r);
    for r in &fin.rows {
        k.container("process_events", r, &c, "ebq-gone");
    }
    drop(c);
    eprintln!("took {:?}", t0.elapsed());
    k.done();
}
