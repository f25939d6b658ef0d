//! What the tables share: the columns every table has first (read from the
//! event header), and value helpers (errno and signal names). Among them
//! osquery's event-table columns: eid (the record's number within the
//! run, given at decode), uptime, and the saved and filesystem ids (suid,
//! sgid, fsuid, fsgid, read from the cred when a query reads one); ppid
//! and cid answer for parent and cgroup_id.

use super::{Column, Domain, KernelFilter};
use crate::abi::types::{ebq_capture, ebq_filter_col};
use crate::model::record::Record;
use crate::model::value::{text_from_cstr, Value};

pub const U32_MAX: i64 = u32::MAX as i64;

/// The header's capture bits, named for --explain.
pub const NSPID_CAPTURE: (u32, &str) = (ebq_capture::EBQ_CAP_NSPID.0, "namespace pid");
pub const CREDS_CAPTURE: (u32, &str) = (ebq_capture::EBQ_CAP_CREDS.0, "saved and filesystem ids");
pub const NS_CAPTURE: (u32, &str) = (ebq_capture::EBQ_CAP_NS.0, "namespace inodes");
/// The capture bits of a table with none of its own.
pub const HEADER_CAPTURES: &[(u32, &str)] = &[NSPID_CAPTURE, CREDS_CAPTURE, NS_CAPTURE];

const fn id(c: Column, slot: ebq_filter_col) -> Column {
    c.slot(slot.0, 0, U32_MAX).of_task()
}

fn col_time(r: &Record) -> Value {
    let ns = i128::from(r.hdr.ktime_ns) + r.boot_offset;
    Value::Int((ns / 1_000_000_000) as i64)
}

fn col_auid(r: &Record) -> Value {
    match r.hdr.auid {
        u32::MAX => Value::Null,
        a => Value::Int(a.into()),
    }
}

/// The columns every table has first (docs/ARCHITECTURE.md); the hidden ones added
/// for osquery's names come last, out of SELECT *.
pub const COMMON: [Column; 29] = [
    Column::int("time", "Unix time of the event, seconds", col_time).width(10),
    Column::int(
        "ntime",
        "Kernel timestamp of the event, ns since boot",
        |r| Value::Int(r.hdr.ktime_ns as i64),
    )
    .hidden()
    .width(16),
    id(
        Column::int("pid", "Process id (tgid)", |r| Value::Int(r.hdr.pid.into())),
        ebq_filter_col::EBQ_COL_PID,
    ),
    id(
        Column::int("tid", "Thread id", |r| Value::Int(r.hdr.tid.into())),
        ebq_filter_col::EBQ_COL_TID,
    ),
    Column::int(
        "ns_pid",
        "Process id in the task's own pid namespace (a container's pid)",
        |r| Value::Int(r.hdr.ns_pid.into()),
    )
    .hidden()
    .of_task()
    .capture(crate::abi::types::ebq_capture::EBQ_CAP_NSPID.0),
    id(
        Column::int(
            "parent",
            "Parent process id, from the kernel's real_parent",
            |r| Value::Int(r.hdr.ppid.into()),
        ),
        ebq_filter_col::EBQ_COL_PARENT,
    )
    .alias(&["ppid"]),
    id(
        Column::int("uid", "Real user id", |r| Value::Int(r.hdr.uid.into())),
        ebq_filter_col::EBQ_COL_UID,
    )
    .width(5),
    id(
        Column::int("gid", "Real group id", |r| Value::Int(r.hdr.gid.into())),
        ebq_filter_col::EBQ_COL_GID,
    )
    .width(5),
    id(
        Column::int("euid", "Effective user id", |r| {
            Value::Int(r.hdr.euid.into())
        }),
        ebq_filter_col::EBQ_COL_EUID,
    )
    .width(5),
    id(
        Column::int("egid", "Effective group id", |r| {
            Value::Int(r.hdr.egid.into())
        }),
        ebq_filter_col::EBQ_COL_EGID,
    )
    .width(5),
    id(
        Column::int("auid", "Login (audit) user id; NULL when unset", col_auid),
        ebq_filter_col::EBQ_COL_AUID,
    )
    .width(5),
    Column::text("comm", "Task name (comm), at most 15 bytes", |r| {
        Value::Text(text_from_cstr(&r.hdr.comm.map(|c| c as u8)))
    })
    .filter(KernelFilter::Comm)
    .of_task()
    .width(15),
    Column::int(
        "cgroup_id",
        "cgroup v2 id of the task (osquery: cid)",
        |r| Value::Int(r.hdr.cgroup_id as i64),
    )
    .slot(ebq_filter_col::EBQ_COL_CGROUP_ID.0, 0, i64::MAX)
    .of_task()
    .alias(&["cid"])
    .width(8),
    Column::int(
        "eid",
        "Event id: the record's number in the run, in ring buffer order",
        |r| Value::Int(r.eid as i64),
    )
    .hidden()
    .width(8),
    Column::int(
        "uptime",
        "Seconds since boot at the event (the kernel's boot clock)",
        |r| Value::Int((r.hdr.ktime_ns / 1_000_000_000) as i64),
    )
    .hidden(),
    cred(Column::int("suid", "Saved user id", |r| {
        Value::Int(r.hdr.suid.into())
    })),
    cred(Column::int("sgid", "Saved group id", |r| {
        Value::Int(r.hdr.sgid.into())
    })),
    cred(Column::int(
        "fsuid",
        "Filesystem user id (what file access checks use)",
        |r| Value::Int(r.hdr.fsuid.into()),
    )),
    cred(Column::int(
        "fsgid",
        "Filesystem group id (what file access checks use)",
        |r| Value::Int(r.hdr.fsgid.into()),
    )),
    container(Column::text(
        "container_id",
        "The container's full id (64 hex); NULL on the host",
        |r| text(container_of(r).map(|c| c.id.as_str())),
    ))
    .width(64),
    container(Column::text(
        "container_runtime",
        "docker, containerd, cri-o or podman, from the cgroup's path",
        |r| text(container_of(r).map(|c| c.runtime.name())),
    ))
    .width(10),
    container(Column::text(
        "container_name",
        "The container's name, from its runtime's or kubelet's files",
        |r| text(r.cgroup.as_ref().and_then(|c| c.name.as_deref())),
    ))
    .width(16),
    container(Column::text(
        "pod_name",
        "The Kubernetes pod's name, from kubelet's container logs",
        |r| text(r.cgroup.as_ref().and_then(|c| c.pod_name.as_deref())),
    ))
    .width(16),
    container(Column::text(
        "pod_namespace",
        "The Kubernetes pod's namespace, from kubelet's container logs",
        |r| text(r.cgroup.as_ref().and_then(|c| c.pod_namespace.as_deref())),
    ))
    .width(12),
    container(Column::text(
        "pod_uid",
        "The Kubernetes pod's uid, from the cgroup's path",
        |r| text(container_of(r).and_then(|c| c.pod_uid.as_deref())),
    ))
    .width(36),
    container(Column::text(
        "cgroup_path",
        "The cgroup's path in cgroup2, or in the v1 hierarchy read on a hybrid host",
        // Already in ebq's encoding (exec/containers.rs).
        |r| {
            r.cgroup
                .as_ref()
                .map_or(Value::Null, |c| Value::Text(c.path.clone()))
        },
    ))
    .width(28),
    ns(Column::int(
        "pid_ns",
        "Inode number of the task's pid namespace (ls -l /proc/PID/ns/pid)",
        |r| ns_value(r.hdr.pid_ns),
    )),
    ns(Column::int(
        "mnt_ns",
        "Inode number of the task's mount namespace (ls -l /proc/PID/ns/mnt)",
        |r| ns_value(r.hdr.mnt_ns),
    )),
    ns(Column::int(
        "net_ns",
        "Inode number of the task's network namespace (ls -l /proc/PID/ns/net)",
        |r| ns_value(r.hdr.net_ns),
    )),
];

/// A namespace inode column: read from the task only for a query that
/// reads one (EBQ_CAP_NS), filtered in userspace.
const fn ns(c: Column) -> Column {
    c.hidden()
        .of_task()
        .capture(crate::abi::types::ebq_capture::EBQ_CAP_NS.0)
        .width(10)
}

/// 0 is no namespace: an exiting task has dropped its nsproxy.
fn ns_value(inum: u32) -> Value {
    match inum {
        0 => Value::Null,
        n => Value::Int(n.into()),
    }
}

/// A column of the row's container: hidden (SELECT * stays as it was),
/// read from the cgroup userspace resolved, filtered in userspace.
const fn container(c: Column) -> Column {
    c.hidden().of_cgroup()
}

fn container_of<'r>(r: &'r Record) -> Option<&'r crate::model::container::CgroupContainer> {
    r.cgroup.as_ref().and_then(|c| c.container.as_ref())
}

/// Hostile text (paths, names from files on disk) in ebq's encoding.
fn text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| {
        Value::Text(crate::model::value::text_from_bytes(s.as_bytes()))
    })
}

/// A saved or filesystem id: read from the task's cred only for a query
/// that reads one (EBQ_CAP_CREDS), filtered in userspace.
const fn cred(c: Column) -> Column {
    c.hidden()
        .of_task()
        .capture(crate::abi::types::ebq_capture::EBQ_CAP_CREDS.0)
        .width(5)
}

/// `[COMMON..., own columns...]`: a table's column array.
macro_rules! with_common {
    ($($c:expr),* $(,)?) => {{
        use $crate::catalog::common::COMMON as C;
        [
            C[0], C[1], C[2], C[3], C[4], C[5], C[6], C[7], C[8], C[9], C[10], C[11], C[12],
            C[13], C[14], C[15], C[16], C[17], C[18], C[19], C[20], C[21], C[22], C[23],
            C[24], C[25], C[26], C[27], C[28], $($c),*
        ]
    }};
}
pub(crate) use with_common;

/// The errno name of a negative syscall return (ENOENT), NULL otherwise.
pub fn errno_name(ret: i64) -> Value {
    if ret >= 0 {
        return Value::Null;
    }
    match i32::try_from(-ret) {
        Ok(n) => {
            let name = format!("{:?}", nix::errno::Errno::from_raw(n));
            if name == "UnknownErrno" {
                Value::Text(format!("E{n}"))
            } else {
                Value::Text(name)
            }
        }
        Err(_) => Value::Text(format!("E{}", -ret)),
    }
}

/// "E" and a number, or "PREFIX" and a number: the name a column gives a
/// value it has no name for (E4000, AF_44, syscall_999).
fn numbered(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every errno name the error columns show.
fn errno_names() -> Vec<String> {
    (1..4096)
        .filter_map(|n| match errno_name(-n) {
            Value::Text(t) if !numbered(&t, "E") => Some(t),
            _ => None,
        })
        .collect()
}

/// The values of an `error` column: errno names (ENOENT), E<n> for those
/// without one.
pub const ERRNO: Domain = Domain::Fn {
    what: "an errno name",
    has: |s| numbered(s, "E") || errno_names().iter().any(|e| e == s),
    all: errno_names,
};

/// Every signal name, as signal_name shows it.
fn signal_names() -> Vec<String> {
    (1..=SIGRTMAX)
        .filter_map(|n| match signal_name(n) {
            Value::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// The values of a signal_name column.
pub const SIGNAL_NAMES: Domain = Domain::Fn {
    what: "a signal name",
    has: |s| signal_names().iter().any(|n| n == s) || numbered(s, "SIG"),
    all: signal_names,
};

/// The names a `signal` column takes (SIGKILL, KILL, sigkill, SIGRTMIN+3).
pub const SIGNAL_NUMBERS: Domain = Domain::Fn {
    what: "a signal name",
    has: |s| signal_number(s).is_some(),
    all: signal_names,
};

/// Real-time signals start at 32 in the kernel (include/uapi/asm-generic/signal.h).
const SIGRTMIN: i64 = 32;
const SIGRTMAX: i64 = 64;

/// A signal's name (SIGKILL, SIGRTMIN+3), for a number the kernel uses.
pub fn signal_name(sig: i64) -> Value {
    if let Ok(Ok(s)) = i32::try_from(sig).map(nix::sys::signal::Signal::try_from) {
        return Value::Text(s.as_str().to_string());
    }
    match sig {
        SIGRTMIN => Value::Text("SIGRTMIN".into()),
        s if s > SIGRTMIN && s <= SIGRTMAX => Value::Text(format!("SIGRTMIN+{}", s - SIGRTMIN)),
        0 => Value::Null,
        s => Value::Text(format!("SIG{s}")),
    }
}

/// The number of a signal name, as written in a query: SIGKILL, KILL or
/// sigkill; SIGRTMIN+N and SIGRTMAX-N; the aliases Linux has (SIGIOT,
/// SIGPOLL, SIGCLD, SIGUNUSED), include/uapi/asm-generic/signal.h.
pub fn signal_number(name: &str) -> Option<i64> {
    let up = name.trim().to_ascii_uppercase();
    let full = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    // An offset: digits only (no sign of its own), within the range.
    let offset = |n: &str, sign: char| -> Option<i64> {
        if n.is_empty() {
            return Some(0);
        }
        let d = n.strip_prefix(sign)?;
        if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        d.parse::<i64>().ok().filter(|o| *o <= SIGRTMAX - SIGRTMIN)
    };
    if let Some(n) = full.strip_prefix("SIGRTMIN") {
        return Some(SIGRTMIN + offset(n, '+')?);
    }
    if let Some(n) = full.strip_prefix("SIGRTMAX") {
        return Some(SIGRTMAX - offset(n, '-')?);
    }
    match full.as_str() {
        "SIGIOT" => return Some(6),
        "SIGPOLL" => return Some(29),
        "SIGCLD" => return Some(17),
        "SIGUNUSED" => return Some(31),
        _ => {}
    }
    full.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i64)
}

/// The name at `i` of a table's action list (enum order), or "unknown".
pub fn action_text(names: &[&'static str], i: u32) -> crate::model::value::Value {
    crate::model::value::Value::Text(names.get(i as usize).copied().unwrap_or("unknown").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(-2), Value::Text("ENOENT".into()));
        assert_eq!(errno_name(-13), Value::Text("EACCES".into()));
        assert_eq!(errno_name(0), Value::Null);
        assert_eq!(errno_name(-4000), Value::Text("E4000".into()));
    }

    #[test]
    fn signal_names_both_ways() {
        assert_eq!(signal_name(9), Value::Text("SIGKILL".into()));
        assert_eq!(signal_name(34), Value::Text("SIGRTMIN+2".into()));
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("usr1"), Some(10));
        assert_eq!(signal_number("SIGRTMIN+3"), Some(35));
        assert_eq!(signal_number("SIGNOPE"), None);
        for (alias, n) in [
            ("SIGIOT", 6),
            ("poll", 29),
            ("SIGCLD", 17),
            ("SIGRTMAX", 64),
            ("SIGRTMAX-2", 62),
        ] {
            assert_eq!(signal_number(alias), Some(n), "{alias}");
        }
        for bad in [
            "SIGRTMIN+-1",
            "SIGRTMIN+33",
            "SIGRTMIN+",
            "SIGRTMAX+1",
            "SIGRTMIN+ 1",
        ] {
            assert_eq!(signal_number(bad), None, "{bad}");
        }
    }
}
