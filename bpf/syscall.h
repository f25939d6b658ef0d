/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of syscall_events: every syscall (syscall.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_SYSCALL_H__
#define __EBQ_SYSCALL_H__

#include "ebq.h"

/* syscall_events: one syscall (raw_syscalls:sys_enter / sys_exit). */
struct ebq_syscall_event {
	struct ebq_header h;
	__u64 duration_ns;  /* 0 when only the entry is traced */
	__s64 ret;
	__u64 args[6];
	__u32 nr;
	__u32 flags;        /* enum ebq_syscall_flags */
};

enum ebq_syscall_flags {
	EBQ_SYSCALL_HAS_EXIT = 1 << 0, /* ret and duration are known */
	EBQ_SYSCALL_HAS_ARGS = 1 << 1,
};

/* Its own capture bits (cfg.capture). */
enum ebq_syscall_capture {
	EBQ_SYSCALL_CAP_EXIT = EBQ_CAP_TABLE << 0,    /* trace the exit too */
	EBQ_SYSCALL_CAP_SYSARGS = EBQ_CAP_TABLE << 1, /* copy the arguments */
};

enum ebq_syscall_stat {
	EBQ_STAT_SENT_SYSCALL = EBQ_STAT_TABLE, /* sys_enter or sys_exit */
};

/* Its own filter columns: the syscall number, the duration, then the six
 * arguments (in this order for --explain, as before they were its own). */
enum ebq_syscall_col {
	EBQ_SYSCALL_COL_NR = EBQ_COL_TABLE,
	EBQ_SYSCALL_COL_DURATION,
	EBQ_SYSCALL_COL_ARG0,
	EBQ_SYSCALL_COL_ARG5 = EBQ_SYSCALL_COL_ARG0 + 5,
};
_Static_assert(EBQ_SYSCALL_COL_ARG5 < EBQ_FILTER_COLS, "syscall_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_SYSCALL + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_SYSCALL_H__ */
