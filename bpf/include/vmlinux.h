/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Minimal kernel type definitions for ebq's BPF programs.
 *
 * Hand-written on purpose: only the types and fields the programs read are
 * here, so the build never depends on the build machine's kernel (no bpftool
 * dump of /sys/kernel/btf/vmlinux). Every record is marked
 * preserve_access_index, so clang emits CO-RE relocations and libbpf fixes
 * the field offsets against the running kernel's BTF at load time: the
 * layouts below only have to name the fields, not match their offsets.
 * Adding a field: add it by its kernel name and type; nothing else.
 */
#ifndef __EBQ_VMLINUX_H__
#define __EBQ_VMLINUX_H__

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef long long loff_t;
typedef unsigned long size_t;

/* UAPI values (include/uapi/linux/bpf.h); stable ABI, safe to spell out. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_LPM_TRIE = 11,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};
enum {
	BPF_F_NO_PREALLOC = 1,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
};
enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

/*
 * Program contexts (include/uapi/linux/bpf.h, the ptrace registers of
 * arch/<arch>/include/uapi/asm/ptrace.h): UAPI layouts the verifier
 * rewrites accesses to, never CO-RE records, so they sit outside the
 * preserve_access_index block. Each holds its leading fields only, in the
 * UAPI's order with none skipped: add a field by writing those before it.
 * struct pt_regs under its UAPI names is what bpf_tracing.h's PT_REGS_*
 * read when vmlinux.h is not bpftool's (no __VMLINUX_H__).
 */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long rbp;
	unsigned long rbx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long rax;
	unsigned long rcx;
	unsigned long rdx;
	unsigned long rsi;
	unsigned long rdi;
	unsigned long orig_rax;
	unsigned long rip;
	unsigned long cs;
	unsigned long eflags;
	unsigned long rsp;
	unsigned long ss;
};
typedef struct pt_regs bpf_user_pt_regs_t;
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
typedef struct user_pt_regs bpf_user_pt_regs_t;
#endif

/* A perf_event program's context. */
struct bpf_perf_event_data {
	bpf_user_pt_regs_t regs;
	__u64 sample_period;
	__u64 addr;
};

/* A cgroup_skb program's context: its len is the packet's, from the IP
 * header; protocol is the frame's ethertype, in network byte order; data
 * to data_end, the linear part of the packet, read in place. */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
};

/* The socket a sock_addr program's context points to (struct bpf_sock):
 * src_port in host byte order. */
struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
	__u32 src_ip4;
	__u32 src_ip6[4];
	__u32 src_port;
};

/* A cgroup sock_addr program's context (connect4 ...): the address in
 * network byte order; sk is a __bpf_md_ptr (64 bits wide on every arch). */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;
	__u32 user_ip6[4];
	__u32 user_port;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4;
	__u32 msg_src_ip6[4];
	union {
		struct bpf_sock *sk;
		__u64 :64;
	} __attribute__((aligned(8)));
};

/*
 * The request flags' bit numbers (include/linux/blk_types.h): read with
 * bpf_core_enum_value(), as they are numbered on the running kernel.
 */
enum req_flag_bits {
	__REQ_SYNC = 11,
	__REQ_META = 12,
	__REQ_FUA = 17,
	__REQ_PREFLUSH = 18,
	__REQ_RAHEAD = 19,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	uid_t val;
} kuid_t;

typedef struct {
	gid_t val;
} kgid_t;

struct qstr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
};

struct hlist_bl_node {
	struct hlist_bl_node *next, **pprev;
};

struct super_block {
	unsigned long s_magic;
};

struct inode {
	unsigned short i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	void *i_private;
};

/* include/linux/ns_common.h, include/linux/proc_ns.h */
struct proc_ns_operations {
	const char *name;
};

struct ns_common {
	const struct proc_ns_operations *ops;
	unsigned int inum;
};

struct dentry {
	struct hlist_bl_node d_hash;
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
	struct super_block *d_sb;
};

struct vfsmount {
	struct dentry *mnt_root;
};

/* fs/mount.h: not in UAPI; CO-RE finds it by name in the kernel's BTF. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
};

struct file {
	unsigned int f_mode;
	struct inode *f_inode;
	unsigned int f_flags;
	struct path f_path;
	struct callback_head f_task_work;
	void *private_data;
};

/*
 * The same task work (fput()'s deferred __fput, fs/file_table.c) by its
 * older names, as CO-RE flavors of struct file: f_rcuhead before 6.12
 * (6.1's BTF has it; an rcu_head, which is a callback_head), and
 * f_u.fu_rcuhead in the union of older kernels (5.10).
 */
struct file___rcuhead {
	struct callback_head f_rcuhead;
};

struct file___f_u {
	union {
		struct callback_head fu_rcuhead;
	} f_u;
};

struct in6_addr {
	union {
		__u8 u6_addr8[16];
	} in6_u;
};

struct sock_common {
	union {
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	unsigned long skc_flags; /* sk_flags */
};

/* include/net/sock.h: bits of sk_flags. */
enum sock_flags {
	SOCK_DEAD,
	SOCK_DONE,
};

struct sock {
	struct sock_common __sk_common;
	u16 sk_type;
	u16 sk_protocol;
};

/* tcplife's counts (include/linux/tcp.h); its struct sock is first. */
struct tcp_sock {
	u64 bytes_received;
	u64 bytes_acked;
	u32 snd_una;
	u32 write_seq;
};

struct inet_sock {
	__be16 inet_sport;
};

struct sk_buff {
	unsigned char *head;
	__u16 transport_header;
	__u16 network_header;
};

struct socket {
	short type;
	struct sock *sk;
};

struct sockaddr_un {
	unsigned short sun_family;
	char sun_path[108];
};

/* include/net/af_unix.h: not in UAPI. */
struct unix_address {
	int len;
	struct sockaddr_un name[];
};

struct unix_sock {
	struct sock sk;
	struct unix_address *addr;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct fs_struct {
	struct path root;
	struct path pwd;
};

typedef struct {
	s64 counter;
} atomic64_t;
typedef atomic64_t atomic_long_t;

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
	unsigned long total_vm;
	atomic_long_t pgtables_bytes;
};

/* The rss counters by MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS,
 * MM_SHMEMPAGES (include/linux/mm_types_task.h): per-CPU counters since
 * Linux 6.2 (f1a7941243c1), an array of atomics in struct mm_rss_stat
 * before. */
struct percpu_counter {
	s64 count;
};

struct mm_struct___percpu_rss {
	struct percpu_counter rss_stat[4];
};

struct mm_rss_stat {
	atomic_long_t count[4];
};

struct mm_struct___rss_stat {
	struct mm_rss_stat rss_stat;
};

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t euid;
	kgid_t egid;
	kuid_t suid;
	kgid_t sgid;
	kuid_t fsuid;
	kgid_t fsgid;
};

typedef struct {
	int counter;
} atomic_t;

/* include/linux/pid_namespace.h, include/linux/nsproxy.h: each
 * namespace's ns_common.inum is its /proc/<pid>/ns/ inode number. */
struct pid_namespace {
	struct ns_common ns;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct net {
	struct ns_common ns;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
	struct net *net_ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

/* include/linux/pid.h: numbers[] has level + 1 entries, innermost last. */
struct pid {
	unsigned int level;
	struct upid numbers[1];
};

/* include/linux/tty.h: the terminal's name (pts/3), what ps calls TTY. */
struct tty_struct {
	char name[64];
};

struct signal_struct {
	short oom_score_adj;
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
	struct tty_struct *tty; /* the controlling terminal, or NULL */
};

struct kernel_siginfo {
	struct {
		int si_signo;
		int si_errno;
		int si_code;
	};
};

struct list_head {
	struct list_head *next, *prev;
};

/* A cgroup's id is its kernfs node's (include/linux/cgroup.h, cgroup_id()). */
struct kernfs_node {
	u64 id;
};

struct cgroup_root {
	int hierarchy_id;
};

struct cgroup {
	struct kernfs_node *kn;
	struct cgroup_root *root;
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

/* include/linux/cgroup-defs.h: dfl_cgrp, the task's cgroup v2; subsys,
 * its cgroup in each controller's hierarchy, by subsystem id (the
 * kernel's count of them, CGROUP_SUBSYS_COUNT, is read from BTF:
 * bpf_core_field_size). */
struct css_set {
	struct cgroup_subsys_state *subsys[1];
	struct cgroup *dfl_cgrp;
};

struct task_struct {
	unsigned int __state; /* Linux 5.14 and later (2f064a59a11f) */
	struct list_head tasks;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	const struct cred *cred;
	struct mm_struct *mm;
	struct fs_struct *fs;
	struct files_struct *files;
	kuid_t loginuid;
	char comm[16];
	int exit_code;
	u64 start_time;
	struct signal_struct *signal;
	struct pid *thread_pid;
	struct callback_head *task_works;
	struct css_set *cgroups;
	struct nsproxy *nsproxy;
};

/* struct task_struct before Linux 5.14: its state was `state`. */
struct task_struct___state {
	long state;
};

struct module {
	char name[56];
};

struct linux_binprm {
	struct file *executable;
	struct file *file;
	int argc;
	int envc;
	const char *filename;
	const char *interp;
	const char *fdpath;
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

/* oom:mark_victim's record (include/trace/events/oom.h): the victim's
 * pid, its one field on every kernel. */
struct trace_event_raw_mark_victim {
	struct trace_entry ent;
	int pid;
};

struct trace_event_raw_sys_exit {
	struct trace_entry ent;
	long id;
	long ret;
};

/* Block I/O (include/linux/blk-mq.h, blkdev.h, blk_types.h). */
struct gendisk {
	int major;
	int first_minor;
	char disk_name[32];
};

struct request_queue {
	struct gendisk *disk; /* Linux 5.15 and later */
};

struct bio {
	struct bio *bi_next;
};

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
	unsigned int __data_len;
	u64 __sector;
	struct bio *bio;
};

/* struct request before Linux 6.0 (f3fa33acca9f removed rq_disk). */
struct request___rq_disk {
	struct gendisk *rq_disk;
};

#pragma clang attribute pop

#endif /* __EBQ_VMLINUX_H__ */
