/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of tcp_events: TCP state changes, lifetimes,
 * connect latency, retransmits and resets (tcp.bpf.h): its event, its
 * actions, the socket notes that carry a connection's owner, its own
 * filter columns and counters. The Rust side is generated from BTF
 * (src/abi.rs), as for bpf/ebq.h, whose rules hold here too.
 */
#ifndef __EBQ_TCP_H__
#define __EBQ_TCP_H__

#include "ebq.h"

enum ebq_tcp_limits {
	/*
	 * Sockets noted (owner, birth, last change), by address: an LRU
	 * hash, so a socket whose close ebq missed ages out. Past this many
	 * open at once the oldest notes go: those connections' rows lose
	 * their owner and their durations, never more memory.
	 */
	EBQ_TCP_SOCKS = 65536,
	/* Listening ports whose listener's owner a new connection takes
	 * until it is accepted. */
	EBQ_TCP_LISTENERS = 4096,
};

/* What a row is (its `action`); cfg.actions: a bit each. */
enum ebq_tcp_action {
	EBQ_TCP_STATE = 0,          /* a state change: tcpstates */
	EBQ_TCP_CLOSE = 1,          /* a connection closed: its lifetime, tcplife */
	EBQ_TCP_CONNECT = 2,        /* SYN_SENT -> ESTABLISHED: tcpconnlat */
	EBQ_TCP_RETRANSMIT = 3,     /* a segment sent again: tcpretrans */
	EBQ_TCP_SEND_RESET = 4,     /* a RST sent */
	EBQ_TCP_RECEIVE_RESET = 5,  /* a RST received */
};

/* How the owner was known (the note's, the row's `owner`). */
enum ebq_tcp_owner {
	EBQ_TCP_OWNER_NONE = 0,     /* not known: the task columns are NULL */
	EBQ_TCP_OWNER_CONNECT = 1,  /* the task that connected */
	EBQ_TCP_OWNER_LISTEN = 2,   /* the task that listened (a listener) */
	EBQ_TCP_OWNER_ACCEPT = 3,   /* the task that accepted it */
	EBQ_TCP_OWNER_LISTENER = 4, /* not yet accepted: its listener's owner */
};

/* ebq_tcp_event.flags */
enum ebq_tcp_flags {
	EBQ_TCP_HAS_DURATION = 1 << 0, /* duration_ns holds */
	EBQ_TCP_HAS_BYTES = 1 << 1,    /* bytes_sent and bytes_received hold */
	EBQ_TCP_HAS_ADDRS = 1 << 2,    /* family, addresses and ports hold */
	EBQ_TCP_HAS_OLD = 1 << 3,      /* old_state holds */
};

/*
 * A row. The header is the socket's owner, noted when it connected,
 * listened or was accepted (owner), with the event's time; never the task
 * a softirq interrupted. Addresses are in network byte order (4 bytes for
 * AF_INET, 16 for AF_INET6), ports in host order.
 */
struct ebq_tcp_event {
	struct ebq_header h;
	__u64 duration_ns;     /* state: in the old state; close: lifetime; connect: latency */
	__u64 bytes_sent;      /* close: tcp_sock's bytes_acked */
	__u64 bytes_received;  /* close: tcp_sock's bytes_received */
	__u32 action;          /* enum ebq_tcp_action */
	__u32 flags;           /* enum ebq_tcp_flags */
	__u16 family;          /* AF_INET 2, AF_INET6 10 */
	__u16 local_port;
	__u16 remote_port;
	__u8 old_state;        /* the kernel's TCP_* states (include/net/tcp_states.h) */
	__u8 state;            /* state: the new one; else the socket's then */
	__u8 owner;            /* enum ebq_tcp_owner */
	__u8 _pad[7];
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

/*
 * A kernel group's own key (ebq_agg_key.nr): the action, the old state
 * (0: none) and the state, 8 bits each; userspace merges the groups a
 * query does not tell apart.
 */
#define EBQ_TCP_AGG_NR(action, old, state)                                          \
	(((__u32)(action) << 16) | ((__u32)((old) > 0 ? (old) : 0) << 8) | (__u32)(state))

/* A socket's note (tcp_socks in tcp.bpf.h). */
struct ebq_tcp_sock {
	struct ebq_header h;  /* the owner, when owner is not NONE */
	__u64 birth_ns;       /* SYN_SENT or SYN_RECV seen: its lifetime's start */
	__u64 last_ns;        /* its last state change */
	__u32 owner;          /* enum ebq_tcp_owner */
	__u8 refused;         /* its owner is one no row may have (ebq, -p ...) */
	__u8 active;          /* it connected (its SYN is in bytes_acked) */
	__u8 _pad[2];
};

/* Rows sent, by the program that sent them. */
enum ebq_tcp_stat {
	EBQ_STAT_SENT_TCP_STATE = EBQ_STAT_TABLE, /* state, close, connect */
	EBQ_STAT_SENT_TCP_RETRANSMIT,
	EBQ_STAT_SENT_TCP_SEND_RESET,
	EBQ_STAT_SENT_TCP_RECEIVE_RESET,
};

/* Its own filter columns. */
enum ebq_tcp_col {
	EBQ_TCP_COL_LOCAL_PORT = EBQ_COL_TABLE,
	EBQ_TCP_COL_REMOTE_PORT,
	EBQ_TCP_COL_FAMILY,
	EBQ_TCP_COL_DURATION,
};
_Static_assert(EBQ_TCP_COL_DURATION < EBQ_FILTER_COLS, "tcp_events' slots fit the configuration");
_Static_assert(EBQ_STAT_SENT_TCP_RECEIVE_RESET + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX, "its counter fits the stats map");

#endif /* __EBQ_TCP_H__ */
