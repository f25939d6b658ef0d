//! ebq: one SQL SELECT over kernel events, answered by precompiled eBPF.
//!
//! The pipeline (docs/ARCHITECTURE.md): sql (parse, bind against the catalog) -> plan
//! (pushdown, probe and capture pruning) -> kernel (load, attach) -> exec
//! (decode, filter, project) -> output. main() only dispatches and turns
//! errors into one `ebq:` message and an exit status: 2 for a mistake in
//! the command line or query, 1 for any other failure, 0 otherwise,
//! including a closed pipe.

mod abi;
mod catalog;
mod cli;
mod config;
mod doc;
mod error;
mod exec;
mod kernel;
mod model;
mod output;
mod plan;
mod sql;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use cli::Args;
use config::Config;
use error::Error;
use exec::target::Target;

fn read_query(q: &str) -> Result<String, Error> {
    if q != "-" {
        return Ok(q.to_string());
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Usage(format!("reading the query from stdin: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::Usage(format!(
            "the query on stdin is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(Error::Output)
}

/// How a run that did not fail ended.
enum Ended {
    Clean,
    /// Events were lost (said on stderr): exit status 3.
    Lost,
    /// The -c command ended on its own with this nonzero status, which
    /// becomes ebq's.
    Command(u8),
}

/// Runs the command line.
fn real_main(args: Args, query: &mut Option<String>) -> Result<Ended, Error> {
    if let Some(what) = args.generate {
        return write_stdout(&doc::generate(what)).map(|_| Ended::Clean);
    }
    if args.check {
        return write_stdout(kernel::check::report().as_bytes()).map(|_| Ended::Clean);
    }
    if let Some(binary) = &args.symbols {
        return write_stdout(kernel::uprobes::list(binary)?.as_bytes()).map(|_| Ended::Clean);
    }
    let cfg = Config::new(&args);
    if let Some(table) = &args.list {
        return write_stdout(
            doc::list(table.as_deref(), cfg.output.color, cfg.tty_width).as_bytes(),
        )
        .map(|_| Ended::Clean);
    }
    let text = read_query(args.query.as_deref().unwrap_or("-"))?;
    *query = Some(text.clone());
    let bound = sql::bind(&text)?;
    // osquery's columns that ebq does not capture bind, and are refused
    // here with the reason.
    if let Some(msg) = catalog::uncaptured(bound.table, &bound.used_columns()) {
        return Err(Error::sql(msg, None));
    }
    if bound.agg.is_none()
        && !bound.order_by.is_empty()
        && cfg.run.duration.is_none()
        && !matches!(cfg.run.target, Target::Command(_))
        && !args.explain
    {
        return Err(Error::Usage(
            "ORDER BY needs an end to sort at: add -d/--duration (e.g. -d 10s), -c, or an aggregate (GROUP BY)".into(),
        ));
    }
    if bound.agg.is_none() && cfg.run.interval.is_some() {
        return Err(Error::Usage(
            "--interval is for aggregate queries (GROUP BY, count(), hist() ...)".into(),
        ));
    }
    let plan = plan::plan(bound, cfg.run.target != Target::All);
    for w in plan::never::warnings(&plan) {
        eprintln!("ebq: warning: {w}");
    }
    if args.explain {
        if !kernel::preflight::tracefs_mounted()
            && plan
                .kernel
                .programs
                .iter()
                .any(|p| p.tracepoint().is_some())
        {
            eprintln!(
                "ebq: note: tracefs is not mounted; a run mounts it at {}",
                kernel::preflight::TRACEFS
            );
        }
        let tracepoints = kernel::preflight::Tracepoints::read();
        for p in &plan.kernel.programs {
            let Some(tp) = p.tracepoint() else { continue };
            if tracepoints.has(&tp) != Some(false) {
                continue;
            }
            let what = if p.optional {
                "it will be left out"
            } else {
                "the run will fail"
            };
            eprintln!(
                "ebq: note: this kernel has no tracepoint {} for {}: {what}",
                tp.replace('/', ":"),
                p.name
            );
        }
        // Container filters are verdicts on the cgroups there are now:
        // resolved here, as the run would, so --explain shows them.
        let text = if let Some(req) = &plan.kernel.functions {
            let resolved =
                kernel::uprobes::resolve(req, kernel::uprobes::limits(&plan, cfg.run.max_probes))?;
            let multi = kernel::variants::Variants::detect().is_ok_and(|v| v.uprobe_multi);
            plan::explain::render_probed(&plan, std::sync::Arc::new(resolved), multi)
        } else if plan.kernel.cgroup_filter.is_empty() {
            plan::explain::render(&plan)
        } else {
            let r = exec::containers::Resolver::new();
            let v = exec::containers::Verdicts {
                table: plan.table(),
                filter: &plan.kernel.cgroup_filter,
            };
            plan::explain::render_resolved(&plan, v.resolved(&r))
        };
        return write_stdout(text.as_bytes()).map(|_| Ended::Clean);
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).map_err(|e| {
            Error::Kernel(error::KernelError::Failed(format!(
                "installing the Ctrl-C handler: {e}"
            )))
        })?;
    }
    // The run writes through a sink made here from the configuration:
    // stdout in the format asked for.
    let mut sink = output::Stdout::new(cfg.output);
    let summary = exec::run::run(&plan, &cfg.run, &mut sink, stop.as_ref())?;
    for n in &summary.notes {
        if cfg.run.stats {
            eprintln!("ebq: note: {n}");
        }
    }
    let k = &summary.kernel;
    let mut lost = false;
    if k.lost > 0 {
        eprintln!("ebq: warning: {} events were lost because the ring buffer was full; try a larger --buffer-size", k.lost);
        lost = true;
    }
    if k.follow_full > 0 {
        eprintln!(
            "ebq: warning: {} new processes could not be followed (the followed set is full)",
            k.follow_full
        );
    }
    if k.agg_missed > 0 {
        lost = true;
        eprintln!(
            "ebq: warning: {} events were not aggregated: the kernel's map holds {} groups",
            k.agg_missed,
            plan::physical::KERNEL_AGG_GROUPS
        );
    }
    if summary.capped > 0 {
        lost = true;
        eprintln!(
            "ebq: warning: {} events were left out: ebq keeps at most {} groups and {} rows to sort",
            summary.capped,
            exec::agg::MAX_GROUPS,
            exec::run::MAX_SORTED_ROWS
        );
    }
    if summary.bad_records > 0 {
        eprintln!(
            "ebq: warning: {} kernel records could not be decoded",
            summary.bad_records
        );
    }
    if cfg.run.stats {
        let per: Vec<String> = k
            .sent
            .iter()
            .map(|(p, n, l)| {
                if *l > 0 {
                    format!("{p} {n}, lost {l}")
                } else {
                    format!("{p} {n}")
                }
            })
            .collect();
        eprintln!(
            "ebq: stats: kernel: sent {} events ({}), aggregated {} in the kernel, rejected {} in the kernel, lost {}",
            k.total_sent(),
            per.join(", "),
            k.aggregated,
            k.filtered,
            k.lost
        );
        eprintln!(
            "ebq: stats: userspace: {} events decoded, {} rows kept by the userspace filter",
            summary.decoded, summary.kept
        );
    }
    // The command's own failure comes first (as time(1) and strace give
    // it); a command that succeeded in a run that lost events gives 3.
    Ok(match summary.command_status {
        Some(c) if c != 0 => Ended::Command(c),
        _ if lost => Ended::Lost,
        _ => Ended::Clean,
    })
}

/// A clap error as one `ebq:` line (help and version print as usual).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.trim_start_matches("error: ").to_string());
        }
    }
    eprintln!("ebq: {} (see ebq --help)", parts.join(" "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => return usage_error(e),
    };
    // The front end and the evaluator recurse over the query's expression
    // tree, and sqlparser builds `a OR b OR ...` as a chain as deep as it
    // is long: everything runs on a thread whose stack fits the deepest
    // query sql::bind accepts (sql::MAX_TOKENS), so no query text can
    // overflow it.
    let run = move || {
        let mut query = None;
        let r = real_main(args, &mut query);
        (r, query)
    };
    let worker = std::thread::Builder::new()
        .name("ebq".into())
        .stack_size(sql::STACK_BYTES)
        .spawn(run);
    let (result, query) = match worker.map(|h| h.join()) {
        Ok(Ok(r)) => r,
        // A panic has printed its message already.
        Ok(Err(_)) => return ExitCode::from(101),
        Err(e) => {
            eprintln!(
                "ebq: cannot start a thread with a {} MiB stack: {e}",
                sql::STACK_BYTES >> 20
            );
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(Ended::Clean) => ExitCode::SUCCESS,
        // Events were lost (said on stderr): a distinct status for scripts.
        Ok(Ended::Lost) => ExitCode::from(3),
        Ok(Ended::Command(c)) => ExitCode::from(c),
        // `ebq ... | head`: the reader is gone, which ends the run cleanly.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.render(query.as_deref());
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "ebq: {msg}");
            ExitCode::from(e.exit_code())
        }
    }
}
