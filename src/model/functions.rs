//! The user-space functions a query probes, as data: what the WHERE asks
//! for (`FunctionRequest`, from the planner) and what the machine has
//! (`Resolved`, from kernel/uprobes.rs, which reads the binaries). The
//! planner asks the machine nothing, so the binaries and symbols a
//! function_events query names are found between planning and loading,
//! once, and the physical plan, --explain and the rows' `binary` and
//! `function` all read the same `Resolved`.

use std::sync::{Arc, RwLock};

use super::like::Like;

/// One way a name may match: a value of = or IN, or a LIKE pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum NameMatch {
    Exact(String),
    Like(Like),
}

impl NameMatch {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::Exact(v) => v == name,
            NameMatch::Like(l) => l.matches(name),
        }
    }
}

/// What a table built on function_events probes, whatever the query:
/// functions of a program (bash's readline) or of a library (libssl's
/// SSL_read ...), in each distinct copy that runs now (a container's is
/// its own file, found through the process) and in the host's (on PATH,
/// or where the dynamic linker finds the library), for those started
/// later.
#[derive(Debug, PartialEq)]
pub struct FixedProbes {
    /// The program, by its executable's file name (bash): only its
    /// processes are looked at.
    pub program: Option<&'static str>,
    /// The library, by its name up to the version (libssl.so): probed in
    /// every process that maps it, or, with `program`, where the program
    /// lacks the functions (a bash linked with libreadline).
    pub library: Option<&'static str>,
    /// The functions, each with its mode (the cookie's high half:
    /// enum ebq_func_mode, bpf/func.h).
    pub functions: &'static [(&'static str, u32)],
    /// Capture bits (bpf/func.h) every query of the table needs.
    pub capture: u32,
    /// A return value that makes no row, dropped in the kernel
    /// (readline's NULL at the end of input).
    pub drop_retval: Option<i64>,
}

impl FixedProbes {
    /// What --explain and errors call what is probed.
    pub fn what(&self) -> &'static str {
        self.program.or(self.library).unwrap_or("?")
    }

    /// The mode of function `name`.
    pub fn mode(&self, name: &str) -> u32 {
        self.functions
            .iter()
            .find(|(f, _)| *f == name)
            .map_or(0, |(_, m)| *m)
    }
}

/// What a function_events query asks to probe: every group of `functions`
/// holds (one per WHERE conjunct), and in each group one match does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionRequest {
    /// The binaries named (= or IN), per conjunct; empty: none named.
    pub binaries: Vec<Vec<String>>,
    /// The function names asked for, per conjunct; empty: every function.
    pub functions: Vec<Vec<NameMatch>>,
    /// `pid = N`: probes of that process alone, and its files.
    pub pid: Option<u32>,
    /// What makes the query one ebq cannot run as asked, said from the
    /// user's side (a conjunct that reads `binary` other than to name
    /// it, an `event` that cannot be): refused when it resolves.
    pub refused: Option<String>,
    /// The ends of a call allowed (event = / IN ...), per conjunct, each
    /// of `END_NAMES`; empty: the columns read decide.
    pub ends: Vec<Vec<String>>,
    /// A table's fixed probes (every running copy of a program).
    pub fixed: Option<&'static FixedProbes>,
    /// usdt_events: static probes (.note.stapsdt) by `providers` and, in
    /// `functions`, their names, instead of function symbols.
    pub usdt: bool,
    /// The providers asked for, per conjunct; empty: every provider.
    pub providers: Vec<Vec<NameMatch>>,
}

/// function_events' `buf(argN, len)`: the bytes an argument points to,
/// as many as a constant, another argument or the return value says
/// (bpf/func.h, cfg.buf_arg). One per query: a row carries one buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufSpec {
    /// The argument holding the pointer, 0..=5.
    pub arg: u8,
    pub len: BufLen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufLen {
    /// That many bytes, at most `BUF_MAX`.
    Const(u32),
    /// As many as argument N says (write's count).
    Arg(u8),
    /// As many as the return value says (read's result): the return is
    /// traced.
    Retval,
}

/// The bytes one buffer copy holds (bpf/func.h, EBQ_FUNC_BUF_MAX).
pub const BUF_MAX: u32 = 8192;

impl std::fmt::Display for BufSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "buf(arg{}, ", self.arg)?;
        match self.len {
            BufLen::Const(n) => write!(f, "{n})"),
            BufLen::Arg(i) => write!(f, "arg{i})"),
            BufLen::Retval => write!(f, "retval)"),
        }
    }
}

/// function_events' `event` values: a row pairing a call's entry and
/// return, a row at the entry alone, a row at the return alone.
pub const END_NAMES: [&str; 3] = ["call", "entry", "return"];

/// Which ends of a call make rows when the WHERE says (`event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ends {
    /// One row per call, at its return, with both ends (event = 'call').
    Call,
    /// Rows at each end traced, alone (event = 'entry', 'return', or
    /// both: two rows per call, as bpftrace's uprobe and uretprobe).
    Split { entry: bool, ret: bool },
}

impl FunctionRequest {
    /// The ends every `event` conjunct allows: None when none is given;
    /// an error when they allow nothing, or mix 'call' with the others.
    pub fn ends(&self) -> Result<Option<Ends>, String> {
        let Some(first) = self.ends.first() else {
            return Ok(None);
        };
        let has = |n: &str| {
            first.iter().any(|v| v == n) && self.ends.iter().all(|g| g.iter().any(|v| v == n))
        };
        let (call, entry, ret) = (has("call"), has("entry"), has("return"));
        let allowed: Vec<String> = END_NAMES
            .iter()
            .filter(|n| has(n))
            .map(|n| format!("'{n}'"))
            .collect();
        match (call, entry || ret) {
            (false, false) => Err("the WHERE's event conditions allow no event ('call', 'entry' or 'return')".into()),
            (true, true) => Err(format!("the WHERE's event allows {}: 'call' (one row per call, both ends paired) cannot be mixed with 'entry' or 'return' (a row at each end); pick one", allowed.join(" and "))),
            (true, false) => Ok(Some(Ends::Call)),
            (false, true) => Ok(Some(Ends::Split { entry, ret })),
        }
    }

    /// Whether a function that answers to any of `names` (its name, its
    /// name@VERSION) is asked for.
    pub fn wants(&self, names: &[&str]) -> bool {
        self.functions
            .iter()
            .all(|g| g.iter().any(|m| names.iter().any(|n| m.matches(n))))
    }

    /// Whether `name` is one the WHERE names exactly (= or IN).
    pub fn names_exactly(&self, name: &str) -> bool {
        self.functions
            .iter()
            .flatten()
            .any(|m| matches!(m, NameMatch::Exact(v) if v == name))
    }

    /// Whether the static probe `provider`:`name` is asked for.
    pub fn wants_usdt(&self, provider: &str, name: &str) -> bool {
        self.providers
            .iter()
            .all(|g| g.iter().any(|m| m.matches(provider)))
            && self
                .functions
                .iter()
                .all(|g| g.iter().any(|m| m.matches(name)))
    }

    /// The binaries every conjunct allows, in the order first named.
    pub fn named_binaries(&self) -> Option<Vec<String>> {
        let (first, rest) = self.binaries.split_first()?;
        let mut out: Vec<String> = Vec::new();
        for b in first {
            if rest.iter().all(|g| g.contains(b)) && !out.contains(b) {
                out.push(b.clone());
            }
        }
        Some(out)
    }
}

/// One file probed.
#[derive(Debug)]
pub struct ResolvedBinary {
    /// Its path as --explain shows it: with "(in pid N's root)" when it
    /// was found through a process's root.
    pub shown: String,
    /// Its path as rows show it: as the process that has it sees it.
    pub path: String,
    /// The path the kernel is given: a /proc/self/fd link to `file`, so
    /// that what is probed is the file whose symbols were read.
    pub attach: String,
    /// The file, held open until the probes are attached: the kernel
    /// resolves `attach` through it.
    #[allow(dead_code)]
    pub file: Option<std::fs::File>,
    /// Its functions probed: indexes into `Resolved::functions`.
    pub functions: Vec<u32>,
    /// Built by Go (no return probes).
    pub go: bool,
}

/// One function probed: its number is its index, the attach cookie's low
/// half (bpf/func.h).
#[derive(Debug, Clone)]
pub struct ResolvedFunction {
    pub binary: u32,
    pub name: String,
    /// What the programs do for it (enum ebq_func_mode): the cookie's
    /// high half.
    pub mode: u32,
    /// Its file offset: where the probe goes.
    pub offset: u64,
}

/// What the run probes.
#[derive(Debug, Default)]
pub struct Resolved {
    pub binaries: Vec<ResolvedBinary>,
    pub functions: Vec<ResolvedFunction>,
    /// Probes in one process (pid = N), else in every process.
    pub pid: Option<u32>,
    /// The functions are USDT probes, named provider:name.
    pub usdt: bool,
    /// What --explain says of how they were found, one line each.
    pub notes: Vec<String>,
}

impl Resolved {
    /// The function numbered `id` and its binary's path.
    pub fn function(&self, id: u32) -> Option<(&str, &str)> {
        let f = self.functions.get(id as usize)?;
        let b = self.binaries.get(f.binary as usize)?;
        Some((b.path.as_str(), f.name.as_str()))
    }
}

/// The run's resolved functions, for the rows' `binary` and `function`
/// (column getters take a record alone). Set once a run resolved them.
static CURRENT: RwLock<Option<Arc<Resolved>>> = RwLock::new(None);

/// Makes `r` the functions rows are read against.
pub fn set_current(r: Arc<Resolved>) {
    if let Ok(mut c) = CURRENT.write() {
        *c = Some(r);
    }
}

/// The binary and name of function `id` of the current run.
pub fn current_function(id: u32) -> Option<(String, String)> {
    let c = CURRENT.read().ok()?;
    let (b, f) = c.as_ref()?.function(id)?;
    Some((b.to_string(), f.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_conjunct_must_allow_a_function_or_binary() {
        let r = FunctionRequest {
            binaries: vec![
                vec!["/a".into(), "/b".into()],
                vec!["/b".into(), "/c".into()],
            ],
            functions: vec![
                vec![NameMatch::Like(Like::new("handle_%", false, None))],
                vec![
                    NameMatch::Exact("handle_get".into()),
                    NameMatch::Exact("main".into()),
                ],
            ],
            pid: None,
            refused: None,
            fixed: None,
            usdt: false,
            providers: vec![],
            ends: vec![],
        };
        assert_eq!(r.named_binaries(), Some(vec!["/b".to_string()]));
        assert!(r.wants(&["handle_get"]));
        assert!(!r.wants(&["main"]));
        assert!(!r.wants(&["handle_put"]));
        assert!(r.names_exactly("main") && !r.names_exactly("handle_put"));
        assert_eq!(FunctionRequest::default().named_binaries(), None);
        assert!(FunctionRequest::default().wants(&["anything"]));
    }

    #[test]
    fn every_event_conjunct_must_allow_an_end() {
        let req = |ends: &[&[&str]]| FunctionRequest {
            ends: ends
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
            ..Default::default()
        };
        assert_eq!(req(&[]).ends(), Ok(None));
        assert_eq!(req(&[&["call"]]).ends(), Ok(Some(Ends::Call)));
        assert_eq!(
            req(&[&["entry", "return"], &["return"]]).ends(),
            Ok(Some(Ends::Split {
                entry: false,
                ret: true
            }))
        );
        assert!(req(&[&["entry"], &["return"]]).ends().is_err());
        assert!(req(&[&["call", "entry"]]).ends().is_err());
    }
}
