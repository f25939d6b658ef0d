/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of block_io_events: block I/O requests completed
 * (block.bpf.h): its event, its flags, its own filter columns and
 * counters. The Rust side is generated from BTF (src/abi.rs), as for
 * bpf/ebq.h, whose rules hold here too.
 */
#ifndef __EBQ_BLOCK_H__
#define __EBQ_BLOCK_H__

#include "ebq.h"

/* DISK_NAME_LEN in include/linux/blkdev.h. */
#define EBQ_DISK_NAME_LEN 32
/*
 * Requests (or, before Linux 6.5, bios) noted at submission and not yet
 * completed: an LRU hash, so what is never completed (a bio a stacking
 * driver ends itself) ages out. A queue holds at most its nr_requests
 * (64 to 2048 per hardware queue) in flight; this is room for many disks.
 */
enum ebq_block_limits {
	EBQ_BLOCK_INFLIGHT = 16384,
};

/* What the event knows (flags). */
enum ebq_block_flags {
	/* The request's flags (enum req_flag_bits), as the kernel's rwbs. */
	EBQ_BLOCK_SYNC = 1 << 0,
	EBQ_BLOCK_META = 1 << 1,
	EBQ_BLOCK_FUA = 1 << 2,
	EBQ_BLOCK_PREFLUSH = 1 << 3,
	EBQ_BLOCK_RAHEAD = 1 << 4,
	/* The header is the issuer's, noted at submission: without it no
	 * task is known (the task columns are NULL). */
	EBQ_BLOCK_ISSUER = 1 << 8,
	/* The submission was seen: queued_ns holds. */
	EBQ_BLOCK_QUEUED = 1 << 9,
	/* Submitted by a task no row may have (ebq, or one a filter on what
	 * it cannot change refuses): its completion is no row. Noted all the
	 * same, so a stale note at that address is never taken for it. */
	EBQ_BLOCK_REFUSED = 1 << 10,
};

/*
 * A request completed (block:block_rq_complete, in whatever context the
 * driver completes it: often an interrupt). The header is the task that
 * submitted it, noted then, with the completion's time; never the task
 * the completion interrupted.
 */
struct ebq_block_event {
	struct ebq_header h;
	__u64 sector;
	__u64 latency_ns;  /* issue to the driver -> completion */
	__u64 queued_ns;   /* submission -> issue (EBQ_BLOCK_QUEUED) */
	__u32 dev;         /* the disk's dev_t, the kernel's MKDEV: major << 20 | minor */
	__u32 bytes;       /* completed by this completion */
	__u32 op;          /* enum req_op: cmd_flags & REQ_OP_MASK */
	__u32 flags;       /* enum ebq_block_flags */
	__s32 error;       /* the completion's status: -errno (5.10) or blk_status_t */
	__u32 _pad;
	char disk[EBQ_DISK_NAME_LEN];
};

/* What the query needs noted at submission (cfg.capture). */
enum ebq_block_capture {
	EBQ_BLOCK_CAP_ISSUER = EBQ_CAP_TABLE,     /* the issuer (a task column, -c / -p) */
	EBQ_BLOCK_CAP_QUEUED = EBQ_CAP_TABLE << 1, /* the submission's time (queued) */
};

/* A request in flight: its issuer and times (block_start in block.bpf.h). */
struct ebq_block_start {
	struct ebq_header h;
	__u64 start_ns;
	__u64 issue_ns;
	__u32 flags;       /* EBQ_BLOCK_ISSUER, EBQ_BLOCK_QUEUED */
	__u32 _pad;
};

enum ebq_block_stat {
	EBQ_STAT_SENT_BLOCK = EBQ_STAT_TABLE, /* block_rq_complete */
};

/* Its own filter columns. */
enum ebq_block_col {
	EBQ_BLOCK_COL_MAJOR = EBQ_COL_TABLE,
	EBQ_BLOCK_COL_MINOR,
	EBQ_BLOCK_COL_OP,
	EBQ_BLOCK_COL_BYTES,
	EBQ_BLOCK_COL_LATENCY,
};
_Static_assert(EBQ_BLOCK_COL_LATENCY < EBQ_FILTER_COLS, "block_io_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_BLOCK + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_BLOCK_H__ */
