//! The resolved configuration: every decision that depends on the
//! environment (is stdout a terminal, NO_COLOR, terminal width, default
//! output format) is made here, once, so the rest of ebq never re-asks.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::{Args, ColorChoice};
use crate::output::Format;

/// Table width when stdout is not a terminal and COLUMNS is unset.
const DEFAULT_WIDTH: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Command(String),
    Pid(u32),
}

#[derive(Debug)]
pub struct Config {
    pub format: Format,
    pub color: bool,
    pub width: usize,
    /// --wide: table cells are never cut.
    pub wide: bool,
    /// --interval draws each result set over the last: stdout is a
    /// terminal (not a dumb one) and no --no-clear.
    pub redraw: bool,
    pub duration: Option<Duration>,
    /// Aggregates: print a result set every this often.
    pub interval: Option<Duration>,
    pub target: Target,
    pub stats: bool,
    /// --buffer-size; None: the plan's default (Plan::default_buffer).
    pub buffer_size: Option<u32>,
    /// The terminal's width when stdout is one (for --list).
    pub tty_width: Option<u16>,
    /// When ebq started: --stats reports the time to attach.
    pub started: std::time::Instant,
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Config {
    pub fn new(args: &Args) -> Config {
        let tty = std::io::stdout().is_terminal();
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                tty && !no_color_env() && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        // This one decision is handed to every printer: the table header
        // (owo-colors) and --list (comfy-table, told to style or not).
        let started = std::time::Instant::now();
        let tty_width = terminal_size::terminal_size()
            .map(|(w, _)| w.0)
            .filter(|_| tty);
        let width = terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
            .unwrap_or(DEFAULT_WIDTH);
        Config {
            format: args
                .output
                .unwrap_or(if tty { Format::Table } else { Format::Json }),
            color,
            width,
            wide: args.wide,
            redraw: tty && !args.no_clear && std::env::var("TERM").map_or(true, |t| t != "dumb"),
            duration: args.duration,
            interval: args.interval,
            target: match (&args.command, args.pid) {
                (Some(c), _) => Target::Command(c.clone()),
                (None, Some(p)) => Target::Pid(p),
                _ => Target::All,
            },
            stats: args.stats,
            buffer_size: args.buffer_size,
            tty_width,
            started,
        }
    }
}
