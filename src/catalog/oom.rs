//! oom_events: one row per task the OOM killer kills (bpf/oom.bpf.h),
//! oomkill's row. The common columns are the victim, read from its task
//! when the kernel marked it (its cgroup and container too), never the
//! task whose allocation ran the killer: that one is `trigger_pid` and
//! `trigger_comm`, and may be the victim itself. The memory figures are
//! the ones the kernel's "Killed process" line prints, in KiB.

use super::common::with_common;
use super::{Column, Program, Table};
use crate::abi::types::{ebq_oom_event, ebq_oom_flags, ebq_oom_stat};
use crate::model::record::{Layout, Record};
use crate::model::value::{text_from_cstr, Value};

crate::plain_abi!(ebq_oom_event);

/// Its records: struct ebq_oom_event (bpf/oom.h) alone; one whose victim's
/// task was not found has no task (its task columns are NULL).
const LAYOUT: Layout = Layout::fixed::<ebq_oom_event>()
    .anonymous_when(|r| r.get::<ebq_oom_event>().flags & ebq_oom_flags::EBQ_OOM_VICTIM.0 == 0);

fn ev<'r>(r: &'r Record) -> &'r ebq_oom_event {
    r.get()
}

/// This machine's page size, the kernel's (sysconf(_SC_PAGESIZE)).
fn page_kib() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).map_or(4, |b| (b / 1024).max(1))
}

/// A memory figure in KiB, NULL when the victim's mm was not read.
fn kib(r: &Record, f: impl Fn(&ebq_oom_event) -> u64) -> Value {
    let e = ev(r);
    if e.flags & ebq_oom_flags::EBQ_OOM_MEM.0 == 0 {
        return Value::Null;
    }
    Value::Int(i64::try_from(f(e)).unwrap_or(i64::MAX))
}

static OOM_COLUMNS: &[Column] = &with_common![
    Column::int(
        "victim_tid",
        "The victim thread, as the kernel named it (known even without its task)",
        |r| Value::Int(ev(r).victim_tid.into())
    )
    .hidden(),
    Column::int(
        "trigger_pid",
        "Process whose allocation ran the OOM killer (may be the victim)",
        |r| Value::Int(ev(r).trigger_pid.into())
    )
    .width(7),
    Column::int(
        "trigger_tid",
        "Thread whose allocation ran the OOM killer",
        |r| { Value::Int(ev(r).trigger_tid.into()) }
    )
    .hidden(),
    Column::text("trigger_comm", "Task name (comm) of the trigger", |r| {
        Value::Text(text_from_cstr(&ev(r).trigger_comm.map(|c| c as u8)))
    })
    .width(15),
    Column::int("total_vm", "The victim's virtual memory, KiB", |r| {
        kib(r, |e| e.total_vm_pages.saturating_mul(page_kib()))
    })
    .width(9),
    Column::int("anon_rss", "Its anonymous resident memory, KiB", |r| {
        kib(r, |e| e.anon_rss_pages.saturating_mul(page_kib()))
    })
    .width(9),
    Column::int("file_rss", "Its file-backed resident memory, KiB", |r| {
        kib(r, |e| e.file_rss_pages.saturating_mul(page_kib()))
    })
    .width(9),
    Column::int("shmem_rss", "Its shared-memory resident memory, KiB", |r| {
        kib(r, |e| e.shmem_rss_pages.saturating_mul(page_kib()))
    })
    .width(9),
    Column::int("pgtables", "Its page tables, KiB", |r| kib(r, |e| e
        .pgtables_bytes
        / 1024))
    .width(8),
    Column::int(
        "oom_score_adj",
        "The victim's oom_score_adj (-1000 to 1000)",
        |r| {
            let e = ev(r);
            if e.flags & ebq_oom_flags::EBQ_OOM_VICTIM.0 == 0 {
                Value::Null
            } else {
                Value::Int(e.oom_score_adj.into())
            }
        }
    )
    .width(5),
];

static OOM_PROGRAMS: &[Program] = &[
    // The victim's task, as the OOM killer sends it SIGKILL.
    Program::new("oom_kill_signal", "raw_tp/signal_generate", &[], None)
        .event("signal/signal_generate"),
    Program::new(
        "oom_mark_victim",
        "tracepoint/oom/mark_victim",
        &[],
        Some(ebq_oom_stat::EBQ_STAT_SENT_OOM.0),
    ),
];

pub static OOM_EVENTS: Table = Table {
    name: "oom_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["oomkill_events"],
    doc: "One row per task the OOM killer kills: the victim, its memory, the trigger",
    columns: OOM_COLUMNS,
    programs: OOM_PROGRAMS,
    agg: None,
    buffer: 64 << 10,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the victim's header, its memory figures, the trigger",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_in_kib_and_null_unread() {
        let t = &OOM_EVENTS;
        let col = |name: &str, e: &ebq_oom_event| {
            let c = t.column(name).expect("column");
            (t.columns[c].get)(&Record::of(Default::default(), e))
        };
        let e = ebq_oom_event {
            total_vm_pages: 10,
            pgtables_bytes: 8192,
            flags: ebq_oom_flags::EBQ_OOM_MEM.0 | ebq_oom_flags::EBQ_OOM_VICTIM.0,
            oom_score_adj: -17,
            ..Default::default()
        };
        assert_eq!(col("total_vm", &e), Value::Int(10 * page_kib() as i64));
        assert_eq!(col("pgtables", &e), Value::Int(8));
        assert_eq!(col("oom_score_adj", &e), Value::Int(-17));
        let unread = ebq_oom_event::default();
        assert_eq!(col("total_vm", &unread), Value::Null);
        assert_eq!(col("oom_score_adj", &unread), Value::Null);
    }
}
