/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * file_events: open/openat/openat2/creat, unlink/unlinkat, rename/renameat/
 * renameat2, chmod/fchmodat/fchmodat2, chown/lchown/fchownat, mkdir/
 * mkdirat, rmdir, link/linkat, symlink/symlinkat and truncate, from their
 * syscall tracepoints, failed calls included.
 *
 * The entry notes the arguments (rejecting early on the stable filters
 * and, for a call that returns no fd, on the path prefix, so a rejected
 * call costs no map update); the exit reports. An open that returned an fd
 * reports the file opened, walked from its dentry (path.bpf.h): the object
 * the kernel resolved, symlinks followed, relative to the task's root.
 * Every other call (and a failed open) reports its paths as written, still
 * in the caller's memory, with the base directory of a relative one (the
 * cwd or the dirfd's directory, walked), for userspace to normalize. Only
 * the arguments a syscall has are read: a program that reads past its
 * tracepoint's record fails to attach.
 */
#ifndef __EBQ_FILE_BPF_H__
#define __EBQ_FILE_BPF_H__

#include "path.bpf.h"
#include "file.h"
#include "agg.bpf.h"

/* include/uapi/asm-generic/fcntl.h, include/uapi/linux/fcntl.h */
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define __O_TMPFILE 020000000
#define AT_REMOVEDIR 0x200

struct file_buf {
	struct ebq_file_event e;
	__u8 data[EBQ_DATA_SIZE];
	__u32 cell; /* forget()'s */
};

_Static_assert(sizeof(struct file_buf) <= EBQ_SCRATCH_SIZE, "file_buf fits a scratch slot");

/* The calls with a flags argument, as bits of what - EBQ_FS_OPEN. */
#define FS_BIT(what) (1u << ((what) - EBQ_FS_OPEN))
#define FS_HAS_FLAGS                                                                   \
	(FS_BIT(EBQ_FS_OPEN) | FS_BIT(EBQ_FS_OPENAT) | FS_BIT(EBQ_FS_OPENAT2) |         \
	 FS_BIT(EBQ_FS_CREAT) | FS_BIT(EBQ_FS_UNLINKAT) | FS_BIT(EBQ_FS_RENAMEAT2) |    \
	 FS_BIT(EBQ_FS_FCHMODAT2) | FS_BIT(EBQ_FS_FCHOWNAT) | FS_BIT(EBQ_FS_LINKAT))

/*
 * The action a call does, by table. In an entry `what` is a constant and
 * clang folds the read; in the report it is only known at run time, and a
 * read from .rodata leaves the verifier one path where a switch gave it
 * one per syscall, each with its own constant action carried through the
 * whole report: 12,075 instructions to verify (11 ms of each file_events
 * start), now 3,231 (3 ms).
 */
static const __u8 fs_actions[EBQ_FS_TRUNCATE - EBQ_FS_OPEN + 1] = {
	[EBQ_FS_OPEN - EBQ_FS_OPEN] = EBQ_FILE_OPEN,
	[EBQ_FS_OPENAT - EBQ_FS_OPEN] = EBQ_FILE_OPEN,
	[EBQ_FS_OPENAT2 - EBQ_FS_OPEN] = EBQ_FILE_OPEN,
	[EBQ_FS_CREAT - EBQ_FS_OPEN] = EBQ_FILE_CREATE,
	[EBQ_FS_UNLINK - EBQ_FS_OPEN] = EBQ_FILE_UNLINK,
	[EBQ_FS_UNLINKAT - EBQ_FS_OPEN] = EBQ_FILE_UNLINK,
	[EBQ_FS_RENAME - EBQ_FS_OPEN] = EBQ_FILE_RENAME,
	[EBQ_FS_RENAMEAT - EBQ_FS_OPEN] = EBQ_FILE_RENAME,
	[EBQ_FS_RENAMEAT2 - EBQ_FS_OPEN] = EBQ_FILE_RENAME,
	[EBQ_FS_CHMOD - EBQ_FS_OPEN] = EBQ_FILE_CHMOD,
	[EBQ_FS_FCHMODAT - EBQ_FS_OPEN] = EBQ_FILE_CHMOD,
	[EBQ_FS_FCHMODAT2 - EBQ_FS_OPEN] = EBQ_FILE_CHMOD,
	[EBQ_FS_CHOWN - EBQ_FS_OPEN] = EBQ_FILE_CHOWN,
	[EBQ_FS_LCHOWN - EBQ_FS_OPEN] = EBQ_FILE_CHOWN,
	[EBQ_FS_FCHOWNAT - EBQ_FS_OPEN] = EBQ_FILE_CHOWN,
	[EBQ_FS_MKDIR - EBQ_FS_OPEN] = EBQ_FILE_MKDIR,
	[EBQ_FS_MKDIRAT - EBQ_FS_OPEN] = EBQ_FILE_MKDIR,
	[EBQ_FS_RMDIR - EBQ_FS_OPEN] = EBQ_FILE_RMDIR,
	[EBQ_FS_LINK - EBQ_FS_OPEN] = EBQ_FILE_LINK,
	[EBQ_FS_LINKAT - EBQ_FS_OPEN] = EBQ_FILE_LINK,
	[EBQ_FS_SYMLINK - EBQ_FS_OPEN] = EBQ_FILE_SYMLINK,
	[EBQ_FS_SYMLINKAT - EBQ_FS_OPEN] = EBQ_FILE_SYMLINK,
	[EBQ_FS_TRUNCATE - EBQ_FS_OPEN] = EBQ_FILE_TRUNCATE,
};

static __always_inline __u32 file_action(__u32 what, __u64 flags)
{
	__u32 i = what - EBQ_FS_OPEN;
	__u32 action;

	if (i >= sizeof(fs_actions))
		return 0;
	action = fs_actions[i];
	if (action == EBQ_FILE_OPEN && (flags & (O_CREAT | __O_TMPFILE)))
		return EBQ_FILE_CREATE;
	if (what == EBQ_FS_UNLINKAT && (flags & AT_REMOVEDIR))
		return EBQ_FILE_RMDIR;
	return action;
}

/* The directory a relative path starts from: the cwd, or dirfd's. */
static __always_inline __u32 walk_base(__u8 *data, __u32 off, struct task_struct *task,
				       __s32 dirfd, __u32 *eflags, __u32 trunc)
{
	const struct path *base;

	/* One walk_path() call site: each one costs the verifier a pass. */
	if (dirfd == AT_FDCWD) {
		base = &BPF_CORE_READ(task, fs)->pwd;
	} else {
		struct file *dir = fd_file(task, dirfd);

		if (!dir)
			return 0;
		base = &dir->f_path;
	}
	return walk_path(data, off, base, eflags, trunc);
}

/* The calls that return an fd: their file can be walked at the exit. */
static __always_inline bool opens_fd(__u32 what)
{
	return what >= EBQ_FS_OPEN && what <= EBQ_FS_CREAT;
}

/* Reported at the exit: when the query reads the result, or the path of
 * an open (the file it opens is only known once it returns); else now. */
static __always_inline bool file_reports_at_exit(__u32 what)
{
	return (CFG.capture & EBQ_FILE_CAP_EXIT) || (opens_fd(what) && (CFG.capture & EBQ_FILE_CAP_PATH));
}

/* Whether a syscall has a second path; a constant in each program. */
static __always_inline bool has_dest(__u32 what)
{
	switch (what) {
	case EBQ_FS_RENAME:
	case EBQ_FS_RENAMEAT:
	case EBQ_FS_RENAMEAT2:
	case EBQ_FS_LINK:
	case EBQ_FS_LINKAT:
	case EBQ_FS_SYMLINK:
	case EBQ_FS_SYMLINKAT:
		return true;
	}
	return false;
}

/* Reads a user path string at data + off; returns its length. An empty
 * or unreadable path reads as relative: its base is all there is. */
static __always_inline __u32 read_path(__u8 *data, __u32 off, const char *p, __u32 *eflags,
				       __u32 trunc, bool *relative)
{
	long n = read_user_str(data_at(data, off), EBQ_PATH_MAX, p);
	__u8 first = 0;

	if (n <= 0) {
		*relative = true;
		return 0;
	}
	if (str_cut(p, n, EBQ_PATH_MAX, true))
		*eflags |= trunc;
	bpf_probe_read_kernel(&first, 1, data_at(data, off));
	*relative = first != '/';
	return n - 1;
}

/*
 * One report in flight from a program to file_report_tail (a tail call
 * keeps the CPU, so a per-CPU slot hands it over).
 */
struct file_pending {
	struct inflight st;
	__s64 ret;
	__u32 have_ret;
	__u32 sent_stat;
	__u32 off;        /* file_dest_tail: where the second path goes */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_pending);
} file_pending SEC(".maps");

/* Slot 0: file_report_tail, 1: file_dest_tail; set by userspace after
 * loading. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} file_tail SEC(".maps");

/*
 * The second path (rename, link, symlink) in its own tail call,
 * file_dest_tail: verified apart, the branches of the two paths add up
 * instead of multiplying (the report was 17,651 instructions to verify,
 * 15 ms of each file_events start). The scratch slot keeps the event
 * built so far; the pending slot says where the path goes.
 */
static __always_inline int report_dest(void *ctx, __u32 off)
{
	__u32 zero = 0;
	struct file_pending *p = bpf_map_lookup_elem(&file_pending, &zero);

	if (!p)
		return 0;
	p->off = off;
	bpf_tail_call(ctx, &file_tail, tail_slot + 1);
	return 0; /* only when the slot is empty: userspace fills it before attaching */
}

/*
 * Builds and sends the event of a noted call. From the exit, with its
 * return value and time in the call; from the entry (have_ret false) when
 * the query reads neither (EBQ_FILE_CAP_EXIT unset): then no exit program is
 * attached at all, which halves the cost of every call traced, and the
 * paths are read before the call runs, as the exit would read them.
 */
static __always_inline int file_report(void *ctx, struct task_struct *task, __u32 what,
				       const struct inflight *st, long ret, bool have_ret,
				       __u32 sent_stat)
{
	struct file_buf *b;
	struct ebq_file_event *e;
	__u32 action, off = 0, n;
	bool relative = false, walked = false, walk_cut = false;

	action = file_action(what, st->args[4]);
	if ((CFG.actions && !(CFG.actions & (1u << action))) ||
	    (have_ret && !int_ok(EBQ_COL_EXIT_CODE, ret))) {
		filtered();
		return 0;
	}
	if (CFG.agg_enabled) {
		/* Aggregated: every filter is exact (the planner's rule), and
		 * no path is read. */
		aggregate_current(action, ret, have_ret ? bpf_ktime_get_boot_ns() - st->start_ns : 0);
		return 0;
	}
	b = scratch_slot();
	if (!b)
		return 0;
	e = &b->e;
	/*
	 * The file an open returned, walked and checked against the path
	 * prefix first: a rejected open costs the walk, not the header's
	 * helper calls too.
	 */
	if ((CFG.capture & EBQ_FILE_CAP_PATH) && have_ret && ret >= 0 && opens_fd(what)) {
		struct file *f = fd_file(task, (__s32)ret);

		if (f) {
			__u64 r = ebq_walk_path((struct ebq_data *)b->data, 0, (__u64)&f->f_path, 1);

			if (r & EBQ_WALK_R_REJECT) {
				filtered();
				return 0;
			}
			walked = true;
			off = (__u32)r;
			if (off > EBQ_PATH_MAX + EBQ_WALK_PSEUDO_INFO + 1)
				off = 0;
			walk_cut = r & EBQ_WALK_R_CUT;
		}
	}
	fill_header(&e->h, task);
	if (!header_ok(&e->h)) {
		filtered();
		return 0;
	}
	e->duration_ns = have_ret ? bpf_ktime_get_boot_ns() - st->start_ns : 0;
	e->exit_code = ret;
	e->action = action;
	e->flags = st->args[4];
	e->mode = 0;
	e->owner_uid = 0;
	e->owner_gid = 0;
	e->eflags = have_ret ? 0 : EBQ_FILE_NO_RESULT;
	e->syscall = what;
	e->req_len = 0;
	e->_pad = 0;
	e->path_len = 0;
	e->path_base_len = 0;
	e->dest_len = 0;
	e->dest_base_len = 0;
	/* A bit test, not a switch: one path for the verifier, not one per call. */
	if ((FS_HAS_FLAGS >> ((what - EBQ_FS_OPEN) & 31)) & 1)
		e->eflags |= EBQ_FILE_HAS_FLAGS;
	switch (action) {
	case EBQ_FILE_OPEN:
	case EBQ_FILE_CREATE:
	case EBQ_FILE_CHMOD:
	case EBQ_FILE_MKDIR:
		e->mode = st->args[5];
		e->eflags |= EBQ_FILE_HAS_MODE;
		break;
	case EBQ_FILE_CHOWN:
		e->owner_uid = st->args[5];
		e->owner_gid = st->args[5] >> 32;
		e->eflags |= EBQ_FILE_HAS_OWNER;
		break;
	}

	if (!(CFG.capture & (EBQ_FILE_CAP_PATH | EBQ_FILE_CAP_REQUESTED))) {
		submit_event(b, sizeof(b->e), sent_stat);
		return 0;
	}
	e->eflags |= EBQ_FILE_HAS_PATH;
	if (walked) {
		e->path_len = off;
		e->eflags |= EBQ_FILE_PATH_WALKED;
		if (walk_cut)
			e->eflags |= EBQ_FILE_TRUNC_PATH;
	}
	off = forget(&b->cell, off);
	if (walked) {
		/* The path as written, for requested_path. */
		if (CFG.capture & EBQ_FILE_CAP_REQUESTED) {
			n = read_path(b->data, off, (const char *)st->args[0], &e->eflags,
				      EBQ_FILE_TRUNC_PATH, &relative);
			if (n > EBQ_PATH_MAX)
				n = EBQ_PATH_MAX;
			e->req_len = n;
			off += n;
		}
	} else {
		n = read_path(b->data, off, (const char *)st->args[0], &e->eflags,
			      EBQ_FILE_TRUNC_PATH, &relative);
		if (n > EBQ_PATH_MAX)
			n = EBQ_PATH_MAX;
		/* The path as written is the row's path: checked as written, if
		 * normalizing cannot change it (path.bpf.h). */
		if ((CFG.capture & EBQ_FILE_CAP_PATH) && !relative &&
		    !written_prefix_ok((const char *)data_at(b->data, off), false)) {
			filtered();
			return 0;
		}
		e->path_len = n;
		off = forget(&b->cell, off + n);
		if (relative && (CFG.capture & EBQ_FILE_CAP_PATH)) {
			n = walk_base(b->data, off, task, (__s32)st->args[1], &e->eflags,
				      EBQ_FILE_TRUNC_PATH);
			e->path_base_len = n;
			e->eflags |= EBQ_FILE_PATH_BASE;
			off += n;
		}
	}
	off = forget(&b->cell, off);
	if (has_dest(what) && st->args[2])
		return report_dest(ctx, off);
	submit_event(b, sizeof(b->e) + (__u64)off, sent_stat);
	return 0;
}

/*
 * The report, for all 46 file programs: they tail-call it, so the verifier
 * checks its ~4,000 instructions once per run, not once per program (it
 * was 2 ms of verification in each of them).
 */
SEC("tracepoint")
int file_report_tail(void *ctx)
{
	__u32 zero = 0;
	struct file_pending *p = bpf_map_lookup_elem(&file_pending, &zero);

	if (!p)
		return 0;
	return file_report(ctx, (void *)bpf_get_current_task(), p->st.what, &p->st, p->ret,
			   p->have_ret, p->sent_stat);
}

/* The rest of a report with a second path (report_dest()). */
SEC("tracepoint")
int file_dest_tail(void *ctx)
{
	__u32 zero = 0;
	struct file_pending *p = bpf_map_lookup_elem(&file_pending, &zero);
	struct task_struct *task = (void *)bpf_get_current_task();
	const struct inflight *st;
	struct ebq_file_event *e;
	struct file_buf *b;
	bool dest_relative = false;
	__u32 action, off, n;

	b = scratch_slot();
	if (!p || !b)
		return 0;
	st = &p->st;
	e = &b->e;
	action = e->action;
	off = p->off;
	/* The path and its base (or the walked path and the path as
	 * written), each at most EBQ_PATH_MAX and a walk's header: never
	 * true, but it bounds off for the verifier. */
	if (off > 2 * (EBQ_PATH_MAX + 1 + EBQ_WALK_PSEUDO_INFO))
		return 0;
	e->eflags |= EBQ_FILE_HAS_DEST;
	n = read_path(b->data, off, (const char *)st->args[2], &e->eflags, EBQ_FILE_TRUNC_DEST,
		      &dest_relative);
	if (n > EBQ_PATH_MAX)
		n = EBQ_PATH_MAX;
	e->dest_len = n;
	off += n;
	if (action == EBQ_FILE_SYMLINK) {
		/* The target of a symlink is text, not a path to resolve. */
		e->eflags |= EBQ_FILE_DEST_RAW;
	} else if (dest_relative) {
		n = walk_base(b->data, off, task, (__s32)st->args[3], &e->eflags,
			      EBQ_FILE_TRUNC_DEST);
		e->dest_base_len = n;
		e->eflags |= EBQ_FILE_DEST_BASE;
		off += n;
	}
	submit_event(b, sizeof(b->e) + (__u64)off, p->sent_stat);
	return 0;
}

/* Hands the call to file_report_tail. */
static __always_inline int report(void *ctx, const struct inflight *st, long ret, bool have_ret,
				  __u32 sent_stat)
{
	__u32 zero = 0;
	struct file_pending *p = bpf_map_lookup_elem(&file_pending, &zero);

	if (!p)
		return 0;
	p->st = *st;
	p->ret = ret;
	p->have_ret = have_ret;
	p->sent_stat = sent_stat;
	bpf_tail_call(ctx, &file_tail, tail_slot);
	return 0; /* only when the slot is empty: userspace fills it before attaching */
}

/*
 * A file syscall's entry, once its filters passed (file_entry_rejects():
 * the stable ones and, for an absolute path, the path prefix, so a
 * rejected call costs no map update). path/dest are user pointers, dirfds
 * AT_FDCWD when the syscall has none. The call is reported at once, or
 * noted for its exit.
 */
static __always_inline int file_enter(void *ctx, __u32 what, const char *path, __s32 dirfd,
				      const char *dest, __s32 dest_dirfd, __u64 flags, __u64 mode)
{
	struct inflight st = {};

	if ((bpf_get_current_pid_tgid() >> 32) == CFG.self_tgid)
		return 0;
	if (CFG.agg_enabled && !(CFG.capture & EBQ_FILE_CAP_EXIT)) {
		/* Counted right here: no tail call, nothing else to read. */
		__u32 action = file_action(what, flags);

		if (CFG.actions && !(CFG.actions & (1u << action))) {
			filtered();
			return 0;
		}
		aggregate_current(action, 0, 0);
		return 0;
	}
	st.args[0] = (__u64)path;
	st.args[1] = (__u64)(__s64)dirfd;
	st.args[2] = (__u64)dest;
	st.args[3] = (__u64)(__s64)dest_dirfd;
	st.args[4] = flags;
	st.args[5] = mode;
	st.what = what;
	if (!file_reports_at_exit(what))
		return report(ctx, &st, 0, false, EBQ_STAT_SENT_FILE + file_action(what, 0));
	st.start_ns = bpf_ktime_get_boot_ns();
	put_inflight(&st);
	return 0;
}

/*
 * Every file syscall's exit, one program attached to each exit tracepoint
 * with the syscall (enum ebq_file_sys) as its cookie: one load instead of
 * 23. Exit records all have the same layout (the return value).
 */
SEC("tracepoint/syscalls/sys_exit_openat")
int file_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 what = syscall_cookie(ctx);
	struct inflight st;

	if (!take_inflight(&st) || st.what != what)
		return 0;
	return report(ctx, &st, ctx->ret, true, EBQ_STAT_SENT_FILE + file_action(what, 0));
}

#define AT(x) ((__s32)(x))
#define P(x) ((const char *)(x))

/*
 * The entry's filters, run before the program reads more of its call than
 * the path (clang evaluated all of file_enter's arguments first, and kept
 * them across the helper calls): most calls stop here, and what they cost
 * is what a rejected event costs. Our own pid is checked after.
 */
static __always_inline bool file_entry_ok(void)
{
	return stable_ok(NULL, tgid_if_needed()) && comm_ok_current();
}

/*
 * The path prefix is checked here only for a call that returns no fd: its
 * row reports the path as written. An open reports the file it opened,
 * which its exit checks.
 */
static __always_inline bool file_entry_rejects(__u32 what, const char *path)
{
	if (!quick_rejects() && file_entry_ok() &&
	    (file_reports_at_exit(what) || cgroup_now_ok(NULL)) &&
	    (opens_fd(what) || !(CFG.capture & EBQ_FILE_CAP_PATH) || written_prefix_ok(path, true)))
		return false;
	filtered();
	return true;
}

/* One entry per syscall: name, what, the index of its path argument,
 * then file_enter's arguments. */
#define FILE_ENTRY(name, what, path_arg, ...)                                       \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                 \
	int name##_enter(struct trace_event_raw_sys_enter *ctx)                     \
	{                                                                           \
		const char *path_ = P(ctx->args[path_arg]);                         \
                                                                                    \
		if (file_entry_rejects(what, path_))                                \
			return 0;                                                   \
		return file_enter(ctx, what, path_, __VA_ARGS__);                   \
	}

/* openat2's flags and mode are in a struct open_how in user memory. */
static __always_inline int openat2_enter_how(struct trace_event_raw_sys_enter *ctx)
{
	__u64 how[2] = {};

	if (file_entry_rejects(EBQ_FS_OPENAT2, P(ctx->args[1])))
		return 0;
	bpf_probe_read_user(how, sizeof(how), (void *)ctx->args[2]);
	return file_enter(ctx, EBQ_FS_OPENAT2, P(ctx->args[1]), AT(ctx->args[0]), 0, AT_FDCWD, how[0],
			  how[1]);
}

/* chown's owner rides in one argument: uid | gid << 32. */
#define OWNER(u, g) (((__u64)(__u32)(u)) | ((__u64)(__u32)(g) << 32))

FILE_ENTRY(open, EBQ_FS_OPEN, 0, AT_FDCWD, 0, AT_FDCWD, ctx->args[1], ctx->args[2])
FILE_ENTRY(openat, EBQ_FS_OPENAT, 1, AT(ctx->args[0]), 0, AT_FDCWD, ctx->args[2],
	  ctx->args[3])
FILE_ENTRY(creat, EBQ_FS_CREAT, 0, AT_FDCWD, 0, AT_FDCWD, O_CREAT | O_WRONLY | O_TRUNC,
	  ctx->args[1])
FILE_ENTRY(unlink, EBQ_FS_UNLINK, 0, AT_FDCWD, 0, AT_FDCWD, 0, 0)
FILE_ENTRY(unlinkat, EBQ_FS_UNLINKAT, 1, AT(ctx->args[0]), 0, AT_FDCWD, ctx->args[2], 0)
FILE_ENTRY(rename, EBQ_FS_RENAME, 0, AT_FDCWD, P(ctx->args[1]), AT_FDCWD, 0, 0)
FILE_ENTRY(renameat, EBQ_FS_RENAMEAT, 1, AT(ctx->args[0]), P(ctx->args[3]),
	  AT(ctx->args[2]), 0, 0)
FILE_ENTRY(renameat2, EBQ_FS_RENAMEAT2, 1, AT(ctx->args[0]), P(ctx->args[3]),
	  AT(ctx->args[2]), ctx->args[4], 0)
FILE_ENTRY(chmod, EBQ_FS_CHMOD, 0, AT_FDCWD, 0, AT_FDCWD, 0, ctx->args[1])
FILE_ENTRY(fchmodat, EBQ_FS_FCHMODAT, 1, AT(ctx->args[0]), 0, AT_FDCWD, 0,
	  ctx->args[2])
FILE_ENTRY(fchmodat2, EBQ_FS_FCHMODAT2, 1, AT(ctx->args[0]), 0, AT_FDCWD,
	  ctx->args[3], ctx->args[2])
FILE_ENTRY(chown, EBQ_FS_CHOWN, 0, AT_FDCWD, 0, AT_FDCWD, 0,
	  OWNER(ctx->args[1], ctx->args[2]))
FILE_ENTRY(lchown, EBQ_FS_LCHOWN, 0, AT_FDCWD, 0, AT_FDCWD, 0,
	  OWNER(ctx->args[1], ctx->args[2]))
FILE_ENTRY(fchownat, EBQ_FS_FCHOWNAT, 1, AT(ctx->args[0]), 0, AT_FDCWD, ctx->args[4],
	  OWNER(ctx->args[2], ctx->args[3]))
FILE_ENTRY(mkdir, EBQ_FS_MKDIR, 0, AT_FDCWD, 0, AT_FDCWD, 0, ctx->args[1])
FILE_ENTRY(mkdirat, EBQ_FS_MKDIRAT, 1, AT(ctx->args[0]), 0, AT_FDCWD, 0, ctx->args[2])
FILE_ENTRY(rmdir, EBQ_FS_RMDIR, 0, AT_FDCWD, 0, AT_FDCWD, 0, 0)
FILE_ENTRY(link, EBQ_FS_LINK, 0, AT_FDCWD, P(ctx->args[1]), AT_FDCWD, 0, 0)
FILE_ENTRY(linkat, EBQ_FS_LINKAT, 1, AT(ctx->args[0]), P(ctx->args[3]),
	  AT(ctx->args[2]), ctx->args[4], 0)
/* symlink(target, linkpath): the row's path is the link, dest the target. */
FILE_ENTRY(symlink, EBQ_FS_SYMLINK, 1, AT_FDCWD, P(ctx->args[0]), AT_FDCWD, 0, 0)
FILE_ENTRY(symlinkat, EBQ_FS_SYMLINKAT, 2, AT(ctx->args[1]), P(ctx->args[0]),
	  AT_FDCWD, 0, 0)
FILE_ENTRY(truncate, EBQ_FS_TRUNCATE, 0, AT_FDCWD, 0, AT_FDCWD, 0, 0)

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	return openat2_enter_how(ctx);
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
enum ebq_file_capture _ebq_file_capture = EBQ_FILE_CAP_PATH;
struct ebq_file_event _ebq_file_event = {};
enum ebq_file_action _ebq_file_action = EBQ_FILE_OPEN;
enum ebq_file_flags _ebq_file_flags = EBQ_FILE_HAS_DEST;
enum ebq_file_sys _ebq_file_sys = EBQ_FS_OPEN;
enum ebq_file_stat _ebq_file_stat = EBQ_STAT_SENT_FILE;

#endif /* __EBQ_FILE_BPF_H__ */
