/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * process_exit_events: one event when a process ends, that is when the last
 * of its threads leaves do_exit() (kernel/exit.c: signal->live drops to 0
 * before trace_sched_process_exit() fires).
 */
#ifndef __EBQ_EXIT_BPF_H__
#define __EBQ_EXIT_BPF_H__

#include "common.bpf.h"
#include "exit.h"

/* include/linux/sched/signal.h */
#define SIGNAL_GROUP_EXIT 0x00000004

SEC("raw_tp/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *p)
{
	struct ebq_exit_event *e;
	struct signal_struct *sig = BPF_CORE_READ(p, signal);
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__s32 status, code;
	bool killed;

	if (BPF_CORE_READ(sig, live.counter) != 0 || tgid == CFG.self_tgid)
		return 0;
	/* A group exit (exit_group, a fatal signal) carries the group's code. */
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		status = BPF_CORE_READ(sig, group_exit_code);
	else
		status = BPF_CORE_READ(p, exit_code);
	killed = (status & 0x7f) != 0;
	code = (status >> 8) & 0xff;
	/* A NULL column fails every comparison the kernel filters make. */
	if (!stable_ok(p, tgid) || !cgroup_now_ok(p) ||
	    (CFG.int_mode[EBQ_COL_EXIT_CODE] && (killed || !int_ok(EBQ_COL_EXIT_CODE, code))) ||
	    (CFG.int_mode[EBQ_EXIT_COL_SIGNAL] && (!killed || !int_ok(EBQ_EXIT_COL_SIGNAL, status & 0x7f)))) {
		filtered();
		return 0;
	}
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_EXIT);
	if (!e)
		return 0;
	fill_header(&e->h, p);
	if (!header_ok(&e->h)) {
		bpf_ringbuf_discard(e, 0);
		filtered();
		return 0;
	}
	e->status = status;
	e->duration_ns = bpf_ktime_get_ns() - BPF_CORE_READ(p, group_leader, start_time);
	e->_pad = 0;
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_EXIT);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_exit_event _ebq_exit_event = {};
enum ebq_exit_col _ebq_exit_col = EBQ_EXIT_COL_SIGNAL;
enum ebq_exit_stat _ebq_exit_stat = EBQ_STAT_SENT_EXIT;

#endif /* __EBQ_EXIT_BPF_H__ */
