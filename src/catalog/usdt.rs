//! usdt_events: static user-space probes (USDT: sys/sdt.h's .note.stapsdt
//! notes, which runtimes such as Python, Node.js, PostgreSQL and glibc's
//! libc ship), by provider and name, each firing one row with its first
//! six arguments. libbpf attaches them (bpf/usdt.bpf.h reads each
//! argument from where its note says); which are attached is decided at
//! attach time from the WHERE, as for function_events.

use super::common::with_common;
use super::func::{ev, str_arg, string, LAYOUT, USDT_PROGRAMS};
use super::{AttachKey, Column, KernelAggSpec, KernelFilter, Table};
use crate::abi::types::{
    ebq_agg_keys, ebq_func_capture, ebq_func_col, ebq_func_event, ebq_func_flags,
};
use crate::model::functions::current_function;
use crate::model::record::Record;
use crate::model::value::Value;

const CAP_ARGS: u32 = ebq_func_capture::EBQ_FUNC_CAP_ARGS.0;
const CAP_STR0: u32 = ebq_func_capture::EBQ_FUNC_CAP_STR0.0;

/// The probe's provider and name, from its resolved "provider:name".
fn probe(r: &Record) -> Option<(String, String, String)> {
    let (b, f) = current_function(ev(r).func)?;
    let (p, n) = f.split_once(':')?;
    Some((b, p.to_string(), n.to_string()))
}

macro_rules! arg {
    ($i:literal) => {
        Column::int(
            concat!("arg", $i),
            concat!("Argument ", $i, " of the probe, as a number"),
            |r| Value::Int(ev(r).args[$i] as i64),
        )
        .capture(CAP_ARGS)
        .slot(ebq_func_col::EBQ_FUNC_COL_ARG0.0 + $i, i64::MIN, i64::MAX)
    };
}

static USDT_COLUMNS: &[Column] = &with_common![
    Column::text(
        "binary",
        "The file probed: its path (decided at attach time)",
        |r| { probe(r).map_or(Value::Null, |(b, _, _)| Value::Text(b)) }
    )
    .filter(KernelFilter::Attach(AttachKey::Binary))
    .hidden()
    .width(24),
    Column::text(
        "provider",
        "The probe's provider (decided at attach time)",
        |r| { probe(r).map_or(Value::Null, |(_, p, _)| Value::Text(p)) }
    )
    .filter(KernelFilter::Attach(AttachKey::Provider))
    .width(12),
    Column::text("name", "The probe's name (decided at attach time)", |r| {
        probe(r).map_or(Value::Null, |(_, _, n)| Value::Text(n))
    })
    .filter(KernelFilter::Attach(AttachKey::Function))
    .width(16),
    arg!(0),
    arg!(1),
    arg!(2),
    arg!(3),
    arg!(4),
    arg!(5),
    str_arg!(0),
    str_arg!(1),
    str_arg!(2),
    str_arg!(3),
    str_arg!(4),
    str_arg!(5),
    Column::boolean(
        "str_cut",
        "A string of the row was cut (at 255 bytes)",
        |r| Value::Bool(ev(r).flags & (0x3f * ebq_func_flags::EBQ_FUNC_CUT0.0) != 0)
    )
    .hidden()
    .width(5),
];

static USDT_AGG: KernelAggSpec = KernelAggSpec {
    // The probe's number: one group per provider:name.
    keys: &[("name", ebq_agg_keys::EBQ_AGG_NR.0)],
    measures: &[],
    event: |h, nr| {
        Record::of(
            h,
            &ebq_func_event {
                func: nr,
                ..Default::default()
            },
        )
    },
};

pub static USDT_EVENTS: Table = Table {
    name: "usdt_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per static user-space probe (USDT) fired: provider, name, args",
    columns: USDT_COLUMNS,
    programs: &USDT_PROGRAMS,
    agg: Some(&USDT_AGG),
    buffer: 1 << 20,
    captures: &[
        (CAP_ARGS, "the probe's arguments"),
        (CAP_STR0 * 0x3f, "argument strings"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, the probe's number",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};
