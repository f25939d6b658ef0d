/* ebq-build: -O0 */
/*
 * usdt_events' fixture of a probe gated by a semaphore (tests/func_tables.rs),
 * as Python's and Node's are: the program fires it only while its semaphore
 * says a tracer is attached (the kernel counts them there: the uprobe's
 * ref_ctr_offset). Its own file: sys/sdt.h gives every probe of a file a
 * semaphore, or none.
 *
 *   usdt_gated N MARK   N times, 10 ms apart: ebq_test:gated(i, MARK) when
 *                       the semaphore is up; then prints "fired K sem S"
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>

__extension__ unsigned short ebq_test_gated_semaphore __attribute__((unused))
__attribute__((section(".probes")));

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 3, fired = 0;
	const char *mark = argc > 2 ? argv[2] : "ebq";
	struct timespec t = { 0, 10 * 1000000L };

	for (long i = 0; i < n; i++) {
		if (ebq_test_gated_semaphore) {
			DTRACE_PROBE2(ebq_test, gated, i, mark);
			fired++;
		}
		nanosleep(&t, NULL);
	}
	printf("fired %ld sem %u\n", fired, ebq_test_gated_semaphore);
	return 0;
}
