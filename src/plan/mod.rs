//! Planning: from a bound query to what the kernel is asked to do.
//!
//! Pushdown is a contract per WHERE conjunct (DataFusion's filter pushdown):
//! `Exact` when the kernel filter keeps exactly the events the conjunct
//! keeps, `Inexact` when it keeps a superset, `Userspace` when the kernel
//! cannot help. Kernel filters are conservative by construction (never
//! drop an event the WHERE keeps), and the userspace filter re-checks the
//! whole WHERE on every event that reaches it, so a kernel filter can only
//! ever save work, never change a result.
//!
//! The physical side: which programs to attach (probe pruning), what the
//! kernel must copy (capture pruning), and the filter map contents.

pub mod explain;
pub mod never;
pub mod physical;
mod pushdown;

use std::collections::{BTreeMap, BTreeSet};

use crate::abi::types::{ebq_filter_col, ebq_quick};
use crate::catalog::{Program, Table, Type};
use crate::model::expr::{AggFunc, Expr, Query};
use crate::model::functions::{BufLen, BufSpec, FunctionRequest};
use crate::model::schema::AttachKey;
use crate::model::schema::OutColumn;

/// Bytes of a comm the kernel keeps (EBQ_COMM_LEN - 1 in bpf/ebq.h;
/// kernel/load.rs's tests check it against the generated struct).
pub const COMM_MAX: usize = 15;
/// Bytes of a path prefix the LPM trie keys hold (EBQ_PREFIX_MAX - 1).
pub const PREFIX_MAX: usize = 255;

/// Largest IN / NOT IN set of one column that goes into the kernel.
pub const MAX_KERNEL_SET: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Pushed {
    /// The kernel filter is exactly the conjunct.
    Exact,
    /// The kernel filter keeps a superset; why.
    Inexact(String),
    /// Only userspace can decide; why.
    Userspace(String),
    /// Decides which programs are attached at all.
    Programs,
    /// Decides what is probed, when ebq attaches (function_events'
    /// binary and function): no row of anything else can come.
    Attach,
}

/// One WHERE conjunct and what became of it.
#[derive(Debug)]
pub struct ConjunctPlan {
    pub sql: String,
    pub pushed: Pushed,
}

/// The kernel filter of one integer column: lo <= v <= hi, v in `in_set`
/// (when set), v not in `not_in`.
#[derive(Clone, Debug, PartialEq)]
pub struct IntFilter {
    pub column: &'static str,
    pub lo: i64,
    pub hi: i64,
    /// The column's whole domain: a range equal to it filters nothing.
    pub min: i64,
    pub max: i64,
    pub in_set: Option<BTreeSet<i64>>,
    pub not_in: BTreeSet<i64>,
}

impl IntFilter {
    pub fn has_range(&self) -> bool {
        self.lo > self.min || self.hi < self.max
    }

    /// Whether some value in a..=b may pass (conservative: true when in
    /// doubt, false only when none can).
    pub fn may_pass(&self, a: i64, b: i64) -> bool {
        let (lo, hi) = (a.max(self.lo), b.min(self.hi));
        if lo > hi {
            return false;
        }
        match &self.in_set {
            Some(set) => set.range(lo..=hi).any(|v| !self.not_in.contains(v)),
            None => !(lo == hi && self.not_in.contains(&lo)),
        }
    }

    /// Folds range and NOT IN into an IN set when there is one: the kernel
    /// then does one lookup instead of three checks.
    pub(super) fn simplify(&mut self) {
        if let Some(set) = &mut self.in_set {
            let (lo, hi, not_in) = (self.lo, self.hi, &self.not_in);
            set.retain(|v| *v >= lo && *v <= hi && !not_in.contains(v));
            self.lo = self.min;
            self.hi = self.max;
            self.not_in.clear();
            // A set of consecutive values (pid = 42 is the common one) is a
            // range: two compares in the kernel instead of a map lookup.
            let (first, last) = (set.first().copied(), set.last().copied());
            match (first, last) {
                (Some(a), Some(b)) if (b - a) as usize + 1 == set.len() => {
                    self.lo = a;
                    self.hi = b;
                    self.in_set = None;
                }
                (None, _) => {
                    // No value can match: an empty range rejects everything.
                    self.lo = 1;
                    self.hi = 0;
                    self.min = 0;
                    self.in_set = None;
                }
                _ => {}
            }
        }
    }
}

/// Everything the kernel side is told for one query.
#[derive(Debug, Default)]
pub struct KernelPlan {
    /// By filter slot (enum ebq_filter_col).
    pub ints: BTreeMap<u32, IntFilter>,
    pub comm_in: Option<BTreeSet<String>>,
    pub comm_not_in: BTreeSet<String>,
    pub path_prefixes: Option<BTreeSet<String>>,
    /// Values of the table's Probe column the query allows (None: all).
    pub probe_tags: Option<BTreeSet<String>>,
    /// enum ebq_capture bits.
    pub capture: u32,
    /// Bits of the Probe column's values the kernel keeps (cfg.actions),
    /// for tables whose programs serve several; 0 keeps all.
    pub actions: u32,
    /// The probes the query needs, owned: the table's the plan kept, then
    /// FOLLOW_PROGRAMS under -c / -p.
    pub programs: Vec<Program>,
    pub follow: bool,
    /// The number every header of the table's events carries (cfg.kind).
    pub kind: u32,
    /// Other tables' programs feeding columns the query reads
    /// (model/stream.rs): socket_events' remote_name, from DNS answers.
    pub feeds: Vec<&'static crate::model::stream::SideFeed>,
    /// The slot whose IN set the kernel tests as a bitmap (cfg.nr_bitmap).
    pub bitmap_slot: Option<u32>,
    /// function_events: the binaries and functions the WHERE names, found
    /// on the machine before loading (kernel/uprobes.rs).
    pub functions: Option<crate::model::functions::FunctionRequest>,
    /// function_events' buf(argN, len), copied by the kernel (cfg.buf_arg).
    pub buffer: Option<crate::model::functions::BufSpec>,
    /// Conjuncts that read the row's cgroup alone (container_id = ...):
    /// the run gives each cgroup it resolves their verdict
    /// (cgroup_verdicts, bpf/cgroup.h).
    pub cgroup_filter: Vec<Expr>,
}

impl KernelPlan {
    /// The quick check (bpf/ebq.h, enum ebq_quick) and its value: the
    /// first of pid, uid and gid the filter pins to one value, else the
    /// one comm (its value is in the comm words, not here).
    pub fn quick(&self) -> Option<(ebq_quick, u32)> {
        let pinned = |col: ebq_filter_col| {
            self.ints.get(&col.0).and_then(|f| {
                (f.lo == f.hi && f.in_set.is_none() && f.not_in.is_empty())
                    .then(|| u32::try_from(f.lo).ok())
                    .flatten()
            })
        };
        [
            (ebq_filter_col::EBQ_COL_PID, ebq_quick::EBQ_QUICK_PID),
            (ebq_filter_col::EBQ_COL_UID, ebq_quick::EBQ_QUICK_UID),
            (ebq_filter_col::EBQ_COL_GID, ebq_quick::EBQ_QUICK_GID),
        ]
        .into_iter()
        .find_map(|(col, quick)| pinned(col).map(|v| (quick, v)))
        .or(match &self.comm_in {
            Some(set) if set.len() == 1 && self.comm_not_in.is_empty() => {
                Some((ebq_quick::EBQ_QUICK_COMM, 0))
            }
            _ => None,
        })
    }
}

/// Where an aggregate query aggregates.
#[derive(Debug, Clone, PartialEq)]
pub enum AggPlace {
    /// Not an aggregate query.
    None,
    /// Every event goes up through the ring buffer; why not the kernel.
    Userspace(String),
    /// In a BPF hash map: no event goes through the ring buffer.
    Kernel(KernelAgg),
}

/// The kernel's share of an aggregate query (see struct ebq_agg_key).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelAgg {
    /// enum ebq_agg_keys bits.
    pub keys: u32,
    /// For each GROUP BY key of the query, its ebq_agg_keys bit.
    pub key_fields: Vec<u32>,
    /// enum ebq_agg_measure.
    pub measure: u8,
    pub hist: KernelHist,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KernelHist {
    None,
    Pow2,
    Linear { min: i64, max: i64, step: i64 },
}

/// Buckets of a kernel histogram (EBQ_HIST_BUCKETS in bpf/ebq.h).
pub const KERNEL_HIST_BUCKETS: usize = 64;

impl AggPlace {
    pub fn describe(&self) -> String {
        match self {
            AggPlace::None => "-".into(),
            AggPlace::Userspace(why) => format!("userspace ({why})"),
            AggPlace::Kernel(_) => "the kernel (a BPF hash map read at each interval and at the end: no event goes through the ring buffer)".into(),
        }
    }
}

/// Whether the kernel can aggregate this query, and how; else why not.
fn place_aggregation(table: &Table, query: &Query, conjuncts: &[ConjunctPlan]) -> AggPlace {
    use crate::model::expr::{AggFunc, Expr};
    let Some(agg) = &query.agg else {
        return AggPlace::None;
    };
    let why = |s: &str| AggPlace::Userspace(s.to_string());
    let Some(spec) = table.agg else {
        let kernel: Vec<&str> = crate::catalog::TABLES
            .iter()
            .filter(|t| t.agg.is_some())
            .map(|t| t.name)
            .collect();
        let list = match kernel.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => kernel.join(""),
        };
        return why(&format!(
            "{} aggregates in userspace; {list} aggregate in the kernel",
            table.name
        ));
    };
    if let Some(c) = conjuncts
        .iter()
        .find(|c| !matches!(c.pushed, Pushed::Exact | Pushed::Programs | Pushed::Attach))
    {
        return AggPlace::Userspace(format!(
            "WHERE {} is not decided exactly in the kernel",
            c.sql
        ));
    }
    let mut keys = 0;
    let mut key_fields = Vec::new();
    for k in &agg.keys {
        let bit = match k {
            Expr::Column(c) => spec
                .all_keys()
                .find(|(n, _)| *n == table.columns[*c].name)
                .map(|(_, b)| *b),
            _ => None,
        };
        let Some(bit) = bit else {
            let names: Vec<&str> = spec.all_keys().map(|(n, _)| *n).collect();
            return AggPlace::Userspace(format!("the kernel groups by {} only", names.join(", ")));
        };
        keys |= bit;
        key_fields.push(bit);
    }
    let mut measure = 0u8;
    let mut hist = KernelHist::None;
    for a in &agg.aggs {
        match a.func {
            AggFunc::CountStar => continue,
            AggFunc::Count | AggFunc::CountDistinct => {
                return why("the kernel counts with count(*) only")
            }
            _ => {}
        }
        let m = match &a.arg {
            Some(Expr::Column(c)) => spec
                .measures
                .iter()
                .find(|(n, _)| *n == table.columns[*c].name)
                .map(|(_, m)| *m),
            _ => None,
        };
        let Some(m) = m else {
            return why(&format!(
                "{}: the kernel aggregates a bare duration or exit_code only",
                a.sql
            ));
        };
        if measure != 0 && measure != m {
            return why("the kernel aggregates one column per query");
        }
        measure = m;
        let h = match a.func {
            AggFunc::Hist => KernelHist::Pow2,
            AggFunc::Lhist { min, max, step } => {
                if crate::model::hist::linear_len(min, max, step) > KERNEL_HIST_BUCKETS {
                    return why(&format!(
                        "{}: more buckets than the kernel keeps ({KERNEL_HIST_BUCKETS})",
                        a.sql
                    ));
                }
                KernelHist::Linear { min, max, step }
            }
            _ => continue,
        };
        if hist != KernelHist::None && hist != h {
            return why("the kernel keeps one histogram per query");
        }
        hist = h;
    }
    AggPlace::Kernel(KernelAgg {
        keys,
        key_fields,
        measure,
        hist,
    })
}

pub struct Plan {
    pub agg_place: AggPlace,
    pub query: Query,
    pub conjuncts: Vec<ConjunctPlan>,
    pub kernel: KernelPlan,
    /// The whole WHERE, re-checked in userspace.
    pub predicate: Option<Expr>,
    /// The output schema: the columns of every row, in SELECT order.
    pub output: Vec<OutColumn>,
    /// The query reads a column of the row's cgroup (container_id ...):
    /// the run resolves each row's cgroup (exec/containers.rs).
    pub cgroups: bool,
}

impl Plan {
    pub fn table(&self) -> &'static Table {
        self.query.table
    }

    /// Ring buffer bytes without --buffer-size: the table's, or 64 KiB
    /// when the kernel aggregates (no event goes through it then).
    pub fn default_buffer(&self) -> u32 {
        if matches!(self.agg_place, AggPlace::Kernel(_)) {
            64 << 10
        } else {
            self.table().buffer
        }
    }
}

/// The programs of -c / -p, whatever the table (bpf/common.bpf.h): a task
/// forked by a followed one is followed too, and one freed is forgotten.
pub static FOLLOW_PROGRAMS: [Program; 2] = [
    Program::new("follow_fork", "raw_tp/sched_process_fork", &[], None),
    Program::new("follow_free", "raw_tp/sched_process_free", &[], None),
];

/// The cgroup notes (bpf/cgroup.bpf.h), whatever the table, for a query
/// that reads or filters on the row's cgroup: cgroups made during the run
/// are known before their tasks' events are read.
pub static CGROUP_PROGRAMS: [Program; 2] = [
    Program::new(
        "cgroup_mkdir",
        "raw_tp/cgroup_mkdir",
        &[],
        Some(crate::abi::types::ebq_cgroup_stat::EBQ_STAT_SENT_CGROUP.0),
    ),
    Program::new(
        "cgroup_rmdir",
        "raw_tp/cgroup_rmdir",
        &[],
        Some(crate::abi::types::ebq_cgroup_stat::EBQ_STAT_SENT_CGROUP_RMDIR.0),
    ),
];

/// Why conjunct `e` cannot be given to the kernel, when it reads a column
/// whose kernel filter would drop rows another column the query reads
/// needs (dns_events' direction, when latency pairs responses with their
/// queries: `Column::needs_all_for`).
fn kept_whole(table: &Table, e: &Expr, used: &[usize]) -> Option<String> {
    let mut cols = Vec::new();
    e.columns(&mut cols);
    cols.iter().find_map(|&c| {
        let col = &table.columns[c];
        used.iter()
            .map(|&u| table.columns[u].name)
            .find(|u| col.needs_all_for.contains(u))
            .map(|u| {
                format!(
                    "{u} needs the rows a kernel filter on {} would drop",
                    col.name
                )
            })
    })
}

/// Plans `query`; `follow` is true under -c / -p.
pub fn plan(query: Query, follow: bool) -> Plan {
    let table = query.table;
    let mut kernel = KernelPlan {
        follow,
        kind: crate::catalog::kind(table),
        bitmap_slot: table.bitmap_slot,
        ..Default::default()
    };
    let used = query.used_columns();
    let mut conjuncts: Vec<ConjunctPlan> = query
        .conjuncts
        .iter()
        .map(|c| ConjunctPlan {
            sql: c.sql.clone(),
            pushed: match kept_whole(table, &c.expr, &used) {
                Some(why) => Pushed::Userspace(why),
                None => pushdown::attach(table, &c.expr, &mut kernel)
                    .unwrap_or_else(|| pushdown::push(table, &c.expr, &mut kernel)),
            },
        })
        .collect();
    for f in kernel.ints.values_mut() {
        f.simplify();
    }
    let attach_key = |c: usize| match table.columns[c].filter {
        crate::catalog::KernelFilter::Attach(k) => Some(k),
        _ => None,
    };
    if table.probes.is_some() || (0..table.columns.len()).any(|c| attach_key(c).is_some()) {
        let req = kernel.functions.get_or_insert_with(Default::default);
        // A table with a provider probes USDT notes, not symbols.
        req.usdt = (0..table.columns.len()).any(|c| attach_key(c) == Some(AttachKey::Provider));
        if let Some(fp) = table.probes {
            use crate::model::functions::NameMatch;
            req.fixed = Some(fp);
            req.functions = vec![fp
                .functions
                .iter()
                .map(|(f, _)| NameMatch::Exact((*f).into()))
                .collect()];
            if let Some(v) = fp.drop_retval {
                let slot = crate::abi::types::ebq_func_col::EBQ_FUNC_COL_RETVAL.0;
                let f = kernel.ints.entry(slot).or_insert(IntFilter {
                    column: "retval",
                    lo: i64::MIN,
                    hi: i64::MAX,
                    min: i64::MIN,
                    max: i64::MAX,
                    in_set: None,
                    not_in: BTreeSet::new(),
                });
                f.not_in.insert(v);
            }
        }
        // pid = N: probes of that process alone.
        req.pid = kernel
            .ints
            .get(&ebq_filter_col::EBQ_COL_PID.0)
            .filter(|f| f.lo == f.hi && f.in_set.is_none() && f.not_in.is_empty())
            .and_then(|f| u32::try_from(f.lo).ok());
        // A binary is named to be found, and the ends traced are chosen;
        // anywhere else a binary could not be compared with what was (a
        // bare name against a path), and an event would test rows of
        // the ends the columns chose, not choose them.
        req.refused = query
            .conjuncts
            .iter()
            .zip(&conjuncts)
            .find_map(|(q, c)| {
                let mut cols = Vec::new();
                q.expr.columns(&mut cols);
                let key = cols.iter().find_map(|&i| {
                    attach_key(i).filter(|k| matches!(k, AttachKey::Binary | AttachKey::Ends))
                })?;
                (c.pushed != Pushed::Attach).then(|| {
                    let (col, eg) = match key {
                        AttachKey::Binary => ("binary", "binary = '/usr/bin/app', or binary IN (...)"),
                        _ => ("event", "event = 'entry', or event IN ('entry', 'return')"),
                    };
                    format!("WHERE {}: {col} is decided when ebq attaches; name it in a condition of its own ({eg}), not inside OR, NOT or with other columns", q.sql)
                })
            });
    }
    kernel.buffer = query.buffer;
    for &c in &used {
        kernel.capture |= table.columns[c].capture;
    }
    // The row's task read or filtered (-c / -p filter on it too).
    if follow
        || used
            .iter()
            .any(|&c| table.columns[c].task || table.columns[c].cgroup)
    {
        kernel.capture |= table.task_capture;
    }
    if let Some(fp) = table.probes {
        kernel.capture |= fp.capture;
    }
    if let Some(b) = kernel.buffer {
        // A length the return gives: the return is traced.
        if b.len == crate::model::functions::BufLen::Retval {
            kernel.capture |= crate::abi::types::ebq_func_capture::EBQ_FUNC_CAP_RETVAL.0;
        }
    }
    if let Some(req) = kernel.functions.as_mut() {
        // What a `*` alone brought in is NULL where an end lacks it; a
        // column named is refused.
        let named = query.named_columns();
        ends_capture(table, &named, kernel.buffer, req, &mut kernel.capture);
    }
    kernel.programs = table
        .programs
        .iter()
        .filter(|p| p.needs_capture & kernel.capture == p.needs_capture)
        .filter(|p| p.needs_any == 0 || p.needs_any & kernel.capture != 0)
        .filter(|p| match p.capture_variant {
            Some((bits, any)) => (kernel.capture & bits != 0) == any,
            None => true,
        })
        .filter(|p| match p.reports {
            Some((slot, lo, hi)) => kernel.ints.get(&slot).is_none_or(|f| f.may_pass(lo, hi)),
            None => true,
        })
        .filter(|p| match &kernel.probe_tags {
            Some(tags) if !p.tags.is_empty() => p.tags.iter().any(|t| tags.contains(*t)),
            _ => true,
        })
        .chain(FOLLOW_PROGRAMS.iter().filter(|_| follow))
        .cloned()
        .collect();
    let cgroups = query
        .used_columns()
        .iter()
        .any(|&c| table.columns[c].cgroup);
    for &c in &used {
        if let Some(f) = table.columns[c].feed {
            if !kernel.feeds.iter().any(|g| std::ptr::eq(*g, f)) {
                kernel.feeds.push(f);
                kernel.programs.extend(f.programs.iter().cloned());
            }
        }
    }
    if cgroups {
        kernel.programs.extend(CGROUP_PROGRAMS.iter().cloned());
    }
    if let (Some(bit), Some(tags)) = (table.action_bit, &kernel.probe_tags) {
        // No known value at all: a bit no event has, so every one is rejected.
        let mask = tags.iter().filter_map(|t| bit(t)).fold(0, |m, b| m | b);
        kernel.actions = if mask == 0 { 1 << 31 } else { mask };
    }
    // What decided the probes needs no check on the rows they make.
    let predicate = query
        .conjuncts
        .iter()
        .zip(&conjuncts)
        .filter(|(_, c)| c.pushed != Pushed::Attach)
        .map(|(q, _)| q.expr.clone())
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    // Rows of each end apart (event IN ('entry', 'return')): a kernel
    // filter on what one end knows lets the other end's rows through (to
    // SQL their value is NULL), so userspace decides them, and aggregates.
    let split = {
        use crate::abi::types::ebq_func_capture as cap;
        let both = cap::EBQ_FUNC_CAP_AT_ENTRY.0 | cap::EBQ_FUNC_CAP_AT_RETURN.0;
        kernel.functions.is_some() && kernel.capture & both == both
    };
    if split {
        use crate::abi::types::ebq_func_capture as cap;
        let of_one_end = cap::EBQ_FUNC_ENTRY_BITS.0
            | cap::EBQ_FUNC_EXIT_BITS.0
            | cap::EBQ_FUNC_CAP_DURATION.0
            | cap::EBQ_FUNC_CAP_BUF.0;
        for (c, q) in conjuncts.iter_mut().zip(&query.conjuncts) {
            let mut cols = Vec::new();
            q.expr.columns(&mut cols);
            if c.pushed == Pushed::Exact
                && cols
                    .iter()
                    .any(|&i| table.columns[i].capture & of_one_end != 0)
            {
                c.pushed = Pushed::Inexact(
                    "the kernel checks it at its own end of a call, userspace the other end's rows (NULL there)".into(),
                );
            }
        }
    }
    let agg_place = if split && query.agg.is_some() {
        AggPlace::Userspace("rows of each end apart (event) are aggregated in userspace".into())
    } else {
        place_aggregation(table, &query, &conjuncts)
    };
    let output = output_schema(&query);
    Plan {
        agg_place,
        query,
        conjuncts,
        kernel,
        predicate,
        output,
        cgroups,
    }
}

/// The WHERE's event into capture bits (bpf/func.h, EBQ_FUNC_CAP_AT_ENTRY
/// ...), or the refusal of a query that reads what its ends do not have.
fn ends_capture(
    table: &Table,
    used: &[usize],
    buffer: Option<BufSpec>,
    req: &mut FunctionRequest,
    capture: &mut u32,
) {
    use crate::abi::types::ebq_func_capture as cap;
    use crate::model::functions::Ends;
    let ends = match req.ends() {
        Ok(Some(e)) => e,
        Ok(None) => return,
        Err(why) => {
            req.refused.get_or_insert(why);
            return;
        }
    };
    let (entry, ret) = match ends {
        Ends::Call => {
            *capture |= cap::EBQ_FUNC_CAP_PAIR.0;
            return;
        }
        Ends::Split { entry, ret } => (entry, ret),
    };
    *capture |= if entry {
        cap::EBQ_FUNC_CAP_AT_ENTRY.0
    } else {
        0
    } | if ret {
        cap::EBQ_FUNC_CAP_AT_RETURN.0
    } else {
        0
    };
    // A column no row of these ends has: an error, not a column of NULLs.
    let needs = |c: &crate::catalog::Column| {
        let bits = c.capture;
        if bits & cap::EBQ_FUNC_CAP_DURATION.0 != 0 {
            Some("both ends of a call (event = 'call')")
        } else if bits & cap::EBQ_FUNC_EXIT_BITS.0 != 0 && !ret {
            Some("the return (event = 'return')")
        } else if bits & cap::EBQ_FUNC_ENTRY_BITS.0 != 0 && !entry {
            Some("the entry (event = 'entry')")
        } else {
            None
        }
    };
    let bad = used
        .iter()
        .map(|&c| &table.columns[c])
        .find_map(|c| needs(c).map(|n| (c.name, n)))
        .or_else(|| {
            buffer
                .filter(|b| b.len == BufLen::Retval)
                .map(|_| ("buf(argN, retval)", "both ends of a call (event = 'call')"))
        });
    if let Some((col, what)) = bad {
        req.refused.get_or_insert(format!(
            "{col} is known only with {what}: the WHERE's event leaves it out"
        ));
    }
}

/// The columns of `query`'s rows: names, the catalog's width hints, and
/// which are numbers (right-aligned in a table).
fn output_schema(query: &Query) -> Vec<OutColumn> {
    let table = query.table;
    query
        .outputs
        .iter()
        .map(|o| match &o.expr {
            Expr::Column(c) => {
                let col = &table.columns[*c];
                OutColumn {
                    name: o.name.clone(),
                    width: col.width,
                    numeric: col.ty == Type::Integer,
                }
            }
            _ => OutColumn {
                name: o.name.clone(),
                width: 5,
                numeric: matches!(o.expr.ty(table), Some(Type::Integer | Type::Float))
                    || matches!(&o.expr, Expr::Agg(i) if query.agg.as_ref().is_some_and(|a| !matches!(a.aggs[*i].func, AggFunc::Hist | AggFunc::Lhist { .. } | AggFunc::Min | AggFunc::Max))),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests;
