/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of ebq: the only definition of every struct that
 * crosses between the BPF programs and the Rust side.
 *
 * The Rust side never re-declares these: libbpf-cargo generates Rust types
 * from the BTF of the compiled object (src/kernel/mod.rs re-exports them),
 * so a change here is a change there. Rules that keep both sides in step:
 *   - fixed-width types only, every field naturally aligned, explicit
 *     padding, so no `packed` is ever needed;
 *   - every limit is a named constant with the reason for its size;
 *   - what the kernel had to cut short is flagged in the event (EBQ_TRUNC_*),
 *     never silently dropped.
 */
#ifndef __EBQ_H__
#define __EBQ_H__

/* TASK_COMM_LEN in include/linux/sched.h. */
#define EBQ_COMM_LEN 16

/*
 * Bytes of argument text kept per exec: twice the 4 KiB that execsnoop and
 * osquery keep, so a typical command line is never cut. A power of two: the
 * verifier needs masked offsets into the scratch buffer.
 */
#define EBQ_ARGS_MAX 8192
/*
 * Arguments copied one pointer at a time for a failed exec (a successful
 * one copies the new program's argument block in one read and has no such
 * bound besides EBQ_ARGS_MAX). The arguments are still all counted (argc),
 * up to EBQ_ARGC_MAX: more than the kernel's own limit on the argument
 * pages allows (MAX_ARG_STRLEN pages of 8-byte pointers).
 */
#define EBQ_ARGV_MAX 128
#define EBQ_ARGC_MAX (1 << 20)
/* Pointers of a failed exec's argv read in one helper call while counting. */
#define EBQ_ARGV_CHUNK 8
/* PATH_MAX in include/uapi/linux/limits.h. */
#define EBQ_PATH_MAX 4096
/* NAME_MAX + 1 (include/uapi/linux/limits.h): one path component. */
#define EBQ_NAME_MAX 256
/*
 * One component of a walked path: FUSE allows names of up to 1024 bytes
 * (FUSE_NAME_MAX), more than NAME_MAX; a longer one is cut and flagged.
 */
#define EBQ_COMPONENT_MAX 1024
/*
 * Steps of one path walk, each a component or a mount crossing: a path
 * of EBQ_PATH_MAX bytes has at most EBQ_PATH_MAX / 2 components, and the
 * walk stops when it has that many bytes anyway (EBQ_WALK_CUT).
 */
#define EBQ_WALK_STEPS (EBQ_PATH_MAX / 2 + 256)
/*
 * Scratch space for the variable part of one event. Each field starts at an
 * offset masked with EBQ_DATA_MASK and is at most EBQ_ARGS_MAX long, so every
 * write stays inside EBQ_DATA_SIZE whatever the verifier assumes. The mask
 * must also be above the sum of an event's longest fields (asserted where
 * each event is laid out), or a field would wrap onto the first ones: an
 * exec that succeeded carries a walked path, a walked interpreter, the path
 * as written, 8 KiB of arguments, a walked cwd, LD_PRELOAD's value and
 * 8 KiB of the environment.
 */
#define EBQ_DATA_MASK 65535
#define EBQ_DATA_SIZE (EBQ_DATA_MASK + 1 + EBQ_ARGS_MAX)
/* A per-CPU scratch slot: any event's fixed part, then its data. */
#define EBQ_SCRATCH_SIZE (256 + EBQ_DATA_SIZE)

/*
 * The search of an environment for LD_PRELOAD: steps of it (one variable,
 * or EBQ_ENV_VAR_MAX bytes of a longer one, per step), and the bytes one
 * step reads. 2^17 steps cover an environment of 2^17 variables, or of
 * 512 MiB in long ones; each costs a user read, on the exec's own time.
 * One of more variables (only tiny ones fit that many: the 2 MiB of
 * ARG_MAX holds about 230,000 empty ones) is searched as far as that and
 * flagged cut (EBQ_TRUNC_ENV), never silently ended.
 */
#define EBQ_ENV_STEPS (1 << 17)
#define EBQ_ENV_VAR_MAX 4096
/*
 * Bytes of the new program's environment block (mm->env_start..env_end)
 * kept for the env column: as much as the arguments get, in one read;
 * a longer block is cut there and flagged (EBQ_TRUNC_ENVBLOCK). Its
 * real size and count (env_size, env_count) are sent whole.
 */
#define EBQ_ENV_MAX EBQ_ARGS_MAX

/* Prefixes whose first word the kernel checks before the LPM trie. */
#define EBQ_PREFIX_WORDS 8

/* Longest path prefix a LIKE 'prefix%' filter can push into the LPM trie. */
#define EBQ_PREFIX_MAX 256
/* Columns a kernel filter can test (enum ebq_filter_col). */
#define EBQ_FILTER_COLS 28

/*
 * A path the kernel resolved (walked up from its dentry, like d_path() in
 * fs/d_path.c) is written into an event as one byte of these flags, then,
 * for a pseudo file, the magic of its filesystem (u32) and its inode
 * number (u64), little-endian, unaligned, then the path: root first, a '/'
 * before each component, no NUL. Root is the traced task's root (a
 * chroot'ed process sees its own paths).
 */
enum ebq_walk_flags {
	/* deeper or longer than the kernel copies: the path's tail only */
	EBQ_WALK_CUT = 1 << 0,
	/* the file was unlinked (d_path's " (deleted)") */
	EBQ_WALK_DELETED = 1 << 1,
	/* a file of no mount (memfd, pipe, socket): its name, and the magic
	 * and inode number that d_path's d_dname() formats it from */
	EBQ_WALK_PSEUDO = 1 << 2,
};
/* Bytes of a pseudo file's magic and inode number after the flags. */
#define EBQ_WALK_PSEUDO_INFO 12
/* The most a walked path takes in an event. */
#define EBQ_WALKED_MAX (1 + EBQ_WALK_PSEUDO_INFO + EBQ_PATH_MAX)
/* An exec's data at its longest (path, interp, req, args, cwd,
 * ld_preload, env; a failed one has a base instead of interp and req),
 * and a file event's (path, req or base, dest, dest's base). */
#define EBQ_EXEC_DATA_MAX (3 * EBQ_WALKED_MAX + 2 * EBQ_PATH_MAX + EBQ_ARGS_MAX + EBQ_ENV_MAX)
#define EBQ_FILE_DATA_MAX (2 * EBQ_WALKED_MAX + 2 * EBQ_PATH_MAX)
_Static_assert(EBQ_EXEC_DATA_MAX <= EBQ_DATA_MASK, "an exec's fields never wrap");
_Static_assert(EBQ_FILE_DATA_MAX <= EBQ_DATA_MASK, "a file event's fields never wrap");

/* Event kinds: the first field of every event. */
enum ebq_event_kind {
	EBQ_EV_EXEC = 1,
	EBQ_EV_EXIT = 2,
	EBQ_EV_SIGNAL = 3,
	EBQ_EV_SOCKET = 4,
	EBQ_EV_FILE = 5,
	EBQ_EV_MODULE = 6,
	EBQ_EV_SYSCALL = 7,
};

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

/* What the kernel copies into an event: set per query (capture pruning). */
enum ebq_capture {
	EBQ_CAP_PATH = 1 << 0,
	EBQ_CAP_ARGS = 1 << 1,
	EBQ_CAP_CWD = 1 << 2,
	EBQ_CAP_ENV = 1 << 3,  /* search the environment for LD_PRELOAD */
	EBQ_CAP_EXIT = 1 << 4, /* syscall_events, file_events: trace the exit too */
	EBQ_CAP_SYSARGS = 1 << 5, /* syscall_events: copy the arguments */
	EBQ_CAP_NSPID = 1 << 6,   /* the header's ns_pid */
	EBQ_CAP_REQUESTED = 1 << 7, /* the path as written (requested_path) */
	EBQ_CAP_INTERP = 1 << 8,  /* process_events: the interpreter's path */
	EBQ_CAP_CREDS = 1 << 9,   /* the header's suid, sgid, fsuid, fsgid */
	EBQ_CAP_SIZES = 1 << 10,  /* process_events: argument/environment block sizes */
	EBQ_CAP_EXEFILE = 1 << 11, /* process_events: the executed file's mode, owner */
	EBQ_CAP_ENVBLOCK = 1 << 12, /* process_events: the environment block */
};

/* Columns every event carries, filled by fill_header() in common.bpf.h. */
struct ebq_header {
	__u64 ktime_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u32 kind;       /* enum ebq_event_kind */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 ppid;       /* task->real_parent->tgid */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 auid;       /* (u32)-1 when unset */
	__u32 ns_pid;     /* pid in the task's own pid namespace (EBQ_CAP_NSPID) */
	char comm[EBQ_COMM_LEN];
	/* The task's saved and filesystem ids (cred), with EBQ_CAP_CREDS */
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
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

/* A process that ended: its last thread left do_exit(). */
struct ebq_exit_event {
	struct ebq_header h;
	__u64 duration_ns; /* lifetime: now - the group leader's start_time */
	__s32 status;      /* wait(2) status: exit code << 8 | core 0x80 | signal */
	__u32 _pad;
};

/* A signal generated (signal:signal_generate). The header is the sender. */
struct ebq_signal_event {
	struct ebq_header h;
	__s32 signal;
	__s32 code;        /* si_code: SI_USER 0, SI_KERNEL 0x80, SI_TKILL -6 ... */
	__u32 target_pid;
	__u32 target_tid;
	__s32 result;      /* enum trace_signal_ret in include/trace/events/signal.h */
	__u32 group;       /* sent to the whole thread group */
	char target_comm[EBQ_COMM_LEN];
};

enum ebq_socket_action {
	EBQ_SOCK_CONNECT = 1,
	EBQ_SOCK_ACCEPT = 2,
	EBQ_SOCK_BIND = 3,
	EBQ_SOCK_LISTEN = 4,
};

/* ebq_socket_event.flags */
enum ebq_socket_flags {
	EBQ_SOCK_HAS_LOCAL = 1 << 0,
	EBQ_SOCK_HAS_REMOTE = 1 << 1,
	EBQ_SOCK_HAS_SOCK = 1 << 2, /* family, protocol, type are known */
};

/* sizeof(((struct sockaddr_un *)0)->sun_path), include/uapi/linux/un.h */
#define EBQ_UNIX_PATH_MAX 108

/*
 * connect, accept/accept4, bind, listen. Addresses are in network byte
 * order (4 bytes for AF_INET, 16 for AF_INET6), ports in host order; a
 * unix socket has a path instead (abstract names start with a NUL).
 */
struct ebq_socket_event {
	struct ebq_header h;
	__u64 duration_ns;
	__s64 exit_code;
	__s32 fd;
	__u16 action;      /* enum ebq_socket_action */
	__u16 family;      /* AF_INET 2, AF_INET6 10, AF_UNIX 1 */
	__u16 protocol;    /* IPPROTO_TCP 6, IPPROTO_UDP 17, 0 */
	__u16 sock_type;   /* SOCK_STREAM 1, SOCK_DGRAM 2 ... */
	__u16 local_port;
	__u16 remote_port;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_path_len;
	__u16 remote_path_len;
	__u32 flags;       /* enum ebq_socket_flags */
	char local_path[EBQ_UNIX_PATH_MAX];
	char remote_path[EBQ_UNIX_PATH_MAX];
};

enum ebq_file_action {
	EBQ_FILE_OPEN = 1,
	EBQ_FILE_CREATE = 2,
	EBQ_FILE_UNLINK = 3,
	EBQ_FILE_RENAME = 4,
	EBQ_FILE_CHMOD = 5,
	EBQ_FILE_CHOWN = 6,
	EBQ_FILE_MKDIR = 7,
	EBQ_FILE_RMDIR = 8,
	EBQ_FILE_LINK = 9,
	EBQ_FILE_SYMLINK = 10,
	EBQ_FILE_TRUNCATE = 11,
};

/* The file syscalls, as the in-flight map notes them (not syscall numbers). */
enum ebq_file_sys {
	EBQ_FS_OPEN = 100,
	EBQ_FS_OPENAT,
	EBQ_FS_OPENAT2,
	EBQ_FS_CREAT,
	EBQ_FS_UNLINK,
	EBQ_FS_UNLINKAT,
	EBQ_FS_RENAME,
	EBQ_FS_RENAMEAT,
	EBQ_FS_RENAMEAT2,
	EBQ_FS_CHMOD,
	EBQ_FS_FCHMODAT,
	EBQ_FS_FCHMODAT2,
	EBQ_FS_CHOWN,
	EBQ_FS_LCHOWN,
	EBQ_FS_FCHOWNAT,
	EBQ_FS_MKDIR,
	EBQ_FS_MKDIRAT,
	EBQ_FS_RMDIR,
	EBQ_FS_LINK,
	EBQ_FS_LINKAT,
	EBQ_FS_SYMLINK,
	EBQ_FS_SYMLINKAT,
	EBQ_FS_TRUNCATE,
};

/* ebq_file_event.eflags */
enum ebq_file_flags {
	EBQ_FILE_HAS_DEST = 1 << 0,   /* rename, link, symlink */
	EBQ_FILE_DEST_RAW = 1 << 1,   /* symlink: dest is the target as written */
	EBQ_FILE_HAS_MODE = 1 << 2,
	EBQ_FILE_HAS_OWNER = 1 << 3,
	EBQ_FILE_HAS_FLAGS = 1 << 4,
	/* a relative path as written, with its base (the walked cwd or
	 * dirfd's directory) */
	EBQ_FILE_PATH_BASE = 1 << 5,
	EBQ_FILE_DEST_BASE = 1 << 6,
	EBQ_FILE_TRUNC_PATH = 1 << 8,
	EBQ_FILE_TRUNC_DEST = 1 << 9,
	/* reported from the entry (the query reads no result): no exit code,
	 * no duration */
	EBQ_FILE_NO_RESULT = 1 << 10,
	/* path is the file opened, walked from its dentry (the call returned
	 * an fd); req holds the path as written */
	EBQ_FILE_PATH_WALKED = 1 << 11,
	/* the paths were captured (the query reads one) */
	EBQ_FILE_HAS_PATH = 1 << 12,
};

/*
 * One file operation. Followed, in this order, by path_len bytes of path
 * (walked, or as written: EBQ_FILE_PATH_WALKED), req_len bytes of the path
 * as written when path is walked, path_base_len bytes of the walked base
 * directory of a relative path as written, dest_len bytes of dest path as
 * written and dest_base_len bytes of its walked base.
 */
struct ebq_file_event {
	struct ebq_header h;
	__u64 duration_ns;
	__s64 exit_code;
	__u32 action;     /* enum ebq_file_action */
	__u32 flags;      /* open flags, AT_* flags or RENAME_* flags, as given */
	__u32 mode;
	__u32 owner_uid;  /* chown: (u32)-1 leaves it unchanged */
	__u32 owner_gid;
	__u32 eflags;     /* enum ebq_file_flags */
	__u32 syscall;    /* enum ebq_file_sys */
	__u16 req_len;
	__u16 _pad;
	__u16 path_len;
	__u16 path_base_len;
	__u16 dest_len;
	__u16 dest_base_len;
};

enum ebq_module_action {
	EBQ_MOD_LOAD = 1,
	EBQ_MOD_UNLOAD = 2,
};

enum ebq_module_sys {
	EBQ_MS_INIT_MODULE = 200,
	EBQ_MS_FINIT_MODULE,
	EBQ_MS_DELETE_MODULE,
};

/* MODULE_NAME_LEN, include/linux/module.h (64 - sizeof(unsigned long)). */
#define EBQ_MODULE_NAME_LEN 56

/* ebq_module_event.mflags */
enum ebq_module_flags {
	EBQ_MOD_HAS_NAME = 1 << 0,
	EBQ_MOD_HAS_PATH = 1 << 1,
};

/*
 * init_module, finit_module (load) and delete_module (unload). Followed by
 * path_len bytes of the module file's walked path (finit_module).
 */
struct ebq_module_event {
	struct ebq_header h;
	__u64 duration_ns;
	__s64 exit_code;
	__u32 action;     /* enum ebq_module_action */
	__u32 syscall;    /* enum ebq_module_sys */
	__u32 flags;      /* MODULE_INIT_* or O_NONBLOCK/O_TRUNC, as given */
	__u32 mflags;     /* enum ebq_module_flags */
	__u16 path_len;
	__u16 _pad[3];
	char name[EBQ_MODULE_NAME_LEN];
};

/* syscall_events: one syscall (raw_syscalls:sys_enter / sys_exit). */
struct ebq_syscall_event {
	struct ebq_header h;
	__u64 duration_ns;  /* 0 when only the entry is traced */
	__s64 ret;
	__u64 args[6];
	__u32 nr;
	__u32 flags;        /* enum ebq_syscall_flags */
};

enum ebq_syscall_flags {
	EBQ_SYSCALL_HAS_EXIT = 1 << 0, /* ret and duration are known */
	EBQ_SYSCALL_HAS_ARGS = 1 << 1,
};

/*
 * In-kernel aggregation (syscall_events): the group key, with the fields
 * the query does not group by left zero, and the running aggregates.
 */
struct ebq_agg_key {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u32 nr;
	__u32 _pad;
	char comm[EBQ_COMM_LEN];
};

/* Buckets of a kernel histogram: hist()'s negative, zero, 2^0 .. 2^61. */
#define EBQ_HIST_BUCKETS 64

struct ebq_agg_val {
	__u64 count;
	__s64 sum;
	__s64 min;
	__s64 max;
	__u64 buckets[EBQ_HIST_BUCKETS];
};

/* cfg.agg_keys bits: the fields of ebq_agg_key a query groups by. */
enum ebq_agg_keys {
	EBQ_AGG_PID = 1 << 0,
	EBQ_AGG_TID = 1 << 1,
	EBQ_AGG_UID = 1 << 2,
	EBQ_AGG_GID = 1 << 3,
	EBQ_AGG_CGROUP = 1 << 4,
	EBQ_AGG_NR = 1 << 5,
	EBQ_AGG_COMM = 1 << 6,
};

/* cfg.agg_measure: the column sum/min/max/avg/hist aggregate. */
enum ebq_agg_measure {
	EBQ_MEASURE_NONE = 0,
	EBQ_MEASURE_DURATION = 1,
	EBQ_MEASURE_EXIT_CODE = 2,
};

/* cfg.agg_hist */
enum ebq_agg_hist {
	EBQ_HIST_NONE = 0,
	EBQ_HIST_POW2 = 1,
	EBQ_HIST_LINEAR = 2,
};

/* Bits of the syscall-number bitmap: covers every number of x86_64 and arm64. */
#define EBQ_NR_MAX 1024

/* Kernel filter columns (the slots of struct ebq_filter_config). */
enum ebq_filter_col {
	EBQ_COL_PID = 0,
	EBQ_COL_TID = 1,
	EBQ_COL_PARENT = 2,
	EBQ_COL_UID = 3,
	EBQ_COL_GID = 4,
	EBQ_COL_EUID = 5,
	EBQ_COL_EGID = 6,
	EBQ_COL_AUID = 7,
	EBQ_COL_CGROUP_ID = 8,
	EBQ_COL_EXIT_CODE = 9,
	EBQ_COL_LOCAL_PORT = 10,
	EBQ_COL_REMOTE_PORT = 11,
	EBQ_COL_FAMILY = 12,
	EBQ_COL_PROTOCOL = 13,
	EBQ_COL_SIGNAL = 14,
	EBQ_COL_TARGET_PID = 15,
	EBQ_COL_FD = 16,
	EBQ_COL_NR = 17,
	EBQ_COL_DURATION = 18,
	/* syscall_events' arguments: EBQ_COL_ARG0 + i */
	EBQ_COL_ARG0 = 19,
	EBQ_COL_ARG5 = 24,
};

/* ebq_filter_config.int_mode[col] and .comm_mode bits */
enum ebq_filter_mode {
	EBQ_F_RANGE = 1 << 0,  /* lo <= v <= hi */
	EBQ_F_IN = 1 << 1,     /* v in the set (key kind EBQ_SET_IN) */
	EBQ_F_NOT_IN = 1 << 2, /* v not in the set (key kind EBQ_SET_NOT_IN) */
	EBQ_F_PREFIX = 1 << 3, /* path has a prefix in the LPM trie */
	EBQ_F_ONE = 1 << 4,    /* comm equals cfg.comm_one: no map lookup */
};

enum ebq_set_kind {
	EBQ_SET_IN = 0,
	EBQ_SET_NOT_IN = 1,
};

/*
 * ebq_filter_config.quick: one equality of the kernel filter (pid, uid or
 * gid = v, or comm = 'x') that syscall entries test first, alone, with one
 * helper call and one compare: the shortest path for the events a filter
 * that matches little rejects (most of them). The full filter still runs
 * on what passes it.
 */
enum ebq_quick {
	EBQ_QUICK_NONE = 0,
	EBQ_QUICK_PID = 1,
	EBQ_QUICK_UID = 2,
	EBQ_QUICK_GID = 3,
	EBQ_QUICK_COMM = 4,
};

/* Key of the int_sets hash map: one member of an IN or NOT IN set. */
struct ebq_int_key {
	__u32 col;        /* enum ebq_filter_col */
	__u32 kind;       /* enum ebq_set_kind */
	__s64 val;
};

/* Key of the comm_sets hash map. */
struct ebq_comm_key {
	__u32 kind;       /* enum ebq_set_kind */
	char comm[EBQ_COMM_LEN];
};

/* Key of the path_prefixes LPM trie: prefixlen counts bits of data. */
struct ebq_prefix_key {
	__u32 prefixlen;
	__u8 data[EBQ_PREFIX_MAX];
};

/* One column's range filter: lo <= v <= hi. */
struct ebq_range {
	__s64 lo;
	__s64 hi;
};

/*
 * Load-time configuration, one const volatile instance per object: the
 * verifier sees the values as constants and prunes what a query disables.
 *
 * Laid out for the cache: the verifier cuts the branches a setting rules
 * out but keeps the loads (cfg is volatile to clang), so a rejected event
 * reads a handful of these fields from a line that is often cold after the
 * syscall ran. Every mode and flag sits in the first 64 bytes, and a
 * column's lo and hi in one 16-byte slot: a range filter that says no
 * touches two lines (they used to be four).
 */
struct ebq_filter_config {
	/* First cache line: what a rejected event reads. */
	__u8 int_mode[EBQ_FILTER_COLS];
	__u8 comm_mode;
	__u8 path_mode;
	__u8 follow;      /* only tasks in the `followed` map (-c / -p) */
	__u8 count_filtered; /* --stats: count rejections and aggregated
				events (counted()); off, they cost no
				counter update */
	__u32 capture;    /* enum ebq_capture */
	__u8 quick;        /* enum ebq_quick: checked before anything else */
	__u8 agg_enabled;
	__u8 agg_measure;  /* enum ebq_agg_measure */
	__u8 agg_hist;     /* enum ebq_agg_hist */
	__u32 quick_val;   /* the value it must equal */
	__u32 _pad0;
	/* comm = 'x' (EBQ_F_ONE): the comm, NUL-padded, as two words */
	__u64 comm_one[2];
	/* Each integer column's range (int_mode EBQ_F_RANGE). */
	struct ebq_range range[EBQ_FILTER_COLS];
	/* syscall_events: the wanted syscall numbers, when int_mode[NR] has IN */
	__u64 nr_bitmap[EBQ_NR_MAX / 64];
	/* In-kernel aggregation: on when agg_enabled; see struct ebq_agg_key. */
	__s64 lhist_min;
	__s64 lhist_step;
	__u32 lhist_len;   /* buckets, both open ends included (<= EBQ_HIST_BUCKETS) */
	__u32 agg_keys;    /* enum ebq_agg_keys */
	/*
	 * Wakeup batching: the consumer is woken at most once per wake_ns,
	 * or when wake_bytes are waiting; 0 wakes it for every event.
	 */
	__u64 wake_ns;
	__u64 wake_bytes;
	/*
	 * Path prefixes' first 8 bytes (masked for shorter ones): an absolute
	 * path matching none is rejected without copying it. 0 words: off.
	 */
	__u64 prefix_word[EBQ_PREFIX_WORDS];
	__u64 prefix_mask[EBQ_PREFIX_WORDS];
	__u32 prefix_words;
	/* Read once an event passed the filters. */
	__u32 self_tgid;  /* ebq itself: never reported */
	__u32 actions;    /* file_events: bit per ebq_file_action kept; 0 all */
	__u32 _pad4;
};

_Static_assert(__builtin_offsetof(struct ebq_filter_config, range) == 64,
	       "modes and flags fill the first cache line of the configuration");

/*
 * Counters in the per-CPU `stats` array, read by --stats: what was lost
 * and what each program sent up (the catalog names each program's
 * counter). Rejections and aggregated events are counted apart, per CPU in
 * .bss (bpf/common.bpf.h, counted()): they are on the hottest paths.
 */
enum ebq_stat {
	EBQ_STAT_LOST = 0,          /* ring buffer full: event dropped */
	EBQ_STAT_FOLLOW_FULL = 2,   /* a followed child did not fit the map */
	EBQ_STAT_SENT_EXEC = 8,     /* exec_done */
	EBQ_STAT_SENT_EXEC_FAILED = 9, /* exec_exit (execve and execveat) */
	EBQ_STAT_SENT_EXIT = 10,    /* process_exit */
	EBQ_STAT_SENT_SIGNAL = 11,  /* signal_generate */
	EBQ_STAT_SENT_SOCKET = 12,  /* + enum ebq_socket_action: 13..16 */
	EBQ_STAT_SENT_MODULE = 20,  /* + enum ebq_module_action: 21..22 */
	EBQ_STAT_SENT_FILE = 32,    /* + enum ebq_file_action: 33..47 */
	EBQ_STAT_SENT_SYSCALL = 48, /* sys_enter or sys_exit */
	EBQ_STAT_AGG_MISSED = 49,   /* aggregation map full: updates missed */
	/* lost by a program: its sent counter + EBQ_STAT_LOST_BASE */
	EBQ_STAT_LOST_BASE = 64,
	EBQ_STAT_MAX = 128,
};

#endif /* __EBQ_H__ */
