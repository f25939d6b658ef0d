//! process_events: one row per execve/execveat, failed ones included
//! (bpf/process.bpf.h). It is osquery's process_events and
//! bpf_process_events too: their columns are here by name (json_cmdline,
//! probe_error, overflows ...), or refused with the reason.

use super::common::{errno_name, ERRNO};
use super::{Column, Domain, KernelFilter, Program, Table, Type};
use crate::abi::types::{
    ebq_exec_event, ebq_exec_flags, ebq_exec_syscall, ebq_filter_col, ebq_process_capture,
    ebq_process_stat,
};
use crate::model::paths::{normalize, Walked};
use crate::model::record::{Layout, Record, FIELDS_MAX};
use crate::model::value::{text_from_bytes, Value};

crate::plain_abi!(ebq_exec_event);

/// An exec as the columns read it.
#[derive(Clone, Copy)]
pub struct Exec<'r> {
    pub e: &'r ebq_exec_event,
    /// Walked (EBQ_EXEC_PATH_WALKED), else as written.
    pub path: &'r [u8],
    pub args: &'r [u8],
    /// Walked.
    pub cwd: &'r [u8],
    /// Walked: execveat's dirfd, for a relative path as written.
    pub base: &'r [u8],
    pub ld_preload: &'r [u8],
    /// The path as written, when `path` is walked.
    pub req: &'r [u8],
    /// Walked: the interpreter the kernel ran.
    pub interp: &'r [u8],
    /// The environment block, NUL-separated (EBQ_EXEC_HAS_ENVBLOCK).
    pub env: &'r [u8],
}

/// Its records: struct ebq_exec_event (bpf/process.h), then its fields,
/// in the order the programs write them.
const LAYOUT: Layout = Layout::of::<ebq_exec_event>(|r| {
    let e = r.get::<ebq_exec_event>();
    [
        e.path_len,
        e.interp_len,
        e.req_len,
        e.args_len,
        e.cwd_len,
        e.base_len,
        e.ld_preload_len,
        e.env_len,
        0,
        0,
    ]
});
const _: () = assert!(FIELDS_MAX == 10);

/// The exec part of a record.
fn exec<'r>(r: &'r Record) -> Exec<'r> {
    let [path, interp, req, args, cwd, base, ld_preload, env, _, _] = r.fields;
    Exec {
        e: r.get(),
        path,
        args,
        cwd,
        base,
        ld_preload,
        req,
        interp,
        env,
    }
}

fn has(x: Exec, flag: ebq_exec_flags) -> bool {
    x.e.flags & flag.0 != 0
}

/// What follows an argument the kernel cut short, in cmdline and argv (the
/// trailer bpftrace puts on a cut string, with one more dot).
pub const CUT_ARG: &str = "...";

/// Arguments as captured: NUL-separated; a cut last argument has no NUL,
/// and is marked with CUT_ARG.
fn args(x: &Exec) -> Vec<String> {
    strings(x.args, false)
}

/// NUL-separated strings as captured; a cut last one (no NUL) is marked
/// with CUT_ARG, and so is a block `cut` right after a NUL (a CUT_ARG of
/// its own).
fn strings(block: &[u8], cut: bool) -> Vec<String> {
    if block.is_empty() {
        return Vec::new();
    }
    let whole = block.ends_with(b"\0");
    let a = block.strip_suffix(b"\0").unwrap_or(block);
    let mut v: Vec<String> = a.split(|&b| b == 0).map(text_from_bytes).collect();
    if !whole {
        if let Some(last) = v.last_mut() {
            last.push_str(CUT_ARG);
        }
    } else if cut {
        v.push(CUT_ARG.into());
    }
    v
}

/// Words joined by spaces, each quoted when it would not read back as one.
fn joined(words: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        quote_arg(a, &mut out);
    }
    out
}

/// A walked path of the event, as /proc names it; NULL when absent.
fn walked(b: &[u8]) -> Value {
    match Walked::decode(b) {
        Some(w) => Value::Text(text_from_bytes(&w.display())),
        None => Value::Null,
    }
}

fn col_syscall(r: &Record) -> Value {
    match ebq_exec_syscall(exec(r).e.syscall) {
        ebq_exec_syscall::EBQ_SYS_EXECVE => Value::Text("execve".into()),
        ebq_exec_syscall::EBQ_SYS_EXECVEAT => Value::Text("execveat".into()),
        _ => Value::Null,
    }
}

/// The file the kernel ran (walked), or for a failed exec the path as
/// written, normalized against the directory it was relative to.
fn col_path(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_PATH) {
        return Value::Null;
    }
    if has(x, ebq_exec_flags::EBQ_EXEC_PATH_WALKED) {
        return walked(x.path);
    }
    let base = if !has(x, ebq_exec_flags::EBQ_EXEC_PATH_RELATIVE) {
        None
    } else if has(x, ebq_exec_flags::EBQ_EXEC_BASE_DIRFD) {
        Walked::decode(x.base)
    } else if has(x, ebq_exec_flags::EBQ_EXEC_HAS_CWD) {
        Walked::decode(x.cwd)
    } else {
        None
    };
    Value::Text(text_from_bytes(&normalize(base.as_ref(), x.path)))
}

/// The path as the caller wrote it.
fn col_requested(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_REQ) {
        return Value::Null;
    }
    // A failed exec's path is the path as written, unless it is the walked
    // file of an fd; a successful one's is the file, and the name comes
    // apart.
    if x.req.is_empty() && !has(x, ebq_exec_flags::EBQ_EXEC_PATH_WALKED) {
        return Value::Text(text_from_bytes(x.path));
    }
    let mut req = x.req;
    if has(x, ebq_exec_flags::EBQ_EXEC_REQ_FDPATH) {
        // "/dev/fd/N/name" or "/dev/fd/N" for the name given to execveat.
        if let Some(rest) = req.strip_prefix(b"/dev/fd/") {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let rest = &rest[digits..];
            req = rest.strip_prefix(b"/").unwrap_or(rest);
        }
    }
    Value::Text(text_from_bytes(req))
}

fn col_interpreter(r: &Record) -> Value {
    let x = exec(r);
    if has(x, ebq_exec_flags::EBQ_EXEC_HAS_INTERP) {
        walked(x.interp)
    } else {
        Value::Null
    }
}

/// Quotes an argument for cmdline when it would not read back as one word.
fn quote_arg(arg: &str, out: &mut String) {
    let plain = !arg.is_empty()
        && !arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '\\'));
    if plain {
        out.push_str(arg);
        return;
    }
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

fn col_cmdline(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_ARGS) {
        return Value::Null;
    }
    Value::Text(joined(&args(&x)))
}

/// The environment as osquery's env: variables joined by spaces (quoted
/// like cmdline's arguments); a cut one ends with CUT_ARG.
fn col_env(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_ENVBLOCK) {
        return Value::Null;
    }
    Value::Text(joined(&strings(
        x.env,
        has(x, ebq_exec_flags::EBQ_TRUNC_ENVBLOCK),
    )))
}

/// A field of a successful exec's (flag set), else NULL.
fn when(r: &Record, flag: ebq_exec_flags, v: fn(&Exec) -> u32) -> Value {
    let x = exec(r);
    if has(x, flag) {
        Value::Int(v(&x).into())
    } else {
        Value::Null
    }
}

/// osquery's mode: the file's mode in octal with a leading 0, type bits
/// included, as Audit's PATH record gives it ("0100755").
fn col_mode(r: &Record) -> Value {
    let x = exec(r);
    if has(x, ebq_exec_flags::EBQ_EXEC_HAS_INODE) {
        Value::Text(format!("0{:o}", x.e.mode))
    } else {
        Value::Null
    }
}

fn col_argv(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_ARGS) {
        return Value::Null;
    }
    Value::List(args(&x))
}

/// osquery's json_cmdline: the arguments as the text of a JSON array (a
/// string, as osquery gives it, whatever form argv takes).
fn col_json_cmdline(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_ARGS) {
        return Value::Null;
    }
    Value::Text(serde_json::Value::from(args(&x)).to_string())
}

fn col_cwd(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_CWD) {
        return Value::Null;
    }
    walked(x.cwd)
}

fn col_error(r: &Record) -> Value {
    errno_name(exec(r).e.exit_code.into())
}

fn col_duration(r: &Record) -> Value {
    let x = exec(r);
    if x.e.syscall == ebq_exec_syscall::EBQ_SYS_NONE.0 {
        return Value::Null;
    }
    Value::Int(x.e.duration_ns as i64)
}

fn col_ld_preload(r: &Record) -> Value {
    let x = exec(r);
    if has(x, ebq_exec_flags::EBQ_EXEC_LD_PRELOAD) {
        let mut v = text_from_bytes(x.ld_preload);
        if has(x, ebq_exec_flags::EBQ_EXEC_LD_PRELOAD_CUT) {
            v.push_str(CUT_ARG);
        }
        Value::Text(v)
    } else {
        Value::Null
    }
}

/// What each truncation flag cut, as osquery's overflows names it: env is
/// the environment block cut, or the LD_PRELOAD search short of its end.
const CUTS: [(ebq_exec_flags, &str); 4] = [
    (ebq_exec_flags::EBQ_TRUNC_ARGS, "cmdline"),
    (ebq_exec_flags::EBQ_TRUNC_PATH, "path"),
    (ebq_exec_flags::EBQ_TRUNC_CWD, "cwd"),
    (
        ebq_exec_flags(ebq_exec_flags::EBQ_TRUNC_ENV.0 | ebq_exec_flags::EBQ_TRUNC_ENVBLOCK.0),
        "env",
    ),
];

fn cut(r: &Record) -> bool {
    let flags = exec(r).e.flags;
    CUTS.iter().any(|(f, _)| flags & f.0 != 0)
}

fn col_truncated(r: &Record) -> Value {
    Value::Bool(cut(r))
}

/// osquery's overflows: what was cut, comma-separated; "" for nothing.
fn col_overflows(r: &Record) -> Value {
    let flags = exec(r).e.flags;
    let names: Vec<&str> = CUTS
        .iter()
        .filter(|(f, _)| flags & f.0 != 0)
        .map(|(_, n)| *n)
        .collect();
    Value::Text(names.join(","))
}

const CAP_PATH: u32 = ebq_process_capture::EBQ_PROCESS_CAP_PATH.0;
const CAP_ARGS: u32 = ebq_process_capture::EBQ_PROCESS_CAP_ARGS.0;
const CAP_CWD: u32 = ebq_process_capture::EBQ_PROCESS_CAP_CWD.0;
const CAP_ENV: u32 = ebq_process_capture::EBQ_PROCESS_CAP_ENV.0;
const CAP_REQUESTED: u32 = ebq_process_capture::EBQ_PROCESS_CAP_REQUESTED.0;
const CAP_INTERP: u32 = ebq_process_capture::EBQ_PROCESS_CAP_INTERP.0;
const CAP_SIZES: u32 = ebq_process_capture::EBQ_PROCESS_CAP_SIZES.0;
const CAP_EXEFILE: u32 = ebq_process_capture::EBQ_PROCESS_CAP_EXEFILE.0;
const CAP_ENVBLOCK: u32 = ebq_process_capture::EBQ_PROCESS_CAP_ENVBLOCK.0;

/// Why osquery's file times of the executable are refused.
const TIMES_WHY: &str = "the executable's inode times are not read at exec";

static PROCESS_COLUMNS: &[Column] = &super::common::with_common![
    Column::text(
        "syscall",
        "execve or execveat; NULL for an exec the kernel started",
        col_syscall
    )
    .filter(KernelFilter::Probe)
    .domain(Domain::List("execve or execveat", &["execve", "execveat"]))
    .width(8),
    Column::text(
        "path",
        "The file executed, resolved by the kernel (as /proc/PID/exe names it)",
        col_path
    )
    .filter(KernelFilter::PathPrefix)
    .capture(CAP_PATH)
    .width(24),
    Column::text(
        "interpreter",
        "The interpreter the kernel ran a #! script with; NULL for a binary",
        col_interpreter
    )
    .capture(CAP_INTERP)
    .width(16),
    Column::text(
        "requested_path",
        "The path as the caller wrote it (execve's first argument)",
        col_requested
    )
    .hidden()
    .capture(CAP_REQUESTED)
    .width(24),
    Column::text(
        "cmdline",
        "Arguments (a script's as the kernel rewrote them) joined by spaces",
        col_cmdline
    )
    .capture(CAP_ARGS)
    .width(32),
    Column::text(
        "argv",
        "Arguments, exact, as a JSON array; a cut one ends with ...",
        col_argv
    )
    .hidden()
    .capture(CAP_ARGS)
    .width(32),
    Column::int(
        "argc",
        "Number of arguments, all counted even when cut",
        |r| { Value::Int(exec(r).e.argc.into()) }
    )
    .capture(CAP_ARGS)
    .width(4),
    Column::text(
        "cwd",
        "Working directory, resolved by the kernel like path",
        col_cwd
    )
    .capture(CAP_CWD)
    .width(20),
    Column::int(
        "exit_code",
        "Return value of the exec: 0, or a negative errno",
        |r| Value::Int(exec(r).e.exit_code.into())
    )
    .slot(
        ebq_filter_col::EBQ_COL_EXIT_CODE.0,
        i32::MIN as i64,
        i32::MAX as i64
    )
    .width(5),
    Column::text(
        "error",
        "errno name of a failed exec (ENOENT), else NULL",
        col_error
    )
    .domain(ERRNO)
    .width(7),
    Column::int("duration", "Time in the exec syscall, ns", col_duration).width(9),
    Column::boolean(
        "truncated",
        "Arguments, path, cwd or environment longer than the kernel reads",
        col_truncated
    ),
    Column::text(
        "ld_preload",
        "LD_PRELOAD the loader reads (the last one); NULL when unset",
        col_ld_preload
    )
    .capture(CAP_ENV)
    .width(16),
    Column::text(
        "json_cmdline",
        "osquery's: the arguments as JSON array text (a string)",
        col_json_cmdline
    )
    .hidden()
    .capture(CAP_ARGS)
    .width(32),
    Column::int("probe_error", "osquery's: truncated as 1 or 0", |r| {
        Value::Int(cut(r).into())
    })
    .hidden(),
    Column::text(
        "overflows",
        "osquery's: what truncated cut (cmdline,path,cwd,env); '' for nothing",
        col_overflows
    )
    .hidden(),
    Column::text(
        "mode",
        "The executed file's mode, octal as osquery gives it (0100755)",
        col_mode
    )
    .hidden()
    .capture(CAP_EXEFILE)
    .width(7),
    Column::int("owner_uid", "The executed file's owner", |r| when(
        r,
        ebq_exec_flags::EBQ_EXEC_HAS_INODE,
        |x| x.e.owner_uid
    ))
    .hidden()
    .capture(CAP_EXEFILE),
    Column::int("owner_gid", "The executed file's group", |r| when(
        r,
        ebq_exec_flags::EBQ_EXEC_HAS_INODE,
        |x| x.e.owner_gid
    ))
    .hidden()
    .capture(CAP_EXEFILE),
    Column::int(
        "cmdline_size",
        "Bytes of the argument block, NULs included; NULL for a failed exec",
        |r| when(r, ebq_exec_flags::EBQ_EXEC_HAS_SIZES, |x| x.e.cmdline_size)
    )
    .hidden()
    .capture(CAP_SIZES),
    Column::text(
        "env",
        "Environment, joined by spaces; a cut one ends with ...",
        col_env
    )
    .hidden()
    .capture(CAP_ENVBLOCK)
    .width(32),
    Column::int(
        "env_count",
        "Number of environment variables, all counted even when env is cut",
        |r| when(r, ebq_exec_flags::EBQ_EXEC_HAS_SIZES, |x| x.e.env_count)
    )
    .hidden()
    .capture(CAP_SIZES),
    Column::int(
        "env_size",
        "Bytes of the environment block, NULs included, even when env is cut",
        |r| when(r, ebq_exec_flags::EBQ_EXEC_HAS_SIZES, |x| x.e.env_size)
    )
    .hidden()
    .capture(CAP_SIZES),
    Column::refused("atime", Type::Integer, TIMES_WHY),
    Column::refused("mtime", Type::Integer, TIMES_WHY),
    Column::refused("ctime", Type::Integer, TIMES_WHY),
    Column::refused(
        "btime",
        Type::Integer,
        "the kernel's inode has no birth time (osquery gives 0)"
    ),
];

/// What exec_done and exec_fail_tail copy beyond the header.
const EXEC_CAPTURES: u32 = ebq_process_capture::EBQ_PROCESS_CAP_PATH.0
    | ebq_process_capture::EBQ_PROCESS_CAP_ARGS.0
    | ebq_process_capture::EBQ_PROCESS_CAP_CWD.0
    | ebq_process_capture::EBQ_PROCESS_CAP_ENV.0
    | ebq_process_capture::EBQ_PROCESS_CAP_REQUESTED.0
    | ebq_process_capture::EBQ_PROCESS_CAP_INTERP.0
    | CAP_SIZES
    | CAP_EXEFILE
    | CAP_ENVBLOCK;

static PROCESS_PROGRAMS: &[Program] = &[
    // One entry and one exit program serve both syscalls, told apart by
    // their attach cookie: half the loading.
    Program::new(
        "execve_enter",
        "tracepoint/syscalls/sys_enter_execve",
        &["execve"],
        None,
    )
    .runs("exec_enter", ebq_exec_syscall::EBQ_SYS_EXECVE.0 as u64),
    Program::new(
        "execve_exit",
        "tracepoint/syscalls/sys_exit_execve",
        &["execve"],
        Some(ebq_process_stat::EBQ_STAT_SENT_EXEC_FAILED.0),
    )
    .runs("exec_exit", ebq_exec_syscall::EBQ_SYS_EXECVE.0 as u64)
    .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, i32::MIN as i64, -1),
    Program::new(
        "execveat_enter",
        "tracepoint/syscalls/sys_enter_execveat",
        &["execveat"],
        None,
    )
    .runs("exec_enter", ebq_exec_syscall::EBQ_SYS_EXECVEAT.0 as u64),
    Program::new(
        "execveat_exit",
        "tracepoint/syscalls/sys_exit_execveat",
        &["execveat"],
        Some(ebq_process_stat::EBQ_STAT_SENT_EXEC_FAILED.0),
    )
    .runs("exec_exit", ebq_exec_syscall::EBQ_SYS_EXECVEAT.0 as u64)
    .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, i32::MIN as i64, -1),
    // The reports come in two builds: with the capture code, and bare for
    // a query that reads none of path, arguments, cwd or environment.
    Program::tail("exec_fail_tail", "exec_tail", 0, &["execve", "execveat"])
        .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, i32::MIN as i64, -1)
        .capturing(EXEC_CAPTURES),
    Program::tail("exec_fail_bare", "exec_tail", 0, &["execve", "execveat"])
        .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, i32::MIN as i64, -1)
        .bare(EXEC_CAPTURES),
    Program::new(
        "exec_done",
        "raw_tp/sched_process_exec",
        &[],
        Some(ebq_process_stat::EBQ_STAT_SENT_EXEC.0),
    )
    .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, 0, 0)
    .capturing(EXEC_CAPTURES),
    Program::new(
        "exec_done_bare",
        "raw_tp/sched_process_exec",
        &[],
        Some(ebq_process_stat::EBQ_STAT_SENT_EXEC.0),
    )
    .reports(ebq_filter_col::EBQ_COL_EXIT_CODE.0, 0, 0)
    .bare(EXEC_CAPTURES),
];

pub static PROCESS_EVENTS: Table = Table {
    name: "process_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["bpf_process_events"],
    doc: "One row per execve/execveat, failed ones included",
    columns: PROCESS_COLUMNS,
    programs: PROCESS_PROGRAMS,
    agg: None,
    buffer: 1 << 20,
    captures: &[
        (CAP_PATH, "path"),
        (CAP_REQUESTED, "path as written"),
        (CAP_INTERP, "interpreter"),
        (CAP_ARGS, "arguments"),
        (CAP_CWD, "cwd"),
        (CAP_ENV, "environment (LD_PRELOAD)"),
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
        (CAP_SIZES, "argument and environment sizes"),
        (CAP_EXEFILE, "the executable's mode and owner"),
        (CAP_ENVBLOCK, "environment"),
    ],
    fixed_capture: "the header, exit code, argc",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_quotes_only_what_needs_it() {
        let mut s = String::new();
        for (i, a) in ["echo", "two words", "", "it's", "plain-arg=1"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                s.push(' ');
            }
            quote_arg(a, &mut s);
        }
        assert_eq!(s, r#"echo 'two words' '' 'it'\''s' plain-arg=1"#);
    }
}
