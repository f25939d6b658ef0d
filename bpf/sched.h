/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of sched_events: run-queue latency, on-CPU and
 * off-CPU time from the scheduler's tracepoints (sched.bpf.h): its event,
 * actions, its own filter columns and counters. The Rust side is
 * generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules hold
 * here too.
 */
#ifndef __EBQ_SCHED_H__
#define __EBQ_SCHED_H__

#include "ebq.h"

/*
 * Tasks whose times are noted between two switches. An LRU hash: a task
 * that dies with a note left is forgotten in time. PID_MAX_DEFAULT
 * (include/linux/threads.h): every task of a host with the default
 * pid_max; with more at once the oldest notes go (their rows are lost,
 * never more memory).
 */
enum ebq_sched_limits {
	EBQ_SCHED_TASKS = 32768,
};

/* What a row measures (its `action`); cfg.actions: a bit each. */
enum ebq_sched_action {
	EBQ_SCHED_RUNQ = 0,   /* woken (or preempted) to switched in: runqlat */
	EBQ_SCHED_ONCPU = 1,  /* switched in to switched out: cpudist */
	EBQ_SCHED_OFFCPU = 2, /* switched out blocked to switched in: offcputime */
};

/* A row: the task it is about (woken, or switched), never a bystander. */
struct ebq_sched_event {
	struct ebq_header h;
	__u64 duration_ns;
	__u32 action;     /* enum ebq_sched_action */
	__u32 cpu;        /* the CPU of the switch that ended the interval */
	__u32 preempted;  /* oncpu: it left the CPU runnable; runq: its wait began so */
	__s32 state;      /* oncpu, offcpu: its state as it left (0 runnable) */
};

/* A task's last times (sched_times in sched.bpf.h). */
struct ebq_sched_times {
	__u64 queued_ns;  /* woken, or switched out runnable */
	__u64 on_ns;      /* switched in */
	__u64 off_ns;     /* switched out blocked */
	__s32 off_state;  /* its state then */
	__u32 requeued;   /* the wait began at a switch-out, not a wakeup */
};

enum ebq_sched_stat {
	EBQ_STAT_SENT_SCHED = EBQ_STAT_TABLE, /* sched_switch */
};

/* Its own filter columns. */
enum ebq_sched_col {
	EBQ_SCHED_COL_CPU = EBQ_COL_TABLE,
	EBQ_SCHED_COL_DURATION,
};
_Static_assert(EBQ_SCHED_COL_DURATION < EBQ_FILTER_COLS, "sched_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_SCHED + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_SCHED_H__ */
