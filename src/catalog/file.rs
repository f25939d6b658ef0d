//! file_events: file operations by path (bpf/file.bpf.h): open/create,
//! unlink, rename, chmod, chown, mkdir, rmdir, link, symlink, truncate.
//! An open that returned an fd reports the file the kernel opened, walked
//! from its dentry; every other call (and a failed open) the path as
//! written, normalized lexically against the directory the kernel started
//! from (the task's root, cwd or dirfd, walked).
//!
//! It is osquery's process_file_events too: operation answers for action,
//! partial is always false (every field comes from the kernel at the
//! event), and what ebq does not capture per file call (executable, cwd) is
//! refused with the reason.

use super::common::{errno_name, with_common, ERRNO, U32_MAX};
use super::{Column, Domain, KernelAggSpec, KernelFilter, Program, Table, Type, RESULT_MEASURES};
use crate::abi::types::{
    ebq_agg_keys, ebq_file_action, ebq_file_capture, ebq_file_event, ebq_file_flags, ebq_file_stat,
    ebq_file_sys, ebq_filter_col,
};
use crate::model::paths::{normalize, Walked};
use crate::model::record::{Layout, Record, FIELDS_MAX};
use crate::model::value::{text_from_bytes, Value};

crate::plain_abi!(ebq_file_event);

/// A file event as the columns read it.
#[derive(Clone, Copy)]
struct File<'r> {
    e: &'r ebq_file_event,
    /// The syscall's name.
    syscall: &'static str,
    /// Walked (EBQ_FILE_PATH_WALKED), else as written.
    path: &'r [u8],
    /// The walked base of a relative path as written.
    path_base: &'r [u8],
    dest: &'r [u8],
    dest_base: &'r [u8],
    /// The path as written, when `path` is walked.
    req: &'r [u8],
}

/// Its records: struct ebq_file_event (bpf/file.h), then its paths, in
/// the order the programs write them.
const LAYOUT: Layout = Layout::of::<ebq_file_event>(|r| {
    let e = r.get::<ebq_file_event>();
    let mut lens = [0; FIELDS_MAX];
    lens[..5].copy_from_slice(&[
        e.path_len,
        e.req_len,
        e.path_base_len,
        e.dest_len,
        e.dest_base_len,
    ]);
    lens
});

fn file<'r>(r: &'r Record) -> Option<File<'r>> {
    let e: &ebq_file_event = r.get();
    let [path, req, path_base, dest, dest_base, ..] = r.fields;
    Some(File {
        e,
        syscall: syscall_name(e.syscall),
        path,
        path_base,
        dest,
        dest_base,
        req,
    })
}

fn has(f: File, flag: ebq_file_flags) -> bool {
    f.e.eflags & flag.0 != 0
}

/// The event when it carries the call's result (it came from the exit).
fn result<'r>(r: &'r Record) -> Option<File<'r>> {
    file(r).filter(|f| !has(*f, ebq_file_flags::EBQ_FILE_NO_RESULT))
}

const CAP_EXIT: u32 = ebq_file_capture::EBQ_FILE_CAP_EXIT.0;
const CAP_PATH: u32 = ebq_file_capture::EBQ_FILE_CAP_PATH.0;
const CAP_REQUESTED: u32 = ebq_file_capture::EBQ_FILE_CAP_REQUESTED.0;

/// Action names, in enum ebq_file_action order (index = value).
pub const ACTIONS: [&str; 12] = [
    "", "open", "create", "unlink", "rename", "chmod", "chown", "mkdir", "rmdir", "link",
    "symlink", "truncate",
];

/// The action names, as the column shows them.
const ACTION_NAMES: [&str; 11] = [
    "open", "create", "unlink", "rename", "chmod", "chown", "mkdir", "rmdir", "link", "symlink",
    "truncate",
];

pub fn action_bit(name: &str) -> Option<u32> {
    ACTIONS
        .iter()
        .position(|a| !a.is_empty() && *a == name)
        .map(|i| 1 << i)
}

/// A path as written, normalized against its walked base when relative.
fn lexical(path: &[u8], base: Option<&[u8]>) -> Value {
    let base = base.and_then(Walked::decode);
    Value::Text(text_from_bytes(&normalize(base.as_ref(), path)))
}

fn col_path(r: &Record) -> Value {
    match file(r) {
        Some(f) if has(f, ebq_file_flags::EBQ_FILE_HAS_PATH) => {
            if has(f, ebq_file_flags::EBQ_FILE_PATH_WALKED) {
                return Walked::decode(f.path)
                    .map_or(Value::Null, |w| Value::Text(text_from_bytes(&w.display())));
            }
            lexical(
                f.path,
                has(f, ebq_file_flags::EBQ_FILE_PATH_BASE).then_some(f.path_base),
            )
        }
        _ => Value::Null,
    }
}

fn col_requested(r: &Record) -> Value {
    match file(r) {
        Some(f) if has(f, ebq_file_flags::EBQ_FILE_HAS_PATH) => {
            if has(f, ebq_file_flags::EBQ_FILE_PATH_WALKED) {
                Value::Text(text_from_bytes(f.req))
            } else {
                Value::Text(text_from_bytes(f.path))
            }
        }
        _ => Value::Null,
    }
}

fn col_dest(r: &Record) -> Value {
    match file(r) {
        Some(f) if has(f, ebq_file_flags::EBQ_FILE_HAS_DEST) => {
            if has(f, ebq_file_flags::EBQ_FILE_DEST_RAW) {
                Value::Text(text_from_bytes(f.dest))
            } else {
                lexical(
                    f.dest,
                    has(f, ebq_file_flags::EBQ_FILE_DEST_BASE).then_some(f.dest_base),
                )
            }
        }
        _ => Value::Null,
    }
}

fn when(r: &Record, flag: ebq_file_flags, v: impl Fn(&File) -> i64) -> Value {
    match file(r) {
        Some(f) if has(f, flag) => Value::Int(v(&f)),
        _ => Value::Null,
    }
}

fn col_truncated(r: &Record) -> Value {
    match file(r) {
        Some(f) => Value::Bool(
            f.e.eflags
                & (ebq_file_flags::EBQ_FILE_TRUNC_PATH.0 | ebq_file_flags::EBQ_FILE_TRUNC_DEST.0)
                != 0,
        ),
        None => Value::Null,
    }
}

/// A chown owner of (u32)-1 leaves it unchanged: NULL.
fn owner(v: u32) -> i64 {
    if v == u32::MAX {
        -1
    } else {
        v.into()
    }
}

static FILE_COLUMNS: &[Column] = &with_common![
    Column::text(
        "action",
        "open create unlink rename chmod chown mkdir rmdir link symlink truncate",
        |r| match file(r) {
            Some(f) => Value::Text(
                ACTIONS
                    .get(f.e.action as usize)
                    .copied()
                    .unwrap_or("unknown")
                    .into()
            ),
            None => Value::Null,
        }
    )
    .filter(KernelFilter::Probe)
    .alias(&["operation"])
    .domain(Domain::List("a file action", &ACTION_NAMES))
    .width(8),
    Column::text(
        "path",
        "The file opened (resolved), else the path named, absolute; see README",
        col_path
    )
    .filter(KernelFilter::PathPrefix)
    .capture(CAP_PATH)
    .width(28),
    Column::text(
        "dest_path",
        "rename, link: the new path; symlink: the target as written",
        col_dest
    )
    .capture(CAP_PATH)
    .width(24),
    Column::text(
        "requested_path",
        "The path as the caller wrote it (symlink: the link's)",
        col_requested
    )
    .hidden()
    .capture(CAP_REQUESTED)
    .width(28),
    Column::int(
        "flags",
        "open flags (O_CREAT 64 ...), or the AT_/RENAME_ flags given",
        |r| when(r, ebq_file_flags::EBQ_FILE_HAS_FLAGS, |f| f.e.flags.into())
    )
    .width(6),
    Column::int(
        "mode",
        "Mode given to open/create, chmod, mkdir (e.g. 420 = 0644)",
        |r| when(r, ebq_file_flags::EBQ_FILE_HAS_MODE, |f| f.e.mode.into())
    )
    .width(5),
    Column::int(
        "owner_uid",
        "chown: the new owner; -1 when left unchanged",
        |r| when(r, ebq_file_flags::EBQ_FILE_HAS_OWNER, |f| owner(
            f.e.owner_uid
        ))
    )
    .hidden(),
    Column::int(
        "owner_gid",
        "chown: the new group; -1 when left unchanged",
        |r| when(r, ebq_file_flags::EBQ_FILE_HAS_OWNER, |f| owner(
            f.e.owner_gid
        ))
    )
    .hidden(),
    Column::int(
        "exit_code",
        "Return value: 0 or the fd opened, or a negative errno",
        |r| result(r).map_or(Value::Null, |f| Value::Int(f.e.exit_code))
    )
    .slot(
        ebq_filter_col::EBQ_COL_EXIT_CODE.0,
        i32::MIN as i64,
        U32_MAX
    )
    .capture(CAP_EXIT)
    .width(5),
    Column::text(
        "error",
        "errno name of a failure (ENOENT), else NULL",
        |r| result(r).map_or(Value::Null, |f| errno_name(f.e.exit_code))
    )
    .capture(CAP_EXIT)
    .domain(ERRNO)
    .width(7),
    Column::int("duration", "Time in the syscall, ns", |r| result(r)
        .map_or(Value::Null, |f| Value::Int(f.e.duration_ns as i64)))
    .capture(CAP_EXIT)
    .hidden()
    .width(9),
    Column::boolean(
        "truncated",
        "A path was longer than the kernel keeps",
        col_truncated
    )
    .hidden(),
    Column::text(
        "syscall",
        "The syscall that did it (openat, renameat2 ...)",
        |r| file(r).map_or(Value::Null, |f| Value::Text(f.syscall.into()))
    )
    .hidden()
    .domain(Domain::List("a file syscall", &FILE_SYSCALL_NAMES))
    .width(9),
    Column::boolean(
        "partial",
        "osquery's: always false (no state of ebq's predates the event)",
        |r| file(r).map_or(Value::Null, |_| Value::Bool(false))
    )
    .hidden(),
    Column::refused(
        "executable",
        Type::Text,
        "the executable is not walked per file call (process_events has it)"
    ),
    Column::refused(
        "cwd",
        Type::Text,
        "the cwd is walked only as the base of a relative path"
    ),
];

macro_rules! pairs {
    ($($name:literal $sys:ident $stat:ident [$($tag:literal),*]),* $(,)?) => {
        &[
            // Every pair is optional: the legacy calls (open, rename ...)
            // exist on x86_64 only, openat2 and fchmodat2 on newer kernels.
            $(
                // The entry reports the call itself unless the query
                // reads its result (exit_code, error, duration), or the
                // path of an open (the file it opened, known at its exit):
                // then the exit does, and only then is it attached. One
                // program, file_exit, serves every exit (its cookie names
                // the call).
                Program::new(concat!($name, "_enter"), concat!("tracepoint/syscalls/sys_enter_", $name), &[$($tag),*], Some(ebq_file_stat::EBQ_STAT_SENT_FILE.0 + ebq_file_action::$stat.0)).optional(),
                Program::new(concat!($name, "_exit"), concat!("tracepoint/syscalls/sys_exit_", $name), &[$($tag),*], Some(ebq_file_stat::EBQ_STAT_SENT_FILE.0 + ebq_file_action::$stat.0)).optional().needs_any(exit_needs(ebq_file_sys::$sys)).runs("file_exit", ebq_file_sys::$sys.0 as u64),
            )*
            Program::tail("file_report_tail", "file_tail", 0, &[]),
            // The second path of a rename, link or symlink: pruned with them.
            Program::tail("file_dest_tail", "file_tail", 1, &["rename", "link", "symlink"]),
        ]
    };
}

/// What makes a call's exit needed: its result, and for the calls that
/// return an fd (open, openat, openat2, creat) the path too.
const fn exit_needs(sys: ebq_file_sys) -> u32 {
    if sys.0 >= ebq_file_sys::EBQ_FS_OPEN.0 && sys.0 <= ebq_file_sys::EBQ_FS_CREAT.0 {
        CAP_EXIT | CAP_PATH
    } else {
        CAP_EXIT
    }
}

/// The file syscalls: their name, their number in the in-flight map (enum
/// ebq_file_sys), the action they do (enum ebq_file_action) and the values
/// of the action column that need them. One list, for the programs and
/// the syscall column.
macro_rules! file_syscalls {
    ($then:ident) => {
        $then![
    "open" EBQ_FS_OPEN EBQ_FILE_OPEN ["open", "create"],
    "openat" EBQ_FS_OPENAT EBQ_FILE_OPEN ["open", "create"],
    "openat2" EBQ_FS_OPENAT2 EBQ_FILE_OPEN ["open", "create"],
    "creat" EBQ_FS_CREAT EBQ_FILE_CREATE ["create"],
    "unlink" EBQ_FS_UNLINK EBQ_FILE_UNLINK ["unlink"],
    "unlinkat" EBQ_FS_UNLINKAT EBQ_FILE_UNLINK ["unlink", "rmdir"],
    "rename" EBQ_FS_RENAME EBQ_FILE_RENAME ["rename"],
    "renameat" EBQ_FS_RENAMEAT EBQ_FILE_RENAME ["rename"],
    "renameat2" EBQ_FS_RENAMEAT2 EBQ_FILE_RENAME ["rename"],
    "chmod" EBQ_FS_CHMOD EBQ_FILE_CHMOD ["chmod"],
    "fchmodat" EBQ_FS_FCHMODAT EBQ_FILE_CHMOD ["chmod"],
    "fchmodat2" EBQ_FS_FCHMODAT2 EBQ_FILE_CHMOD ["chmod"],
    "chown" EBQ_FS_CHOWN EBQ_FILE_CHOWN ["chown"],
    "lchown" EBQ_FS_LCHOWN EBQ_FILE_CHOWN ["chown"],
    "fchownat" EBQ_FS_FCHOWNAT EBQ_FILE_CHOWN ["chown"],
    "mkdir" EBQ_FS_MKDIR EBQ_FILE_MKDIR ["mkdir"],
    "mkdirat" EBQ_FS_MKDIRAT EBQ_FILE_MKDIR ["mkdir"],
    "rmdir" EBQ_FS_RMDIR EBQ_FILE_RMDIR ["rmdir"],
    "link" EBQ_FS_LINK EBQ_FILE_LINK ["link"],
    "linkat" EBQ_FS_LINKAT EBQ_FILE_LINK ["link"],
    "symlink" EBQ_FS_SYMLINK EBQ_FILE_SYMLINK ["symlink"],
    "symlinkat" EBQ_FS_SYMLINKAT EBQ_FILE_SYMLINK ["symlink"],
    "truncate" EBQ_FS_TRUNCATE EBQ_FILE_TRUNCATE ["truncate"],
        ]
    };
}

macro_rules! names {
    ($($name:literal $sys:ident $stat:ident [$($tag:literal),*]),* $(,)?) => {
        [$(($name, ebq_file_sys::$sys)),*]
    };
}

macro_rules! just_names {
    ($($name:literal $sys:ident $stat:ident [$($tag:literal),*]),* $(,)?) => {
        [$($name),*]
    };
}

static FILE_PROGRAMS: &[Program] = file_syscalls!(pairs);

/// The name of an enum ebq_file_sys value: the list is in the enum's
/// order from EBQ_FS_OPEN (a test checks), so it is an index.
fn syscall_name(sys: u32) -> &'static str {
    sys.checked_sub(ebq_file_sys::EBQ_FS_OPEN.0)
        .and_then(|i| FILE_SYSCALLS.get(i as usize))
        .filter(|(_, s)| s.0 == sys)
        .map_or("unknown", |(name, _)| name)
}
static FILE_SYSCALLS: [(&str, ebq_file_sys); 23] = file_syscalls!(names);
static FILE_SYSCALL_NAMES: [&str; 23] = file_syscalls!(just_names);

/// Grouped in the kernel by the header's fields and the action (in the
/// key's `nr`); duration and exit_code measured when the exit reports.
static FILE_AGG: KernelAggSpec = KernelAggSpec {
    keys: &[("action", ebq_agg_keys::EBQ_AGG_NR.0)],
    measures: RESULT_MEASURES,
    event: |h, action| {
        Record::of(
            h,
            &ebq_file_event {
                action,
                ..Default::default()
            },
        )
    },
};

pub static FILE_EVENTS: Table = Table {
    name: "file_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["process_file_events"],
    doc: "One row per file operation by path: open/create, unlink, rename, chmod ...",
    columns: FILE_COLUMNS,
    programs: FILE_PROGRAMS,
    agg: Some(&FILE_AGG),
    buffer: 4 << 20,
    captures: &[
        (CAP_PATH, "path"),
        (CAP_REQUESTED, "path as written"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header",
    action_bit: Some(action_bit),
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syscall_list_is_in_the_enums_order() {
        for (i, (name, sys)) in FILE_SYSCALLS.iter().enumerate() {
            assert_eq!(sys.0, ebq_file_sys::EBQ_FS_OPEN.0 + i as u32, "{name}");
            assert_eq!(syscall_name(sys.0), *name);
        }
        assert_eq!(syscall_name(99), "unknown");
        assert_eq!(syscall_name(100 + 23), "unknown");
    }

    #[test]
    fn action_bits_follow_the_c_enum() {
        assert_eq!(
            action_bit("open"),
            Some(1 << ebq_file_action::EBQ_FILE_OPEN.0)
        );
        assert_eq!(
            action_bit("truncate"),
            Some(1 << ebq_file_action::EBQ_FILE_TRUNCATE.0)
        );
        assert_eq!(action_bit("nope"), None);
    }
}
