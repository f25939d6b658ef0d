//! bash_events: the command lines typed into interactive bash shells,
//! as readline returns them (BCC's bashreadline), on function_events'
//! programs (bpf/func.bpf.h): a return probe on readline in every
//! distinct bash running (a container's bash is its own file, reached
//! through its /proc/PID/exe) and in the bash on PATH, with the shell's
//! terminal and working directory read in the kernel at the return.

use super::common::with_common;
use super::func::{ev, string, FUNC_PROGRAMS, LAYOUT};
use super::{Column, Table};
use crate::abi::types::{ebq_func_capture, ebq_func_field, ebq_func_flags};
use crate::model::functions::{current_function, FixedProbes};
use crate::model::paths::Walked;
use crate::model::record::Record;
use crate::model::value::{text_from_bytes, Value};

const TTY: usize = ebq_func_field::EBQ_FUNC_F_TTY.0 as usize;
const CWD: usize = ebq_func_field::EBQ_FUNC_F_CWD.0 as usize;

static READLINE: FixedProbes = FixedProbes {
    program: Some("bash"),
    functions: &[("readline", 0)],
    library: Some("libreadline.so"),
    capture: ebq_func_capture::EBQ_FUNC_CAP_RETVAL.0 | ebq_func_capture::EBQ_FUNC_CAP_STR_RET.0,
    // readline returns NULL at the end of input (Ctrl-D): no line.
    drop_retval: Some(0),
};

/// The terminal as ps names it: the kernel's pty slave "pts3" is
/// /dev/pts/3, "pts/3" to ps and osquery.
fn tty(r: &Record) -> Value {
    if ev(r).flags & (ebq_func_flags::EBQ_FUNC_BAD0.0 << TTY) != 0 {
        return Value::Null;
    }
    let name = text_from_bytes(r.fields[TTY]);
    Value::Text(match name.strip_prefix("pts") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("pts/{n}"),
        _ => name,
    })
}

fn cwd(r: &Record) -> Value {
    match Walked::decode(r.fields[CWD]) {
        Some(w) => Value::Text(text_from_bytes(&w.display())),
        None => Value::Null,
    }
}

static BASH_COLUMNS: &[Column] = &with_common![
    Column::text(
        "command",
        "The line read, as typed (readline's return)",
        |r| string(r, 6)
    )
    .width(40),
    Column::text("tty", "The shell's terminal (pts/3), NULL without one", tty)
        .capture(ebq_func_capture::EBQ_FUNC_CAP_TTY.0)
        .width(7),
    Column::text(
        "cwd",
        "The shell's working directory when the line was read",
        cwd
    )
    .capture(ebq_func_capture::EBQ_FUNC_CAP_CWD.0)
    .width(20),
    Column::text(
        "binary",
        "The bash probed: its path (in its process's root)",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(b, _)| Value::Text(b)) }
    )
    .hidden()
    .width(24),
    Column::boolean("cut", "The line was cut (at 255 bytes)", |r| Value::Bool(
        ev(r).flags & (ebq_func_flags::EBQ_FUNC_CUT0.0 << 6) != 0
    ))
    .hidden()
    .width(5),
];

pub static BASH_EVENTS: Table = Table {
    name: "bash_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per line typed into an interactive bash (readline's return)",
    columns: BASH_COLUMNS,
    programs: FUNC_PROGRAMS,
    agg: None,
    buffer: 256 << 10,
    captures: &[
        (ebq_func_capture::EBQ_FUNC_CAP_TTY.0, "terminal"),
        (ebq_func_capture::EBQ_FUNC_CAP_CWD.0, "working directory"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, the line read",
    action_bit: None,
    stream: None,
    probes: Some(&READLINE),
    task_capture: 0,
};
