//! bpf/selftest.bpf.c in the kernel (root only): the row header, and the
//! attach kinds no catalog table uses yet.
//!
//! The row header: the object fills it three ways in the test's own
//! thread, through BPF_PROG_TEST_RUN, and these tests hold each one to
//! what the process knows of itself and of its parent. fill_header() (the
//! current task, from helpers) and fill_header_of() (any task, from its
//! task_struct) must agree field by field on the current task and match
//! getpid(2) and the rest; fill_header_of() on current->real_parent must
//! describe the parent as its /proc files do. The run happens in the
//! test's thread, in a thread of its own, in a thread given every id
//! different (so a field read from the wrong id shows), and in a process
//! moved into a cgroup of its own (so the cgroup id is not the root's).
//!
//! The attach kinds (model/probe.rs's `Attach`), each attached through
//! kernel::load::attach, the loader's one way to attach a probe spec, and
//! held to exact counts of what the test makes happen: a uprobe and a
//! uretprobe on a function of this binary (by symbol in this process, by
//! symbol in every process, by file offset), with their cookie, process,
//! argument and return value; cgroup_skb egress and cgroup connect4 on a
//! cgroup of their own, into which a child process moves before it sends
//! datagrams; a software perf event on every CPU and on one, with its
//! period, cookie and links, and the fds its links own.
//!
//! The pid numbers (pid, tid, ppid and the parent's) are the kernel's,
//! the initial pid namespace's; in another one the tests compare them with
//! what getpid(2) and /proc say only through ns_pid, and say so.

use std::mem::MaybeUninit;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, OpenObject, ProgramInput};
use nix::time::{clock_gettime, ClockId};
use nix::unistd;

use crate::abi::selftest_skel::types::{bss, ebq_capture, ebq_header, selftest_uprobe};
use crate::abi::selftest_skel::{OpenSelftestSkel, SelftestSkel, SelftestSkelBuilder};
use crate::model::probe::{Attach, Program, UprobeTarget};

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
    let mut open = open_only(&mut storage, &["header_selftest"]);
    let cfg = &mut open
        .maps
        .rodata_data
        .as_deref_mut()
        .expect("the object's configuration (.rodata)")
        .cfg;
    cfg.capture = ebq_capture::EBQ_CAP_NSPID.0 | ebq_capture::EBQ_CAP_CREDS.0;
    cfg.kind = KIND;
    let skel = load(open);
    between();
    let before_ns = boot_ns();
    let out = skel
        .progs
        .header_selftest
        .test_run(ProgramInput::default())
        .expect("running header_selftest with BPF_PROG_TEST_RUN");
    let after_ns = boot_ns();
    assert_eq!(out.return_value, 0, "header_selftest's return value");
    let bss = seen(&skel);
    Headers {
        current: bss.hdr_current,
        of_current: bss.hdr_of_current,
        of_parent: bss.hdr_of_parent,
        before_ns,
        after_ns,
    }
}

/// Opens bpf/selftest.bpf.c with only `progs` of its programs to load.
fn open_only<'obj>(
    storage: &'obj mut MaybeUninit<OpenObject>,
    progs: &[&str],
) -> OpenSelftestSkel<'obj> {
    let mut open = SelftestSkelBuilder::default()
        .open(storage)
        .expect("opening bpf/selftest.bpf.c");
    // Its maps as this kernel takes them (what ebq's own object gets).
    let variants = super::variants::Variants::detect().expect("this kernel's variants");
    super::load::common_maps_of!(&variants, open.maps).expect("the maps for this kernel");
    open.maps
        .rodata_data
        .as_deref_mut()
        .expect("the object's configuration (.rodata)")
        .cfg
        .variants = variants.bits();
    for mut prog in open.open_object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        prog.set_autoload(progs.contains(&name.as_str()));
    }
    open
}

fn load(open: OpenSelftestSkel<'_>) -> SelftestSkel<'_> {
    open.load()
        .expect("loading bpf/selftest.bpf.c (as root, on a kernel ebq supports)")
}

/// What the object's programs wrote, as they left it.
fn seen<'a>(skel: &'a SelftestSkel<'_>) -> &'a bss {
    skel.maps.bss_data.as_deref().expect("the object's .bss")
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

/// Set in the test binary run again (run_child) by header_in_other_cgroup
/// and the cgroup attach tests: the cgroup v2 directory that process moves
/// into.
const CGROUP_ENV: &str = "EBQ_SELFTEST_CGROUP";

/// Runs `test`, a test of this module, again in a process of its own
/// (this binary, alone, with `env` set: what tells that test it is the
/// child), and returns the child's pid once it has passed. How a test has
/// another process act (move into a cgroup, call the uprobe target)
/// without moving or disturbing the other tests of this one.
fn run_child(test: &str, env: &[(&str, &str)]) -> u32 {
    let name = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    let child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "--include-ignored", "--test-threads=1"])
        .arg(format!("{name}::{test}"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running the test binary again");
    let pid = child.id();
    let out = child
        .wait_with_output()
        .expect("waiting for the test binary run again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("test result: ok. 1 passed"),
        "{test} in a process of its own ({env:?}):\n{text}"
    );
    pid
}

/// A directory removed when dropped (a cgroup: empty once its process is
/// reaped, which may take the kernel a moment).
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("could not remove {}", self.0);
    }
}

/// A cgroup of the test's own, ebq-selftest-<what>-<pid> under this
/// process's cgroup v2 directory, removed when dropped.
fn new_cgroup(what: &str) -> Removed {
    let dir = format!(
        "{}/ebq-selftest-{what}-{}",
        cgroup_dir("/proc/self"),
        std::process::id()
    );
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating the cgroup {dir}: {e}"));
    Removed(dir)
}

/// In the test binary run again with CGROUP_ENV set (run_child): moves
/// this process into that cgroup and returns it. Alone in its process, the
/// test moves no other test.
fn moved_into_cgroup() -> Option<String> {
    let dir = std::env::var_os(CGROUP_ENV)?;
    let dir = dir.to_str().expect("a UTF-8 path").to_owned();
    std::fs::write(format!("{dir}/cgroup.procs"), "0")
        .unwrap_or_else(|e| panic!("moving into {dir}: {e}"));
    Some(dir)
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn header_in_other_cgroup() {
    if let Some(dir) = moved_into_cgroup() {
        let h = run();
        check_current(&h);
        let ino = std::fs::metadata(&dir).expect("the new cgroup").ino();
        assert_eq!(h.current.cgroup_id, ino, "fill_header's cgroup_id");
        assert_eq!(h.of_current.cgroup_id, ino, "fill_header_of's cgroup_id");
        return;
    }
    let cgroup = new_cgroup("header");
    run_child("header_in_other_cgroup", &[(CGROUP_ENV, &cgroup.0)]);
}

// The attach kinds, through kernel::load::attach.

/// Attaches the program `prog` at `at` with `cookie` the way the loader
/// attaches every probe spec (kernel::load::attach), the spec built at run
/// time as a query's would be.
fn attach(skel: &SelftestSkel<'_>, prog: &'static str, at: Attach, cookie: u64) -> Vec<Link> {
    // Without attach cookies (before 5.15) the loader attaches with none.
    let cookie = cookie_here(cookie);
    let spec = Program::at(prog, at, &[], None).runs(prog, cookie);
    let p = skel
        .object()
        .progs_mut()
        .find(|p| p.name() == prog)
        .unwrap_or_else(|| panic!("{prog} is not in bpf/selftest.bpf.c"));
    crate::kernel::load::attach(&p, &spec)
        .unwrap_or_else(|e| panic!("attaching {prog} to {}: {e}", spec.attach))
}

/// The cookie a program attached with `cookie` reads on this kernel: 0
/// where there are none (the programs do not ask: variants.rs).
fn cookie_here(cookie: u64) -> u64 {
    let v = super::variants::Variants::detect().expect("this kernel's variants");
    if v.cookies {
        cookie
    } else {
        0
    }
}

/// The uprobe tests' target, a function of this binary. Only those tests
/// call it, one at a time (UPROBE_TARGET), so every call a uprobe sees is
/// one its test made.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ebq_selftest_uprobe_target(x: u64) -> u64 {
    target_value(std::hint::black_box(x))
}

/// What ebq_selftest_uprobe_target returns for `x`.
fn target_value(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}

/// Held while a test's uprobes are attached.
static UPROBE_TARGET: Mutex<()> = Mutex::new(());

/// Calls of the uprobe target a test makes, and its child.
const CALLS: u64 = 7;
const CHILD_CALLS: u64 = 5;

/// Set in the test binary run again (run_child): the calls of the uprobe
/// target it makes.
const CALLS_ENV: &str = "EBQ_SELFTEST_UPROBE_CALLS";

/// The attachments' cookies.
const ENTRY_COOKIE: u64 = 0x5e1f_0e01;
const RETURN_COOKIE: u64 = 0x5e1f_0e02;

/// Calls the uprobe target with 0, 1 ... n - 1.
fn call_target(n: u64) {
    for i in 0..n {
        std::hint::black_box(ebq_selftest_uprobe_target(std::hint::black_box(i)));
    }
}

/// In the test binary run again with CALLS_ENV set: makes those calls.
fn called_target_as_child() -> bool {
    let Some(n) = std::env::var_os(CALLS_ENV) else {
        return false;
    };
    call_target(
        n.to_str()
            .and_then(|n| n.parse().ok())
            .expect("a number of calls"),
    );
    true
}

/// This binary, as the kernel names its file.
fn this_binary() -> String {
    std::fs::read_link("/proc/self/exe")
        .expect("reading /proc/self/exe")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

fn by_symbol() -> UprobeTarget {
    UprobeTarget::Symbol("ebq_selftest_uprobe_target".into(), 0)
}

/// The uprobe target's offset in this binary's file: its address, less
/// the start of the mapping it is in, plus that mapping's offset in the
/// file (/proc/self/maps). What libbpf finds from the ELF symbols for
/// by_symbol(), found without them.
fn target_file_offset() -> u64 {
    let addr = ebq_selftest_uprobe_target as *const () as usize as u64;
    let hex = |s: &str| u64::from_str_radix(s, 16).expect("hex numbers in /proc/self/maps");
    for line in read("/proc/self/maps").lines() {
        // start-end perms offset dev inode path
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [range, _, offset, _, _, path] = fields[..] else {
            continue;
        };
        let (start, end) = range.split_once('-').expect("start-end");
        if (hex(start)..hex(end)).contains(&addr) {
            assert_eq!(path, this_binary(), "the mapping of the uprobe target");
            return addr - hex(start) + hex(offset);
        }
    }
    panic!("no mapping of the uprobe target ({addr:#x}) in /proc/self/maps");
}

/// What the uprobe and the uretprobe saw of the calls `act` made while
/// they were attached on the target (`target` of this binary, for `pid` or
/// every process), with ENTRY_COOKIE and RETURN_COOKIE.
fn uprobed(
    target: UprobeTarget,
    pid: Option<u32>,
    act: impl FnOnce(),
) -> (selftest_uprobe, selftest_uprobe) {
    let _alone = UPROBE_TARGET.lock().unwrap_or_else(PoisonError::into_inner);
    let mut storage = MaybeUninit::uninit();
    let skel = load(open_only(
        &mut storage,
        &["uprobe_selftest", "uretprobe_selftest"],
    ));
    let at = |ret| Attach::Uprobe {
        binary: this_binary().into(),
        target: target.clone(),
        pid: pid.map(|p| i32::try_from(p).expect("a pid")),
        ret,
    };
    let links = [
        attach(&skel, "uprobe_selftest", at(false), ENTRY_COOKIE),
        attach(&skel, "uretprobe_selftest", at(true), RETURN_COOKIE),
    ];
    for l in &links {
        assert_eq!(l.len(), 1, "links of one uprobe");
    }
    act();
    let b = seen(&skel);
    (b.uprobe_seen, b.uretprobe_seen)
}

/// The uprobe and the uretprobe each saw `calls` calls, with their own
/// cookie, the last one made by process `pid` with `last` (at entry) and
/// returning target_value(last) (at return).
fn check_uprobes(seen: (selftest_uprobe, selftest_uprobe), calls: u64, pid: u32, last: u64) {
    let (entry, ret) = seen;
    assert_eq!(entry.hits, calls, "the uprobe's hits ({entry:?})");
    assert_eq!(ret.hits, calls, "the uretprobe's hits ({ret:?})");
    assert_eq!(
        entry.cookie,
        cookie_here(ENTRY_COOKIE),
        "the uprobe's cookie"
    );
    assert_eq!(
        ret.cookie,
        cookie_here(RETURN_COOKIE),
        "the uretprobe's cookie"
    );
    assert_eq!(entry.value, last, "the argument the uprobe saw last");
    assert_eq!(
        ret.value,
        target_value(last),
        "the return value the uretprobe saw last"
    );
    if initial_pid_ns() {
        assert_eq!(entry.pid, u64::from(pid), "the process the uprobe saw last");
        assert_eq!(
            ret.pid,
            u64::from(pid),
            "the process the uretprobe saw last"
        );
    } else {
        eprintln!("not in the initial pid namespace: the uprobes' pid not compared");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn uprobe_by_symbol_in_one_process() {
    if called_target_as_child() {
        return;
    }
    let me = std::process::id();
    let seen = uprobed(by_symbol(), Some(me), || {
        // Another process's calls: not this process's, not counted.
        run_child(
            "uprobe_by_symbol_in_one_process",
            &[(CALLS_ENV, &CHILD_CALLS.to_string())],
        );
        call_target(CALLS);
    });
    check_uprobes(seen, CALLS, me, CALLS - 1);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn uprobe_by_symbol_in_every_process() {
    if called_target_as_child() {
        return;
    }
    let mut child = 0;
    let seen = uprobed(by_symbol(), None, || {
        call_target(CALLS);
        child = run_child(
            "uprobe_by_symbol_in_every_process",
            &[(CALLS_ENV, &CHILD_CALLS.to_string())],
        );
    });
    check_uprobes(seen, CALLS + CHILD_CALLS, child, CHILD_CALLS - 1);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn uprobe_by_file_offset() {
    let me = std::process::id();
    let seen = uprobed(UprobeTarget::Offset(target_file_offset()), Some(me), || {
        call_target(CALLS)
    });
    check_uprobes(seen, CALLS, me, CALLS - 1);
}

/// Datagrams the cgroup tests' child sends, each from a socket of its own
/// it connect()s first, and the bytes of each one's payload.
const DATAGRAMS: u64 = 6;
const PAYLOAD: usize = 100;

/// Set in the test binary run again (run_child, with CGROUP_ENV): where
/// it sends its datagrams.
const SEND_ENV: &str = "EBQ_SELFTEST_SEND_TO";

/// In the test binary run again with SEND_ENV set: moves into the cgroup
/// of CGROUP_ENV, then sends DATAGRAMS datagrams there, each from a UDP
/// socket of its own connected to it.
fn sent_as_child() -> bool {
    let Some(to) = std::env::var_os(SEND_ENV) else {
        return false;
    };
    let to = to.to_str().expect("an address").to_owned();
    moved_into_cgroup().expect("a cgroup to send from");
    for i in 0..DATAGRAMS {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
        s.connect(&to)
            .unwrap_or_else(|e| panic!("connect() {i} to {to}: {e}"));
        s.send(&[0x5e; PAYLOAD])
            .unwrap_or_else(|e| panic!("datagram {i} to {to}: {e}"));
    }
    true
}

/// What `prog`, attached (cookie 0) on a cgroup of its own
/// (ebq-selftest-<prog>), saw of a child process, the test `test` run
/// again, moved into the cgroup before it sends DATAGRAMS datagrams to a
/// socket of this process; and that socket's port. Each datagram must
/// arrive: the programs let every one through. None in that child, once
/// it has sent them.
fn in_cgroup(test: &str, prog: &'static str) -> Option<(bss, u16)> {
    if sent_as_child() {
        return None;
    }
    let cgroup = new_cgroup(prog);
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a receive timeout");
    let to = receiver.local_addr().expect("the socket's address");
    let mut storage = MaybeUninit::uninit();
    let skel = load(open_only(&mut storage, &[prog]));
    let path = Attach::Cgroup {
        path: cgroup.0.clone().into(),
    };
    let links = attach(&skel, prog, path, 0);
    assert_eq!(links.len(), 1, "links of one cgroup attachment");
    run_child(
        test,
        &[(CGROUP_ENV, &cgroup.0), (SEND_ENV, &to.to_string())],
    );
    let mut buf = [0u8; 2 * PAYLOAD];
    for i in 0..DATAGRAMS {
        let n = receiver
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("datagram {i} of {DATAGRAMS} did not arrive: {e}"));
        assert_eq!(n, PAYLOAD, "datagram {i}'s bytes");
    }
    Some((*seen(&skel), to.port()))
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn cgroup_skb_egress_in_own_cgroup() {
    let Some((b, _)) = in_cgroup("cgroup_skb_egress_in_own_cgroup", "egress_selftest") else {
        return;
    };
    // Exactly one packet per datagram: the child is alone in the cgroup,
    // sends nothing else, and nothing answers UDP on loopback.
    assert_eq!(b.egress_packets, DATAGRAMS, "egress packets");
    // Each from its IPv4 header on: 20 bytes, UDP's 8, the payload.
    assert_eq!(
        b.egress_bytes,
        DATAGRAMS * (20 + 8 + PAYLOAD as u64),
        "egress bytes"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn cgroup_connect4_in_own_cgroup() {
    let Some((b, port)) = in_cgroup("cgroup_connect4_in_own_cgroup", "connect4_selftest") else {
        return;
    };
    assert_eq!(b.connect4_calls, DATAGRAMS, "connect() calls");
    assert_eq!(
        std::net::Ipv4Addr::from(b.connect4_ip4),
        std::net::Ipv4Addr::LOCALHOST,
        "the address of the last connect()"
    );
    assert_eq!(
        b.connect4_port,
        u32::from(port),
        "the port of the last connect()"
    );
}

/// A sample every millisecond of CPU time (the software CPU clock counts
/// nanoseconds), and the attachment's cookie.
const PERIOD: u64 = 1_000_000;
const PERF_COOKIE: u64 = 0x5e1f_0e03;

/// How long a perf test keeps a CPU busy.
const SPIN: Duration = Duration::from_millis(200);

/// The software CPU clock on `cpu`, or on every CPU.
fn cpu_clock(cpu: Option<u32>) -> Attach {
    Attach::PerfEvent {
        kind: libbpf_rs::libbpf_sys::PERF_TYPE_SOFTWARE,
        config: libbpf_rs::libbpf_sys::PERF_COUNT_SW_CPU_CLOCK.into(),
        period: PERIOD,
        cpu,
    }
}

/// How many CPUs are online (/sys/devices/system/cpu/online: "0-3,6").
fn online_cpus() -> usize {
    let list = line("/sys/devices/system/cpu/online");
    let cpu = |s: &str| -> usize { s.parse().expect("a CPU number") };
    list.split(',')
        .map(|r| {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            cpu(hi) - cpu(lo) + 1
        })
        .sum()
}

/// Keeps this thread's CPU busy for `d`.
fn spin(d: Duration) {
    let end = Instant::now() + d;
    let mut n = 0u64;
    while Instant::now() < end {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Runs this thread on `cpu` only.
fn pin_to(cpu: usize) {
    // SAFETY: cpu_set_t is a plain bit mask: all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t and CPU_SET checks `cpu` against
    // its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` outlives the call, which changes the affinity of this
    // thread only (pid 0).
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    assert_eq!(
        rc,
        0,
        "running this thread on CPU {cpu}: {}",
        std::io::Error::last_os_error()
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn perf_event_on_every_cpu() {
    let mut storage = MaybeUninit::uninit();
    let skel = load(open_only(&mut storage, &["perf_event_selftest"]));
    let links = attach(&skel, "perf_event_selftest", cpu_clock(None), PERF_COOKIE);
    // One per possible CPU but those offline, which have no events.
    let possible = libbpf_rs::num_possible_cpus().expect("counting the possible CPUs");
    let online = online_cpus();
    assert!(online <= possible, "{online} CPUs online of {possible}");
    assert_eq!(links.len(), online, "links of a perf event on every CPU");
    spin(SPIN);
    let b = seen(&skel);
    assert!(b.perf_samples > 0, "no sample in {SPIN:?} of a busy CPU");
    assert_eq!(b.perf_period, PERIOD, "the sample period");
    assert_eq!(
        b.perf_cookie,
        cookie_here(PERF_COOKIE),
        "the perf event's cookie"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn perf_event_on_one_cpu() {
    let mut storage = MaybeUninit::uninit();
    let skel = load(open_only(&mut storage, &["perf_event_selftest"]));
    let links = attach(
        &skel,
        "perf_event_selftest",
        cpu_clock(Some(0)),
        PERF_COOKIE,
    );
    assert_eq!(links.len(), 1, "links of a perf event on CPU 0");
    let joined = std::thread::spawn(|| {
        pin_to(0);
        spin(SPIN);
    })
    .join();
    if let Err(e) = joined {
        std::panic::resume_unwind(e);
    }
    let b = seen(&skel);
    assert!(
        b.perf_samples_on[0] > 0,
        "no sample in {SPIN:?} of a busy CPU 0"
    );
    assert_eq!(
        b.perf_samples, b.perf_samples_on[0],
        "samples on other CPUs than 0: {:?}",
        b.perf_samples_on
    );
}

/// Set in the test binary run again (run_child): perf_event_link_owns_its_fd
/// runs there, alone.
const PERF_FD_ENV: &str = "EBQ_SELFTEST_PERF_FD";

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn perf_event_link_owns_its_fd() {
    use std::os::fd::AsRawFd as _;
    if std::env::var_os(PERF_FD_ENV).is_none() {
        // Alone in a process, no other test takes the fd number watched.
        run_child("perf_event_link_owns_its_fd", &[(PERF_FD_ENV, "1")]);
        return;
    }
    let mut storage = MaybeUninit::uninit();
    let skel = load(open_only(&mut storage, &["perf_event_selftest"]));
    let links = attach(
        &skel,
        "perf_event_selftest",
        cpu_clock(Some(0)),
        PERF_COOKIE,
    );
    // A file opened now takes the lowest free fd number: the perf event's,
    // were it closed while its link lives.
    let file = std::fs::File::open("/dev/null").expect("opening /dev/null");
    let fd = file.as_raw_fd();
    drop(links);
    // SAFETY: F_GETFD only reads the flags of a fd number.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    if !open {
        // Closed already: not to be closed again.
        std::mem::forget(file);
    }
    assert!(
        open,
        "dropping the perf event's link closed fd {fd}, a file opened after the attach: \
         the link (libbpf's bpf_link_perf) owns the perf event's fd and closes it on detach, \
         so kernel::load::attach must hand it over, not close it too"
    );
}
