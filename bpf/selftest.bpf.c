// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A test-only object (src/kernel/selftest.rs, run as root).
 *
 * The row header: one program, run through BPF_PROG_TEST_RUN in the
 * test's own thread, that fills the row header three ways into .bss for
 * the test to compare with what the test process knows of itself and of
 * its parent: fill_header() for the current task, fill_header_of() for
 * the current task, and fill_header_of() for its parent (another task
 * than the current one). Userspace sets cfg.capture (EBQ_CAP_NSPID |
 * EBQ_CAP_CREDS) before load, so every field is filled.
 *
 * The attach kinds no catalog table uses yet (model/probe.rs's Attach),
 * attached by the tests through kernel::load::attach: a uprobe and a
 * uretprobe, a cgroup_skb egress and a cgroup connect4 program, and a
 * perf_event program. Each counts its hits into .bss and keeps what the
 * test can check of the last one (the attachment's cookie, the process,
 * the argument or return value, the address, the sample period).
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

/* What a uprobe or uretprobe saw: its hits and the last one's cookie,
 * process (tgid) and value (the argument at entry, the return value at
 * return). */
struct selftest_uprobe {
	u64 hits;
	u64 cookie;
	u64 pid;
	u64 value;
};

struct selftest_uprobe uprobe_seen = {};
struct selftest_uprobe uretprobe_seen = {};

static __always_inline void uprobe_hit(struct selftest_uprobe *seen, void *ctx, u64 value)
{
	__sync_fetch_and_add(&seen->hits, 1);
	/* Cut by the configuration where the kernel has no cookies (5.15),
	 * as ebq's own programs are (src/kernel/variants.rs). */
	if (!(CFG.variants & EBQ_V_NO_COOKIES))
		seen->cookie = bpf_get_attach_cookie(ctx);
	seen->pid = bpf_get_current_pid_tgid() >> 32;
	seen->value = value;
}

SEC("uprobe")
int BPF_UPROBE(uprobe_selftest, u64 x)
{
	uprobe_hit(&uprobe_seen, ctx, x);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_selftest, u64 ret)
{
	uprobe_hit(&uretprobe_seen, ctx, ret);
	return 0;
}

/* cgroup_skb egress: packets and their bytes (IP header on). */
u64 egress_packets = 0;
u64 egress_bytes = 0;

SEC("cgroup_skb/egress")
int egress_selftest(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&egress_packets, 1);
	__sync_fetch_and_add(&egress_bytes, skb->len);
	return 1; /* let it through */
}

/* cgroup connect4: connect() calls and the last one's address, in host
 * byte order. */
u64 connect4_calls = 0;
u32 connect4_ip4 = 0;
u32 connect4_port = 0;

SEC("cgroup/connect4")
int connect4_selftest(struct bpf_sock_addr *ctx)
{
	__sync_fetch_and_add(&connect4_calls, 1);
	connect4_ip4 = bpf_ntohl(ctx->user_ip4);
	connect4_port = bpf_ntohs(ctx->user_port);
	return 1; /* let it connect */
}

/* perf_event: samples, those of each of the first SELFTEST_CPUS CPUs, and
 * the last one's period and cookie. */
#define SELFTEST_CPUS 64
u64 perf_samples = 0;
u64 perf_samples_on[SELFTEST_CPUS] = {};
u64 perf_period = 0;
u64 perf_cookie = 0;

SEC("perf_event")
int perf_event_selftest(struct bpf_perf_event_data *ctx)
{
	u32 cpu = bpf_get_smp_processor_id();

	__sync_fetch_and_add(&perf_samples, 1);
	if (cpu < SELFTEST_CPUS)
		__sync_fetch_and_add(&perf_samples_on[cpu], 1);
	perf_period = ctx->sample_period;
	if (!(CFG.variants & EBQ_V_NO_COOKIES))
		perf_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}
