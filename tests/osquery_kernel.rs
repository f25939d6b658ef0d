//! End-to-end (root) tests of the columns osquery's process_events and
//! process_file_events have that ebq reads from the kernel: the
//! environment (env, env_count, env_size), cmdline_size, the executed
//! file's mode and owner, the saved and filesystem ids; and eid,
//! probe_error, json_cmdline. Exact values, from processes this test
//! starts with a known environment, arguments and ids.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{ids_helper, marker, Running};
use serde_json::{json, Value};

/// Bytes of an environment block: each "K=V" and its NUL.
fn block_size(vars: &[&str]) -> u64 {
    vars.iter().map(|v| v.len() as u64 + 1).sum()
}

/// argv as a list, whether the column gives JSON text or an array.
fn as_list(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).expect("JSON text"),
        v => v.clone(),
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn env_sizes_mode_owner_and_ids_of_an_exec() {
    common::require_root("chown a file and run a process with other ids");
    let m = marker("env");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // A copy of true, owned by 1234:5678, setuid: what a planted binary
    // looks like.
    let exe = dir.path().join(format!("true-{m}"));
    std::fs::copy(common::real("/bin/true"), &exe).expect("copy");
    std::os::unix::fs::chown(&exe, Some(1234), Some(5678)).expect("chown");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    let exe_s = exe.to_str().expect("utf8").to_string();
    let ebq = Running::start(&[&format!(
        "select eid, path, argv, json_cmdline, cmdline_size, env, env_count, env_size, mode, owner_uid, owner_gid, uid, euid, suid, fsuid, gid, egid, sgid, fsgid, truncated, probe_error, overflows from process_events where path = '{exe_s}' or cmdline like '%{m}%'"
    )]);
    let a = format!("A={m}");
    let status = Command::new(ids_helper())
        .env_clear()
        .env("A", &m)
        .env("B", "2")
        .arg(format!("/nonexistent-{m}"))
        .arg(&exe)
        .arg(&m)
        .arg("two words")
        .status()
        .expect("helper runs");
    assert!(status.success());
    let rows = ebq.wait_rows(1, |r| r["path"] == json!(exe_s));
    let done = ebq.stop();
    assert_eq!(rows.len(), 1, "{:?} {:?}", done.rows, done.stderr);
    let r = &rows[0];
    let argv = [exe_s.as_str(), m.as_str(), "two words"];
    let mut want = json!({
        "path": exe_s,
        "cmdline_size": block_size(&argv),
        "env": format!("{a} B=2"),
        "env_count": 2,
        "env_size": block_size(&[&a, "B=2"]),
        // Audit's octal, as osquery's process_events gives it: a regular
        // file (0100000), setuid (04000), 0755.
        "mode": "0104755",
        "owner_uid": 1234,
        "owner_gid": 5678,
        // The ids the new program runs with: the setuid bit made the
        // effective uid the file's owner, and an exec sets the saved and
        // filesystem ids to the effective ones (the helper had them
        // distinct: see file_ids_are_the_callers_at_the_call).
        "uid": 1001,
        "euid": 1234,
        "suid": 1234,
        "fsuid": 1234,
        "gid": 2001,
        "egid": 2002,
        "sgid": 2002,
        "fsgid": 2002,
        "truncated": false,
        "probe_error": 0,
        "overflows": "",
    });
    let mut got = r.clone();
    for k in ["eid", "argv", "json_cmdline"] {
        got.as_object_mut().expect("row").remove(k);
    }
    want.as_object_mut().expect("row");
    assert_eq!(got, want);
    // json_cmdline is JSON text of argv.
    let jc = r["json_cmdline"].as_str().expect("json_cmdline is text");
    let parsed: Value = serde_json::from_str(jc).expect("JSON");
    assert_eq!(parsed, json!(argv));
    assert_eq!(parsed, as_list(&r["argv"]));
    // eid: unique and increasing over the run's rows.
    let eids: Vec<u64> = done
        .rows
        .iter()
        .map(|r| r["eid"].as_u64().expect("eid"))
        .collect();
    assert!(eids.len() >= 2, "{:?}", done.rows);
    assert!(eids.windows(2).all(|w| w[0] < w[1]), "{eids:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_huge_environment_is_cut_and_flagged() {
    let m = marker("bigenv");
    let big = "x".repeat(10_000);
    let ebq = Running::start(&[&format!(
        "select env, env_count, env_size, cmdline_size, truncated, probe_error, overflows from process_events where cmdline like '%{m}%'"
    )]);
    let status = Command::new("/bin/true")
        .env_clear()
        .env("A", &m)
        .env("BIG", &big)
        .arg(&m)
        .status()
        .expect("true runs");
    assert!(status.success());
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    let a = format!("A={m}");
    // EBQ_ENV_MAX (bpf/ebq.h): 8192 bytes of the block are kept; the cut
    // variable ends with "...".
    let kept = 8192 - (a.len() + 1) - "BIG=".len();
    assert_eq!(
        rows,
        [json!({
            "env": format!("{a} BIG={}...", &big[..kept]),
            "env_count": 2,
            "env_size": block_size(&[&a, &format!("BIG={big}")]),
            "cmdline_size": block_size(&["/bin/true", &m]),
            "truncated": true,
            "probe_error": 1,
            "overflows": "env",
        })]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn file_ids_are_the_callers_at_the_call() {
    common::require_root("run a process with other ids");
    let m = marker("fids");
    let path = format!("/nonexistent-{m}");
    let ebq = Running::start(&[&format!(
        "select operation, ppid, uid, euid, suid, fsuid, gid, egid, sgid, fsgid, partial from process_file_events where path like '/nonexistent-{m}%'"
    )]);
    let status = Command::new(ids_helper())
        .arg(&path)
        .arg("/bin/true")
        .status()
        .expect("helper runs");
    assert!(status.success());
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [json!({
            "operation": "open",
            "ppid": std::process::id(),
            "uid": 1001,
            "euid": 1002,
            "suid": 1003,
            "fsuid": 1001,
            "gid": 2001,
            "egid": 2002,
            "sgid": 2003,
            "fsgid": 2004,
            "partial": false,
        })]
    );
}
