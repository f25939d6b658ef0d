/*
 * sched_events' sleeper: blocks reading a byte from stdin (one wakeup,
 * when the test writes it), then sleeps N times for USEC microseconds
 * (N wakeups), then exits.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10, us = argc > 2 ? atol(argv[2]) : 1000;
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	char c;

	if (read(0, &c, 1) != 1)
		return 2;
	for (long i = 0; i < n; i++)
		nanosleep(&ts, NULL);
	return 0;
}
