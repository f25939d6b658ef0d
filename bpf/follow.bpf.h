/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The -c / -p machinery, every table's: the planner attaches these two
 * programs under -c / -p whatever the table (src/plan/mod.rs,
 * FOLLOW_PROGRAMS), and the tables' filters read the `followed` map they
 * keep (bpf/common.bpf.h, followed_ok).
 */
#ifndef __EBQ_FOLLOW_BPF_H__
#define __EBQ_FOLLOW_BPF_H__

#include "common.bpf.h"

/*
 * -c / -p: children of followed processes are followed too. A process
 * stays followed until it is gone, that is until its last thread is
 * reaped and its leader's task_struct freed (sched_process_free): a leader
 * that leaves first with pthread_exit() leaves its threads running under
 * its pid, and an exec from another thread makes that thread the leader
 * (de_thread() in fs/exec.c exchanges their pids) while the old one exits;
 * the process goes on in both. The SIGCHLD of a child that exits is sent
 * after its exit, and is in scope too.
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (ctgid == ptgid || !bpf_map_lookup_elem(&followed, &ptgid))
		return 0;
	if (bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY))
		stat_inc(EBQ_STAT_FOLLOW_FULL);
	return 0;
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(follow_free, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* The leader's pid is the process's: after de_thread() the old
	 * leader carries the exec'ing thread's pid, and is no leader. */
	if (BPF_CORE_READ(p, pid) == tgid)
		bpf_map_delete_elem(&followed, &tgid);
	return 0;
}

#endif /* __EBQ_FOLLOW_BPF_H__ */
