//! sched_events: the scheduler's intervals (bpf/sched.bpf.h), each about
//! the task it measures, never the one that happened to run the
//! tracepoint: `runq` is run-queue latency (woken, or preempted, to
//! switched in: runqlat), `oncpu` a slice on a CPU (cpudist), `offcpu` the
//! time a task spent blocked (offcputime, without stacks). `hist(duration)`
//! grouped by comm, pid or cpu aggregates in the kernel.

use super::common::{with_common, U32_MAX};
use super::{Column, Domain, KernelAggSpec, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_agg_keys, ebq_agg_measure, ebq_sched_action, ebq_sched_col, ebq_sched_event, ebq_sched_stat,
};
use crate::model::record::{Layout, Record};
use crate::model::value::Value;

crate::plain_abi!(ebq_sched_event);

/// Its records: struct ebq_sched_event (bpf/sched.h) alone.
const LAYOUT: Layout = Layout::fixed::<ebq_sched_event>();

fn ev<'r>(r: &'r Record) -> &'r ebq_sched_event {
    r.get()
}

/// Action names, in enum ebq_sched_action order (index = value).
const ACTIONS: [&str; 3] = ["runq", "oncpu", "offcpu"];

const _: () = {
    assert!(ebq_sched_action::EBQ_SCHED_RUNQ.0 == 0);
    assert!(ebq_sched_action::EBQ_SCHED_ONCPU.0 == 1);
    assert!(ebq_sched_action::EBQ_SCHED_OFFCPU.0 == 2);
};

/// The bit of an action in cfg.actions.
pub fn action_bit(name: &str) -> Option<u32> {
    ACTIONS.iter().position(|a| *a == name).map(|i| 1 << i)
}

/// A task's state as ps(1) spells it (include/linux/sched.h): R for
/// runnable, S sleeping, D uninterruptible, I idle (uninterruptible that
/// does not count as load), T stopped, t traced, P parked, X dead, from
/// its base bits; the modifiers (TASK_WAKEKILL, TASK_FREEZABLE ...) are
/// left out, as ps leaves them.
fn state_name(state: i32) -> String {
    const INTERRUPTIBLE: i32 = 0x1;
    const UNINTERRUPTIBLE: i32 = 0x2;
    const STOPPED: i32 = 0x4;
    const TRACED: i32 = 0x8;
    const EXIT_DEAD: i32 = 0x10;
    const EXIT_ZOMBIE: i32 = 0x20;
    const PARKED: i32 = 0x40;
    const DEAD: i32 = 0x80;
    const NOLOAD: i32 = 0x400;
    let s = if state == 0 {
        "R"
    } else if state & (DEAD | EXIT_DEAD) != 0 {
        "X"
    } else if state & EXIT_ZOMBIE != 0 {
        "Z"
    } else if state & UNINTERRUPTIBLE != 0 && state & NOLOAD != 0 {
        "I"
    } else if state & INTERRUPTIBLE != 0 {
        "S"
    } else if state & UNINTERRUPTIBLE != 0 {
        "D"
    } else if state & STOPPED != 0 {
        "T"
    } else if state & TRACED != 0 {
        "t"
    } else if state & PARKED != 0 {
        "P"
    } else {
        return state.to_string();
    };
    s.into()
}

static SCHED_COLUMNS: &[Column] = &with_common![
    Column::text(
        "action",
        "runq (run-queue latency), oncpu (time on a CPU), offcpu (time blocked)",
        |r| super::common::action_text(&ACTIONS, ev(r).action)
    )
    .filter(KernelFilter::Probe)
    .domain(Domain::List("a sched_events action", &ACTIONS))
    .width(6),
    Column::int(
        "cpu",
        "The CPU of the switch that ended the interval",
        |r| { Value::Int(ev(r).cpu.into()) }
    )
    .slot(ebq_sched_col::EBQ_SCHED_COL_CPU.0, 0, U32_MAX)
    .width(3),
    Column::int("duration", "The interval, ns", |r| {
        Value::Int(i64::try_from(ev(r).duration_ns).unwrap_or(i64::MAX))
    })
    .slot(ebq_sched_col::EBQ_SCHED_COL_DURATION.0, 0, i64::MAX)
    .width(10),
    Column::text(
        "reason",
        "runq: woken or preempted (its wait's start); oncpu: preempted or blocked",
        |r| {
            let e = ev(r);
            match (ACTIONS.get(e.action as usize), e.preempted != 0) {
                (Some(&"offcpu"), _) | (None, _) => Value::Null,
                (Some(_), true) => Value::Text("preempted".into()),
                (Some(&"runq"), false) => Value::Text("woken".into()),
                (Some(_), false) => Value::Text("blocked".into()),
            }
        }
    )
    .domain(Domain::List(
        "a switch reason",
        &["woken", "preempted", "blocked"]
    ))
    .width(9),
    Column::text(
        "state",
        "oncpu, offcpu: its state as it left (R S D I T ...); NULL for runq",
        |r| {
            let e = ev(r);
            if ACTIONS.get(e.action as usize) == Some(&"runq") {
                Value::Null
            } else {
                Value::Text(state_name(e.state))
            }
        }
    )
    .width(5),
];

/// The actions a program's rows have: a wakeup starts a wait only.
const RUNQ: &[&str] = &["runq"];
const ALL: &[&str] = &["runq", "oncpu", "offcpu"];

static SCHED_PROGRAMS: &[Program] = &[
    Program::new("sched_wakeup", "raw_tp/sched_wakeup", RUNQ, None).event("sched/sched_wakeup"),
    Program::new("sched_wakeup_new", "raw_tp/sched_wakeup_new", RUNQ, None)
        .event("sched/sched_wakeup_new"),
    Program::new(
        "sched_switch",
        "raw_tp/sched_switch",
        ALL,
        Some(ebq_sched_stat::EBQ_STAT_SENT_SCHED.0),
    )
    .event("sched/sched_switch"),
];

static SCHED_AGG: KernelAggSpec = KernelAggSpec {
    keys: &[("cpu", ebq_agg_keys::EBQ_AGG_NR.0)],
    measures: &[("duration", ebq_agg_measure::EBQ_MEASURE_DURATION.0 as u8)],
    event: |h, nr| {
        Record::of(
            h,
            &ebq_sched_event {
                cpu: nr,
                ..Default::default()
            },
        )
    },
};

pub static SCHED_EVENTS: Table = Table {
    name: "sched_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per scheduler interval: run-queue latency, time on a CPU, time blocked",
    columns: SCHED_COLUMNS,
    programs: SCHED_PROGRAMS,
    agg: Some(&SCHED_AGG),
    buffer: 4 << 20,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the task's header, action, cpu, duration, state",
    action_bit: Some(action_bit),
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_states_are_named() {
        assert_eq!(action_bit("runq"), Some(1));
        assert_eq!(action_bit("offcpu"), Some(4));
        assert_eq!(action_bit("nope"), None);
        assert_eq!(state_name(0), "R");
        assert_eq!(state_name(1), "S");
        assert_eq!(state_name(0x402), "I");
        // TASK_INTERRUPTIBLE | TASK_FREEZABLE (6.1+), as a sleep shows.
        assert_eq!(state_name(0x2001), "S");
        assert_eq!(state_name(0x102), "D");
        assert_eq!(state_name(0x80), "X");
        assert_eq!(state_name(0x1000), "4096");
    }
}
