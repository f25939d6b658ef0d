/* SPDX-License-Identifier: GPL-2.0 OR MIT */
#ifndef __EBQ_STEPS_BPF_H__
#define __EBQ_STEPS_BPF_H__

/*
 * Loops over what the verifier cannot bound for itself (a path's depth,
 * argv, the environment, a task's pending works) call one step at a time
 * and stop when it returns nonzero. Two ways, one source:
 *
 * - bpf_loop() (Linux 5.17, e6f2dd0f8067), in ebq.bpf.o: the step is its
 *   callback, verified once.
 * - EBQ_COMPAT, in ebq_compat.bpf.o, the same source built for kernels
 *   without it (src/kernel/variants.rs picks the object). There a program
 *   must not even name bpf_loop: its callback is a BPF_PSEUDO_FUNC
 *   ld_imm64, which older verifiers reject while scanning the program,
 *   before any branch is cut (resolve_pseudo_ldimm64(), kernel/bpf/
 *   verifier.c). EBQ_DEFINE_STEPS() makes a global function that runs
 *   `inner` steps in a bounded loop (bounded loops: 5.3, 2589726d12a1),
 *   verified once on its own as every global function is (5.6,
 *   51c39bb1d5d1), and EBQ_STEPS() calls it in a bounded loop of its
 *   own: two levels, so neither loop is longer than the verifier's
 *   patience (it walks a bounded loop's every iteration, and keeps a
 *   pending state per iteration: at most 8192, BPF_COMPLEXITY_LIMIT_JMP_SEQ).
 *   Global functions there take scalars only (pointers came in 5.12,
 *   e5069b9c23b3), so the step's context is rebuilt inside from per-CPU
 *   maps, which is where every loop's state lives anyway.
 *
 * Both run the same steps with the same bounds: a table reports the same
 * on either.
 */
#ifndef EBQ_COMPAT
#define EBQ_STEPS(n, step, ctx, inner, steps_fn) bpf_loop(n, step, ctx, 0)
#define EBQ_DEFINE_STEPS(steps_fn, step, inner, ...)
/* A global function: verified once per program, not once per caller. */
#define EBQ_GLOBAL __noinline
#else
#define EBQ_STEPS(n, step, ctx, inner, steps_fn)                                       \
	do {                                                                           \
		_Static_assert((n) % (inner) == 0, "whole rounds of steps");          \
		(void)(ctx); /* rebuilt inside steps_fn */                             \
		_Pragma("clang loop unroll(disable)")                                  \
		for (__u32 __round = 0; __round < (n) / (inner); __round++)            \
			/* likely: the stop is the fallthrough the verifier walks      \
			 * first, so the rounds' pending states do not pile up */    \
			if (__builtin_expect(steps_fn(__round * (inner)), 1))          \
				break;                                                 \
	} while (0)
/*
 * steps_fn(base): steps base .. base + inner - 1 of `step`, with the
 * context the statements after `inner` build in `ctx` (returning 1, a
 * stop, when they cannot); 1 when a step stopped the loop.
 */
#define EBQ_DEFINE_STEPS(steps_fn, step, inner, ...)                                   \
	__noinline int steps_fn(__u32 base)                                            \
	{                                                                              \
		__VA_ARGS__;                                                           \
		_Pragma("clang loop unroll(disable)")                                  \
		for (__u32 __j = 0; __j < (inner); __j++)                              \
			if (step(base + __j, ctx))                                     \
				return 1;                                              \
		return 0;                                                      \
	}
/* 5.10's global functions take no pointers: a static subprogram, verified
 * at each call. */
#define EBQ_GLOBAL static __noinline
#endif

#endif /* __EBQ_STEPS_BPF_H__ */
