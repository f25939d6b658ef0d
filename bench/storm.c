/*
 * Workloads for bench/run, each a tight loop of one kind of syscall so that
 * a tracer's cost per event shows as the loop's slowdown.
 *   storm getppid N     N getppid() calls
 *   storm open PATH N   N openat()+close() of PATH
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	fprintf(stderr, "usage: storm getppid N | storm open PATH N\n");
	return 2;
}
