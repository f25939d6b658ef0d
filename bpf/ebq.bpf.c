// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The one BPF object of ebq: every table's programs, sharing one ring
 * buffer, one set of filter maps and one load-time configuration. A query
 * loads only the programs its plan names (set_autoload), so an object with
 * every table costs a query no more verifier time than its own programs.
 * Each table's programs live in <table>.bpf.h.
 */
#include "common.bpf.h"
#include "process.bpf.h"
#include "exit.bpf.h"
#include "signal.bpf.h"
#include "socket.bpf.h"
#include "file.bpf.h"
#include "module.bpf.h"
#include "syscall.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Pins the ABI types into BTF so libbpf-cargo generates their Rust twins. */
struct ebq_exec_event _ebq_exec_event = {};
struct ebq_exit_event _ebq_exit_event = {};
struct ebq_signal_event _ebq_signal_event = {};
struct ebq_socket_event _ebq_socket_event = {};
enum ebq_socket_action _ebq_socket_action = EBQ_SOCK_CONNECT;
enum ebq_socket_flags _ebq_socket_flags = EBQ_SOCK_HAS_LOCAL;
struct ebq_file_event _ebq_file_event = {};
enum ebq_file_action _ebq_file_action = EBQ_FILE_OPEN;
enum ebq_file_flags _ebq_file_flags = EBQ_FILE_HAS_DEST;
enum ebq_file_sys _ebq_file_sys = EBQ_FS_OPEN;
enum ebq_walk_flags _ebq_walk_flags = EBQ_WALK_CUT;
struct ebq_module_event _ebq_module_event = {};
enum ebq_module_action _ebq_module_action = EBQ_MOD_LOAD;
enum ebq_module_flags _ebq_module_flags = EBQ_MOD_HAS_NAME;
struct ebq_syscall_event _ebq_syscall_event = {};
enum ebq_syscall_flags _ebq_syscall_flags = EBQ_SYSCALL_HAS_EXIT;
struct ebq_agg_key _ebq_agg_key = {};
struct ebq_agg_val _ebq_agg_val = {};
enum ebq_agg_keys _ebq_agg_keys = EBQ_AGG_PID;
enum ebq_agg_measure _ebq_agg_measure = EBQ_MEASURE_NONE;
enum ebq_agg_hist _ebq_agg_hist = EBQ_HIST_NONE;
struct ebq_int_key _ebq_int_key = {};
struct ebq_comm_key _ebq_comm_key = {};
struct ebq_prefix_key _ebq_prefix_key = {};
struct ebq_filter_config _ebq_filter_config = {};
enum ebq_event_kind _ebq_event_kind = EBQ_EV_EXEC;
enum ebq_exec_syscall _ebq_exec_syscall = EBQ_SYS_NONE;
enum ebq_exec_flags _ebq_exec_flags = EBQ_TRUNC_ARGS;
enum ebq_capture _ebq_capture = EBQ_CAP_PATH;
enum ebq_filter_col _ebq_filter_col = EBQ_COL_PID;
enum ebq_filter_mode _ebq_filter_mode = EBQ_F_RANGE;
enum ebq_quick _ebq_quick = EBQ_QUICK_NONE;
enum ebq_set_kind _ebq_set_kind = EBQ_SET_IN;
enum ebq_stat _ebq_stat = EBQ_STAT_LOST;
