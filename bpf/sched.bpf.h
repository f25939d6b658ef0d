/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * sched_events: the scheduler's intervals, one row (or one update of a
 * kernel group) each, about the task they are about: runqlat's run-queue
 * latency (woken by sched_wakeup or sched_wakeup_new, or switched out
 * still runnable, to switched in), cpudist's on-CPU time (switched in to
 * switched out) and offcputime's off-CPU time (switched out blocked to
 * switched in).
 *
 * sched_switch is the busiest tracepoint there is, so each program does
 * only what the query's actions need (cfg.actions: a wakeup is not even
 * attached without `runq`), with one hash lookup per task it touches, and
 * reads a task's fields only for a row, a group key or a filter. At the
 * switch the current task is still prev (kernel/sched/core.c, __schedule():
 * trace_sched_switch() runs before context_switch()), so its header comes
 * from the helpers; next's from its task_struct.
 */
#ifndef __EBQ_SCHED_BPF_H__
#define __EBQ_SCHED_BPF_H__

#include "common.bpf.h"
#include "agg.bpf.h"
#include "sched.h"

/* Each task's last times, by thread id. Sized by userspace: full for
 * sched_events, 1 otherwise (an LRU hash is preallocated). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_SCHED_TASKS);
	__type(key, __u32);
	__type(value, struct ebq_sched_times);
} sched_times SEC(".maps");

/* include/linux/sched.h */
#define EBQ_TASK_DEAD 0x80

static __always_inline bool sched_wants(__u32 action)
{
	return !CFG.actions || (CFG.actions & (1u << action));
}

/* The entry of `tid`; made (zeroed) when missing and `make`. */
static __always_inline struct ebq_sched_times *times_of(__u32 tid, bool make)
{
	struct ebq_sched_times *t = bpf_map_lookup_elem(&sched_times, &tid);
	struct ebq_sched_times zero = {};

	if (t || !make)
		return t;
	bpf_map_update_elem(&sched_times, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sched_times, &tid);
}

/* A task's state (0: runnable): __state since Linux 5.14, state before. */
static __always_inline long task_state(struct task_struct *t)
{
	struct task_struct___state *old = (void *)t;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ(old, state);
}

/*
 * The filters on `t` that cost one read each, only when on (pid, tid):
 * before any map work, so a task the query does not want costs little.
 */
static __always_inline bool subject_ok(struct task_struct *t)
{
	if (CFG.int_mode[EBQ_COL_PID] && !int_ok(EBQ_COL_PID, BPF_CORE_READ(t, tgid)))
		return false;
	if (CFG.int_mode[EBQ_COL_TID] && !int_ok(EBQ_COL_TID, BPF_CORE_READ(t, pid)))
		return false;
	return true;
}

/* The header and container filters on `t`, read into a scratch header
 * only when one is on (a group has no userspace check after it). */
static __always_inline bool task_passes(struct task_struct *t, bool cur)
{
	struct ebq_header *h;

	if (!task_filtered() && !CFG.cgroup_filter)
		return true;
	h = scratch_slot();
	if (!h)
		return false;
	fill_header_from(h, t, cur);
	return header_ok(h);
}

/* One interval of `t` (the current task when `cur`): a row, or its group. */
static __always_inline void sched_interval(struct task_struct *t, const bool cur, __u32 action,
					   __u64 d, __u32 cpu, __u32 preempted, __s32 state)
{
	struct ebq_sched_event *e;

	if (!int_ok(EBQ_SCHED_COL_CPU, cpu) || !int_ok(EBQ_SCHED_COL_DURATION, d)) {
		filtered();
		return;
	}
	if (CFG.agg_enabled) {
		if (BPF_CORE_READ(t, tgid) == CFG.self_tgid || !task_passes(t, cur)) {
			filtered();
			return;
		}
		aggregate_task(t, cpu, 0, d);
		return;
	}
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_SCHED);
	if (!e)
		return;
	fill_header_from(&e->h, t, cur);
	if (e->h.pid == CFG.self_tgid || !header_ok(&e->h)) {
		bpf_ringbuf_discard(e, 0);
		filtered();
		return;
	}
	e->duration_ns = d;
	e->action = action;
	e->cpu = cpu;
	e->preempted = preempted;
	e->state = state;
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_SCHED);
}

/* A task made runnable: its run-queue wait starts. */
static __always_inline int sched_woken(struct task_struct *p)
{
	__u32 tid;
	struct ebq_sched_times *t;

	if (!subject_ok(p))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	t = times_of(tid, true);

	/* A wakeup starts the wait anew, as runqlat's does: a task woken
	 * while it ran, or while queued (preempted on its way to sleep),
	 * has a wait from its last wakeup. */
	if (t) {
		t->queued_ns = bpf_ktime_get_ns();
		t->requeued = 0;
	}
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return sched_woken(p);
}

/* A new task: whatever a dead one of its tid left is not its. */
SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);

	bpf_map_delete_elem(&sched_times, &tid);
	return sched_woken(p);
}

/*
 * The switch: prev's interval on the CPU ends (and its wait starts again
 * when it is still runnable, or its time off the CPU when it blocks);
 * next's wait, or its time off the CPU, ends. Linux 5.18 passes prev's
 * state as it was when it chose to sleep (fa2c3254d7cf: re-reading
 * __state here races with its wakeup); older kernels are read. Which
 * kernel has the argument is asked of its BTF (the probe's prototype, as
 * block.bpf.h does): distributions backport such changes.
 */
typedef void (*btf_trace_sched_switch___prev_state)(void *, bool, struct task_struct *,
						     struct task_struct *, unsigned int);

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 ptid = BPF_CORE_READ(prev, pid), ntid = BPF_CORE_READ(next, pid);
	bool runq = sched_wants(EBQ_SCHED_RUNQ), on = sched_wants(EBQ_SCHED_ONCPU),
	     off = sched_wants(EBQ_SCHED_OFFCPU);
	__u64 now = bpf_ktime_get_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	struct ebq_sched_times *t;
	__s32 state;
	bool runnable;

	if (bpf_core_type_exists(btf_trace_sched_switch___prev_state))
		state = (__s32)ctx[3];
	else
		state = (__s32)task_state(prev);
	/* It stays on the run queue unless it chose to sleep: a task
	 * preempted on its way to sleep keeps its sleeping state, and is
	 * runnable all the same (__schedule(): it is dequeued only when
	 * !(sched_mode & SM_MASK_PREEMPT) && prev_state). */
	runnable = preempt || state == 0;
	/* prev leaves the CPU (pid 0 is the idle task: never a row). */
	if (ptid && (on || (runnable ? runq : off)) && subject_ok(prev)) {
		t = times_of(ptid, true);
		if (t) {
			if (on && t->on_ns)
				sched_interval(prev, true, EBQ_SCHED_ONCPU, now - t->on_ns, cpu,
					       runnable, state);
			t->on_ns = 0;
			if (runnable) {
				if (runq) {
					t->queued_ns = now;
					t->requeued = 1;
				}
			} else {
				/* A wakeup of it while it ran is no wait. */
				t->queued_ns = 0;
				if (off) {
					t->off_ns = now;
					t->off_state = state;
				}
			}
			/* TASK_DEAD: its last switch; its tid may come again. */
			if (state & EBQ_TASK_DEAD)
				bpf_map_delete_elem(&sched_times, &ptid);
		}
	}
	/* next comes on. */
	if (ntid && subject_ok(next)) {
		t = times_of(ntid, on);
		if (t) {
			if (runq && t->queued_ns) {
				sched_interval(next, false, EBQ_SCHED_RUNQ, now - t->queued_ns, cpu,
					       t->requeued, 0);
				t->queued_ns = 0;
			}
			if (off && t->off_ns) {
				sched_interval(next, false, EBQ_SCHED_OFFCPU, now - t->off_ns, cpu, 0,
					       t->off_state);
				t->off_ns = 0;
			}
			if (on)
				t->on_ns = now;
		}
	}
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_sched_event _ebq_sched_event = {};
struct ebq_sched_times _ebq_sched_times = {};
enum ebq_sched_action _ebq_sched_action = EBQ_SCHED_RUNQ;
enum ebq_sched_col _ebq_sched_col = EBQ_SCHED_COL_CPU;
enum ebq_sched_stat _ebq_sched_stat = EBQ_STAT_SENT_SCHED;
enum ebq_sched_limits _ebq_sched_limits = EBQ_SCHED_TASKS;

#endif /* __EBQ_SCHED_BPF_H__ */
