//! Checks before anything is loaded, each failing with one line that says
//! what is missing and what to do: privileges (by capability), BTF, the
//! ring buffer, and tracefs, which syscall tracepoints need and which ebq
//! mounts itself when it is absent (docs/ARCHITECTURE.md: our machines boot without
//! it).
//!
//! What ebq needs, exactly: CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN,
//! which the kernel takes for both) to load and attach its programs, and
//! CAP_DAC_READ_SEARCH when the query attaches a syscall tracepoint
//! (tracefs, mode 0700, holds their ids); root has them all. Mounting
//! tracefs when it is not mounted takes CAP_SYS_ADMIN.
//!
//! --explain answers the same questions (is tracefs mounted, does this
//! kernel have a tracepoint) without any privilege, from /proc: the
//! mount table, and the kernel's symbols for the tracepoints when tracefs
//! cannot be read.

use std::path::{Path, PathBuf};

use crate::error::{Error, KernelError, Result};

const CAP_SYS_RESOURCE: u32 = 24;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

pub const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Effective capabilities of this process (CapEff in /proc/self/status).
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

fn has_cap(c: u32) -> bool {
    effective_caps() & (1 << c) != 0
}

pub fn check_privileges() -> Result<()> {
    // CAP_SYS_ADMIN stands in for both, as the kernel's bpf_capable() and
    // perfmon_capable() have it (include/linux/capability.h).
    let admin = has_cap(CAP_SYS_ADMIN);
    let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|(c, _)| !admin && !has_cap(*c))
        .map(|(_, n)| n)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Kernel(KernelError::Privileges(format!(
        "loading BPF programs needs CAP_BPF and CAP_PERFMON, and this process lacks {}: run ebq as root (sudo) or with those capabilities; ebq --explain works without",
        missing.join(" and ")
    ))))
}

/// Why perf_event_open refused a process with CAP_BPF and CAP_PERFMON but
/// not CAP_SYS_ADMIN, when that is the likely reason: Debian's and
/// Ubuntu's kernels add a level 3 to kernel.perf_event_paranoid, their
/// default, at which only CAP_SYS_ADMIN opens perf events (their patch
/// "security,perf: Allow further restriction of perf_event_open"); a
/// tracepoint's attachment is one. Upstream kernels read 3 as 2.
pub fn paranoid_blocks() -> Option<String> {
    if has_cap(CAP_SYS_ADMIN) {
        return None;
    }
    let level: i32 = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (level > 2).then(|| {
        format!(
            "kernel.perf_event_paranoid is {level}, at which this kernel (Debian's and Ubuntu's add the level) lets only CAP_SYS_ADMIN attach tracepoints: run ebq as root, or set it to 2 (sysctl kernel.perf_event_paranoid=2) for CAP_BPF and CAP_PERFMON to do"
        )
    })
}

/// Why a map was refused with EPERM, when that is RLIMIT_MEMLOCK: before
/// Linux 5.11 the kernel charges every BPF map to its user's locked
/// memory (bpf_map_charge_memlock(), kernel/bpf/syscall.c, until the memcg
/// accounting of "bpf: switch to memcg-based memory accounting"), which
/// only CAP_SYS_RESOURCE may raise past its limit: libbpf raises it for
/// root; with CAP_BPF and CAP_PERFMON alone, the ring buffer is already
/// more than the 64 KiB those kernels default to.
pub fn memlock_blocks() -> Option<String> {
    use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
    if has_cap(CAP_SYS_RESOURCE) {
        return None;
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_MEMLOCK).ok()?;
    if soft == RLIM_INFINITY {
        return None;
    }
    if !release_before(5, 11) {
        return None;
    }
    let release = super::features::release();
    Some(format!(
        "this kernel ({release}, before Linux 5.11) charges BPF maps to RLIMIT_MEMLOCK, here {} KiB, which only CAP_SYS_RESOURCE may exceed: raise it for ebq (ulimit -l unlimited, or LimitMEMLOCK=infinity in its unit) or add CAP_SYS_RESOURCE",
        soft / 1024
    ))
}

/// Whether the running kernel's release is older than major.minor (false
/// when it cannot be read). For what a release decides and no probe can
/// ask: how the kernel charges and checks maps.
pub fn release_before(major: u32, minor: u32) -> bool {
    let release = super::features::release();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse::<u32>().unwrap_or(0));
    match (v.next(), v.next()) {
        (Some(a), Some(b)) => (a, b) < (major, minor),
        _ => false,
    }
}

/// The oldest kernel ebq runs on, said once: the oldest one ci/kernels
/// boots and runs the tests on (Debian 11's). The programs need BTF and
/// the ring buffer of 5.8; what came later (task storage, attach cookies,
/// bpf_loop) they do without (kernel/variants.rs). README says the same.
pub const MIN_KERNEL: &str = "5.10";

pub fn check_btf() -> Result<()> {
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Ok(());
    }
    Err(Error::Kernel(KernelError::Unsupported(format!(
        "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): ebq needs Linux {MIN_KERNEL} or newer built with CONFIG_DEBUG_INFO_BTF=y"
    ))))
}

pub fn check_ringbuf() -> Result<()> {
    // SAFETY: a plain libbpf probe: creates and closes a map, reads no
    // memory of ours (opts may be NULL).
    let ok = unsafe {
        libbpf_sys::libbpf_probe_bpf_map_type(libbpf_sys::BPF_MAP_TYPE_RINGBUF, std::ptr::null())
    };
    if ok == 1 {
        return Ok(());
    }
    Err(Error::Kernel(KernelError::Unsupported(format!(
        "this kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF): ebq needs Linux {MIN_KERNEL} or newer"
    ))))
}

/// Where tracefs is mounted among the places libbpf looks for it, from
/// the mount table (readable by anyone, unlike tracefs itself).
fn tracefs_mount() -> Option<PathBuf> {
    mounts().into_iter().find_map(|(point, fstype, _)| {
        (fstype == "tracefs"
            && (point == Path::new(TRACEFS) || point == Path::new(DEBUGFS_TRACING)))
        .then_some(point)
    })
}

/// Every mount of this process's mount namespace: (mount point, fstype,
/// super options: a cgroup v1 mount's name its controllers).
/// Programs that attach at the cgroup2 root (dns_events' own, and those
/// feeding socket_events' remote_name) need a cgroup2 mount: said before
/// anything is loaded.
pub fn check_cgroup2(table: &str, programs: &[crate::model::probe::Program]) -> Result<()> {
    use crate::model::probe::Attach;
    let at_root = programs
        .iter()
        .find(|p| matches!(&p.attach, Attach::Cgroup { path } if path.is_empty()));
    match at_root {
        Some(p) if super::load::cgroup2_root().is_none() => Err(Error::Kernel(KernelError::Unsupported(format!(
            "{table} needs cgroup2: {} attaches at its root, and none is mounted (mount -t cgroup2 none /sys/fs/cgroup)",
            p.name
        )))),
        _ => Ok(()),
    }
}

pub fn mounts() -> Vec<(PathBuf, String, String)> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mounts(&t))
        .unwrap_or_default()
}

/// The mount points, fstypes and super options of a mountinfo table.
fn parse_mounts(table: &str) -> Vec<(PathBuf, String, String)> {
    table
        .lines()
        .filter_map(|l| {
            // mount id, parent, dev, root, mount point, options ... - fstype
            // source super-options
            let (head, tail) = l.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            let mut tail = tail.split(' ');
            let fstype = tail.next()?;
            let options = tail.nth(1).unwrap_or("");
            Some((
                PathBuf::from(unescape(point)),
                fstype.to_string(),
                unescape(options),
            ))
        })
        .collect()
}

/// A mountinfo field with its \ooo escapes (space, tab, newline, \) undone
/// (proc_pid_mountinfo(5)).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Makes sure tracefs is reachable where libbpf looks for tracepoint ids;
/// returns a note when ebq had to mount it.
pub fn ensure_tracefs() -> Result<Option<String>> {
    if let Some(dir) = tracefs_mount() {
        if dir.join("events").is_dir() {
            return Ok(None);
        }
        return Err(Error::Kernel(KernelError::Privileges(format!(
            "tracefs ({}) is readable by root only, and the tracepoint ids this query needs are in it: that takes CAP_DAC_READ_SEARCH (or root)",
            dir.display()
        ))));
    }
    if Path::new(TRACEFS).join("events").is_dir()
        || Path::new(DEBUGFS_TRACING).join("events").is_dir()
    {
        return Ok(None);
    }
    nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| {
        let why = if e == nix::errno::Errno::EPERM && !has_cap(CAP_SYS_ADMIN) {
            "mounting it takes CAP_SYS_ADMIN".to_string()
        } else {
            format!("mounting it at {TRACEFS} failed ({e})")
        };
        Error::Kernel(KernelError::Privileges(format!(
            "tracefs is not mounted and {why}: mount it with `mount -t tracefs tracefs {TRACEFS}`, or run ebq as root"
        )))
    })?;
    Ok(Some(format!(
        "tracefs was not mounted: ebq mounted it at {TRACEFS}"
    )))
}

/// Whether tracefs is mounted, for --explain (which mounts nothing).
pub fn tracefs_mounted() -> bool {
    tracefs_mount().is_some()
        || Path::new(TRACEFS).join("events").is_dir()
        || Path::new(DEBUGFS_TRACING).join("events").is_dir()
}

/// Where tracefs is mounted, if it is and this process can read it.
pub fn tracing_dir() -> Option<PathBuf> {
    [TRACEFS, DEBUGFS_TRACING]
        .iter()
        .map(Path::new)
        .find(|p| p.join("events").is_dir())
        .map(Path::to_path_buf)
}

/// What --explain needs to know of the running kernel's tracepoints,
/// with or without the right to read tracefs.
pub enum Tracepoints {
    /// tracefs is readable: its events/ directory.
    Tracefs(PathBuf),
    /// It is not (not mounted, or root's only): the kernel's function
    /// symbols (/proc/kallsyms lists their names to anyone).
    Symbols(std::collections::HashSet<String>),
    /// Neither can be read.
    Unknown,
}

/// The names of the kernel's functions, from /proc/kallsyms.
fn kernel_functions() -> Option<std::collections::HashSet<String>> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
                matches!(kind, "t" | "T").then(|| name.to_string())
            })
            .collect(),
    )
}

impl Tracepoints {
    pub fn read() -> Tracepoints {
        if let Some(dir) = tracing_dir() {
            return Tracepoints::Tracefs(dir.join("events"));
        }
        kernel_functions().map_or(Tracepoints::Unknown, Tracepoints::Symbols)
    }

    /// Whether the kernel has the tracepoint "category/name"; None when
    /// it cannot be told.
    pub fn has(&self, tp: &str) -> Option<bool> {
        match self {
            Tracepoints::Tracefs(events) => Some(events.join(tp).is_dir()),
            Tracepoints::Symbols(names) => {
                let (category, event) = tp.split_once('/')?;
                match category {
                    // A syscall's tracepoints exist with the syscall: its
                    // entry point is __<arch>_sys_<name>
                    // (arch/*/include/asm/syscall_wrapper.h).
                    "syscalls" => {
                        let sys = event
                            .strip_prefix("sys_enter_")
                            .or_else(|| event.strip_prefix("sys_exit_"))?;
                        let suffix = format!("_sys_{sys}");
                        Some(names.iter().any(|n| {
                            n.strip_suffix(&suffix).is_some_and(|arch| {
                                arch.starts_with("__") && !arch[2..].contains('_')
                            })
                        }))
                    }
                    // raw_syscalls and the others: their iterator (Linux
                    // 5.10, d25e37d89dd2), or their BPF probe's function,
                    // named by the event for a TRACE_EVENT (a
                    // DEFINE_EVENT's, block_io_start's, is its class's).
                    _ => Some(
                        names.contains(&format!("__traceiter_{event}"))
                            || names.contains(&format!("__bpf_trace_{event}")),
                    ),
                }
            }
            Tracepoints::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_are_read_with_escapes_undone() {
        let table = "24 1 0:22 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                     25 1 0:23 / /sys/fs/cgroup/un\\040ified rw - cgroup2 cgroup2 rw\n\
                     garbage\n";
        assert_eq!(
            parse_mounts(table),
            [
                (
                    PathBuf::from("/sys/fs/cgroup/cpu"),
                    "cgroup".to_string(),
                    "rw,cpu".to_string()
                ),
                (
                    PathBuf::from("/sys/fs/cgroup/un ified"),
                    "cgroup2".to_string(),
                    "rw".to_string()
                ),
            ]
        );
        assert_eq!(unescape("a\\134b\\"), "a\\b\\");
    }

    #[test]
    fn the_docs_state_the_same_kernel_floor() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&format!("It needs Linux {MIN_KERNEL} or newer")),
            "README's kernel floor is not {MIN_KERNEL}"
        );
        let arch = include_str!("../../docs/ARCHITECTURE.md");
        assert!(
            arch.contains(&format!("The floor is Linux {MIN_KERNEL} with BTF")),
            "docs/ARCHITECTURE.md's kernel floor is not {MIN_KERNEL}"
        );
    }

    /// Without tracefs, --explain reads the kernel's symbols: as root,
    /// both must say the same of every tracepoint the catalog uses.
    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn the_symbols_tell_what_tracefs_tells() {
        if !nix::unistd::geteuid().is_root() {
            panic!(
                "needs root to read tracefs, and this test runs as uid {}: run `cargo test -- --include-ignored` as root",
                nix::unistd::geteuid()
            );
        }
        // Mounted as a run would mount it, when it is not yet.
        ensure_tracefs().expect("tracefs");
        let dir = tracing_dir().expect("tracefs is mounted and readable");
        let symbols = Tracepoints::Symbols(kernel_functions().expect("/proc/kallsyms"));
        let tracefs = Tracepoints::Tracefs(dir.join("events"));
        let mut seen = 0;
        for t in crate::catalog::TABLES {
            for p in t.programs {
                if let Some(tp) = p.tracepoint() {
                    assert_eq!(symbols.has(&tp), tracefs.has(&tp), "{tp}");
                    seen += 1;
                }
            }
        }
        assert!(seen > 40);
        let none = "syscalls/sys_enter_no_such_call";
        assert_eq!(symbols.has(none), Some(false));
        assert_eq!(tracefs.has(none), Some(false));
    }
}
