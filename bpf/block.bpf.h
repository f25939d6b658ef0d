/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * block_io_events: one event per block I/O request completed, with its
 * issuer, its device and its latencies (biosnoop, biolatency, bitesize).
 *
 * The completion (block:block_rq_complete, block/blk-mq.c
 * blk_update_request()) runs wherever the driver completes the request:
 * in an interrupt or a softirq, on whatever task it interrupted. That
 * task is a bystander, never the row's subject: the issuer is noted when
 * the I/O is submitted, in the submitter's own context, keyed by the
 * request (block:block_io_start, blk_account_io_start(), Linux 6.5:
 * 5a80bd075f3b) or, on older kernels, by the bio (block:block_bio_queue,
 * submit_bio_noacct(), and block:block_split for the part a split
 * makes), which the request carries as its first bio when it is issued.
 * What ebq did not see submitted (a flush the block layer makes itself,
 * I/O submitted before ebq started) has no issuer: its task columns are
 * NULL. A request ebq did not see issued is not reported (its latency is
 * unknown).
 */
#ifndef __EBQ_BLOCK_BPF_H__
#define __EBQ_BLOCK_BPF_H__

#include "common.bpf.h"
#include "agg.bpf.h"
#include "block.h"

/* REQ_OP_BITS in include/linux/blk_types.h (8 since Linux 4.10). */
#define EBQ_REQ_OP_MASK 0xff

/*
 * Linux 5.11 dropped the request_queue from the arguments of the block
 * tracepoints (a54895fa057c for the request ones, e8a676d61c07 for the bio
 * ones), and distributions backport it by halves: Debian's 5.10.223 has
 * the request ones with one argument, the bio ones still with two. A
 * raw_tp program reads its arguments by place, so each tracepoint's shape
 * is asked of the kernel's BTF: its btf_trace_<name> typedef (the probe's
 * prototype, with the data pointer first) against the old prototype, by
 * CO-RE (libbpf compares a function prototype's parameters). A program
 * that reads an argument the tracepoint does not have fails to attach, so
 * the old load is cut where not taken (the verifier knows the answer).
 */
typedef void (*btf_trace_block_rq_issue___q)(void *, struct request_queue *, struct request *);
typedef void (*btf_trace_block_rq_merge___q)(void *, struct request_queue *, struct request *);
typedef void (*btf_trace_block_bio_queue___q)(void *, struct request_queue *, struct bio *);
typedef void (*btf_trace_block_split___q)(void *, struct request_queue *, struct bio *,
					  unsigned int);

/*
 * The argument after the request_queue where `queue_first` (an old
 * tracepoint), else the first. Never a load at an offset computed from
 * the test: clang turns a choice of ctx[1] or ctx[0] into `ctx += 8; load
 * ctx[0]` (a barrier on ctx does not stop it), and the verifier refuses a
 * load through a modified ctx pointer ("dereference of modified ctx ptr",
 * as a 5.10 guest showed). The old load is written in assembly, at its
 * fixed offset, where clang cannot merge it with the other.
 */
static __always_inline __u64 block_arg(__u64 *ctx, const bool queue_first)
{
	__u64 v;

	if (queue_first) {
		asm volatile("%[v] = *(u64 *)(%[ctx] + 8)" : [v] "=r"(v) : [ctx] "r"(ctx));
		return v;
	}
	return ctx[0];
}

/*
 * Requests (Linux 6.5 and later) or bios (before) in flight, by address:
 * their issuer and times. Sized by userspace: EBQ_BLOCK_INFLIGHT for
 * block_io_events, 1 otherwise (an LRU hash is preallocated).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_BLOCK_INFLIGHT);
	__type(key, __u64);
	__type(value, struct ebq_block_start);
} block_start SEC(".maps");

/* A new entry's value: too big for the stack, so in rodata. */
const volatile struct ebq_block_start block_start_init = {};

/* The entry of `key`, made if missing; NULL when the map refuses. */
static __always_inline struct ebq_block_start *block_entry(__u64 key)
{
	struct ebq_block_start *s = bpf_map_lookup_elem(&block_start, &key);

	if (s)
		return s;
	bpf_map_update_elem(&block_start, &key, (const void *)&block_start_init, BPF_ANY);
	return bpf_map_lookup_elem(&block_start, &key);
}

/*
 * The current task submits the I/O at `key`: noted as its issuer. The
 * filters on what the task cannot change (pid, uid ...) are checked now;
 * the others wait for the completion (the row's cgroup is the issuer's
 * then, as for a socket's owner). Attached only when the query reads the
 * issuer or `queued` (EBQ_BLOCK_CAP_ISSUER, EBQ_BLOCK_CAP_QUEUED).
 */
static __always_inline int block_submitted(__u64 key)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ebq_block_start *s;

	s = block_entry(key);
	if (!s)
		return 0;
	/* What no completion of it could pass: noted as refused, over any
	 * stale note a bio or request before it at this address left. */
	if (tgid == CFG.self_tgid || !stable_ok(task, tgid)) {
		s->flags = EBQ_BLOCK_REFUSED;
		s->issue_ns = 0;
		return 0;
	}
	fill_header(&s->h, task);
	s->start_ns = s->h.ktime_ns;
	s->issue_ns = 0;
	s->flags = EBQ_BLOCK_ISSUER | EBQ_BLOCK_QUEUED;
	return 0;
}

/* Linux 6.5 and later: the request, as the submitter accounts it. */
SEC("raw_tp/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	return block_submitted((__u64)rq);
}

/* Before Linux 6.5: each bio as it is submitted (not attached on 6.5+). */
SEC("raw_tp/block_bio_queue")
int block_bio_queue(__u64 *ctx)
{
	return block_submitted(block_arg(ctx, bpf_core_type_exists(btf_trace_block_bio_queue___q)));
}

/* The front part a split makes is a new bio, never queued itself. */
SEC("raw_tp/block_split")
int block_split(__u64 *ctx)
{
	return block_submitted(block_arg(ctx, bpf_core_type_exists(btf_trace_block_split___q)));
}

/* The request's disk: rq->q->disk, rq->rq_disk before Linux 5.15. */
static __always_inline struct gendisk *rq_disk(struct request *rq)
{
	struct request___rq_disk *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/*
 * A request merged into another before its issue (block/blk-merge.c,
 * attempt_merge()) is freed without a completion: its entry goes now, or
 * the next request at that address (requests are preallocated, and
 * reused) would find this one's issuer.
 */
SEC("raw_tp/block_rq_merge")
int block_rq_merge(__u64 *ctx)
{
	__u64 key = block_arg(ctx, bpf_core_type_exists(btf_trace_block_rq_merge___q));

	bpf_map_delete_elem(&block_start, &key);
	return 0;
}

/* The request goes to the driver: its issue time, its entry by request. */
SEC("raw_tp/block_rq_issue")
int block_rq_issue(__u64 *ctx)
{
	struct request *rq =
		(void *)block_arg(ctx, bpf_core_type_exists(btf_trace_block_rq_issue___q));
	__u64 key = (__u64)rq, now = bpf_ktime_get_boot_ns();
	struct ebq_block_start *s;

	/* A disk or an operation the query does not want: never noted. */
	if (CFG.int_mode[EBQ_BLOCK_COL_MAJOR] || CFG.int_mode[EBQ_BLOCK_COL_MINOR] ||
	    CFG.int_mode[EBQ_BLOCK_COL_OP]) {
		struct gendisk *disk = rq_disk(rq);
		__u32 major = disk ? BPF_CORE_READ(disk, major) : 0;
		__u32 minor = disk ? BPF_CORE_READ(disk, first_minor) : 0;

		if (!int_ok(EBQ_BLOCK_COL_MAJOR, major) || !int_ok(EBQ_BLOCK_COL_MINOR, minor) ||
		    !int_ok(EBQ_BLOCK_COL_OP, BPF_CORE_READ(rq, cmd_flags) & EBQ_REQ_OP_MASK)) {
			__u64 bio = (__u64)BPF_CORE_READ(rq, bio);

			/* Its notes go too: by request, and (before 6.5) by bio. */
			bpf_map_delete_elem(&block_start, &key);
			if (bio)
				bpf_map_delete_elem(&block_start, &bio);
			filtered();
			return 0;
		}
	}
	s = bpf_map_lookup_elem(&block_start, &key);

	if (!s) {
		/* Before 6.5, the issuer was noted by the request's first bio. */
		__u64 bio = (__u64)BPF_CORE_READ(rq, bio);
		struct ebq_block_start *b = bio ? bpf_map_lookup_elem(&block_start, &bio) : NULL;

		if (b) {
			bpf_map_update_elem(&block_start, &key, b, BPF_ANY);
			bpf_map_delete_elem(&block_start, &bio);
		}
		s = block_entry(key);
		if (!s)
			return 0;
	}
	s->issue_ns = now;
	return 0;
}

/* The request flags rwbs shows, as ebq numbers them. */
static __always_inline __u32 rq_flags(__u32 opf)
{
	__u32 f = 0;

	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		f |= EBQ_BLOCK_SYNC;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		f |= EBQ_BLOCK_META;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		f |= EBQ_BLOCK_FUA;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		f |= EBQ_BLOCK_PREFLUSH;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		f |= EBQ_BLOCK_RAHEAD;
	return f;
}

/*
 * A completion: the row, or its group. The arguments are the same on
 * every kernel ebq runs on: (rq, error, nr_bytes); `error` is an errno
 * on 5.10 (blk_status_to_errno() before the call) and a blk_status_t
 * later, which userspace tells apart by sign.
 */
SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_boot_ns(), latency, queued = 0;
	struct ebq_block_start *s = bpf_map_lookup_elem(&block_start, &key);
	struct ebq_block_event *e;
	struct gendisk *disk;
	__u32 opf, op, dev, flags;
	bool issuer;

	if (!s)
		return 0;
	if (s->flags & EBQ_BLOCK_REFUSED) {
		bpf_map_delete_elem(&block_start, &key);
		filtered();
		return 0;
	}
	if (!s->issue_ns) {
		/* Noted at submission, completed without an issue ebq saw. */
		bpf_map_delete_elem(&block_start, &key);
		return 0;
	}
	latency = now - s->issue_ns;
	issuer = s->flags & EBQ_BLOCK_ISSUER;
	if (s->flags & EBQ_BLOCK_QUEUED && s->issue_ns > s->start_ns)
		queued = s->issue_ns - s->start_ns;
	disk = rq_disk(rq);
	dev = disk ? ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor) : 0;
	opf = BPF_CORE_READ(rq, cmd_flags);
	op = opf & EBQ_REQ_OP_MASK;
	/* Cheapest first: the request's own values, then the issuer's. */
	if (!int_ok(EBQ_BLOCK_COL_MAJOR, dev >> 20) || !int_ok(EBQ_BLOCK_COL_MINOR, dev & 0xfffff) ||
	    !int_ok(EBQ_BLOCK_COL_OP, op) || !int_ok(EBQ_BLOCK_COL_BYTES, nr_bytes) ||
	    !int_ok(EBQ_BLOCK_COL_LATENCY, latency) ||
	    (issuer ? !header_ok(&s->h) : task_filtered())) {
		bpf_map_delete_elem(&block_start, &key);
		filtered();
		return 0;
	}
	flags = rq_flags(opf) | (s->flags & (EBQ_BLOCK_ISSUER | EBQ_BLOCK_QUEUED));
	if (CFG.agg_enabled) {
		/* A row with no task goes up to userspace's container filter;
		 * a group has none after it, and no container is NULL's. */
		if (!issuer && CFG.cgroup_filter) {
			bpf_map_delete_elem(&block_start, &key);
			filtered();
			return 0;
		}
		/* ret: the bytes, duration: the latency (the table's measures). */
		aggregate_header(issuer ? &s->h : NULL, dev, nr_bytes, latency);
		bpf_map_delete_elem(&block_start, &key);
		return 0;
	}
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_BLOCK);
	if (!e) {
		bpf_map_delete_elem(&block_start, &key);
		return 0;
	}
	if (issuer) {
		__builtin_memcpy(&e->h, &s->h, sizeof(e->h));
	} else {
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.kind = CFG.kind;
	}
	e->h.ktime_ns = now;
	bpf_map_delete_elem(&block_start, &key);
	e->sector = BPF_CORE_READ(rq, __sector);
	e->latency_ns = latency;
	e->queued_ns = queued;
	e->dev = dev;
	e->bytes = nr_bytes;
	e->op = op;
	e->flags = flags;
	e->error = error;
	e->_pad = 0;
	__builtin_memset(e->disk, 0, sizeof(e->disk));
	if (disk)
		bpf_probe_read_kernel_str(e->disk, sizeof(e->disk), disk->disk_name);
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_BLOCK);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_block_event _ebq_block_event = {};
struct ebq_block_start _ebq_block_start = {};
enum ebq_block_flags _ebq_block_flags = EBQ_BLOCK_SYNC;
enum ebq_block_col _ebq_block_col = EBQ_BLOCK_COL_MAJOR;
enum ebq_block_stat _ebq_block_stat = EBQ_STAT_SENT_BLOCK;
enum ebq_block_limits _ebq_block_limits = EBQ_BLOCK_INFLIGHT;
enum ebq_block_capture _ebq_block_capture = EBQ_BLOCK_CAP_ISSUER;

#endif /* __EBQ_BLOCK_BPF_H__ */
