//! The command line, as clap parses it: validation only, nothing resolved
//! (config.rs does that once). The same definition generates --help, the
//! man page and the shell completions (doc.rs).

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::output::Format;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color on a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}; expected a duration like 10s, 500ms or 2m"))?;
    if d.is_zero() {
        return Err("must be longer than 0; expected a duration like 10s, 500ms or 2m".into());
    }
    Ok(d)
}

fn parse_pid(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(p) if p > 0 && p <= 4_194_304 => Ok(p),
        _ => Err("expected a process id, a whole number from 1 to 4194304".into()),
    }
}

/// Ring buffer sizes: 4 KiB to 1 GiB, rounded up to a power of two.
fn parse_size(s: &str) -> Result<u32, String> {
    let b: bytesize::ByteSize = s
        .parse()
        .map_err(|_| format!("invalid size {s:?}; expected a size like 4M, 16MiB or 65536"))?;
    // The kernel wants a power of two: 4K (4000 bytes) becomes 4 KiB.
    let b = b.as_u64().checked_next_power_of_two().unwrap_or(u64::MAX);
    if !(4096..=1 << 30).contains(&b) {
        return Err("expected a size from 4KiB to 1GiB, e.g. 16M".into());
    }
    Ok(b as u32)
}

/// Table names and aliases from the catalog: validated by clap and offered
/// by the shell completions.
fn table_names_parser() -> clap::builder::PossibleValuesParser {
    let names = crate::catalog::TABLES
        .iter()
        .flat_map(|t| std::iter::once(t.name).chain(t.aliases.iter().copied()));
    clap::builder::PossibleValuesParser::new(names.map(clap::builder::PossibleValue::new))
}

/// Query what the Linux kernel is doing with one SQL SELECT.
///
/// ebq attaches the smallest set of precompiled eBPF programs that answers
/// the query, filters in the kernel as much of WHERE as it safely can, and
/// streams matching rows as they happen.
#[derive(Debug, Parser)]
#[command(name = "ebq", version, about, max_term_width = 100)]
#[command(
    after_help = "Examples:\n  sudo ebq \"select pid, parent, path, cmdline from process_events where uid = 0\"\n  sudo ebq -o json \"select pid, path from process_events where path like '/tmp/%'\" | jq .\n  ebq --explain \"select * from process_events where comm = 'bash'\"\n  ebq --list process_events"
)]
pub struct Args {
    /// The query: one SELECT over an event table; "-" reads it from stdin
    #[arg(value_name = "QUERY", required_unless_present_any = ["list", "generate", "check", "symbols"])]
    pub query: Option<String>,

    /// Print the plan (programs, kernel filters, captured data, userspace
    /// filter) and exit; attaches nothing and needs no root
    #[arg(long)]
    pub explain: bool,

    /// Say what this kernel offers ebq (BPF features, with the release
    /// that brought each) and whether each table's programs load and
    /// attach here (that part needs root)
    #[arg(long, conflicts_with_all = ["query", "explain", "list"])]
    pub check: bool,

    /// List the tables, or the columns of TABLE
    #[arg(long, value_name = "TABLE", num_args = 0..=1, value_parser = table_names_parser(), ignore_case = true, conflicts_with_all = ["query", "explain"])]
    pub list: Option<Option<String>>,

    /// List the function symbols of BINARY (a path, or a bare program or
    /// library name: bash, libc.so.6) that function_events can probe
    #[arg(long, value_name = "BINARY", conflicts_with_all = ["query", "explain", "list", "check"])]
    pub symbols: Option<String>,

    /// Output format [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Stop after DUR (10s, 500ms, 2m)
    #[arg(short, long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Aggregates: print the result set every DUR (each covers that
    /// interval alone), as well as at the end
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub interval: Option<Duration>,

    /// Run CMD (with /bin/sh -c, in a process group of its own), trace
    /// only it and its descendants, and stop when it exits, with its exit
    /// status; when ebq stops first, CMD gets SIGTERM, then SIGKILL a
    /// second later. Its stdout goes to stderr, so that stdout holds only
    /// rows
    #[arg(short, long, value_name = "CMD", conflicts_with = "pid")]
    pub command: Option<String>,

    /// Trace only process PID (not a thread id; a pid of ebq's own pid
    /// namespace) and its descendants; stop when it exits
    #[arg(short, long, value_name = "PID", value_parser = parse_pid, allow_hyphen_values = true)]
    pub pid: Option<u32>,

    /// At the end, print on stderr how many events the kernel sent up,
    /// filtered out and lost, and how many rows the userspace filter kept
    #[arg(long)]
    pub stats: bool,

    /// Ring buffer size (headroom against lost events) [default: the
    /// table's: 4M for file and syscall events, 1M for process and socket
    /// events, 256K for the rest; 64K when the kernel aggregates]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub buffer_size: Option<u32>,

    /// dns_events: how long a query waits for its response before ebq
    /// adds a row saying it timed out (timed_out = 1)
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub dns_timeout: Duration,

    /// function_events: the most functions one query may probe (a LIKE
    /// that expands to more is refused)
    #[arg(long, value_name = "N", default_value_t = crate::kernel::uprobes::DEFAULT_MAX_PROBES)]
    pub max_probes: usize,

    /// Table output: never cut a cell, even when lines get longer than the
    /// terminal (for `less -S`)
    #[arg(short, long)]
    pub wide: bool,

    /// With --interval on a terminal: append each result set rather than
    /// draw it over the last
    #[arg(long)]
    pub no_clear: bool,

    /// When to use colors (NO_COLOR is honored in auto)
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,

    /// Print the man page or a shell completion script
    #[arg(long, value_enum, value_name = "WHAT", hide = true)]
    pub generate: Option<Generate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_are_validated_with_the_accepted_form() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon")
            .expect_err("invalid")
            .contains("like 10s"));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_pid("42"), Ok(42));
        assert!(parse_pid("-1").is_err() && parse_pid("0").is_err());
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert_eq!(parse_size("5000"), Ok(8192));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert!(
            parse_size("12").is_err() && parse_size("lots").is_err() && parse_size("2G").is_err()
        );
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
