// SPDX-License-Identifier: MIT
/*
 * Distinct ids for the credential columns (tests/osquery_kernel.rs). Run
 * as root:
 *
 *   ids PATH PROG ARG...   real/effective/saved gids 2001/2002/2003 and
 *                          fsgid 2004, no supplementary groups, real/
 *                          effective/saved uids 1001/1002/1003 and fsuid
 *                          1001; then open(PATH) (a file_events row; it
 *                          need not exist) and exec PROG.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ids PATH PROG ARG...\n");
		return 2;
	}
	/* setfsgid() and setfsuid() return the old id: read back to check. */
	if (setresgid(2001, 2002, 2003) || (setfsgid(2004), setfsgid(-1) != 2004) ||
	    setgroups(0, NULL) || setresuid(1001, 1002, 1003) ||
	    (setfsuid(1001), setfsuid(-1) != 1001)) {
		perror("ids");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd >= 0)
		close(fd);
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
