//! The command line without root: errors are one clear `ebq:` line with the
//! right exit status, --list and --help work, and no input panics.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = common::ebq()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("ebq runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_are_one_line_with_status_2() {
    for (args, want) in [
        (
            vec!["-d", "soon", "select pid from process_events"],
            "ebq: invalid value 'soon' for '--duration <DUR>'",
        ),
        (vec!["-p", "-5", "select pid from process_events"], "ebq: "),
        (
            vec!["--buffer-size", "12", "select pid from process_events"],
            "ebq: invalid value '12' for '--buffer-size <SIZE>': expected a size from 4KiB to 1GiB",
        ),
        (
            vec!["-o", "xml", "select pid from process_events"],
            "ebq: invalid value 'xml' for '--output <FORMAT>'",
        ),
        (
            vec![],
            "ebq: the following required arguments were not provided: <QUERY>",
        ),
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
}

#[test]
fn sql_errors_show_the_query_with_a_caret() {
    let (code, out, err) = run(&[
        "--explain",
        "select pid from process_events where pid = 'x'",
    ]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "ebq: line 1, column 38: cannot compare INTEGER with TEXT: pid = 'x'\n  select pid from process_events where pid = 'x'\n                                       ^\n"
    );
}

#[test]
fn sql_errors_come_before_any_privilege_check() {
    // Not root is not the first problem with this query.
    let (code, _, err) = run(&["select nope from process_events"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ebq: line 1, column 8: unknown column \"nope\""),
        "{err}"
    );
}

#[test]
fn query_from_stdin() {
    let out = explain_stdin(b"select pid from process_events where pid = 7");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("pid = 7"));
    let out = explain_stdin(b"select \xff from process_events");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("ebq: the query on stdin is not UTF-8")
    );
}

#[test]
fn list_tables_and_columns() {
    let (code, out, _) = run(&["--list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("process_events") && out.contains("bpf_process_events"),
        "{out}"
    );
    let (code, out, _) = run(&["--list", "bpf_process_events"]);
    assert_eq!(code, 0);
    assert!(out.contains("argv (hidden)"), "{out}");
    assert!(out.contains("LIKE 'prefix%'"), "{out}");
    let (code, _, err) = run(&["--list", "process_event"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ebq: invalid value 'process_event'"),
        "{err}"
    );
}

/// `ebq --explain -` with the query on stdin: no argument size limit.
fn explain_stdin(q: &[u8]) -> std::process::Output {
    let mut child = Command::new(common::bin())
        .args(["--explain", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let q = q.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&q);
    });
    let out = child.wait_with_output().expect("ends");
    let _ = writer.join();
    out
}

#[test]
fn hostile_queries_never_panic() {
    let deep = format!(
        "select pid from process_events where {}pid = 1{}",
        "(".repeat(20_000),
        ")".repeat(20_000)
    );
    let list: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let huge_in = format!(
        "select pid from process_events where pid in ({})",
        list.join(",")
    );
    let huge_like = format!(
        "select pid from process_events where path like '/{}%'",
        "a".repeat(100_000)
    );
    for q in [
        deep.as_str(),
        huge_in.as_str(),
        huge_like.as_str(),
        "select",
        "select * from",
        "select 'x",
        "select pid from process_events where pid = 99999999999999999999999",
        "\u{0}",
        "select pid from process_events where pid in ()",
    ] {
        let out = explain_stdin(q.as_bytes());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{q:.60}: {err}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{q:.60}: {:?} {err}",
            out.status
        );
    }
    let out = explain_stdin(huge_in.as_bytes());
    assert!(String::from_utf8_lossy(&out.stdout).contains("more than the kernel set holds"));
}

#[test]
fn sorting_a_stream_needs_an_end() {
    let (code, out, err) = run(&["select pid from process_events order by pid"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(err, "ebq: ORDER BY needs an end to sort at: add -d/--duration (e.g. -d 10s), -c, or an aggregate (GROUP BY)\n");
    let (code, _, err) = run(&["--interval", "1s", "select pid from process_events"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "ebq: --interval is for aggregate queries (GROUP BY, count(), hist() ...)\n"
    );
}
