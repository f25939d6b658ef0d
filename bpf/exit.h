/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of process_exit_events: processes that ended (exit.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_EXIT_H__
#define __EBQ_EXIT_H__

#include "ebq.h"

/* A process that ended: its last thread left do_exit(). */
struct ebq_exit_event {
	struct ebq_header h;
	__u64 duration_ns; /* lifetime: now - the group leader's start_time */
	__s32 status;      /* wait(2) status: exit code << 8 | core 0x80 | signal */
	__u32 _pad;
};

enum ebq_exit_stat {
	EBQ_STAT_SENT_EXIT = EBQ_STAT_TABLE,  /* process_exit */
};

/* Its own filter columns. */
enum ebq_exit_col {
	EBQ_EXIT_COL_SIGNAL = EBQ_COL_TABLE,
};
_Static_assert(EBQ_EXIT_COL_SIGNAL < EBQ_FILTER_COLS, "process_exit_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_EXIT + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_EXIT_H__ */
