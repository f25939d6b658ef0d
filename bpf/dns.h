/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel <-> user ABI of dns_events: every DNS message a socket of
 * this host sends or receives (dns.bpf.h), as its packet's payload, with
 * the task that owns the socket. The Rust side is generated from BTF
 * (src/abi.rs), as for bpf/ebq.h, whose rules hold here too; the message
 * is parsed in userspace (src/catalog/dns.rs).
 */
#ifndef __EBQ_DNS_H__
#define __EBQ_DNS_H__

#include "ebq.h"

/*
 * Bytes of one packet's payload copied up: a UDP answer within EDNS's
 * common 1232-byte size, or the first of a longer one (flagged
 * EBQ_DNS_CUT: its answers are parsed as far as they arrived).
 */
#define EBQ_DNS_PAYLOAD 1536
/* A server_port range narrower than this names its ports (bpf/dns.bpf.h,
 * dns_port()): they replace the default ones. */
#define EBQ_DNS_NAMED_SPAN 1024
/* Sockets whose owner is remembered at once (an LRU: the oldest go). */
#define EBQ_DNS_OWNERS 16384

/* ebq_dns_event.flags */
enum ebq_dns_flags {
	EBQ_DNS_OWNED = 1 << 0,   /* h is the socket's owner; else no task is known */
	EBQ_DNS_INGRESS = 1 << 1, /* received by the socket; else sent */
	EBQ_DNS_TCP = 1 << 2,     /* a TCP segment; else a UDP datagram */
	EBQ_DNS_V6 = 1 << 3,      /* IPv6 addresses; else IPv4 (the first 4 bytes) */
	EBQ_DNS_CUT = 1 << 4,     /* the payload was longer than EBQ_DNS_PAYLOAD */
};

/*
 * One packet to or from a DNS port (the server_port set), followed by
 * `copied` bytes of its transport payload: a UDP datagram's DNS message,
 * or a TCP segment's bytes of the length-prefixed stream. Addresses are in
 * network byte order, ports in host order; src and dst as on the wire.
 */
struct ebq_dns_event {
	struct ebq_header h;
	__u64 cookie;       /* the socket's cookie: what ties query to response */
	__u32 flags;        /* enum ebq_dns_flags */
	__u32 tcp_seq;      /* TCP: the sequence number of the payload's first byte */
	__u32 payload_len;  /* the payload's length in the packet */
	__u16 copied;       /* bytes of it after this struct */
	__u16 src_port;
	__u16 dst_port;
	__u16 _pad[3];
	__u8 src_addr[16];
	__u8 dst_addr[16];
};

/*
 * The kind a DNS packet's header carries when the programs feed another
 * table (cfg.side_feed: socket_events' remote_name learns from the
 * answers): received packets only, with no owner, whatever that table's
 * filters say. Far from any table's number (src/catalog/mod.rs, kind()).
 */
enum ebq_dns_kind {
	EBQ_KIND_DNS_ANSWER = 0xd5d5,
};

enum ebq_dns_stat {
	EBQ_STAT_SENT_DNS = EBQ_STAT_TABLE, /* + 1 egress, + 2 ingress */
	EBQ_STAT_DNS_OWNERS = EBQ_STAT_TABLE + 3, /* sockets whose owner was noted */
	/* Answers fed to another table (cfg.side_feed): above the counters
	 * of any table's own (EBQ_STAT_TABLE + its actions). */
	EBQ_STAT_DNS_ANSWERS = EBQ_STAT_TABLE + 40,
};

/* Its own filter columns. */
enum ebq_dns_col {
	EBQ_DNS_COL_SERVER_PORT = EBQ_COL_TABLE,
	EBQ_DNS_COL_QR, /* the header's QR bit: 0 query, 1 response */
};
_Static_assert(EBQ_DNS_COL_QR < EBQ_FILTER_COLS, "dns_events' slots fit the configuration");
_Static_assert(EBQ_STAT_DNS_ANSWERS + EBQ_STAT_LOST_BASE < EBQ_STAT_MAX,
	       "its counters fit the stats map");

#endif /* __EBQ_DNS_H__ */
