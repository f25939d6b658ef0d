//! End-to-end tests of block_io_events: direct reads and writes of known
//! sizes and offsets to a loop device of the test's own, from a thread of
//! the test's own name, with exact rows (disk, operation, rwbs, sector,
//! bytes, issuer) and the kernel's aggregation of them (biolatency,
//! bitesize). The loop device completes its requests from its worker, a
//! kernel thread: a row naming that worker instead of the test would be
//! the bystander the table must never report.

mod common;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::time::Duration;

use common::Running;
use serde_json::{json, Value};

/// include/uapi/linux/loop.h
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;

/// The major number of loop devices (include/uapi/linux/major.h).
const LOOP_MAJOR: u32 = 7;

/// A loop device over a file of the test's own, detached when dropped.
struct Loop {
    dev: File,
    minor: u32,
    _backing: tempfile::NamedTempFile,
}

impl Loop {
    fn new() -> Loop {
        common::require_root("set up a loop device");
        let backing = tempfile::NamedTempFile::new().expect("backing file");
        backing.as_file().set_len(16 << 20).expect("size");
        let ctl = File::open("/dev/loop-control")
            .expect("/dev/loop-control (the kernel's loop driver: modprobe loop)");
        // GET_FREE names the same device to every caller until one binds
        // it: this binary's tests take turns, and another process that
        // binds it first (EBUSY) sends us to the next.
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let mut tries = 0;
        let (dev, minor) = loop {
            // SAFETY: LOOP_CTL_GET_FREE takes no argument; it returns a minor.
            let minor = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
            assert!(
                minor >= 0,
                "no free loop device: {}",
                std::io::Error::last_os_error()
            );
            let path = format!("/dev/loop{minor}");
            if !std::path::Path::new(&path).exists() {
                // No devtmpfs node (a minimal guest): make one.
                let dev = libc::makedev(LOOP_MAJOR, minor as u32);
                let c = std::ffi::CString::new(path.clone()).expect("path");
                // SAFETY: mknod with a NUL-terminated path and a block device number.
                let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFBLK | 0o600, dev) };
                assert_eq!(r, 0, "mknod {path}: {}", std::io::Error::last_os_error());
            }
            let dev = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&path)
                .expect("the loop device");
            // SAFETY: LOOP_SET_FD with an open file descriptor of the backing file.
            let r =
                unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD, backing.as_file().as_raw_fd()) };
            if r == 0 {
                break (dev, minor);
            }
            let err = std::io::Error::last_os_error();
            tries += 1;
            assert!(
                err.raw_os_error() == Some(libc::EBUSY) && tries < 20,
                "LOOP_SET_FD {path}: {err}"
            );
        };
        Loop {
            dev,
            minor: minor as u32,
            _backing: backing,
        }
    }

    fn name(&self) -> String {
        format!("loop{}", self.minor)
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // SAFETY: LOOP_CLR_FD on the loop device we attached.
        unsafe { libc::ioctl(self.dev.as_raw_fd(), LOOP_CLR_FD, 0) };
    }
}

/// A buffer O_DIRECT takes: 4096-aligned.
#[repr(C, align(4096))]
struct Aligned([u8; 8192]);

/// What the I/O thread does: (write?, offset, length).
type Io = &'static [(bool, u64, usize)];

/// Does `io` on the loop device from a thread named `comm`; returns the
/// thread's id.
fn run_io(dev: &File, comm: &str, io: Io) -> i64 {
    let dev = dev.try_clone().expect("dup");
    std::thread::Builder::new()
        .name(comm.into())
        .spawn(move || {
            let mut buf = Box::new(Aligned([0x5a; 8192]));
            for &(write, off, len) in io {
                if write {
                    dev.write_all_at(&buf.0[..len], off).expect("direct write");
                } else {
                    dev.read_exact_at(&mut buf.0[..len], off)
                        .expect("direct read");
                }
            }
            // SAFETY: gettid(2) has no preconditions.
            i64::from(unsafe { libc::gettid() })
        })
        .expect("thread")
        .join()
        .expect("I/O thread")
}

const WRITES_AND_READS: Io = &[
    (true, 0, 4096),
    (true, 4096, 4096),
    (true, 8192, 4096),
    (false, 0, 8192),
    (false, 16384, 8192),
];

fn me() -> u32 {
    std::process::id()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn direct_reads_and_writes_are_rows_of_their_issuer() {
    let lo = Loop::new();
    let ebq = Running::start(&[&format!(
        "select pid, tid, comm, disk, major, minor, operation, rwbs, sector, bytes, latency, queued, error from block_io_events where major = {LOOP_MAJOR} and minor = {}",
        lo.minor
    )]);
    let tid = run_io(&lo.dev, "ebqblkio", WRITES_AND_READS);
    let rows = ebq.wait_rows(5, |_| true);
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows.len(), 5, "{:?}", done.rows);
    let expect = [
        ("write", 0, 4096),
        ("write", 8, 4096),
        ("write", 16, 4096),
        ("read", 0, 8192),
        ("read", 32, 8192),
    ];
    for (r, (op, sector, bytes)) in rows.iter().zip(expect) {
        // The issuer, not the loop worker that completed it.
        assert_eq!(r["pid"], json!(me()), "{r}");
        assert_eq!(r["tid"], json!(tid), "{r}");
        assert_eq!(r["comm"], "ebqblkio", "{r}");
        assert_eq!(r["disk"], json!(lo.name()), "{r}");
        assert_eq!(
            (&r["major"], &r["minor"]),
            (&json!(LOOP_MAJOR), &json!(lo.minor))
        );
        assert_eq!(r["operation"], op, "{r}");
        assert_eq!(r["sector"], json!(sector), "{r}");
        assert_eq!(r["bytes"], json!(bytes), "{r}");
        assert_eq!(r["error"], Value::Null, "{r}");
        assert!(r["latency"].as_i64().expect("latency") > 0, "{r}");
        assert!(
            r["queued"]
                .as_i64()
                .expect("queued: the submission was seen")
                >= 0,
            "{r}"
        );
        // A direct write is REQ_SYNC (blkdev_direct_IO); a direct read is
        // on newer kernels too.
        let rwbs = r["rwbs"].as_str().expect("rwbs");
        if op == "write" {
            assert_eq!(rwbs, "WS", "{r}");
        } else {
            assert!(rwbs == "R" || rwbs == "RS", "{r}");
        }
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn an_operation_filter_keeps_only_that_operation_in_the_kernel() {
    let lo = Loop::new();
    let q = format!(
        "select operation, bytes from block_io_events where minor = {} and major = {LOOP_MAJOR} and operation = 'read' and pid = {}",
        lo.minor,
        me()
    );
    let explain = common::ebq()
        .args(["--explain", &q])
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("operation = 'read'  kernel, exact"), "{text}");
    let ebq = Running::start(&[&q]);
    run_io(&lo.dev, "ebqblkrd", WRITES_AND_READS);
    ebq.wait_rows(2, |_| true);
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    assert_eq!(
        done.rows,
        [
            json!({"operation": "read", "bytes": 8192}),
            json!({"operation": "read", "bytes": 8192})
        ]
    );
    // The writes were dropped in the kernel: never sent.
    assert_eq!(done.stat("sent"), 2, "{:?}", done.stderr);
}

/// Asserts that `q` aggregates in the kernel, as --explain says.
fn in_the_kernel(q: &str) {
    let explain = common::ebq()
        .args(["--explain", q])
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("in the kernel (a BPF hash map"), "{text}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn bitesize_and_biolatency_aggregate_in_the_kernel() {
    let lo = Loop::new();
    let filter = format!(
        "major = {LOOP_MAJOR} and minor = {} and pid = {}",
        lo.minor,
        me()
    );
    let sizes = format!(
        "select comm, disk, count(*) as n, sum(bytes) as total, hist(bytes) as sizes from block_io_events where {filter} group by comm, disk"
    );
    let latency = format!(
        "select disk, count(*) as n, hist(latency) as lat from block_io_events where {filter} group by disk"
    );
    in_the_kernel(&sizes);
    in_the_kernel(&latency);
    let (a, b) = (Running::start(&[&sizes]), Running::start(&[&latency]));
    run_io(&lo.dev, "ebqblkagg", WRITES_AND_READS);
    std::thread::sleep(Duration::from_millis(300));
    let (a, b) = (a.stop(), b.stop());
    assert!(
        a.status.success() && b.status.success(),
        "{:?} {:?}",
        a.stderr,
        b.stderr
    );
    assert_eq!(a.rows.len(), 1, "{:?}", a.rows);
    let r = &a.rows[0];
    assert_eq!(r["comm"], "ebqblkagg");
    assert_eq!(r["disk"], json!(lo.name()));
    assert_eq!(r["n"], 5);
    assert_eq!(r["total"], 3 * 4096 + 2 * 8192);
    // Three requests in [4096, 8192), two in [8192, 16384).
    let buckets = |h: &Value| -> Vec<(i64, u64)> {
        h.as_array()
            .expect("buckets")
            .iter()
            .map(|b| {
                (
                    b["low"].as_i64().expect("low"),
                    b["count"].as_u64().expect("count"),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    };
    assert_eq!(buckets(&r["sizes"]), [(4096, 3), (8192, 2)], "{r}");
    assert_eq!(b.rows.len(), 1, "{:?}", b.rows);
    let r = &b.rows[0];
    assert_eq!((&r["disk"], &r["n"]), (&json!(lo.name()), &json!(5)));
    let lat = buckets(&r["lat"]);
    assert_eq!(lat.iter().map(|(_, n)| n).sum::<u64>(), 5, "{r}");
    assert!(lat.iter().all(|(low, _)| *low >= 1), "{r}");
    // Nothing went through the ring buffer.
    assert_eq!(a.stat("sent"), 0, "{:?}", a.stderr);
    assert_eq!(b.stat("sent"), 0, "{:?}", b.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn grouped_by_major_the_disks_groups_merge() {
    let (a, b) = (Loop::new(), Loop::new());
    let ebq = Running::start(&[&format!(
        "select major, count(*) as n from block_io_events where major = {LOOP_MAJOR} and minor in ({}, {}) and pid = {} group by major",
        a.minor,
        b.minor,
        me()
    )]);
    run_io(&a.dev, "ebqblkma", &[(true, 0, 4096), (true, 4096, 4096)]);
    run_io(&b.dev, "ebqblkmb", &[(false, 0, 4096)]);
    std::thread::sleep(Duration::from_millis(300));
    let done = ebq.stop();
    assert_eq!(done.rows, [json!({"major": LOOP_MAJOR, "n": 3})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_query_of_no_task_column_notes_no_submission() {
    let lo = Loop::new();
    let q = format!(
        "select operation, sector, bytes from block_io_events where major = {LOOP_MAJOR} and minor = {}",
        lo.minor
    );
    let explain = common::ebq()
        .args(["--explain", &q])
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    let pruned = text
        .lines()
        .find(|l| l.starts_with("pruned"))
        .unwrap_or_default();
    assert!(
        pruned.contains("block_io_start") && pruned.contains("block_bio_queue"),
        "{text}"
    );
    let ebq = Running::start(&[&q]);
    run_io(&lo.dev, "ebqblknt", WRITES_AND_READS);
    ebq.wait_rows(5, |_| true);
    std::thread::sleep(Duration::from_millis(200));
    let done = ebq.stop();
    let got: Vec<(String, i64, i64)> = done
        .rows
        .iter()
        .map(|r| {
            (
                r["operation"].as_str().expect("operation").to_string(),
                r["sector"].as_i64().expect("sector"),
                r["bytes"].as_i64().expect("bytes"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("write".to_string(), 0, 4096),
            ("write".to_string(), 8, 4096),
            ("write".to_string(), 16, 4096),
            ("read".to_string(), 0, 8192),
            ("read".to_string(), 32, 8192),
        ]
    );
}
