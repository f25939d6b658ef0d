/*
 * oom_events' victims: waits for a byte on stdin (so the test can put it
 * into a memory-limited cgroup first), then allocates and touches memory
 * 1 MiB at a time: `hog N` N MiB, then waits to be killed; `hog` until
 * the OOM killer ends it (4 GiB at most).
 */
#include <stdlib.h>
#include <unistd.h>

/* Kept, and touched through volatile: a compiler may drop an allocation
 * nothing reads. */
static char *volatile kept[4096];

int main(int argc, char **argv)
{
	int mib = argc > 1 ? atoi(argv[1]) : 4096;
	char c;

	if (read(0, &c, 1) != 1)
		return 2;
	for (int i = 0; i < mib; i++) {
		volatile char *p = malloc(1 << 20);

		if (!p)
			return 3;
		for (int j = 0; j < 1 << 20; j += 4096)
			p[j] = (char)(i + 1);
		kept[i % 4096] = (char *)p;
	}
	if (argc > 1) {
		/* Said once all of it is touched: the test starts the trigger. */
		if (write(1, "x", 1) != 1)
			return 4;
		for (;;)
			pause();
	}
	return 1;
}
