/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * module_events: kernel modules loaded (init_module, finit_module) and
 * unloaded (delete_module), failed attempts included. A module's name is
 * in its ELF image, not in the arguments: module:module_load
 * (kernel/module/main.c) names it while the syscall runs, and the exit
 * reports it. The path of finit_module's file is walked from its fd.
 * Kernels built without CONFIG_MODULES have none of these tracepoints:
 * the table then refuses to run (the catalog marks them required).
 */
#ifndef __EBQ_MODULE_BPF_H__
#define __EBQ_MODULE_BPF_H__

#include "common.bpf.h"
#include "module.h"

struct module_buf {
	struct ebq_module_event e;
	__u8 data[EBQ_DATA_SIZE];
};

_Static_assert(sizeof(struct module_buf) <= EBQ_SCRATCH_SIZE, "module_buf fits a scratch slot");

struct module_name {
	char name[EBQ_MODULE_NAME_LEN];
};

/* The name module_load saw, by thread, for the syscall's exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct module_name);
} module_names SEC(".maps");

static __always_inline int module_enter(__u32 what, __u64 a0, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct inflight st = {};

	if (tgid == CFG.self_tgid)
		return 0;
	if (!stable_ok(NULL, tgid)) {
		filtered();
		return 0;
	}
	st.start_ns = bpf_ktime_get_boot_ns();
	st.args[0] = a0; /* image, fd, or name */
	st.args[1] = flags;
	st.what = what;
	bpf_map_delete_elem(&module_names, &tid);
	put_inflight(&st);
	return 0;
}

static __always_inline int module_exit(__u32 what, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct inflight st;
	struct module_name *seen;
	struct module_buf *b;
	struct ebq_module_event *e;
	__u32 off = 0;

	if (!take_inflight(&st))
		return 0;
	task = (void *)bpf_get_current_task();
	if (st.what != what)
		return 0;
	if (!int_ok(EBQ_COL_EXIT_CODE, ret)) {
		filtered();
		return 0;
	}
	b = scratch_event(task);
	if (!b)
		return 0;
	e = &b->e;
	e->duration_ns = bpf_ktime_get_boot_ns() - st.start_ns;
	e->exit_code = ret;
	e->syscall = what;
	e->action = what == EBQ_MS_DELETE_MODULE ? EBQ_MOD_UNLOAD : EBQ_MOD_LOAD;
	e->flags = st.args[1];
	e->mflags = 0;
	e->path_len = 0;
	__builtin_memset(e->name, 0, sizeof(e->name));
	if (what == EBQ_MS_DELETE_MODULE) {
		if (read_user_str(e->name, sizeof(e->name), (void *)st.args[0]) > 0)
			e->mflags |= EBQ_MOD_HAS_NAME;
	} else {
		seen = bpf_map_lookup_elem(&module_names, &tid);
		if (seen) {
			__builtin_memcpy(e->name, seen->name, sizeof(e->name));
			e->mflags |= EBQ_MOD_HAS_NAME;
			bpf_map_delete_elem(&module_names, &tid);
		}
	}
	if (what == EBQ_MS_FINIT_MODULE) {
		struct file *f = fd_file(task, (__s32)st.args[0]);

		if (f) {
			__u32 ignored = 0;

			off = walk_path(b->data, 0, &f->f_path, &ignored, 1);
			e->path_len = off;
			e->mflags |= EBQ_MOD_HAS_PATH;
		}
	}
	submit_event(b, sizeof(b->e) + (__u64)off, EBQ_STAT_SENT_MODULE + e->action);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_init_module")
int init_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return module_enter(EBQ_MS_INIT_MODULE, ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_exit_init_module")
int init_module_exit(struct trace_event_raw_sys_exit *ctx)
{
	return module_exit(EBQ_MS_INIT_MODULE, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_finit_module")
int finit_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return module_enter(EBQ_MS_FINIT_MODULE, ctx->args[0], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_finit_module")
int finit_module_exit(struct trace_event_raw_sys_exit *ctx)
{
	return module_exit(EBQ_MS_FINIT_MODULE, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_delete_module")
int delete_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return module_enter(EBQ_MS_DELETE_MODULE, ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_delete_module")
int delete_module_exit(struct trace_event_raw_sys_exit *ctx)
{
	return module_exit(EBQ_MS_DELETE_MODULE, ctx->ret);
}

/* Raw: the tp_btf form needs struct module in the kernel's BTF. */
SEC("tracepoint/module/module_load")
int module_load(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct module_name n = {};
	/*
	 * include/trace/events/module.h: the record is the common header,
	 * then `unsigned int taints` and the name as a __data_loc string (a
	 * u32: offset low 16 bits, length high 16), both relative to ctx.
	 */
	__u32 loc = 0;

	if (!peek_inflight())
		return 0;
	bpf_probe_read_kernel(&loc, sizeof(loc), ctx + 12);
	bpf_probe_read_kernel_str(n.name, sizeof(n.name), ctx + (loc & 0xffff));
	bpf_map_update_elem(&module_names, &tid, &n, BPF_ANY);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_module_event _ebq_module_event = {};
enum ebq_module_action _ebq_module_action = EBQ_MOD_LOAD;
enum ebq_module_flags _ebq_module_flags = EBQ_MOD_HAS_NAME;
enum ebq_module_stat _ebq_module_stat = EBQ_STAT_SENT_MODULE;
enum ebq_module_sys _ebq_module_sys = EBQ_MS_INIT_MODULE;

#endif /* __EBQ_MODULE_BPF_H__ */
