//! block_io_events: one row per block I/O request completed
//! (bpf/block.bpf.h), biosnoop's row: the disk, the operation and its
//! flags as blktrace's rwbs spells them, the sector, the bytes, the
//! latency from issue to completion and the time queued before it. The
//! common columns are the task that submitted the I/O, noted at
//! submission, never the task a completion interrupted; where ebq did not
//! see the submission they are NULL. `hist(latency)` and `hist(bytes)`
//! grouped by disk or comm aggregate in the kernel (biolatency, bitesize).

use super::common::{errno_name, with_common, U32_MAX};
use super::{Column, Domain, KernelAggSpec, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_agg_keys, ebq_agg_measure, ebq_block_capture, ebq_block_col, ebq_block_event,
    ebq_block_flags, ebq_block_stat,
};

const CAP_ISSUER: u32 = ebq_block_capture::EBQ_BLOCK_CAP_ISSUER.0;
const CAP_QUEUED: u32 = ebq_block_capture::EBQ_BLOCK_CAP_QUEUED.0;
use crate::model::record::{Layout, Record};
use crate::model::value::{text_from_cstr, Value};

crate::plain_abi!(ebq_block_event);

/// Its records: struct ebq_block_event (bpf/block.h) alone; one whose
/// submission ebq did not see has no task (its task columns are NULL).
const LAYOUT: Layout = Layout::fixed::<ebq_block_event>().anonymous_when(|r| {
    r.get::<ebq_block_event>().flags & ebq_block_flags::EBQ_BLOCK_ISSUER.0 == 0
});

fn ev<'r>(r: &'r Record) -> &'r ebq_block_event {
    r.get()
}

fn has(e: &ebq_block_event, f: ebq_block_flags) -> bool {
    e.flags & f.0 != 0
}

/// The kernel's dev_t (MKDEV, include/linux/kdev_t.h): major << 20 | minor.
const MINOR_BITS: u32 = 20;

/// The operations (enum req_op, include/linux/blk_types.h) whose numbers
/// every kernel ebq runs on shares; others (the zone operations, which
/// were renumbered) show as op_<n>.
const OPS: &[(u32, &str)] = &[
    (0, "read"),
    (1, "write"),
    (2, "flush"),
    (3, "discard"),
    (5, "secure_erase"),
    (9, "write_zeroes"),
    (34, "drv_in"),
    (35, "drv_out"),
];

fn op_name(op: u32) -> String {
    OPS.iter()
        .find(|(n, _)| *n == op)
        .map_or_else(|| format!("op_{op}"), |(_, s)| (*s).to_string())
}

/// The number of an operation named in a query ('write', 'op_7').
fn op_number(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    OPS.iter()
        .find(|(_, n)| *n == s)
        .map(|(v, _)| i64::from(*v))
        .or_else(|| s.strip_prefix("op_").and_then(|n| n.parse().ok()))
}

const OP_NAMES: Domain = Domain::Fn {
    what: "a block operation",
    has: |s| op_number(s).is_some(),
    all: || OPS.iter().map(|(_, n)| (*n).to_string()).collect(),
};

/// blktrace's rwbs (kernel/trace/blktrace.c, blk_fill_rwbs): F for a
/// preflush, the operation's letter (R W D DE F, N for the others), then
/// F for FUA, A for readahead, S for sync, M for metadata.
fn rwbs(e: &ebq_block_event) -> String {
    let mut s = String::new();
    if has(e, ebq_block_flags::EBQ_BLOCK_PREFLUSH) {
        s.push('F');
    }
    s.push_str(match e.op {
        0 => "R",
        1 => "W",
        2 => "F",
        3 => "D",
        5 => "DE",
        _ => "N",
    });
    for (f, c) in [
        (ebq_block_flags::EBQ_BLOCK_FUA, 'F'),
        (ebq_block_flags::EBQ_BLOCK_RAHEAD, 'A'),
        (ebq_block_flags::EBQ_BLOCK_SYNC, 'S'),
        (ebq_block_flags::EBQ_BLOCK_META, 'M'),
    ] {
        if has(e, f) {
            s.push(c);
        }
    }
    s
}

/// blk_status_t to errno (block/blk-core.c, blk_errors[]): the codes every
/// kernel ebq runs on numbers alike.
const BLK_STATUS_ERRNO: [i64; 14] = [
    0,
    -libc::EOPNOTSUPP as i64,
    -libc::ETIMEDOUT as i64,
    -libc::ENOSPC as i64,
    -libc::ENOLINK as i64,
    -libc::EREMOTEIO as i64,
    -libc::EBADE as i64,
    -libc::ENODATA as i64,
    -libc::EILSEQ as i64,
    -libc::ENOMEM as i64,
    -libc::EIO as i64,
    -libc::EREMCHG as i64,
    -libc::EAGAIN as i64,
    -libc::EBUSY as i64,
];

/// The completion's error: an errno name, NULL for success. Linux 5.10
/// passes the tracepoint an errno (negative), later ones a blk_status_t.
fn col_error(r: &Record) -> Value {
    let e = ev(r).error;
    match e {
        0 => Value::Null,
        n if n < 0 => errno_name(n.into()),
        n => match BLK_STATUS_ERRNO.get(n as usize) {
            Some(&errno) => errno_name(errno),
            None => Value::Text(format!("blk_status_{n}")),
        },
    }
}

/// The disk's name: the kernel's, or, for a kernel aggregate's group
/// (which keeps the device number only), sysfs's for that number.
fn col_disk(r: &Record) -> Value {
    let e = ev(r);
    if e.disk[0] != 0 {
        return Value::Text(text_from_cstr(&e.disk.map(|c| c as u8)));
    }
    let link = format!(
        "/sys/dev/block/{}:{}",
        e.dev >> MINOR_BITS,
        e.dev & ((1 << MINOR_BITS) - 1)
    );
    match std::fs::read_link(link) {
        Ok(p) => p.file_name().map_or(Value::Null, |n| {
            Value::Text(n.to_string_lossy().into_owned())
        }),
        Err(_) => Value::Null,
    }
}

static BLOCK_COLUMNS: &[Column] = &with_common![
    Column::text("disk", "The disk's name (vda, loop0, nvme0n1)", col_disk).width(8),
    Column::int("major", "The disk's major device number", |r| {
        Value::Int((ev(r).dev >> MINOR_BITS).into())
    })
    .slot(ebq_block_col::EBQ_BLOCK_COL_MAJOR.0, 0, 4095)
    .width(5),
    Column::int("minor", "The disk's minor device number", |r| {
        Value::Int((ev(r).dev & ((1 << MINOR_BITS) - 1)).into())
    })
    .slot(
        ebq_block_col::EBQ_BLOCK_COL_MINOR.0,
        0,
        (1 << MINOR_BITS) - 1
    )
    .width(5),
    Column::text(
        "operation",
        "read, write, flush, discard, secure_erase, write_zeroes ...",
        |r| Value::Text(op_name(ev(r).op))
    )
    .filter(KernelFilter::Named {
        slot: ebq_block_col::EBQ_BLOCK_COL_OP.0,
        to_int: op_number
    })
    .domain(OP_NAMES)
    .width(9),
    Column::text(
        "rwbs",
        "blktrace's flags: R W D F N, then F(ua) A(head) S(ync) M(eta)",
        |r| Value::Text(rwbs(ev(r)))
    )
    .width(4),
    Column::int(
        "sector",
        "The first sector (512 bytes) of the request; NULL for none (a flush)",
        |r| match ev(r).sector {
            // blk_rq_init()'s (sector_t)-1: a request with no data.
            u64::MAX => Value::Null,
            s => Value::Int(i64::try_from(s).unwrap_or(i64::MAX)),
        }
    )
    .width(10),
    Column::int("bytes", "Bytes this completion finished", |r| {
        Value::Int(ev(r).bytes.into())
    })
    .slot(ebq_block_col::EBQ_BLOCK_COL_BYTES.0, 0, U32_MAX)
    .width(8),
    Column::int("latency", "Issue to the driver to completion, ns", |r| {
        Value::Int(ev(r).latency_ns as i64)
    })
    .slot(ebq_block_col::EBQ_BLOCK_COL_LATENCY.0, 0, i64::MAX)
    .width(10),
    Column::int(
        "queued",
        "Submission to issue, ns; NULL when ebq did not see it submitted",
        |r| {
            let e = ev(r);
            if has(e, ebq_block_flags::EBQ_BLOCK_QUEUED) {
                Value::Int(e.queued_ns as i64)
            } else {
                Value::Null
            }
        }
    )
    .capture(CAP_QUEUED)
    .width(10),
    Column::text(
        "error",
        "The completion's error (EIO, ENOSPC ...); NULL when it succeeded",
        col_error
    )
    .width(7),
];

static BLOCK_PROGRAMS: &[Program] = &[
    // The issuer and the submission's time, when the query reads them:
    // by request on 6.5+, by bio before (bpf/block.bpf.h).
    Program::new("block_io_start", "raw_tp/block_io_start", &[], None)
        .event("block/block_io_start")
        .needs_any(CAP_ISSUER | CAP_QUEUED),
    Program::new("block_bio_queue", "raw_tp/block_bio_queue", &[], None)
        .event("block/block_bio_queue")
        .needs_any(CAP_ISSUER | CAP_QUEUED)
        .unless("block/block_io_start"),
    Program::new("block_split", "raw_tp/block_split", &[], None)
        .event("block/block_split")
        .needs_any(CAP_ISSUER | CAP_QUEUED)
        .unless("block/block_io_start"),
    // A request merged into another is freed unissued (and reused).
    Program::new("block_rq_merge", "raw_tp/block_rq_merge", &[], None)
        .event("block/block_rq_merge")
        .needs_any(CAP_ISSUER | CAP_QUEUED)
        .optional(),
    Program::new("block_rq_issue", "raw_tp/block_rq_issue", &[], None)
        .event("block/block_rq_issue"),
    Program::new(
        "block_rq_complete",
        "raw_tp/block_rq_complete",
        &[],
        Some(ebq_block_stat::EBQ_STAT_SENT_BLOCK.0),
    )
    .event("block/block_rq_complete"),
];

static BLOCK_AGG: KernelAggSpec = KernelAggSpec {
    // The device number: by disk (userspace merges a disk's groups into
    // its major's, for a query by major alone).
    keys: &[
        ("disk", ebq_agg_keys::EBQ_AGG_NR.0),
        ("major", ebq_agg_keys::EBQ_AGG_NR.0),
        ("minor", ebq_agg_keys::EBQ_AGG_NR.0),
    ],
    measures: &[
        ("latency", ebq_agg_measure::EBQ_MEASURE_DURATION.0 as u8),
        ("bytes", ebq_agg_measure::EBQ_MEASURE_EXIT_CODE.0 as u8),
    ],
    event: |h, nr| {
        Record::of(
            h,
            &ebq_block_event {
                dev: nr,
                flags: ebq_block_flags::EBQ_BLOCK_ISSUER.0,
                ..Default::default()
            },
        )
    },
};

pub static BLOCK_IO_EVENTS: Table = Table {
    name: "block_io_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["block_events"],
    doc: "One row per block I/O request completed: disk, operation, bytes, latency, issuer",
    columns: BLOCK_COLUMNS,
    programs: BLOCK_PROGRAMS,
    agg: Some(&BLOCK_AGG),
    buffer: 1 << 20,
    captures: &[
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
        (CAP_ISSUER, "the issuer, noted at submission"),
        (CAP_QUEUED, "the submission's time"),
    ],
    fixed_capture: "disk, operation, sector, bytes, latency",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: CAP_ISSUER,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn event(op: u32, flags: u32) -> ebq_block_event {
        ebq_block_event {
            op,
            flags,
            ..Default::default()
        }
    }

    #[test]
    fn rwbs_spells_what_blktrace_does() {
        use ebq_block_flags as F;
        assert_eq!(rwbs(&event(0, 0)), "R");
        assert_eq!(rwbs(&event(1, F::EBQ_BLOCK_SYNC.0)), "WS");
        assert_eq!(
            rwbs(&event(
                1,
                F::EBQ_BLOCK_PREFLUSH.0 | F::EBQ_BLOCK_FUA.0 | F::EBQ_BLOCK_SYNC.0
            )),
            "FWFS"
        );
        assert_eq!(
            rwbs(&event(0, F::EBQ_BLOCK_RAHEAD.0 | F::EBQ_BLOCK_META.0)),
            "RAM"
        );
        assert_eq!(rwbs(&event(5, 0)), "DE");
        assert_eq!(rwbs(&event(2, F::EBQ_BLOCK_PREFLUSH.0)), "FF");
        assert_eq!(rwbs(&event(9, 0)), "N");
    }

    #[test]
    fn operations_are_named_both_ways() {
        for (n, name) in OPS {
            assert_eq!(op_number(name), Some(i64::from(*n)));
            assert_eq!(op_name(*n), *name);
        }
        assert_eq!(op_name(77), "op_77");
        assert_eq!(op_number("op_77"), Some(77));
        assert_eq!(op_number("WRITE"), Some(1));
        assert_eq!(op_number("nope"), None);
        assert_eq!(op_number("op_"), None);
    }

    #[test]
    fn errors_read_as_errno_whichever_way_the_kernel_passed_them() {
        let rec = |error| {
            let e = ebq_block_event {
                error,
                ..Default::default()
            };
            col_error(&Record::of(Default::default(), &e))
        };
        assert_eq!(rec(0), Value::Null);
        assert_eq!(rec(-5), Value::Text("EIO".into()));
        assert_eq!(rec(10), Value::Text("EIO".into()));
        assert_eq!(rec(3), Value::Text("ENOSPC".into()));
        assert_eq!(rec(200), Value::Text("blk_status_200".into()));
    }

    #[test]
    fn a_row_without_its_submission_has_no_task() {
        let e = ebq_block_event::default();
        // SAFETY: plain data, as the ring buffer would hand it over.
        let bytes = unsafe { plain::as_bytes(&e) }.to_vec();
        let kind = crate::catalog::kind(&BLOCK_IO_EVENTS);
        let mut b = bytes.clone();
        b[16..20].copy_from_slice(&kind.to_ne_bytes());
        let r = Record::decode(&b, 0, &LAYOUT, kind).expect("decodes");
        assert!(r.anonymous);
        let e = ebq_block_event {
            flags: ebq_block_flags::EBQ_BLOCK_ISSUER.0,
            ..Default::default()
        };
        // SAFETY: as above.
        let mut b = unsafe { plain::as_bytes(&e) }.to_vec();
        b[16..20].copy_from_slice(&kind.to_ne_bytes());
        let r = Record::decode(&b, 0, &LAYOUT, kind).expect("decodes");
        assert!(!r.anonymous);
    }
}
