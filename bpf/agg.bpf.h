/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Aggregation in the kernel (GROUP BY with count/sum/min/max/avg/hist):
 * the groups map and the update every aggregating table shares
 * (syscall_events, file_events). The key is struct ebq_agg_key; userspace
 * reads the map at each interval and at the end (src/kernel/load.rs,
 * drain_agg) and turns it into groups (src/exec/run.rs, absorb).
 */
#ifndef __EBQ_AGG_BPF_H__
#define __EBQ_AGG_BPF_H__

#include "common.bpf.h"

/* Groups for in-kernel aggregation; sized by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct ebq_agg_key);
	__type(value, struct ebq_agg_val);
} agg_map SEC(".maps");

/* A new group's starting value: too big for the stack, so in rodata. */
const volatile struct ebq_agg_val agg_init = {
	.min = 0x7fffffffffffffffLL,
	.max = -0x7fffffffffffffffLL - 1,
};

/* floor(log2(v)) for v > 0, without a loop. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* The bucket of x, as src/exec/agg.rs numbers them. */
static __always_inline __u32 hist_index(__s64 x)
{
	if (CFG.agg_hist == EBQ_HIST_POW2) {
		__u32 i;

		if (x < 0)
			return 0;
		if (x == 0)
			return 1;
		i = 2 + log2_u64(x);
		return i < EBQ_HIST_BUCKETS ? i : EBQ_HIST_BUCKETS - 1;
	}
	/* linear: below min, the steps, at or above max */
	if (x < CFG.lhist_min)
		return 0;
	__u64 i = 1 + (__u64)(x - CFG.lhist_min) / (__u64)CFG.lhist_step;

	if (i >= CFG.lhist_len - 1)
		return CFG.lhist_len - 1;
	return i;
}

/*
 * Adds one event to group k. Userspace drains the map at each interval
 * and at the end, so nothing goes through the ring buffer. Counters are
 * atomic (both CPUs may update one group); min and max may race, and only
 * under that race can they miss a value. `ret` and `duration` feed the
 * measure the query aggregates (CFG.agg_measure), if any.
 */
static __always_inline void agg_add_of(const struct ebq_agg_key *k, __s64 ret, __u64 duration,
				       const bool measured)
{
	struct ebq_agg_val *v = bpf_map_lookup_elem(&agg_map, k);

	if (!v) {
		/* NOEXIST: another CPU may have made the group meanwhile. */
		if (bpf_map_update_elem(&agg_map, k, (const void *)&agg_init, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&agg_map, k)) {
			stat_inc(EBQ_STAT_AGG_MISSED);
			return;
		}
		v = bpf_map_lookup_elem(&agg_map, k);
		if (!v) {
			stat_inc(EBQ_STAT_AGG_MISSED);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	counted(aggregated_count);
	if (!measured) {
		if (CFG.agg_measure != EBQ_MEASURE_NONE)
			__sync_fetch_and_add(&v->nulls, 1);
		return;
	}
	if (CFG.agg_measure != EBQ_MEASURE_NONE) {
		__s64 x = CFG.agg_measure == EBQ_MEASURE_DURATION ? (__s64)duration : ret;

		/* Never an add of 0: clang turns that into an atomic OR of 0
		 * (an idempotent RMW, to it), which needs Linux 5.12 (BPF_ATOMIC
		 * ops beyond add, 981f94c3e921); Linux 5.10 refuses the load. */
		if (x)
			__sync_fetch_and_add(&v->sum, x);
		if (x < v->min)
			v->min = x;
		if (x > v->max)
			v->max = x;
		if (CFG.agg_hist != EBQ_HIST_NONE) {
			__u32 i = hist_index(x);

			if (i < EBQ_HIST_BUCKETS)
				__sync_fetch_and_add(&v->buckets[i], 1);
		}
	}
}

/* An event whose measure is known (every table's but tcp_events' rows). */
static __always_inline void agg_add(const struct ebq_agg_key *k, __s64 ret, __u64 duration)
{
	agg_add_of(k, ret, duration, true);
}

/*
 * Adds an event of the current task to its group: `nr` is the table's own
 * key (the syscall number, the file action). The key is read field by
 * field from helpers, only the fields the query groups by, with no event
 * header filled. The entry already applied the filters the header would
 * (stable_ok, comm); tid, euid, egid and the cgroup (as it is now, at the
 * event: cgroup_now_ok) are checked here.
 */
static __always_inline void aggregate_current(__u32 nr, __s64 ret, __u64 duration)
{
	struct ebq_agg_key k = {};
	__u32 keys = CFG.agg_keys;
	__u64 id = 0;

	if (CFG.int_mode[EBQ_COL_TID] || (keys & (EBQ_AGG_PID | EBQ_AGG_TID)))
		id = bpf_get_current_pid_tgid();
	if (!int_ok(EBQ_COL_TID, (__u32)id) || !cgroup_now_ok(NULL)) {
		filtered();
		return;
	}
	if (CFG.int_mode[EBQ_COL_EUID] || CFG.int_mode[EBQ_COL_EGID]) {
		struct task_struct *task = (void *)bpf_get_current_task();
		const struct cred *cred = BPF_CORE_READ(task, cred);

		if (!int_ok(EBQ_COL_EUID, BPF_CORE_READ(cred, euid.val)) ||
		    !int_ok(EBQ_COL_EGID, BPF_CORE_READ(cred, egid.val))) {
			filtered();
			return;
		}
	}
	if (keys & EBQ_AGG_PID)
		k.pid = id >> 32;
	if (keys & EBQ_AGG_TID)
		k.tid = (__u32)id;
	if (keys & (EBQ_AGG_UID | EBQ_AGG_GID)) {
		__u64 ug = bpf_get_current_uid_gid();

		if (keys & EBQ_AGG_UID)
			k.uid = (__u32)ug;
		if (keys & EBQ_AGG_GID)
			k.gid = ug >> 32;
	}
	if (keys & EBQ_AGG_CGROUP)
		k.cgroup_id = bpf_get_current_cgroup_id();
	if (keys & EBQ_AGG_NR)
		k.nr = nr;
	if (keys & EBQ_AGG_COMM)
		bpf_get_current_comm(k.comm, sizeof(k.comm));
	agg_add(&k, ret, duration);
}

/*
 * Adds an event about another task than the current one (a block I/O's
 * issuer, noted when it was submitted) to its group: the key's fields
 * from the header `h`, or, with `h` NULL (no task known), a group of its
 * own whose task keys are NULL (no_task). The header filters were applied.
 */
static __always_inline void aggregate_header_of(const struct ebq_header *h, __u32 nr, __s64 ret,
						__u64 duration, const bool measured)
{
	struct ebq_agg_key k = {};
	__u32 keys = CFG.agg_keys;

	if (h) {
		if (keys & EBQ_AGG_PID)
			k.pid = h->pid;
		if (keys & EBQ_AGG_TID)
			k.tid = h->tid;
		if (keys & EBQ_AGG_UID)
			k.uid = h->uid;
		if (keys & EBQ_AGG_GID)
			k.gid = h->gid;
		if (keys & EBQ_AGG_CGROUP)
			k.cgroup_id = h->cgroup_id;
		if (keys & EBQ_AGG_COMM)
			__builtin_memcpy(k.comm, h->comm, sizeof(k.comm));
	} else if (keys & ~EBQ_AGG_NR) {
		k.no_task = 1;
	}
	if (keys & EBQ_AGG_NR)
		k.nr = nr;
	agg_add_of(&k, ret, duration, measured);
}

static __always_inline void aggregate_header(const struct ebq_header *h, __u32 nr, __s64 ret,
					     __u64 duration)
{
	aggregate_header_of(h, nr, ret, duration, true);
}

/*
 * Adds an event about `t`, a task that may not be the current one (a
 * task switched in), to its group: the key's fields read from its
 * task_struct, only those the query groups by. The filters on it were
 * applied.
 */
static __always_inline void aggregate_task(struct task_struct *t, __u32 nr, __s64 ret,
					   __u64 duration)
{
	struct ebq_agg_key k = {};
	__u32 keys = CFG.agg_keys;

	if (keys & EBQ_AGG_PID)
		k.pid = BPF_CORE_READ(t, tgid);
	if (keys & EBQ_AGG_TID)
		k.tid = BPF_CORE_READ(t, pid);
	if (keys & EBQ_AGG_UID)
		k.uid = BPF_CORE_READ(t, cred, uid.val);
	if (keys & EBQ_AGG_GID)
		k.gid = BPF_CORE_READ(t, cred, gid.val);
	if (keys & EBQ_AGG_CGROUP)
		k.cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	if (keys & EBQ_AGG_COMM)
		BPF_CORE_READ_STR_INTO(&k.comm, t, comm);
	if (keys & EBQ_AGG_NR)
		k.nr = nr;
	agg_add(&k, ret, duration);
}

#endif /* __EBQ_AGG_BPF_H__ */
