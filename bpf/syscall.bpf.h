/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * syscall_events: any syscall, from raw_syscalls:sys_enter and sys_exit.
 * The entry is on every syscall of the machine, so it checks the cheapest
 * filters first: the wanted syscall numbers (a bitmap in rodata), then
 * pid, uid and the rest. A query that needs nothing the exit knows
 * (exit_code, error, duration) attaches the entry alone and reports there.
 */
#ifndef __EBQ_SYSCALL_BPF_H__
#define __EBQ_SYSCALL_BPF_H__

#include "common.bpf.h"
#include "syscall.h"
#include "agg.bpf.h"

static __always_inline bool nr_ok(__u64 nr)
{
	if (CFG.int_mode[EBQ_SYSCALL_COL_NR] & EBQ_F_IN) {
		if (nr >= EBQ_NR_MAX)
			return false;
		if (!(CFG.nr_bitmap[nr / 64] & (1ULL << (nr % 64))))
			return false;
	}
	if ((CFG.int_mode[EBQ_SYSCALL_COL_NR] & EBQ_F_RANGE) &&
	    ((__s64)nr < CFG.range[EBQ_SYSCALL_COL_NR].lo || (__s64)nr > CFG.range[EBQ_SYSCALL_COL_NR].hi))
		return false;
	return true;
}

static __always_inline void sys_report(struct task_struct *task, __u64 nr, __s64 ret,
				       __u64 duration, const __u64 *args, __u32 flags)
{
	struct ebq_syscall_event *e;

	if (CFG.agg_enabled) {
		aggregate_current(nr, ret, duration);
		return;
	}
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_SYSCALL);
	if (!e)
		return;
	fill_header(&e->h, task);
	if (!header_ok(&e->h)) {
		bpf_ringbuf_discard(e, 0);
		filtered();
		return;
	}
	e->nr = nr;
	e->ret = ret;
	e->duration_ns = duration;
	e->flags = flags;
	if (args)
		__builtin_memcpy(e->args, args, sizeof(e->args));
	else
		__builtin_memset(e->args, 0, sizeof(e->args));
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_SYSCALL);
}

/*
 * The call's arguments, one load each at a constant offset of the record:
 * the verifier refuses a context read through a pointer moved by a loop
 * ("dereference of modified ctx ptr", kernel/bpf/verifier.c
 * check_ctx_access()), which is what clang made of a loop over args[].
 */
static __always_inline void read_args(__u64 *args, struct trace_event_raw_sys_enter *ctx)
{
	args[0] = ctx->args[0];
	args[1] = ctx->args[1];
	args[2] = ctx->args[2];
	args[3] = ctx->args[3];
	args[4] = ctx->args[4];
	args[5] = ctx->args[5];
}

/* The argument filters (=, ranges, sets on arg0..arg5), each a constant
 * offset of the record; cut by the verifier when off. */
static __always_inline bool args_ok(struct trace_event_raw_sys_enter *ctx)
{
	return int_ok(EBQ_SYSCALL_COL_ARG0, ctx->args[0]) && int_ok(EBQ_SYSCALL_COL_ARG0 + 1, ctx->args[1]) &&
	       int_ok(EBQ_SYSCALL_COL_ARG0 + 2, ctx->args[2]) && int_ok(EBQ_SYSCALL_COL_ARG0 + 3, ctx->args[3]) &&
	       int_ok(EBQ_SYSCALL_COL_ARG0 + 4, ctx->args[4]) && int_ok(EBQ_SYSCALL_COL_ARG5, ctx->args[5]);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	__u64 nr = ctx->id;

	if (!nr_ok(nr))
		return 0;
	/* Filters first, our own pid after: most calls stop at a filter. */
	if (quick_rejects() ||
	    (CFG.int_mode[EBQ_COL_TID] && !int_ok(EBQ_COL_TID, (__u32)bpf_get_current_pid_tgid())) ||
	    !stable_ok(NULL, tgid_if_needed()) || !comm_ok_current() || !args_ok(ctx) ||
	    /* Reported now: the cgroup now is the row's (cgroup_now_ok). */
	    (!(CFG.capture & EBQ_SYSCALL_CAP_EXIT) && !cgroup_now_ok(NULL))) {
		filtered();
		return 0;
	}
	if ((bpf_get_current_pid_tgid() >> 32) == CFG.self_tgid)
		return 0;
	task = (void *)bpf_get_current_task();
	if (CFG.capture & EBQ_SYSCALL_CAP_EXIT) {
		struct inflight st = {};

		st.start_ns = bpf_ktime_get_ns();
		st.what = nr;
		if (CFG.capture & EBQ_SYSCALL_CAP_SYSARGS)
			read_args(st.args, ctx);
		put_inflight(&st);
		return 0;
	}
	if (CFG.capture & EBQ_SYSCALL_CAP_SYSARGS) {
		__u64 args[6];

		read_args(args, ctx);
		sys_report(task, nr, 0, 0, args, EBQ_SYSCALL_HAS_ARGS);
	} else {
		sys_report(task, nr, 0, 0, NULL, 0);
	}
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct inflight st;
	__u64 duration;
	__s64 ret = ctx->ret;

	if (!take_inflight(&st))
		return 0;
	/* exit_group and a successful execve never come back here. */
	if (st.what != (__u32)ctx->id)
		return 0;
	duration = bpf_ktime_get_ns() - st.start_ns;
	if (!int_ok(EBQ_COL_EXIT_CODE, ret) || !int_ok(EBQ_SYSCALL_COL_DURATION, duration)) {
		filtered();
		return 0;
	}
	sys_report((void *)bpf_get_current_task(), st.what, ret, duration,
		   (CFG.capture & EBQ_SYSCALL_CAP_SYSARGS) ? st.args : NULL,
		   EBQ_SYSCALL_HAS_EXIT |
			   ((CFG.capture & EBQ_SYSCALL_CAP_SYSARGS) ? EBQ_SYSCALL_HAS_ARGS : 0));
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
enum ebq_syscall_capture _ebq_syscall_capture = EBQ_SYSCALL_CAP_EXIT;
struct ebq_syscall_event _ebq_syscall_event = {};
enum ebq_syscall_flags _ebq_syscall_flags = EBQ_SYSCALL_HAS_EXIT;
enum ebq_syscall_col _ebq_syscall_col = EBQ_SYSCALL_COL_NR;
enum ebq_syscall_stat _ebq_syscall_stat = EBQ_STAT_SENT_SYSCALL;

#endif /* __EBQ_SYSCALL_BPF_H__ */
