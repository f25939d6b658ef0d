/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * oom_events: one event per task the OOM killer kills.
 *
 * oom:mark_victim (mm/oom_kill.c, mark_oom_victim()) gives the victim's
 * pid on every kernel (newer ones add a few figures), and runs in the task whose allocation ran
 * the OOM killer: the trigger, not the victim (unless it picked itself).
 * The victim's task is found where the killer sends it SIGKILL, just
 * before (__oom_kill_process(): do_send_sig_info(SIGKILL, SEND_SIG_PRIV,
 * victim, PIDTYPE_TGID), then mark_oom_victim(victim)): signal_generate
 * notes the task of each such kill by the sending thread, and mark_victim
 * takes the one its thread sent when that is the task named (the thread
 * may have moved to another CPU in between). The other path, a trigger that is exiting
 * anyway (out_of_memory(): task_will_free_mem(current)), marks the
 * current task itself. And oom_kill_process() marks a victim that is
 * exiting already (task_will_free_mem(victim)) without a SIGKILL: that
 * row has no task (its task columns are NULL).
 */
#ifndef __EBQ_OOM_BPF_H__
#define __EBQ_OOM_BPF_H__

#include "common.bpf.h"
#include "oom.h"

/* include/linux/sched/signal.h */
#define EBQ_SEND_SIG_PRIV 1
#define EBQ_SIGKILL 9

/* The last kernel-sent SIGKILL of each thread: the task it went to. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} oom_kills SEC(".maps");

SEC("raw_tp/signal_generate")
int BPF_PROG(oom_kill_signal, int sig, struct kernel_siginfo *info, struct task_struct *task)
{
	__u32 tid;
	__u64 t = (__u64)task;

	if (sig != EBQ_SIGKILL || (unsigned long)info != EBQ_SEND_SIG_PRIV)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&oom_kills, &tid, &t, BPF_ANY);
	return 0;
}

/* The mm's counter `member` (MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SHMEMPAGES 3). */
static __always_inline __u64 mm_counter(struct mm_struct *mm, const int member)
{
	__s64 v;

	if (bpf_core_type_exists(struct mm_rss_stat)) {
		struct mm_struct___rss_stat *o = (void *)mm;

		v = BPF_CORE_READ(o, rss_stat.count[member].counter);
	} else {
		/* By the kernel's sizes: a percpu_counter is more than its count
		 * (a lock, a list, the per-CPU pointer), and an index into the
		 * array is scaled by the local type's size. */
		struct mm_struct___percpu_rss *n = (void *)mm;
		__u64 off = bpf_core_field_offset(n->rss_stat) +
			    (__u64)member * bpf_core_type_size(struct percpu_counter) +
			    bpf_core_field_offset(struct percpu_counter, count);

		if (bpf_probe_read_kernel(&v, sizeof(v), (void *)mm + off))
			v = 0;
	}
	return v > 0 ? v : 0;
}

SEC("tracepoint/oom/mark_victim")
int oom_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct task_struct *cur = (void *)bpf_get_current_task();
	__u32 tid = BPF_CORE_READ(ctx, pid);
	__u64 id = bpf_get_current_pid_tgid(), *sent;
	__u32 me = (__u32)id;
	struct task_struct *victim = NULL;
	struct ebq_oom_event *e;
	struct mm_struct *mm;

	sent = bpf_map_lookup_elem(&oom_kills, &me);
	if (sent && *sent && BPF_CORE_READ((struct task_struct *)*sent, pid) == tid)
		victim = (void *)*sent;
	else if (me == tid)
		victim = cur;
	if (sent)
		bpf_map_delete_elem(&oom_kills, &me);
	e = reserve_event(sizeof(*e), EBQ_STAT_SENT_OOM);
	if (!e)
		return 0;
	if (victim) {
		fill_header_of(&e->h, victim);
		if (e->h.pid == CFG.self_tgid || !header_ok(&e->h)) {
			bpf_ringbuf_discard(e, 0);
			filtered();
			return 0;
		}
		e->flags = EBQ_OOM_VICTIM;
	} else {
		if (task_filtered()) {
			bpf_ringbuf_discard(e, 0);
			filtered();
			return 0;
		}
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.ktime_ns = bpf_ktime_get_boot_ns();
		e->h.kind = CFG.kind;
		e->flags = 0;
	}
	e->victim_tid = tid;
	e->trigger_pid = id >> 32;
	e->trigger_tid = (__u32)id;
	__builtin_memset(e->trigger_comm, 0, sizeof(e->trigger_comm));
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	e->oom_score_adj = victim ? BPF_CORE_READ(victim, signal, oom_score_adj) : 0;
	e->_pad = 0;
	mm = victim ? BPF_CORE_READ(victim, mm) : NULL;
	if (mm) {
		e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
		e->file_rss_pages = mm_counter(mm, 0);
		e->anon_rss_pages = mm_counter(mm, 1);
		e->shmem_rss_pages = mm_counter(mm, 3);
		e->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
		e->flags |= EBQ_OOM_MEM;
	} else {
		e->total_vm_pages = e->file_rss_pages = e->anon_rss_pages = 0;
		e->shmem_rss_pages = e->pgtables_bytes = 0;
	}
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(EBQ_STAT_SENT_OOM);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_oom_event _ebq_oom_event = {};
enum ebq_oom_flags _ebq_oom_flags = EBQ_OOM_VICTIM;
enum ebq_oom_stat _ebq_oom_stat = EBQ_STAT_SENT_OOM;

#endif /* __EBQ_OOM_BPF_H__ */
