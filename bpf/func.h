/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of function_events: calls of user-space
 * functions, through uprobes and uretprobes (func.bpf.h): its event, its
 * flags, its own filter columns and counters. The Rust side is generated
 * from BTF (src/abi.rs), as for bpf/ebq.h, whose rules hold here too.
 *
 * One entry program and one return program serve every function a query
 * names: each attachment's cookie says which (struct ebq_func_cookie's
 * layout), so nothing is compiled at run time.
 */
#ifndef __EBQ_FUNC_H__
#define __EBQ_FUNC_H__

#include "ebq.h"

/* Bytes of one string copied (str(argN), str(retval)), its NUL included. */
#define EBQ_FUNC_STR_MAX 256
/* Strings one row carries: arg0..arg5 and the return value. */
#define EBQ_FUNC_STRS 7
/* The variable-length fields after the event: the strings, then the
 * task's terminal (EBQ_FUNC_F_TTY) and working directory (EBQ_FUNC_F_CWD,
 * a walked path: bpf/path.bpf.h). */
enum ebq_func_field {
	EBQ_FUNC_F_RET = 6,
	EBQ_FUNC_F_TTY = 7,
	EBQ_FUNC_F_CWD = 8,
	EBQ_FUNC_F_BUF = 9,  /* the mode's buffer (EBQ_FUNC_CAP_BUF) */
	EBQ_FUNC_FIELDS = 10,
};
/* Bytes of a buffer copied (ssl_events' plaintext): BCC's sslsniff
 * copies 8 KiB; the rest is counted (buf_total) and flagged cut. */
#define EBQ_FUNC_BUF_MAX 8192
/* Where buf(argN, len)'s count of bytes comes from (cfg.buf_len_from). */
enum ebq_func_buf_len {
	EBQ_FUNC_BUF_LEN_CONST = 0,  /* cfg.buf_len */
	EBQ_FUNC_BUF_LEN_ARG0 = 1,   /* + N: argument N's value */
	EBQ_FUNC_BUF_LEN_RET = 7,    /* the return value (the return is traced) */
};
/* Bytes of a terminal's name (struct tty_struct.name, include/linux/tty.h). */
#define EBQ_FUNC_TTY_MAX 64
/* Calls in flight at once, machine-wide (an LRU hash: a call whose return
 * never comes, longjmp or a thread that died, is the first to go). */
#define EBQ_FUNC_INFLIGHT 65536

/*
 * The attach cookie: the function's number in the run's list of resolved
 * functions (low 32 bits: the row's `function`, `binary`), and what the
 * programs do for it (high 32 bits, enum ebq_func_mode).
 */
#define EBQ_FUNC_COOKIE_ID(c) ((__u32)(c))
#define EBQ_FUNC_COOKIE_MODE(c) ((__u32)((c) >> 32))

enum ebq_func_mode {
	EBQ_FUNC_MODE_PLAIN = 0,
	/* OpenSSL's (ssl_events): the buffer is arg1; its length the return
	 * value (SSL_read, SSL_write: bytes moved, <= 0 a failure) or, for
	 * the _ex variants (which return 1 on success), the size_t that arg3
	 * points to, read at the return. */
	EBQ_FUNC_MODE_SSL_READ = 1,
	EBQ_FUNC_MODE_SSL_WRITE = 2,
	EBQ_FUNC_MODE_SSL_READ_EX = 3,
	EBQ_FUNC_MODE_SSL_WRITE_EX = 4,
	/* Linux-PAM's (user_events): arg0 is the pam_handle_t; strings 0..4
	 * are its service, user, rhost, ruser and tty, read at the return
	 * from the handle (libpam/pam_private.h, struct pam_handle: a layout
	 * unchanged since Linux-PAM 0.99; its authtok is never read). */
	EBQ_FUNC_MODE_PAM = 5,
	/* A Go function (a Go binary's package-qualified symbol, not an
	 * .abi0 one): its arguments in Go's register ABI (Go 1.17,
	 * ABIInternal: rax, rbx, rcx, rdi, rsi, r8 on x86-64; arm64's
	 * R0..R5 are the C ABI's). */
	EBQ_FUNC_MODE_GO = 6,
};

/* Where struct pam_handle (64-bit) holds service_name; user, rhost,
 * ruser and tty follow it, a pointer each. */
#define EBQ_PAM_SERVICE_OFF 40
#define EBQ_PAM_STRINGS 5

/*
 * One call (or, when the return is not traced, one entry). Followed by
 * the strings the query reads, each len[i] bytes without its NUL, in the
 * order arg0..arg5, retval.
 */
struct ebq_func_event {
	struct ebq_header h;
	__u64 duration_ns;  /* entry to return; 0 without the return */
	__s64 ret;          /* the return register (rax, x0) */
	__u64 args[6];      /* the integer argument registers at entry */
	__u32 func;         /* EBQ_FUNC_COOKIE_ID of the attachment */
	__u32 flags;        /* enum ebq_func_flags */
	__u32 mode;         /* EBQ_FUNC_COOKIE_MODE of the attachment */
	__u32 buf_total;    /* the buffer's whole length (its copy may be cut) */
	__u16 len[EBQ_FUNC_FIELDS + 1]; /* the fields' lengths; the last is padding */
};

enum ebq_func_flags {
	EBQ_FUNC_HAS_EXIT = 1 << 0,  /* ret and duration are known */
	EBQ_FUNC_HAS_ENTRY = 1 << 1, /* args are known */
	/* String i (arg0..arg5, retval) was cut at EBQ_FUNC_STR_MAX - 1. */
	EBQ_FUNC_CUT0 = 1 << 8,
	/* String i could not be read (a NULL or unmapped pointer); + 7: the
	 * task has no terminal. */
	EBQ_FUNC_BAD0 = 1 << 16,
	/* Above BAD0's bits, one per field (EBQ_FUNC_FIELDS). */
	EBQ_FUNC_CWD_CUT = 1 << 26, /* the working directory was cut */
	EBQ_FUNC_BUF_CUT = 1 << 27, /* the buffer was cut at EBQ_FUNC_BUF_MAX */
	EBQ_FUNC_BUF_NO_LEN = 1 << 28, /* buf()'s length was negative: no buffer */
};
_Static_assert(EBQ_FUNC_BAD0 << EBQ_FUNC_FIELDS <= EBQ_FUNC_CWD_CUT, "a field's bad bit is no cut bit");

/*
 * Its own capture bits (cfg.capture), set by the columns a query reads.
 * A row needs both ends of the call (func_paired(), and in userspace
 * src/catalog/func.rs, `ends`) when it reads the duration, or something
 * of the entry (ENTRY_BITS) and something of the return (EXIT_BITS): the
 * entry then notes the call and the return reports it. Otherwise a query
 * of the entry alone reports at the entry, and one of the return alone
 * at the return. The WHERE's event overrides it (EBQ_FUNC_CAP_AT_ENTRY,
 * _AT_RETURN, _PAIR). A call under way when ebq attached makes no row of its
 * return either way: the kernel hooks a return at its call's entry
 * (kernel/events/uprobes.c, prepare_uretprobe()).
 */
enum ebq_func_capture {
	EBQ_FUNC_CAP_ARGS = EBQ_CAP_TABLE << 0,  /* the argument registers */
	/* The string argN points to (str(argN)); + 6: str(retval). */
	EBQ_FUNC_CAP_STR0 = EBQ_CAP_TABLE << 1,
	EBQ_FUNC_CAP_STR_RET = EBQ_CAP_TABLE << 7,
	EBQ_FUNC_CAP_RETVAL = EBQ_CAP_TABLE << 8,  /* the return is traced */
	EBQ_FUNC_CAP_DURATION = EBQ_CAP_TABLE << 9,
	EBQ_FUNC_CAP_TTY = EBQ_CAP_TABLE << 10,  /* the task's terminal */
	EBQ_FUNC_CAP_CWD = EBQ_CAP_TABLE << 11,  /* the task's working directory */
	/* The buffer: the mode's (ssl_events, at the return), or in
	 * EBQ_FUNC_MODE_PLAIN buf(argN, len)'s (cfg.buf_arg), at the row's end. */
	EBQ_FUNC_CAP_BUF = EBQ_CAP_TABLE << 12,
	/* The WHERE's event (src/model/functions.rs, Ends): rows at the
	 * entry alone, at the return alone (both: two rows per call), or
	 * one per call with both ends whatever the columns read. */
	EBQ_FUNC_CAP_AT_ENTRY = EBQ_CAP_TABLE << 13,
	EBQ_FUNC_CAP_AT_RETURN = EBQ_CAP_TABLE << 14,
	EBQ_FUNC_CAP_PAIR = EBQ_CAP_TABLE << 15,
	EBQ_FUNC_ENTRY_BITS = EBQ_FUNC_CAP_ARGS | (0x3f * EBQ_FUNC_CAP_STR0),
	EBQ_FUNC_EXIT_BITS = EBQ_FUNC_CAP_RETVAL | EBQ_FUNC_CAP_STR_RET,
};

enum ebq_func_stat {
	EBQ_STAT_SENT_FUNC = EBQ_STAT_TABLE, /* a row: an entry, or a call at its return */
};

/* Its own filter columns. */
enum ebq_func_col {
	EBQ_FUNC_COL_DURATION = EBQ_COL_TABLE,
	EBQ_FUNC_COL_RETVAL,
	EBQ_FUNC_COL_ARG0,
	EBQ_FUNC_COL_ARG5 = EBQ_FUNC_COL_ARG0 + 5,
};
_Static_assert(EBQ_FUNC_COL_ARG5 < EBQ_FILTER_COLS, "function_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_FUNC + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_FUNC_H__ */
