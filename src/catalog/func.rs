//! function_events: one row per call of a user-space function
//! (bpf/func.bpf.h). Which binaries and functions are probed is decided
//! when ebq attaches (`KernelFilter::Attach`): the planner collects what
//! the WHERE names (model/functions.rs), kernel/uprobes.rs finds it, and
//! `programs` turns it into the attachments, one cookie per function.

use super::common::with_common;
use super::{AttachKey, Column, Domain, KernelAggSpec, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_agg_keys, ebq_agg_measure, ebq_func_capture, ebq_func_col, ebq_func_event, ebq_func_field,
    ebq_func_flags, ebq_func_stat,
};
use crate::model::functions::{current_function, Resolved};
use crate::model::probe::{Attach, UprobeTarget};
use crate::model::record::{Layout, Record, FIELDS_MAX};
use crate::model::value::{text_from_bytes, Value};

const CAP_ARGS: u32 = ebq_func_capture::EBQ_FUNC_CAP_ARGS.0;
const CAP_STR0: u32 = ebq_func_capture::EBQ_FUNC_CAP_STR0.0;
const CAP_STR_RET: u32 = ebq_func_capture::EBQ_FUNC_CAP_STR_RET.0;
const CAP_RETVAL: u32 = ebq_func_capture::EBQ_FUNC_CAP_RETVAL.0;
const CAP_DURATION: u32 = ebq_func_capture::EBQ_FUNC_CAP_DURATION.0;
const CAP_BUF: u32 = ebq_func_capture::EBQ_FUNC_CAP_BUF.0;
const AT_ENTRY: u32 = ebq_func_capture::EBQ_FUNC_CAP_AT_ENTRY.0;
const AT_RETURN: u32 = ebq_func_capture::EBQ_FUNC_CAP_AT_RETURN.0;
const PAIR: u32 = ebq_func_capture::EBQ_FUNC_CAP_PAIR.0;
const BUF: usize = ebq_func_field::EBQ_FUNC_F_BUF.0 as usize;
const BUF_CUT: u32 = ebq_func_flags::EBQ_FUNC_BUF_CUT.0;
const ENTRY_BITS: u32 = ebq_func_capture::EBQ_FUNC_ENTRY_BITS.0;
const EXIT_BITS: u32 = ebq_func_capture::EBQ_FUNC_EXIT_BITS.0;
const HAS_EXIT: u32 = ebq_func_flags::EBQ_FUNC_HAS_EXIT.0;
const HAS_ENTRY: u32 = ebq_func_flags::EBQ_FUNC_HAS_ENTRY.0;
const CUT0: u32 = ebq_func_flags::EBQ_FUNC_CUT0.0;
const BAD0: u32 = ebq_func_flags::EBQ_FUNC_BAD0.0;

crate::plain_abi!(ebq_func_event);

/// Its records: struct ebq_func_event, then the strings read.
pub(super) const LAYOUT: Layout = Layout::of::<ebq_func_event>(|r| {
    let mut lens = [0; FIELDS_MAX];
    // EBQ_FUNC_FIELDS (bpf/func.h), the last of len[] padding.
    let len = &r.get::<ebq_func_event>().len;
    let n = len.len() - 1;
    lens[..n].copy_from_slice(&len[..n]);
    lens
});

pub(super) fn ev<'r>(r: &'r Record) -> &'r ebq_func_event {
    r.get()
}

/// Which ends of a call the programs trace for `capture` (the columns a
/// query reads, or the WHERE's event): the entry, the return, and
/// whether one row pairs them (bpf/func.bpf.h, func_paired).
pub fn ends(capture: u32) -> (bool, bool, bool) {
    if capture & (AT_ENTRY | AT_RETURN) != 0 {
        return (capture & AT_ENTRY != 0, capture & AT_RETURN != 0, false);
    }
    let paired = capture & (CAP_DURATION | PAIR) != 0
        || (capture & ENTRY_BITS != 0 && capture & EXIT_BITS != 0);
    let ret = paired || capture & EXIT_BITS != 0;
    let entry = paired || !ret;
    (entry, ret, paired)
}

fn with_entry(r: &Record, f: impl Fn(&ebq_func_event) -> Value) -> Value {
    let e = ev(r);
    if e.flags & HAS_ENTRY != 0 {
        f(e)
    } else {
        Value::Null
    }
}

fn with_exit(r: &Record, f: impl Fn(&ebq_func_event) -> Value) -> Value {
    let e = ev(r);
    if e.flags & HAS_EXIT != 0 {
        f(e)
    } else {
        Value::Null
    }
}

/// String `i` (arg0..arg5, 6: the return value) as read, or NULL.
pub(super) fn string(r: &Record, i: usize) -> Value {
    let e = ev(r);
    let known = if i == 6 {
        e.flags & HAS_EXIT != 0
    } else {
        e.flags & HAS_ENTRY != 0
    };
    if !known || e.flags & (BAD0 << i) != 0 {
        return Value::Null;
    }
    Value::Text(text_from_bytes(r.fields[i]))
}

macro_rules! arg {
    ($i:literal) => {
        Column::int(
            concat!("arg", $i),
            concat!(
                "Integer argument ",
                $i,
                " at entry (C ABI register), signed"
            ),
            |r| with_entry(r, |e| Value::Int(e.args[$i] as i64)),
        )
        .hidden()
        .capture(CAP_ARGS)
        .slot(ebq_func_col::EBQ_FUNC_COL_ARG0.0 + $i, i64::MIN, i64::MAX)
    };
}

macro_rules! str_arg {
    ($i:literal) => {
        Column::text(
            concat!("arg", $i, "_str"),
            concat!(
                "The string arg",
                $i,
                " points to (str(arg",
                $i,
                ")), read at the row's end"
            ),
            |r| string(r, $i),
        )
        .hidden()
        .capture(CAP_ARGS | (CAP_STR0 << $i))
        .width(24)
    };
}
pub(super) use str_arg;

static FUNC_COLUMNS: &[Column] = &with_common![
    Column::text(
        "binary",
        "The file probed: its path (decided at attach time)",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(b, _)| Value::Text(b)) }
    )
    .filter(KernelFilter::Attach(AttachKey::Binary))
    .width(24),
    Column::text(
        "function",
        "The function's symbol (decided at attach time)",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(_, f)| Value::Text(f)) }
    )
    .filter(KernelFilter::Attach(AttachKey::Function))
    .width(20),
    Column::text(
        "event",
        "call (both ends paired), entry or return: in the WHERE, picks the ends traced",
        |r| {
            let f = ev(r).flags;
            Value::Text(
                match (f & HAS_ENTRY != 0, f & HAS_EXIT != 0) {
                    (true, true) => "call",
                    (true, false) => "entry",
                    _ => "return",
                }
                .into(),
            )
        }
    )
    .filter(KernelFilter::Attach(AttachKey::Ends))
    .domain(Domain::List(
        "an end of a call",
        &crate::model::functions::END_NAMES
    ))
    .width(6),
    Column::int(
        "retval",
        "The return register (rax, x0), all 64 bits, signed",
        |r| { with_exit(r, |e| Value::Int(e.ret)) }
    )
    .capture(CAP_RETVAL)
    .slot(ebq_func_col::EBQ_FUNC_COL_RETVAL.0, i64::MIN, i64::MAX)
    .width(8),
    Column::int(
        "retval32",
        "The return value's low 32 bits, signed: an int function's result",
        |r| with_exit(r, |e| Value::Int(i64::from(e.ret as i32)))
    )
    .capture(CAP_RETVAL)
    .hidden()
    .width(8),
    Column::int("duration", "Entry to return, ns", |r| {
        let e = ev(r);
        if e.flags & HAS_EXIT != 0 && e.flags & HAS_ENTRY != 0 {
            Value::Int(e.duration_ns as i64)
        } else {
            Value::Null
        }
    })
    .capture(CAP_DURATION)
    .slot(ebq_func_col::EBQ_FUNC_COL_DURATION.0, 0, i64::MAX)
    .width(9),
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
    Column::text(
        "retval_str",
        "The string the return value points to (str(retval))",
        |r| string(r, 6)
    )
    .hidden()
    .capture(CAP_RETVAL | CAP_STR_RET)
    .width(24),
    Column::text(
        "buf",
        "The bytes buf(argN, len) names (escaped), read at the row's end",
        |r| {
            let e = ev(r);
            if e.flags & HAS_ENTRY == 0 || e.flags & (BAD0 << BUF) != 0 {
                Value::Null
            } else {
                Value::Text(text_from_bytes(r.fields[BUF]))
            }
        }
    )
    .hidden()
    .capture(CAP_ARGS | CAP_BUF)
    .width(32),
    Column::int(
        "buf_len",
        "The length buf() was given (past 2^31-1 as that), before the cut at 8192",
        |r| with_entry(r, |e| {
            // NULL for a negative length: no buffer at all.
            if e.flags & ebq_func_flags::EBQ_FUNC_BUF_NO_LEN.0 != 0 {
                Value::Null
            } else {
                Value::Int(e.buf_total.into())
            }
        })
    )
    .hidden()
    .capture(CAP_ARGS | CAP_BUF)
    .width(7),
    Column::boolean("buf_cut", "buf() holds less than buf_len", |r| with_entry(
        r,
        |e| Value::Bool(e.flags & BUF_CUT != 0)
    ))
    .hidden()
    .capture(CAP_ARGS | CAP_BUF)
    .width(5),
    Column::boolean(
        "str_cut",
        "A string of the row was cut (at 255 bytes)",
        |r| Value::Bool(ev(r).flags & (0x7f * CUT0) != 0)
    )
    .hidden()
    .width(5),
];

/// The programs' templates: `programs` attaches them where the query's
/// resolved functions are.
pub(super) static FUNC_PROGRAMS: &[Program] = &[
    Program::at(
        "func_entry",
        Attach::Uprobe {
            binary: std::borrow::Cow::Borrowed(""),
            target: UprobeTarget::Offset(0),
            pid: None,
            ret: false,
        },
        &[],
        Some(ebq_func_stat::EBQ_STAT_SENT_FUNC.0),
    ),
    Program::at(
        "func_return",
        Attach::Uprobe {
            binary: std::borrow::Cow::Borrowed(""),
            target: UprobeTarget::Offset(0),
            pid: None,
            ret: true,
        },
        &[],
        None,
    ),
];

/// usdt_events' program (bpf/func.bpf.h, usdt_fire), attached per probe.
pub(super) static USDT_PROGRAMS: [Program; 1] = [Program::at(
    "usdt_fire",
    Attach::Usdt {
        binary: std::borrow::Cow::Borrowed(""),
        shown: std::borrow::Cow::Borrowed(""),
        provider: std::borrow::Cow::Borrowed(""),
        name: std::borrow::Cow::Borrowed(""),
        pid: None,
    },
    &[],
    Some(ebq_func_stat::EBQ_STAT_SENT_FUNC.0),
)];

/// Function `i`'s attach cookie: its number, and its mode above it
/// (bpf/func.h, EBQ_FUNC_COOKIE_ID and EBQ_FUNC_COOKIE_MODE).
fn cookie(resolved: &Resolved, i: u32) -> u64 {
    u64::from(i) | u64::from(resolved.functions[i as usize].mode) << 32
}

/// The attachments of `resolved`'s functions for `capture`: with
/// uprobe_multi (`multi`), one link per binary and end; else one per
/// function and end, each with its cookie.
pub fn programs(resolved: &Resolved, capture: u32, multi: bool) -> Vec<Program> {
    let (entry, ret, _) = ends(capture);
    let pid = resolved.pid.and_then(|p| i32::try_from(p).ok());
    let mut out = Vec::new();
    if resolved.usdt {
        // One attachment per static probe (usdt_events).
        for b in &resolved.binaries {
            for &i in &b.functions {
                let f = &resolved.functions[i as usize];
                let (provider, name) = f.name.split_once(':').unwrap_or(("", &f.name));
                let mut p = USDT_PROGRAMS[0].clone();
                p.cookie = cookie(resolved, i);
                p.attach = Attach::Usdt {
                    binary: b.attach.clone().into(),
                    shown: b.shown.clone().into(),
                    provider: provider.to_string().into(),
                    name: name.to_string().into(),
                    pid,
                };
                out.push(p);
            }
        }
        return out;
    }
    for (is_ret, want, base) in [
        (false, entry, &FUNC_PROGRAMS[0]),
        (true, ret, &FUNC_PROGRAMS[1]),
    ] {
        if !want {
            continue;
        }
        // One counter of rows, on the program that sends them: the
        // return when it is traced, else the entry.
        let mut base = base.clone();
        base.sent_stat = (is_ret == ret).then_some(ebq_func_stat::EBQ_STAT_SENT_FUNC.0);
        let base = &base;
        for b in &resolved.binaries {
            if multi {
                let mut p = base.clone();
                p.prog = if is_ret {
                    "func_return_multi"
                } else {
                    "func_entry_multi"
                };
                p.attach = Attach::UprobeMulti {
                    binary: b.attach.clone().into(),
                    shown: b.shown.clone().into(),
                    offsets: b
                        .functions
                        .iter()
                        .map(|&i| (resolved.functions[i as usize].offset, cookie(resolved, i)))
                        .collect(),
                    pid,
                    ret: is_ret,
                };
                out.push(p);
                continue;
            }
            for &i in &b.functions {
                let mut p = base.clone();
                p.cookie = cookie(resolved, i);
                p.attach = Attach::Uprobe {
                    binary: b.attach.clone().into(),
                    target: UprobeTarget::Offset(resolved.functions[i as usize].offset),
                    pid,
                    ret: is_ret,
                };
                out.push(p);
            }
        }
    }
    out
}

static FUNC_AGG: KernelAggSpec = KernelAggSpec {
    // The function's number: one group per function (by binary, groups
    // of several functions: userspace's).
    keys: &[("function", ebq_agg_keys::EBQ_AGG_NR.0)],
    measures: &[
        ("duration", ebq_agg_measure::EBQ_MEASURE_DURATION.0 as u8),
        ("retval", ebq_agg_measure::EBQ_MEASURE_EXIT_CODE.0 as u8),
    ],
    event: |h, nr| {
        Record::of(
            h,
            &ebq_func_event {
                func: nr,
                flags: HAS_ENTRY | HAS_EXIT,
                ..Default::default()
            },
        )
    },
};

pub static FUNCTION_EVENTS: Table = Table {
    name: "function_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per call of a user-space function (uprobes): args, retval, duration",
    columns: FUNC_COLUMNS,
    programs: FUNC_PROGRAMS,
    agg: Some(&FUNC_AGG),
    buffer: 4 << 20,
    captures: &[
        (CAP_ARGS, "argument registers"),
        (CAP_STR0 * 0x3f, "argument strings"),
        (CAP_RETVAL, "the return (a return probe)"),
        (CAP_STR_RET, "the returned string"),
        (CAP_DURATION, "entry and return paired"),
        (CAP_BUF, "a buffer (buf())"),
        (AT_ENTRY, "rows at the entry (event)"),
        (AT_RETURN, "rows at the return (event)"),
        (PAIR, "one row per call (event = 'call')"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, the function's number",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_field_bad_bit_is_a_cut_bit() {
        // A cut buffer or working directory once read as a bad one: NULL.
        let fields = ebq_func_field::EBQ_FUNC_FIELDS.0;
        let bad = (0..fields).fold(0, |m, i| m | BAD0 << i);
        let cut =
            (0..7).fold(0, |m, i| m | CUT0 << i) | BUF_CUT | ebq_func_flags::EBQ_FUNC_CWD_CUT.0;
        assert_eq!(bad & cut, 0);
        assert_eq!((bad | cut) & (HAS_ENTRY | HAS_EXIT), 0);
    }

    #[test]
    fn the_columns_read_decide_which_ends_are_traced() {
        // Nothing of the return: the entry alone.
        assert_eq!(ends(0), (true, false, false));
        assert_eq!(ends(CAP_ARGS), (true, false, false));
        // The return alone: nothing of the entry is noted.
        assert_eq!(ends(CAP_RETVAL | CAP_STR_RET), (false, true, false));
        // Both, or the time between: paired.
        assert_eq!(ends(CAP_ARGS | CAP_RETVAL), (true, true, true));
        assert_eq!(ends(CAP_DURATION), (true, true, true));
        assert_eq!(ends(CAP_STR0 << 3 | CAP_STR_RET), (true, true, true));
        // The WHERE's event, whatever the columns.
        assert_eq!(ends(CAP_DURATION | AT_ENTRY), (true, false, false));
        assert_eq!(ends(CAP_ARGS | AT_ENTRY | AT_RETURN), (true, true, false));
        assert_eq!(ends(AT_RETURN), (false, true, false));
        assert_eq!(ends(PAIR), (true, true, true));
    }
}
