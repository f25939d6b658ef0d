/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Paths, as rows report them: the file the kernel used, named the way the
 * traced process sees it, and the path prefix filter on them.
 *
 * A walked path comes from a struct path the kernel holds (the file an exec
 * ran, the fd an open returned, a cwd, a dirfd): its dentries are walked up
 * to the current task's root, crossing mount points, as d_path() does
 * (fs/d_path.c, prepend_path()): symlinks are already followed, there is no
 * `//`, `.` or `..`, a chroot'ed or pivot_root'ed process gets the path it
 * sees. bpf_d_path() itself is only for LSM and fentry programs, which our
 * kernels do not load. A walk that runs out of room keeps the path's tail
 * and says so (EBQ_WALK_CUT): a cut path never passes for a shorter one.
 *
 * A path the kernel gives no object for (a failed call, unlink's removed
 * name, the calls that take a name and return no fd) is sent as written,
 * with its walked base when relative, and normalized in userspace.
 *
 * The prefix filter (LIKE 'x%' and = through the path_prefixes LPM trie) may
 * keep too much, never too little, of what the rows report: on a walked path
 * it runs on the walked path itself; on a path as written only when lexical
 * normalization cannot change it (absolute, no `//`, `.` or `..`), else
 * the event is kept and userspace decides.
 */
#ifndef __EBQ_PATH_BPF_H__
#define __EBQ_PATH_BPF_H__

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct ebq_prefix_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} path_prefixes SEC(".maps");

/* Too big for the 512-byte BPF stack: one scratch key per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebq_prefix_key);
} prefix_scratch SEC(".maps");

/*
 * A walk writes its path back to front into a per-CPU buffer, one component
 * prepended per step as d_path() does, so a walk that runs out of room has
 * kept the leaf end. Before the path there is room for an LPM key's
 * prefixlen (the filter looks the path up where it lies), after it room for
 * the rest of the key and for the last component written.
 */
#define EBQ_WALK_HEAD 8
#define EBQ_WALK_END (EBQ_WALK_HEAD + EBQ_PATH_MAX)
#define EBQ_WALK_BUF (EBQ_WALK_END + EBQ_PREFIX_MAX + EBQ_COMPONENT_MAX)

struct walk_buf {
	/*
	 * The walk's state, kept here rather than in the loop's context on
	 * the stack: read from a map value, every field is an unknown number
	 * to the verifier, so the states after one step and after the next
	 * are the same and it checks walk_step() once or twice, not once per
	 * depth and flag combination (830,000 instructions for one program
	 * with `pos` on the stack; 3 ms of verification per program with the
	 * flags there).
	 */
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;    /* mnt's root dentry */
	struct dentry *root_dentry; /* the task's root */
	struct vfsmount *root_mnt;
	struct dentry *pseudo;
	struct dentry *leaf;        /* the file's own dentry */
	__u32 deleted;              /* ... is unlinked */
	__u32 pos;                  /* where the path starts in b */
	__u32 flags;                /* enum ebq_walk_flags */
	__u32 done;
	__u8 b[EBQ_WALK_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_buf);
} walk_scratch SEC(".maps");

/* include/uapi/linux/magic.h: nsfs, whose files d_path() names by type. */
#define EBQ_NSFS_MAGIC 0x6e736673
/* The longest namespace type name ("pid_for_children", "time_for_children"). */
#define EBQ_NS_NAME_MAX 32

/* A pseudo file's identity, as the event carries it after the flags. */
struct walk_pseudo {
	__u32 magic;
	__u64 ino;
} __attribute__((packed));

_Static_assert(sizeof(struct walk_pseudo) == EBQ_WALK_PSEUDO_INFO, "pseudo info size");

struct walk_ctx {
	struct walk_buf *wb;
};

/* The struct vfsmount inside a struct mount (fs/mount.h real_mount()). */
static __always_inline struct vfsmount *vfsmnt_of(struct mount *m)
{
	return (void *)m + bpf_core_field_offset(struct mount, mnt);
}

/* A dentry's hash link (d_unhashed() reads it), parent and name. */
struct dentry_up {
	void *pprev;
	struct dentry *parent;
	struct qstr name;
};

/* The three in one read where they are side by side (they have been in
 * every kernel since 3.x: d_hash, d_parent, d_name). */
static __always_inline void read_dentry_up(struct dentry_up *d, struct dentry *dentry)
{
	if (bpf_core_field_offset(struct dentry, d_parent) ==
		    bpf_core_field_offset(struct dentry, d_hash.pprev) + sizeof(void *) &&
	    bpf_core_field_offset(struct dentry, d_name) ==
		    bpf_core_field_offset(struct dentry, d_parent) + sizeof(void *)) {
		bpf_probe_read_kernel(d, sizeof(*d),
				      (void *)dentry + bpf_core_field_offset(struct dentry, d_hash.pprev));
	} else {
		d->pprev = BPF_CORE_READ(dentry, d_hash.pprev);
		d->parent = BPF_CORE_READ(dentry, d_parent);
		bpf_core_read(&d->name, sizeof(d->name), &dentry->d_name);
	}
}

/* One step of ebq_walk_path(): a component, or a hop over a mount point. */
static long walk_step(__u32 i, void *arg)
{
	struct walk_buf *wb = ((struct walk_ctx *)arg)->wb;
	/* Locals: BPF_CORE_READ must only relocate kernel types. */
	struct dentry *dentry = wb->dentry;
	struct mount *mnt = wb->mnt;
	struct dentry_up d;
	__u32 pos, len;
	__u8 *dst;

	if (dentry == wb->root_dentry && vfsmnt_of(mnt) == wb->root_mnt) {
		wb->done = 1; /* the task's root */
		return 1;
	}
	if (dentry == wb->mnt_root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt) {
			/* The namespace's root (the file is outside the task's
			 * root, or on a detached mount): named from there, as
			 * d_path() names it. */
			wb->done = 1;
			return 1;
		}
		wb->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		wb->mnt = up;
		wb->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
		return 0;
	}
	read_dentry_up(&d, dentry);
	/* d_unlinked() (include/linux/dcache.h) of the file itself:
	 * unhashed, and not a root. */
	if (dentry == wb->leaf)
		wb->deleted = !d.pprev && d.parent != dentry;
	len = d.name.len;
	if (len > EBQ_COMPONENT_MAX - 1) {
		len = EBQ_COMPONENT_MAX - 1;
		wb->flags |= EBQ_WALK_CUT;
	}
	pos = wb->pos;
	if (pos > EBQ_WALK_END || pos < EBQ_WALK_HEAD + len + 1) {
		wb->flags |= EBQ_WALK_CUT;
		return 1;
	}
	pos -= len + 1;
	dst = wb->b + EBQ_WALK_HEAD + ((pos - EBQ_WALK_HEAD) & (EBQ_PATH_MAX - 1));
	dst[0] = '/';
	bpf_probe_read_kernel(dst + 1, len, d.name.name);
	wb->pos = pos;
	wb->dentry = d.parent;
	if (d.parent == dentry) {
		/* Its own parent but no mount's root: a pseudo file (memfd,
		 * pipe, socket), or a dentry cut loose. Its name, then stop. */
		wb->flags |= EBQ_WALK_PSEUDO;
		wb->pseudo = dentry;
		wb->done = 1;
		return 1;
	}
	return 0;
}

/* The steps of a walk a compat round runs (EBQ_STEPS(), common.bpf.h). */
#define EBQ_WALK_INNER 32

EBQ_DEFINE_STEPS(ebq_walk_steps, walk_step, EBQ_WALK_INNER,
		 __u32 zero = 0;
		 struct walk_ctx w = { .wb = bpf_map_lookup_elem(&walk_scratch, &zero) };
		 void *ctx = &w;
		 if (!w.wb) return 1)

/* ebq_walk_path()'s result: the bytes written, and these bits. */
#define EBQ_WALK_R_CUT (1ULL << 32)
#define EBQ_WALK_R_REJECT (1ULL << 33)

/*
 * The first 8 bytes of a path against the prefixes' (masked to the shorter
 * ones' length): false when no prefix can match, so most misses cost no
 * trie lookup. Bytes past a shorter path's end only ever add matches.
 */
static __always_inline bool first_word_may_match(__u64 w)
{
	if (!CFG.prefix_words)
		return true;
	/* Not unrolled: the verifier walks the few words in use. */
#pragma clang loop unroll(disable)
	for (int i = 0; i < EBQ_PREFIX_WORDS; i++) {
		if (i >= CFG.prefix_words)
			break;
		if ((w & CFG.prefix_mask[i]) == CFG.prefix_word[i])
			return true;
	}
	return false;
}

/*
 * The path prefix filter on a walked path lying at buf + pos, n bytes: the
 * first word against the prefixes' first words (no lookup for most
 * misses), then the LPM trie, with the key's prefixlen written just before
 * the path (EBQ_WALK_HEAD leaves room).
 */
static __always_inline bool walked_prefix_ok(__u8 *buf, __u32 pos, __u32 n)
{
	struct ebq_prefix_key *k;

	if (pos < EBQ_WALK_HEAD || pos >= EBQ_WALK_END)
		return true;
	if (!first_word_may_match(*(__u64 *)(buf + pos)))
		return false;
	k = (struct ebq_prefix_key *)(buf + pos - sizeof(k->prefixlen));
	/* The trie looks at no more than its longest prefix. */
	k->prefixlen = (n > EBQ_PREFIX_MAX ? EBQ_PREFIX_MAX : n) * 8;
	return bpf_map_lookup_elem(&path_prefixes, k) != NULL;
}

/*
 * Writes the struct path at kernel address `path`, resolved the way the
 * current task sees it, as a walked path (enum ebq_walk_flags) at
 * d->b + start; returns the bytes written, with EBQ_WALK_R_CUT when the
 * path was deeper or longer than the kernel copies. With `check`, the path
 * prefix filter runs on it first: EBQ_WALK_R_REJECT when it says no
 * (nothing is written then). A cut path, a deleted file's or a pseudo
 * file's is kept: its reported text is not what was matched.
 *
 * A global function (not static, not inlined): the verifier checks it once
 * per program, on its own, instead of once per state of every caller (but
 * in the compat object, whose kernels take no pointer into one). The
 * steps run under EBQ_STEPS(): as a plain bounded loop of whole steps the
 * verifier explores every depth separately and gives up (E2BIG).
 */
EBQ_GLOBAL __u64 ebq_walk_path(struct ebq_data *d, __u32 start, __u64 path, __u32 check)
{
	const struct path *p = (const struct path *)path;
	struct task_struct *task = (void *)bpf_get_current_task();
	struct walk_ctx w = {};
	struct path root = {};
	struct vfsmount *vfsmnt;
	struct walk_pseudo info = {};
	__u32 zero = 0, n, pos, off;
	__u8 flags = 0;
	struct fs_struct *fs;
	struct dentry *leaf;
	struct walk_buf *wb;

	if (!d)
		return 0;
	wb = bpf_map_lookup_elem(&walk_scratch, &zero);
	if (!wb)
		return 0;
	w.wb = wb;
	fs = BPF_CORE_READ(task, fs);
	bpf_core_read(&root, sizeof(root), &fs->root);
	vfsmnt = BPF_CORE_READ(p, mnt);
	leaf = BPF_CORE_READ(p, dentry);
	wb->dentry = leaf;
	/* container_of(vfsmnt, struct mount, mnt), offset relocated by CO-RE */
	wb->mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	wb->mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	wb->root_dentry = root.dentry;
	wb->root_mnt = root.mnt;
	wb->pseudo = NULL;
	wb->pos = EBQ_WALK_END;
	wb->flags = 0;
	wb->done = 0;
	wb->leaf = leaf;
	wb->deleted = 0;
	/* The file's dentry is read by the first step, but when it is a
	 * mount's root (a bind-mounted file): then here. */
	if (leaf == wb->mnt_root &&
	    !BPF_CORE_READ(leaf, d_hash.pprev) && BPF_CORE_READ(leaf, d_parent) != leaf)
		flags |= EBQ_WALK_DELETED;
	EBQ_STEPS(EBQ_WALK_STEPS, walk_step, &w, EBQ_WALK_INNER, ebq_walk_steps);
	flags |= wb->flags;
	if (wb->deleted)
		flags |= EBQ_WALK_DELETED;
	if (!wb->done)
		flags |= EBQ_WALK_CUT;
	pos = wb->pos;
	if (pos >= EBQ_WALK_END || pos < EBQ_WALK_HEAD) {
		/* Nothing above the file but the root: the root itself. */
		pos = EBQ_WALK_END - 1;
		wb->b[EBQ_WALK_END - 1] = '/';
	}
	n = EBQ_WALK_END - pos;
	if (check && (CFG.path_mode & EBQ_F_PREFIX) &&
	    !(flags & (EBQ_WALK_CUT | EBQ_WALK_DELETED | EBQ_WALK_PSEUDO)) &&
	    !walked_prefix_ok(wb->b, pos, n))
		return EBQ_WALK_R_REJECT;
	off = start;
	*data_at(d->b, off) = flags;
	off++;
	if (flags & EBQ_WALK_PSEUDO) {
		struct dentry *pseudo = wb->pseudo;
		struct inode *inode = BPF_CORE_READ(pseudo, d_inode);

		info.magic = BPF_CORE_READ(pseudo, d_sb, s_magic);
		info.ino = BPF_CORE_READ(inode, i_ino);
		bpf_probe_read_kernel(data_at(d->b, off), sizeof(info), &info);
		off += sizeof(info);
		if (info.magic == EBQ_NSFS_MAGIC) {
			/* A namespace file has no name of its own: nsfs_dname()
			 * (fs/nsfs.c) names it by its type, ns_ops->name, kept
			 * in the inode's private ns_common. */
			struct ns_common *ns = BPF_CORE_READ(inode, i_private);
			const char *name = BPF_CORE_READ(ns, ops, name);
			long m;

			*data_at(d->b, off) = '/';
			m = bpf_probe_read_kernel_str(data_at(d->b, off + 1), EBQ_NS_NAME_MAX, name);
			if (m > 1)
				off += m;
			return off - start;
		}
	}
	barrier_var(n);
	if (n > EBQ_PATH_MAX)
		n = EBQ_PATH_MAX;
	bpf_probe_read_kernel(data_at(d->b, off), n, wb->b + pos);
	off += n;
	return (off - start) | ((flags & EBQ_WALK_CUT) ? EBQ_WALK_R_CUT : 0);
}

/*
 * ebq_walk_path() into an event's data area (`data` is its start, at most
 * 256 bytes into a scratch slot); sets `trunc` in *flags when the path was
 * cut. Returns the bytes written.
 */
static __always_inline __u32 walk_path(__u8 *data, __u32 start, const struct path *p,
				       __u32 *flags, __u32 trunc)
{
	__u64 r = ebq_walk_path((struct ebq_data *)data, start, (__u64)p, 0);
	__u32 n = (__u32)r;

	if (r & EBQ_WALK_R_CUT)
		*flags |= trunc;
	return n > EBQ_PATH_MAX + EBQ_WALK_PSEUDO_INFO + 1 ? 0 : n;
}

/* Bytes of w equal to c, each as 0x80 (exact: no carry crosses a byte). */
static __always_inline __u64 bytes_eq(__u64 w, __u64 c)
{
	__u64 x = w ^ (c * 0x0101010101010101ULL);
	__u64 t = ((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | x;

	return ~(t | 0x7f7f7f7f7f7f7f7fULL);
}

/*
 * Whether lexical normalization leaves the absolute path s (len bytes, at
 * most EBQ_PREFIX_MAX - 1) as it is: no `//`, no `.` or `..` component
 * (a name that only starts with a dot, `.ssh`, is fine), no trailing `/`.
 * Eight bytes at a time: each component ends at a '/' (the string's end
 * reads as one), and the bytes before it are looked at in the masks of
 * this word shifted up, and of the previous word shifted down.
 */
static __always_inline bool path_is_clean(const __u8 *s, __u32 len)
{
	__u64 ps = 0, pd = 0; /* the previous word's slashes and dots */

	for (int i = 0; i < EBQ_PREFIX_MAX / 8; i++) {
		__u64 w, sl, dot, s1, s2, s3, d1, d2;
		__u32 left;

		if (i * 8 > len)
			break;
		left = len - i * 8;
		w = *(const __u64 *)(s + i * 8);
		sl = bytes_eq(w, '/');
		dot = bytes_eq(w, '.');
		if (left < 8) {
			__u64 keep = (1ULL << (left * 8)) - 1;

			sl = (sl & keep) | (0x80ULL << (left * 8));
			dot &= keep;
		}
		/* The byte 1, 2 and 3 before each: a slash, a dot? */
		s1 = (sl << 8) | (ps >> 56);
		s2 = (sl << 16) | (ps >> 48);
		s3 = (sl << 24) | (ps >> 40);
		d1 = (dot << 8) | (pd >> 56);
		d2 = (dot << 16) | (pd >> 48);
		/* "//", "/./", "/../" ending at a slash (or the end). */
		if (sl & (s1 | (d1 & s2) | (d1 & d2 & s3)))
			return false;
		ps = sl;
		pd = dot;
	}
	return true;
}

/*
 * The path prefix filter on a path as written, in kernel (is_user false)
 * or user memory: it says no only when the path is absolute and clean
 * (path_is_clean()), so that userspace's normalization cannot make it
 * match.
 */
static __noinline bool written_prefix_in_trie(const char *path, bool is_user)
{
	__u32 zero = 0;
	struct ebq_prefix_key *k;
	long n;

	k = bpf_map_lookup_elem(&prefix_scratch, &zero);
	if (!k)
		return true;
	if (is_user)
		n = read_user_str(k->data, sizeof(k->data), path);
	else
		n = bpf_probe_read_kernel_str(k->data, sizeof(k->data), path);
	/* Empty, unreadable, relative, or too long to see whole: kept. */
	if (n <= 1 || n >= (long)sizeof(k->data) || k->data[0] != '/')
		return true;
	if (!path_is_clean(k->data, n - 1))
		return true;
	if (!first_word_may_match(*(__u64 *)k->data))
		return false;
	/* The NUL ends the string: bytes after it must not match a prefix. */
	k->prefixlen = (n - 1) * 8;
	return bpf_map_lookup_elem(&path_prefixes, k) != NULL;
}

static __always_inline bool written_prefix_ok(const char *path, bool is_user)
{
	if (!(CFG.path_mode & EBQ_F_PREFIX))
		return true;
	/* Out of line: one copy per program, the rare and bulky part. */
	return written_prefix_in_trie(path, is_user);
}

#endif /* __EBQ_PATH_BPF_H__ */
