/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of module_events: kernel modules loaded and unloaded (module.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_MODULE_H__
#define __EBQ_MODULE_H__

#include "ebq.h"

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

enum ebq_module_stat {
	/* + enum ebq_module_action */
	EBQ_STAT_SENT_MODULE = EBQ_STAT_TABLE,
};
_Static_assert(EBQ_STAT_SENT_MODULE + EBQ_MOD_UNLOAD + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX,
	       "its counters fit the stats map");

#endif /* __EBQ_MODULE_H__ */
