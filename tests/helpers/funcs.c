/* ebq-build: -O0 -pthread -ldl */
/*
 * function_events' fixture (tests/functions.rs): functions with known
 * arguments, return values, strings and durations, and recursion. Built
 * again with other flags by the funcs_*.c files (no PIE, stripped with
 * exports, static, a fake Go binary), which include this one.
 *
 *   funcs calls N MARK [DELAY_MS]  after DELAY_MS, N times: fx_add(i, 1000),
 *                                  fx_greet(MARK), fx_name(i), fx_fact(4);
 *                                  then fx_sleep(20)
 *   funcs threads T MS             T threads at once, thread k: fx_sleep(MS * (k + 1))
 *   funcs dlopen LIB N [DELAY_MS]  after DELAY_MS, dlopen(LIB) and call its
 *                                  lib_fx(i) N times
 *   funcs preloaded N              lib_fx(i) N times, from a library loaded
 *                                  at start (LD_PRELOAD)
 *   funcs loop N                   fx_add N times (bench/run)
 *   funcs bufs MARK                fx_send(MARK "\0\1\377", strlen(MARK) + 3);
 *                                  fx_fill(out, 64): out is "filled:MARK",
 *                                  its length returned; fx_send(NULL, 5);
 *                                  fx_send(10000 bytes of 'z', 10000)
 *   funcs_go goabi                 main.goAdd(7, 35, 9, 1, 2, 3) in Go's register
 *                                  ABI, then fx_add(0, 1000) in C's (x86-64)
 *   funcs jump                     fx_jumper(1) leaves by longjmp; then
 *                                  fx_jumper(7), fx_jumper(1), fx_jumper(8)
 *                                  return 10 x their argument
 */
#ifndef FUNCS_STATIC
#include <dlfcn.h>
#endif
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Built -O0 (line 1): every call stays a call, the recursion recursive. */
#define FX __attribute__((noinline, used))

#ifdef FAKE_GO
/* What makes a binary Go's to ebq (kernel/elf.rs): this section. */
__attribute__((section(".go.buildinfo"), used)) const char go_buildinfo[] = "\xff Go buildinf:";
#if defined(__x86_64__)
/* A function as Go 1.17+ builds one (ABIInternal): a package-qualified
 * name, its integer arguments in rax, rbx, rcx, rdi, rsi, r8, its result
 * in rax (https://go.dev/s/regabi). It returns their sum. */
__asm__(".text\n"
	".globl main.goAdd\n"
	".type main.goAdd, @function\n"
	"main.goAdd:\n"
	"	lea (%rax, %rbx, 1), %rax\n"
	"	add %rcx, %rax\n"
	"	add %rdi, %rax\n"
	"	add %rsi, %rax\n"
	"	add %r8, %rax\n"
	"	ret\n"
	".size main.goAdd, . - main.goAdd\n");

/* main.goAdd(7, 35, 9, 1, 2, 3), called as Go calls it. */
static long go_add_call(void)
{
	long r;

	__asm__ volatile("mov $7, %%rax\n\t"
			 "mov $35, %%rbx\n\t"
			 "mov $9, %%rcx\n\t"
			 "mov $1, %%rdi\n\t"
			 "mov $2, %%rsi\n\t"
			 "mov $3, %%r8\n\t"
			 "call main.goAdd"
			 : "=a"(r)
			 :
			 : "rbx", "rcx", "rdi", "rsi", "r8", "memory", "cc");
	return r;
}
#endif
#endif

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t))
		;
}

FX long fx_add(long a, long b) { return a + b; }
FX int fx_greet(const char *who) { return (int)strlen(who); }
FX const char *fx_name(int i) { return i % 2 ? "ebq-odd" : "ebq-even"; }
FX void fx_sleep(long ms) { pause_ms(ms); }
FX long fx_fact(long n) { return n <= 1 ? 1 : n * fx_fact(n - 1); }

/* Byte buffers, for buf(argN, len): one read at entry, one filled. */
FX long fx_send(const void *buf, long len) { return buf ? len : -1; }
FX long fx_fill(char *out, long cap)
{
	return snprintf(out, (size_t)cap, "filled:%s", getenv("FX_MARK") ? getenv("FX_MARK") : "");
}

static jmp_buf jump_back;

/* Returns 10 x, or leaves by longjmp: its return is never seen. */
FX long fx_jumper(long x, int leave)
{
	if (leave)
		longjmp(jump_back, 1);
	return 10 * x;
}

static void *sleeper(void *arg)
{
	fx_sleep((long)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "calls";
	long n = argc > 2 ? atol(argv[2]) : 3;

	if (!strcmp(mode, "calls")) {
		const char *mark = argc > 3 ? argv[3] : "ebq";

		if (argc > 4)
			pause_ms(atol(argv[4]));
		for (long i = 0; i < n; i++) {
			fx_add(i, 1000);
			fx_greet(mark);
			fx_name((int)i);
			fx_fact(4);
		}
		fx_sleep(20);
	} else if (!strcmp(mode, "threads")) {
		long ms = argc > 3 ? atol(argv[3]) : 50;
		pthread_t t[64];

		if (n > 64)
			n = 64;
		for (long k = 0; k < n; k++)
			pthread_create(&t[k], NULL, sleeper, (void *)(ms * (k + 1)));
		for (long k = 0; k < n; k++)
			pthread_join(t[k], NULL);
#ifndef FUNCS_STATIC
	} else if (!strcmp(mode, "dlopen") || !strcmp(mode, "preloaded")) {
		long (*lib_fx)(long);
		void *h = RTLD_DEFAULT;

		if (!strcmp(mode, "dlopen")) {
			long count = argc > 3 ? atol(argv[3]) : 3;

			if (argc > 4)
				pause_ms(atol(argv[4]));
			h = dlopen(argv[2], RTLD_NOW);
			if (!h) {
				fprintf(stderr, "funcs: %s\n", dlerror());
				return 1;
			}
			n = count;
		}
		lib_fx = (long (*)(long))dlsym(h, "lib_fx");
		if (!lib_fx) {
			fprintf(stderr, "funcs: no lib_fx\n");
			return 1;
		}
		for (long i = 0; i < n; i++)
			lib_fx(i);
#endif
	} else if (!strcmp(mode, "bufs")) {
		const char *mark = argc > 2 ? argv[2] : "ebq";
		char msg[256], out[64];
		static char big[10000];
		size_t m = strlen(mark) < 200 ? strlen(mark) : 200;

		memcpy(msg, mark, m);
		memcpy(msg + m, "\0\1\377", 3);
		fx_send(msg, (long)m + 3);
		setenv("FX_MARK", mark, 1);
		memset(out, 0, sizeof(out));
		fx_fill(out, sizeof(out));
		fx_send(NULL, 5);
		memset(big, 'z', sizeof(big));
		fx_send(big, sizeof(big));
#if defined(FAKE_GO) && defined(__x86_64__)
	} else if (!strcmp(mode, "goabi")) {
		if (go_add_call() != 57)
			return 3;
		fx_add(0, 1000);
#endif
	} else if (!strcmp(mode, "jump")) {
		if (!setjmp(jump_back))
			fx_jumper(1, 1);
		fx_jumper(7, 0);
		fx_jumper(1, 0);
		fx_jumper(8, 0);
	} else if (!strcmp(mode, "loop")) {
		for (long i = 0; i < n; i++)
			fx_add(i, 1);
	} else {
		fprintf(stderr, "funcs: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
