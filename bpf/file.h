/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of file_events: file operations (file.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_FILE_H__
#define __EBQ_FILE_H__

#include "ebq.h"

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

/* A file event's data at its longest (path, req or base, dest, dest's
 * base). */
#define EBQ_FILE_DATA_MAX (2 * EBQ_WALKED_MAX + 2 * EBQ_PATH_MAX)
_Static_assert(EBQ_FILE_DATA_MAX <= EBQ_DATA_MASK, "a file event's fields never wrap");

/* Its own capture bits (cfg.capture). */
enum ebq_file_capture {
	EBQ_FILE_CAP_PATH = EBQ_CAP_TABLE << 0,
	EBQ_FILE_CAP_REQUESTED = EBQ_CAP_TABLE << 1, /* the path as written (requested_path) */
	EBQ_FILE_CAP_EXIT = EBQ_CAP_TABLE << 2,      /* trace the exit too */
};

enum ebq_file_stat {
	/* + enum ebq_file_action */
	EBQ_STAT_SENT_FILE = EBQ_STAT_TABLE,
};
_Static_assert(EBQ_STAT_SENT_FILE + EBQ_FILE_TRUNCATE + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX,
	       "its counters fit the stats map");

#endif /* __EBQ_FILE_H__ */
