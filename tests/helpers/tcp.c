// SPDX-License-Identifier: MIT
/*
 * TCP workloads on loopback for tests/tcp.rs, in C (a kernel guest of
 * ci/kernels may have no python3). Each prints what the test checks the
 * rows against, one "name value ..." line each, after the work is done.
 *
 *   tcp life C S [PORT]
 *                   a listener (this process) on 127.0.0.1 (PORT, or any), a worker it
 *                   forks that accepts, and a client it forks that sends C
 *                   bytes, shuts its side, and reads the worker's S bytes
 *                   until EOF; prints "listener PID PORT", "worker PID",
 *                   "client PID PORT"
 *   tcp refused     connects to a port nothing listens on; prints
 *                   "client PID PORT"
 *   tcp retrans     a listener with no room (backlog 0, one connection
 *                   queued, never accepted): a second connect's SYN is
 *                   dropped and sent again; prints "client PID PORT"
 *   tcp abort       the worker closes with the client's bytes unread,
 *                   which resets the connection; prints "worker PID",
 *                   "client PID PORT"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	return a;
}

static unsigned short port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(s, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

/* A listener on 127.0.0.1, on *port (0: any), which it sets. */
static int listener(int backlog, unsigned short *port)
{
	struct sockaddr_in a = loopback(*port);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, backlog))
		die("listen");
	*port = port_of(s);
	return s;
}

static int connected(unsigned short port)
{
	struct sockaddr_in a = loopback(port);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return s;
}

static void send_all(int s, size_t n)
{
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	while (n) {
		ssize_t w = write(s, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (w <= 0)
			die("write");
		n -= w;
	}
}

static size_t read_all(int s)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;

	while ((r = read(s, buf, sizeof(buf))) > 0)
		n += r;
	if (r < 0)
		die("read");
	return n;
}

/* The child's pid and its socket's port, told the parent through a pipe. */
struct told {
	int pid;
	unsigned short port;
};

static int wait_ok(pid_t p)
{
	int st;

	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int life(size_t c, size_t sv, int abort_it, unsigned short port)
{
	int l = listener(8, &port), p[2];
	pid_t worker, client;
	struct told t;

	if (pipe(p))
		die("pipe");
	worker = fork();
	if (worker < 0)
		die("fork");
	if (!worker) {
		int a = accept(l, NULL, NULL);

		if (a < 0)
			die("accept");
		close(l);
		if (abort_it) {
			/* Wait for the client's bytes, and close with them unread:
			 * tcp_close() resets the connection. */
			struct pollfd pf = { .fd = a, .events = POLLIN };

			if (poll(&pf, 1, 5000) != 1)
				die("poll");
			usleep(50000);
			close(a);
			_exit(0);
		}
		if (read_all(a) != c)
			_exit(3);
		send_all(a, sv);
		close(a);
		_exit(0);
	}
	client = fork();
	if (client < 0)
		die("fork");
	if (!client) {
		int s = connected(port);

		close(l);
		t.pid = getpid();
		t.port = port_of(s);
		if (write(p[1], &t, sizeof(t)) != sizeof(t))
			die("pipe write");
		/* A lifetime the test can bound from below. */
		usleep(100000);
		send_all(s, c);
		if (abort_it) {
			char b;

			/* The worker's reset ends the read. */
			if (read(s, &b, 1) >= 0 || errno != ECONNRESET)
				_exit(4);
			close(s);
			_exit(0);
		}
		shutdown(s, SHUT_WR);
		if (read_all(s) != sv)
			_exit(3);
		close(s);
		_exit(0);
	}
	if (read(p[0], &t, sizeof(t)) != sizeof(t))
		die("pipe read");
	if (!wait_ok(worker) || !wait_ok(client)) {
		fprintf(stderr, "tcp: a child failed\n");
		return 1;
	}
	close(l);
	if (!abort_it)
		printf("listener %d %u\n", getpid(), port);
	printf("worker %d\nclient %d %u\n", worker, t.pid, t.port);
	return 0;
}

static int refused(void)
{
	unsigned short port = 0;
	int l = listener(1, &port), s;
	struct sockaddr_in a;

	/* A port just freed: nothing listens on it now. */
	close(l);
	a = loopback(port);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (!connect(s, (struct sockaddr *)&a, sizeof(a)) || errno != ECONNREFUSED) {
		fprintf(stderr, "tcp: connect to a closed port did not fail with ECONNREFUSED\n");
		return 1;
	}
	printf("client %d %u\n", getpid(), port);
	return 0;
}

static int retrans(void)
{
	unsigned short port = 0;
	int l = listener(0, &port), first = connected(port), s;
	struct sockaddr_in a = loopback(port);
	struct pollfd pf;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || fcntl(s, F_SETFL, O_NONBLOCK))
		die("socket");
	if (!connect(s, (struct sockaddr *)&a, sizeof(a)) || errno != EINPROGRESS)
		die("connect");
	/* The SYN is sent again after the initial RTO (1 s, TCP_TIMEOUT_INIT),
	 * then 2 s later: the wait sees the first again only. */
	pf.fd = s;
	pf.events = POLLOUT;
	if (poll(&pf, 1, 1600) != 0) {
		fprintf(stderr, "tcp: the connect to a full listener was answered\n");
		return 1;
	}
	printf("client %d %u\n", getpid(), port);
	close(s);
	close(first);
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "life"))
		return life(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10), 0,
			    argc == 5 ? atoi(argv[4]) : 0);
	if (argc == 2 && !strcmp(argv[1], "refused"))
		return refused();
	if (argc == 2 && !strcmp(argv[1], "retrans"))
		return retrans();
	if (argc == 2 && !strcmp(argv[1], "abort"))
		return life(10, 0, 1, 0);
	fprintf(stderr, "usage: tcp life C S | refused | retrans | abort\n");
	return 2;
}
