/* ebq-build: -O0 -shared -fPIC */
/* A shared library of function_events' fixture: loaded at start
 * (LD_PRELOAD) or by dlopen (tests/helpers/funcs.c). */
__attribute__((noinline, used)) long lib_fx(long x) { return 3 * x + 1; }
