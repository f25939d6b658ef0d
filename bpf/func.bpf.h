/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * function_events: calls of user-space functions. One entry program and
 * one return program, each attached once per function a query resolves
 * (or once per binary, as a uprobe_multi link, on kernels that have them:
 * the *_multi twins, loaded with that attach type), told apart by the
 * attachment's cookie (bpf/func.h). A call's entry is noted for its
 * return in func_inflight, keyed by the thread and the stack pointer at
 * entry, so a recursive call's levels pair with their own returns.
 */
#ifndef __EBQ_FUNC_BPF_H__
#define __EBQ_FUNC_BPF_H__

#include "common.bpf.h"
#include "func.h"
#include "agg.bpf.h"
#include "path.bpf.h"
#include <bpf/usdt.bpf.h>

/*
 * A call in flight: the thread, the function (its cookie's number: a
 * tail call's callee, entered with its caller's stack pointer, is another
 * key) and the stack pointer its return will find. An entry longjmp()
 * left behind is overwritten by the next call of that function at that
 * depth, or dropped by the LRU; an entry the filters reject clears it.
 */
struct func_key {
	__u64 pid_tgid;
	__u64 sp;  /* the stack pointer the return will find (func_sp_at_return) */
	__u32 func;
	__u32 _pad;
};

struct func_call {
	__u64 start_ns;
	__u64 args[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_FUNC_INFLIGHT);
	__type(key, struct func_key);
	__type(value, struct func_call);
} func_inflight SEC(".maps");

struct func_buf {
	struct ebq_func_event e;
	struct ebq_data data;
};
_Static_assert(sizeof(struct func_buf) <= EBQ_SCRATCH_SIZE, "a function row fits the scratch slot");
_Static_assert(EBQ_FUNC_STRS * EBQ_FUNC_STR_MAX + EBQ_FUNC_TTY_MAX + EBQ_FUNC_BUF_MAX <= EBQ_DATA_MASK,
	       "the strings, the terminal and the buffer fit the data area, before the walked path");
_Static_assert(sizeof(struct ebq_func_event) <= 256, "the data area starts within 256 bytes (walk_path)");

/*
 * The stack pointer at the return, from the one at entry: x86-64's call
 * pushed the return address, which ret pops (the uretprobe runs after
 * it); arm64 and the others return with the stack pointer they entered
 * with (the return address is in a register).
 */
static __always_inline __u64 func_sp_at_return(__u64 entry_sp)
{
#if defined(__TARGET_ARCH_x86)
	return entry_sp + 8;
#else
	return entry_sp;
#endif
}

/* Both ends of a call make its row (bpf/func.h, enum ebq_func_capture). */
static __always_inline bool func_paired(void)
{
	__u32 c = CFG.capture;

	if (c & (EBQ_FUNC_CAP_AT_ENTRY | EBQ_FUNC_CAP_AT_RETURN))
		return false;
	return (c & (EBQ_FUNC_CAP_DURATION | EBQ_FUNC_CAP_PAIR)) ||
	       ((c & EBQ_FUNC_ENTRY_BITS) && (c & EBQ_FUNC_EXIT_BITS));
}

/* The integer argument registers at entry: the C ABI's, or Go's
 * (EBQ_FUNC_MODE_GO; https://go.dev/s/regabi, amd64 architecture). */
static __always_inline void func_args(__u64 *args, struct pt_regs *ctx, __u32 mode)
{
#if defined(__TARGET_ARCH_x86)
	/* Every register loaded, then picked: the verifier refuses a load
	 * through a context pointer the compiler offset on one path only. */
	__u64 di = ctx->rdi, si = ctx->rsi, dx = ctx->rdx, cx = ctx->rcx, r8 = ctx->r8, r9 = ctx->r9;
	__u64 ax = ctx->rax, bx = ctx->rbx;
	bool go = mode == EBQ_FUNC_MODE_GO;

	args[0] = go ? ax : di;
	args[1] = go ? bx : si;
	args[2] = go ? cx : dx;
	args[3] = go ? di : cx;
	args[4] = go ? si : r8;
	args[5] = go ? r8 : r9;
#else
	args[0] = PT_REGS_PARM1(ctx);
	args[1] = PT_REGS_PARM2(ctx);
	args[2] = PT_REGS_PARM3(ctx);
	args[3] = PT_REGS_PARM4(ctx);
	args[4] = PT_REGS_PARM5(ctx);
	args[5] = PT_REGS_PARM6(ctx);
#endif
}

static __always_inline bool func_args_ok(const __u64 *a)
{
	return int_ok(EBQ_FUNC_COL_ARG0, a[0]) && int_ok(EBQ_FUNC_COL_ARG0 + 1, a[1]) &&
	       int_ok(EBQ_FUNC_COL_ARG0 + 2, a[2]) && int_ok(EBQ_FUNC_COL_ARG0 + 3, a[3]) &&
	       int_ok(EBQ_FUNC_COL_ARG0 + 4, a[4]) && int_ok(EBQ_FUNC_COL_ARG5, a[5]);
}

/* Copies string i (the user pointer src) at data + off; its length. */
static __always_inline __u32 func_str(struct func_buf *b, __u32 i, __u32 off, __u64 src)
{
	long n;

	if (!src) {
		b->e.flags |= EBQ_FUNC_BAD0 << i;
		return 0;
	}
	n = read_user_str(data_at(b->data.b, off), EBQ_FUNC_STR_MAX, (const void *)src);
	if (n <= 0) {
		b->e.flags |= EBQ_FUNC_BAD0 << i;
		return 0;
	}
	if (str_cut((const char *)src, n, EBQ_FUNC_STR_MAX, true))
		b->e.flags |= EBQ_FUNC_CUT0 << i;
	/* Without its NUL. */
	return (__u32)(n - 1) & (EBQ_FUNC_STR_MAX - 1);
}

/*
 * Copies n user bytes from src at data + off. A function of its own, so
 * the length's bound is checked where the helper takes it: inlined, the
 * compiler spilled the checked length and reloaded it, and 6.1's verifier
 * had lost the bound on the reloaded copy ("R2 min value is negative").
 */
static __noinline long func_read_buf(__u8 *data, __u32 off, __u64 n, const void *src)
{
	barrier_var(n);
	if (n > EBQ_FUNC_BUF_MAX)
		return -1;
	return bpf_probe_read_user(data_at(data, off), n, src);
}

/* OpenSSL's calls (ssl_events): their buffer is their row. */
static __always_inline bool func_mode_ssl(__u32 mode)
{
	return mode >= EBQ_FUNC_MODE_SSL_READ && mode <= EBQ_FUNC_MODE_SSL_WRITE_EX;
}

/*
 * The row's buffer, at its end of the call: an OpenSSL call's (enum
 * ebq_func_mode) at its return, arg1, as long as the return value or
 * *arg3 says was moved; or buf(argN, len)'s (EBQ_FUNC_MODE_PLAIN,
 * cfg.buf_arg), as long as a constant, an argument or the return value
 * says. At most EBQ_FUNC_BUF_MAX bytes; its length copied.
 */
static __always_inline __u32 func_buf_copy(struct func_buf *b, __u32 off, __s64 ret,
					   bool have_ret, const __u64 *args)
{
	__u32 from = CFG.buf_len_from;
	__u64 src = args[1], n = 0;
	__s64 len = -1;

	switch (b->e.mode) {
	/* They return int: the register's upper half is not the value's. */
	case EBQ_FUNC_MODE_SSL_READ:
	case EBQ_FUNC_MODE_SSL_WRITE:
		len = (__s32)ret;
		break;
	case EBQ_FUNC_MODE_SSL_READ_EX:
	case EBQ_FUNC_MODE_SSL_WRITE_EX:
		if ((__s32)ret == 1 && !bpf_probe_read_user(&n, sizeof(n), (const void *)args[3]))
			len = n > 0x7fffffff ? 0x7fffffff : (__s64)n;
		break;
	case EBQ_FUNC_MODE_PLAIN:
	case EBQ_FUNC_MODE_GO:
		if (CFG.buf_arg < 6)
			src = args[CFG.buf_arg];
		if (from == EBQ_FUNC_BUF_LEN_CONST)
			len = CFG.buf_len;
		else if (from >= EBQ_FUNC_BUF_LEN_ARG0 && from < EBQ_FUNC_BUF_LEN_ARG0 + 6)
			len = (__s64)args[from - EBQ_FUNC_BUF_LEN_ARG0];
		else if (from == EBQ_FUNC_BUF_LEN_RET && have_ret)
			len = ret;
		/* The length asked, as buf_len shows it: a negative one is no
		 * buffer, one past 2^31 - 1 reads as that. */
		if (len > 0x7fffffff)
			len = 0x7fffffff;
		if (len < 0) {
			b->e.flags |= (EBQ_FUNC_BAD0 << EBQ_FUNC_F_BUF) | EBQ_FUNC_BUF_NO_LEN;
			return 0;
		}
		b->e.buf_total = (__u32)len;
		/* Nothing to read: an empty buffer, not a missing row. */
		if (!src) {
			b->e.flags |= EBQ_FUNC_BAD0 << EBQ_FUNC_F_BUF;
			return 0;
		}
		if (!len)
			return 0;
		break;
	default:
		return 0;
	}
	if (len <= 0)
		return 0;
	b->e.buf_total = (__u32)len;
	if (len > EBQ_FUNC_BUF_MAX) {
		len = EBQ_FUNC_BUF_MAX;
		b->e.flags |= EBQ_FUNC_BUF_CUT;
	}
	n = (__u64)len;
	if (func_read_buf(b->data.b, off, n, (const void *)src)) {
		b->e.flags |= EBQ_FUNC_BAD0 << EBQ_FUNC_F_BUF;
		return 0;
	}
	b->e.len[EBQ_FUNC_F_BUF] = n;
	return (__u32)n;
}

/*
 * Reports one row: args (NULL: not known) and the return (have_ret). The
 * strings are read now, at the row's end of the call: an argument's
 * string as it is at the return when the return is traced (an output
 * buffer the function filled reads as filled).
 */
static __always_inline void func_report(__u64 cookie, const __u64 *args, __s64 ret, bool have_ret,
					__u64 duration)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct func_buf *b;
	__u32 off = 0, n, i;

	if (CFG.agg_enabled) {
		aggregate_current(EBQ_FUNC_COOKIE_ID(cookie), ret, duration);
		return;
	}
	b = scratch_event(task);
	if (!b)
		return;
	b->e.func = EBQ_FUNC_COOKIE_ID(cookie);
	b->e.mode = EBQ_FUNC_COOKIE_MODE(cookie);
	b->e.buf_total = 0;
	b->e.ret = ret;
	b->e.duration_ns = duration;
	b->e.flags = (have_ret ? EBQ_FUNC_HAS_EXIT : 0) | (args ? EBQ_FUNC_HAS_ENTRY : 0);
	if (args)
		__builtin_memcpy(b->e.args, args, sizeof(b->e.args));
	else
		__builtin_memset(b->e.args, 0, sizeof(b->e.args));
	__builtin_memset(b->e.len, 0, sizeof(b->e.len));
	for (i = 0; i < 6; i++) {
		__u64 src;

		if (!(CFG.capture & (EBQ_FUNC_CAP_STR0 << i)) || !args)
			continue;
		src = args[i];
		if (b->e.mode == EBQ_FUNC_MODE_PAM) {
			/* The handle's strings, not the arguments. */
			src = 0;
			if (i < EBQ_PAM_STRINGS)
				bpf_probe_read_user(&src, sizeof(src),
						    (const void *)(args[0] + EBQ_PAM_SERVICE_OFF + 8 * i));
		}
		n = func_str(b, i, off, src);
		b->e.len[i] = n;
		off += n;
	}
	if ((CFG.capture & EBQ_FUNC_CAP_STR_RET) && have_ret) {
		n = func_str(b, 6, off, (__u64)ret);
		b->e.len[6] = n;
		off += n;
	}
	if ((CFG.capture & EBQ_FUNC_CAP_BUF) && args && (have_ret || !func_mode_ssl(b->e.mode))) {
		n = func_buf_copy(b, off, ret, have_ret, args);
		/* A call that moved nothing (it failed, or would block) makes
		 * no row of a buffer's table (ssl_events), as in sslsniff. */
		if (!b->e.buf_total && func_mode_ssl(b->e.mode)) {
			filtered();
			return;
		}
		off += n;
	}
	if (CFG.capture & EBQ_FUNC_CAP_TTY) {
		struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
		long r = -1;

		if (tty)
			r = bpf_probe_read_kernel_str(data_at(b->data.b, off), EBQ_FUNC_TTY_MAX, &tty->name);
		if (r > 1) {
			n = (__u32)(r - 1) & (EBQ_FUNC_TTY_MAX - 1);
			b->e.len[EBQ_FUNC_F_TTY] = n;
			off += n;
		} else {
			b->e.flags |= EBQ_FUNC_BAD0 << EBQ_FUNC_F_TTY;
		}
	}
	if (CFG.capture & EBQ_FUNC_CAP_CWD) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);

		n = walk_path(b->data.b, off, &fs->pwd, &b->e.flags, EBQ_FUNC_CWD_CUT);
		b->e.len[EBQ_FUNC_F_CWD] = n;
		off += n;
	}
	submit_event(b, sizeof(b->e) + (__u64)off, EBQ_STAT_SENT_FUNC);
}

/* The filters of a call's entry, cheapest first; true: it goes on. */
static __always_inline bool func_entry_ok(const __u64 *args)
{
	if (quick_rejects() ||
	    (CFG.int_mode[EBQ_COL_TID] && !int_ok(EBQ_COL_TID, (__u32)bpf_get_current_pid_tgid())) ||
	    !stable_ok(NULL, tgid_if_needed()) || !comm_ok_current() || !func_args_ok(args)) {
		filtered();
		return false;
	}
	return (bpf_get_current_pid_tgid() >> 32) != CFG.self_tgid;
}

static __always_inline int func_entry_of(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct func_call c = {};

	func_args(c.args, ctx, EBQ_FUNC_COOKIE_MODE(cookie));
	if (!func_entry_ok(c.args)) {
		if (func_paired()) {
			/* A call left behind at this depth must not pair with
			 * this one's return. */
			struct func_key k = {
				.pid_tgid = bpf_get_current_pid_tgid(),
				.sp = func_sp_at_return(PT_REGS_SP(ctx)),
				.func = EBQ_FUNC_COOKIE_ID(cookie),
			};

			bpf_map_delete_elem(&func_inflight, &k);
		}
		return 0;
	}
	if (func_paired()) {
		struct func_key k = {
			.pid_tgid = bpf_get_current_pid_tgid(),
			.sp = func_sp_at_return(PT_REGS_SP(ctx)),
			.func = EBQ_FUNC_COOKIE_ID(cookie),
		};

		c.start_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&func_inflight, &k, &c, BPF_ANY);
		return 0;
	}
	if (!cgroup_now_ok(NULL)) {
		filtered();
		return 0;
	}
	func_report(cookie, c.args, 0, false, 0);
	return 0;
}

static __always_inline int func_return_of(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__s64 ret = PT_REGS_RC(ctx);
	__u64 duration;

	if (func_paired()) {
		struct func_key k = {
			.pid_tgid = bpf_get_current_pid_tgid(),
			.sp = PT_REGS_SP(ctx),
			.func = EBQ_FUNC_COOKIE_ID(cookie),
		};
		struct func_call *seen = bpf_map_lookup_elem(&func_inflight, &k);
		struct func_call c;

		/* Not noted: its entry was rejected (the filters), or the
		 * LRU dropped it. */
		if (!seen)
			return 0;
		c = *seen;
		bpf_map_delete_elem(&func_inflight, &k);
		duration = bpf_ktime_get_ns() - c.start_ns;
		if (!int_ok(EBQ_FUNC_COL_RETVAL, ret) || !int_ok(EBQ_FUNC_COL_DURATION, duration) ||
		    !cgroup_now_ok(NULL)) {
			filtered();
			return 0;
		}
		func_report(cookie, c.args, ret, true, duration);
		return 0;
	}
	/* The return alone: the entry's filters, here. */
	if (quick_rejects() ||
	    (CFG.int_mode[EBQ_COL_TID] && !int_ok(EBQ_COL_TID, (__u32)bpf_get_current_pid_tgid())) ||
	    !stable_ok(NULL, tgid_if_needed()) || !comm_ok_current() || !int_ok(EBQ_FUNC_COL_RETVAL, ret) ||
	    !cgroup_now_ok(NULL)) {
		filtered();
		return 0;
	}
	if ((bpf_get_current_pid_tgid() >> 32) == CFG.self_tgid)
		return 0;
	func_report(cookie, NULL, ret, true, 0);
	return 0;
}

SEC("uprobe")
int func_entry(struct pt_regs *ctx)
{
	return func_entry_of(ctx);
}

SEC("uretprobe")
int func_return(struct pt_regs *ctx)
{
	return func_return_of(ctx);
}

/* The same, for uprobe_multi links (Linux 6.6): a program of that attach
 * type attaches only so, and one of the other only as a perf event. */
SEC("uprobe.multi")
int func_entry_multi(struct pt_regs *ctx)
{
	return func_entry_of(ctx);
}

SEC("uretprobe.multi")
int func_return_multi(struct pt_regs *ctx)
{
	return func_return_of(ctx);
}

/*
 * usdt_events: a static probe (.note.stapsdt) fired, attached by libbpf
 * by provider and name (bpf/usdt.bpf.h decodes each argument's location
 * from its note); one row, with its first six arguments.
 */
SEC("usdt")
int usdt_fire(struct pt_regs *ctx)
{
	__u64 cookie = bpf_usdt_cookie(ctx);
	__u64 args[6] = {};
	long v;
	int i, n = bpf_usdt_arg_cnt(ctx);

	for (i = 0; i < 6; i++) {
		if (i < n && !bpf_usdt_arg(ctx, i, &v))
			args[i] = (__u64)v;
	}
	if (!func_entry_ok(args))
		return 0;
	if (!cgroup_now_ok(NULL)) {
		filtered();
		return 0;
	}
	func_report(cookie, args, 0, false, 0);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_func_event _ebq_func_event = {};
enum ebq_func_flags _ebq_func_flags = EBQ_FUNC_HAS_EXIT;
enum ebq_func_capture _ebq_func_capture = EBQ_FUNC_CAP_ARGS;
enum ebq_func_stat _ebq_func_stat = EBQ_STAT_SENT_FUNC;
enum ebq_func_col _ebq_func_col = EBQ_FUNC_COL_DURATION;
enum ebq_func_mode _ebq_func_mode = EBQ_FUNC_MODE_PLAIN;
enum ebq_func_field _ebq_func_field = EBQ_FUNC_F_TTY;
enum ebq_func_buf_len _ebq_func_buf_len = EBQ_FUNC_BUF_LEN_CONST;

#endif /* __EBQ_FUNC_BPF_H__ */
