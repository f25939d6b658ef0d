//! signal_events: one row per signal generated (bpf/signal.bpf.h). The
//! common columns describe the sender; for a signal the kernel raises on a
//! fault (SIGSEGV), sender and target are the same.

use super::common::{
    signal_name, signal_number, with_common, SIGNAL_NAMES, SIGNAL_NUMBERS, U32_MAX,
};
use super::{Column, Domain, Program, Table};
use crate::abi::types::{ebq_signal_col, ebq_signal_event, ebq_signal_stat};
use crate::model::record::{Layout, Record};
use crate::model::value::{text_from_cstr, Value};

crate::plain_abi!(ebq_signal_event);

/// Its records: struct ebq_signal_event (bpf/signal.h) alone.
const LAYOUT: Layout = Layout::fixed::<ebq_signal_event>();

fn sig<'r>(r: &'r Record) -> Option<&'r ebq_signal_event> {
    Some(r.get())
}

fn int(r: &Record, f: impl Fn(&ebq_signal_event) -> i64) -> Value {
    sig(r).map_or(Value::Null, |e| Value::Int(f(e)))
}

/// enum trace_signal_ret (include/trace/events/signal.h), by value.
const RESULTS: [&str; 5] = [
    "delivered",
    "ignored",
    "already_pending",
    "overflow_fail",
    "lose_info",
];

fn col_result(r: &Record) -> Value {
    let Some(e) = sig(r) else { return Value::Null };
    match usize::try_from(e.result).ok().and_then(|i| RESULTS.get(i)) {
        Some(name) => Value::Text((*name).into()),
        None => Value::Text(format!("result_{}", e.result)),
    }
}

static SIGNAL_COLUMNS: &[Column] = &with_common![
    Column::int("signal", "Signal number (9, or 'SIGKILL' in WHERE)", |r| {
        int(r, |e| e.signal.into())
    })
    .slot(ebq_signal_col::EBQ_SIGNAL_COL_SIGNAL.0, 0, 127)
    .named(signal_number)
    .domain(SIGNAL_NUMBERS)
    .width(6),
    Column::text("signal_name", "Signal name (SIGKILL)", |r| match sig(r) {
        Some(e) => signal_name(e.signal.into()),
        None => Value::Null,
    })
    .domain(SIGNAL_NAMES)
    .width(9),
    Column::int("target_pid", "Process the signal is for", |r| int(r, |e| e
        .target_pid
        .into()))
    .slot(ebq_signal_col::EBQ_SIGNAL_COL_TARGET_PID.0, 0, U32_MAX),
    Column::int("target_tid", "Thread the signal is for", |r| int(r, |e| e
        .target_tid
        .into()))
    .hidden(),
    Column::text(
        "target_comm",
        "Task name (comm) of the target",
        |r| match sig(r) {
            Some(e) => Value::Text(text_from_cstr(&e.target_comm.map(|c| c as u8))),
            None => Value::Null,
        }
    )
    .width(15),
    Column::int(
        "code",
        "si_code: 0 from kill(), 128 from the kernel, -6 from tgkill ...",
        |r| int(r, |e| e.code.into())
    )
    .width(5),
    Column::text(
        "result",
        "delivered, ignored, already_pending, overflow_fail, lose_info",
        col_result
    )
    .domain(Domain::Fn {
        what: "a signal_generate result",
        has: |s| RESULTS.contains(&s)
            || s.strip_prefix("result_")
                .is_some_and(|n| n.parse::<i32>().is_ok()),
        all: || RESULTS.map(String::from).to_vec(),
    })
    .width(9),
    Column::boolean(
        "process_wide",
        "Sent to the whole process, not one thread",
        |r| match sig(r) {
            Some(e) => Value::Bool(e.group != 0),
            None => Value::Null,
        }
    ),
];

static SIGNAL_PROGRAMS: &[Program] = &[Program::new(
    "signal_generate",
    "raw_tp/signal_generate",
    &[],
    Some(ebq_signal_stat::EBQ_STAT_SENT_SIGNAL.0),
)];

pub static SIGNAL_EVENTS: Table = Table {
    name: "signal_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per signal generated, by a process or by the kernel",
    columns: SIGNAL_COLUMNS,
    programs: SIGNAL_PROGRAMS,
    agg: None,
    buffer: 256 << 10,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the header, signal, target",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};
