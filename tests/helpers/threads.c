// SPDX-License-Identifier: MIT
/*
 * A process whose threads do what a traced tree must survive, for the
 * -c / -p tests (tests/kernel.rs). Each mode first waits for a byte (or
 * EOF) on stdin, in the thread that acts, so a test can hold it until ebq
 * is attached.
 *
 *   threads thread-exec PROG ARG...  a thread other than the main one
 *                                    execs PROG (as Go programs do)
 *   threads leader-exit PROG ARG...  the main thread leaves with
 *                                    pthread_exit(); another one then
 *                                    runs PROG as a child, waits for it
 *                                    and ends the process with status 3
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char **prog;

static void wait_for_go(void)
{
	char c;

	(void)!read(0, &c, 1);
}

static void *exec_it(void *arg)
{
	(void)arg;
	wait_for_go();
	execv(prog[0], prog);
	perror("execv");
	exit(127);
}

static void *run_it(void *arg)
{
	pid_t child;
	int status;

	(void)arg;
	wait_for_go();
	/* The leader is gone by now: the process is this thread alone. */
	usleep(100 * 1000);
	child = fork();
	if (child == 0) {
		execv(prog[0], prog);
		_exit(127);
	}
	waitpid(child, &status, 0);
	exit(3);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 3) {
		fprintf(stderr, "usage: threads thread-exec|leader-exit PROG ARG...\n");
		return 2;
	}
	prog = argv + 2;
	if (!strcmp(argv[1], "thread-exec")) {
		pthread_create(&t, NULL, exec_it, NULL);
		pause();
	} else if (!strcmp(argv[1], "leader-exit")) {
		pthread_create(&t, NULL, run_it, NULL);
		pthread_exit(NULL);
	}
	return 2;
}
