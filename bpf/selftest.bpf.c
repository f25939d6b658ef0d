// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A test-only object (src/kernel/selftest.rs, run as root): one program,
 * run through BPF_PROG_TEST_RUN in the test's own thread, that fills the
 * row header three ways into .bss for the test to compare with what the
 * test process knows of itself and of its parent: fill_header() for the
 * current task, fill_header_of() for the current task, and
 * fill_header_of() for its parent (another task than the current one).
 * Userspace sets cfg.capture (EBQ_CAP_NSPID | EBQ_CAP_CREDS) before load,
 * so every field is filled.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Pins enum ebq_capture into BTF: the skeleton's Rust twin sets cfg. */
enum ebq_capture _ebq_capture = EBQ_CAP_NSPID;

struct ebq_header hdr_current = {};
struct ebq_header hdr_of_current = {};
struct ebq_header hdr_of_parent = {};

SEC("raw_tp")
int header_selftest(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	fill_header(&hdr_current, task);
	fill_header_of(&hdr_of_current, task);
	fill_header_of(&hdr_of_parent, BPF_CORE_READ(task, real_parent));
	return 0;
}
