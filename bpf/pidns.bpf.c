// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ebq's pid namespace helper, a BPF object of its own: ebq loads it only
 * when it runs in a pid namespace other than the kernel's first one
 * (`unshare --pid`, a container), and runs its one program once with
 * BPF_PROG_TEST_RUN, in ebq's own task.
 *
 * The kernel's programs see pids as the initial pid namespace numbers
 * them (bpf_get_current_pid_tgid()); ebq, getpid(2) and the /proc it sees
 * number them in its own. The program says which host pid ebq is (so ebq
 * never reports itself, and follows its -c command), and turns the pids
 * of ebq's namespace that userspace puts in `ns_pids` (the -p tree) into
 * host pids, by walking the task list once. Read from test_run's task, the
 * walk needs no helper but bpf_loop (or, built as pidns_compat.bpf.o for
 * kernels without it, none: EBQ_STEPS(), steps.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "steps.bpf.h"

/* Thread-group leaders walked at most (every process of the machine). */
#define EBQ_PIDNS_TASKS_MAX (1 << 22)

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ebq's pid (tgid) in the initial pid namespace. */
__u32 self_tgid = 0;

/* A pid of ebq's namespace -> its host pid (0 until found); userspace
 * sizes and fills the keys. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ns_pids SEC(".maps");

struct walk {
	struct task_struct *start;
	struct task_struct *cur;
	void *ns;      /* ebq's pid namespace */
	__u32 level;   /* its depth */
};

/* The walk's state: global data, which a compat round (a global function,
 * handed no pointer) finds on its own. */
struct walk walk = {};

/* The number and namespace of a struct pid at one depth. */
static __always_inline void pid_at(struct pid *pid, __u32 level, struct upid *out)
{
	bpf_probe_read_kernel(out, sizeof(*out),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				      (__u64)level * bpf_core_type_size(struct upid));
}

static long step(__u32 i, void *arg)
{
	/* The global, not `arg`: bpf_loop() hands its callback a pointer to
	 * the stack only (ARG_PTR_TO_STACK_OR_NULL), never to a map value. */
	struct walk *w = &walk;
	struct task_struct *cur = w->cur;
	struct list_head *next = BPF_CORE_READ(cur, tasks.next);
	struct task_struct *task = (void *)next - bpf_core_field_offset(struct task_struct, tasks);
	struct pid *pid;
	struct upid up = {};
	__u32 nr, *host;

	if (task == w->start || !next)
		return 1;
	w->cur = task;
	/* The tasks list holds thread-group leaders: their pid is the tgid. */
	pid = BPF_CORE_READ(task, thread_pid);
	if (BPF_CORE_READ(pid, level) < w->level)
		return 0;
	pid_at(pid, w->level, &up);
	if (up.ns != w->ns)
		return 0;
	nr = up.nr;
	host = bpf_map_lookup_elem(&ns_pids, &nr);
	if (host)
		*host = BPF_CORE_READ(task, tgid);
	return 0;
}

/* Tasks a compat round walks. */
#define EBQ_PIDNS_INNER 512

EBQ_DEFINE_STEPS(pidns_steps, step, EBQ_PIDNS_INNER, void *ctx = NULL)

SEC("raw_tp")
int pidns_resolve(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct pid *pid = BPF_CORE_READ(leader, thread_pid);
	struct upid up = {};
	struct walk *w = &walk;

	self_tgid = bpf_get_current_pid_tgid() >> 32;
	w->level = BPF_CORE_READ(pid, level);
	pid_at(pid, w->level, &up);
	w->ns = up.ns;
	w->start = leader;
	w->cur = leader;
	/* The leader itself, then every other one. */
	{
		__u32 nr = up.nr;
		__u32 *host = bpf_map_lookup_elem(&ns_pids, &nr);

		if (host)
			*host = self_tgid;
	}
	EBQ_STEPS(EBQ_PIDNS_TASKS_MAX, step, NULL, EBQ_PIDNS_INNER, pidns_steps);
	return 0;
}
