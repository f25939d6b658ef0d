//! ebq with exactly the capabilities it needs, as a user other than root
//! (setpriv), and with one of them missing: it runs, or says in one line
//! which capability is missing. --explain says the same as such a user as
//! it does as root. The binary is copied where any user can run it, so this
//! holds from a checkout in any directory (one under /root, mode 0700).

mod common;

use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// The user the tests drop to (nobody).
const NOBODY: &str = "65534";

/// ebq copied into a directory anyone can enter; fails the test when it
/// cannot drop privileges (not root).
fn reachable_ebq() -> (tempfile::TempDir, std::path::PathBuf) {
    common::require_root("drop to another user");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let bin = dir.path().join("ebq");
    std::fs::copy(common::bin(), &bin).expect("copy ebq");
    // A process another test forked while the copy was open for writing
    // holds that descriptor until it execs: until then exec fails with
    // ETXTBSY. Once one exec works, none can fail so again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Command::new(&bin).arg("--version").output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => {
                r.expect("the copy of ebq runs");
                break;
            }
        }
    }
    (dir, bin)
}

/// Whether this kernel charges BPF maps to RLIMIT_MEMLOCK (before 5.11;
/// README says to raise it there, and the tests do).
fn charges_memlock() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse::<u32>().unwrap_or(0));
    (v.next().expect("major"), v.next().expect("minor")) < (5, 11)
}

/// `ebq ARGS` as nobody with exactly the capabilities `caps` ("bpf,perfmon"),
/// and the locked-memory limit raised where maps are charged to it.
fn as_nobody(bin: &std::path::Path, caps: &str, args: &[&str]) -> Output {
    let memlock = if charges_memlock() { "unlimited" } else { "" };
    as_nobody_with_memlock(bin, caps, memlock, args)
}

/// as_nobody(), with RLIMIT_MEMLOCK set to `memlock` KiB first (ulimit -l;
/// "" leaves it).
fn as_nobody_with_memlock(
    bin: &std::path::Path,
    caps: &str,
    memlock: &str,
    args: &[&str],
) -> Output {
    let set = if caps.is_empty() {
        "-all".to_string()
    } else {
        format!(
            "-all,{}",
            caps.split(',')
                .map(|c| format!("+{c}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let limit = if memlock.is_empty() {
        String::new()
    } else {
        format!("ulimit -l {memlock} && ")
    };
    Command::new("sh")
        .args(["-c", &format!("{limit}exec \"$@\""), "sh", "setpriv"])
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            &format!("--inh-caps={set}"),
            &format!("--ambient-caps={set}"),
        ])
        .arg(bin)
        .args(args)
        .env("EBQ_BTF_CACHE", "off")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv runs")
}

/// kernel.perf_event_paranoid at 2 at most while a test runs, as it was
/// after: Debian's and Ubuntu's kernels default to a level 3 of their
/// own, at which only CAP_SYS_ADMIN attaches tracepoints (README says so,
/// and ebq's error names it); at 2 the capabilities below are enough.
/// The tests that need it take turns (one restores what another needs).
struct Paranoid(
    Option<String>,
    #[allow(dead_code)] std::sync::MutexGuard<'static, ()>,
);

static PARANOID: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Paranoid {
    fn at_most_2() -> Paranoid {
        const P: &str = "/proc/sys/kernel/perf_event_paranoid";
        let turn = PARANOID.lock().unwrap_or_else(|e| e.into_inner());
        let was = std::fs::read_to_string(P).expect("perf_event_paranoid");
        if was.trim().parse::<i32>().expect("a level") <= 2 {
            return Paranoid(None, turn);
        }
        std::fs::write(P, "2").expect("set perf_event_paranoid (as root)");
        Paranoid(Some(was), turn)
    }
}

impl Drop for Paranoid {
    fn drop(&mut self) {
        if let Some(was) = &self.0 {
            let _ = std::fs::write("/proc/sys/kernel/perf_event_paranoid", was.trim());
        }
    }
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn bpf_perfmon_and_dac_read_search_are_all_ebq_needs() {
    let _paranoid = Paranoid::at_most_2();
    let (_dir, bin) = reachable_ebq();
    let m = common::marker("caps");
    let caps = "bpf,perfmon,dac_read_search";
    // Syscall tracepoints (tracefs), a resolved path, -c.
    let out = as_nobody(
        &bin,
        caps,
        &[
            "-o",
            "json",
            "-c",
            &format!("/bin/true {m}"),
            &format!(
                "select uid, path, cmdline from process_events where cmdline like '/bin/true {m}'"
            ),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        rows(&out),
        [
            json!({"uid": 65534, "path": common::real("/bin/true"), "cmdline": format!("/bin/true {m}")})
        ]
    );
    // The file table, its opens resolved at their exit.
    let out = as_nobody(
        &bin,
        caps,
        &[
            "-o",
            "json",
            "-c",
            &format!("/bin/cat /etc/hostname /nonexistent-{m} 2>/dev/null"),
            &format!("select path, error from file_events where comm = 'cat' and path in ('{}', '/nonexistent-{m}')", common::real("/etc/hostname")),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "cat failed, so did ebq: {err}");
    assert_eq!(
        rows(&out),
        [
            json!({"path": common::real("/etc/hostname"), "error": null}),
            json!({"path": format!("/nonexistent-{m}"), "error": "ENOENT"}),
        ]
    );
}

fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_missing_capability_is_named() {
    let (_dir, bin) = reachable_ebq();
    let q = "select pid from process_events";
    let err = one_line(&as_nobody(&bin, "", &["-d", "1s", q]));
    assert!(
        err.starts_with("ebq: loading BPF programs needs CAP_BPF and CAP_PERFMON, and this process lacks CAP_BPF and CAP_PERFMON"),
        "{err}"
    );
    let err = one_line(&as_nobody(&bin, "bpf", &["-d", "1s", q]));
    assert!(err.contains("lacks CAP_PERFMON:"), "{err}");
    // Syscall tracepoints need tracefs, which is root's only.
    let err = one_line(&as_nobody(&bin, "bpf,perfmon", &["-d", "1s", q]));
    assert!(
        err.starts_with("ebq: tracefs (") && err.contains("takes CAP_DAC_READ_SEARCH"),
        "{err}"
    );
    // CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as in the kernel.
    let out = as_nobody(
        &bin,
        "sys_admin",
        &["-d", "300ms", "select pid from signal_events where pid = 1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A table of raw tracepoints only does without it.
    let out = as_nobody(
        &bin,
        "bpf,perfmon",
        &["-d", "300ms", "select pid from signal_events where pid = 1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn explain_says_the_same_notes_to_any_user() {
    let (_dir, bin) = reachable_ebq();
    for q in [
        "select pid from process_events",
        "select pid, path from file_events",
        "select comm, count(*) from syscall_events group by comm",
        "select pid from signal_events",
    ] {
        let root = Command::new(&bin)
            .args(["--explain", q])
            .output()
            .expect("ebq runs");
        let nobody = as_nobody(&bin, "", &["--explain", q]);
        assert!(root.status.success() && nobody.status.success(), "{q}");
        assert_eq!(
            String::from_utf8_lossy(&nobody.stderr),
            String::from_utf8_lossy(&root.stderr),
            "{q}"
        );
        assert_eq!(nobody.stdout, root.stdout, "{q}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn check_without_privileges_says_what_it_can_and_tries_no_load() {
    let _paranoid = Paranoid::at_most_2();
    let (_dir, bin) = reachable_ebq();
    let out = as_nobody(&bin, "", &["--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    assert!(
        text.starts_with(&format!("kernel    {} (", release.trim())),
        "{text}"
    );
    // BTF is a file anyone can see; the BPF probes need privileges.
    assert!(text.contains("yes kernel BTF"), "{text}");
    assert!(text.contains("?   bpf_loop"), "{text}");
    assert!(
        text.contains("tables    not tried: loading BPF needs root"),
        "{text}"
    );
    // With them, every probe answers.
    let out = as_nobody(&bin, "bpf,perfmon,dac_read_search", &["--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("\n          ?   "), "{text}");
    assert!(text.contains(" bpf_loop "), "{text}");
    assert!(
        text.contains("process_events       loads and attaches ("),
        "{text}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_locked_memory_limit_is_named_where_maps_are_charged_to_it() {
    let (_dir, bin) = reachable_ebq();
    // 64 KiB, those kernels' default: less than the ring buffer alone.
    let out = as_nobody_with_memlock(
        &bin,
        "bpf,perfmon",
        "64",
        &["-d", "300ms", "select pid from signal_events where pid = 1"],
    );
    if charges_memlock() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
        assert_eq!(
            one_line(&out).trim_end(),
            format!(
                "ebq: this kernel ({}, before Linux 5.11) charges BPF maps to RLIMIT_MEMLOCK, here 64 KiB, which only CAP_SYS_RESOURCE may exceed: raise it for ebq (ulimit -l unlimited, or LimitMEMLOCK=infinity in its unit) or add CAP_SYS_RESOURCE",
                release.trim()
            )
        );
    } else {
        // Charged to the memory cgroup instead: the limit is no matter.
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
