/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The cgroup notes, every table's: a query that reads a container column
 * or filters on one attaches these two programs (src/plan/mod.rs,
 * CGROUP_PROGRAMS), which tell userspace of every cgroup made or removed
 * in the hierarchies it resolves (bpf/cgroup.h). A cgroup made during the
 * run is then known before any event of a task in it is read, even when
 * the container is gone by then: its cgroup cannot be walked any more.
 */
#ifndef __EBQ_CGROUP_BPF_H__
#define __EBQ_CGROUP_BPF_H__

#include "common.bpf.h"

/*
 * The tracepoints' arguments (include/trace/events/cgroup.h, class
 * cgroup): the cgroup, and its path from its hierarchy's root, formatted
 * by the kernel into a buffer of TRACE_CGROUP_PATH_LEN.
 */
static __always_inline int cgroup_note(struct cgroup *cgrp, const char *path, __u32 op)
{
	__u32 sent = op == EBQ_CGROUP_MKDIR ? EBQ_STAT_SENT_CGROUP : EBQ_STAT_SENT_CGROUP_RMDIR;
	__u32 hierarchy = BPF_CORE_READ(cgrp, root, hierarchy_id);
	struct ebq_cgroup_event *e;
	long n;

	/* cgroup2's root is cgrp_dfl_root, hierarchy 0 (kernel/cgroup/cgroup.c). */
	if (hierarchy != 0 && hierarchy != CFG.v1_hierarchy)
		return 0;
	/*
	 * Notes never push out rows: with half the ring buffer waiting to be
	 * read, a note is dropped (and counted lost). A cgroup whose note was
	 * lost is found by a walk of the tree at its first row, as long as
	 * it is still there. Anyone allowed to make cgroups (a delegated
	 * subtree) can make them by the thousand.
	 */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2) {
		stat_inc(sent + EBQ_STAT_LOST_BASE);
		return 0;
	}
	e = scratch_slot();
	if (!e)
		return 0;
	__builtin_memset(&e->h, 0, sizeof(e->h));
	e->h.ktime_ns = bpf_ktime_get_boot_ns();
	e->h.kind = EBQ_KIND_CGROUP;
	e->h.pid = bpf_get_current_pid_tgid() >> 32;
	e->id = BPF_CORE_READ(cgrp, kn, id);
	e->hierarchy = hierarchy;
	e->op = op;
	e->flags = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (n <= 0) {
		n = 1;
		e->flags |= EBQ_CGROUP_CUT;
	} else if (n >= (long)sizeof(e->path)) {
		/* The kernel's own buffer is this size: a path that fills it
		 * may have been cut there. */
		n = sizeof(e->path);
		e->flags |= EBQ_CGROUP_CUT;
	}
	e->path_len = n - 1;
	/* As long as its path, not the whole buffer: notes are many when
	 * cgroups come and go. */
	submit_event(e, __builtin_offsetof(struct ebq_cgroup_event, path) + (__u64)n, sent);
	return 0;
}

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_note(cgrp, path, EBQ_CGROUP_MKDIR);
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_note(cgrp, path, EBQ_CGROUP_RMDIR);
}

#endif /* __EBQ_CGROUP_BPF_H__ */
