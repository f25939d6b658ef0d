//! One run of a query: checks, load and attach, the -c / -p target, then
//! the event loop: poll the ring buffer, decode each record, apply the
//! userspace filter, project, write, until LIMIT, --duration, Ctrl-C or
//! SIGTERM, the end of the traced command, or a closed pipe. Every exit path
//! drops the `Kernel`, which detaches the programs.
//!
//! What a run needs of the command line comes in as `RunOptions` (config.rs
//! builds them), and its results go out through a `Sink` (sink.rs) the
//! caller made: a run never reads the configuration or writes stdout, so
//! the formats, and a sink that is not stdout at all, are the caller's.

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::RingBufferBuilder;

use super::agg::{sort_rows, Groups, State};
use super::sink::{ResultSet, Shape, Sink};
use super::target::{self, descendants, Target};
use crate::abi::types::{
    ebq_agg_key, ebq_agg_val, ebq_cgroup_event, ebq_cgroup_key, ebq_cgroup_kind, ebq_header,
};
use crate::error::{Error, KernelError, Result};
use crate::kernel::btf::BtfCache;
use crate::kernel::load::{self, KernelStats};
use crate::kernel::pidns;
use crate::kernel::preflight;
use crate::model::eval;
use crate::model::eval::GroupRow;
use crate::model::expr::{AggFunc, Expr, OrderKey};
use crate::model::record::{BootOffset, Record};
use crate::model::value::{KeyPart, Value};
use crate::plan::Plan;

/// How long one poll waits: bounds how late a stop is noticed, and how long
/// an event the kernel did not wake us for (wakeup batching) can wait.
const POLL: Duration = Duration::from_millis(25);

/// What a run needs of the command line, resolved once (config.rs).
#[derive(Debug)]
pub struct RunOptions {
    /// -d/--duration: the run ends after this long.
    pub duration: Option<Duration>,
    /// Aggregates: a result set every this often.
    pub interval: Option<Duration>,
    pub target: Target,
    /// --stats: count what the kernel filtered, say what was attached.
    pub stats: bool,
    /// --buffer-size; None: the plan's default (Plan::default_buffer).
    pub buffer_size: Option<u32>,
    /// When ebq started: --stats reports the time to attach.
    pub started: Instant,
    /// What a table with a stream is told (dns_events: --dns-timeout).
    pub stream: crate::model::stream::StreamOptions,
    /// function_events: the most functions a query may probe.
    pub max_probes: usize,
}

/// What a run counted, for --stats.
#[derive(Debug, Default)]
pub struct Summary {
    pub kernel: KernelStats,
    pub decoded: u64,
    pub kept: u64,
    pub bad_records: u64,
    /// Events left out because a userspace bound was reached (groups,
    /// rows held for sorting).
    pub capped: u64,
    pub notes: Vec<String>,
    /// The -c command's exit status, when it ended on its own.
    pub command_status: Option<u8>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Decodes, filters and writes; fed by the ring buffer callback.
/// Rows held for ORDER BY on a stream: at most this many.
pub const MAX_SORTED_ROWS: usize = 1_000_000;

/// What happens to a row that passed the filter.
enum Mode {
    /// Written at once.
    Stream,
    /// Held until the end, then sorted (ORDER BY with --duration or -c):
    /// (ORDER BY values, output values).
    Sorted(Vec<(Vec<Value>, Vec<Value>)>),
    /// Aggregated; printed at each interval and at the end.
    Groups(Groups),
}

struct Pipeline<'p> {
    plan: &'p Plan,
    stop: &'p AtomicBool,
    /// After the programs are detached: read what is left, whatever stop says.
    draining: bool,
    sink: &'p mut dyn Sink,
    mode: Mode,
    /// Events left out because a userspace bound was reached.
    capped: u64,
    boot_offset: BootOffset,
    values: Vec<Value>,
    decoded: u64,
    kept: u64,
    bad: u64,
    done: bool,
    error: Option<io::Error>,
    /// The rows' cgroups, when the query reads a container column.
    cgroups: Option<super::containers::Resolver>,
    /// Sets one cgroup's verdict in the kernel (None: takes it back), for
    /// a query with container filters.
    set_verdict: Option<SetVerdict<'p>>,
    /// The table's stream, when its rows are not one per record
    /// (model/stream.rs): it makes the rows of each record.
    stream: Option<Box<dyn crate::model::stream::Stream>>,
    /// The side feeds the query reads (model/stream.rs), with the kind
    /// their records carry and the table column each looks up.
    feeds: Vec<(u32, usize, Box<dyn crate::model::stream::Feed>)>,
}

/// Sets one cgroup's verdict in the kernel (kernel/load.rs).
type SetVerdict<'k> = Box<dyn Fn(&ebq_cgroup_key, Option<u8>) + 'k>;

impl Pipeline<'_> {
    fn on_event(&mut self, data: &[u8]) -> i32 {
        // libbpf has consumed the record it hands over whatever this
        // returns (ringbuf_process_ring moves consumer_pos past it first),
        // so it is always handled, unless the run is done (LIMIT met, the
        // output gone).
        if self.done {
            return -1;
        }
        self.handle(data);
        // A negative return ends this poll at once (libbpf's
        // ring_buffer__poll), so a stop is seen within one record even in
        // a storm that would keep the buffer from ever running dry; what
        // is left is read after detaching.
        if self.done || (self.stop.load(Ordering::Relaxed) && !self.draining) {
            -1
        } else {
            0
        }
    }

    /// A cgroup note (bpf/cgroup.h): the resolver learns or forgets it,
    /// and the kernel gets its verdict.
    fn cgroup_note(&mut self, data: &[u8]) {
        // Sent as long as its path (bpf/cgroup.bpf.h): the rest is zeros.
        let mut e = ebq_cgroup_event::default();
        // SAFETY: ebq_cgroup_event is Plain (model/cgroup.rs).
        let bytes = unsafe { plain::as_mut_bytes(&mut e) };
        let fixed = std::mem::offset_of!(ebq_cgroup_event, path);
        if data.len() < fixed {
            self.bad += 1;
            return;
        }
        let n = data.len().min(bytes.len());
        bytes[..n].copy_from_slice(&data[..n]);
        if let Some(c) = &mut self.cgroups {
            c.note(&e);
        }
        self.sync_verdicts();
    }

    /// Gives the kernel the verdicts on the cgroups the resolver learnt
    /// since the last time, and takes back those it forgot.
    fn sync_verdicts(&mut self) {
        let (Some(c), Some(set)) = (&mut self.cgroups, &self.set_verdict) else {
            return;
        };
        let v = super::containers::Verdicts {
            table: self.plan.table(),
            filter: &self.plan.kernel.cgroup_filter,
        };
        for (h, id) in c.take_fresh() {
            if let Some(info) = c.get(h, id) {
                set(&super::containers::Verdicts::key(h, id), v.of(c, h, info));
            }
        }
        for (h, id) in c.take_gone() {
            set(&super::containers::Verdicts::key(h, id), None);
        }
    }

    fn handle(&mut self, data: &[u8]) {
        if data.get(16..20) == Some(&ebq_cgroup_kind::EBQ_KIND_CGROUP.0.to_ne_bytes()) {
            return self.cgroup_note(data);
        }
        if !self.feeds.is_empty() {
            let kind = data
                .get(16..20)
                .map(|k| u32::from_ne_bytes([k[0], k[1], k[2], k[3]]));
            if let Some((_, _, f)) = self.feeds.iter_mut().find(|(k, _, _)| Some(*k) == kind) {
                f.learn(data);
                return;
            }
        }
        let table = self.plan.table();
        let record =
            match Record::decode(data, self.boot_offset, &table.layout, self.plan.kernel.kind) {
                Ok(r) => r,
                Err(_) => {
                    self.bad += 1;
                    return;
                }
            };
        self.decoded += 1;
        match self.stream.take() {
            None => self.row(record),
            Some(mut s) => {
                let mut rows = Vec::new();
                s.feed(record, &mut rows);
                self.stream = Some(s);
                for r in rows {
                    if self.done {
                        break;
                    }
                    self.row(r);
                }
            }
        }
    }

    /// The rows the stream makes due by now, without a record (a DNS
    /// query that timed out).
    fn tick(&mut self) {
        let Some(mut s) = self.stream.take() else {
            return;
        };
        // A little behind the clock: a record stamped before `now` may
        // still be on its way into the ring buffer (stamped, not yet
        // committed), and a response in flight must not lose to its
        // query's timeout.
        let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
            .map_or(0, |t| {
                t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
            })
            .saturating_sub(2 * POLL.as_nanos() as u64);
        let mut rows = Vec::new();
        s.tick(now, &mut rows);
        self.stream = Some(s);
        for mut r in rows {
            if self.done {
                break;
            }
            r.boot_offset = self.boot_offset;
            self.row(r);
        }
    }

    /// One row: its cgroup resolved, the WHERE checked, then written,
    /// held or aggregated.
    fn row(&mut self, mut record: Record) {
        let table = self.plan.table();
        for (_, key, f) in &self.feeds {
            let k = (table.columns[*key].get)(&record);
            f.enrich(&mut record, &k);
        }
        if let Some(c) = &mut self.cgroups {
            record.cgroup = c.row(record.hdr.cgroup_id, record.hdr.cgroup_v1);
            if self.set_verdict.is_some() {
                self.sync_verdicts();
            }
        }
        if let Some(p) = &self.plan.predicate {
            if eval::truth(table, p, &record) != Some(true) {
                return;
            }
        }
        self.kept += 1;
        let q = &self.plan.query;
        match &mut self.mode {
            Mode::Groups(groups) => {
                let Some(agg) = &q.agg else { return };
                let key: Vec<KeyPart> = agg
                    .keys
                    .iter()
                    .map(|k| KeyPart::from(eval::value(table, k, &record)))
                    .collect();
                let Some(states) = groups.group(key) else {
                    return;
                };
                for (state, call) in states.iter_mut().zip(&agg.aggs) {
                    match &call.arg {
                        Some(a) => state.add(Some(&eval::value(table, a, &record))),
                        None => state.add(None),
                    }
                }
            }
            Mode::Sorted(rows) => {
                if rows.len() >= MAX_SORTED_ROWS {
                    self.capped += 1;
                    return;
                }
                let order = q
                    .order_by
                    .iter()
                    .map(|o| eval::value(table, &o.expr, &record))
                    .collect();
                let out = q
                    .outputs
                    .iter()
                    .map(|o| eval::value(table, &o.expr, &record))
                    .collect();
                rows.push((order, out));
            }
            Mode::Stream => {
                self.values.clear();
                for o in &q.outputs {
                    self.values.push(eval::value(table, &o.expr, &record));
                }
                if let Err(e) = self.sink.row(&self.values) {
                    self.error = Some(e);
                    self.done = true;
                }
                if q.limit.is_some_and(|l| self.kept >= l) {
                    self.done = true;
                }
            }
        }
    }

    /// Merges the groups the kernel aggregated into the userspace groups:
    /// each kernel group's partial states add to the group its key names,
    /// so two kernel groups that name one (or a group already here) add
    /// up rather than the last one replacing the others.
    fn absorb(&mut self, drained: Vec<(ebq_agg_key, ebq_agg_val)>) {
        let (Mode::Groups(groups), Some(agg)) = (&mut self.mode, &self.plan.query.agg) else {
            return;
        };
        let table = self.plan.table();
        for (k, v) in drained {
            // A record made of the key, so the columns' own getters name
            // the key values (syscall names, comm text) as they would for
            // an event.
            let hdr = ebq_header {
                pid: k.pid,
                tid: k.tid,
                uid: k.uid,
                gid: k.gid,
                cgroup_id: k.cgroup_id,
                comm: k.comm,
                ..Default::default()
            };
            // Only a table with a KernelAggSpec aggregates in the kernel.
            let mut rec = match table.agg {
                Some(a) => (a.event)(hdr, k.nr),
                None => Record::of(hdr, &hdr),
            };
            // A group of events about no known task: its task keys are NULL.
            rec.anonymous = k.no_task != 0;
            let key: Vec<KeyPart> = agg
                .keys
                .iter()
                .map(|e| KeyPart::from(eval::value(table, e, &rec)))
                .collect();
            let states = agg
                .aggs
                .iter()
                .map(|a| {
                    // Events with a NULL measure are in count(*) alone.
                    let measured = v.count.saturating_sub(v.nulls);
                    let any = measured > 0;
                    match a.func {
                        AggFunc::CountStar | AggFunc::Count | AggFunc::CountDistinct => {
                            State::Count(v.count)
                        }
                        AggFunc::Sum => State::Sum(any.then_some(i128::from(v.sum))),
                        AggFunc::Min => State::Min(any.then_some(Value::Int(v.min))),
                        AggFunc::Max => State::Max(any.then_some(Value::Int(v.max))),
                        AggFunc::Avg => State::Avg(i128::from(v.sum), measured),
                        AggFunc::Hist => {
                            let mut b = v.buckets.to_vec();
                            b.resize(crate::model::hist::POW2_BUCKETS, 0);
                            State::Pow2(b)
                        }
                        AggFunc::Lhist { min, max, step } => {
                            let mut counts = v.buckets.to_vec();
                            counts.resize(crate::model::hist::linear_len(min, max, step), 0);
                            State::Linear {
                                min,
                                max,
                                step,
                                counts,
                            }
                        }
                    }
                })
                .collect();
            // States made for these very aggregates always fit; one that
            // did not would be a kernel group ebq cannot read.
            if groups.merge(key, states).is_err() {
                self.bad += 1;
            }
        }
    }

    /// The result set so far (aggregates: the groups, which then start
    /// over; sorted: every row held), or None for a stream.
    fn take_results(&mut self) -> Option<Vec<Vec<Value>>> {
        let q = &self.plan.query;
        let table = self.plan.table();
        let mut rows: Vec<(Vec<Value>, Vec<Value>)> = match &mut self.mode {
            Mode::Stream => return None,
            Mode::Sorted(rows) => std::mem::take(rows),
            Mode::Groups(groups) => {
                let agg = q.agg.as_ref()?;
                let order = default_order(q);
                // An aggregate without GROUP BY is one row even when no
                // event matched (count(*) is 0), as in SQLite: at the end
                // and in each interval, so a time series has no holes.
                if agg.keys.is_empty() && groups.map.is_empty() {
                    let _ = groups.group(Vec::new());
                }
                let mut out = Vec::with_capacity(groups.map.len());
                for (key, states) in groups.map.drain() {
                    let row = GroupRow {
                        keys: key.into_iter().map(Value::from).collect(),
                        aggs: states.iter().map(State::result).collect(),
                    };
                    if let Some(h) = &agg.having {
                        if eval::truth(table, h, &row) != Some(true) {
                            continue;
                        }
                    }
                    let o = order
                        .iter()
                        .map(|k| eval::value(table, &k.expr, &row))
                        .collect();
                    let v = q
                        .outputs
                        .iter()
                        .map(|x| eval::value(table, &x.expr, &row))
                        .collect();
                    out.push((o, v));
                }
                out
            }
        };
        let order = default_order(q);
        sort_rows(&mut rows, &order);
        let mut rows: Vec<Vec<Value>> = rows.into_iter().map(|(_, v)| v).collect();
        if let Some(l) = q.limit {
            rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
        }
        Some(rows)
    }
}

/// ORDER BY as written; for an aggregate query without one, the first
/// aggregate that can be compared, largest first (as bpftrace prints maps),
/// then the keys.
fn default_order(q: &crate::model::expr::Query) -> Vec<OrderKey> {
    if !q.order_by.is_empty() {
        return q
            .order_by
            .iter()
            .map(|o| OrderKey {
                expr: o.expr.clone(),
                desc: o.desc,
            })
            .collect();
    }
    let Some(agg) = &q.agg else { return Vec::new() };
    let mut order = Vec::new();
    if let Some(i) = agg
        .aggs
        .iter()
        .position(|a| !matches!(a.func, AggFunc::Hist | AggFunc::Lhist { .. }))
    {
        order.push(OrderKey {
            expr: Expr::Agg(i),
            desc: true,
        });
    }
    order.extend((0..agg.keys.len()).map(|i| OrderKey {
        expr: Expr::Key(i),
        desc: false,
    }));
    order
}

/// Nanoseconds between the boot clock (bpf_ktime_get_boot_ns) and unix time.
fn boot_offset() -> BootOffset {
    use nix::time::{clock_gettime, ClockId};
    let ns = |id| {
        clock_gettime(id)
            .map(|t| i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec()))
            .unwrap_or(0)
    };
    ns(ClockId::CLOCK_REALTIME) - ns(ClockId::CLOCK_BOOTTIME)
}

/// PID (of ebq's pid namespace) and its descendants, in the kernel's
/// numbers: from ebq's /proc, turned into host pids when it is the
/// namespace's; from the host's /proc, after turning PID itself into a
/// host pid, when not.
fn tree_in_kernel_pids(p: u32, in_pidns: bool, proc_is_own: bool) -> Result<Vec<u32>> {
    Ok(if !in_pidns {
        descendants(p)
    } else if proc_is_own {
        let tree = descendants(p);
        let host = pidns::host_pids(&tree)?;
        tree.iter()
            .filter_map(|p| host.pids.get(p).copied())
            .collect()
    } else {
        match pidns::host_pids(&[p])?.pids.get(&p) {
            Some(host) => descendants(*host),
            None => Vec::new(),
        }
    })
}

/// Runs `plan` until it ends, its results through `sink` (begun here,
/// finished when the run ends).
pub fn run(
    plan: &Plan,
    opts: &RunOptions,
    sink: &mut dyn Sink,
    stop: &AtomicBool,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mode = if let Some(agg) = &plan.query.agg {
        Mode::Groups(Groups::new(&agg.aggs))
    } else if !plan.query.order_by.is_empty() {
        Mode::Sorted(Vec::new())
    } else {
        Mode::Stream
    };
    // Begun before the checks, so a streamed table's header is out first
    // (and LIMIT 0 is that header alone, with no root needed).
    let shape = match mode {
        Mode::Stream => Shape::Rows,
        Mode::Sorted(_) | Mode::Groups(_) => Shape::Sets,
    };
    sink.begin(&plan.output, shape).map_err(Error::Output)?;
    if shape == Shape::Rows && plan.query.limit == Some(0) {
        sink.finish().map_err(Error::Output)?;
        return Ok(summary);
    }
    // In a pid namespace of its own, ebq's /proc may be the namespace's
    // (--mount-proc, a container) or an outer one's (the host's pids).
    let in_pidns = pidns::in_child_namespace();
    let proc_is_own = !in_pidns || pidns::proc_is_own();
    let followed_process = match opts.target {
        Target::Pid(p) => Some(target::Process::open(p, proc_is_own)?),
        _ => None,
    };

    preflight::check_privileges()?;
    preflight::check_btf()?;
    preflight::check_cgroup2(plan.table().name, &plan.kernel.programs)?;
    if plan
        .kernel
        .programs
        .iter()
        .any(|p| p.tracepoint().is_some())
    {
        summary.notes.extend(preflight::ensure_tracefs()?);
    }

    // The small copy of the kernel's BTF from an earlier start, if any
    // (kernel/btf.rs): it spares libbpf the whole of the kernel's.
    let btf_cache = BtfCache::locate();
    let cached = btf_cache
        .as_ref()
        .and_then(|c| c.existing())
        .map(PathBuf::from);
    let buffer_size = opts.buffer_size.unwrap_or_else(|| plan.default_buffer());
    // In a pid namespace of its own ebq is another number to the kernel.
    let self_tgid = if in_pidns {
        pidns::host_pids(&[])?.own
    } else {
        std::process::id()
    };
    // The cgroup tree is walked once here, before anything attaches: the
    // first verdicts are in the kernel when the programs start, and the
    // cgroups made later come as notes (bpf/cgroup.bpf.h).
    let resolver = plan.cgroups.then(super::containers::Resolver::new);
    let cgroups = resolver.as_ref().map(|r| {
        super::containers::Verdicts {
            table: plan.table(),
            filter: &plan.kernel.cgroup_filter,
        }
        .resolved(r)
    });
    // function_events: its binaries and symbols, found once, before
    // anything loads; the rows read their names from the same list.
    let variants = crate::kernel::variants::Variants::detect()?;
    let functions = match &plan.kernel.functions {
        Some(req) => {
            if !variants.cookies {
                return Err(Error::Kernel(crate::error::KernelError::Unsupported(
                    "function_events needs attach cookies (Linux 5.15): one program serves every function probed, and tells them apart by its cookie".into(),
                )));
            }
            let r = std::sync::Arc::new(crate::kernel::uprobes::resolve(
                req,
                crate::kernel::uprobes::limits(plan, opts.max_probes),
            )?);
            crate::model::functions::set_current(r.clone());
            Some(r)
        }
        None => None,
    };
    let physical = crate::plan::physical::build(
        plan,
        &crate::plan::physical::Options {
            buffer_size,
            self_tgid,
            count_filtered: opts.stats,
            cgroups,
            // Held by `functions` for the run: the files the kernel reaches
            // through /proc/self/fd are its.
            functions: functions.clone(),
            uprobe_multi: variants.uprobe_multi,
        },
    );
    let (mut storage, mut retry) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let mut btf_note = match (&btf_cache, &cached) {
        (None, _) => "the kernel's (no cache)".to_string(),
        (Some(_), Some(p)) => format!("cached copy {}", p.display()),
        (Some(_), None) => "the kernel's".to_string(),
    };
    let kernel = match load::load(&mut storage, &physical, cached.as_deref()) {
        Ok(k) => k,
        // A copy libbpf could not use is dropped, and the whole BTF read
        // instead: the user sees that load's error, if any.
        Err(_) if cached.is_some() => {
            if let Some(c) = &btf_cache {
                c.discard();
            }
            btf_note = "the kernel's (the cached copy failed: removed)".into();
            load::load(&mut retry, &physical, None)
                .map_err(|e| crate::kernel::features::require().err().unwrap_or(e))?
        }
        // A kernel that lacks what the programs use says so in one line,
        // rather than in libbpf's log.
        Err(e) => return Err(crate::kernel::features::require().err().unwrap_or(e)),
    };

    // -p: the tree is followed before anything says ebq is attached, so
    // what it does from then on is traced. A process forked while the
    // tree is read is followed by follow_fork once its parent is in the
    // set; reading again until nothing new turns up catches the ones
    // forked before that.
    if let Target::Pid(p) = &opts.target {
        let mut followed = std::collections::BTreeSet::new();
        for _ in 0..5 {
            let fresh: Vec<u32> = tree_in_kernel_pids(*p, in_pidns, proc_is_own)?
                .into_iter()
                .filter(|d| !followed.contains(d))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for d in fresh {
                kernel.follow(d)?;
                followed.insert(d);
            }
        }
        if followed.is_empty() {
            return Err(Error::Usage(format!("-p {p}: no such process")));
        }
    }
    if !kernel.dropped.is_empty() {
        eprintln!(
            "ebq: note: this kernel lacks the tracepoints of {}: left out",
            kernel.dropped.join(", ")
        );
    }
    if opts.stats {
        eprintln!(
            "ebq: stats: attached {} programs ({}) by {} link{} in {} ms; ring buffer {} KiB",
            kernel.attached().len(),
            kernel.attached().join(", "),
            kernel.links(),
            if kernel.links() == 1 { "" } else { "s" },
            opts.started.elapsed().as_millis(),
            buffer_size >> 10
        );
    }
    if cached.is_none() {
        if let Some(c) = &btf_cache {
            match kernel.store_btf(c) {
                Ok(()) => btf_note.push_str("; a copy is cached for the next start"),
                Err(e) => btf_note.push_str(&format!("; no copy cached: {e}")),
            }
        }
    }
    if opts.stats {
        eprintln!("ebq: stats: BTF: {btf_note}");
        eprintln!("ebq: stats: variant: {}", kernel.variants.describe());
    }
    let mut child: Option<target::Command> = None;
    match &opts.target {
        Target::All => {}
        Target::Pid(_) => {}
        Target::Command(c) => {
            // Following ourselves for the length of the fork makes the
            // kernel follow the child from its first instruction, so its
            // exec is traced too; ebq's own events are never reported.
            let me = self_tgid;
            kernel.follow(me)?;
            let spawned = target::Command::spawn(c);
            kernel.unfollow(me)?;
            child = Some(spawned?);
        }
    }

    let pipeline = RefCell::new(Pipeline {
        plan,
        stop,
        draining: false,
        sink,
        mode,
        capped: 0,
        boot_offset: boot_offset(),
        values: Vec::with_capacity(plan.query.outputs.len()),
        decoded: 0,
        kept: 0,
        bad: 0,
        done: false,
        error: None,
        cgroups: resolver.map(|mut r| {
            // Its first verdicts went in with the load: the changes from
            // here on are the run's to give the kernel.
            if !plan.kernel.cgroup_filter.is_empty() {
                r.track_changes();
            }
            r
        }),
        set_verdict: (!plan.kernel.cgroup_filter.is_empty()).then(|| {
            let k = &kernel;
            Box::new(move |key: &ebq_cgroup_key, v: Option<u8>| k.set_cgroup_verdict(key, v))
                as SetVerdict<'_>
        }),
        stream: plan.table().stream.map(|make| make(&opts.stream)),
        feeds: plan
            .kernel
            .feeds
            .iter()
            .filter_map(|f| {
                let key = plan.table().column(f.key)?;
                Some((f.kind, key, (f.make)(&opts.stream)))
            })
            .collect(),
    });
    let mut builder = RingBufferBuilder::new();
    builder
        .add(kernel.events(), |data: &[u8]| {
            pipeline.borrow_mut().on_event(data)
        })
        .map_err(|e| KernelError::failed("setting up the ring buffer", e))?;
    let rb = builder
        .build()
        .map_err(|e| KernelError::failed("setting up the ring buffer", e))?;

    let deadline = opts.duration.map(|d| Instant::now() + d);
    let mut last_loss_check = Instant::now();
    let mut last_target_check = Instant::now();
    let mut last_pipe_check = Instant::now();
    let mut reported_lost = 0u64;
    let kernel_agg = matches!(plan.agg_place, crate::plan::AggPlace::Kernel(_));
    let mut next_interval = opts.interval.map(|i| Instant::now() + i);
    loop {
        match rb.poll(POLL) {
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => {}
            // Our own callback asked to stop (LIMIT, a stop, a closed pipe).
            Err(_) if pipeline.borrow().done || stop.load(Ordering::SeqCst) => {}
            Err(e) => return Err(KernelError::failed("reading the ring buffer", e)),
            Ok(()) => {}
        }
        // A poll that timed out reads nothing (libbpf's ring_buffer__poll
        // only reads rings epoll reported); events left waiting by wakeup
        // batching are read here.
        if !pipeline.borrow().done {
            let _ = rb.consume();
            pipeline.borrow_mut().tick();
        }
        // Losses are said while they happen, at most once a second.
        if last_loss_check.elapsed() >= Duration::from_secs(1) {
            last_loss_check = Instant::now();
            let lost = kernel.lost();
            if lost > reported_lost {
                eprintln!("ebq: warning: {} events lost so far (the ring buffer was full); a larger --buffer-size gives more room", lost);
                reported_lost = lost;
            }
        }
        {
            let mut p = pipeline.borrow_mut();
            if p.error.is_none() {
                if let Err(e) = p.sink.flush() {
                    p.error = Some(e);
                    p.done = true;
                }
            }
            if p.done {
                break;
            }
            if next_interval.is_some_and(|t| Instant::now() >= t) {
                if kernel_agg {
                    p.absorb(kernel.drain_agg()?);
                }
                if let Some(rows) = p.take_results() {
                    let set = ResultSet {
                        rows,
                        interval_end: Some(unix_now()),
                    };
                    if let Err(e) = p.sink.set(set) {
                        p.error = Some(e);
                        break;
                    }
                }
                next_interval = opts.interval.map(|i| Instant::now() + i);
            }
        }
        if stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // A syscall, so at most every POLL rather than after each batch.
        if last_pipe_check.elapsed() >= POLL {
            last_pipe_check = Instant::now();
            let mut p = pipeline.borrow_mut();
            if p.sink.gone() {
                p.error = Some(io::Error::from(io::ErrorKind::BrokenPipe));
                break;
            }
        }
        let target_gone = match (&mut child, &opts.target) {
            (Some(c), _) => c.ended(),
            // /proc reads, so a few times a second rather than every poll.
            (None, Target::Pid(_)) if last_target_check.elapsed() >= Duration::from_millis(200) => {
                last_target_check = Instant::now();
                followed_process.as_ref().is_some_and(|p| p.ended())
            }
            _ => false,
        };
        if target_gone {
            // Its last events may still be in the buffer.
            let _ = rb.consume();
            break;
        }
    }
    // Pending rows are flushed: detach first, so the buffer can only shrink,
    // then read what is in it (at most --buffer-size: a bounded wait).
    kernel.detach();
    pipeline.borrow_mut().draining = true;
    let _ = rb.consume();
    drop(rb);
    let mut p = pipeline.into_inner();
    if !p.done {
        p.tick();
    }
    if kernel_agg {
        p.absorb(kernel.drain_agg()?);
    }
    let mut written = Ok(());
    if p.error.is_none() {
        if let Some(rows) = p.take_results() {
            written = p.sink.set(ResultSet {
                rows,
                interval_end: opts.interval.map(|_| unix_now()),
            });
        }
    }
    // Whatever ended the run, the sink is finished; the first error counts.
    let flushed = written.and(p.sink.finish());
    if let Mode::Groups(g) = &p.mode {
        summary.capped += g.dropped;
    }
    summary.capped += p.capped;
    summary.kernel = kernel.stats(&physical);
    summary.decoded = p.decoded;
    summary.kept = p.kept;
    summary.bad_records = p.bad;
    // A command still running when the run ends is ended with it, with
    // the processes of its tree that left its process group (setsid). In
    // a pid namespace of its own ebq knows those only by the kernel's
    // numbers, which kill() does not take: the group alone then.
    let tree: Vec<u32> = if in_pidns {
        Vec::new()
    } else {
        kernel
            .followed()
            .into_iter()
            .filter(|p| *p != self_tgid)
            .collect()
    };
    let error = p.error.take();
    // The pipeline may hold the kernel (set_verdict): it goes first.
    drop(p);
    drop(kernel);
    if let Some(mut c) = child {
        c.terminate(&tree);
        summary.command_status = c.exit_status();
    }
    if let Some(e) = error {
        return Err(Error::Output(e));
    }
    flushed.map_err(Error::Output)?;
    Ok(summary)
}
