/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * process_events: one event per execve/execveat, failed ones included.
 *
 * Three hooks share the work:
 *  - sys_enter_execve/execveat note when the call started, its arguments
 *    (user pointers) and whether the stable filters (stable_ok) reject it;
 *  - sched_process_exec fires once the new program is in place: the event
 *    is built there, with the new comm and credentials, the argument block
 *    of the new mm, read in one copy (mm->arg_start..arg_end), the
 *    environment block the same way (env_start..env_end, at most
 *    EBQ_ENV_MAX, flagged when cut), the blocks' sizes and the executed
 *    file's mode and owner (its inode);
 *  - sys_exit_execve/execveat report the calls that failed: the caller's
 *    memory is still there, so the arguments are read pointer by pointer.
 * The entry lives in the calling thread's task storage; sched_process_exec
 * runs in the same task_struct even when de_thread() (fs/exec.c) hands it
 * the leader's pid, so it finds the entry there (in the hash of a kernel
 * without task storage, by the old pid the tracepoint hands it).
 *
 * `path` is the file the kernel ran, walked from its dentry (path.bpf.h);
 * for a #! script (or a binfmt_misc format) the kernel runs an interpreter
 * instead: `path` stays the script and `interp` is the interpreter. A
 * failed exec has no file: its path is sent as written, with its base.
 */
#ifndef __EBQ_PROCESS_BPF_H__
#define __EBQ_PROCESS_BPF_H__

#include "path.bpf.h"
#include "process.h"

struct exec_buf {
	struct ebq_exec_event e;
	__u8 data[EBQ_DATA_SIZE];
	__u32 cell; /* forget()'s */
};

_Static_assert(sizeof(struct exec_buf) <= EBQ_SCRATCH_SIZE, "exec_buf fits a scratch slot");

/* The scratch slot is reused: nothing of the last event may leak in. */
static __always_inline void clear_lengths(struct ebq_exec_event *e)
{
	e->flags = 0;
	e->path_len = 0;
	e->args_len = 0;
	e->cwd_len = 0;
	e->base_len = 0;
	e->ld_preload_len = 0;
	e->req_len = 0;
	e->interp_len = 0;
	e->env_len = 0;
	e->cmdline_size = 0;
	e->env_size = 0;
	e->env_count = 0;
	e->mode = 0;
	e->owner_uid = 0;
	e->owner_gid = 0;
}

/*
 * The state of the loops below that walk the caller's memory (argv
 * pointers, pending task works, the environment), in a map value: read
 * from there it is an unknown number to the verifier, which then checks
 * each callback once, where a state on the stack, with a value per
 * iteration, cost it a pass per iteration (5 ms of verification for the
 * count alone).
 */
struct loop_state {
	__u64 at;     /* the next pointer or string */
	__u64 end;
	__u64 cur;
	__u64 found;
	__u64 done;
	__u64 inside; /* env_block_step(): `at` is inside a variable */
	__u64 argv;   /* the caller's argv or envp array, in user memory */
};

/* A failed exec's arguments copied so far (args_step()). */
struct args_state {
	__u32 off;       /* where they start in the event's data */
	__u32 used;
	__u32 argc;
	__u32 truncated;
	__u32 done;
};

/* Per CPU: that state, and one environment variable at a time while the
 * block is searched. One map for both: each per-CPU map costs start-up. */
struct exec_scratch {
	struct loop_state s;
	struct args_state args;
	char var[EBQ_ENV_VAR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* This CPU's loop state, or NULL. */
static __always_inline struct loop_state *loop_state(void)
{
	__u32 zero = 0;
	struct exec_scratch *x = bpf_map_lookup_elem(&exec_scratch, &zero);

	return x ? &x->s : NULL;
}

struct loop_ctx {
	struct loop_state *s;
	const char *const *argv;
};

struct env_ctx {
	struct loop_state *s;        /* at: the next string or pointer index;
					found: LD_PRELOAD's value, in user
					memory */
	const char *const *envp;     /* failed exec: the caller's array */
	char *var;                   /* exec_scratch's var */
};

static __always_inline bool is_ld_preload(const char *h)
{
	return h[0] == 'L' && h[1] == 'D' && h[2] == '_' && h[3] == 'P' && h[4] == 'R' &&
	       h[5] == 'E' && h[6] == 'L' && h[7] == 'O' && h[8] == 'A' && h[9] == 'D' &&
	       h[10] == '=';
}

/*
 * One step through the new program's environment block (mm->env_start..
 * env_end): a variable, or EBQ_ENV_VAR_MAX - 1 bytes of one too long for a
 * single read, whose rest the next steps skip (it starts no variable).
 */
static long env_block_step(__u32 i, void *arg)
{
	struct env_ctx *c = arg;
	struct loop_state *s = c->s;
	char *var = c->var;
	unsigned long pos = s->at;
	long n;

	if (pos >= s->end) {
		s->done = 1;
		return 1;
	}
	n = read_user_str(var, EBQ_ENV_VAR_MAX, (void *)pos);
	if (n <= 0) {
		s->done = 1;
		return 1;
	}
	/* The loader takes the last LD_PRELOAD (elf/rtld.c process_envvars()
	 * keeps overwriting it): so does the search, to the end. */
	if (!s->inside && n >= 11 && is_ld_preload(var))
		s->found = pos + 11;
	/* n == EBQ_ENV_VAR_MAX: no NUL in sight, the copy ends with one of
	 * its own; the variable goes on at pos + n - 1. */
	s->inside = n == EBQ_ENV_VAR_MAX;
	s->at = pos + (s->inside ? n - 1 : n);
	return 0;
}

/* One pointer of a failed exec's envp array. */
static long env_array_step(__u32 i, void *arg)
{
	struct env_ctx *c = arg;
	struct loop_state *s = c->s;
	const char *p = NULL;
	char head[12] = {};

	if (bpf_probe_read_user(&p, sizeof(p), &c->envp[i]) || !p) {
		s->done = 1;
		return 1;
	}
	if (bpf_probe_read_user(head, 11, p))
		return 0;
	if (is_ld_preload(head))
		s->found = (__u64)p + 11; /* the last one counts */
	return 0;
}

/* Steps of the environment's loops a compat round runs (EBQ_STEPS()). */
#define EBQ_ENV_INNER 128

/* Their context, as a compat round rebuilds it: for either loop. */
#define EBQ_ENV_CTX                                                        \
	__u32 zero = 0;                                                    \
	struct exec_scratch *x = bpf_map_lookup_elem(&exec_scratch, &zero); \
	struct env_ctx c = {};                                             \
	void *ctx = &c;                                                    \
	if (!x)                                                            \
		return 1;                                                  \
	c.s = &x->s;                                                       \
	c.var = x->var;                                                    \
	c.envp = (const char *const *)x->s.argv

EBQ_DEFINE_STEPS(ebq_env_block_steps, env_block_step, EBQ_ENV_INNER, EBQ_ENV_CTX)
EBQ_DEFINE_STEPS(ebq_env_array_steps, env_array_step, EBQ_ENV_INNER, EBQ_ENV_CTX)

/*
 * LD_PRELOAD from the environment: the new program's for a successful
 * exec (mm != NULL), else the caller's envp; its last occurrence, as the
 * loader reads it. Written at data + off, cut at EBQ_PATH_MAX (flagged).
 */
static __always_inline __u32 capture_ld_preload(struct exec_buf *b, struct mm_struct *mm,
						const char *const *envp, __u32 off)
{
	struct env_ctx c = {};
	struct exec_scratch *x;
	struct loop_state *s;
	__u32 zero = 0;
	long n;

	b->e.flags |= EBQ_EXEC_HAS_ENV;
	x = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!x)
		return 0;
	s = &x->s;
	c.s = s;
	s->found = 0;
	s->done = 0;
	s->inside = 0;
	if (mm) {
		c.var = x->var;
		s->at = BPF_CORE_READ(mm, env_start);
		s->end = BPF_CORE_READ(mm, env_end);
		EBQ_STEPS(EBQ_ENV_STEPS, env_block_step, &c, EBQ_ENV_INNER, ebq_env_block_steps);
	} else {
		c.envp = envp;
		s->argv = (__u64)envp;
		EBQ_STEPS(EBQ_ENV_STEPS, env_array_step, &c, EBQ_ENV_INNER, ebq_env_array_steps);
	}
	/* Not searched to the end: a later LD_PRELOAD may be there. Said,
	 * never guessed. */
	if (!s->done)
		b->e.flags |= EBQ_TRUNC_ENV;
	if (!s->found || off > EBQ_DATA_MASK)
		return 0;
	n = read_user_str(data_at(b->data, off), EBQ_PATH_MAX, (void *)s->found);
	if (n <= 0)
		return 0;
	if (str_cut((const char *)s->found, n, EBQ_PATH_MAX, true))
		b->e.flags |= EBQ_TRUNC_ENV | EBQ_EXEC_LD_PRELOAD_CUT;
	b->e.flags |= EBQ_EXEC_LD_PRELOAD;
	b->e.ld_preload_len = n - 1;
	return n - 1;
}

static __always_inline int exec_enter_call(__u32 syscall, __s32 dirfd, const char *filename,
				      const char *const *argv, const char *const *envp,
				      __u64 flags)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct inflight st = {};

	if (tgid == CFG.self_tgid)
		return 0;
	st.start_ns = bpf_ktime_get_boot_ns();
	st.args[0] = (__u64)filename;
	st.args[1] = (__u64)argv;
	st.args[2] = (__u64)(__s64)dirfd;
	st.args[3] = (__u64)envp;
	st.args[4] = flags;
	st.what = syscall;
	/* No path filter here: the path a row reports is the file the
	 * kernel resolves, which this name (a symlink, `..`) may not show. */
	st.rejected = !stable_ok(NULL, tgid);
	if (st.rejected)
		filtered();
	put_inflight(&st);
	return 0;
}

/*
 * One program for both entries, attached to each tracepoint with its
 * syscall as the attach cookie (catalog: Program::runs): one load and one
 * verification instead of two. A program may not read past the shortest
 * record it is attached to (the attach fails: execve's record has three
 * arguments), so execveat's fourth, envp, is read with a helper.
 */
SEC("tracepoint/syscalls/sys_enter_execve")
int exec_enter(struct trace_event_raw_sys_enter *ctx)
{
	bool at = syscall_cookie(ctx) == EBQ_SYS_EXECVEAT;
	const char *const *envp = (const char *const *)ctx->args[2];
	__u64 a0 = ctx->args[0], a1 = ctx->args[1], a2 = ctx->args[2], flags = 0;

	if (at) {
		bpf_probe_read_kernel(&envp, sizeof(envp), &ctx->args[3]);
		bpf_probe_read_kernel(&flags, sizeof(flags), &ctx->args[4]);
	}
	return exec_enter_call(at ? EBQ_SYS_EXECVEAT : EBQ_SYS_EXECVE, at ? (__s32)a0 : AT_FDCWD,
			       (const char *)(at ? a1 : a0), (const char *const *)(at ? a2 : a1),
			       envp, flags);
}

/*
 * One of the new mm's blocks (the arguments, the environment: start..end
 * in user memory) read whole at `off` in one copy, cut at `max` (a
 * constant: the verifier bounds the copy by it) with `cut` set in the
 * flags. Returns the bytes kept, 0 when the read failed.
 */
static __always_inline __u32 read_block(struct exec_buf *b, __u32 off, unsigned long start,
					unsigned long end, __u32 max, __u32 cut)
{
	unsigned long len = end - start;

	if (len > max) {
		len = max;
		b->e.flags |= cut;
	}
	if (bpf_probe_read_user(data_at(b->data, off), len, (void *)start))
		return 0;
	return len;
}

static __always_inline __u32 capture_cwd(struct exec_buf *b, struct task_struct *task,
					 __u32 off)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	__u32 n;

	n = walk_path(b->data, off, &fs->pwd, &b->e.flags, EBQ_TRUNC_CWD);
	b->e.cwd_len = n;
	b->e.flags |= EBQ_EXEC_HAS_CWD;
	return n;
}

/*
 * The file was opened to be executed (do_open_execat(), fs/exec.c): the
 * open flag __FMODE_EXEC, which older kernels also mirror into f_mode as
 * FMODE_EXEC (include/linux/fs.h; the same bit in both).
 */
#define EBQ_FMODE_EXEC 0x20
/*
 * Pending task works walked looking for the script an exec ran: the
 * script's is the oldest, and every close-on-exec fd whose last
 * reference the exec dropped is queued after it (many, for a child of a
 * busy multithreaded parent).
 */
#define EBQ_TASK_WORKS_MAX 4096

/*
 * Where a struct file's task work is, by the kernel's name for it
 * (vmlinux.h: f_task_work since 6.12, f_rcuhead in 6.1, f_u.fu_rcuhead
 * in 5.10), or -1. Without it (6.1 read only f_task_work) a script's
 * path fell back to the name it was run by: a symlink, not its target.
 */
static __always_inline long file_work_offset(void)
{
	if (bpf_core_field_exists(((struct file *)0)->f_task_work))
		return bpf_core_field_offset(struct file, f_task_work);
	if (bpf_core_field_exists(((struct file___rcuhead *)0)->f_rcuhead))
		return bpf_core_field_offset(struct file___rcuhead, f_rcuhead);
	if (bpf_core_field_exists(((struct file___f_u *)0)->f_u.fu_rcuhead))
		return bpf_core_field_offset(((struct file___f_u *)0)->f_u.fu_rcuhead);
	return -1;
}

/*
 * The file the caller executed when the kernel ran an interpreter for it
 * (#! or binfmt_misc), or NULL. exec_binprm() (fs/exec.c) swaps the
 * interpreter into bprm->file and drops the script's file: binfmt_misc's
 * 'O' flag keeps it in bprm->executable; otherwise its last fput() is
 * deferred to the task's task_works (fs/file_table.c __fput_deferred()),
 * which run only on the way back to user space. Works added since the
 * syscall began are all that is pending there, newest first; the oldest
 * file opened for exec among them is the one the caller named (a later
 * one is an intermediate interpreter or the old program's exe_file). A
 * candidate is checked to be a file (its inode is its dentry's) before it
 * is believed.
 */
/* One pending task work: is it a file opened for exec (script_file())? */
static long works_step(__u32 i, void *arg)
{
	struct loop_state *s = ((struct loop_ctx *)arg)->s;
	struct callback_head *cb = (void *)s->cur;
	struct file *f;

	if (!cb)
		return 1;
	f = (void *)cb - file_work_offset();
	if (((BPF_CORE_READ(f, f_flags) | BPF_CORE_READ(f, f_mode)) & EBQ_FMODE_EXEC) &&
	    BPF_CORE_READ(f, f_inode) == BPF_CORE_READ(f, f_path.dentry, d_inode))
		s->found = (__u64)f;
	s->cur = (__u64)BPF_CORE_READ(cb, next);
	return 0;
}

/* Pending works a compat round walks (EBQ_STEPS()). */
#define EBQ_WORKS_INNER 32

EBQ_DEFINE_STEPS(ebq_works_steps, works_step, EBQ_WORKS_INNER,
		 struct loop_ctx c = { .s = loop_state() };
		 void *ctx = &c;
		 if (!c.s) return 1)

static __always_inline struct file *script_file(struct linux_binprm *bprm)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct loop_ctx c = {};

	if (bpf_core_field_exists(bprm->executable)) {
		struct file *exe = BPF_CORE_READ(bprm, executable);

		if (exe)
			return exe;
	}
	if (file_work_offset() < 0)
		return NULL;
	c.s = loop_state();
	if (!c.s)
		return NULL;
	c.s->cur = (__u64)BPF_CORE_READ(task, task_works);
	c.s->found = 0;
	EBQ_STEPS(EBQ_TASK_WORKS_MAX, works_step, &c, EBQ_WORKS_INNER, ebq_works_steps);
	return (struct file *)c.s->found;
}

/*
 * The file an exec ran (or failed to run) as the event's walked path, at
 * the start of its data; false when the path prefix filter says no.
 */
static __always_inline bool walk_exec_file(struct exec_buf *b, struct file *file, __u32 *off)
{
	__u64 r = ebq_walk_path((struct ebq_data *)b->data, 0, (__u64)&file->f_path, 1);

	if (r & EBQ_WALK_R_REJECT)
		return false;
	if (r & EBQ_WALK_R_CUT)
		b->e.flags |= EBQ_TRUNC_PATH;
	*off = (__u32)r;
	b->e.flags |= EBQ_EXEC_PATH_WALKED;
	return true;
}

/*
 * The event of an exec that succeeded. `captures` is a constant: false
 * leaves the capture code out of the program altogether (exec_done_bare).
 * The verifier cuts a capture the query does not read anyway, but what a
 * program loads costs per instruction, dead or not: exec_done took 0.7 ms
 * of a 6 ms start for a query that reads no path, argument or cwd.
 */
static __always_inline int exec_done_report(struct task_struct *p, pid_t old_pid,
					    struct linux_binprm *bprm, bool captures)
{
	__u32 off = 0;
	struct inflight st;
	bool noted, script, relative = false;
	struct exec_buf *b;
	struct ebq_exec_event *e;
	const char *filename;

	/* The thread's id before de_thread() gave it the leader's. */
	noted = take_inflight_of(&st, old_pid);
	b = scratch_slot();
	if (!b)
		return 0;
	e = &b->e;
	e->syscall = EBQ_SYS_NONE;
	e->duration_ns = 0;
	if (noted) {
		e->syscall = st.what;
		e->duration_ns = bpf_ktime_get_boot_ns() - st.start_ns;
		if (st.rejected)
			return 0;
	}
	fill_header(&e->h, p);
	if (e->h.pid == CFG.self_tgid)
		return 0;
	if (!header_ok(&e->h) || !int_ok(EBQ_COL_EXIT_CODE, 0)) {
		filtered();
		return 0;
	}
	e->exit_code = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	clear_lengths(e);
	filename = BPF_CORE_READ(bprm, filename);
	/* A binfmt rewrote the interpreter's name (load_script() calls
	 * bprm_change_interp()): the kernel ran an interpreter. */
	script = BPF_CORE_READ(bprm, interp) != filename;
	if (script)
		e->flags |= EBQ_EXEC_SCRIPT;

	if (captures && (CFG.capture & EBQ_PROCESS_CAP_SIZES)) {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);

		e->cmdline_size = BPF_CORE_READ(mm, arg_end) - BPF_CORE_READ(mm, arg_start);
		e->env_size = BPF_CORE_READ(mm, env_end) - BPF_CORE_READ(mm, env_start);
		e->env_count = BPF_CORE_READ(bprm, envc);
		e->flags |= EBQ_EXEC_HAS_SIZES;
	}
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_EXEFILE)) {
		/* The file `path` names: a script's own, not its interpreter's. */
		struct file *file = script ? script_file(bprm) : BPF_CORE_READ(bprm, file);
		struct inode *inode = BPF_CORE_READ(file, f_inode);

		if (file && inode) {
			e->mode = BPF_CORE_READ(inode, i_mode);
			e->owner_uid = BPF_CORE_READ(inode, i_uid.val);
			e->owner_gid = BPF_CORE_READ(inode, i_gid.val);
			e->flags |= EBQ_EXEC_HAS_INODE;
		}
	}
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_PATH)) {
		struct file *file = script ? script_file(bprm) : BPF_CORE_READ(bprm, file);

		e->flags |= EBQ_EXEC_HAS_PATH;
		if (file) {
			if (!walk_exec_file(b, file, &off)) {
				filtered();
				return 0;
			}
		} else {
			/* The script's file is gone from sight: its name as the
			 * kernel was given it, normalized in userspace. */
			long n = bpf_probe_read_kernel_str(b->data, EBQ_PATH_MAX, filename);

			if (!written_prefix_ok(filename, false)) {
				filtered();
				return 0;
			}
			if (n > 0)
				off = n - 1;
			if (str_cut(filename, n, EBQ_PATH_MAX, false))
				e->flags |= EBQ_TRUNC_PATH;
			if (n > 1 && b->data[0] != '/') {
				e->flags |= EBQ_EXEC_PATH_RELATIVE;
				relative = true;
			}
		}
		if (off > EBQ_PATH_MAX + EBQ_WALK_PSEUDO_INFO + 1)
			off = 0;
		e->path_len = off;
	}
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_INTERP) && script) {
		struct file *interp = BPF_CORE_READ(bprm, file);
		__u32 n = walk_path(b->data, off, &interp->f_path, &e->flags, EBQ_TRUNC_PATH);

		e->interp_len = n;
		e->flags |= EBQ_EXEC_HAS_INTERP;
		off += n;
	}
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_REQUESTED)) {
		long n = bpf_probe_read_kernel_str(data_at(b->data, off), EBQ_PATH_MAX, filename);

		if (n > 0) {
			e->req_len = n - 1;
			e->flags |= EBQ_EXEC_HAS_REQ;
			if (str_cut(filename, n, EBQ_PATH_MAX, false))
				e->flags |= EBQ_TRUNC_PATH;
			/* alloc_bprm() (fs/exec.c) names a relative name given
			 * to execveat "/dev/fd/N/name": fdpath says so. */
			if (bpf_core_field_exists(bprm->fdpath) && BPF_CORE_READ(bprm, fdpath))
				e->flags |= EBQ_EXEC_REQ_FDPATH;
			off += n - 1;
		}
	}
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_ARGS)) {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		__u32 len = read_block(b, off, BPF_CORE_READ(mm, arg_start),
				       BPF_CORE_READ(mm, arg_end), EBQ_ARGS_MAX, EBQ_TRUNC_ARGS);

		e->args_len = len;
		e->flags |= EBQ_EXEC_HAS_ARGS;
		off += len;
	}
	off = forget(&b->cell, off);
	if (captures && ((CFG.capture & EBQ_PROCESS_CAP_CWD) || relative))
		off += capture_cwd(b, p, off);
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_ENV))
		off += capture_ld_preload(b, BPF_CORE_READ(p, mm), NULL, off);
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_ENVBLOCK)) {
		/* The environment block, in one read like the arguments. */
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		__u32 len = read_block(b, off, BPF_CORE_READ(mm, env_start),
				       BPF_CORE_READ(mm, env_end), EBQ_ENV_MAX, EBQ_TRUNC_ENVBLOCK);

		e->env_len = len;
		e->flags |= EBQ_EXEC_HAS_ENVBLOCK;
		off += len;
	}
	submit_event(b, sizeof(b->e) + (__u64)off, EBQ_STAT_SENT_EXEC);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_done, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec_done_report(p, old_pid, bprm, true);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_done_bare, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec_done_report(p, old_pid, bprm, false);
}

/* The copy's state is in exec_scratch: read from a map, its numbers are
 * unknown to the verifier, which checks the step once (see loop_state). */
struct args_ctx {
	struct args_state *a;
	const char *const *argv;
	__u8 *data;
};

/*
 * One argument of a failed exec, read from the caller's argv array; run
 * under EBQ_STEPS() because the verifier cannot prove a plain loop of
 * EBQ_ARGV_MAX string copies within its instruction budget.
 */
static long args_step(__u32 i, void *arg)
{
	struct args_ctx *c = arg;
	struct args_state *a = c->a;
	const char *p = NULL;
	__u32 used = a->used, room;
	long n;

	if (bpf_probe_read_user(&p, sizeof(p), &c->argv[i]) || !p) {
		a->done = 1;
		return 1;
	}
	a->argc++;
	if (used >= EBQ_ARGS_MAX) {
		a->truncated = 1;
		return 0; /* keep counting */
	}
	/*
	 * used < EBQ_ARGS_MAX here, so the mask changes nothing; it is there
	 * for the verifier, which must see 1 <= room <= EBQ_ARGS_MAX, and the
	 * barrier keeps clang from optimizing it away.
	 */
	room = EBQ_ARGS_MAX - used;
	barrier_var(room);
	room = ((room - 1) & (EBQ_ARGS_MAX - 1)) + 1;
	n = read_user_str(data_at(c->data, a->off + used), room, p);
	if (n <= 0) {
		a->done = 1;
		return 1;
	}
	if ((__u32)n == room) {
		/* Cut (or an exact fit, which cannot be told apart): the copy
		 * ends without its NUL, which is how userspace sees the last
		 * argument was cut. */
		a->truncated = 1;
		a->used = used + n - 1;
		a->done = 1;
		return 1;
	}
	a->used = used + n;
	return 0;
}

/* Pointers of argv past the ones copied, counted EBQ_ARGV_CHUNK at a time. */
static long count_step(__u32 i, void *arg)
{
	struct loop_ctx *c = arg;
	struct loop_state *s = c->s;
	__u64 chunk[EBQ_ARGV_CHUNK];
	__u64 at = s->at;

	if (bpf_probe_read_user(chunk, sizeof(chunk), &c->argv[at])) {
		/* The array ends near the end of a page: one at a time. */
		const char *p = NULL;

		if (bpf_probe_read_user(&p, sizeof(p), &c->argv[at]) || !p) {
			s->done = 1;
			return 1;
		}
		s->at = at + 1;
		return 0;
	}
	/* Unrolled: straight-line checks cost the verifier one pass. */
#pragma unroll
	for (int j = 0; j < EBQ_ARGV_CHUNK; j++) {
		if (!chunk[j]) {
			s->at = at + j;
			s->done = 1;
			return 1;
		}
	}
	s->at = at + EBQ_ARGV_CHUNK;
	return 0;
}

/* The number of pointers in argv from `from` on, up to EBQ_ARGC_MAX. */
/* Steps a compat round runs (EBQ_STEPS()): argv's chunks, its strings. */
#define EBQ_COUNT_INNER 128
#define EBQ_ARGS_INNER 32

EBQ_DEFINE_STEPS(ebq_count_steps, count_step, EBQ_COUNT_INNER,
		 struct loop_ctx c = { .s = loop_state() };
		 void *ctx = &c;
		 if (!c.s) return 1;
		 c.argv = (const char *const *)c.s->argv)

EBQ_DEFINE_STEPS(ebq_args_steps, args_step, EBQ_ARGS_INNER,
		 __u32 zero = 0;
		 struct exec_scratch *x = bpf_map_lookup_elem(&exec_scratch, &zero);
		 struct exec_buf *b = scratch_slot();
		 struct args_ctx c = {};
		 void *ctx = &c;
		 if (!x || !b) return 1;
		 c.a = &x->args;
		 c.argv = (const char *const *)x->s.argv;
		 c.data = b->data)

static __always_inline __u32 count_args(const char *const *argv, __u32 from)
{
	struct loop_ctx c = { .argv = argv };

	c.s = loop_state();
	if (!c.s)
		return from;
	c.s->at = from;
	c.s->done = 0;
	c.s->argv = (__u64)argv;
	EBQ_STEPS(EBQ_ARGC_MAX / EBQ_ARGV_CHUNK, count_step, &c, EBQ_COUNT_INNER, ebq_count_steps);
	return c.s->at;
}

static __always_inline int exec_fail_report(const struct inflight *st, long ret, bool captures)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct exec_buf *b;
	struct ebq_exec_event *e;
	__u32 off = 0;
	/*
	 * A register, not e->flags: the verifier tracks it, so with the path
	 * not captured (rodata) it drops the cwd and dirfd walks below, which
	 * are most of this program's verification time.
	 */
	bool relative = false;

	b = scratch_slot();
	if (!b)
		return 0;
	e = &b->e;
	fill_header(&e->h, task);
	if (!header_ok(&e->h) || !int_ok(EBQ_COL_EXIT_CODE, ret)) {
		filtered();
		return 0;
	}
	e->syscall = st->what;
	e->duration_ns = bpf_ktime_get_boot_ns() - st->start_ns;
	e->exit_code = ret;
	e->argc = 0;
	clear_lengths(e);

	/*
	 * No file to walk: the path as written (it doubles as the requested
	 * path). execve("") or a bad pointer has no path at all: NULL, never
	 * the cwd it would resolve to.
	 */
	if (captures && (CFG.capture & (EBQ_PROCESS_CAP_PATH | EBQ_PROCESS_CAP_REQUESTED))) {
		long n = read_user_str(b->data, EBQ_PATH_MAX, (void *)st->args[0]);

		if (n > 0) {
			off = n - 1;
			e->flags |= EBQ_EXEC_HAS_REQ;
			if (str_cut((const char *)st->args[0], n, EBQ_PATH_MAX, true))
				e->flags |= EBQ_TRUNC_PATH;
		}
		if (n == 1 && (CFG.capture & EBQ_PROCESS_CAP_PATH) && (st->args[4] & AT_EMPTY_PATH) &&
		    (__s32)st->args[2] != AT_FDCWD) {
			/* execveat(fd, "", AT_EMPTY_PATH): the fd's file, still
			 * open (an exec that failed closed nothing). */
			struct file *f = fd_file(task, (__s32)st->args[2]);

			if (f) {
				if (!walk_exec_file(b, f, &off)) {
					filtered();
					return 0;
				}
				e->flags |= EBQ_EXEC_HAS_PATH;
			}
		} else if (n > 1 && (CFG.capture & EBQ_PROCESS_CAP_PATH)) {
			e->flags |= EBQ_EXEC_HAS_PATH;
			if (b->data[0] != '/') {
				e->flags |= EBQ_EXEC_PATH_RELATIVE;
				relative = true;
			} else if (!written_prefix_ok((const char *)b->data, false)) {
				filtered();
				return 0;
			}
		}
		if (off > EBQ_PATH_MAX + EBQ_WALK_PSEUDO_INFO + 1)
			off = 0;
		e->path_len = off;
	}
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_ARGS)) {
		const char *const *argv = (const char *const *)st->args[1];
		__u32 zero = 0;
		struct exec_scratch *x = bpf_map_lookup_elem(&exec_scratch, &zero);
		struct args_state *a;
		struct args_ctx c;
		__u32 used, argc;

		if (!x)
			return 0;
		a = &x->args;
		a->off = off;
		a->used = 0;
		a->argc = 0;
		a->truncated = 0;
		a->done = 0;
		x->s.argv = (__u64)argv;
		c.a = a;
		c.argv = argv;
		c.data = b->data;
		e->flags |= EBQ_EXEC_HAS_ARGS;
		EBQ_STEPS(EBQ_ARGV_MAX, args_step, &c, EBQ_ARGS_INNER, ebq_args_steps);
		if (a->truncated || !a->done)
			e->flags |= EBQ_TRUNC_ARGS;
		used = a->used;
		if (used > EBQ_ARGS_MAX)
			used = EBQ_ARGS_MAX;
		argc = a->argc;
		/* Copied or not, every argument counts. */
		if (!a->done || a->truncated)
			argc = count_args(argv, argc);
		e->argc = argc;
		e->args_len = used;
		off += used;
	}
	off = forget(&b->cell, off);
	/* A relative path is resolved against the cwd, or execveat's dirfd. */
	if ((captures && (CFG.capture & EBQ_PROCESS_CAP_CWD)) || (relative && (__s32)st->args[2] == AT_FDCWD))
		off += capture_cwd(b, task, off);
	off = forget(&b->cell, off);
	if (relative && (__s32)st->args[2] != AT_FDCWD) {
		struct file *dir = fd_file(task, (__s32)st->args[2]);

		/* The base is the dirfd's directory, even when the fd names
		 * none (EBADF): never the cwd. */
		e->flags |= EBQ_EXEC_BASE_DIRFD;
		if (dir) {
			__u32 n = walk_path(b->data, off, &dir->f_path, &e->flags,
					    EBQ_TRUNC_PATH);

			e->base_len = n;
			off += n;
		}
	}
	off = forget(&b->cell, off);
	if (captures && (CFG.capture & EBQ_PROCESS_CAP_ENV))
		off += capture_ld_preload(b, NULL, (const char *const *)st->args[3], off);
	submit_event(b, sizeof(b->e) + (__u64)off, EBQ_STAT_SENT_EXEC_FAILED);
	return 0;
}

/* A failed exec, handed from the exit programs to exec_fail_tail. */
struct exec_pending {
	struct inflight st;
	__s64 ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_pending);
} exec_pending SEC(".maps");

/* Slot 0: exec_fail_tail, set by userspace after loading. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} exec_tail SEC(".maps");

/*
 * The report of a failed exec, for both exit programs: they tail-call it,
 * so the verifier checks its argument, cwd and dirfd walks once (they were
 * 5.7 ms in each exit program with path, argv and cwd captured).
 */
static __always_inline int exec_fail_pending(bool captures)
{
	__u32 zero = 0;
	struct exec_pending *p = bpf_map_lookup_elem(&exec_pending, &zero);

	if (!p)
		return 0;
	return exec_fail_report(&p->st, p->ret, captures);
}

SEC("tracepoint")
int exec_fail_tail(void *ctx)
{
	return exec_fail_pending(true);
}

/* exec_fail_tail without the capture code (see exec_done_report()). */
SEC("tracepoint")
int exec_fail_bare(void *ctx)
{
	return exec_fail_pending(false);
}

static __always_inline int exec_exit_call(void *ctx, long ret)
{
	struct exec_pending *p;
	struct inflight st;
	__u32 zero = 0;

	if (!take_inflight(&st))
		return 0; /* succeeded (sched_process_exec took it), or not ours */
	if (st.rejected || ret >= 0 || (st.what != EBQ_SYS_EXECVE && st.what != EBQ_SYS_EXECVEAT))
		return 0;
	p = bpf_map_lookup_elem(&exec_pending, &zero);
	if (!p)
		return 0;
	p->st = st;
	p->ret = ret;
	bpf_tail_call(ctx, &exec_tail, tail_slot);
	return 0; /* only when the slot is empty: userspace fills it before attaching */
}

/* Both exits: the entry noted which syscall it was. */
SEC("tracepoint/syscalls/sys_exit_execve")
int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit_call(ctx, ctx->ret);
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
enum ebq_process_capture _ebq_process_capture = EBQ_PROCESS_CAP_PATH;
struct ebq_exec_event _ebq_exec_event = {};
enum ebq_exec_syscall _ebq_exec_syscall = EBQ_SYS_NONE;
enum ebq_exec_flags _ebq_exec_flags = EBQ_TRUNC_ARGS;
enum ebq_process_stat _ebq_process_stat = EBQ_STAT_SENT_EXEC;

#endif /* __EBQ_PROCESS_BPF_H__ */
