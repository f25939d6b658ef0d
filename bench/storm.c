/*
 * Workloads for bench/run, each a tight loop of one kind of event, so a
 * tracer's cost per event shows as the loop's slowdown.
 *   storm getppid N        N getppid() calls
 *   storm open PATH N      N openat()+close() of PATH
 *   storm exec N           N fork()+execve("/bin/true")+wait()
 *   storm connect N        N TCP connect()+accept()+close() on 127.0.0.1
 *   storm every USEC PROG  fork()+execve(PROG) every USEC microseconds,
 *                          until killed (start-up's marker)
 */
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

int main(int argc, char **argv)
{
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
	fprintf(stderr, "usage: storm getppid N | open PATH N | exec N | connect N | every USEC PROG\n");
	return 2;
}
