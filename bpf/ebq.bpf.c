// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The one BPF object of ebq: every table's programs, sharing one ring
 * buffer, one set of filter maps and one load-time configuration. A query
 * loads only the programs its plan names (set_autoload), so an object with
 * every table costs a query no more verifier time than its own programs.
 * Each table owns two files: bpf/<table>.h, its kernel <-> user ABI (its
 * event, flags, its own filter columns and counters), and
 * bpf/<table>.bpf.h, its programs and the BTF pins of its ABI types.
 * Registering a table is one #include below.
 */
#include "common.bpf.h"
#include "follow.bpf.h"
#include "cgroup.bpf.h"
#include "process.bpf.h"
#include "exit.bpf.h"
#include "signal.bpf.h"
#include "socket.bpf.h"
#include "file.bpf.h"
#include "module.bpf.h"
#include "syscall.bpf.h"
#include "dns.bpf.h"
#include "func.bpf.h"
#include "block.bpf.h"
#include "oom.bpf.h"
#include "sched.bpf.h"
#include "tcp.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Pins the ABI types into BTF so libbpf-cargo generates their Rust twins. */
enum ebq_walk_flags _ebq_walk_flags = EBQ_WALK_CUT;
struct ebq_agg_key _ebq_agg_key = {};
struct ebq_agg_val _ebq_agg_val = {};
enum ebq_agg_keys _ebq_agg_keys = EBQ_AGG_PID;
enum ebq_agg_measure _ebq_agg_measure = EBQ_MEASURE_NONE;
enum ebq_agg_hist _ebq_agg_hist = EBQ_HIST_NONE;
struct ebq_int_key _ebq_int_key = {};
struct ebq_comm_key _ebq_comm_key = {};
struct ebq_prefix_key _ebq_prefix_key = {};
struct ebq_filter_config _ebq_filter_config = {};
enum ebq_capture _ebq_capture = EBQ_CAP_NSPID;
enum ebq_filter_col _ebq_filter_col = EBQ_COL_PID;
enum ebq_filter_mode _ebq_filter_mode = EBQ_F_RANGE;
enum ebq_quick _ebq_quick = EBQ_QUICK_NONE;
enum ebq_variant _ebq_variant = EBQ_V_INFLIGHT_HASH;
enum ebq_set_kind _ebq_set_kind = EBQ_SET_IN;
enum ebq_stat _ebq_stat = EBQ_STAT_LOST;
struct ebq_cgroup_event _ebq_cgroup_event = {};
enum ebq_cgroup_kind _ebq_cgroup_kind = EBQ_KIND_CGROUP;
struct ebq_cgroup_key _ebq_cgroup_key = {};
enum ebq_cgroup_op _ebq_cgroup_op = EBQ_CGROUP_MKDIR;
enum ebq_cgroup_flags _ebq_cgroup_flags = EBQ_CGROUP_CUT;
enum ebq_cgroup_filter _ebq_cgroup_filter = EBQ_CGF_OFF;
enum ebq_cgroup_verdict _ebq_cgroup_verdict = EBQ_CGV_KEEP;
enum ebq_cgroup_stat _ebq_cgroup_stat = EBQ_STAT_SENT_CGROUP;
