/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What every ebq BPF object shares: the event ring buffer, the filter maps
 * and their load-time configuration, counters and the common event header.
 * Paths and their filter are in path.bpf.h.
 *
 * Filters follow one rule (docs/ARCHITECTURE.md, pushdown): they may keep an event the
 * query rejects, never the reverse, because userspace re-checks the whole
 * WHERE. Cheapest checks run first, and every check the query does not use
 * is cut out by the verifier, since `cfg` is const volatile (rodata, frozen
 * before load, so its values are known constants).
 */
#ifndef __EBQ_COMMON_BPF_H__
#define __EBQ_COMMON_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "ebq.h"
#include "cgroup.h"
#include "steps.bpf.h"

/* include/uapi/linux/fcntl.h */
#define AT_FDCWD -100
#define AT_EMPTY_PATH 0x1000

const volatile struct ebq_filter_config cfg = {};

/*
 * The configuration as programs read it. Through `cfg` itself every read
 * is a volatile load that clang must emit, even one whose branch the
 * verifier then cuts: a rejected event paid for reloading the same flags
 * in each helper it went through. The empty asm hides the initializer
 * from clang (so nothing folds to the zero it was built with) while the
 * reads become ordinary loads it can merge and drop; the verifier still
 * sees a pointer into the frozen .rodata and knows every value.
 */
static __always_inline const struct ebq_filter_config *ebq_cfg(void)
{
	const struct ebq_filter_config *c = (const struct ebq_filter_config *)&cfg;

	asm("" : "+r"(c));
	return c;
}
#define CFG (*ebq_cfg())

/* Sized by userspace (--buffer-size) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EBQ_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Members of IN / NOT IN sets of integer columns. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ebq_int_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} int_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ebq_comm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} comm_sets SEC(".maps");

/* Processes (tgids) traced under -c / -p; children join at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} followed SEC(".maps");

/*
 * The query's container filters, as verdicts on cgroups (bpf/cgroup.h):
 * written by userspace for every cgroup it resolved, before the programs
 * attach and as new cgroups turn up. Sized by userspace; 1 when unused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ebq_cgroup_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cgroup_verdicts SEC(".maps");

/* One scratch slot per CPU (userspace sets max_entries to the CPU count):
 * events with variable-length data are built here, then copied out with
 * bpf_ringbuf_output() at their real size. */
struct scratch_slot {
	__u8 bytes[EBQ_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_slot);
} scratch SEC(".maps");

static __always_inline void *scratch_slot(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/*
 * The syscall a thread is in (one at a time): what the entry saw, for the
 * exit to report. Task-local storage, not a hash keyed by tid: the exit of
 * every syscall looks here, and task storage is a pointer in the task, not
 * a hash probe; it goes away with the task, so nothing can leak. An exec
 * keeps its task_struct when de_thread() hands it the leader's pid, so the
 * entry is still found by sched_process_exec.
 *
 * A kernel without task storage (before 5.11) gets the same map as an LRU
 * hash keyed by thread id (EBQ_V_INFLIGHT_HASH: userspace sets its type,
 * flags and size before load, src/kernel/variants.rs): taken entries are
 * deleted, and one a thread left behind (it died in its syscall) is the
 * first to go when the map is full. The exec of a thread other than the
 * leader changes its id, so sched_process_exec looks for the old one
 * (take_inflight_of()).
 */
struct inflight {
	__u64 start_ns;
	__u64 args[6];
	__u32 what;       /* which syscall or action, per table */
	__u32 rejected;   /* a stable filter said no at entry */
	__u32 valid;      /* set by the entry, cleared by whoever takes it */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

static __always_inline bool inflight_hash(void)
{
	return CFG.variants & EBQ_V_INFLIGHT_HASH;
}

/* Notes the current thread's syscall. */
static __always_inline void put_inflight(struct inflight *st)
{
	struct inflight *v;

	if (inflight_hash()) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		st->valid = 1;
		bpf_map_update_elem(&inflight, &tid, st, BPF_ANY);
		return;
	}
	v = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (v) {
		*v = *st;
		v->valid = 1;
	}
}

/* The current thread's noted syscall, if any, still left in place. */
static __always_inline struct inflight *peek_inflight(void)
{
	struct inflight *v;

	if (inflight_hash()) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		v = bpf_map_lookup_elem(&inflight, &tid);
	} else {
		v = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	}
	return v && v->valid ? v : NULL;
}

/*
 * Takes the noted syscall of the current thread out, into *st; `tid` is
 * the id it had when it noted it (0: the one it has), read only by the
 * hash (task storage is the task's, whatever its id).
 */
static __always_inline bool take_inflight_of(struct inflight *st, __u32 tid)
{
	struct inflight *v;

	if (inflight_hash()) {
		if (!tid)
			tid = (__u32)bpf_get_current_pid_tgid();
		v = bpf_map_lookup_elem(&inflight, &tid);
		if (!v)
			return false;
		*st = *v;
		bpf_map_delete_elem(&inflight, &tid);
		return st->valid;
	}
	v = peek_inflight();
	if (!v)
		return false;
	*st = *v;
	v->valid = 0;
	return true;
}

/* Takes the current thread's noted syscall out, into *st. */
static __always_inline bool take_inflight_raw(struct inflight *st)
{
	return take_inflight_of(st, 0);
}

/*
 * The attach cookie of a program that serves several syscalls'
 * tracepoints (catalog: Program::runs): what the attachment was given,
 * or, on a kernel without cookies (EBQ_V_NO_COOKIES), the same value
 * looked up by the syscall number of the record. The enter and exit
 * records both have it after the common header.
 */
static __always_inline __u64 syscall_cookie(void *ctx)
{
	if (CFG.variants & EBQ_V_NO_COOKIES) {
		__u64 nr = ((struct trace_event_raw_sys_enter *)ctx)->id;

		return nr < EBQ_NR_MAX ? CFG.cookie_of_nr[nr] : 0;
	}
	return bpf_get_attach_cookie(ctx);
}

static __always_inline void stat_inc(__u32 id);

/*
 * Rejections, per CPU (each on its own cache line), in .bss: a plain add
 * there costs ~1 ns where a stats map update cost ~10, measured on the
 * hottest path of a filter that matches nothing. Userspace sums them.
 */
#define EBQ_MAX_CPUS 512
struct ebq_cpu_count {
	__u64 n;
	__u64 _pad[7];
};
struct ebq_cpu_count filtered_count[EBQ_MAX_CPUS];
struct ebq_cpu_count aggregated_count[EBQ_MAX_CPUS];

/* One more in a per-CPU count, when the user asked (--stats). */
#define counted(counts)                                                          \
	do {                                                                     \
		if (CFG.count_filtered)                                          \
			counts[bpf_get_smp_processor_id() & (EBQ_MAX_CPUS - 1)].n++; \
	} while (0)

/*
 * The slot of every tail call, as a value the verifier cannot know (.data
 * is writable, so not a constant to it; it stays 0). With a constant slot
 * the JIT makes a direct jump and patches every caller's code when
 * userspace fills the prog array after loading: a text poke with
 * cross-CPU interrupts, ~0.2 ms of each start. The indirect tail call
 * costs a few ns, and only on an event that is reported anyway.
 * (kernel/bpf/arraymap.c prog_array_map_poke_run, arch/x86/net/bpf_jit_comp.c)
 */
volatile __u32 tail_slot SEC(".data") = 0;

/* A kernel filter said no. */
static __always_inline void filtered(void)
{
	counted(filtered_count);
}

static __always_inline void stat_inc(__u32 id)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &id);

	if (c)
		*c += 1;
}

/*
 * The set lookups of int_ok() and comm_ok(), out of line: one copy per
 * program instead of one per column checked. What a program loads costs
 * the kernel per instruction (its passes over the code run before dead
 * branches are cut), and the sets are the bulky, rarely used part; the
 * range and single-value checks stay inline, where a rejected event runs
 * them without a call.
 */
static __noinline bool int_in_sets(__u32 col, __s64 v, __u32 mode)
{
	struct ebq_int_key k = {};

	k.col = col;
	k.val = v;
	if (mode & EBQ_F_IN) {
		k.kind = EBQ_SET_IN;
		if (!bpf_map_lookup_elem(&int_sets, &k))
			return false;
	}
	if (mode & EBQ_F_NOT_IN) {
		k.kind = EBQ_SET_NOT_IN;
		if (bpf_map_lookup_elem(&int_sets, &k))
			return false;
	}
	return true;
}

/*
 * `v` handed through a map value, memory the verifier does not track: it
 * comes back as an unknown u32, so paths that computed it differently
 * (a path captured or not, walked or not) reach the next step with equal
 * states and the verifier merges them instead of following each to the
 * end. Only for values bounded where they are used (data_at() masks).
 */
static __always_inline __u32 forget(__u32 *cell, __u32 v)
{
	*(volatile __u32 *)cell = v;
	return *(volatile __u32 *)cell;
}

/* One integer column against its range and sets. */
static __always_inline bool int_ok(__u32 col, __s64 v)
{
	__u8 mode = CFG.int_mode[col];

	if (!mode)
		return true;
	if ((mode & EBQ_F_RANGE) && (v < CFG.range[col].lo || v > CFG.range[col].hi))
		return false;
	if (!(mode & (EBQ_F_IN | EBQ_F_NOT_IN)))
		return true;
	return int_in_sets(col, v, mode);
}

static __noinline bool comm_in_sets(const char *comm, __u32 mode)
{
	struct ebq_comm_key k = {};

	__builtin_memcpy(k.comm, comm, EBQ_COMM_LEN);
	if (mode & EBQ_F_IN) {
		k.kind = EBQ_SET_IN;
		if (!bpf_map_lookup_elem(&comm_sets, &k))
			return false;
	}
	if (mode & EBQ_F_NOT_IN) {
		k.kind = EBQ_SET_NOT_IN;
		if (bpf_map_lookup_elem(&comm_sets, &k))
			return false;
	}
	return true;
}

static __always_inline bool comm_ok(const char *comm)
{
	__u8 mode = CFG.comm_mode;

	if (!mode)
		return true;
	if (mode & EBQ_F_ONE) {
		__u64 w[2];

		__builtin_memcpy(w, comm, sizeof(w));
		return w[0] == CFG.comm_one[0] && w[1] == CFG.comm_one[1];
	}
	return comm_in_sets(comm, mode);
}

/* The quick equality (enum ebq_quick) says no: see bpf/ebq.h. */
static __always_inline bool quick_rejects(void)
{
	switch (CFG.quick) {
	case EBQ_QUICK_PID:
		return (__u32)(bpf_get_current_pid_tgid() >> 32) != CFG.quick_val;
	case EBQ_QUICK_UID:
		return (__u32)bpf_get_current_uid_gid() != CFG.quick_val;
	case EBQ_QUICK_GID:
		return (__u32)(bpf_get_current_uid_gid() >> 32) != CFG.quick_val;
	case EBQ_QUICK_COMM: {
		__u64 w[2] = {}; /* padded: see fill_header_from() */

		bpf_get_current_comm(w, sizeof(w));
		return w[0] != CFG.comm_one[0] || w[1] != CFG.comm_one[1];
	}
	}
	return false;
}

/* comm_ok() on the current task, read only when a comm filter is on. */
static __always_inline bool comm_ok_current(void)
{
	char comm[EBQ_COMM_LEN] = {}; /* padded: see fill_header_from() */

	if (!CFG.comm_mode)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	return comm_ok(comm);
}

/* When the consumer was last woken (one slot: a race only wakes twice). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wake SEC(".maps");

/*
 * Ring buffer wakeup flags. By default the kernel wakes the consumer for
 * each record it finds it waiting for, and a fast consumer is always
 * waiting: in a storm that is a wakeup and two context switches per event,
 * most of what a busy stream costs. With batching on, an event wakes the
 * consumer only if none did in the last wake_ns or wake_bytes are waiting;
 * the consumer's poll timeout picks up the rest.
 */
static __always_inline __u64 wake_flags(void)
{
	__u32 zero = 0;
	__u64 *last, now;

	if (!CFG.wake_ns)
		return 0;
	last = bpf_map_lookup_elem(&last_wake, &zero);
	if (!last)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - *last >= CFG.wake_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= CFG.wake_bytes) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

/* Copies `size` bytes of a built event to the ring buffer and counts it. */
static __always_inline void submit_event(void *buf, __u64 size, __u32 sent_stat)
{
	/* The barrier keeps the bound check on the register passed on. */
	barrier_var(size);
	if (size > EBQ_SCRATCH_SIZE)
		size = EBQ_SCRATCH_SIZE;
	if (bpf_ringbuf_output(&events, buf, size, wake_flags())) {
		stat_inc(EBQ_STAT_LOST);
		stat_inc(sent_stat + EBQ_STAT_LOST_BASE);
	} else {
		stat_inc(sent_stat);
	}
}

/* Room for a fixed-size event; a full buffer is counted as a loss of the
 * program whose sent counter is sent_stat. */
static __always_inline void *reserve_event(__u64 size, __u32 sent_stat)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e) {
		stat_inc(EBQ_STAT_LOST);
		stat_inc(sent_stat + EBQ_STAT_LOST_BASE);
	}
	return e;
}

static __always_inline bool followed_ok(__u32 tgid)
{
	if (!CFG.follow)
		return true;
	return bpf_map_lookup_elem(&followed, &tgid) != NULL;
}

/*
 * The task's cgroup in the v1 hierarchy of cfg.v1_ssid, by its kernfs id:
 * task->cgroups->subsys[ssid]->cgroup->kn->id (include/linux/cgroup-defs.h);
 * 0 without EBQ_CAP_CGROUP_V1 or for a subsystem id out of the kernel's
 * range (CGROUP_SUBSYS_COUNT, from BTF).
 */
static __always_inline __u64 task_cgroup_v1(struct task_struct *task)
{
	struct css_set *cs = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;
	__u32 ssid = CFG.v1_ssid;

	if (ssid >= bpf_core_field_size(struct css_set, subsys) / sizeof(void *))
		return 0;
	bpf_probe_read_kernel(&css, sizeof(css),
			      (void *)cs + bpf_core_field_offset(struct css_set, subsys) +
				      (__u64)ssid * sizeof(void *));
	return BPF_CORE_READ(css, cgroup, kn, id);
}

/*
 * The query's container filters (cfg.cgroup_filter), on the task's
 * cgroup2 id and, when that one's verdict defers, its v1 one: false only
 * for a verdict of drop. A cgroup userspace has not resolved yet has no
 * verdict, and is kept.
 */
static __always_inline bool cgroup_ok(__u64 v2, __u64 v1)
{
	struct ebq_cgroup_key k = { .id = v2, .hierarchy = 0 };
	__u8 *v;

	if (!CFG.cgroup_filter)
		return true;
	v = bpf_map_lookup_elem(&cgroup_verdicts, &k);
	if (!v)
		return true;
	if (*v != EBQ_CGV_DEFER || CFG.cgroup_filter != EBQ_CGF_V1)
		return *v != EBQ_CGV_DROP;
	k.id = v1;
	k.hierarchy = 1;
	v = bpf_map_lookup_elem(&cgroup_verdicts, &k);
	return !v || *v != EBQ_CGV_DROP;
}

/* cgroup_ok() for the current task. */
static __always_inline bool cgroup_ok_current(struct task_struct *task)
{
	if (!CFG.cgroup_filter)
		return true;
	if (CFG.cgroup_filter == EBQ_CGF_V1 && !task)
		task = (void *)bpf_get_current_task();
	return cgroup_ok(bpf_get_current_cgroup_id(),
			 CFG.cgroup_filter == EBQ_CGF_V1 ? task_cgroup_v1(task) : 0);
}

/*
 * Checks on what an exec cannot change (pid, parent, uid, gid, login uid,
 * being followed), cheapest first, reading each field only when its
 * filter is on. Run at syscall entry, before anything is copied. The
 * cgroup is not one of them (cgroup_now_ok).
 */
static __always_inline bool stable_ok_unfollowed(struct task_struct *task, __u32 tgid)
{
	/* task NULL: the current task, fetched only if a filter needs it. */
	if (!int_ok(EBQ_COL_PID, tgid))
		return false;
	if (CFG.int_mode[EBQ_COL_UID] || CFG.int_mode[EBQ_COL_GID]) {
		__u64 ug = bpf_get_current_uid_gid();

		if (!int_ok(EBQ_COL_UID, (__u32)ug) ||
		    !int_ok(EBQ_COL_GID, (__u32)(ug >> 32)))
			return false;
	}
	if ((CFG.int_mode[EBQ_COL_PARENT] || CFG.int_mode[EBQ_COL_AUID]) && !task)
		task = (void *)bpf_get_current_task();
	if (CFG.int_mode[EBQ_COL_PARENT] &&
	    !int_ok(EBQ_COL_PARENT, (__u32)BPF_CORE_READ(task, real_parent, tgid)))
		return false;
	if (CFG.int_mode[EBQ_COL_AUID] &&
	    !int_ok(EBQ_COL_AUID, (__u32)BPF_CORE_READ(task, loginuid.val)))
		return false;
	return true;
}

/*
 * The cgroup filters (cgroup_id, and the container filters' verdicts) on
 * the current task as it is now. Not among the stable ones: another
 * process can move a task to another cgroup while it waits in a syscall
 * (writing its pid to cgroup.procs), and its row carries the cgroup at
 * the row's time. So these run where the row is made: the header's check
 * (header_ok), an aggregation, or an entry that reports at once.
 */
static __always_inline bool cgroup_now_ok(struct task_struct *task)
{
	if (CFG.int_mode[EBQ_COL_CGROUP_ID] &&
	    !int_ok(EBQ_COL_CGROUP_ID, (__s64)bpf_get_current_cgroup_id()))
		return false;
	return cgroup_ok_current(task);
}

/* stable_ok() and, under -c / -p, being followed. */
static __always_inline bool stable_ok(struct task_struct *task, __u32 tgid)
{
	return followed_ok(tgid) && stable_ok_unfollowed(task, tgid);
}

/* The pid (tgid) of the current task, read only when a filter needs it:
 * on a rejected event the helper call is most of what is left. */
static __always_inline __u32 tgid_if_needed(void)
{
	if (CFG.follow || CFG.int_mode[EBQ_COL_PID])
		return bpf_get_current_pid_tgid() >> 32;
	return 0;
}

/*
 * Before an exit program looks up its syscall's entry: what the entry
 * would have rejected on pid, uid or gid (the filters a helper answers
 * without touching the task), the exit rejects with no map lookup.
 */
static __always_inline bool exit_may_report(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == CFG.self_tgid || !int_ok(EBQ_COL_PID, tgid))
		return false;
	if (CFG.int_mode[EBQ_COL_UID] || CFG.int_mode[EBQ_COL_GID]) {
		__u64 ug = bpf_get_current_uid_gid();

		if (!int_ok(EBQ_COL_UID, (__u32)ug) || !int_ok(EBQ_COL_GID, (__u32)(ug >> 32)))
			return false;
	}
	return true;
}

/*
 * Takes this thread's in-flight entry out of the map, into *st: false when
 * there is none (its entry filtered it out, or ebq started mid-syscall) or
 * a cheap filter already says no.
 */
static __always_inline bool take_inflight(struct inflight *st)
{
	return exit_may_report() && take_inflight_raw(st);
}

/*
 * The task's pid in its own (innermost) pid namespace: the process's
 * struct pid holds one number per namespace level, the task's own last
 * (include/linux/pid.h, struct pid.numbers).
 */
static __always_inline __u32 task_ns_pid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	__u32 level = BPF_CORE_READ(pid, level);
	int nr = 0;

	bpf_probe_read_kernel(&nr, sizeof(nr),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				      (__u64)level * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, nr));
	return nr;
}

/*
 * The inode numbers of the task's pid, mount and network namespaces (as
 * /proc/<pid>/ns/ shows them): the pid one is task_active_pid_ns(), the
 * namespace of the task's own pid (include/linux/pid_namespace.h); the
 * others hang off the nsproxy, which an exiting task has dropped
 * (exit_task_namespaces()): then 0.
 */
static __always_inline void fill_ns(struct ebq_header *h, struct task_struct *task)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	__u32 level = BPF_CORE_READ(pid, level);
	struct pid_namespace *pidns = NULL;

	bpf_probe_read_kernel(&pidns, sizeof(pidns),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				      (__u64)level * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, ns));
	h->pid_ns = BPF_CORE_READ(pidns, ns.inum);
	h->mnt_ns = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	h->net_ns = BPF_CORE_READ(nsp, net_ns, ns.inum);
}

/*
 * A row's header comes two ways, from one list of fields. fill_header()
 * is for rows about the current task, nearly every row: helpers answer
 * its pid, uid, gid, cgroup and comm from `current`, with none of the
 * probe reads of the task_struct they would take. Rows whose subject is another task (an OOM victim, a woken
 * task, the issuer of a block I/O completed in an interrupt, a socket's
 * owner in softirq) take fill_header_of(), which reads every field from
 * the task_struct it is given. `cur` is a constant at each call, so clang
 * keeps one side of each choice: fill_header()'s code is what it was
 * before fill_header_of() existed, field for field and read for read.
 */
static __always_inline void fill_header_from(struct ebq_header *h, struct task_struct *task,
					     const bool cur)
{
	__u64 id = cur ? bpf_get_current_pid_tgid() : 0;
	__u64 ug = cur ? bpf_get_current_uid_gid() : 0;
	const struct cred *cred = BPF_CORE_READ(task, cred);

	h->ktime_ns = bpf_ktime_get_boot_ns();
	/*
	 * bpf_get_current_cgroup_id() (kernel/bpf/helpers.c) returns
	 * cgroup_id(task_dfl_cgroup(current)): the task's cgroup v2,
	 * task->cgroups->dfl_cgrp, by its kernfs node's id
	 * (include/linux/cgroup.h).
	 */
	h->cgroup_id = cur ? bpf_get_current_cgroup_id()
			   : BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	h->kind = CFG.kind;
	h->pid = cur ? id >> 32 : BPF_CORE_READ(task, tgid);
	h->tid = cur ? (__u32)id : BPF_CORE_READ(task, pid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	/* The real ids, as bpf_get_current_uid_gid() gives them. */
	h->uid = cur ? (__u32)ug : BPF_CORE_READ(cred, uid.val);
	h->gid = cur ? ug >> 32 : BPF_CORE_READ(cred, gid.val);
	h->euid = BPF_CORE_READ(cred, euid.val);
	h->egid = BPF_CORE_READ(cred, egid.val);
	h->auid = BPF_CORE_READ(task, loginuid.val);
	h->ns_pid = (CFG.capture & EBQ_CAP_NSPID) ? task_ns_pid(task) : 0;
	/*
	 * Zero-padded to the end: comm filters compare all 16 bytes. Before
	 * 6.4 bpf_get_current_comm() copied with strscpy(), which leaves the
	 * bytes after the NUL as they were (strscpy_pad() since f3f213497797,
	 * "bpf: ensure all memory is initialized in bpf_get_current_comm"):
	 * in a reused scratch slot or on the stack, the last event's bytes,
	 * and `comm = 'cat'` matched no cat on 6.1. Every buffer it fills is
	 * zeroed first.
	 */
	__builtin_memset(h->comm, 0, sizeof(h->comm));
	if (cur)
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	else
		BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
	/* Four more reads of the cred, only for a query that reads them. */
	if (CFG.capture & EBQ_CAP_CREDS) {
		h->suid = BPF_CORE_READ(cred, suid.val);
		h->sgid = BPF_CORE_READ(cred, sgid.val);
		h->fsuid = BPF_CORE_READ(cred, fsuid.val);
		h->fsgid = BPF_CORE_READ(cred, fsgid.val);
	} else {
		h->suid = h->sgid = h->fsuid = h->fsgid = 0;
	}
	h->_pad_ns = 0;
	if (CFG.capture & EBQ_CAP_NS)
		fill_ns(h, task);
	else
		h->pid_ns = h->mnt_ns = h->net_ns = 0;
	h->cgroup_v1 = (CFG.capture & EBQ_CAP_CGROUP_V1) ? task_cgroup_v1(task) : 0;
}

/* The header of a row about the current task; `task` must be current. */
static __always_inline void fill_header(struct ebq_header *h, struct task_struct *task)
{
	fill_header_from(h, task, true);
}

/*
 * The header of a row about `task`, any task: what fill_header() gives
 * for the current one, field by field, read from the task_struct.
 */
static __always_inline void fill_header_of(struct ebq_header *h, struct task_struct *task)
{
	fill_header_from(h, task, false);
}

/* Every header filter, on the values the event will carry, but -c / -p. */
static __always_inline bool header_ok_unfollowed(const struct ebq_header *h)
{
	return int_ok(EBQ_COL_PID, h->pid) && int_ok(EBQ_COL_TID, h->tid) &&
	       int_ok(EBQ_COL_PARENT, h->ppid) && int_ok(EBQ_COL_UID, h->uid) &&
	       int_ok(EBQ_COL_GID, h->gid) && int_ok(EBQ_COL_EUID, h->euid) &&
	       int_ok(EBQ_COL_EGID, h->egid) && int_ok(EBQ_COL_AUID, h->auid) &&
	       int_ok(EBQ_COL_CGROUP_ID, (__s64)h->cgroup_id) && comm_ok(h->comm) &&
	       cgroup_ok(h->cgroup_id, h->cgroup_v1);
}

/* Every header filter, on the values the event will carry. */
static __always_inline bool header_ok(const struct ebq_header *h)
{
	return header_ok_unfollowed(h) && followed_ok(h->pid);
}

/*
 * A header filter is on: a row with no known task cannot pass it (its
 * task columns are NULL, and NULL passes no comparison the kernel makes).
 * The container filters are not among them: `container_id IS NULL` keeps
 * a row with no task, so such rows go up and userspace decides.
 */
static __always_inline bool task_filtered(void)
{
	for (int c = EBQ_COL_PID; c <= EBQ_COL_CGROUP_ID; c++)
		if (CFG.int_mode[c])
			return true;
	return CFG.comm_mode || CFG.follow;
}

/*
 * A per-CPU scratch slot with its header filled for the current task; NULL
 * when there is no slot or a header filter says no (counted).
 */
static __always_inline void *scratch_event(struct task_struct *task)
{
	struct ebq_header *h = scratch_slot();

	if (!h)
		return NULL;
	fill_header(h, task);
	if (!header_ok(h)) {
		filtered();
		return NULL;
	}
	return h;
}


/* The file of fd in the current task, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, __s32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	/* max_fds and fd side by side (include/linux/fdtable.h): one read. */
	struct {
		unsigned int max_fds;
		struct file **fd;
	} t = {};
	struct file *f = NULL;

	if (bpf_core_field_offset(struct fdtable, fd) == sizeof(void *) &&
	    bpf_core_field_offset(struct fdtable, max_fds) == 0) {
		bpf_probe_read_kernel(&t, sizeof(t), fdt);
	} else {
		t.max_fds = BPF_CORE_READ(fdt, max_fds);
		t.fd = BPF_CORE_READ(fdt, fd);
	}
	if (fd < 0 || (__u32)fd >= t.max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &t.fd[fd]);
	return f;
}

/*
 * data + off, bounded for the verifier: every write into an event's data
 * area goes through here. The mask is what proves the bound, and
 * barrier_var() keeps clang from dropping it when it can prove off small
 * (the verifier may have lost that bound on another copy of the register).
 */
static __always_inline __u8 *data_at(__u8 *data, __u32 off)
{
	barrier_var(off);
	return data + (off & EBQ_DATA_MASK);
}

/*
 * bpf_probe_read_user_str() with one answer on every kernel: the length
 * copied with its NUL, so 1 for an empty string. The helper's
 * strncpy_from_user_nofault() (mm/maccess.c) returned 0 for "" (it added
 * the NUL to a positive length only) until "maccess: fix
 * strncpy_from_user_nofault() empty string handling" (2025: not in 6.1
 * or 6.12), which read as a failure: execve("") had no requested path, an
 * empty argument ended a failed exec's argv. 0 is never an error (those
 * are negative, and the size is never 0 here), and the NUL is in dst.
 */
static __always_inline long read_user_str(void *dst, __u32 size, const void *src)
{
	long n = bpf_probe_read_user_str(dst, size, src);

	return n == 0 ? 1 : n;
}

/*
 * Whether a string copy that filled its `size`-byte buffer (the helper
 * returned `size`) was cut: the byte after the last one copied is not the
 * string's end. A string exactly size - 1 long fills the buffer too, and
 * is whole.
 */
static __always_inline bool str_cut(const char *src, long n, __u32 size, bool user)
{
	char c = 0;

	if (n < (long)size)
		return false;
	if (user ? bpf_probe_read_user(&c, 1, src + size - 1)
		 : bpf_probe_read_kernel(&c, 1, src + size - 1))
		return true;
	return c != 0;
}

/* An event's variable-length data, as one type: a global function may
 * take a pointer to it and the verifier knows the bytes behind it. */
struct ebq_data {
	__u8 b[EBQ_DATA_SIZE];
};

#endif /* __EBQ_COMMON_BPF_H__ */
