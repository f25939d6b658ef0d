//! The catalog: every table and column ebq knows, in one place.
//!
//! It is the single source of truth that the binder (names, types), the
//! pushdown planner (what each column can filter in the kernel), the
//! physical planner (which programs a table needs, what a column makes the
//! kernel capture), the decoder (how a column is read from an event),
//! `--list`, `--explain`, the man page and the completions all read. A new
//! table is a new entry here, a BPF object and a decoder.
//!
//! osquery's names are spoken too: its table names are table aliases, its
//! column names are columns of their own, column aliases (`Column::alias`,
//! shown by --list), or, for what ebq does not capture, refused columns
//! (`Column::refused`): hidden, named in --list with the reason, and a
//! query that reads one fails with that reason (`uncaptured`) instead of
//! "unknown column".

pub mod bash;
pub mod block;
pub mod common;
pub mod dns;
pub mod exit;
pub mod file;
pub mod func;
pub mod module;
pub mod oom;
pub mod process;
pub mod sched;
pub mod signal;
pub mod socket;
pub mod ssl;
pub mod syscall;
pub mod tcp;
pub mod usdt;
pub mod user;

use crate::abi::types::ebq_agg_keys;
pub use crate::model::probe::Program;
pub use crate::model::schema::{
    suggest, AttachKey, Column, Domain, KernelAggSpec, KernelFilter, Table, Type,
};

/// Header columns every aggregating table groups by in the kernel
/// (bpf/agg.bpf.h, agg_key_of), with their enum ebq_agg_keys bit.
pub const HEADER_AGG_KEYS: [(&str, u32); 6] = [
    ("pid", ebq_agg_keys::EBQ_AGG_PID.0),
    ("tid", ebq_agg_keys::EBQ_AGG_TID.0),
    ("uid", ebq_agg_keys::EBQ_AGG_UID.0),
    ("gid", ebq_agg_keys::EBQ_AGG_GID.0),
    ("cgroup_id", ebq_agg_keys::EBQ_AGG_CGROUP.0),
    ("comm", ebq_agg_keys::EBQ_AGG_COMM.0),
];

/// The measures of a table whose exit reports the call's result: its
/// duration and return value (bpf/agg.bpf.h, agg_add).
pub const RESULT_MEASURES: &[(&str, u8)] = &[
    (
        "duration",
        crate::abi::types::ebq_agg_measure::EBQ_MEASURE_DURATION.0 as u8,
    ),
    (
        "exit_code",
        crate::abi::types::ebq_agg_measure::EBQ_MEASURE_EXIT_CODE.0 as u8,
    ),
];

impl KernelAggSpec {
    /// Every column the kernel groups this table by.
    pub fn all_keys(&self) -> impl Iterator<Item = &(&'static str, u32)> {
        HEADER_AGG_KEYS.iter().chain(self.keys)
    }
}

/// Every table, in --list order.
pub static TABLES: &[&Table] = &[
    &process::PROCESS_EVENTS,
    &exit::PROCESS_EXIT_EVENTS,
    &signal::SIGNAL_EVENTS,
    &socket::SOCKET_EVENTS,
    &file::FILE_EVENTS,
    &module::MODULE_EVENTS,
    &syscall::SYSCALL_EVENTS,
    &dns::DNS_EVENTS,
    &func::FUNCTION_EVENTS,
    &bash::BASH_EVENTS,
    &ssl::SSL_EVENTS,
    &user::USER_EVENTS,
    &usdt::USDT_EVENTS,
    &block::BLOCK_IO_EVENTS,
    &oom::OOM_EVENTS,
    &sched::SCHED_EVENTS,
    &tcp::TCP_EVENTS,
];

/// The error for a query reading a column ebq does not capture (the
/// first such of `used`, in column order), or None.
pub fn uncaptured(table: &Table, used: &[usize]) -> Option<String> {
    used.iter().find_map(|&c| {
        let col = &table.columns[c];
        col.refused.map(|why| {
            format!(
                "column {} of {} is not captured by ebq: {why}",
                col.name, table.name
            )
        })
    })
}

/// The number the kernel writes into every header of `table`'s events
/// (cfg.kind): its place in TABLES, from 1. Given here, by the order of
/// registration, so no header numbers the tables by hand.
pub fn kind(table: &Table) -> u32 {
    TABLES
        .iter()
        .position(|t| std::ptr::eq(*t, table))
        .map_or(0, |i| i as u32 + 1)
}

pub fn table(name: &str) -> Option<&'static Table> {
    let name = name.to_ascii_lowercase();
    TABLES
        .iter()
        .copied()
        .find(|t| t.name == name || t.aliases.contains(&name.as_str()))
}

pub fn table_names() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for t in TABLES {
            assert!(seen.insert(t.name));
            for a in t.aliases {
                assert!(seen.insert(a), "alias {a} clashes");
            }
            let mut cols = std::collections::HashSet::new();
            for c in t.columns {
                assert!(cols.insert(c.name), "{}.{} twice", t.name, c.name);
                for a in c.aliases {
                    assert!(cols.insert(a), "{}.{} alias {a} clashes", t.name, c.name);
                    assert_eq!(*a, a.to_ascii_lowercase());
                }
                assert_eq!(c.name, c.name.to_ascii_lowercase());
                assert!(
                    !c.doc.is_empty() && c.doc.len() <= 79,
                    "{}.{} doc",
                    t.name,
                    c.name
                );
                assert!(c.width > 0);
            }
        }
    }

    #[test]
    fn lookups_accept_aliases_in_any_case() {
        assert_eq!(
            table("BPF_PROCESS_EVENTS").map(|t| t.name),
            Some("process_events")
        );
        let t = table("process_events").expect("table");
        assert_eq!(t.column("CID"), t.column("cgroup_id"));
        assert_eq!(t.column("ppid"), t.column("parent"));
        assert!(t.column("nope").is_none());
        let f = table("process_file_events").expect("table");
        assert_eq!(f.column("operation"), f.column("action"));
    }

    #[test]
    fn refused_columns_say_why() {
        let t = table("process_events").expect("table");
        let btime = t.column("btime").expect("osquery's btime is known");
        assert!(t.columns[btime].hidden);
        let msg = uncaptured(t, &[0, btime]).expect("refused");
        assert!(
            msg.starts_with("column btime of process_events is not captured by ebq: "),
            "{msg}"
        );
        assert_eq!(uncaptured(t, &[0, 2]), None);
    }

    #[test]
    fn suggestions_find_typos_only() {
        assert_eq!(suggest("pdi", ["pid", "path", "uid"]), Some("pid"));
        assert_eq!(suggest("cmdlin", ["cmdline", "comm"]), Some("cmdline"));
        assert_eq!(
            suggest("process_event", table_names()),
            Some("process_events")
        );
        assert_eq!(suggest("zzzzzz", ["pid", "uid"]), None);
    }
}
