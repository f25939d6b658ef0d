//! The physical plan: the kernel side of a query as data. The logical plan
//! (plan/mod.rs) says which filters run where and which programs a query
//! needs; this turns it into exactly what the kernel is given: the image
//! of the object's load-time configuration (struct ebq_filter_config, the
//! rodata `cfg`), the contents of the filter maps, the map sizes and the
//! probes to load and attach. The loader (kernel/load.rs) only applies it,
//! and --explain prints its probes, so what is shown is what is loaded.
//!
//! Building it asks the machine nothing: the few run-time facts it needs
//! (ebq's own pid, the ring buffer size, --stats) come in `Options`.

use crate::abi::types::{
    ebq_capture, ebq_cgroup_filter, ebq_cgroup_key, ebq_comm_key, ebq_filter_config,
    ebq_filter_mode, ebq_int_key, ebq_prefix_key, ebq_set_kind,
};
use crate::model::hist::linear_len;
use crate::model::probe::Program;

use super::{AggPlace, KernelHist, Plan};

/// Wakeup batching window; the event loop's poll timeout picks up what a
/// window leaves waiting, so it must stay well below it.
pub const WAKE_NS: u64 = 5_000_000;

/// Groups the kernel's aggregation map holds.
pub const KERNEL_AGG_GROUPS: u32 = 10240;

/// Processes -c / -p can follow (the `followed` map).
pub const FOLLOWED_MAX: u32 = 65536;

/// Cgroups the kernel holds a verdict on (cgroup_verdicts): a host has
/// hundreds to thousands; one with more keeps the rest's events (no
/// verdict is keep).
pub const CGROUP_VERDICTS_MAX: u32 = 65536;

/// Bits of the syscall-number bitmap (EBQ_NR_MAX in bpf/ebq.h: checked
/// against the generated struct by kernel/load.rs's tests).
pub const EBQ_NR_MAX: u32 = 1024;

/// What a run knows that the plan does not.
pub struct Options {
    /// Ring buffer bytes: a power of two, a multiple of the page size.
    pub buffer_size: u32,
    /// Our own tgid, never reported.
    pub self_tgid: u32,
    /// Count what the kernel filters reject (--stats).
    pub count_filtered: bool,
    /// For a query that reads the row's cgroup: what the run resolved.
    pub cgroups: Option<Cgroups>,
    /// function_events: the functions found to probe (kernel/uprobes.rs),
    /// and whether this kernel links them per binary (uprobe_multi).
    pub functions: Option<std::sync::Arc<crate::model::functions::Resolved>>,
    pub uprobe_multi: bool,
}

/// The host's cgroups as the run resolved them (exec/containers.rs).
#[derive(Debug, Clone, Default)]
pub struct Cgroups {
    /// The v1 hierarchy the kernel reads a second id from (subsystem id,
    /// hierarchy id), on a hybrid or v1 host.
    pub v1: Option<(u32, u32)>,
    /// The query's container filters' verdict on each cgroup known now
    /// (enum ebq_cgroup_verdict).
    pub verdicts: Vec<(ebq_cgroup_key, u8)>,
    /// What --explain says of them: the hierarchies read, the cgroups kept.
    pub explain: Vec<String>,
}

impl Options {
    /// For --explain, which loads nothing: the plan's default buffer.
    pub fn explain(plan: &Plan) -> Options {
        Options {
            buffer_size: plan.default_buffer(),
            self_tgid: 0,
            count_filtered: false,
            cgroups: None,
            functions: None,
            uprobe_multi: false,
        }
    }
}

/// Entries of each map the query sizes (the rest are fixed in the object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSizes {
    /// The ring buffer, in bytes.
    pub events: u32,
    pub agg_map: u32,
    pub int_sets: u32,
    pub comm_sets: u32,
    pub path_prefixes: u32,
    pub followed: u32,
    pub cgroup_verdicts: u32,
    /// function_events' calls in flight (bpf/func.bpf.h), preallocated:
    /// full size only when entries are paired with returns.
    pub func_inflight: u32,
    /// libbpf's USDT argument specs (bpf/usdt.bpf.h), for usdt_events.
    pub usdt_specs: u32,
    /// block_io_events' I/O in flight (bpf/block.bpf.h), preallocated.
    pub block_inflight: u32,
    /// sched_events' tasks (bpf/sched.bpf.h), preallocated.
    pub sched_tasks: u32,
    /// tcp_events' sockets and listeners (bpf/tcp.bpf.h), preallocated.
    pub tcp_socks: u32,
    pub tcp_listeners: u32,
}

/// Calls in flight function_events pairs (EBQ_FUNC_INFLIGHT, bpf/func.h).
pub const FUNC_INFLIGHT: u32 = 65536;
/// Block I/O in flight block_io_events notes (bpf/block.h).
pub const BLOCK_INFLIGHT: u32 = crate::abi::types::ebq_block_limits::EBQ_BLOCK_INFLIGHT.0;
/// USDT argument specs libbpf may fill (BPF_USDT_MAX_SPEC_CNT's default).
pub const USDT_SPECS: u32 = 256;

/// Everything the kernel is given for one query.
pub struct KernelConfig {
    /// The table's name, for the loader's messages.
    pub table: &'static str,
    /// The object's load-time configuration, as written to its rodata.
    pub cfg: ebq_filter_config,
    /// Members of the IN and NOT IN sets of integer columns (int_sets).
    pub int_sets: Vec<ebq_int_key>,
    /// Members of the comm sets (comm_sets).
    pub comm_sets: Vec<ebq_comm_key>,
    /// The path prefixes (the path_prefixes LPM trie).
    pub path_prefixes: Vec<ebq_prefix_key>,
    pub maps: MapSizes,
    /// The first cgroup verdicts (cgroup_verdicts), before anything attaches.
    pub cgroup_verdicts: Vec<(ebq_cgroup_key, u8)>,
    /// The probes to load and attach, in plan order.
    pub programs: Vec<Program>,
}

/// A comm as the kernel holds it: at most 15 bytes, NUL-padded to 16.
fn comm_bytes(comm: &str) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(comm.bytes().take(15)) {
        *d = s;
    }
    b
}

fn comm_key(kind: ebq_set_kind, comm: &str) -> ebq_comm_key {
    ebq_comm_key {
        kind: kind.0,
        comm: comm_bytes(comm).map(|c| c as i8),
    }
}

/// The kernel side of `plan`.
pub fn build(plan: &Plan, opts: &Options) -> KernelConfig {
    let k = &plan.kernel;
    let mut cfg = ebq_filter_config {
        self_tgid: opts.self_tgid,
        count_filtered: u8::from(opts.count_filtered),
        // Wake the reader at most every WAKE_NS in a storm (see
        // wake_flags() in bpf/common.bpf.h), or when a quarter of the
        // buffer is waiting.
        wake_ns: WAKE_NS,
        wake_bytes: u64::from(opts.buffer_size / 4),
        capture: k.capture,
        actions: k.actions,
        kind: k.kind,
        follow: u8::from(k.follow),
        side_feed: u8::from(!k.feeds.is_empty()),
        ..Default::default()
    };
    if let Some(b) = k.buffer {
        use crate::abi::types::ebq_func_buf_len as from;
        use crate::model::functions::BufLen;
        cfg.buf_arg = b.arg;
        (cfg.buf_len_from, cfg.buf_len) = match b.len {
            BufLen::Const(n) => (from::EBQ_FUNC_BUF_LEN_CONST.0 as u8, n),
            BufLen::Arg(i) => ((from::EBQ_FUNC_BUF_LEN_ARG0.0 as u8) + i, 0),
            BufLen::Retval => (from::EBQ_FUNC_BUF_LEN_RET.0 as u8, 0),
        };
    }
    let mut int_sets = Vec::new();
    for (slot, f) in &k.ints {
        let i = *slot as usize;
        let mut mode = 0u32;
        if f.has_range() {
            mode |= ebq_filter_mode::EBQ_F_RANGE.0;
            cfg.range[i].lo = f.lo;
            cfg.range[i].hi = f.hi;
        }
        if f.in_set.is_some() {
            mode |= ebq_filter_mode::EBQ_F_IN.0;
        }
        if !f.not_in.is_empty() {
            mode |= ebq_filter_mode::EBQ_F_NOT_IN.0;
        }
        cfg.int_mode[i] = mode as u8;
        // Syscall numbers: a bitmap the entry tests without a map lookup.
        if k.bitmap_slot == Some(*slot) {
            for nr in f.in_set.iter().flatten() {
                if (0..i64::from(EBQ_NR_MAX)).contains(nr) {
                    cfg.nr_bitmap[(*nr / 64) as usize] |= 1 << (*nr % 64);
                }
            }
        }
        for (kind, set) in [
            (ebq_set_kind::EBQ_SET_IN, f.in_set.as_ref()),
            (ebq_set_kind::EBQ_SET_NOT_IN, Some(&f.not_in)),
        ] {
            int_sets.extend(set.into_iter().flatten().map(|v| ebq_int_key {
                col: *slot,
                kind: kind.0,
                val: *v,
            }));
        }
    }
    if let Some((quick, v)) = k.quick() {
        cfg.quick = quick.0 as u8;
        cfg.quick_val = v;
    }
    match &k.comm_in {
        // One value and nothing to exclude: compared in place, no lookup.
        Some(set) if set.len() == 1 && k.comm_not_in.is_empty() => {
            let b = set.first().map_or([0; 16], |c| comm_bytes(c));
            let (lo, hi) = b.split_at(8);
            cfg.comm_one = [
                u64::from_ne_bytes(lo.try_into().unwrap_or_default()),
                u64::from_ne_bytes(hi.try_into().unwrap_or_default()),
            ];
            cfg.comm_mode |= ebq_filter_mode::EBQ_F_ONE.0 as u8;
        }
        Some(_) => cfg.comm_mode |= ebq_filter_mode::EBQ_F_IN.0 as u8,
        None => {}
    }
    if !k.comm_not_in.is_empty() {
        cfg.comm_mode |= ebq_filter_mode::EBQ_F_NOT_IN.0 as u8;
    }
    let mut comm_sets = Vec::new();
    for (kind, set) in [
        (ebq_set_kind::EBQ_SET_IN, k.comm_in.as_ref()),
        (ebq_set_kind::EBQ_SET_NOT_IN, Some(&k.comm_not_in)),
    ] {
        comm_sets.extend(set.into_iter().flatten().map(|c| comm_key(kind, c)));
    }
    let mut path_prefixes = Vec::new();
    if let Some(prefixes) = &k.path_prefixes {
        cfg.path_mode = ebq_filter_mode::EBQ_F_PREFIX.0 as u8;
        // Each prefix's first 8 bytes, masked to its length, in memory
        // order: the kernel compares the path's first word with them before
        // it copies the path for the trie.
        if prefixes.len() <= cfg.prefix_word.len() {
            for (i, p) in prefixes.iter().enumerate() {
                let (mut word, mut mask) = ([0u8; 8], [0u8; 8]);
                for (j, b) in p.bytes().take(8).enumerate() {
                    word[j] = b;
                    mask[j] = 0xff;
                }
                cfg.prefix_word[i] = u64::from_ne_bytes(word);
                cfg.prefix_mask[i] = u64::from_ne_bytes(mask);
            }
            cfg.prefix_words = prefixes.len() as u32;
        }
        for p in prefixes {
            let mut key = ebq_prefix_key {
                prefixlen: (p.len() * 8) as u32,
                ..Default::default()
            };
            // The planner pushes no prefix longer than PREFIX_MAX.
            let n = p.len().min(key.data.len());
            key.data[..n].copy_from_slice(&p.as_bytes()[..n]);
            path_prefixes.push(key);
        }
    }
    if let AggPlace::Kernel(a) = &plan.agg_place {
        cfg.agg_enabled = 1;
        cfg.agg_keys = a.keys;
        cfg.agg_measure = a.measure;
        match a.hist {
            KernelHist::None => {}
            KernelHist::Pow2 => cfg.agg_hist = 1,
            KernelHist::Linear { min, max, step } => {
                cfg.agg_hist = 2;
                cfg.lhist_min = min;
                cfg.lhist_step = step;
                cfg.lhist_len = linear_len(min, max, step) as u32;
            }
        }
    }
    let mut cgroup_verdicts = Vec::new();
    if let Some(c) = opts.cgroups.as_ref().filter(|_| plan.cgroups) {
        if let Some((ssid, hierarchy)) = c.v1 {
            cfg.v1_ssid = ssid;
            cfg.v1_hierarchy = hierarchy;
            cfg.capture |= ebq_capture::EBQ_CAP_CGROUP_V1.0;
        }
        if !k.cgroup_filter.is_empty() {
            cfg.cgroup_filter = if c.v1.is_some() {
                ebq_cgroup_filter::EBQ_CGF_V1.0 as u8
            } else {
                ebq_cgroup_filter::EBQ_CGF_V2.0 as u8
            };
            cgroup_verdicts = c.verdicts.clone();
            cgroup_verdicts.truncate(CGROUP_VERDICTS_MAX as usize);
        }
    }
    // Filter maps hold exactly what the plan puts in them: the kernel sets
    // up a hash map's buckets for all max_entries at creation (65,536 for
    // `followed` cost 0.4 ms of every start). The groups map is
    // preallocated: full size only when it is used.
    let entries = |n: usize| n.max(1) as u32;
    let maps = MapSizes {
        events: opts.buffer_size,
        agg_map: if matches!(plan.agg_place, AggPlace::Kernel(_)) {
            KERNEL_AGG_GROUPS
        } else {
            1
        },
        int_sets: entries(int_sets.len()),
        comm_sets: entries(comm_sets.len()),
        path_prefixes: entries(path_prefixes.len()),
        followed: if k.follow { FOLLOWED_MAX } else { 1 },
        // New cgroups get verdicts during the run: room for them.
        cgroup_verdicts: if cfg.cgroup_filter != 0 {
            CGROUP_VERDICTS_MAX
        } else {
            1
        },
        func_inflight: match &opts.functions {
            Some(r) if !r.usdt && crate::catalog::func::ends(k.capture).2 => FUNC_INFLIGHT,
            _ => 1,
        },
        usdt_specs: match &opts.functions {
            Some(r) if r.usdt => USDT_SPECS,
            _ => 1,
        },
        block_inflight: if std::ptr::eq(plan.table(), &crate::catalog::block::BLOCK_IO_EVENTS) {
            BLOCK_INFLIGHT
        } else {
            1
        },
        sched_tasks: if std::ptr::eq(plan.table(), &crate::catalog::sched::SCHED_EVENTS) {
            crate::abi::types::ebq_sched_limits::EBQ_SCHED_TASKS.0
        } else {
            1
        },
        tcp_socks: if std::ptr::eq(plan.table(), &crate::catalog::tcp::TCP_EVENTS) {
            crate::abi::types::ebq_tcp_limits::EBQ_TCP_SOCKS.0
        } else {
            1
        },
        tcp_listeners: if std::ptr::eq(plan.table(), &crate::catalog::tcp::TCP_EVENTS) {
            crate::abi::types::ebq_tcp_limits::EBQ_TCP_LISTENERS.0
        } else {
            1
        },
    };
    KernelConfig {
        table: plan.table().name,
        cfg,
        int_sets,
        comm_sets,
        path_prefixes,
        maps,
        cgroup_verdicts,
        programs: match &opts.functions {
            // The table's templates, attached where its functions are.
            Some(r) => {
                let table = plan.table();
                let mut progs = crate::catalog::func::programs(r, k.capture, opts.uprobe_multi);
                progs.extend(
                    k.programs
                        .iter()
                        .filter(|p| !table.programs.iter().any(|t| t.name == p.name))
                        .cloned(),
                );
                progs
            }
            None => k.programs.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::{ebq_filter_col, ebq_quick};

    fn build_sql(sql: &str, follow: bool) -> KernelConfig {
        build_with(sql, follow, None)
    }

    fn build_with(sql: &str, follow: bool, cgroups: Option<Cgroups>) -> KernelConfig {
        let q = crate::sql::bind(sql).expect("binds");
        let plan = crate::plan::plan(q, follow);
        build(
            &plan,
            &Options {
                buffer_size: 1 << 20,
                self_tgid: 4242,
                count_filtered: true,
                cgroups,
                functions: None,
                uprobe_multi: false,
            },
        )
    }

    #[test]
    fn container_filters_become_cgroup_verdicts_read_per_the_layout() {
        use crate::abi::types::{ebq_cgroup_filter, ebq_cgroup_verdict};
        let key = |id| ebq_cgroup_key {
            id,
            ..Default::default()
        };
        let keep = ebq_cgroup_verdict::EBQ_CGV_KEEP.0 as u8;
        let hybrid = Cgroups {
            v1: Some((4, 7)),
            verdicts: vec![(key(99), keep)],
            explain: vec![],
        };
        let sql = "select pid from process_events where container_id is not null";
        let k = build_with(sql, false, Some(hybrid.clone()));
        assert_eq!(k.cfg.cgroup_filter, ebq_cgroup_filter::EBQ_CGF_V1.0 as u8);
        assert_eq!((k.cfg.v1_ssid, k.cfg.v1_hierarchy), (4, 7));
        assert_ne!(k.cfg.capture & ebq_capture::EBQ_CAP_CGROUP_V1.0, 0);
        assert_eq!(k.cgroup_verdicts.len(), 1);
        assert_eq!(k.maps.cgroup_verdicts, CGROUP_VERDICTS_MAX);
        // Pure v2: the cgroup2 id alone, no v1 id read.
        let v2 = Cgroups {
            v1: None,
            ..hybrid.clone()
        };
        let k = build_with(sql, false, Some(v2));
        assert_eq!(k.cfg.cgroup_filter, ebq_cgroup_filter::EBQ_CGF_V2.0 as u8);
        assert_eq!(k.cfg.capture & ebq_capture::EBQ_CAP_CGROUP_V1.0, 0);
        // A container column read but not filtered on: the v1 id is read
        // for the columns, and no verdict is.
        let k = build_with(
            "select container_id from process_events",
            false,
            Some(hybrid.clone()),
        );
        assert_eq!(k.cfg.cgroup_filter, 0);
        assert_ne!(k.cfg.capture & ebq_capture::EBQ_CAP_CGROUP_V1.0, 0);
        assert!(k.cgroup_verdicts.is_empty());
        assert_eq!(k.maps.cgroup_verdicts, 1);
        // No container column: nothing of it, whatever the host.
        let k = build_with("select pid from process_events", false, Some(hybrid));
        assert_eq!((k.cfg.cgroup_filter, k.cfg.v1_ssid), (0, 0));
        assert_eq!(k.cfg.capture & ebq_capture::EBQ_CAP_CGROUP_V1.0, 0);
    }

    #[test]
    fn the_configuration_is_the_plan_as_the_kernel_reads_it() {
        let k = build_sql(
            "select pid from process_events where uid = 0 and pid in (7, 9) and comm != 'sh'",
            false,
        );
        let uid = ebq_filter_col::EBQ_COL_UID.0 as usize;
        assert_eq!(k.cfg.int_mode[uid], ebq_filter_mode::EBQ_F_RANGE.0 as u8);
        assert_eq!((k.cfg.range[uid].lo, k.cfg.range[uid].hi), (0, 0));
        assert_eq!(k.cfg.quick, ebq_quick::EBQ_QUICK_UID.0 as u8);
        assert_eq!(k.cfg.self_tgid, 4242);
        assert_eq!(k.cfg.count_filtered, 1);
        assert_eq!(k.cfg.wake_bytes, 1 << 18);
        // process_events is the first table of TABLES.
        assert_eq!(k.cfg.kind, 1);
        let pids: Vec<i64> = k.int_sets.iter().map(|s| s.val).collect();
        assert_eq!(pids, [7, 9]);
        assert!(k.int_sets.iter().all(
            |s| s.col == ebq_filter_col::EBQ_COL_PID.0 && s.kind == ebq_set_kind::EBQ_SET_IN.0
        ));
        assert_eq!(k.comm_sets.len(), 1);
        assert_eq!(k.comm_sets[0].kind, ebq_set_kind::EBQ_SET_NOT_IN.0);
        assert_eq!(
            k.maps,
            MapSizes {
                events: 1 << 20,
                agg_map: 1,
                int_sets: 2,
                comm_sets: 1,
                path_prefixes: 1,
                followed: 1,
                cgroup_verdicts: 1,
                func_inflight: 1,
                usdt_specs: 1,
                block_inflight: 1,
                sched_tasks: 1,
                tcp_socks: 1,
                tcp_listeners: 1,
            }
        );
    }

    #[test]
    fn prefixes_bitmaps_and_kernel_aggregation_are_in_it() {
        let k = build_sql(
            "select path from file_events where path like '/etc/%' or path like '/root/.ssh/%'",
            false,
        );
        assert_eq!(k.cfg.prefix_words, 2);
        assert_eq!(k.path_prefixes.len(), 2);
        assert_eq!(k.path_prefixes[0].prefixlen, 5 * 8);
        let k = build_sql(
            "select syscall, count(*) from syscall_events where syscall in ('read', 'close') group by syscall",
            true,
        );
        // read is 0 and close 3 on x86_64 (not a range: the bitmap).
        if cfg!(target_arch = "x86_64") {
            assert_eq!(k.cfg.nr_bitmap[0] & 0b1111, 0b1001);
        }
        assert_eq!(k.cfg.agg_enabled, 1);
        assert_eq!(k.maps.agg_map, KERNEL_AGG_GROUPS);
        assert_eq!(k.maps.followed, FOLLOWED_MAX);
        assert_eq!(k.cfg.follow, 1);
        let last: Vec<&str> = k.programs.iter().rev().take(2).map(|p| p.name).collect();
        assert_eq!(last, ["follow_free", "follow_fork"]);
    }
}
