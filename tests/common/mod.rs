//! Helpers for the tests that run the real ebq binary: finding it, running
//! it with root (directly when the tests run as root, through `sudo -n`
//! otherwise), waiting until its programs are attached, and collecting its
//! NDJSON rows and stderr.
//!
//! Every test that needs root (to load BPF, unshare, drop to another user,
//! read ebq's fdinfo, run bpftrace) is marked
//! `#[ignore = "needs root: cargo test -- --include-ignored, as root"]`,
//! the same words everywhere (an attribute takes no const): a plain
//! `cargo test` lists it as ignored, never as passed. Run with
//! `--include-ignored`, such a test that cannot have root fails with one
//! message (`no_root`) instead of passing having tested nothing.

#![allow(dead_code)]

pub mod funcs;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The ebq binary under test: this build's, or EBQ_TEST_BIN (to run the
/// suite against another build, such as an older one a test should fail
/// on).
pub fn bin() -> String {
    std::env::var("EBQ_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ebq").to_string())
}

/// ebq, run as a normal command (no root needed).
pub fn ebq() -> Command {
    Command::new(bin())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn sudo_works() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the running test: it needs root to do `what` and has not got it.
pub fn no_root(what: &str) -> ! {
    panic!(
        "needs root to {what}, and this test runs as uid {}: run `cargo test -- --include-ignored` as root",
        nix::unistd::geteuid()
    )
}

/// Fails the running test unless it runs as root itself: for a test that
/// does more than run ebq with root (unshares, chowns, runs processes as
/// other users, reads ebq's /proc, runs bpftrace), which sudo cannot do.
pub fn require_root(what: &str) {
    if !is_root() {
        no_root(what)
    }
}

/// Fails the running test unless `ebq_root` can run ebq with root: for a
/// test that starts processes before ebq, so that it fails before them.
pub fn require_bpf() {
    if !is_root() && !sudo_works() {
        no_root("load BPF (or passwordless sudo)")
    }
}

/// ebq with the privileges to load BPF; fails the test when it has none.
pub fn ebq_root() -> Command {
    ebq_root_env(&[])
}

/// `ebq_root` with environment variables for ebq (sudo would drop them
/// from the Command's environment: they go through env(1) instead).
pub fn ebq_root_env(env: &[(&str, &str)]) -> Command {
    if is_root() {
        let mut c = Command::new(bin());
        c.envs(env.iter().copied());
        return c;
    }
    if sudo_works() {
        let mut c = Command::new("sudo");
        c.args(["-n", "env"])
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .arg(bin());
        return c;
    }
    no_root("load BPF (or passwordless sudo)")
}

/// A string no other test or process uses.
pub fn marker(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("ebqt{}{}x{}", tag, std::process::id(), nanos)
}

/// A running ebq whose rows and stderr are collected as they come.
pub struct Running {
    child: Child,
    rows: Arc<Mutex<Vec<Value>>>,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// A message from each reader thread when its pipe reaches EOF.
    eof: std::sync::mpsc::Receiver<()>,
}

pub struct Finished {
    pub status: ExitStatus,
    pub rows: Vec<Value>,
    /// The rows as printed.
    pub lines: Vec<String>,
    pub stderr: Vec<String>,
}

impl Finished {
    /// A number from a --stats line: `stat("sent")` reads "sent N events".
    pub fn stat(&self, word: &str) -> u64 {
        for line in &self.stderr {
            let words: Vec<&str> = line.split_whitespace().collect();
            for w in words.windows(2) {
                if w[0] == word {
                    if let Ok(n) = w[1].trim_end_matches(',').parse() {
                        return n;
                    }
                }
            }
        }
        panic!("no `{word} N` in stderr: {:?}", self.stderr)
    }
}

impl Running {
    /// Starts `ebq -o json --stats ARGS` (with root, see `ebq_root`) and
    /// waits until its programs are attached.
    pub fn start(args: &[&str]) -> Running {
        Self::start_env(&[], args)
    }

    /// `start` with environment variables set for ebq.
    pub fn start_env(env: &[(&str, &str)], args: &[&str]) -> Running {
        let mut cmd = ebq_root_env(env);
        cmd.args(["-o", "json", "--stats"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("ebq starts");
        let rows = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (eof_tx, eof) = std::sync::mpsc::channel();
        {
            let rows = rows.clone();
            let lines = lines.clone();
            let eof_tx = eof_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                    rows.lock().expect("lock").push(v);
                    lines.lock().expect("lock").push(line);
                }
                let _ = eof_tx.send(());
            });
        }
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    stderr.lock().expect("lock").push(line);
                }
                let _ = eof_tx.send(());
            });
        }
        let mut r = Running {
            child,
            rows,
            lines,
            stderr,
            eof,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if r.stderr
                .lock()
                .expect("lock")
                .iter()
                .any(|l| l.contains("stats: attached"))
            {
                return r;
            }
            if let Ok(Some(status)) = r.child.try_wait() {
                panic!(
                    "ebq exited early ({status}): {:?}",
                    r.stderr.lock().expect("lock")
                );
            }
            assert!(
                Instant::now() < deadline,
                "ebq did not attach in time: {:?}",
                r.stderr.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `n` rows satisfy `pred` (or 15 s pass); returns them.
    pub fn wait_rows(&self, n: usize, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got: Vec<Value> = self
                .rows
                .lock()
                .expect("lock")
                .iter()
                .filter(|r| pred(r))
                .cloned()
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends the run with SIGTERM, as a user would, and collects everything.
    pub fn stop(self) -> Finished {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        self.finish()
    }

    /// Waits for ebq to end by itself (LIMIT, -d, -c).
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ebq did not end: {:?}", self.stderr.lock().expect("lock"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Every line ebq wrote is read: each reader thread says so at EOF
        // (a loaded machine may take a while to run them). A -c command
        // still holding ebq's stderr must not hang the test: 10 s at most.
        let deadline = Instant::now() + Duration::from_secs(10);
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.eof.recv_timeout(left).is_err() {
                break;
            }
        }
        Finished {
            status,
            rows: self.rows.lock().expect("lock").clone(),
            lines: self.lines.lock().expect("lock").clone(),
            stderr: self.stderr.lock().expect("lock").clone(),
        }
    }
}

/// Waits until `child`, an ebq run with `--stats` and its stderr piped,
/// says its programs are attached (as `Running::start` does), then drains
/// its stderr in the background; panics when it ends first or takes 30 s.
pub fn wait_attached(child: &mut Child) {
    let err = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut tx = Some(tx);
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if line.contains("stats: attached") {
                if let Some(t) = tx.take() {
                    let _ = t.send(Ok(()));
                }
            }
            lines.push(line);
        }
        if let Some(t) = tx {
            let _ = t.send(Err(lines));
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(())) => {}
        Ok(Err(lines)) => panic!("ebq ended before attaching: {lines:?}"),
        Err(e) => panic!("ebq did not attach in time: {e}"),
    }
}

/// The path the kernel resolves `p` to (symlinks followed: /bin/true is
/// /usr/bin/true on a merged-/usr system): what a row's `path` says.
pub fn real(p: &str) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

/// tests/helpers/threads.c, built (see `helper`).
pub fn threads_helper() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| helper("threads")).clone()
}

/// tests/helpers/ids.c, built (see `helper`).
pub fn ids_helper() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| helper("ids")).clone()
}

/// tests/helpers/NAME.c, built with the clang the build already needs (CC
/// overrides it), with the flags its first line names, into a directory any user can reach, once per version of
/// its source: test binaries running at once each build to a name of
/// their own and rename it into place.
pub fn helper(name: &str) -> std::path::PathBuf {
    use std::hash::{Hash, Hasher};
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/helpers/{name}.c"));
    let text = std::fs::read(&src).expect("the helper's source");
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    // And the helpers it includes (funcs_nopie.c is funcs.c built
    // otherwise): a change to one rebuilds the other.
    for inc in String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.strip_prefix("#include \"")?.strip_suffix('"'))
    {
        std::fs::read(src.with_file_name(inc))
            .expect("an included helper")
            .hash(&mut h);
    }
    let dir = std::env::temp_dir().join("ebq-test-helpers");
    std::fs::create_dir_all(&dir).expect("helper dir");
    let out = dir.join(format!("{name}-{:016x}", h.finish()));
    if out.exists() {
        return out;
    }
    // One name per build: two tests of one binary may build the same
    // helper at once, and each renames a whole file into place.
    static BUILDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("{name}.{}.{n}.tmp", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "clang".into());
    // Its flags: a first line `/* ebq-build: FLAGS */` (ci/kernels reads
    // it too), else -O1 -pthread.
    let text = String::from_utf8_lossy(&text);
    let flags: Vec<&str> = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("/* ebq-build: "))
        .and_then(|l| l.strip_suffix(" */"))
        .map_or(vec!["-O1", "-pthread"], |f| f.split_whitespace().collect());
    let status = Command::new(&cc)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .args(&flags)
        .status()
        .unwrap_or_else(|e| panic!("{cc}: {e} (./install-deps installs clang)"));
    assert!(status.success(), "building {}", src.display());
    std::fs::rename(&tmp, &out).expect("the helper in place");
    out
}

/// Rows whose `key` contains `needle`.
pub fn with(rows: &[Value], key: &str, needle: &str) -> Vec<Value> {
    rows.iter()
        .filter(|r| r[key].as_str().is_some_and(|s| s.contains(needle)))
        .cloned()
        .collect()
}

/// The cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host.
pub fn cgroup2() -> std::path::PathBuf {
    let table = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    table
        .lines()
        .find_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            (tail.split(' ').next()? == "cgroup2").then(|| std::path::PathBuf::from(point))
        })
        .expect("a cgroup2 mount (this machine has one at /sys/fs/cgroup/unified)")
}

/// A 64-hex id (a container's, to the path parser) no other test uses:
/// the tag, the test process's pid and the time.
pub fn fresh_id(tag: u8) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{tag:02x}{:030x}{:032x}", std::process::id(), nanos)
}
