/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * signal_events: every signal generated, by kill(2) and friends or by the
 * kernel itself (SIGSEGV, SIGCHLD, SIGPIPE ...): signal:signal_generate
 * (kernel/signal.c, __send_signal_locked()). The current task is the
 * sender; for a signal the kernel raises on a fault, sender and target
 * are the same task. Under -c / -p a signal is in scope when its sender
 * or its target is followed: the SIGCHLD a child of the tree sends as it
 * exits, and the kill an outside process sends into the tree.
 */
#ifndef __EBQ_SIGNAL_BPF_H__
#define __EBQ_SIGNAL_BPF_H__

#include "common.bpf.h"
#include "signal.h"

/* include/linux/sched/signal.h: the two special siginfo pointers. */
#define SEND_SIG_NOINFO 0
#define SEND_SIG_PRIV 1
/* include/uapi/asm-generic/siginfo.h */
#define SI_USER 0
#define SI_KERNEL 0x80

SEC("raw_tp/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct task_struct *cur = (void *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 target = BPF_CORE_READ(task, tgid);
	struct ebq_signal_event *e;

	if (tgid == CFG.self_tgid || target == CFG.self_tgid)
		return 0;
	if (!int_ok(EBQ_SIGNAL_COL_SIGNAL, sig) || !int_ok(EBQ_SIGNAL_COL_TARGET_PID, target) ||
	    (CFG.follow && !followed_ok(tgid) && !bpf_map_lookup_elem(&followed, &target)) ||
	    !stable_ok_unfollowed(cur, tgid) || !cgroup_now_ok(cur)) {
		filtered();
		return 0;
	}
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_SIGNAL);
	if (!e)
		return 0;
	fill_header(&e->h, cur);
	if (!header_ok_unfollowed(&e->h)) {
		bpf_ringbuf_discard(e, 0);
		filtered();
		return 0;
	}
	e->signal = sig;
	if ((unsigned long)info == SEND_SIG_NOINFO)
		e->code = SI_USER;
	else if ((unsigned long)info == SEND_SIG_PRIV)
		e->code = SI_KERNEL;
	else
		e->code = BPF_CORE_READ(info, si_code);
	e->target_pid = target;
	e->target_tid = BPF_CORE_READ(task, pid);
	e->result = result;
	e->group = group != 0;
	BPF_CORE_READ_STR_INTO(&e->target_comm, task, comm);
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_SIGNAL);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_signal_event _ebq_signal_event = {};
enum ebq_signal_col _ebq_signal_col = EBQ_SIGNAL_COL_SIGNAL;
enum ebq_signal_stat _ebq_signal_stat = EBQ_STAT_SENT_SIGNAL;

#endif /* __EBQ_SIGNAL_BPF_H__ */
