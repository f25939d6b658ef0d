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

/*
 * What the kernel copies into an event (cfg.capture): set per query
 * (capture pruning). The header's bits are here; a table numbers its own
 * from EBQ_CAP_TABLE in its header (one query loads one table's programs).
 */
enum ebq_capture {
	EBQ_CAP_NSPID = 1 << 0,   /* the header's ns_pid */
	EBQ_CAP_CREDS = 1 << 1,   /* the header's suid, sgid, fsuid, fsgid */
	EBQ_CAP_NS = 1 << 2,      /* the header's pid_ns, mnt_ns, net_ns */
	EBQ_CAP_CGROUP_V1 = 1 << 3, /* the header's cgroup_v1 */
	EBQ_CAP_TABLE = 1 << 4,
};

/* Columns every event carries, filled by fill_header() in common.bpf.h. */
struct ebq_header {
	__u64 ktime_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u32 kind;       /* the table's number: cfg.kind */
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
	/*
	 * The inode numbers of the task's pid, mount and network namespaces,
	 * as /proc/<pid>/ns/ shows them, with EBQ_CAP_NS; 0 when the task
	 * has none left (an exiting task's nsproxy is gone).
	 */
	__u32 pid_ns;
	__u32 mnt_ns;
	__u32 net_ns;
	__u32 _pad_ns;
	/*
	 * With EBQ_CAP_CGROUP_V1: the task's cgroup in the v1 hierarchy of
	 * the controller cfg.v1_ssid names, by its kernfs id (the directory's
	 * inode under that controller's mount): on a hybrid or v1 host a
	 * container may live in v1 hierarchies only (bpf/cgroup.h).
	 */
	__u64 cgroup_v1;
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
	__u32 no_task;  /* 1: the events had no known task (their task keys are NULL) */
	char comm[EBQ_COMM_LEN];
};

/* Buckets of a kernel histogram: hist()'s negative, zero, 2^0 .. 2^61. */
#define EBQ_HIST_BUCKETS 64

struct ebq_agg_val {
	__u64 count;
	/* Of count, the events whose measure was NULL (a tcp_events row with
	 * no duration): counted by count(*), left out of the others. */
	__u64 nulls;
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

/*
 * Kernel filter columns: the slots of struct ebq_filter_config. The
 * header's columns and the result of a traced call have these slots; a
 * table numbers its own columns from EBQ_COL_TABLE in its own header (one
 * query reads one table, so the tables share those slots), below
 * EBQ_FILTER_COLS (asserted there). --explain lists a query's kernel
 * filters in slot order.
 */
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
	EBQ_COL_TABLE = 10,
};

/*
 * ebq_filter_config.variants: the ways of kernels older than the programs'
 * fast path needs, each on only when this kernel lacks what it stands in
 * for (or EBQ_FORCE_FALLBACK asks, for tests). The verifier cuts the way
 * not taken, helper calls included.
 */
enum ebq_variant {
	/*
	 * No task storage (BPF_MAP_TYPE_TASK_STORAGE and
	 * bpf_get_current_task_btf, Linux 5.11): the `inflight` map is an
	 * LRU hash keyed by thread id instead (bpf/common.bpf.h).
	 */
	EBQ_V_INFLIGHT_HASH = 1 << 0,
	/*
	 * No attach cookies (bpf_get_attach_cookie, Linux 5.15): a program
	 * serving several syscalls' tracepoints tells them apart by the
	 * record's syscall number (cfg.cookie_of_nr), and attaches without.
	 */
	EBQ_V_NO_COOKIES = 1 << 1,
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
	/* The cgroup verdicts (bpf/cgroup.h, enum ebq_cgroup_filter). */
	__u8 cgroup_filter;
	/* enum ebq_variant: how this kernel's programs do what an older
	 * kernel lacks (chosen at load, src/kernel/variants.rs) */
	__u8 variants;
	/* A side feed's programs serve the table (dns_events' answers, for
	 * socket_events' remote_name: bpf/dns.h, EBQ_KIND_DNS_ANSWER). */
	__u8 side_feed;
	__u8 _pad0[1];
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
	/* Every event's header.kind: the number the catalog gives the table
	 * (src/catalog/mod.rs, TABLES), checked by the decoder. */
	__u32 kind;
	/* The controller whose v1 hierarchy the header's cgroup_v1 is read
	 * from: its index in the kernel's subsystems (/proc/cgroups' order,
	 * enum cgroup_subsys_id), with EBQ_CAP_CGROUP_V1. */
	__u32 v1_ssid;
	/* That hierarchy's id (/proc/cgroups' second column): the cgroup
	 * tracking programs report its cgroups and the cgroup2 ones. */
	__u32 v1_hierarchy;
	/* function_events' buf(argN, len) (bpf/func.h, EBQ_FUNC_CAP_BUF):
	 * the argument pointing to the bytes, where their count comes from
	 * (enum ebq_func_buf_len) and, for a constant, the count. */
	__u8 buf_arg;
	__u8 buf_len_from;
	__u8 _pad1[2];
	__u32 buf_len;
	/*
	 * With EBQ_V_NO_COOKIES: the attach cookie each attachment would
	 * have had, by the syscall number its tracepoint's record carries
	 * (struct trace_event_raw_sys_enter/exit, `id`), filled at load from
	 * the plan's probes (src/kernel/variants.rs). Read only by a program
	 * that serves several syscalls' tracepoints (syscall_cookie()).
	 */
	__u8 cookie_of_nr[EBQ_NR_MAX];
};

_Static_assert(__builtin_offsetof(struct ebq_filter_config, range) == 64,
	       "modes and flags fill the first cache line of the configuration");

/*
 * Counters in the per-CPU `stats` array, read by --stats: what was lost
 * and what each program sent up (the catalog names each program's
 * counter; a table's own counters are in its header). Rejections and aggregated events are counted apart, per CPU in
 * .bss (bpf/common.bpf.h, counted()): they are on the hottest paths.
 */
enum ebq_stat {
	EBQ_STAT_LOST = 0,          /* ring buffer full: event dropped */
	EBQ_STAT_FOLLOW_FULL = 2,   /* a followed child did not fit the map */
	EBQ_STAT_AGG_MISSED = 3,    /* aggregation map full: updates missed */
	/* A table numbers its programs' "sent" counters from here, in its
	 * own header (one query loads one table's programs). */
	EBQ_STAT_TABLE = 8,
	/* lost by a program: its sent counter + EBQ_STAT_LOST_BASE */
	EBQ_STAT_LOST_BASE = 64,
	EBQ_STAT_MAX = 128,
};

#endif /* __EBQ_H__ */
