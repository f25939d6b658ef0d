/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * dns_events: every DNS message a socket of this host sends or receives,
 * from cgroup programs attached (through links) at the cgroup2 root, so
 * every process of the machine is covered, in every network namespace,
 * whatever resolver it uses (glibc, musl, Go's own, dig).
 *
 * Two kinds of program:
 *  - cgroup sock_addr hooks (connect4/6, sendmsg4/6, recvmsg4/6) run in the
 *    calling task: for a socket that talks to a DNS port they note the
 *    task (a full header) under the socket's cookie, in `dns_owners`;
 *  - cgroup_skb egress and ingress see every packet of every socket. The
 *    port check comes first, so other traffic costs two loads and a
 *    compare; a packet to or from a DNS port has its payload (up to
 *    EBQ_DNS_PAYLOAD) sent up with the owner's header when it is known.
 *
 * Every program lets everything pass: ebq watches, never decides (a
 * cgroup_skb program's 1 is "allow", include/uapi/linux/bpf.h). The DNS
 * message itself is parsed in userspace (src/catalog/dns.rs).
 */
#ifndef __EBQ_DNS_BPF_H__
#define __EBQ_DNS_BPF_H__

#include "common.bpf.h"
#include "dns.h"

/* include/uapi/linux/if_ether.h, in.h */
#define EBQ_ETH_P_IP 0x0800
#define EBQ_ETH_P_IPV6 0x86DD
#define EBQ_IPPROTO_TCP 6
#define EBQ_IPPROTO_UDP 17
/* The ports watched when the query has no server_port filter. */
#define EBQ_DNS_PORT 53
#define EBQ_MDNS_PORT 5353
#define EBQ_LLMNR_PORT 5355

/* A socket's owner: the header of the last task that connected it, or
 * sent or received with an address on it, to or from a DNS port. */
struct dns_owner {
	struct ebq_header h;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_DNS_OWNERS);
	__type(key, __u64); /* the socket's cookie */
	__type(value, struct dns_owner);
} dns_owners SEC(".maps");

/* Builds an owner's header off the stack (it is larger than a verifier
 * would like next to the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_owner);
} dns_owner_scratch SEC(".maps");

/*
 * A port of the server_port set. A filter that names ports (= or IN, or
 * a range narrower than EBQ_DNS_NAMED_SPAN) replaces the default ports;
 * any other comparison (server_port != 53, > 1000) filters within them,
 * so it never turns every packet of the machine into a DNS candidate.
 * src/catalog/dns.rs says the same to --list and --explain.
 */
static __always_inline bool dns_port(__u16 port)
{
	__u8 mode = CFG.int_mode[EBQ_DNS_COL_SERVER_PORT];
	bool named;

	if (!mode)
		return port == EBQ_DNS_PORT || port == EBQ_MDNS_PORT || port == EBQ_LLMNR_PORT;
	named = (mode & EBQ_F_IN) ||
		((mode & EBQ_F_RANGE) &&
		 CFG.range[EBQ_DNS_COL_SERVER_PORT].hi - CFG.range[EBQ_DNS_COL_SERVER_PORT].lo <
			 EBQ_DNS_NAMED_SPAN);
	if (!named && port != EBQ_DNS_PORT && port != EBQ_MDNS_PORT && port != EBQ_LLMNR_PORT)
		return false;
	return int_ok(EBQ_DNS_COL_SERVER_PORT, port);
}

/*
 * Notes the current task as the owner of the socket behind `ctx` when
 * the address given (the peer) or the socket's own port is a DNS port.
 * Runs in the task's syscall, before the packet is built: so the first
 * packet of a connect()ed or sendto()'s socket already has its owner.
 */
static __always_inline int dns_note_owner(struct bpf_sock_addr *ctx)
{
	struct task_struct *task;
	struct dns_owner *o;
	struct bpf_sock *sk;
	__u64 cookie;
	__u32 zero = 0;
	__u16 local = 0;

	sk = ctx->sk;
	if (sk)
		local = sk->src_port;
	if (!dns_port(bpf_ntohs(ctx->user_port)) && !dns_port(local))
		return 1;
	if ((bpf_get_current_pid_tgid() >> 32) == CFG.self_tgid)
		return 1;
	o = bpf_map_lookup_elem(&dns_owner_scratch, &zero);
	if (!o)
		return 1;
	task = (void *)bpf_get_current_task();
	fill_header(&o->h, task);
	cookie = bpf_get_socket_cookie(ctx);
	if (!bpf_map_update_elem(&dns_owners, &cookie, o, BPF_ANY))
		stat_inc(EBQ_STAT_DNS_OWNERS);
	return 1;
}

SEC("cgroup/connect4")
int dns_connect4(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

SEC("cgroup/connect6")
int dns_connect6(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

SEC("cgroup/sendmsg4")
int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

SEC("cgroup/sendmsg6")
int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

SEC("cgroup/recvmsg4")
int dns_recvmsg4(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

SEC("cgroup/recvmsg6")
int dns_recvmsg6(struct bpf_sock_addr *ctx)
{
	return dns_note_owner(ctx);
}

/*
 * One packet: its ports first (anything else leaves at once), then the
 * payload and the owner. `ingress`: received by the socket.
 */
static __always_inline int dns_packet(struct __sk_buff *skb, const bool ingress)
{
	struct ebq_dns_event *e;
	struct dns_owner *o;
	__u32 off, l4, plen, proto_eth = skb->protocol;
	__u16 ports[2];
	__u8 proto, b;
	__u64 cookie, len;
	__u32 sent = CFG.side_feed ? EBQ_STAT_DNS_ANSWERS : EBQ_STAT_SENT_DNS + (ingress ? 2 : 1);
	bool v6;

	/*
	 * The headers read in place when the linear part holds them (a
	 * locally built packet, a received one after GRO: nearly always),
	 * else with the helper; the port check is then a few loads.
	 */
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (proto_eth == bpf_htons(EBQ_ETH_P_IP)) {
		v6 = false;
		if (data + 20 <= end) {
			b = *(__u8 *)data;
			proto = *(__u8 *)(data + 9);
		} else if (bpf_skb_load_bytes(skb, 0, &b, 1) ||
			   bpf_skb_load_bytes(skb, 9, &proto, 1)) {
			return 1;
		}
		l4 = (b & 0xf) * 4;
	} else if (proto_eth == bpf_htons(EBQ_ETH_P_IPV6)) {
		/* A next header other than TCP or UDP (an extension) is left. */
		v6 = true;
		if (data + 40 <= end)
			proto = *(__u8 *)(data + 6);
		else if (bpf_skb_load_bytes(skb, 6, &proto, 1))
			return 1;
		l4 = 40;
	} else {
		return 1;
	}
	if (proto != EBQ_IPPROTO_UDP && proto != EBQ_IPPROTO_TCP)
		return 1;
	/* l4 is at most 60: the bound the verifier sees is the mask's. */
	l4 &= 0x3f;
	if (data + l4 + sizeof(ports) <= end)
		__builtin_memcpy(ports, data + l4, sizeof(ports));
	else if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return 1;
	if (!dns_port(bpf_ntohs(ports[0])) && !dns_port(bpf_ntohs(ports[1])))
		return 1;
	/* A DNS port: everything below runs for DNS traffic alone. */
	if (proto == EBQ_IPPROTO_UDP) {
		off = l4 + 8;
	} else {
		if (bpf_skb_load_bytes(skb, l4 + 12, &b, 1))
			return 1;
		off = l4 + (b >> 4) * 4;
	}
	if (off >= skb->len)
		return 1; /* no payload: a SYN, an ACK */
	plen = skb->len - off;
	/*
	 * A UDP payload starts with the DNS header (a TCP one only at a
	 * message's first segment: TCP is left to userspace). Its QR bit says
	 * which end is the server (a query goes to it, a response comes from
	 * it), whose port alone must be in the set: exact for UDP. A
	 * direction filter drops queries only: a response is kept, since its
	 * query may be wanted (and, kept, it never makes a false timeout).
	 * Feeding another table, only responses are wanted.
	 */
	if (proto == EBQ_IPPROTO_UDP && plen >= 3) {
		__u8 flags = 0;
		bool qr;

		if (bpf_skb_load_bytes(skb, off + 2, &flags, 1))
			return 1;
		qr = flags >> 7;
		if (!dns_port(bpf_ntohs(qr ? ports[0] : ports[1])))
			return 1;
		if (CFG.side_feed && !qr)
			return 1;
		if (CFG.int_mode[EBQ_DNS_COL_QR] && !qr && !CFG.side_feed &&
		    !int_ok(EBQ_DNS_COL_QR, 0)) {
			filtered();
			return 1;
		}
	}
	cookie = bpf_get_socket_cookie(skb);
	if (CFG.side_feed) {
		/* Answers for another table: no owner, none of its filters. */
		o = NULL;
	} else {
		o = bpf_map_lookup_elem(&dns_owners, &cookie);
		if (o ? !header_ok(&o->h) : task_filtered()) {
			filtered();
			return 1;
		}
		if (o && o->h.pid == CFG.self_tgid)
			return 1;
	}
	e = reserve_event(sizeof(*e) + EBQ_DNS_PAYLOAD, sent);
	if (!e)
		return 1;
	if (o) {
		__builtin_memcpy(&e->h, &o->h, sizeof(e->h));
		e->h.ktime_ns = bpf_ktime_get_boot_ns();
		e->flags = EBQ_DNS_OWNED;
	} else {
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.ktime_ns = bpf_ktime_get_boot_ns();
		e->h.kind = CFG.side_feed ? EBQ_KIND_DNS_ANSWER : CFG.kind;
		e->flags = 0;
	}
	e->cookie = cookie;
	if (ingress)
		e->flags |= EBQ_DNS_INGRESS;
	if (proto == EBQ_IPPROTO_TCP)
		e->flags |= EBQ_DNS_TCP;
	e->src_port = bpf_ntohs(ports[0]);
	e->dst_port = bpf_ntohs(ports[1]);
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	__builtin_memset(e->src_addr, 0, sizeof(e->src_addr));
	__builtin_memset(e->dst_addr, 0, sizeof(e->dst_addr));
	if (v6) {
		e->flags |= EBQ_DNS_V6;
		bpf_skb_load_bytes(skb, 8, e->src_addr, 16);
		bpf_skb_load_bytes(skb, 24, e->dst_addr, 16);
	} else {
		bpf_skb_load_bytes(skb, 12, e->src_addr, 4);
		bpf_skb_load_bytes(skb, 16, e->dst_addr, 4);
	}
	e->tcp_seq = 0;
	if (proto == EBQ_IPPROTO_TCP) {
		__u32 seq = 0;

		bpf_skb_load_bytes(skb, l4 + 4, &seq, 4);
		e->tcp_seq = bpf_ntohl(seq);
	}
	e->payload_len = plen;
	if (plen > EBQ_DNS_PAYLOAD)
		e->flags |= EBQ_DNS_CUT;
	/*
	 * len - 1, bounded, then + 1: the size passed is then known to be
	 * 1 to EBQ_DNS_PAYLOAD on the register itself (5.10's verifier
	 * refuses a size whose minimum it sees as 0: "R3 min value is outside
	 * of the allowed memory range"). plen is at least 1 here.
	 */
	len = plen > EBQ_DNS_PAYLOAD ? EBQ_DNS_PAYLOAD - 1 : plen - 1;
	barrier_var(len);
	if (len >= EBQ_DNS_PAYLOAD || bpf_skb_load_bytes(skb, off, (void *)(e + 1), len + 1)) {
		len = 0;
		e->flags |= EBQ_DNS_CUT;
	} else {
		len += 1;
	}
	e->copied = len;
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(sent);
	return 1;
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	return dns_packet(skb, false);
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	return dns_packet(skb, true);
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_dns_event _ebq_dns_event = {};
enum ebq_dns_flags _ebq_dns_flags = EBQ_DNS_OWNED;
enum ebq_dns_col _ebq_dns_col = EBQ_DNS_COL_SERVER_PORT;
enum ebq_dns_stat _ebq_dns_stat = EBQ_STAT_SENT_DNS;
enum ebq_dns_kind _ebq_dns_kind = EBQ_KIND_DNS_ANSWER;

#endif /* __EBQ_DNS_BPF_H__ */
