/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tcp_events: TCP's state changes (sock:inet_sock_set_state), and from
 * them each connection's lifetime at its close (tcplife) and its connect
 * latency (tcpconnlat); retransmits (tcp:tcp_retransmit_skb) and resets
 * sent and received (tcp:tcp_send_reset, tcp:tcp_receive_reset).
 *
 * Most of these run in softirq, on whatever task the packet interrupted:
 * a bystander, never the row's subject. A socket's owner is noted in the
 * owner's own context, keyed by the socket's address: at its connect (the
 * change to SYN_SENT runs in tcp_v4_connect(), net/ipv4/tcp_ipv4.c, in
 * the caller), at its listen (the change to LISTEN, inet_csk_listen_start(),
 * net/ipv4/inet_connection_sock.c) and at its accept (the syscall's exit,
 * by the fd it returns). A connection not yet accepted has its listener's
 * owner (noted by port: inet_csk_clone_lock() copies the listener, port
 * and all, and runs the change to SYN_RECV on the copy in softirq).
 * Sockets ebq did not see begin (opened before it started, or whose note
 * aged out) have no owner: their task columns are NULL.
 */
#ifndef __EBQ_TCP_BPF_H__
#define __EBQ_TCP_BPF_H__

#include "common.bpf.h"
#include "socket.bpf.h"
#include "agg.bpf.h"
#include "tcp.h"

/* include/uapi/linux/in.h */
#define EBQ_IPPROTO_TCP 6
/* include/net/tcp_states.h */
#define EBQ_TCPS_ESTABLISHED 1
#define EBQ_TCPS_SYN_SENT 2
#define EBQ_TCPS_SYN_RECV 3
#define EBQ_TCPS_FIN_WAIT1 4
#define EBQ_TCPS_FIN_WAIT2 5
#define EBQ_TCPS_TIME_WAIT 6
#define EBQ_TCPS_CLOSE 7
#define EBQ_TCPS_LAST_ACK 9
#define EBQ_TCPS_LISTEN 10
#define EBQ_TCPS_CLOSING 11

/* Sockets' notes, by the struct sock's address. Sized by userspace:
 * EBQ_TCP_SOCKS for tcp_events, 1 otherwise (an LRU hash is preallocated). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_TCP_SOCKS);
	__type(key, __u64);
	__type(value, struct ebq_tcp_sock);
} tcp_socks SEC(".maps");

/* Listening sockets by local port: the struct sock's address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EBQ_TCP_LISTENERS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_listeners SEC(".maps");

/* A new note's value: too big for the stack, so in rodata. */
const volatile struct ebq_tcp_sock tcp_sock_init = {};

static __always_inline bool tcp_wants(__u32 action)
{
	return !CFG.actions || (CFG.actions & (1u << action));
}

/* The note of `sk`; made (with no owner) when missing and `make`. */
static __always_inline struct ebq_tcp_sock *tcp_note(__u64 sk, bool make)
{
	struct ebq_tcp_sock *n = bpf_map_lookup_elem(&tcp_socks, &sk);

	if (n || !make)
		return n;
	bpf_map_update_elem(&tcp_socks, &sk, (const void *)&tcp_sock_init, BPF_ANY);
	return bpf_map_lookup_elem(&tcp_socks, &sk);
}

/* The current task owns the socket of note `n` now (`how`). */
static __always_inline void tcp_own(struct ebq_tcp_sock *n, __u32 how)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	n->owner = how;
	/* What no row of it could pass (ebq's own, a pid or uid the query
	 * refuses): noted as refused, so no later row needs the filters. */
	n->refused = tgid == CFG.self_tgid || !stable_ok(task, tgid);
	fill_header(&n->h, task);
}

/* The socket's ports and family against the query's, before any work. */
static __always_inline bool tcp_ends_ok(__u16 family, __u16 lport, __u16 rport)
{
	return int_ok(EBQ_TCP_COL_FAMILY, family) && int_ok(EBQ_TCP_COL_LOCAL_PORT, lport) &&
	       int_ok(EBQ_TCP_COL_REMOTE_PORT, rport);
}

/*
 * The local port: skc_num, or, once the change to CLOSE has unhashed the
 * socket (inet_put_port() zeroes inet_num first, tcp_set_state()), the
 * source port it kept (inet_sport).
 */
static __always_inline __u16 tcp_local_port(const struct sock *sk)
{
	__u16 num = BPF_CORE_READ(sk, __sk_common.skc_num);

	if (num)
		return num;
	return bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

static __always_inline bool tcp_sock_ends_ok(const struct sock *sk)
{
	if (!CFG.int_mode[EBQ_TCP_COL_FAMILY] && !CFG.int_mode[EBQ_TCP_COL_LOCAL_PORT] &&
	    !CFG.int_mode[EBQ_TCP_COL_REMOTE_PORT])
		return true;
	return tcp_ends_ok(BPF_CORE_READ(sk, __sk_common.skc_family),
			   tcp_local_port(sk),
			   bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)));
}

/* Both ends of `sk`, as the kernel holds them. */
static __always_inline void tcp_sock_ends(struct ebq_tcp_event *e, const struct sock *sk)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (!sock_addrs(sk, fam, e->local_addr, e->remote_addr))
		return;
	e->family = fam;
	e->local_port = tcp_local_port(sk);
	e->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->flags |= EBQ_TCP_HAS_ADDRS;
}

/*
 * The bytes of payload each way, at the close: tcplife's counts (struct
 * tcp_sock, include/linux/tcp.h), RFC 4898's octets acked and received,
 * count sequence space, and a SYN and a FIN each take one: the active
 * opener's SYN once acked (the passive side's snd_una starts past its
 * own, tcp_create_openreq_child()), its FIN once acked, the peer's FIN
 * once received (tcp_fin() sets SOCK_DONE, net/ipv4/tcp_input.c). They
 * are taken off, so the columns are the bytes the applications wrote and
 * read. Only for a socket whose start ebq saw (which end opened it).
 */
static __always_inline void tcp_payload(struct ebq_tcp_event *e, const struct sock *sk,
					const struct ebq_tcp_sock *n, __s32 old)
{
	struct tcp_sock *tp = (void *)sk;
	__u64 acked = BPF_CORE_READ(tp, bytes_acked), received = BPF_CORE_READ(tp, bytes_received);
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	/* Its FIN was sent (a state after it) and all it sent is acked. */
	bool fin_sent = old == EBQ_TCPS_FIN_WAIT1 || old == EBQ_TCPS_FIN_WAIT2 ||
			old == EBQ_TCPS_CLOSING || old == EBQ_TCPS_LAST_ACK ||
			old == EBQ_TCPS_TIME_WAIT;

	if (n->active && acked)
		acked--;
	if (fin_sent && acked && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		acked--;
	if (received && (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		received--;
	e->bytes_sent = acked;
	e->bytes_received = received;
	e->flags |= EBQ_TCP_HAS_BYTES;
}

/*
 * A row about the socket of note `n` (NULL: no owner known). The ends are
 * `sk`'s, or already in `ends` (a reset with no socket). What the kernel
 * could filter was checked; the owner's filters are checked here.
 */
static __always_inline void tcp_row(const struct sock *sk, const struct ebq_tcp_sock *n,
				    __u32 action, __s32 old, __s32 state, __u64 d, bool has_d,
				    const struct ebq_tcp_event *ends, __u32 stat)
{
	bool owned = n && n->owner != EBQ_TCP_OWNER_NONE;
	struct ebq_tcp_event *e;

	if ((CFG.int_mode[EBQ_TCP_COL_DURATION] && (!has_d || !int_ok(EBQ_TCP_COL_DURATION, d))) ||
	    (owned ? (n->refused || !header_ok(&n->h)) : task_filtered())) {
		filtered();
		return;
	}
	if (CFG.agg_enabled) {
		/* A row with no owner goes up to userspace's container filter;
		 * a group has none after it, and no container is NULL's. */
		if (!owned && CFG.cgroup_filter) {
			filtered();
			return;
		}
		/* A NULL duration counts in count(*) alone. */
		aggregate_header_of(owned ? &n->h : NULL, EBQ_TCP_AGG_NR(action, old, state), 0, d,
				    has_d);
		return;
	}
	e = reserve_event(sizeof(*e), stat);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	if (owned) {
		__builtin_memcpy(&e->h, &n->h, sizeof(e->h));
		e->owner = n->owner;
	} else {
		e->h.kind = CFG.kind;
	}
	e->h.ktime_ns = bpf_ktime_get_boot_ns();
	e->action = action;
	if (sk) {
		tcp_sock_ends(e, sk);
	} else if (ends) {
		e->family = ends->family;
		e->local_port = ends->local_port;
		e->remote_port = ends->remote_port;
		__builtin_memcpy(e->local_addr, ends->local_addr, 16);
		__builtin_memcpy(e->remote_addr, ends->remote_addr, 16);
		e->flags |= EBQ_TCP_HAS_ADDRS;
	}
	if (old >= 0) {
		e->old_state = old;
		e->flags |= EBQ_TCP_HAS_OLD;
	}
	e->state = state;
	if (has_d) {
		e->duration_ns = d;
		e->flags |= EBQ_TCP_HAS_DURATION;
	}
	if (sk && action == EBQ_TCP_CLOSE && n && n->birth_ns)
		tcp_payload(e, sk, n, old);
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(stat);
}

/* A TCP socket of an internet family: what tcp_events is about. */
static __always_inline bool tcp_inet(const struct sock *sk)
{
	__u16 fam;

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != EBQ_IPPROTO_TCP)
		return false;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	return fam == AF_INET || fam == AF_INET6;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcp_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_boot_ns();
	struct ebq_tcp_sock *n;
	__u64 since = 0;
	bool ends;

	if (!tcp_inet(sk))
		return 0;
	ends = tcp_sock_ends_ok(sk);
	n = tcp_note(key, true);
	if (n) {
		since = n->last_ns;
		n->last_ns = now;
		if (newstate == EBQ_TCPS_SYN_SENT) {
			/* connect(2), in the caller (a note left at a reused
			 * address is another socket's: its times go too). */
			tcp_own(n, EBQ_TCP_OWNER_CONNECT);
			n->birth_ns = now;
			n->active = 1;
		} else if (newstate == EBQ_TCPS_LISTEN) {
			__u32 port = BPF_CORE_READ(sk, __sk_common.skc_num);

			tcp_own(n, EBQ_TCP_OWNER_LISTEN);
			n->birth_ns = 0;
			n->active = 0;
			bpf_map_update_elem(&tcp_listeners, &port, &key, BPF_ANY);
		} else if (newstate == EBQ_TCPS_SYN_RECV) {
			/* A new connection, cloned from its listener. */
			__u32 port = BPF_CORE_READ(sk, __sk_common.skc_num);
			__u64 *l = bpf_map_lookup_elem(&tcp_listeners, &port);
			struct ebq_tcp_sock *ln = l ? bpf_map_lookup_elem(&tcp_socks, l) : NULL;

			if (ln && ln->owner != EBQ_TCP_OWNER_NONE) {
				__builtin_memcpy(&n->h, &ln->h, sizeof(n->h));
				n->refused = ln->refused;
				n->owner = EBQ_TCP_OWNER_LISTENER;
			} else {
				n->owner = EBQ_TCP_OWNER_NONE;
				n->refused = 0;
			}
			n->birth_ns = now;
			n->active = 0;
		} else if (oldstate == EBQ_TCPS_CLOSE) {
			/* A socket seen first past its start: nothing known. */
			n->owner = EBQ_TCP_OWNER_NONE;
			n->birth_ns = 0;
		}
	}
	if (ends) {
		if (tcp_wants(EBQ_TCP_STATE))
			tcp_row(sk, n, EBQ_TCP_STATE, oldstate, newstate, now - since,
				since && oldstate != EBQ_TCPS_CLOSE, NULL, EBQ_STAT_SENT_TCP_STATE);
		if (tcp_wants(EBQ_TCP_CONNECT) && oldstate == EBQ_TCPS_SYN_SENT &&
		    newstate == EBQ_TCPS_ESTABLISHED && n && n->birth_ns)
			tcp_row(sk, n, EBQ_TCP_CONNECT, oldstate, newstate, now - n->birth_ns, true,
				NULL, EBQ_STAT_SENT_TCP_STATE);
		/* A listener's close is no connection's end. */
		if (tcp_wants(EBQ_TCP_CLOSE) && newstate == EBQ_TCPS_CLOSE &&
		    oldstate != EBQ_TCPS_LISTEN && oldstate != EBQ_TCPS_CLOSE)
			tcp_row(sk, n, EBQ_TCP_CLOSE, oldstate, newstate,
				n && n->birth_ns ? now - n->birth_ns : 0, n && n->birth_ns, NULL,
				EBQ_STAT_SENT_TCP_STATE);
	} else {
		filtered();
	}
	/*
	 * A closed socket keeps its note: tcp_close() resets an aborted
	 * connection after its change to CLOSE (net/ipv4/tcp.c, __tcp_close()),
	 * and that reset is its owner's. The note goes when the socket is
	 * destroyed (tcp_destroy_sock below), or ages out; a new socket at its
	 * address starts over at its first change (CLOSE -> SYN_SENT, LISTEN,
	 * SYN_RECV), before any row of it.
	 */
	if (newstate == EBQ_TCPS_CLOSE && oldstate == EBQ_TCPS_LISTEN) {
		__u32 port = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u64 *l = bpf_map_lookup_elem(&tcp_listeners, &port);

		if (l && *l == key)
			bpf_map_delete_elem(&tcp_listeners, &port);
	}
	return 0;
}

/* The socket is freed (tcp_v4_destroy_sock(), net/ipv4/tcp_ipv4.c). */
SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(tcp_destroy_sock, struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&tcp_socks, &key);
	return 0;
}

/*
 * accept(2) and accept4(2) return the connection's fd: its accepter owns
 * it from now on (a worker, where the listener's owner forked it).
 */
static __always_inline int tcp_accepted(long ret)
{
	struct task_struct *task;
	struct socket *sock;
	struct sock *sk;
	struct ebq_tcp_sock *n;

	if (ret < 0)
		return 0;
	task = (void *)bpf_get_current_task();
	sock = fd_socket(task, ret);
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (!tcp_inet(sk))
		return 0;
	n = tcp_note((__u64)sk, true);
	if (n)
		tcp_own(n, EBQ_TCP_OWNER_ACCEPT);
	return 0;
}

/* Two programs, not one shared by attach cookie: 5.10 has no cookies,
 * and neither needs to know which call it is. */
SEC("tracepoint/syscalls/sys_exit_accept")
int tcp_accept(struct trace_event_raw_sys_exit *ctx)
{
	return tcp_accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tcp_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return tcp_accepted(ctx->ret);
}

/*
 * Newer kernels (6.18 here; not 6.12) pass the retransmit's result as a
 * third argument and fire on failures too; older ones fire on success
 * only (net/ipv4/tcp_output.c, __tcp_retransmit_skb()). Rows are successful retransmits on
 * every kernel: which one this is is asked of its BTF, as block.bpf.h
 * does, and a failure is no row.
 */
typedef void (*btf_trace_tcp_retransmit_skb___err)(void *, const struct sock *,
						    const struct sk_buff *, int);

SEC("raw_tp/tcp_retransmit_skb")
int tcp_retransmit(__u64 *ctx)
{
	const struct sock *sk = (void *)ctx[0];

	if (bpf_core_type_exists(btf_trace_tcp_retransmit_skb___err)) {
		__u64 err;

		asm volatile("%[v] = *(u64 *)(%[ctx] + 16)" : [v] "=r"(err) : [ctx] "r"(ctx));
		if ((int)err)
			return 0;
	}
	if (!tcp_inet(sk) || !tcp_sock_ends_ok(sk)) {
		filtered();
		return 0;
	}
	tcp_row(sk, tcp_note((__u64)sk, false), EBQ_TCP_RETRANSMIT, -1,
		BPF_CORE_READ(sk, __sk_common.skc_state), 0, false, NULL,
		EBQ_STAT_SENT_TCP_RETRANSMIT);
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset, struct sock *sk)
{
	if (!tcp_inet(sk) || !tcp_sock_ends_ok(sk)) {
		filtered();
		return 0;
	}
	tcp_row(sk, tcp_note((__u64)sk, false), EBQ_TCP_RECEIVE_RESET, -1,
		BPF_CORE_READ(sk, __sk_common.skc_state), 0, false, NULL,
		EBQ_STAT_SENT_TCP_RECEIVE_RESET);
	return 0;
}

/* The IP version and both ends of the segment `skb` holds, swapped: the
 * reset answering it goes from its destination to its source. */
static __always_inline bool tcp_skb_ends(const struct sk_buff *skb, struct ebq_tcp_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header), th = BPF_CORE_READ(skb, transport_header);
	__u8 v = 0;
	__u16 ports[2];

	if (!head || bpf_probe_read_kernel(&v, 1, head + nh) ||
	    bpf_probe_read_kernel(ports, sizeof(ports), head + th))
		return false;
	v >>= 4;
	if (v == 4) {
		/* struct iphdr: saddr at 12, daddr at 16 */
		if (bpf_probe_read_kernel(e->remote_addr, 4, head + nh + 12) ||
		    bpf_probe_read_kernel(e->local_addr, 4, head + nh + 16))
			return false;
		e->family = AF_INET;
	} else if (v == 6) {
		/* struct ipv6hdr: saddr at 8, daddr at 24 */
		if (bpf_probe_read_kernel(e->remote_addr, 16, head + nh + 8) ||
		    bpf_probe_read_kernel(e->local_addr, 16, head + nh + 24))
			return false;
		e->family = AF_INET6;
	} else {
		return false;
	}
	e->remote_port = bpf_ntohs(ports[0]);
	e->local_port = bpf_ntohs(ports[1]);
	return true;
}

/*
 * A reset sent: by a socket (tcp_send_active_reset(), an abort), or in
 * answer to a segment no socket wanted (tcp_v4_send_reset() with no
 * socket, which Linux 6.10 traces: the ends are the segment's then). A
 * request or time-wait socket has no note: no owner.
 */
SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct ebq_tcp_event *ends;

	/* The socket may be a request or time-wait one (tcp_v4_send_reset()
	 * answering a segment for it): only its sock_common is read, which
	 * every kind has, and it is TCP's (this is TCP's tracepoint). */
	if (sk) {
		if (!tcp_sock_ends_ok(sk)) {
			filtered();
			return 0;
		}
		tcp_row(sk, tcp_note((__u64)sk, false), EBQ_TCP_SEND_RESET, -1,
			BPF_CORE_READ(sk, __sk_common.skc_state), 0, false, NULL,
			EBQ_STAT_SENT_TCP_SEND_RESET);
		return 0;
	}
	ends = scratch_slot();
	if (!skb || !ends)
		return 0;
	__builtin_memset(ends, 0, sizeof(*ends));
	if (!tcp_skb_ends(skb, ends) || !tcp_ends_ok(ends->family, ends->local_port, ends->remote_port)) {
		filtered();
		return 0;
	}
	tcp_row(NULL, NULL, EBQ_TCP_SEND_RESET, -1, 0, 0, false, ends, EBQ_STAT_SENT_TCP_SEND_RESET);
	return 0;
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_tcp_event _ebq_tcp_event = {};
struct ebq_tcp_sock _ebq_tcp_sock = {};
enum ebq_tcp_action _ebq_tcp_action = EBQ_TCP_STATE;
enum ebq_tcp_owner _ebq_tcp_owner = EBQ_TCP_OWNER_NONE;
enum ebq_tcp_flags _ebq_tcp_flags = EBQ_TCP_HAS_DURATION;
enum ebq_tcp_col _ebq_tcp_col = EBQ_TCP_COL_LOCAL_PORT;
enum ebq_tcp_stat _ebq_tcp_stat = EBQ_STAT_SENT_TCP_STATE;
enum ebq_tcp_limits _ebq_tcp_limits = EBQ_TCP_SOCKS;

#endif /* __EBQ_TCP_BPF_H__ */
