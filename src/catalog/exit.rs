//! process_exit_events: one row when a process ends (bpf/exit.bpf.h).

use super::common::{signal_name, signal_number, with_common, SIGNAL_NAMES, SIGNAL_NUMBERS};
use super::{Column, Program, Table};
use crate::abi::types::{ebq_event_kind, ebq_filter_col, ebq_stat};
use crate::model::record::{Event, Record};
use crate::model::value::Value;

/// The wait(2) status, or None for a record of another kind.
fn status(r: &Record) -> Option<i32> {
    match &r.event {
        Event::Exit(e) => Some(e.status),
        _ => None,
    }
}

fn col_exit_code(r: &Record) -> Value {
    match status(r) {
        Some(s) if s & 0x7f == 0 => Value::Int(((s >> 8) & 0xff).into()),
        _ => Value::Null,
    }
}

fn col_signal(r: &Record) -> Value {
    match status(r) {
        Some(s) if s & 0x7f != 0 => Value::Int((s & 0x7f).into()),
        _ => Value::Null,
    }
}

fn col_signal_name(r: &Record) -> Value {
    match col_signal(r) {
        Value::Int(s) => signal_name(s),
        _ => Value::Null,
    }
}

fn col_duration(r: &Record) -> Value {
    match &r.event {
        Event::Exit(e) => Value::Int(e.duration_ns as i64),
        _ => Value::Null,
    }
}

static EXIT_COLUMNS: &[Column] = &with_common![
    Column::int(
        "exit_code",
        "Exit status (0-255); NULL when a signal killed it",
        col_exit_code
    )
    .slot(ebq_filter_col::EBQ_COL_EXIT_CODE, 0, 255)
    .width(5),
    Column::int(
        "signal",
        "Signal that killed it (9, or 'SIGKILL' in WHERE); else NULL",
        col_signal
    )
    .slot(ebq_filter_col::EBQ_COL_SIGNAL, 1, 127)
    .named(signal_number)
    .domain(SIGNAL_NUMBERS)
    .width(6),
    Column::text(
        "signal_name",
        "Name of the signal that killed it (SIGKILL)",
        col_signal_name
    )
    .domain(SIGNAL_NAMES)
    .width(9),
    Column::boolean("core_dumped", "A core dump was written", |r| {
        match status(r) {
            Some(s) => Value::Bool(s & 0x80 != 0),
            None => Value::Null,
        }
    }),
    Column::int("duration", "Lifetime of the process, ns", col_duration).width(12),
];

static EXIT_PROGRAMS: &[Program] = &[
    Program::new(
        "process_exit",
        "raw_tp/sched_process_exit",
        &[],
        Some(ebq_stat::EBQ_STAT_SENT_EXIT),
    ),
    Program::follow("follow_fork", "raw_tp/sched_process_fork"),
    Program::follow("follow_free", "raw_tp/sched_process_free"),
];

pub static PROCESS_EXIT_EVENTS: Table = Table {
    name: "process_exit_events",
    aliases: &[],
    doc: "One row per process that ends: exit code, or the signal that killed it",
    columns: EXIT_COLUMNS,
    programs: EXIT_PROGRAMS,
    kind: ebq_event_kind::EBQ_EV_EXIT.0,
    agg: None,
    buffer: 256 << 10,
    fixed_capture: "the header, exit status, lifetime",
    action_bit: None,
};
