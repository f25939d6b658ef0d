/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of signal_events: signals generated (signal.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_SIGNAL_H__
#define __EBQ_SIGNAL_H__

#include "ebq.h"

/* A signal generated (signal:signal_generate). The header is the sender. */
struct ebq_signal_event {
	struct ebq_header h;
	__s32 signal;
	__s32 code;        /* si_code: SI_USER 0, SI_KERNEL 0x80, SI_TKILL -6 ... */
	__u32 target_pid;
	__u32 target_tid;
	__s32 result;      /* enum trace_signal_ret in include/trace/events/signal.h */
	__u32 group;       /* sent to the whole thread group */
	char target_comm[EBQ_COMM_LEN];
};

enum ebq_signal_stat {
	EBQ_STAT_SENT_SIGNAL = EBQ_STAT_TABLE, /* signal_generate */
};

/* Its own filter columns. */
enum ebq_signal_col {
	EBQ_SIGNAL_COL_SIGNAL = EBQ_COL_TABLE,
	EBQ_SIGNAL_COL_TARGET_PID,
};
_Static_assert(EBQ_SIGNAL_COL_TARGET_PID < EBQ_FILTER_COLS, "signal_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_SIGNAL + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_SIGNAL_H__ */
