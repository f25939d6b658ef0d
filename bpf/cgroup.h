/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of ebq's cgroup machinery, every table's: the
 * verdicts userspace gives cgroups for a query's container filters, and
 * the notes the kernel sends when a cgroup is made or removed
 * (cgroup.bpf.h). The Rust side is generated from BTF (src/abi.rs), as
 * for bpf/ebq.h, whose rules hold here too.
 *
 * Which cgroup a row is in: the header's cgroup_id is the task's cgroup
 * v2 (bpf_get_current_cgroup_id()). On a hybrid or v1 host a container
 * may be in v1 hierarchies only (its cgroup2 is the root), so the header
 * can also carry the task's cgroup in one v1 controller's hierarchy
 * (cgroup_v1, cfg.v1_ssid): userspace resolves the v2 one first, and the
 * v1 one when the v2 one names no container (src/exec/containers.rs).
 */
#ifndef __EBQ_CGROUP_H__
#define __EBQ_CGROUP_H__

#include "ebq.h"

/*
 * The header.kind of a cgroup note: no table's number (the catalog's
 * TABLES index), so the decoder tells the two apart by it.
 */
enum ebq_cgroup_kind {
	EBQ_KIND_CGROUP = 0xc6c6,
};

/*
 * TRACE_CGROUP_PATH_LEN (kernel/cgroup/cgroup-internal.h): the buffer the
 * kernel formats a cgroup tracepoint's path in. A longer path comes cut,
 * and is flagged (EBQ_CGROUP_CUT): userspace then walks the mount.
 */
#define EBQ_CGROUP_PATH_MAX 1024

enum ebq_cgroup_op {
	EBQ_CGROUP_MKDIR = 1,
	EBQ_CGROUP_RMDIR = 2,
};

enum ebq_cgroup_flags {
	EBQ_CGROUP_CUT = 1 << 0,
};

/*
 * A cgroup made or removed (cgroup:cgroup_mkdir, cgroup:cgroup_rmdir), in
 * the cgroup2 hierarchy or the v1 one of cfg.v1_hierarchy. It goes into
 * the events ring buffer ahead of every event of a task in it, so a row
 * of a container that came and went between two walks of the cgroup
 * tree still finds its cgroup.
 */
struct ebq_cgroup_event {
	struct ebq_header h;     /* h.kind = EBQ_KIND_CGROUP; the rest zero
				    but ktime_ns and pid */
	__u64 id;                /* the cgroup's kernfs id (cgrp->kn->id) */
	__u32 hierarchy;         /* 0: cgroup2; else cfg.v1_hierarchy */
	__u32 op;                /* enum ebq_cgroup_op */
	__u32 flags;             /* enum ebq_cgroup_flags */
	__u32 path_len;          /* bytes of path, no NUL */
	char path[EBQ_CGROUP_PATH_MAX]; /* from the hierarchy's root: /a/b */
};

/* cfg.cgroup_filter: whether the kernel looks up cgroup_verdicts. */
enum ebq_cgroup_filter {
	EBQ_CGF_OFF = 0,
	EBQ_CGF_V2 = 1,          /* the cgroup2 id's verdict */
	EBQ_CGF_V1 = 2,          /* and, when it defers, the v1 id's */
};

/* Key of the cgroup_verdicts hash map. */
struct ebq_cgroup_key {
	__u64 id;
	__u32 hierarchy;         /* 0: cgroup2; 1: the v1 one (cfg.v1_ssid) */
	__u32 _pad;
};

/*
 * What a query's container filters say of a cgroup's events, as
 * userspace resolved the cgroup. A cgroup with no verdict (not resolved
 * yet) is kept: the kernel filter may keep too much, never too little.
 */
enum ebq_cgroup_verdict {
	EBQ_CGV_KEEP = 1,
	EBQ_CGV_DROP = 2,
	/* cgroup2 only: it names no container; the v1 cgroup's verdict says */
	EBQ_CGV_DEFER = 3,
};

/* The cgroup notes' counters (sent, and lost + EBQ_STAT_LOST_BASE). */
enum ebq_cgroup_stat {
	EBQ_STAT_SENT_CGROUP = 4,       /* cgroup_mkdir */
	EBQ_STAT_SENT_CGROUP_RMDIR = 5, /* cgroup_rmdir */
};
_Static_assert(EBQ_STAT_SENT_CGROUP_RMDIR < EBQ_STAT_TABLE, "below every table's counters");

#endif /* __EBQ_CGROUP_H__ */
