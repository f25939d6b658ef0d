//! osquery's queries run unchanged: every column of osquery's
//! bpf_process_events, bpf_socket_events, process_events, socket_events and
//! process_file_events specs (as /work/shared/research/osquery.md lists
//! them, written out here, not read from ebq's catalog) is accepted by the
//! table of that name, or refused with the exact one-line reason. No root
//! needed: `ebq --explain` plans without loading anything.

mod common;

/// osquery's column lists, spec by spec.
const SPECS: &[(&str, &[&str])] = &[
    (
        "bpf_process_events",
        &[
            "tid",
            "pid",
            "parent",
            "uid",
            "gid",
            "cid",
            "exit_code",
            "probe_error",
            "syscall",
            "path",
            "cwd",
            "cmdline",
            "duration",
            "json_cmdline",
            "ntime",
            "time",
            "eid",
        ],
    ),
    (
        "bpf_socket_events",
        &[
            "tid",
            "pid",
            "parent",
            "uid",
            "gid",
            "cid",
            "exit_code",
            "probe_error",
            "syscall",
            "path",
            "fd",
            "family",
            "type",
            "protocol",
            "local_address",
            "remote_address",
            "local_port",
            "remote_port",
            "duration",
            "ntime",
            "time",
            "eid",
        ],
    ),
    (
        "process_events",
        &[
            "pid",
            "path",
            "mode",
            "cmdline",
            "cmdline_size",
            "env",
            "env_count",
            "env_size",
            "cwd",
            "auid",
            "uid",
            "euid",
            "gid",
            "egid",
            "owner_uid",
            "owner_gid",
            "atime",
            "mtime",
            "ctime",
            "btime",
            "overflows",
            "parent",
            "time",
            "uptime",
            "eid",
            "fsuid",
            "suid",
            "fsgid",
            "sgid",
            "syscall",
        ],
    ),
    (
        "socket_events",
        &[
            "action",
            "pid",
            "path",
            "fd",
            "auid",
            "family",
            "protocol",
            "local_address",
            "remote_address",
            "local_port",
            "remote_port",
            "socket",
            "time",
            "uptime",
            "eid",
            "success",
            "status",
        ],
    ),
    (
        "process_file_events",
        &[
            "operation",
            "pid",
            "ppid",
            "time",
            "executable",
            "partial",
            "cwd",
            "path",
            "dest_path",
            "uid",
            "gid",
            "auid",
            "euid",
            "egid",
            "fsuid",
            "fsgid",
            "suid",
            "sgid",
            "uptime",
            "eid",
        ],
    ),
];

const SOCKET_PATH: &str = "column path of socket_events is not captured by ebq: the executable is not walked at socket calls (process_events has it)";

/// The columns ebq refuses, per table name as written, with the exact
/// error.
const REFUSED: &[(&str, &str, &str)] = &[
    ("bpf_socket_events", "path", SOCKET_PATH),
    ("socket_events", "path", SOCKET_PATH),
    (
        "process_events",
        "atime",
        "column atime of process_events is not captured by ebq: the executable's inode times are not read at exec",
    ),
    (
        "process_events",
        "mtime",
        "column mtime of process_events is not captured by ebq: the executable's inode times are not read at exec",
    ),
    (
        "process_events",
        "ctime",
        "column ctime of process_events is not captured by ebq: the executable's inode times are not read at exec",
    ),
    (
        "process_events",
        "btime",
        "column btime of process_events is not captured by ebq: the kernel's inode has no birth time (osquery gives 0)",
    ),
    (
        "process_file_events",
        "executable",
        "column executable of file_events is not captured by ebq: the executable is not walked per file call (process_events has it)",
    ),
    (
        "process_file_events",
        "cwd",
        "column cwd of file_events is not captured by ebq: the cwd is walked only as the base of a relative path",
    ),
];

fn explain(sql: &str) -> std::process::Output {
    common::ebq()
        .arg("--explain")
        .arg(sql)
        .env("NO_COLOR", "1")
        .output()
        .expect("ebq runs")
}

fn refused(table: &str, col: &str) -> bool {
    REFUSED.iter().any(|(t, c, _)| *t == table && *c == col)
}

#[test]
fn every_accepted_osquery_column_plans() {
    for (table, cols) in SPECS {
        let accepted: Vec<&str> = cols
            .iter()
            .copied()
            .filter(|c| !refused(table, c))
            .collect();
        let sql = format!("select {} from {table}", accepted.join(", "));
        let out = explain(&sql);
        assert!(
            out.status.success(),
            "{sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // And in WHERE, where osquery's queries filter.
        let sql = format!(
            "select pid from {table} where {}",
            accepted
                .iter()
                .map(|c| format!("{c} is not null"))
                .collect::<Vec<_>>()
                .join(" and ")
        );
        let out = explain(&sql);
        assert!(
            out.status.success(),
            "{sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_refused_osquery_column_says_why() {
    for (table, col, msg) in REFUSED {
        assert!(
            SPECS
                .iter()
                .any(|(t, cols)| t == table && cols.contains(col)),
            "{table}.{col} is not in osquery's spec"
        );
        for sql in [
            format!("select {col} from {table}"),
            format!("select pid from {table} where {col} is null"),
        ] {
            let out = explain(&sql);
            assert_eq!(out.status.code(), Some(2), "{sql}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!("ebq: {msg}\n"),
                "{sql}"
            );
        }
    }
}

#[test]
fn list_shows_aliases_and_refusals() {
    let list = |t: &str| {
        let out = common::ebq()
            .args(["--list", t])
            .env("NO_COLOR", "1")
            .env("COLUMNS", "400")
            .output()
            .expect("ebq runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let p = list("process_events");
    assert!(p.contains("parent (also ppid)"), "{p}");
    assert!(p.contains("cgroup_id (also cid)"), "{p}");
    assert!(p.contains("btime (not captured)"), "{p}");
    let s = list("socket_events");
    assert!(s.contains("action (also syscall)"), "{s}");
    assert!(s.contains("socket_type (also type) (hidden)"), "{s}");
    let f = list("file_events");
    assert!(f.contains("action (also operation)"), "{f}");
}
