//! The schema's vocabulary: what a table, a column, a kernel filter and a
//! program of a table are. The catalog (src/catalog/) fills these in, one
//! file per table; every stage reads them. They sit on the shared floor so
//! that the bound query (model/expr.rs) can name its table and the types
//! of its results without importing the catalog's tables.

use super::probe::Program;
use super::record::{Layout, Record};
use super::value::Value;

/// SQL type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Integer,
    Text,
    Boolean,
    /// Results only: avg() and arithmetic with one.
    Float,
    /// Results only: hist() and lhist().
    Hist,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Integer => "INTEGER",
            Type::Text => "TEXT",
            Type::Boolean => "BOOLEAN",
            Type::Float => "FLOAT",
            Type::Hist => "HISTOGRAM",
        }
    }
}

/// What a column can filter in the kernel.
#[derive(Clone, Copy, Debug)]
pub enum KernelFilter {
    /// Only in userspace.
    None,
    /// An integer slot of the kernel filter (enum ebq_filter_col in
    /// bpf/ebq.h), valid over `[min, max]`: =, !=, <, <=, >, >=, BETWEEN,
    /// IN, NOT IN.
    Int { slot: u32, min: i64, max: i64 },
    /// The task's comm: =, !=, IN, NOT IN, through the comm_sets map.
    Comm,
    /// A path: LIKE 'prefix%' through the path_prefixes LPM trie.
    PathPrefix,
    /// Picks the programs that are attached at all (probe pruning):
    /// =, IN on the program tags.
    Probe,
    /// Decided when ebq attaches (function_events' binary, function and
    /// event): =, IN and LIKE pick what is probed at all
    /// (model/functions.rs).
    Attach(AttachKey),
    /// A TEXT column whose values are names of an integer slot's values
    /// (syscall names for syscall numbers): =, !=, IN, NOT IN.
    Named {
        slot: u32,
        to_int: fn(&str) -> Option<i64>,
    },
}

/// What a column decided at attach time names (`KernelFilter::Attach`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachKey {
    /// The file probed: a path, or a bare name found as the dynamic
    /// linker would.
    Binary,
    /// A function symbol (function_events) or a static probe's name
    /// (usdt_events).
    Function,
    /// A static probe's provider: the table probes .note.stapsdt, not
    /// symbols.
    Provider,
    /// Which ends of a call make rows (function_events' event).
    Ends,
}

impl KernelFilter {
    /// Operators for `--list TABLE`.
    pub fn operators(self) -> &'static str {
        match self {
            KernelFilter::None => "",
            KernelFilter::Int { .. } => "= != < <= > >= BETWEEN IN NOT IN",
            KernelFilter::Comm => "= != IN NOT IN",
            KernelFilter::PathPrefix => "LIKE 'prefix%'",
            KernelFilter::Probe => "= IN (picks programs)",
            KernelFilter::Attach(AttachKey::Binary | AttachKey::Ends) => {
                "= IN (decide what is probed)"
            }
            KernelFilter::Attach(_) => "= IN LIKE (decide what is probed)",
            KernelFilter::Named { .. } => "= != IN NOT IN",
        }
    }
}

/// The values a column can have when they come from a fixed set (syscall,
/// errno and signal names, actions ...): the binder refuses a literal
/// that is none of them and names the nearest, so a typo is an error, not
/// a query that silently matches nothing.
#[derive(Clone, Copy)]
pub enum Domain {
    /// What one value is ("a file action"), and every value.
    List(&'static str, &'static [&'static str]),
    /// What one value is, whether a text is one, and every value (for
    /// the suggestion).
    Fn {
        what: &'static str,
        has: fn(&str) -> bool,
        all: fn() -> Vec<String>,
    },
}

impl Domain {
    pub fn what(&self) -> &'static str {
        match self {
            Domain::List(w, _) | Domain::Fn { what: w, .. } => w,
        }
    }

    pub fn has(&self, v: &str) -> bool {
        match self {
            Domain::List(_, l) => l.contains(&v),
            Domain::Fn { has, .. } => has(v),
        }
    }

    pub fn all(&self) -> Vec<String> {
        match self {
            Domain::List(_, l) => l.iter().map(|s| s.to_string()).collect(),
            Domain::Fn { all, .. } => all(),
        }
    }

    /// The value nearest to `v`, case aside, when it is near enough.
    pub fn nearest(&self, v: &str) -> Option<String> {
        let all = self.all();
        let lower: Vec<String> = all.iter().map(|a| a.to_ascii_lowercase()).collect();
        let hit = suggest(v, lower.iter().map(String::as_str))?;
        lower.iter().position(|l| l == hit).map(|i| all[i].clone())
    }
}

/// One column of a table.
#[derive(Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    /// One line for --list and the man page.
    pub doc: &'static str,
    /// Left out of SELECT *, selectable by name (osquery's convention).
    pub hidden: bool,
    pub filter: KernelFilter,
    /// enum ebq_capture bits the kernel must copy for this column.
    pub capture: u32,
    /// Reads the column from a decoded event.
    pub get: fn(&Record) -> Value,
    /// Display width hint for streaming table output.
    pub width: usize,
    /// For an INTEGER column with names (signal = 'SIGKILL'): a text
    /// literal compared with it is turned into its number by the binder.
    pub named: Option<fn(&str) -> Option<i64>>,
    /// The fixed set of its values (of its names, for a named INTEGER).
    pub domain: Option<Domain>,
    /// Other names it answers to (osquery's: ppid, cid, operation ...).
    pub aliases: &'static [&'static str],
    /// A column of osquery's that ebq does not capture: why. The binder
    /// accepts it, and `uncaptured` turns its use into that error.
    pub refused: Option<&'static str>,
    /// Read from what userspace learns of the row's cgroup (its path, the
    /// container and pod it belongs to: exec/containers.rs), not from the
    /// event: a query that reads one has its rows' cgroups resolved.
    pub cgroup: bool,
    /// Read from the task the row is about (pid, uid, comm ...): NULL in a
    /// row with no known task (`Record::anonymous`).
    pub task: bool,
    /// Its kernel filter keeps a superset of what the conjunct keeps, and
    /// why (said by --explain): the pushdown is Inexact, never Exact.
    pub inexact: Option<&'static str>,
    /// Columns that need every row this column's kernel filter would
    /// drop (a latency needs the queries a `direction = 'response'` filter
    /// drops): a query reading one keeps this column's filter in userspace.
    pub needs_all_for: &'static [&'static str],
    /// Read from what another table's programs feed the run
    /// (model/stream.rs): a query reading it attaches them.
    pub feed: Option<&'static super::stream::SideFeed>,
}

impl Column {
    /// The column holds a u64 of the kernel's whose values stay below
    /// 2^63 in practice: a cgroup id is kernfs's generation << 32 | inode
    /// number (fs/kernfs/dir.c, kernfs_new_node), so literals up to
    /// u64::MAX are accepted and compared as the constants they are.
    pub fn is_u64(&self) -> bool {
        self.name == "cgroup_id"
    }

    pub const fn new(
        name: &'static str,
        ty: Type,
        doc: &'static str,
        get: fn(&Record) -> Value,
    ) -> Column {
        Column {
            name,
            ty,
            doc,
            hidden: false,
            filter: KernelFilter::None,
            capture: 0,
            get,
            width: match ty {
                Type::Integer | Type::Float => 7,
                Type::Text | Type::Hist => 16,
                Type::Boolean => 5,
            },
            named: None,
            domain: None,
            aliases: &[],
            refused: None,
            cgroup: false,
            task: false,
            inexact: None,
            needs_all_for: &[],
            feed: None,
        }
    }

    /// A column of osquery's that ebq does not capture, and why (one
    /// line, said by --list and by the error a query reading it gets).
    pub const fn refused(name: &'static str, ty: Type, why: &'static str) -> Column {
        let mut c = Column::new(name, ty, why, |_| Value::Null);
        c.hidden = true;
        c.refused = Some(why);
        c
    }

    /// Other names the column answers to.
    pub const fn alias(mut self, names: &'static [&'static str]) -> Column {
        self.aliases = names;
        self
    }

    pub const fn int(name: &'static str, doc: &'static str, get: fn(&Record) -> Value) -> Column {
        Column::new(name, Type::Integer, doc, get)
    }

    pub const fn text(name: &'static str, doc: &'static str, get: fn(&Record) -> Value) -> Column {
        Column::new(name, Type::Text, doc, get)
    }

    pub const fn boolean(
        name: &'static str,
        doc: &'static str,
        get: fn(&Record) -> Value,
    ) -> Column {
        Column::new(name, Type::Boolean, doc, get)
    }

    pub const fn hidden(mut self) -> Column {
        self.hidden = true;
        self
    }

    pub const fn filter(mut self, f: KernelFilter) -> Column {
        self.filter = f;
        self
    }

    /// A kernel filter slot (enum ebq_filter_col) over [min, max].
    /// A kernel filter slot (enum ebq_filter_col, or the table's own
    /// columns' enum in its header) over [min, max].
    pub const fn slot(self, slot: u32, min: i64, max: i64) -> Column {
        self.filter(KernelFilter::Int { slot, min, max })
    }

    pub const fn capture(mut self, bits: u32) -> Column {
        self.capture = bits;
        self
    }

    pub const fn width(mut self, w: usize) -> Column {
        self.width = w;
        self
    }

    pub const fn named(mut self, f: fn(&str) -> Option<i64>) -> Column {
        self.named = Some(f);
        self
    }

    /// Read from the row's resolved cgroup (`Record::cgroup`).
    pub const fn of_cgroup(mut self) -> Column {
        self.cgroup = true;
        self
    }

    /// Read from the row's task.
    pub const fn of_task(mut self) -> Column {
        self.task = true;
        self
    }

    /// Read from a side feed's records.
    pub const fn fed_by(mut self, f: &'static super::stream::SideFeed) -> Column {
        self.feed = Some(f);
        self
    }

    /// Its kernel filter is left to userspace for a query reading one of
    /// `cols` (they need the rows it would drop).
    pub const fn needs_all_for(mut self, cols: &'static [&'static str]) -> Column {
        self.needs_all_for = cols;
        self
    }

    /// Its kernel filter is a superset, for the reason given.
    pub const fn inexact(mut self, why: &'static str) -> Column {
        self.inexact = Some(why);
        self
    }

    pub const fn domain(mut self, d: Domain) -> Column {
        self.domain = Some(d);
        self
    }
}

/// A table's aggregation in the kernel: the columns it groups by and the
/// one it measures, as bpf/agg.bpf.h keys them.
pub struct KernelAggSpec {
    /// Columns of the table's own the kernel can group by (besides the
    /// header's, HEADER_AGG_KEYS), with their enum ebq_agg_keys bit.
    pub keys: &'static [(&'static str, u32)],
    /// Columns sum/min/max/avg/hist can take, with their enum
    /// ebq_agg_measure.
    pub measures: &'static [(&'static str, u8)],
    /// A record of the table with this header and a group key's `nr`
    /// field (the syscall number, the file action): the columns' own
    /// getters then name the key's values as they would an event's.
    pub event: fn(crate::abi::types::ebq_header, u32) -> Record<'static>,
}

/// One table.
pub struct Table {
    pub name: &'static str,
    /// Other names accepted in FROM (osquery's).
    pub aliases: &'static [&'static str],
    /// One line: what one row is.
    pub doc: &'static str,
    pub columns: &'static [Column],
    /// How its records are laid out (its struct in bpf/<table>.h).
    pub layout: Layout,
    /// The filter slot whose IN set the kernel also tests as a bitmap
    /// (cfg.nr_bitmap: syscall numbers), if any.
    pub bitmap_slot: Option<u32>,
    pub programs: &'static [Program],
    /// What the kernel can aggregate (bpf/agg.bpf.h); None: this table
    /// aggregates in userspace only.
    pub agg: Option<&'static KernelAggSpec>,
    /// Default ring buffer bytes: room for a burst of this table's events
    /// at its likely rate. Creating and mapping the buffer costs start-up
    /// time in proportion (4 MiB: ~0.8 ms more than 1 MiB).
    pub buffer: u32,
    /// Its capture bits (cfg.capture: the header's and its own), each
    /// named for --explain, in the order --explain lists them.
    pub captures: &'static [(u32, &'static str)],
    /// What the kernel copies into every event whatever the query, for
    /// --explain (capture pruning covers the rest).
    pub fixed_capture: &'static str,
    /// When the programs serve several values of the Probe column, the bit
    /// of each value in the kernel's action mask (cfg.actions).
    pub action_bit: Option<fn(&str) -> Option<u32>>,
    /// For a table whose rows are not one per record (DNS messages from
    /// packets, reassembled and matched): the stream that makes them
    /// (src/model/stream.rs). None: each record is one row.
    pub stream: Option<super::stream::MakeStream>,
    /// A table built on function_events' programs that probes a fixed
    /// function of a known program (bash_events: bash's readline), in
    /// every copy of it that runs (model/functions.rs).
    pub probes: Option<&'static super::functions::FixedProbes>,
    /// Capture bits the plan sets when the query reads or filters the
    /// row's task (a task or container column, or -c / -p): for a table
    /// whose subject is noted apart from the row (block_io_events' issuer,
    /// at submission), the programs that note it need them. 0: none.
    pub task_capture: u32,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Table {
    /// A column by its name or one of its aliases, in any case.
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = name.to_ascii_lowercase();
        self.columns
            .iter()
            .position(|c| c.name == name || c.aliases.contains(&name.as_str()))
    }

    pub fn visible_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden)
    }
}

/// The known name closest to `name`, when it is close enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) || c.starts_with(&name) || name.starts_with(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A column of a query's output, as the planner gives it (plan::Plan
/// output) and a sink needs it to lay out rows.
#[derive(Clone, Debug)]
pub struct OutColumn {
    pub name: String,
    /// Width hint from the catalog.
    pub width: usize,
    pub numeric: bool,
}
