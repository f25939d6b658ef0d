//! SQL that means what SQL means, without root: huge AND/OR chains plan
//! (or are refused in one line) instead of overflowing the stack; integer
//! literals over each column's range; never-true predicates are warned
//! about; the error's caret line is terminal-safe; --list and -p take what
//! a user types.

mod common;

use std::io::Write;
use std::process::Stdio;

/// `ebq ARGS` with the query on stdin: (status, stdout, stderr).
fn run_stdin(args: &[&str], query: &str) -> (i32, String, String) {
    let mut child = common::ebq()
        .args(args)
        .arg("-")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let q = query.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(q.as_bytes());
    });
    let out = child.wait_with_output().expect("ebq ends");
    writer.join().expect("writer");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chain(op: &str, n: usize) -> String {
    let terms: Vec<String> = (1..=n).map(|i| format!("pid = {i}")).collect();
    format!("select pid from process_events where {}", terms.join(op))
}

#[test]
fn a_hundred_thousand_or_terms_plan() {
    let (code, out, err) = run_stdin(&["--explain"], &chain(" or ", 100_000));
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    // One conjunct, decided in userspace (more values than a kernel set).
    let line = out.lines().find(|l| l.starts_with("where")).expect("where");
    assert!(
        line.contains("(pid = 99999) OR (pid = 100000)"),
        "{}",
        &line[line.len() - 200..]
    );
    assert!(
        line.ends_with("values are more than the kernel set holds (1024)"),
        "{}",
        &line[line.len() - 200..]
    );
}

#[test]
fn a_hundred_thousand_and_terms_plan() {
    let (code, out, err) = run_stdin(&["--explain"], &chain(" and ", 100_000));
    assert_eq!(code, 0, "{err}");
    // Each is a conjunct of its own, pushed into the kernel, and together
    // they cannot be true: said once.
    assert_eq!(
        out.lines().filter(|l| l.contains("kernel, exact")).count(),
        100_000
    );
    assert!(
        out.contains("kernel    pid in an empty range (every event is rejected)"),
        "{out:.2000}"
    );
    assert_eq!(err.lines().count(), 1, "{err:.500}");
    assert!(
        err.starts_with("ebq: warning: WHERE (pid = 1) AND (pid = 2) AND"),
        "{err:.300}"
    );
    assert!(
        err.trim_end()
            .ends_with("is never true: no pid is all of these"),
        "{err:.300}"
    );
}

#[test]
fn chains_that_cannot_be_regrouped_are_refused_in_one_line() {
    for q in [
        format!(
            "select pid from process_events where pid = 1{}",
            " + 1".repeat(100_000)
        ),
        format!(
            "select pid from process_events where {}pid = 1",
            "not ".repeat(100_000)
        ),
        format!(
            "select pid from process_events where {}pid = 1{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
        format!("select {}1 from process_events", "- ".repeat(100_000)),
    ] {
        let (code, out, err) = run_stdin(&["--explain"], &q);
        assert_eq!(code, 2, "{err:.300}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("ebq: the query") && err.contains("nested more than"),
            "{err:.300}"
        );
        assert_eq!(err.lines().count(), 1, "{err:.300}");
    }
}

#[test]
fn integer_literals_cover_each_columns_range() {
    for (q, want) in [
        (
            "select pid from process_events where pid = 18446744073709551616",
            "ebq: line 1, column 44: 18446744073709551616 is out of range for pid (-9223372036854775808 to 9223372036854775807)",
        ),
        (
            "select pid from process_events where cgroup_id in (1, 18446744073709551616)",
            "ebq: line 1, column 55: 18446744073709551616 is out of range for cgroup_id (0 to 18446744073709551615)",
        ),
        (
            "select pid from process_events where pid = 1.5",
            "ebq: line 1, column 44: 1.5: decimals are not supported, only whole numbers",
        ),
        (
            "select pid + 99999999999999999999 from process_events",
            "ebq: line 1, column 14: 99999999999999999999 is out of range: integers are 64-bit, -9223372036854775808 to 9223372036854775807",
        ),
    ] {
        let (code, _, err) = run_stdin(&["--explain"], q);
        assert_eq!(code, 2, "{q}");
        assert_eq!(err.lines().next(), Some(want), "{q}");
    }
    // cgroup_id is a u64; i64::MIN is a valid lhist bound.
    for q in [
        "select pid from process_events where cgroup_id != 18446744073709551615 and cgroup_id in (18446744073709551615, 7)",
        "select lhist(pid, -9223372036854775808, 0, 4611686018427387904) from process_events",
        "select pid from process_events where pid > -9223372036854775808",
    ] {
        let (code, _, err) = run_stdin(&["--explain"], q);
        assert_eq!((code, err.as_str()), (0, ""), "{q}");
    }
}

#[test]
fn never_true_predicates_are_warned_about() {
    let (code, _, err) = run_stdin(
        &["--explain"],
        "select pid from process_events where pid = -1 and comm = 'a-name-longer-than-15-bytes' and cgroup_id = 18446744073709551615",
    );
    assert_eq!(code, 0);
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "ebq: warning: WHERE pid = -1 is never true: pid holds 0 to 4294967295",
            "ebq: warning: WHERE comm = 'a-name-longer-than-15-bytes' is never true: comm holds at most 15 bytes (the kernel cuts longer names); did you mean 'a-name-longer-t'?",
            "ebq: warning: WHERE cgroup_id = 18446744073709551615 is never true: no cgroup_id reaches 2^63 (a cgroup id is kernfs's generation << 32 | inode number)",
        ]
    );
    // The kernel cuts bytes: a multibyte name is cut inside a character,
    // and the hint is what comm then holds.
    let (_, _, err) = run_stdin(
        &["--explain"],
        "select pid from process_events where comm = 'éééééééé'",
    );
    assert_eq!(
        err,
        "ebq: warning: WHERE comm = 'éééééééé' is never true: comm holds at most 15 bytes (the kernel cuts longer names); did you mean 'ééééééé\\xc3'?\n"
    );
    // A huge never-true conjunct is said in one short line.
    let (_, _, err) = run_stdin(
        &["--explain"],
        &format!(
            "select pid from process_events where comm = '{}'",
            "x".repeat(1_000_000)
        ),
    );
    assert_eq!(err.lines().count(), 1);
    assert!(err.len() < 500, "{}", err.len());
    // A predicate that can be true is not warned about.
    let (_, _, err) = run_stdin(
        &["--explain"],
        "select pid from process_events where pid = 1 or pid = 2",
    );
    assert_eq!(err, "");
}

#[test]
fn the_caret_line_is_terminal_safe_and_under_the_column() {
    let (code, _, err) = run_stdin(
        &["--explain"],
        "select pid from process_events where comm = '\u{1b}[2J\u{202e}' and pidd = 1",
    );
    assert_eq!(code, 2);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "ebq: line 1, column 57: unknown column \"pidd\" in process_events; did you mean \"pid\"?"
    );
    assert_eq!(
        lines[1],
        "  select pid from process_events where comm = '\\x1b[2J\\u{202e}' and pidd = 1"
    );
    assert_eq!(lines[2].find('^'), lines[1].find("pidd"));
    assert!(!err.contains('\u{1b}') && !err.contains('\u{202e}'));
}

#[test]
fn list_takes_any_case_and_pid_says_the_accepted_form() {
    let out = common::ebq()
        .args(["--list", "PROCESS_Events"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("process_events: "));
    let out = common::ebq()
        .args(["-p", "-5", "select pid from process_events"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ebq: invalid value '-5' for '--pid <PID>': expected a process id, a whole number from 1 to 4194304 (see ebq --help)\n"
    );
}

#[test]
fn explain_shows_query_values_escaped() {
    let (code, out, err) = run_stdin(
        &["--explain"],
        "select path from file_events where (comm = '\\x1b[2Jab' or comm = 'x\\ny') and path like '/tmp/x/f\\u{202e}%'",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out}"
    );
    assert!(out.contains("comm IN ('\\x1b[2Jab', 'x\\ny')"), "{out}");
    assert!(
        out.contains("path starts with '/tmp/x/f\\u{202e}'"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("kernel")).count(),
        1,
        "{out}"
    );
}

#[test]
fn long_chains_keep_their_like_escape_and_distinct_from() {
    let t: Vec<String> = (0..20).map(|i| format!("pid = {i}")).collect();
    let t = t.join(" or ");
    let (code, _, err) = run_stdin(
        &["--explain"],
        &format!("select pid from process_events where {t} or path like 'a!%' escape '!'"),
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, _, err) = run_stdin(
        &["--explain"],
        &format!("select pid from process_events where {t} or pid is distinct from 3"),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("unsupported expression: pid IS DISTINCT FROM 3"),
        "{err}"
    );
}

#[test]
fn having_takes_select_aliases() {
    let (code, out, err) = run_stdin(
        &["--explain"],
        "select comm, count(*) as n from process_events group by comm having n > 2",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("having    n > 2 (on each group's result, in userspace)"),
        "{out}"
    );
    // A misspelt alias is still an unknown column.
    let (code, _, err) = run_stdin(
        &["--explain"],
        "select comm, count(*) as n from process_events group by comm having nn > 2",
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ebq: line 1, column 69: unknown column \"nn\""),
        "{err}"
    );
}
