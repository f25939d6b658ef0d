//! syscall_events: one row per syscall (bpf/syscall.bpf.h), named from the
//! build architecture's syscall table (the syscalls crate), never guessed.

use std::str::FromStr;

use syscalls::Sysno;

use super::common::{errno_name, with_common, ERRNO};
use super::{Column, Domain, KernelAggSpec, KernelFilter, Program, Table, RESULT_MEASURES};
use crate::abi::types::{
    ebq_agg_keys, ebq_filter_col, ebq_syscall_capture, ebq_syscall_col, ebq_syscall_event,
    ebq_syscall_flags, ebq_syscall_stat,
};
use crate::model::record::{Layout, Record};
use crate::model::value::Value;

const CAP_EXIT: u32 = ebq_syscall_capture::EBQ_SYSCALL_CAP_EXIT.0;
const CAP_ARGS: u32 = ebq_syscall_capture::EBQ_SYSCALL_CAP_SYSARGS.0;

crate::plain_abi!(ebq_syscall_event);

/// Its records: struct ebq_syscall_event (bpf/syscall.h) alone.
const LAYOUT: Layout = Layout::fixed::<ebq_syscall_event>();

fn sys<'r>(r: &'r Record) -> Option<&'r ebq_syscall_event> {
    Some(r.get())
}

fn exited(r: &Record, f: impl Fn(&ebq_syscall_event) -> Value) -> Value {
    match sys(r) {
        Some(e) if e.flags & ebq_syscall_flags::EBQ_SYSCALL_HAS_EXIT.0 != 0 => f(e),
        _ => Value::Null,
    }
}

/// A syscall's number on this architecture, from its name.
pub fn syscall_number(name: &str) -> Option<i64> {
    Sysno::from_str(name.trim()).ok().map(|s| s.id().into())
}

pub fn syscall_name(nr: u32) -> Value {
    match usize::try_from(nr).ok().and_then(Sysno::new) {
        Some(s) => Value::Text(s.name().to_string()),
        None => Value::Text(format!("syscall_{nr}")),
    }
}

macro_rules! arg {
    ($i:literal) => {
        Column::int(
            concat!("arg", $i),
            concat!("Argument ", $i, " as a number (pointers too), signed"),
            |r| match sys(r) {
                Some(e) => Value::Int(e.args[$i] as i64),
                None => Value::Null,
            },
        )
        .hidden()
        .capture(CAP_ARGS)
        .slot(
            ebq_syscall_col::EBQ_SYSCALL_COL_ARG0.0 + $i,
            i64::MIN,
            i64::MAX,
        )
    };
}

static SYSCALL_COLUMNS: &[Column] = &with_common![
    Column::text(
        "syscall",
        "Syscall name (read, openat ...); filters on the number in the kernel",
        |r| sys(r).map_or(Value::Null, |e| syscall_name(e.nr))
    )
    .filter(KernelFilter::Named {
        slot: ebq_syscall_col::EBQ_SYSCALL_COL_NR.0,
        to_int: syscall_number
    })
    .domain(Domain::Fn {
        what: "a syscall name",
        has: |s| Sysno::from_str(s).is_ok()
            || s.strip_prefix("syscall_")
                .is_some_and(|n| n.parse::<u32>().is_ok()),
        all: || Sysno::iter().map(|s| s.name().to_string()).collect(),
    })
    .width(12),
    Column::int("nr", "Syscall number on this architecture", |r| sys(r)
        .map_or(Value::Null, |e| Value::Int(e.nr.into())))
    .slot(ebq_syscall_col::EBQ_SYSCALL_COL_NR.0, 0, 1023)
    .width(4),
    Column::int(
        "exit_code",
        "Return value: a negative errno on failure",
        |r| exited(r, |e| Value::Int(e.ret))
    )
    .slot(ebq_filter_col::EBQ_COL_EXIT_CODE.0, i64::MIN, i64::MAX)
    .capture(CAP_EXIT)
    .width(6),
    Column::text(
        "error",
        "errno name of a failure (EAGAIN), else NULL",
        |r| exited(r, |e| if e.ret < 0 && e.ret > -4096 {
            errno_name(e.ret)
        } else {
            Value::Null
        })
    )
    .capture(CAP_EXIT)
    .domain(ERRNO)
    .width(7),
    Column::int("duration", "Time in the syscall, ns", |r| exited(r, |e| {
        Value::Int(e.duration_ns as i64)
    }))
    .slot(ebq_syscall_col::EBQ_SYSCALL_COL_DURATION.0, 0, i64::MAX)
    .capture(CAP_EXIT)
    .width(9),
    arg!(0),
    arg!(1),
    arg!(2),
    arg!(3),
    arg!(4),
    arg!(5),
];

static SYSCALL_PROGRAMS: &[Program] = &[
    Program::new(
        "sys_enter",
        "tracepoint/raw_syscalls/sys_enter",
        &[],
        Some(ebq_syscall_stat::EBQ_STAT_SENT_SYSCALL.0),
    ),
    // Only for what the exit knows: exit_code, error, duration.
    Program::new("sys_exit", "tracepoint/raw_syscalls/sys_exit", &[], None).needs(CAP_EXIT),
];

static SYSCALL_AGG: KernelAggSpec = KernelAggSpec {
    keys: &[
        ("syscall", ebq_agg_keys::EBQ_AGG_NR.0),
        ("nr", ebq_agg_keys::EBQ_AGG_NR.0),
    ],
    measures: RESULT_MEASURES,
    event: |h, nr| {
        Record::of(
            h,
            &ebq_syscall_event {
                nr,
                ..Default::default()
            },
        )
    },
};

pub static SYSCALL_EVENTS: Table = Table {
    name: "syscall_events",
    layout: LAYOUT,
    bitmap_slot: Some(ebq_syscall_col::EBQ_SYSCALL_COL_NR.0),
    aliases: &[],
    doc: "One row per syscall, any syscall: name, number, result, duration",
    columns: SYSCALL_COLUMNS,
    programs: SYSCALL_PROGRAMS,
    agg: Some(&SYSCALL_AGG),
    buffer: 4 << 20,
    captures: &[
        (CAP_ARGS, "syscall arguments"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, syscall number",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_architecture_table() {
        let nr = syscall_number("getppid").expect("getppid exists");
        assert_eq!(syscall_name(nr as u32), Value::Text("getppid".into()));
        assert_eq!(syscall_number("no_such_call"), None);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(syscall_number("read"), Some(0));
        #[cfg(target_arch = "aarch64")]
        assert_eq!(syscall_number("read"), Some(63));
    }
}
