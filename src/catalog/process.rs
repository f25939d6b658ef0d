//! process_events: one row per execve/execveat, failed ones included
//! (bpf/process.bpf.c), and the columns every table shares.

use super::{Column, KernelFilter, Program, Table, Type};
use crate::exec::record::{join_walked, resolve, Event, Exec, Record};
use crate::exec::value::{text_from_bytes, text_from_cstr, Value};
use crate::kernel::types::{
    ebq_capture, ebq_exec_flags, ebq_exec_syscall, ebq_filter_col, ebq_stat,
};

const U32_MAX: i64 = u32::MAX as i64;

const fn int(slot: ebq_filter_col, min: i64, max: i64) -> KernelFilter {
    KernelFilter::Int {
        slot: slot.0,
        min,
        max,
    }
}

const fn id_filter(slot: ebq_filter_col) -> KernelFilter {
    int(slot, 0, U32_MAX)
}

/// The columns every table has first (DESIGN.md), read from the header.
macro_rules! common_columns {
    () => {
        [
            Column {
                name: "time",
                ty: Type::Integer,
                doc: "Unix time of the event, seconds",
                hidden: false,
                filter: KernelFilter::None,
                capture: 0,
                get: col_time,
                width: 10,
            },
            Column {
                name: "ntime",
                ty: Type::Integer,
                doc: "Kernel timestamp of the event, ns since boot",
                hidden: true,
                filter: KernelFilter::None,
                capture: 0,
                get: col_ntime,
                width: 16,
            },
            Column {
                name: "pid",
                ty: Type::Integer,
                doc: "Process id (tgid)",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_PID),
                capture: 0,
                get: |r| Value::Int(r.hdr.pid.into()),
                width: 7,
            },
            Column {
                name: "tid",
                ty: Type::Integer,
                doc: "Thread id",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_TID),
                capture: 0,
                get: |r| Value::Int(r.hdr.tid.into()),
                width: 7,
            },
            Column {
                name: "parent",
                ty: Type::Integer,
                doc: "Parent process id, from the kernel's real_parent",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_PARENT),
                capture: 0,
                get: |r| Value::Int(r.hdr.ppid.into()),
                width: 7,
            },
            Column {
                name: "uid",
                ty: Type::Integer,
                doc: "Real user id",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_UID),
                capture: 0,
                get: |r| Value::Int(r.hdr.uid.into()),
                width: 5,
            },
            Column {
                name: "gid",
                ty: Type::Integer,
                doc: "Real group id",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_GID),
                capture: 0,
                get: |r| Value::Int(r.hdr.gid.into()),
                width: 5,
            },
            Column {
                name: "euid",
                ty: Type::Integer,
                doc: "Effective user id",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_EUID),
                capture: 0,
                get: |r| Value::Int(r.hdr.euid.into()),
                width: 5,
            },
            Column {
                name: "egid",
                ty: Type::Integer,
                doc: "Effective group id",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_EGID),
                capture: 0,
                get: |r| Value::Int(r.hdr.egid.into()),
                width: 5,
            },
            Column {
                name: "auid",
                ty: Type::Integer,
                doc: "Login (audit) user id; NULL when unset",
                hidden: false,
                filter: id_filter(ebq_filter_col::EBQ_COL_AUID),
                capture: 0,
                get: col_auid,
                width: 5,
            },
            Column {
                name: "comm",
                ty: Type::Text,
                doc: "Task name (comm), at most 15 bytes",
                hidden: false,
                filter: KernelFilter::Comm,
                capture: 0,
                get: |r| Value::Text(text_from_cstr(&r.hdr.comm.map(|c| c as u8))),
                width: 15,
            },
            Column {
                name: "cgroup_id",
                ty: Type::Integer,
                doc: "cgroup v2 id of the task (osquery: cid)",
                hidden: false,
                filter: int(ebq_filter_col::EBQ_COL_CGROUP_ID, 0, i64::MAX),
                capture: 0,
                get: |r| Value::Int(r.hdr.cgroup_id as i64),
                width: 8,
            },
        ]
    };
}

fn col_time(r: &Record) -> Value {
    let ns = i128::from(r.hdr.ktime_ns) + r.boot_offset;
    Value::Int((ns / 1_000_000_000) as i64)
}

fn col_ntime(r: &Record) -> Value {
    Value::Int(r.hdr.ktime_ns as i64)
}

fn col_auid(r: &Record) -> Value {
    match r.hdr.auid {
        u32::MAX => Value::Null,
        a => Value::Int(a.into()),
    }
}

fn exec<'r, 'a>(r: &'r Record<'a>) -> &'r Exec<'a> {
    match &r.event {
        Event::Exec(x) => x,
    }
}

fn has(x: &Exec, flag: ebq_exec_flags) -> bool {
    x.e.flags & flag.0 != 0
}

/// Arguments as captured: NUL-separated; a cut last argument has no NUL.
fn args<'a>(x: &Exec<'a>) -> Vec<&'a [u8]> {
    let a = x.args.strip_suffix(b"\0").unwrap_or(x.args);
    if x.args.is_empty() {
        return Vec::new();
    }
    a.split(|&b| b == 0).collect()
}

fn col_syscall(r: &Record) -> Value {
    match ebq_exec_syscall(exec(r).e.syscall) {
        ebq_exec_syscall::EBQ_SYS_EXECVE => Value::Text("execve".into()),
        ebq_exec_syscall::EBQ_SYS_EXECVEAT => Value::Text("execveat".into()),
        _ => Value::Null,
    }
}

fn col_path(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_PATH) {
        return Value::Null;
    }
    let path = if has(x, ebq_exec_flags::EBQ_EXEC_PATH_WALKED) {
        join_walked(x.path)
    } else if has(x, ebq_exec_flags::EBQ_EXEC_PATH_RELATIVE) {
        let base = if has(x, ebq_exec_flags::EBQ_EXEC_BASE_DIRFD) {
            join_walked(x.base)
        } else if has(x, ebq_exec_flags::EBQ_EXEC_HAS_CWD) {
            join_walked(x.cwd)
        } else {
            return Value::Text(text_from_bytes(x.path));
        };
        resolve(&base, x.path)
    } else {
        x.path.to_vec()
    };
    Value::Text(text_from_bytes(&path))
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
    let mut out = String::with_capacity(x.args.len() + 8);
    for (i, a) in args(x).iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        quote_arg(&text_from_bytes(a), &mut out);
    }
    Value::Text(out)
}

fn col_argv(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_ARGS) {
        return Value::Null;
    }
    let v: Vec<String> = args(x).iter().map(|a| text_from_bytes(a)).collect();
    Value::Text(serde_json::Value::from(v).to_string())
}

fn col_cwd(r: &Record) -> Value {
    let x = exec(r);
    if !has(x, ebq_exec_flags::EBQ_EXEC_HAS_CWD) {
        return Value::Null;
    }
    Value::Text(text_from_bytes(&join_walked(x.cwd)))
}

fn col_error(r: &Record) -> Value {
    errno_name(exec(r).e.exit_code.into())
}

/// The errno name of a negative syscall return (ENOENT), NULL otherwise.
pub fn errno_name(ret: i64) -> Value {
    if ret >= 0 {
        return Value::Null;
    }
    match i32::try_from(-ret) {
        Ok(n) => {
            let name = format!("{:?}", nix::errno::Errno::from_raw(n));
            if name == "UnknownErrno" {
                Value::Text(format!("E{n}"))
            } else {
                Value::Text(name)
            }
        }
        Err(_) => Value::Text(format!("E{}", -ret)),
    }
}

fn col_duration(r: &Record) -> Value {
    let x = exec(r);
    if x.e.syscall == ebq_exec_syscall::EBQ_SYS_NONE.0 {
        return Value::Null;
    }
    Value::Int(x.e.duration_ns as i64)
}

fn col_truncated(r: &Record) -> Value {
    let cut = ebq_exec_flags::EBQ_TRUNC_ARGS.0
        | ebq_exec_flags::EBQ_TRUNC_PATH.0
        | ebq_exec_flags::EBQ_TRUNC_CWD.0;
    Value::Bool(exec(r).e.flags & cut != 0)
}

const CAP_PATH: u32 = ebq_capture::EBQ_CAP_PATH.0;
const CAP_ARGS: u32 = ebq_capture::EBQ_CAP_ARGS.0;
const CAP_CWD: u32 = ebq_capture::EBQ_CAP_CWD.0;

static PROCESS_COLUMNS: [Column; 22] = {
    let c = common_columns!();
    [
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
        c[6],
        c[7],
        c[8],
        c[9],
        c[10],
        c[11],
        Column {
            name: "syscall",
            ty: Type::Text,
            doc: "execve or execveat; NULL for an exec the kernel started",
            hidden: false,
            filter: KernelFilter::Probe,
            capture: 0,
            get: col_syscall,
            width: 8,
        },
        Column {
            name: "path",
            ty: Type::Text,
            doc: "Absolute path of the program executed",
            hidden: false,
            filter: KernelFilter::PathPrefix,
            capture: CAP_PATH,
            get: col_path,
            width: 24,
        },
        Column {
            name: "cmdline",
            ty: Type::Text,
            doc: "Arguments joined by spaces; ones with spaces or quotes quoted",
            hidden: false,
            filter: KernelFilter::None,
            capture: CAP_ARGS,
            get: col_cmdline,
            width: 32,
        },
        Column {
            name: "argv",
            ty: Type::Text,
            doc: "Arguments, exact, as a JSON array of strings",
            hidden: true,
            filter: KernelFilter::None,
            capture: CAP_ARGS,
            get: col_argv,
            width: 32,
        },
        Column {
            name: "argc",
            ty: Type::Integer,
            doc: "Number of arguments",
            hidden: false,
            filter: KernelFilter::None,
            capture: CAP_ARGS,
            get: |r| Value::Int(exec(r).e.argc.into()),
            width: 4,
        },
        Column {
            name: "cwd",
            ty: Type::Text,
            doc: "Working directory of the process",
            hidden: false,
            filter: KernelFilter::None,
            capture: CAP_CWD,
            get: col_cwd,
            width: 20,
        },
        Column {
            name: "exit_code",
            ty: Type::Integer,
            doc: "Return value of the exec: 0, or a negative errno",
            hidden: false,
            filter: int(
                ebq_filter_col::EBQ_COL_EXIT_CODE,
                i32::MIN as i64,
                i32::MAX as i64,
            ),
            capture: 0,
            get: |r| Value::Int(exec(r).e.exit_code.into()),
            width: 5,
        },
        Column {
            name: "error",
            ty: Type::Text,
            doc: "errno name of a failed exec (ENOENT), else NULL",
            hidden: false,
            filter: KernelFilter::None,
            capture: 0,
            get: col_error,
            width: 7,
        },
        Column {
            name: "duration",
            ty: Type::Integer,
            doc: "Time in the exec syscall, ns",
            hidden: false,
            filter: KernelFilter::None,
            capture: 0,
            get: col_duration,
            width: 9,
        },
        Column {
            name: "truncated",
            ty: Type::Boolean,
            doc: "Arguments, path or cwd were longer than the kernel keeps",
            hidden: false,
            filter: KernelFilter::None,
            capture: 0,
            get: col_truncated,
            width: 5,
        },
    ]
};

static PROCESS_PROGRAMS: &[Program] = &[
    Program::new(
        "execve_enter",
        "tracepoint/syscalls/sys_enter_execve",
        &["execve"],
        None,
    ),
    Program::new(
        "execve_exit",
        "tracepoint/syscalls/sys_exit_execve",
        &["execve"],
        Some(ebq_stat::EBQ_STAT_SENT_EXEC_FAILED),
    ),
    Program::new(
        "execveat_enter",
        "tracepoint/syscalls/sys_enter_execveat",
        &["execveat"],
        None,
    ),
    Program::new(
        "execveat_exit",
        "tracepoint/syscalls/sys_exit_execveat",
        &["execveat"],
        Some(ebq_stat::EBQ_STAT_SENT_EXEC_FAILED),
    ),
    Program::new(
        "exec_done",
        "tp_btf/sched_process_exec",
        &[],
        Some(ebq_stat::EBQ_STAT_SENT_EXEC),
    ),
    Program::follow("follow_fork", "tp_btf/sched_process_fork"),
    Program::follow("follow_exit", "tp_btf/sched_process_exit"),
];

pub static PROCESS_EVENTS: Table = Table {
    name: "process_events",
    aliases: &["bpf_process_events"],
    doc: "One row per execve/execveat, failed ones included",
    columns: &PROCESS_COLUMNS,
    programs: PROCESS_PROGRAMS,
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

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(-2), Value::Text("ENOENT".into()));
        assert_eq!(errno_name(-13), Value::Text("EACCES".into()));
        assert_eq!(errno_name(0), Value::Null);
        assert_eq!(errno_name(-4000), Value::Text("E4000".into()));
    }
}
