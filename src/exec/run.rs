//! One run of a query: checks, load and attach, the -c / -p target, then
//! the event loop: poll the ring buffer, decode each record, apply the
//! userspace filter, project, write, until LIMIT, --duration, Ctrl-C or
//! SIGTERM, the end of the traced command, or a closed pipe. Every exit path
//! drops the `Kernel`, which detaches the programs.

use std::cell::RefCell;
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libbpf_rs::RingBufferBuilder;

use super::eval;
use super::record::{BootOffset, Record};
use super::value::Value;
use crate::config::{Config, Target};
use crate::error::{Error, Result};
use crate::kernel::load::{self, KernelStats, LoadOptions};
use crate::kernel::preflight;
use crate::output::{self, OutColumn, Sink, SinkOptions};
use crate::plan::Plan;

/// How long one poll waits: bounds how late a stop is noticed.
const POLL: Duration = Duration::from_millis(100);

/// What a run counted, for --stats.
#[derive(Debug, Default)]
pub struct Summary {
    pub kernel: KernelStats,
    pub decoded: u64,
    pub kept: u64,
    pub bad_records: u64,
    pub notes: Vec<String>,
}

/// Decodes, filters and writes; fed by the ring buffer callback.
struct Pipeline<'p> {
    plan: &'p Plan,
    sink: Box<dyn Sink + 'p>,
    boot_offset: BootOffset,
    values: Vec<Value>,
    decoded: u64,
    kept: u64,
    bad: u64,
    done: bool,
    error: Option<io::Error>,
}

impl Pipeline<'_> {
    fn on_event(&mut self, data: &[u8]) -> i32 {
        if self.done {
            return 0;
        }
        let record = match Record::decode(data, self.boot_offset) {
            Ok(r) => r,
            Err(_) => {
                self.bad += 1;
                return 0;
            }
        };
        let table = self.plan.table();
        if record.hdr.kind != table.kind {
            self.bad += 1;
            return 0;
        }
        self.decoded += 1;
        if let Some(p) = &self.plan.predicate {
            if eval::truth(table, p, &record) != Some(true) {
                return 0;
            }
        }
        self.values.clear();
        for o in &self.plan.query.outputs {
            self.values.push(eval::value(table, &o.expr, &record));
        }
        self.kept += 1;
        if let Err(e) = self.sink.row(&self.values) {
            self.error = Some(e);
            self.done = true;
        }
        if self.plan.query.limit.is_some_and(|l| self.kept >= l) {
            self.done = true;
        }
        0
    }
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

/// Starts the -c command with its stdout on our stderr, so that stdout
/// holds only rows.
fn spawn_command(cmd: &str) -> Result<Child> {
    let stdout = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::Command(format!("-c: {e}")))?;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdout(Stdio::from(stdout))
        .spawn()
        .map_err(|e| Error::Command(format!("starting the -c command: {e}")))
}

/// PID and all its descendants, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The comm in parentheses may hold anything: parse after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

fn alive(pid: u32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
        Ok(()) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false),
        Err(e) => e != nix::errno::Errno::ESRCH,
    }
}

pub fn run(plan: &Plan, cfg: &Config, stop: &Arc<AtomicBool>) -> Result<Summary> {
    let mut summary = Summary::default();
    let out_columns: Vec<OutColumn> = plan
        .query
        .outputs
        .iter()
        .map(|o| match &o.expr {
            crate::sql::expr::Expr::Column(c) => {
                let col = &plan.table().columns[*c];
                OutColumn {
                    name: o.name.clone(),
                    width: col.width,
                    numeric: col.ty == crate::catalog::Type::Integer,
                }
            }
            _ => OutColumn {
                name: o.name.clone(),
                width: 5,
                numeric: false,
            },
        })
        .collect();
    let stdout = io::stdout();
    let writer: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(64 * 1024, stdout.lock()));
    let opts = SinkOptions {
        format: cfg.format,
        color: cfg.color,
        width: cfg.width,
    };
    let mut sink = output::sink(writer, out_columns, &opts)?;
    if plan.query.limit == Some(0) {
        sink.flush()?;
        return Ok(summary);
    }
    if let Target::Pid(p) = cfg.target {
        if !alive(p) {
            return Err(Error::Usage(format!("-p {p}: no such process")));
        }
    }

    preflight::check_privileges()?;
    preflight::check_btf()?;
    preflight::check_ringbuf()?;
    if plan
        .kernel
        .programs
        .iter()
        .any(|p| p.attach.starts_with("tracepoint/"))
    {
        summary.notes.extend(preflight::ensure_tracefs()?);
    }

    let mut storage = MaybeUninit::uninit();
    let kernel = load::load(
        &mut storage,
        plan,
        &LoadOptions {
            buffer_size: cfg.buffer_size,
            self_tgid: std::process::id(),
        },
    )?;

    if !kernel.dropped.is_empty() {
        eprintln!(
            "ebq: note: this kernel lacks the tracepoints of {}: left out",
            kernel.dropped.join(", ")
        );
    }
    if cfg.stats {
        eprintln!(
            "ebq: stats: attached {} programs ({}) in {} ms",
            kernel.attached().len(),
            kernel.attached().join(", "),
            cfg.started.elapsed().as_millis()
        );
    }
    let mut child: Option<Child> = None;
    match &cfg.target {
        Target::All => {}
        Target::Pid(p) => {
            for d in descendants(*p) {
                kernel.follow(d)?;
            }
        }
        Target::Command(c) => {
            // Following ourselves for the length of the fork makes the
            // kernel follow the child from its first instruction, so its
            // exec is traced too; ebq's own events are never reported.
            let me = std::process::id();
            kernel.follow(me)?;
            let spawned = spawn_command(c);
            kernel.unfollow(me)?;
            child = Some(spawned?);
        }
    }

    let pipeline = RefCell::new(Pipeline {
        plan,
        sink,
        boot_offset: boot_offset(),
        values: Vec::with_capacity(plan.query.outputs.len()),
        decoded: 0,
        kept: 0,
        bad: 0,
        done: false,
        error: None,
    });
    let mut builder = RingBufferBuilder::new();
    builder
        .add(kernel.events(), |data: &[u8]| {
            pipeline.borrow_mut().on_event(data)
        })
        .map_err(|e| Error::Kernel(format!("setting up the ring buffer: {e}")))?;
    let rb = builder
        .build()
        .map_err(|e| Error::Kernel(format!("setting up the ring buffer: {e}")))?;

    let deadline = cfg.duration.map(|d| Instant::now() + d);
    loop {
        match rb.poll(POLL) {
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Kernel(format!("reading the ring buffer: {e}"))),
            Ok(()) => {}
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
        }
        if stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let target_gone = match (&mut child, &cfg.target) {
            (Some(c), _) => matches!(c.try_wait(), Ok(Some(_)) | Err(_)),
            (None, Target::Pid(p)) => !alive(*p),
            _ => false,
        };
        if target_gone {
            // Its last events may still be in the buffer.
            let _ = rb.consume();
            break;
        }
    }
    let _ = rb.consume();
    drop(rb);
    let mut p = pipeline.into_inner();
    let flushed = p.sink.flush();
    summary.kernel = kernel.stats(plan);
    summary.decoded = p.decoded;
    summary.kept = p.kept;
    summary.bad_records = p.bad;
    drop(kernel);
    if let Some(e) = p.error.take() {
        return Err(Error::Output(e));
    }
    flushed?;
    Ok(summary)
}
