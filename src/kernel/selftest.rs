//! The row header, checked in the kernel (root only): bpf/selftest.bpf.c
//! fills it three ways in the test's own thread, through
//! BPF_PROG_TEST_RUN, and these tests hold each one to what the process
//! knows of itself and of its parent. fill_header() (the current task,
//! from helpers) and fill_header_of() (any task, from its task_struct)
//! must agree field by field on the current task and match getpid(2) and
//! the rest; fill_header_of() on current->real_parent must describe the
//! parent as its /proc files do. The run happens in the test's thread, in
//! a thread of its own, in a thread given every id different (so a field
//! read from the wrong id shows), and in a process moved into a cgroup of
//! its own (so the cgroup id is not the root's).
//!
//! The pid numbers (pid, tid, ppid and the parent's) are the kernel's,
//! the initial pid namespace's; in another one the tests compare them with
//! what getpid(2) and /proc say only through ns_pid, and say so.

use std::mem::MaybeUninit;
use std::os::unix::fs::MetadataExt;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::ProgramInput;
use nix::time::{clock_gettime, ClockId};
use nix::unistd;

use crate::abi::selftest_skel::types::{ebq_capture, ebq_header};
use crate::abi::selftest_skel::SelftestSkelBuilder;

/// The kind every header of the test gets (cfg.kind, set before loading).
const KIND: u32 = 0x5e1f;

/// The three headers of one run.
struct Headers {
    /// fill_header() of the current task.
    current: ebq_header,
    /// fill_header_of() of the current task.
    of_current: ebq_header,
    /// fill_header_of() of current->real_parent.
    of_parent: ebq_header,
    /// CLOCK_BOOTTIME just before and just after the run, in ns.
    before_ns: u64,
    after_ns: u64,
}

fn boot_ns() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_BOOTTIME).expect("CLOCK_BOOTTIME");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// Loads bpf/selftest.bpf.c with ns_pid and the creds captured and runs its
/// program once, in the calling thread. Panics if it cannot: these tests
/// are ignored without root, never passed without running.
fn run() -> Headers {
    run_after(|| {})
}

/// run(), with `between` run in this thread after the load (as root) and
/// before the program.
fn run_after(between: impl FnOnce()) -> Headers {
    let mut storage = MaybeUninit::uninit();
    let mut open = SelftestSkelBuilder::default()
        .open(&mut storage)
        .expect("opening bpf/selftest.bpf.c");
    let cfg = &mut open
        .maps
        .rodata_data
        .as_deref_mut()
        .expect("the object's configuration (.rodata)")
        .cfg;
    cfg.capture = ebq_capture::EBQ_CAP_NSPID.0 | ebq_capture::EBQ_CAP_CREDS.0;
    cfg.kind = KIND;
    let skel = open
        .load()
        .expect("loading bpf/selftest.bpf.c (as root, on a kernel ebq supports)");
    between();
    let before_ns = boot_ns();
    let out = skel
        .progs
        .header_selftest
        .test_run(ProgramInput::default())
        .expect("running header_selftest with BPF_PROG_TEST_RUN");
    let after_ns = boot_ns();
    assert_eq!(out.return_value, 0, "header_selftest's return value");
    let bss = skel.maps.bss_data.as_deref().expect("the object's .bss");
    Headers {
        current: bss.hdr_current,
        of_current: bss.hdr_of_current,
        of_parent: bss.hdr_of_parent,
        before_ns,
        after_ns,
    }
}

fn comm(h: &ebq_header) -> String {
    let bytes: Vec<u8> = h
        .comm
        .iter()
        .map(|&c| c as u8)
        .take_while(|&c| c != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every field of a header but ktime_ns, by name, as text.
fn fields(h: &ebq_header) -> Vec<(&'static str, String)> {
    vec![
        ("cgroup_id", h.cgroup_id.to_string()),
        ("kind", h.kind.to_string()),
        ("pid", h.pid.to_string()),
        ("tid", h.tid.to_string()),
        ("ppid", h.ppid.to_string()),
        ("uid", h.uid.to_string()),
        ("gid", h.gid.to_string()),
        ("euid", h.euid.to_string()),
        ("egid", h.egid.to_string()),
        ("auid", h.auid.to_string()),
        ("ns_pid", h.ns_pid.to_string()),
        // The raw bytes: a comm not padded with zeros would differ here.
        ("comm", format!("{:?}", h.comm)),
        ("suid", h.suid.to_string()),
        ("sgid", h.sgid.to_string()),
        ("fsuid", h.fsuid.to_string()),
        ("fsgid", h.fsgid.to_string()),
    ]
}

/// fill_header() and fill_header_of() of the same task agree, ktime aside.
fn assert_agree(by_helpers: &ebq_header, by_task: &ebq_header) {
    let diff: Vec<String> = fields(by_helpers)
        .into_iter()
        .zip(fields(by_task))
        .filter(|(a, b)| a.1 != b.1)
        .map(|((name, a), (_, b))| format!("{name}: fill_header {a}, fill_header_of {b}"))
        .collect();
    assert!(
        diff.is_empty(),
        "fill_header and fill_header_of disagree on the current task:\n  {}",
        diff.join("\n  ")
    );
}

/// Each named field of `h` against the value expected, all reported.
fn assert_fields(what: &str, h: &ebq_header, expected: &[(&str, String)]) {
    let got = fields(h);
    let mut diff = Vec::new();
    for (name, want) in expected {
        let have = if *name == "comm" {
            comm(h)
        } else {
            got.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .expect("a header field")
        };
        if have != *want {
            diff.push(format!("{name}: header {have}, expected {want}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{what}:\n  {}\n(header: {h:?})",
        diff.join("\n  ")
    );
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// A one-line /proc file (comm, loginuid) without its newline.
fn line(path: &str) -> String {
    read(path).trim_end_matches('\n').to_owned()
}

/// The numbers after `key` in a /proc status file (Uid:, Gid:, PPid:, NSpid:).
fn status(path: &str, key: &str) -> Vec<String> {
    read(path)
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {path}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The inode number of a process's cgroup v2 directory (`proc` is
/// /proc/<pid> or /proc/thread-self): what its cgroup's kernfs id is, on
/// 64-bit.
fn cgroup_ino(proc: &str) -> String {
    let dir = cgroup_dir(proc);
    std::fs::metadata(&dir)
        .unwrap_or_else(|e| panic!("stat {dir}: {e}"))
        .ino()
        .to_string()
}

/// A process's cgroup v2 directory: where cgroup2 is mounted (on a hybrid
/// system /sys/fs/cgroup/unified, on a unified one /sys/fs/cgroup) and
/// the 0:: line of its /proc cgroup file.
fn cgroup_dir(proc: &str) -> String {
    let mounts = read("/proc/self/mounts");
    let root = mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"cgroup2"))
        .and_then(|f| f.get(1).map(|s| (*s).to_owned()))
        .expect("a cgroup2 mount in /proc/self/mounts");
    let cgroups = read(&format!("{proc}/cgroup"));
    let path = cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no 0:: line in {proc}/cgroup"));
    format!("{root}{}", path.trim_end_matches('/'))
}

/// Whether the kernel's pid numbers are the ones getpid(2) and /proc give.
fn initial_pid_ns() -> bool {
    !super::pidns::in_child_namespace()
}

/// The current thread as the process knows it; the pid numbers only where
/// they are the kernel's.
fn own_expected() -> Vec<(&'static str, String)> {
    let uids = status("/proc/thread-self/status", "Uid:");
    let gids = status("/proc/thread-self/status", "Gid:");
    let mut e = vec![
        ("kind", KIND.to_string()),
        ("ns_pid", unistd::getpid().to_string()),
        ("uid", unistd::getuid().to_string()),
        ("gid", unistd::getgid().to_string()),
        ("euid", unistd::geteuid().to_string()),
        ("egid", unistd::getegid().to_string()),
        ("suid", uids[2].clone()),
        ("sgid", gids[2].clone()),
        ("fsuid", uids[3].clone()),
        ("fsgid", gids[3].clone()),
        ("auid", line("/proc/thread-self/loginuid")),
        ("comm", line("/proc/thread-self/comm")),
        ("cgroup_id", cgroup_ino("/proc/thread-self")),
    ];
    if initial_pid_ns() {
        e.push(("pid", unistd::getpid().to_string()));
        e.push(("tid", unistd::gettid().to_string()));
        e.push(("ppid", unistd::getppid().to_string()));
    } else {
        eprintln!("not in the initial pid namespace: pid, tid, ppid checked through ns_pid only");
    }
    e
}

/// The run's checks on the current task, from the thread that ran it.
fn check_current(h: &Headers) {
    assert_agree(&h.current, &h.of_current);
    let expected = own_expected();
    assert_fields("fill_header, current task", &h.current, &expected);
    assert_fields("fill_header_of, current task", &h.of_current, &expected);
    for (name, t) in [
        ("fill_header", h.current.ktime_ns),
        ("fill_header_of", h.of_current.ktime_ns),
        ("fill_header_of (parent)", h.of_parent.ktime_ns),
    ] {
        assert!(
            (h.before_ns..=h.after_ns).contains(&t),
            "{name}'s ktime_ns {t} is not the boot time of the run ({}..={})",
            h.before_ns,
            h.after_ns
        );
    }
}

/// The run's checks on the parent header.
fn check_parent(h: &Headers) {
    let p = &h.of_parent;
    assert_eq!(
        p.pid, h.current.ppid,
        "fill_header_of(real_parent)'s pid is not the current task's ppid"
    );
    assert_eq!(p.kind, KIND, "the parent header's kind");
    if !initial_pid_ns() {
        eprintln!("not in the initial pid namespace: the parent not compared with /proc");
        return;
    }
    let ppid = unistd::getppid();
    // real_parent is the thread that forked us (or took us over): its
    // comm and creds are that thread's, the process's when it is the
    // leader.
    let task = format!("/proc/{ppid}/task/{}", p.tid);
    assert!(
        std::path::Path::new(&task).exists(),
        "the parent header's tid {} is not a thread of the parent {ppid}",
        p.tid
    );
    let uids = status(&format!("{task}/status"), "Uid:");
    let gids = status(&format!("{task}/status"), "Gid:");
    let nspid = status(&format!("/proc/{ppid}/status"), "NSpid:");
    let parent_ppid = status(&format!("{task}/status"), "PPid:");
    let expected = vec![
        ("pid", ppid.to_string()),
        ("ppid", parent_ppid[0].clone()),
        ("uid", uids[0].clone()),
        ("euid", uids[1].clone()),
        ("suid", uids[2].clone()),
        ("fsuid", uids[3].clone()),
        ("gid", gids[0].clone()),
        ("egid", gids[1].clone()),
        ("sgid", gids[2].clone()),
        ("fsgid", gids[3].clone()),
        ("ns_pid", nspid.last().expect("an NSpid number").clone()),
        ("auid", line(&format!("/proc/{ppid}/loginuid"))),
        ("comm", line(&format!("{task}/comm"))),
        ("cgroup_id", cgroup_ino(&format!("/proc/{ppid}"))),
    ];
    assert_fields("fill_header_of, parent task", p, &expected);
    if p.tid == p.pid {
        assert_eq!(
            comm(p),
            line(&format!("/proc/{ppid}/comm")),
            "the parent's comm"
        );
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_of_current_task() {
    check_current(&run());
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_of_parent_task() {
    check_parent(&run());
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_of_spawned_thread() {
    const NAME: &str = "ebq-selftest-t";
    let joined = std::thread::Builder::new()
        .name(NAME.into())
        .spawn(|| {
            let h = run();
            check_current(&h);
            check_parent(&h);
            assert_ne!(h.current.tid, h.current.pid, "a thread's tid is its pid");
            assert_eq!(comm(&h.of_current), NAME, "the thread's own comm");
        })
        .expect("spawning a thread")
        .join();
    if let Err(e) = joined {
        std::panic::resume_unwind(e);
    }
}

/// include/uapi/linux/securebits.h: set*id keeps the thread's capabilities.
const SECBIT_NO_SETUID_FIXUP: libc::c_ulong = libc::SECBIT_NO_SETUID_FIXUP as libc::c_ulong;

/// Ids of the credentials test, each one different: uid, euid, suid, fsuid.
const UIDS: [u32; 4] = [1000, 1001, 1002, 1003];
/// gid, egid, sgid, fsgid.
const GIDS: [u32; 4] = [2000, 2001, 2002, 2003];
/// Its login uid.
const AUID: u32 = 4242;

/// Gives this thread, and no other, the ids of UIDS, GIDS and AUID,
/// keeping its capabilities. Raw syscalls: glibc's set*id wrappers change
/// every thread of the process.
fn become_other_ids() {
    std::fs::write("/proc/thread-self/loginuid", AUID.to_string())
        .expect("setting this thread's login uid (/proc/thread-self/loginuid)");
    let [u, eu, su, fsu] = UIDS.map(libc::c_long::from);
    let [g, eg, sg, fsg] = GIDS.map(libc::c_long::from);
    let call = |what: &str, rc: libc::c_long| {
        assert!(rc >= 0, "{what}: {}", std::io::Error::last_os_error());
    };
    // SAFETY: prctl(PR_SET_SECUREBITS) takes plain integers and changes
    // only this thread's credentials.
    call("prctl(PR_SET_SECUREBITS)", unsafe {
        libc::prctl(libc::PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0).into()
    });
    // SAFETY: the set*id syscalls take plain integers and, called raw,
    // change only this thread's credentials. setfsuid and setfsgid return
    // the old id, never an error: status() below checks them.
    unsafe {
        call("setresgid", libc::syscall(libc::SYS_setresgid, g, eg, sg));
        libc::syscall(libc::SYS_setfsgid, fsg);
        call("setresuid", libc::syscall(libc::SYS_setresuid, u, eu, su));
        libc::syscall(libc::SYS_setfsuid, fsu);
    }
    let ids = |key| -> Vec<u32> {
        status("/proc/thread-self/status", key)
            .iter()
            .map(|v| v.parse().expect("an id"))
            .collect()
    };
    assert_eq!(ids("Uid:"), UIDS, "this thread's uids after the change");
    assert_eq!(ids("Gid:"), GIDS, "this thread's gids after the change");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_of_thread_with_other_ids() {
    // Every id different, so a field read from the wrong one shows.
    let joined = std::thread::spawn(|| {
        let h = run_after(become_other_ids);
        check_current(&h);
        check_parent(&h);
        let [uid, euid, suid, fsuid] = UIDS.map(|v| v.to_string());
        let [gid, egid, sgid, fsgid] = GIDS.map(|v| v.to_string());
        let expected = [
            ("uid", uid),
            ("euid", euid),
            ("suid", suid),
            ("fsuid", fsuid),
            ("gid", gid),
            ("egid", egid),
            ("sgid", sgid),
            ("fsgid", fsgid),
            ("auid", AUID.to_string()),
        ];
        assert_fields("fill_header, other ids", &h.current, &expected);
        assert_fields("fill_header_of, other ids", &h.of_current, &expected);
    })
    .join();
    if let Err(e) = joined {
        std::panic::resume_unwind(e);
    }
}

/// Set in the test binary header_in_other_cgroup runs again: the cgroup v2
/// directory that process moves into.
const CGROUP_ENV: &str = "EBQ_SELFTEST_CGROUP";

/// A directory removed when dropped (a cgroup: empty once its process is
/// reaped, which may take the kernel a moment).
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        eprintln!("could not remove {}", self.0);
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_in_other_cgroup() {
    if let Some(dir) = std::env::var_os(CGROUP_ENV) {
        // The test binary run again, alone: moving this process moves no
        // other test.
        let dir = dir.to_str().expect("a UTF-8 path").to_owned();
        std::fs::write(format!("{dir}/cgroup.procs"), "0")
            .unwrap_or_else(|e| panic!("moving into {dir}: {e}"));
        let h = run();
        check_current(&h);
        let ino = std::fs::metadata(&dir).expect("the new cgroup").ino();
        assert_eq!(h.current.cgroup_id, ino, "fill_header's cgroup_id");
        assert_eq!(h.of_current.cgroup_id, ino, "fill_header_of's cgroup_id");
        return;
    }
    let dir = format!(
        "{}/ebq-selftest-{}",
        cgroup_dir("/proc/self"),
        std::process::id()
    );
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating the cgroup {dir}: {e}"));
    let _removed = Removed(dir.clone());
    let name = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "--include-ignored", "--test-threads=1"])
        .arg(format!("{name}::header_in_other_cgroup"))
        .env(CGROUP_ENV, &dir)
        .output()
        .expect("running the test binary again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("test result: ok. 1 passed"),
        "the test in cgroup {dir}:\n{text}"
    );
}
