/*
 * Workloads for bench/run, each a tight loop of one kind of event, so a
 * tracer's cost per event shows as the loop's slowdown.
 *   storm getppid N        N getppid() calls
 *   storm open PATH N      N openat()+close() of PATH
 *   storm exec N           N fork()+execve("/bin/true")+wait()
 *   storm connect N        N TCP connect()+accept()+close() on 127.0.0.1
 *   storm udp PORT N       N 64-byte UDP datagrams sent to 127.0.0.1:PORT
 *                          and received there (PORT 53: a DNS query each,
 *                          for a DNS query storm)
 *   storm call N           N calls of ebq_bench_fn (function_events)
 *   storm callbuf N        N calls of ebq_bench_buf(64 bytes, 64): buf()
 *   storm dio DEV N        N direct (O_DIRECT) 4 KiB reads of block device
 *                          DEV, over its first 1 MiB (block_io_events)
 *   storm pingpong N       N round trips of a byte between two processes
 *                          through two pipes: two wakeups and at least two
 *                          context switches each (sched_events)
 *   storm every USEC PROG  fork()+execve(PROG) every USEC microseconds,
 *                          until killed (start-up's marker)
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int storm_connect(long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, 128) ||
	    getsockname(l, (void *)&a, &len)) {
		perror("listen");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s;
		struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile-up */

		if (connect(c, (void *)&a, sizeof(a))) {
			perror("connect");
			return 1;
		}
		s = accept(l, NULL, NULL);
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s);
		close(c);
	}
	return 0;
}

/* A DNS query for storm.ebq.test, type A (RFC 1035 4.1). */
static const unsigned char dns_query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	5, 's', 't', 'o', 'r', 'm', 3, 'e', 'b', 'q', 4, 't', 'e', 's', 't', 0,
	0x00, 0x01, 0x00, 0x01,
};

static int storm_udp(int port, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int r = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned char buf[64] = { 0 };

	if (r < 0 || t < 0 || bind(r, (void *)&a, sizeof(a))) {
		perror("udp bind");
		return 1;
	}
	memcpy(buf, dns_query, sizeof(dns_query));
	for (long i = 0; i < n; i++) {
		if (sendto(t, buf, sizeof(buf), 0, (void *)&a, sizeof(a)) != sizeof(buf) ||
		    recv(r, buf, sizeof(buf), 0) < 0) {
			perror("udp");
			return 1;
		}
	}
	return 0;
}

/* The uprobe workload's function (function_events): a call the
 * compiler must make, and whose file offset bench/run looks up. */
__attribute__((noinline, used)) long ebq_bench_fn(long x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

/* buf()'s workload: a function given a buffer and its length. */
__attribute__((noinline, used)) long ebq_bench_buf(const char *p, long n)
{
	__asm__ volatile("" : "+r"(p), "+r"(n));
	return n;
}

/* 500 more, for the attach time of a LIKE that expands to 500 functions:
 * ebq_bench_many_000 .. ebq_bench_many_499. */
#define MANY1(n) __attribute__((noinline, used)) long ebq_bench_many_##n(long x) { return x + 0x##n; }
#define MANY10(n) MANY1(n##0) MANY1(n##1) MANY1(n##2) MANY1(n##3) MANY1(n##4) \
	MANY1(n##5) MANY1(n##6) MANY1(n##7) MANY1(n##8) MANY1(n##9)
#define MANY100(n) MANY10(n##0) MANY10(n##1) MANY10(n##2) MANY10(n##3) MANY10(n##4) \
	MANY10(n##5) MANY10(n##6) MANY10(n##7) MANY10(n##8) MANY10(n##9)
MANY100(0) MANY100(1) MANY100(2) MANY100(3) MANY100(4)

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "call")) {
		long n = atol(argv[2]), s = 0;
		for (long i = 0; i < n; i++)
			s += ebq_bench_fn(i);
		return s == 42;
	}
	if (argc == 3 && !strcmp(argv[1], "callbuf")) {
		long n = atol(argv[2]), s = 0;
		char buf[64];

		memset(buf, 'e', sizeof(buf));
		for (long i = 0; i < n; i++) {
			buf[0] = (char)('a' + i % 26);
			s += ebq_bench_buf(buf, sizeof(buf));
		}
		return s == 42;
	}
	if (argc == 3 && !strcmp(argv[1], "getppid")) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "open")) {
		long n = atol(argv[3]);
		for (long i = 0; i < n; i++) {
			int fd = open(argv[2], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "exec")) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			waitpid(p, NULL, 0);
		}
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "dio")) {
		long n = atol(argv[3]);
		int fd = open(argv[2], O_RDONLY | O_DIRECT);
		void *buf;

		if (fd < 0 || posix_memalign(&buf, 4096, 4096))
			return 1;
		for (long i = 0; i < n; i++)
			if (pread(fd, buf, 4096, (i % 256) * 4096) != 4096)
				return 1;
		close(fd);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "pingpong")) {
		long n = atol(argv[2]);
		int ab[2], ba[2];
		char c = 'x';
		pid_t p;

		if (pipe(ab) || pipe(ba))
			return 1;
		p = fork();
		if (p == 0) {
			for (long i = 0; i < n; i++)
				if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
					_exit(1);
			_exit(0);
		}
		for (long i = 0; i < n; i++)
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				return 1;
		waitpid(p, NULL, 0);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "udp"))
		return storm_udp(atoi(argv[2]), atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "connect"))
		return storm_connect(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "every")) {
		long us = atol(argv[2]);
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

		for (;;) {
			pid_t p = fork();
			if (p == 0) {
				execl(argv[3], argv[3], (char *)NULL);
				_exit(127);
			}
			waitpid(p, NULL, 0);
			nanosleep(&ts, NULL);
		}
	}
	fprintf(stderr, "usage: storm getppid N | open PATH N | exec N | connect N | udp PORT N | call N | callbuf N | dio DEV N | pingpong N | every USEC PROG\n");
	return 2;
}
