//! End-to-end tests of oom_events: processes of the test's own allocate
//! past the limit of a memory cgroup of the test's own (the v1 memory
//! controller where it is mounted, as on our machines, else cgroup2's
//! memory.max), and the OOM killer's victim is a row with its pid, comm
//! and memory, and with the process whose allocation ran the killer.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Running;
use serde_json::json;

/// A memory cgroup of the test's own, limited to `limit` bytes and without
/// swap, removed when dropped.
struct MemCgroup {
    dir: PathBuf,
}

impl MemCgroup {
    fn new(tag: &str, limit: u64) -> MemCgroup {
        common::require_root("make a memory cgroup");
        let v1 = PathBuf::from("/sys/fs/cgroup/memory");
        let name = common::marker(tag);
        if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).expect("a v1 memory cgroup");
            std::fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).expect("limit");
            // No swap to spill into (where swap is accounted at all).
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                std::fs::write(memsw, limit.to_string()).expect("memsw limit");
            }
            return MemCgroup { dir };
        }
        let root = common::cgroup2();
        let controllers =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        assert!(
            controllers.split_whitespace().any(|c| c == "memory"),
            "no memory controller: neither v1's at {} nor cgroup2's at {}",
            v1.display(),
            root.display()
        );
        let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory");
        let dir = root.join(&name);
        std::fs::create_dir(&dir).expect("a cgroup2 cgroup");
        std::fs::write(dir.join("memory.max"), limit.to_string()).expect("memory.max");
        let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        MemCgroup { dir }
    }

    /// Starts the hog helper with `args`, in this cgroup, before it
    /// allocates anything.
    fn hog(&self, args: &[&str]) -> Child {
        let mut child = Command::new(common::helper("hog"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("hog starts");
        std::fs::write(self.dir.join("cgroup.procs"), child.id().to_string())
            .expect("into the cgroup");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"x")
            .expect("go");
        child
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        // Its processes are dead by now (killed, and reaped by the test).
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The comm of a helper binary: its file name, cut to 15 bytes.
fn comm_of(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    name.chars().take(15).collect()
}

/// Whether `child` ends by SIGKILL within 30 s (killed by the test after
/// that, and false).
/// The figures of the kernel's own line for the kill of `pid` ("Killed
/// process PID (comm) total-vm:NkB, anon-rss:NkB, file-rss:NkB,
/// shmem-rss:NkB, UID:N pgtables:NkB oom_score_adj:N", mm/oom_kill.c),
/// read from /dev/kmsg, by name: what the row must say.
fn kernel_line(pid: u32) -> std::collections::HashMap<String, i64> {
    use std::os::unix::fs::OpenOptionsExt;
    let needle = format!("Killed process {pid} (");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .expect("/dev/kmsg");
        let mut buf = vec![0u8; 8192];
        // One record per read; EAGAIN at the end, EPIPE for one overwritten.
        loop {
            match kmsg.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    if let Some(at) = rec.find(&needle) {
                        let rest = &rec[at..];
                        let rest = &rest[rest.find(") ").map_or(0, |i| i + 2)..];
                        return rest
                            .split([',', ' '])
                            .filter_map(|f| {
                                let (k, v) = f.trim().split_once(':')?;
                                let v = v.trim().trim_end_matches("kB");
                                Some((k.to_string(), v.parse().ok()?))
                            })
                            .collect();
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{needle}` in /dev/kmsg"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The row's memory figures, as the kernel's line names them.
fn assert_same_figures(row: &serde_json::Value, line: &std::collections::HashMap<String, i64>) {
    for (col, name) in [
        ("total_vm", "total-vm"),
        ("anon_rss", "anon-rss"),
        ("file_rss", "file-rss"),
        ("shmem_rss", "shmem-rss"),
        ("pgtables", "pgtables"),
        ("oom_score_adj", "oom_score_adj"),
        ("uid", "UID"),
    ] {
        assert_eq!(
            row[col],
            json!(line[name]),
            "{col} of {row} against {line:?}"
        );
    }
}

fn killed(child: &mut Child) -> bool {
    use std::os::unix::process::ExitStatusExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.signal() == Some(libc::SIGKILL);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_process_past_its_cgroups_limit_is_the_victim() {
    let cg = MemCgroup::new("oom", 48 << 20);
    let ebq = Running::start(&["select pid, tid, comm, uid, trigger_pid, trigger_comm, total_vm, anon_rss, file_rss, shmem_rss, pgtables, oom_score_adj from oom_events"]);
    let mut hog = cg.hog(&[]);
    let pid = hog.id();
    assert!(killed(&mut hog), "the OOM killer ends it");
    let rows = ebq.wait_rows(1, |r| r["pid"] == json!(pid));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(rows.len(), 1, "{:?}", done.rows);
    let r = &rows[0];
    let comm = comm_of(&common::helper("hog"));
    assert_eq!(r["tid"], json!(pid));
    assert_eq!(r["comm"], json!(comm));
    assert_eq!(r["uid"], 0);
    // It ran the killer itself.
    assert_eq!(
        (&r["trigger_pid"], &r["trigger_comm"]),
        (&json!(pid), &json!(comm))
    );
    assert_eq!(r["oom_score_adj"], 0);
    // Its memory, as the kernel's own line has it; most of the limit is
    // its anonymous memory.
    assert_same_figures(r, &kernel_line(pid));
    let anon = r["anon_rss"].as_i64().expect("anon_rss");
    assert!((32 << 10..=48 << 10).contains(&anon), "{r}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn the_victim_is_not_the_process_that_ran_the_killer() {
    let cg = MemCgroup::new("oomtwo", 64 << 20);
    let ebq = Running::start(&[
        "select pid, comm, uid, trigger_pid, trigger_comm, total_vm, anon_rss, file_rss, shmem_rss, pgtables, oom_score_adj from oom_events",
    ]);
    // A big one that sits, its score raised, then a small one that asks
    // for more: the big one is killed for the small one's allocation.
    let mut big = cg.hog(&["40"]);
    let mut ready = [0u8; 1];
    big.stdout
        .take()
        .expect("stdout")
        .read_exact(&mut ready)
        .expect("allocated");
    std::fs::write(format!("/proc/{}/oom_score_adj", big.id()), "500").expect("oom_score_adj");
    let mut small = cg.hog(&[]);
    let (b, s) = (big.id(), small.id());
    assert!(killed(&mut big), "the big one is killed");
    let rows = ebq.wait_rows(1, |r| r["pid"] == json!(b));
    // Its memory freed, the small one may go on until it is killed too.
    let _ = small.kill();
    let _ = small.wait();
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(rows.len(), 1, "{:?}", done.rows);
    let r = &rows[0];
    assert_eq!(r["trigger_pid"], json!(s), "{r}");
    assert_eq!(r["oom_score_adj"], 500, "{r}");
    // The kernel's counters are caches (per thread before 6.2, per CPU
    // since), synced now and then: the row must say what the kernel's
    // own line says, which may be a little short of the 40 MiB touched.
    assert_same_figures(r, &kernel_line(b));
    let anon = r["anon_rss"].as_i64().expect("anon_rss");
    assert!((36 << 10..=64 << 10).contains(&anon), "{r}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_pid_filter_keeps_only_that_victim() {
    let cg = MemCgroup::new("oompid", 32 << 20);
    // The same kill, seen by a run without the filter: the filter is what
    // keeps it out, not a kill that was never seen.
    let all = Running::start(&["select pid from oom_events"]);
    let ebq = Running::start(&["select pid from oom_events where pid = 1"]);
    let mut hog = cg.hog(&[]);
    let pid = hog.id();
    assert!(killed(&mut hog));
    let seen = all.wait_rows(1, |r| r["pid"] == json!(pid));
    std::thread::sleep(Duration::from_millis(300));
    let (done, all) = (ebq.stop(), all.stop());
    assert_eq!(seen.len(), 1, "{:?}", all.rows);
    assert!(done.rows.is_empty(), "{:?}", done.rows);
    assert_eq!(done.stat("sent"), 0, "{:?}", done.stderr);
}
