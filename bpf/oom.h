/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of oom_events: the OOM killer's victims
 * (oom.bpf.h): its event, its flags and counters. The Rust side is
 * generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules hold
 * here too.
 */
#ifndef __EBQ_OOM_H__
#define __EBQ_OOM_H__

#include "ebq.h"

enum ebq_oom_flags {
	/* The header is the victim's, read from its task; without it only
	 * victim_tid is known (the task columns are NULL). */
	EBQ_OOM_VICTIM = 1 << 0,
	/* The memory figures were read from the victim's mm. */
	EBQ_OOM_MEM = 1 << 1,
};

/*
 * A task the OOM killer chose and killed (oom:mark_victim). The header is
 * the victim; the trigger is the task whose allocation ran the OOM killer
 * (the current task then), which may be the victim itself.
 */
struct ebq_oom_event {
	struct ebq_header h;
	/* The victim's memory, in pages, as the kernel's "Killed process"
	 * line counts it (mm->total_vm, the rss counters, page tables in bytes). */
	__u64 total_vm_pages;
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u64 pgtables_bytes;
	__u32 victim_tid;    /* the tracepoint's pid: the victim thread */
	__u32 trigger_pid;
	__u32 trigger_tid;
	__s32 oom_score_adj;
	__u32 flags;         /* enum ebq_oom_flags */
	__u32 _pad;
	char trigger_comm[EBQ_COMM_LEN];
};

enum ebq_oom_stat {
	EBQ_STAT_SENT_OOM = EBQ_STAT_TABLE, /* oom_mark_victim */
};
_Static_assert(EBQ_STAT_SENT_OOM + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_OOM_H__ */
