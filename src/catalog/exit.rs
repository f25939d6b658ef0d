//! process_exit_events: one row when a process ends (bpf/exit.bpf.h).

use super::common::{signal_name, signal_number, with_common, SIGNAL_NAMES, SIGNAL_NUMBERS};
use super::{Column, Program, Table};
use crate::abi::types::{ebq_exit_col, ebq_exit_event, ebq_exit_stat, ebq_filter_col};
use crate::model::record::{Layout, Record};
use crate::model::value::Value;

crate::plain_abi!(ebq_exit_event);

/// Its records: struct ebq_exit_event (bpf/exit.h) alone.
const LAYOUT: Layout = Layout::fixed::<ebq_exit_event>();

/// The wait(2) status.
fn status(r: &Record) -> Option<i32> {
    Some(r.get::<ebq_exit_event>().status)
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
    Value::Int(r.get::<ebq_exit_event>().duration_ns as i64)
}

static EXIT_COLUMNS: &[Column] = &with_common![
    Column::int(
        "exit_code",
        "Exit status (0-255); NULL when a signal killed it",
        col_exit_code
    )
    .slot(ebq_filter_col::EBQ_COL_EXIT_CODE.0, 0, 255)
    .width(5),
    Column::int(
        "signal",
        "Signal that killed it (9, or 'SIGKILL' in WHERE); else NULL",
        col_signal
    )
    .slot(ebq_exit_col::EBQ_EXIT_COL_SIGNAL.0, 1, 127)
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

static EXIT_PROGRAMS: &[Program] = &[Program::new(
    "process_exit",
    "raw_tp/sched_process_exit",
    &[],
    Some(ebq_exit_stat::EBQ_STAT_SENT_EXIT.0),
)];

pub static PROCESS_EXIT_EVENTS: Table = Table {
    name: "process_exit_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per process that ends: exit code, or the signal that killed it",
    columns: EXIT_COLUMNS,
    programs: EXIT_PROGRAMS,
    agg: None,
    buffer: 256 << 10,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the header, exit status, lifetime",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};
