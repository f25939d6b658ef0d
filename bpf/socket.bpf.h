/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * socket_events: connect, accept/accept4, bind and listen, from their
 * syscall tracepoints. The entry notes the arguments; the exit reads the
 * socket behind the fd, so addresses and ports are the kernel's view (a
 * connect row carries the local port the kernel picked). What the socket
 * no longer knows comes from the caller's sockaddr: the target of a failed
 * connect (tcp_disconnect() clears it, net/ipv4/tcp.c) and the address of
 * a failed bind.
 */
#ifndef __EBQ_SOCKET_BPF_H__
#define __EBQ_SOCKET_BPF_H__

#include "common.bpf.h"
#include "socket.h"

/* include/linux/socket.h */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
/* include/uapi/asm-generic/errno-base.h, errno.h */
#define EBADF 9
#define ENOTSOCK 88

/* The entry's filters, before anything is read or noted (counted). */
static __always_inline bool sock_rejects(__u32 tgid)
{
	if (!quick_rejects() && stable_ok(NULL, tgid))
		return false;
	filtered();
	return true;
}

/* Notes a call for its exit, which reports it. */
static __always_inline int sock_enter(__u32 action, __u64 a0, __u64 a1, __u64 a2)
{
	struct inflight st = {};

	st.start_ns = bpf_ktime_get_boot_ns();
	st.args[0] = a0;
	st.args[1] = a1;
	st.args[2] = a2;
	st.what = action;
	put_inflight(&st);
	return 0;
}

/* The struct socket behind fd, or NULL. */
static __always_inline struct socket *fd_socket(struct task_struct *task, __s32 fd)
{
	struct file *f = fd_file(task, fd);

	if (!f)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

/* A unix socket's bound path (net/unix/af_unix.c keeps it in u->addr). */
static __always_inline __u16 unix_path(struct sock *sk, char *dst)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	int alen;
	__u64 len;

	if (!ua)
		return 0;
	alen = BPF_CORE_READ(ua, len) - 2; /* sun_family */
	if (alen <= 0)
		return 0;
	len = alen;
	if (len > EBQ_UNIX_PATH_MAX)
		len = EBQ_UNIX_PATH_MAX;
	barrier_var(len);
	if (len <= 0 || len > EBQ_UNIX_PATH_MAX)
		return 0;
	if (bpf_probe_read_kernel(dst, len,
				  (void *)ua + bpf_core_field_offset(struct unix_address, name) +
					  bpf_core_field_offset(struct sockaddr_un, sun_path)))
		return 0;
	return len;
}

/* Address and port from the caller's sockaddr; true when it had one. */
static __always_inline bool user_sockaddr(const void *uaddr, __u32 ulen, __u16 *family,
					   __u8 *addr, __u16 *port, char *path, __u16 *path_len)
{
	__u16 fam = 0, be_port = 0;

	if (!uaddr || ulen < 2 || bpf_probe_read_user(&fam, sizeof(fam), uaddr))
		return false;
	*family = fam;
	if (fam == AF_INET && ulen >= 8) {
		bpf_probe_read_user(&be_port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 4, uaddr + 4);
		*port = bpf_ntohs(be_port);
		return true;
	}
	if (fam == AF_INET6 && ulen >= 24) {
		bpf_probe_read_user(&be_port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 16, uaddr + 8);
		*port = bpf_ntohs(be_port);
		return true;
	}
	if (fam == AF_UNIX) {
		/* 64-bit, so the bound the verifier sees is on the register passed. */
		__u64 n = ulen - 2;

		if (n > EBQ_UNIX_PATH_MAX)
			n = EBQ_UNIX_PATH_MAX;
		barrier_var(n);
		if (n > EBQ_UNIX_PATH_MAX)
			return false;
		if (bpf_probe_read_user(path, n, uaddr + 2))
			return false;
		*path_len = n;
		return true;
	}
	return false;
}

/* Both addresses of an internet socket `sk` of family `fam` (network
 * order: 4 bytes for AF_INET, 16 for AF_INET6); false for another family. */
static __always_inline bool sock_addrs(const struct sock *sk, __u16 fam, __u8 *local,
				       __u8 *remote)
{
	/* Sized reads: BPF_CORE_READ_INTO would copy one byte into a u8[]. */
	if (fam == AF_INET) {
		bpf_core_read(local, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(remote, 4, &sk->__sk_common.skc_daddr);
		return true;
	}
	if (fam == AF_INET6) {
		bpf_core_read(local, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(remote, 16, &sk->__sk_common.skc_v6_daddr);
		return true;
	}
	return false;
}

static __always_inline bool addr_is_zero(const __u8 *a, __u16 family)
{
	if (family == AF_INET)
		return !(a[0] | a[1] | a[2] | a[3]);
	for (int i = 0; i < 16; i++)
		if (a[i])
			return false;
	return true;
}

static __always_inline int sock_exit(__u32 action, long ret, __u32 sent_stat)
{
	struct task_struct *task;
	struct inflight st;
	struct ebq_socket_event *e;
	struct socket *sock = NULL;
	struct sock *sk;
	__s32 fd;

	if (!take_inflight(&st))
		return 0;
	task = (void *)bpf_get_current_task();
	if (st.what != action)
		return 0;
	if (!int_ok(EBQ_COL_EXIT_CODE, ret)) {
		filtered();
		return 0;
	}
	e = reserve_event(sizeof(*e), sent_stat);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, task);
	e->duration_ns = bpf_ktime_get_boot_ns() - st.start_ns;
	e->exit_code = ret;
	e->action = action;
	/* accept: the new socket; when accept failed, the listening one. */
	fd = (action == EBQ_SOCK_ACCEPT && ret >= 0) ? ret : (__s32)st.args[0];
	e->fd = fd;
	if (ret != -EBADF && ret != -ENOTSOCK)
		sock = fd_socket(task, fd);
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (sk) {
		__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

		e->flags |= EBQ_SOCK_HAS_SOCK;
		e->family = fam;
		e->protocol = BPF_CORE_READ(sk, sk_protocol);
		e->sock_type = BPF_CORE_READ(sk, sk_type);
		sock_addrs(sk, fam, e->local_addr, e->remote_addr);
		if (fam == AF_INET || fam == AF_INET6) {
			e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
			e->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
			if (e->local_port || !addr_is_zero(e->local_addr, fam))
				e->flags |= EBQ_SOCK_HAS_LOCAL;
			if (e->remote_port)
				e->flags |= EBQ_SOCK_HAS_REMOTE;
		} else if (fam == AF_UNIX) {
			e->local_path_len = unix_path(sk, e->local_path);
			if (e->local_path_len)
				e->flags |= EBQ_SOCK_HAS_LOCAL;
		}
	}
	/* What the socket cannot tell: the caller's own sockaddr. */
	if ((action == EBQ_SOCK_CONNECT && !(e->flags & EBQ_SOCK_HAS_REMOTE)) ||
	    (action == EBQ_SOCK_CONNECT && e->family == AF_UNIX)) {
		__u16 fam = e->family;

		if (user_sockaddr((void *)st.args[1], st.args[2], &fam, e->remote_addr,
				  &e->remote_port, e->remote_path, &e->remote_path_len)) {
			e->family = fam;
			e->flags |= EBQ_SOCK_HAS_REMOTE;
		}
	}
	if (action == EBQ_SOCK_BIND && !(e->flags & EBQ_SOCK_HAS_LOCAL)) {
		__u16 fam = e->family;

		if (user_sockaddr((void *)st.args[1], st.args[2], &fam, e->local_addr,
				  &e->local_port, e->local_path, &e->local_path_len)) {
			e->family = fam;
			e->flags |= EBQ_SOCK_HAS_LOCAL;
		}
	}
	/* A column that is NULL fails every comparison a kernel filter makes. */
	if (!header_ok(&e->h) || !int_ok(EBQ_SOCKET_COL_FD, e->fd) ||
	    (CFG.int_mode[EBQ_SOCKET_COL_FAMILY] && (!e->family || !int_ok(EBQ_SOCKET_COL_FAMILY, e->family))) ||
	    (CFG.int_mode[EBQ_SOCKET_COL_PROTOCOL] &&
	     (!(e->flags & EBQ_SOCK_HAS_SOCK) || !int_ok(EBQ_SOCKET_COL_PROTOCOL, e->protocol))) ||
	    (CFG.int_mode[EBQ_SOCKET_COL_LOCAL_PORT] &&
	     (!(e->flags & EBQ_SOCK_HAS_LOCAL) || e->family == AF_UNIX ||
	      !int_ok(EBQ_SOCKET_COL_LOCAL_PORT, e->local_port))) ||
	    (CFG.int_mode[EBQ_SOCKET_COL_REMOTE_PORT] &&
	     (!(e->flags & EBQ_SOCK_HAS_REMOTE) || e->family == AF_UNIX ||
	      !int_ok(EBQ_SOCKET_COL_REMOTE_PORT, e->remote_port)))) {
		bpf_ringbuf_discard(e, 0);
		filtered();
		return 0;
	}
	bpf_ringbuf_submit(e, wake_flags());
	stat_inc(sent_stat);
	return 0;
}

/*
 * One entry program and one exit program for the five syscalls, attached
 * to each tracepoint with the action (enum ebq_socket_action) as its
 * cookie: two loads instead of ten. listen's record has two arguments and
 * a program may not read past the shortest record it is attached to, so
 * the third (the sockaddr's length) is read with a helper.
 */
SEC("tracepoint/syscalls/sys_enter_connect")
int socket_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = tgid_if_needed();
	__u32 action;
	__u64 a2 = 0;

	/* Rejected: nothing is noted, and the exit finds nothing to report. */
	if (sock_rejects(tgid))
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == CFG.self_tgid)
		return 0;
	action = syscall_cookie(ctx);
	if (action != EBQ_SOCK_LISTEN)
		bpf_probe_read_kernel(&a2, sizeof(a2), &ctx->args[2]);
	return sock_enter(action, ctx->args[0], ctx->args[1], a2);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int socket_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 action = syscall_cookie(ctx);

	return sock_exit(action, ctx->ret, EBQ_STAT_SENT_SOCKET + action);
}

/* Pins its ABI types into BTF, for their generated Rust twins. */
struct ebq_socket_event _ebq_socket_event = {};
enum ebq_socket_action _ebq_socket_action = EBQ_SOCK_CONNECT;
enum ebq_socket_flags _ebq_socket_flags = EBQ_SOCK_HAS_LOCAL;
enum ebq_socket_col _ebq_socket_col = EBQ_SOCKET_COL_LOCAL_PORT;
enum ebq_socket_stat _ebq_socket_stat = EBQ_STAT_SENT_SOCKET;

#endif /* __EBQ_SOCKET_BPF_H__ */
