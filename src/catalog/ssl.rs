//! ssl_events: the plaintext of TLS reads and writes through OpenSSL
//! (BCC's sslsniff), on function_events' programs (bpf/func.bpf.h):
//! SSL_read, SSL_write and their _ex variants in every libssl processes
//! map now (each distinct file, found through the process) and in the
//! host's, each attachment's cookie saying where its call's buffer and
//! length are (enum ebq_func_mode): read at the return, when the bytes
//! are there and their count is known.

use super::common::with_common;
use super::func::{ev, FUNC_PROGRAMS, LAYOUT};
use super::{Column, Table};
use crate::abi::types::{ebq_func_capture, ebq_func_field, ebq_func_flags, ebq_func_mode};
use crate::model::functions::{current_function, FixedProbes};
use crate::model::record::Record;
use crate::model::value::{text_from_bytes, Value};

const BUF: usize = ebq_func_field::EBQ_FUNC_F_BUF.0 as usize;
const READ: u32 = ebq_func_mode::EBQ_FUNC_MODE_SSL_READ.0;
const WRITE: u32 = ebq_func_mode::EBQ_FUNC_MODE_SSL_WRITE.0;
const READ_EX: u32 = ebq_func_mode::EBQ_FUNC_MODE_SSL_READ_EX.0;
const WRITE_EX: u32 = ebq_func_mode::EBQ_FUNC_MODE_SSL_WRITE_EX.0;

static OPENSSL: FixedProbes = FixedProbes {
    program: None,
    library: Some("libssl.so"),
    functions: &[
        ("SSL_read", READ),
        ("SSL_write", WRITE),
        ("SSL_read_ex", READ_EX),
        ("SSL_write_ex", WRITE_EX),
    ],
    // Both ends: the buffer (arg1) is known at the entry, its length at
    // the return.
    capture: ebq_func_capture::EBQ_FUNC_CAP_ARGS.0
        | ebq_func_capture::EBQ_FUNC_CAP_RETVAL.0
        | ebq_func_capture::EBQ_FUNC_CAP_BUF.0,
    drop_retval: None,
};

/// A call that moved bytes (a failed or empty one has no buffer).
fn moved(r: &Record) -> bool {
    ev(r).buf_total > 0
}

static SSL_COLUMNS: &[Column] = &with_common![
    Column::text("direction", "read (received) or write (sent)", |r| {
        Value::Text(
            match ev(r).mode {
                READ | READ_EX => "read",
                _ => "write",
            }
            .into(),
        )
    })
    .width(5),
    Column::text(
        "function",
        "SSL_read, SSL_write, SSL_read_ex or SSL_write_ex",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(_, f)| Value::Text(f)) }
    )
    .width(12),
    Column::int("length", "Bytes moved", |r| {
        if moved(r) {
            Value::Int(ev(r).buf_total.into())
        } else {
            Value::Null
        }
    })
    .width(6),
    Column::text(
        "data",
        "The plaintext, its first 8192 bytes (escaped)",
        |r| {
            if moved(r) && ev(r).flags & (ebq_func_flags::EBQ_FUNC_BAD0.0 << BUF) == 0 {
                Value::Text(text_from_bytes(r.fields[BUF]))
            } else {
                Value::Null
            }
        }
    )
    .width(40),
    Column::boolean("data_cut", "data holds less than length", |r| Value::Bool(
        ev(r).flags & ebq_func_flags::EBQ_FUNC_BUF_CUT.0 != 0
    ))
    .width(5),
    // An int: the register's upper half is not the value's.
    Column::int("retval", "The call's return value, an int", |r| {
        Value::Int(i64::from(ev(r).ret as i32))
    })
    .hidden()
    .width(6),
    Column::int("duration", "Entry to return, ns", |r| Value::Int(
        ev(r).duration_ns as i64
    ))
    .hidden()
    .width(9),
    Column::text(
        "library",
        "The libssl probed: its path (in its process's root)",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(b, _)| Value::Text(b)) }
    )
    .width(24),
];

pub static SSL_EVENTS: Table = Table {
    name: "ssl_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per OpenSSL read or write that moved bytes: the plaintext",
    columns: SSL_COLUMNS,
    programs: FUNC_PROGRAMS,
    agg: None,
    buffer: 4 << 20,
    captures: &[
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, the call's buffer (8 KiB at most) and length",
    action_bit: None,
    stream: None,
    probes: Some(&OPENSSL),
    task_capture: 0,
};
