/* ebq-build: -O0 */
/*
 * usdt_events' fixture (tests/func_tables.rs): static probes of sys/sdt.h
 * (Debian's systemtap-sdt-dev), fired a known number of times.
 *
 *   usdt N MARK   N times: ebq_test:tick(i, MARK); then ebq_test:done(N)
 */
#include <stdlib.h>
#include <sys/sdt.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 3;
	const char *mark = argc > 2 ? argv[2] : "ebq";

	for (long i = 0; i < n; i++)
		DTRACE_PROBE2(ebq_test, tick, i, mark);
	DTRACE_PROBE1(ebq_test, done, n);
	return 0;
}
