/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of socket_events: connect, accept, bind, listen (socket.bpf.h):
 * its event, its flags, its own filter columns and counters. The Rust
 * side is generated from BTF (src/abi.rs), as for bpf/ebq.h, whose rules
 * hold here too.
 */
#ifndef __EBQ_SOCKET_H__
#define __EBQ_SOCKET_H__

#include "ebq.h"

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

enum ebq_socket_stat {
	/* + enum ebq_socket_action */
	EBQ_STAT_SENT_SOCKET = EBQ_STAT_TABLE,
};

/* Its own filter columns. */
enum ebq_socket_col {
	EBQ_SOCKET_COL_LOCAL_PORT = EBQ_COL_TABLE,
	EBQ_SOCKET_COL_REMOTE_PORT,
	EBQ_SOCKET_COL_FAMILY,
	EBQ_SOCKET_COL_PROTOCOL,
	EBQ_SOCKET_COL_FD,
};
_Static_assert(EBQ_SOCKET_COL_FD < EBQ_FILTER_COLS, "socket_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_SOCKET + EBQ_SOCK_LISTEN + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX,
	       "its counters fit the stats map");

#endif /* __EBQ_SOCKET_H__ */
