/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of process_events: execve and execveat, as the kernel ran them (process.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_PROCESS_H__
#define __EBQ_PROCESS_H__

#include "ebq.h"

/* Which syscall produced a process event. */
enum ebq_exec_syscall {
	EBQ_SYS_NONE = 0,     /* exec started by the kernel (kernel_execve) */
	EBQ_SYS_EXECVE = 1,
	EBQ_SYS_EXECVEAT = 2,
};

/* ebq_exec_event.flags */
enum ebq_exec_flags {
	/* path is the file the kernel ran, walked from its dentry (a walked
	 * path, see enum ebq_walk_flags); else it is the name as written,
	 * normalized lexically in userspace */
	EBQ_EXEC_PATH_WALKED = 1 << 0,
	/* path as written is relative: the base to resolve it against is cwd
	 * (or base, EBQ_EXEC_BASE_DIRFD) */
	EBQ_EXEC_PATH_RELATIVE = 1 << 1,
	/* the base in cwd is the directory of execveat's dirfd, not the cwd */
	EBQ_EXEC_BASE_DIRFD = 1 << 2,
	/* cwd was captured because the query asked for it */
	EBQ_EXEC_HAS_CWD = 1 << 3,
	/* args were captured */
	EBQ_EXEC_HAS_ARGS = 1 << 4,
	/* path was captured */
	EBQ_EXEC_HAS_PATH = 1 << 5,
	/* the environment was searched for LD_PRELOAD ... */
	EBQ_EXEC_HAS_ENV = 1 << 6,
	/* ... and it was there (ld_preload_len bytes, possibly empty) */
	EBQ_EXEC_LD_PRELOAD = 1 << 7,
	/* truncation: what was cut short */
	EBQ_TRUNC_ARGS = 1 << 8,
	EBQ_TRUNC_PATH = 1 << 9,
	EBQ_TRUNC_CWD = 1 << 10,
	/* the environment was larger than the search reads */
	EBQ_TRUNC_ENV = 1 << 11,
	/* the kernel ran an interpreter (#! script, binfmt_misc): interp is
	 * the interpreter's walked path, path the file the caller executed */
	EBQ_EXEC_SCRIPT = 1 << 12,
	/* req holds the path as the caller wrote it */
	EBQ_EXEC_HAS_REQ = 1 << 13,
	/* ... as the kernel named it for execveat: "/dev/fd/N[/name]" for
	 * the relative name (or "" with AT_EMPTY_PATH) the caller wrote */
	EBQ_EXEC_REQ_FDPATH = 1 << 14,
	/* the interpreter's path was captured */
	EBQ_EXEC_HAS_INTERP = 1 << 15,
	/* LD_PRELOAD's value was longer than the kernel copies */
	EBQ_EXEC_LD_PRELOAD_CUT = 1 << 16,
	/* cmdline_size, env_size, env_count were read (an exec that
	 * succeeded: the new mm's blocks) */
	EBQ_EXEC_HAS_SIZES = 1 << 17,
	/* mode, owner_uid, owner_gid of the executed file were read */
	EBQ_EXEC_HAS_INODE = 1 << 18,
	/* env holds the environment block (env_len bytes) ... */
	EBQ_EXEC_HAS_ENVBLOCK = 1 << 19,
	/* ... cut at EBQ_ENV_MAX */
	EBQ_TRUNC_ENVBLOCK = 1 << 20,
};

/*
 * One execve/execveat. Followed in the ring buffer record, in this order,
 * by path_len bytes of path (walked, or as written: EBQ_EXEC_PATH_WALKED),
 * interp_len bytes of the interpreter's walked path, req_len bytes of the
 * path as written, args_len bytes of NUL-separated arguments, cwd_len
 * bytes of the walked cwd, base_len bytes of the walked base directory of
 * a relative path written to execveat, ld_preload_len bytes of the
 * LD_PRELOAD value, and env_len bytes of the environment block
 * (NUL-separated, as the new program got it).
 */
struct ebq_exec_event {
	struct ebq_header h;
	__u64 duration_ns;
	__s32 exit_code;
	__u32 syscall;    /* enum ebq_exec_syscall */
	__u32 argc;
	__u32 flags;      /* enum ebq_exec_flags */
	__u16 path_len;
	__u16 args_len;
	__u16 cwd_len;
	__u16 base_len;   /* execveat dirfd's directory, for a relative path */
	__u16 ld_preload_len;
	__u16 req_len;
	__u16 interp_len;
	__u16 env_len;
	/* EBQ_EXEC_HAS_SIZES: mm->arg_end - arg_start, env_end - env_start,
	 * bprm->envc */
	__u32 cmdline_size;
	__u32 env_size;
	__u32 env_count;
	/* EBQ_EXEC_HAS_INODE: the executed file's inode (the script, for
	 * a #! script: the file `path` names) */
	__u32 mode;
	__u32 owner_uid;
	__u32 owner_gid;
};

/* An exec's data at its longest (path, interp, req, args, cwd,
 * ld_preload, env; a failed one has a base instead of interp and req). */
#define EBQ_EXEC_DATA_MAX (3 * EBQ_WALKED_MAX + 2 * EBQ_PATH_MAX + EBQ_ARGS_MAX + EBQ_ENV_MAX)
_Static_assert(EBQ_EXEC_DATA_MAX <= EBQ_DATA_MASK, "an exec's fields never wrap");

/* Its own capture bits (cfg.capture). */
enum ebq_process_capture {
	EBQ_PROCESS_CAP_PATH = EBQ_CAP_TABLE << 0,
	EBQ_PROCESS_CAP_ARGS = EBQ_CAP_TABLE << 1,
	EBQ_PROCESS_CAP_CWD = EBQ_CAP_TABLE << 2,
	EBQ_PROCESS_CAP_ENV = EBQ_CAP_TABLE << 3,       /* search the environment for LD_PRELOAD */
	EBQ_PROCESS_CAP_REQUESTED = EBQ_CAP_TABLE << 4, /* the path as written (requested_path) */
	EBQ_PROCESS_CAP_INTERP = EBQ_CAP_TABLE << 5,    /* the interpreter's path */
	EBQ_PROCESS_CAP_SIZES = EBQ_CAP_TABLE << 6,     /* argument/environment block sizes */
	EBQ_PROCESS_CAP_EXEFILE = EBQ_CAP_TABLE << 7,   /* the executed file's mode, owner */
	EBQ_PROCESS_CAP_ENVBLOCK = EBQ_CAP_TABLE << 8,  /* the environment block */
};
_Static_assert(EBQ_PROCESS_CAP_ENVBLOCK < (1u << 31), "its capture bits fit cfg.capture");

enum ebq_process_stat {
	EBQ_STAT_SENT_EXEC = EBQ_STAT_TABLE,  /* exec_done */
	EBQ_STAT_SENT_EXEC_FAILED,            /* exec_exit (execve and execveat) */
};
_Static_assert(EBQ_STAT_SENT_EXEC_FAILED + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX,
	       "its counters fit the stats map");

#endif /* __EBQ_PROCESS_H__ */
