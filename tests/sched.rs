//! End-to-end tests of sched_events: a sleeper of the test's own wakes a
//! known number of times on a CPU two busy loops of the test's own keep
//! busy (all pinned to CPU 0), and its run-queue waits, its slices on the
//! CPU and its time blocked are rows about it (never about the task that
//! ran the tracepoint), counted exactly, in rows and in the kernel.

mod common;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Running;
use serde_json::{json, Value};

/// Sleeps of the sleeper, and their length (µs).
const SLEEPS: usize = 20;
const SLEEP_US: u64 = 20_000;

/// Pins the command's process to CPU 0 before it runs.
fn on_cpu0(cmd: &mut Command) -> &mut Command {
    // SAFETY: sched_setaffinity on the child itself, between fork and
    // exec: it allocates nothing and is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Two busy loops on CPU 0, killed when dropped.
struct Busy(Vec<Child>);

impl Busy {
    fn start() -> Busy {
        Busy(
            (0..2)
                .map(|_| {
                    on_cpu0(Command::new("sh").args(["-c", "while :; do :; done"]))
                        .spawn()
                        .expect("a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The sleeper, on CPU 0, blocked reading its stdin until `go`.
struct Sleeper {
    child: Child,
}

impl Sleeper {
    fn start() -> Sleeper {
        let child = on_cpu0(
            Command::new(common::helper("sleeper"))
                .args([SLEEPS.to_string(), SLEEP_US.to_string()])
                .stdin(Stdio::piped()),
        )
        .spawn()
        .expect("the sleeper");
        Sleeper { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets it run (after it has surely blocked in read), and waits for it.
    fn go(mut self) {
        std::thread::sleep(Duration::from_millis(200));
        self.child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"x")
            .expect("go");
        assert!(self.child.wait().expect("wait").success());
    }
}

fn count(rows: &[Value], key: &str, val: &str) -> usize {
    rows.iter().filter(|r| r[key] == val).count()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn runqlat_counts_each_wakeup_of_a_sleeper_on_a_busy_cpu() {
    common::require_bpf();
    let _busy = Busy::start();
    let s = Sleeper::start();
    let pid = s.pid();
    let ebq = Running::start(&[&format!(
        "select pid, tid, comm, action, reason, duration, cpu from sched_events where action = 'runq' and pid = {pid}"
    )]);
    s.go();
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let comm: String = common::helper("sleeper")
        .file_name()
        .expect("name")
        .to_string_lossy()
        .chars()
        .take(15)
        .collect();
    // The go and each sleep's end wake it once; a busy loop may preempt
    // it too, which is a wait of another reason.
    assert_eq!(
        count(&done.rows, "reason", "woken"),
        SLEEPS + 1,
        "{:?}",
        done.rows
    );
    for r in &done.rows {
        assert_eq!(
            (&r["pid"], &r["tid"], &r["comm"]),
            (&json!(pid), &json!(pid), &json!(comm))
        );
        assert_eq!(r["action"], "runq");
        assert_eq!(r["cpu"], 0, "pinned to CPU 0: {r}");
        assert!(r["duration"].as_i64().expect("duration") > 0, "{r}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn offcpu_and_oncpu_rows_are_about_the_sleeper() {
    common::require_bpf();
    let s = Sleeper::start();
    let pid = s.pid();
    let ebq = Running::start(&[&format!(
        "select action, reason, state, duration from sched_events where action in ('oncpu', 'offcpu') and pid = {pid}"
    )]);
    s.go();
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let off: Vec<&Value> = done
        .rows
        .iter()
        .filter(|r| r["action"] == "offcpu")
        .collect();
    // Each sleep is a time off the CPU in state S (its block in read began
    // before ebq did: not a row), about its length: the sleep's timer is
    // armed a little before the switch-out that starts the row's clock
    // (2.6 µs short of 20 ms was seen under qemu), so 90% of it at least.
    assert_eq!(off.len(), SLEEPS, "{:?}", done.rows);
    assert!(
        off.iter()
            .all(|r| r["state"] == "S" && r["reason"].is_null()),
        "{off:?}"
    );
    assert!(
        off.iter()
            .all(|r| r["duration"].as_i64().expect("duration") >= (SLEEP_US * 900) as i64),
        "{off:?}"
    );
    // Each slice on the CPU ended in a sleep, but the last, in its exit.
    let on: Vec<&Value> = done
        .rows
        .iter()
        .filter(|r| r["action"] == "oncpu" && r["reason"] == "blocked")
        .collect();
    assert_eq!(count(&done.rows, "state", "X"), 1, "{:?}", done.rows);
    assert_eq!(
        on.iter().filter(|r| r["state"] == "S").count(),
        SLEEPS,
        "{on:?}"
    );
    assert_eq!(on.last().map(|r| &r["state"]), Some(&json!("X")), "{on:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_histogram_of_the_waits_aggregates_in_the_kernel() {
    common::require_bpf();
    let _busy = Busy::start();
    let s = Sleeper::start();
    let pid = s.pid();
    let q = format!(
        "select pid, count(*) as n, hist(duration) as h from sched_events where action = 'offcpu' and pid = {pid} group by pid"
    );
    let explain = common::ebq()
        .args(["--explain", &q])
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("in the kernel (a BPF hash map"), "{text}");
    let ebq = Running::start(&[&q]);
    s.go();
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows.len(), 1, "{:?}", done.rows);
    let r = &done.rows[0];
    assert_eq!((&r["pid"], &r["n"]), (&json!(pid), &json!(SLEEPS)));
    let in_buckets: u64 = r["h"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(in_buckets, SLEEPS as u64);
    assert_eq!(done.stat("sent"), 0, "{:?}", done.stderr);
}
