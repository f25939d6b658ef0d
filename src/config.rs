//! The resolved configuration: every decision that depends on the
//! environment (is stdout a terminal, NO_COLOR, terminal width, default
//! output format) is made here, once, so the rest of ebq never re-asks.
//! It is cut in the parts each stage takes: how results look (the output
//! sink's `Options`) and what a run needs (exec's `RunOptions`), so exec
//! never reads the command line.

use std::io::IsTerminal;

use crate::cli::{Args, ColorChoice};
use crate::exec::run::RunOptions;
use crate::exec::target::Target;
use crate::output::{self, Format};

/// Table width when stdout is not a terminal and COLUMNS is unset.
const DEFAULT_WIDTH: usize = 160;

#[derive(Debug)]
pub struct Config {
    /// How results look; `redraw` (--interval draws each result set over
    /// the last) is true when stdout is a terminal (not a dumb one) and
    /// there is no --no-clear.
    pub output: output::Options,
    pub run: RunOptions,
    /// The terminal's width when stdout is one (for --list).
    pub tty_width: Option<u16>,
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
            output: output::Options {
                format: args
                    .output
                    .unwrap_or(if tty { Format::Table } else { Format::Json }),
                color,
                width,
                wide: args.wide,
                redraw: tty
                    && !args.no_clear
                    && std::env::var("TERM").map_or(true, |t| t != "dumb"),
            },
            run: RunOptions {
                duration: args.duration,
                interval: args.interval,
                target: match (&args.command, args.pid) {
                    (Some(c), _) => Target::Command(c.clone()),
                    (None, Some(p)) => Target::Pid(p),
                    _ => Target::All,
                },
                stats: args.stats,
                buffer_size: args.buffer_size,
                started,
                stream: crate::model::stream::StreamOptions {
                    timeout: args.dns_timeout,
                },
                max_probes: args.max_probes,
            },
            tty_width,
        }
    }
}
