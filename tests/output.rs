//! Rows a person and jq can trust, against real kernel events: an
//! aggregate with nothing to count is one row of 0, intervals have no
//! holes, argv is a JSON array, text uses one reversible encoding, a
//! closed pipe ends the run, SQLite's functions give SQLite's answers.
//! One behaviour per test, each with a marker of its own.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{marker, Running};
use serde_json::{json, Value};

fn run_ok(c: &mut Command) {
    let s = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(s.success(), "{c:?}");
}

/// ebq's text encoding decoded, written from README's description (not
/// from ebq's code): `\\`, `\n`, `\t`, `\r`, `\xNN`, `\u{N}`.
fn decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b[i + 1] {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let h = std::str::from_utf8(&b[i + 2..i + 4]).expect("hex");
                out.push(u8::from_str_radix(h, 16).expect("hex"));
                i += 4;
                continue;
            }
            b'u' => {
                let end = i + s[i..].find('}').expect("}");
                let n = u32::from_str_radix(&s[i + 3..end], 16).expect("hex");
                let c = char::from_u32(n).expect("a char");
                out.extend_from_slice(c.to_string().as_bytes());
                i = end + 1;
                continue;
            }
            other => panic!("not ebq's encoding: \\{}", other as char),
        }
        i += 2;
    }
    out
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn count_is_one_row_of_zero_when_nothing_matched() {
    let m = marker("zero");
    let ebq = Running::start(&[
        "-d",
        "400ms",
        &format!("select count(*), max(pid) from process_events where cmdline like '%{m}%'"),
    ]);
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows, [json!({"count(*)": 0, "max(pid)": null})]);
    // Aggregated in the kernel: the same.
    let ebq = Running::start(&[
        "-d",
        "400ms",
        "select count(*), sum(duration) from syscall_events where syscall = 'getppid' and pid = 4194304",
    ]);
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows, [json!({"count(*)": 0, "sum(duration)": null})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn intervals_have_no_holes() {
    let m = marker("holes");
    let ebq = Running::start(&[
        "--interval",
        "300ms",
        &format!("select count(*) from process_events where cmdline like '%{m}%'"),
    ]);
    std::thread::sleep(Duration::from_millis(700));
    run_ok(Command::new("/bin/true").arg(&m));
    std::thread::sleep(Duration::from_millis(700));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    // One row per interval, every one with its end; the one exec in one.
    assert!(done.rows.len() >= 4, "{:?}", done.rows);
    let counts: Vec<u64> = done
        .rows
        .iter()
        .map(|r| r["count(*)"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 1, "{counts:?}");
    assert_eq!(
        counts.iter().filter(|c| **c == 0).count(),
        counts.len() - 1,
        "{counts:?}"
    );
    let ends: Vec<i64> = done
        .rows
        .iter()
        .map(|r| r["interval_end"].as_i64().expect("interval_end"))
        .collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{ends:?}");
    for r in &done.rows {
        assert_eq!(r.as_object().expect("row").len(), 2, "{r}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn grouped_intervals_print_their_rows_and_only_theirs() {
    let m = marker("groups");
    let ebq = Running::start(&[
        "--interval",
        "300ms",
        &format!(
            "select comm, count(*) from process_events where cmdline like '%{m}%' group by comm"
        ),
    ]);
    std::thread::sleep(Duration::from_millis(500));
    run_ok(Command::new("/bin/true").arg(&m));
    run_ok(Command::new("/bin/true").arg(&m));
    std::thread::sleep(Duration::from_millis(700));
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    // The empty intervals print no row; the one with both execs one row.
    let rows: Vec<Value> = done
        .rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            assert!(r["interval_end"].is_i64(), "{r}");
            r.as_object_mut().expect("row").remove("interval_end");
            r
        })
        .collect();
    let total: u64 = rows
        .iter()
        .map(|r| r["count(*)"].as_u64().expect("n"))
        .sum();
    assert_eq!(total, 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["comm"] == json!("true")), "{rows:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn argv_is_a_json_array_jq_can_index() {
    let m = marker("jq");
    let ebq = Running::start(&[&format!(
        "select argv, cmdline from process_events where cmdline like '%{m}%'"
    )]);
    run_ok(Command::new("/bin/true").args([m.as_str(), "two words", "", "q\"uote"]));
    ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(done.lines.len(), 1, "{:?}", done.lines);
    assert_eq!(
        done.rows[0]["argv"],
        json!(["/bin/true", m, "two words", "", "q\"uote"])
    );
    let mut jq = Command::new("jq")
        .args(["-r", ".argv[2], (.argv | length), (.argv | type)"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("jq (.ci/run installs it)");
    use std::io::Write;
    jq.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{}\n", done.lines[0]).as_bytes())
        .expect("to jq");
    let out = jq.wait_with_output().expect("jq");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "two words\n5\narray\n"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn text_encoding_round_trips_and_keeps_look_alikes_apart() {
    let m = marker("enc");
    let dir = tempfile::Builder::new()
        .prefix(&m)
        .tempdir()
        .expect("tempdir");
    let dir_s = dir.path().to_str().expect("utf8").to_string();
    let names: [&[u8]; 6] = [
        b"lit\\xff",
        b"lit\xff",
        b"esc\\x1b[31m",
        b"esc\x1b[31m",
        "c1\u{9b}bidi\u{202e}del\x7f".as_bytes(),
        b"tab\tnl\nback\\\\slash",
    ];
    let mut paths = Vec::new();
    for n in names {
        let mut p = dir.path().as_os_str().as_bytes().to_vec();
        p.push(b'/');
        p.extend_from_slice(n);
        std::fs::write(std::ffi::OsStr::from_bytes(&p), b"x").expect("create");
        paths.push(p);
    }
    let q = format!("select path from file_events where path like '{dir_s}/%' and action = 'open'");
    let json_run = Running::start(&[&q]);
    let mut csv = common::ebq_root();
    // Waited for until attached (a fixed sleep once lost an open to a
    // slow start in a 5.10 guest); -d counts from there.
    let mut csv = csv
        .args(["--stats", "-o", "csv", "-d", "3s", &q])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq");
    common::wait_attached(&mut csv);
    for p in &paths {
        std::fs::read(std::ffi::OsStr::from_bytes(p)).expect("open");
    }
    let rows = json_run.wait_rows(names.len(), |_| true);
    let done = json_run.stop();
    let csv_out = csv.wait_with_output().expect("csv").stdout;
    // Every JSON line is ASCII: nothing a terminal would run.
    for l in &done.lines {
        assert!(l.is_ascii(), "{l}");
    }
    let shown: Vec<String> = rows
        .iter()
        .map(|r| r["path"].as_str().expect("path").to_string())
        .collect();
    let decoded: Vec<Vec<u8>> = shown.iter().map(|s| decode(s)).collect();
    for p in &paths {
        assert!(
            decoded.contains(p),
            "{} not among {shown:?}",
            String::from_utf8_lossy(p)
        );
    }
    let lit = shown
        .iter()
        .find(|s| s.ends_with("lit\\\\xff"))
        .expect("the literal one");
    let raw = shown
        .iter()
        .find(|s| s.ends_with("/lit\\xff"))
        .expect("the byte 0xff");
    assert_ne!(lit, raw);
    assert!(shown.iter().any(|s| s.ends_with("/esc\\\\x1b[31m")));
    assert!(shown.iter().any(|s| s.ends_with("/esc\\x1b[31m")));
    assert!(shown
        .iter()
        .any(|s| s.ends_with("/c1\\u{9b}bidi\\u{202e}del\\x7f")));
    // CSV shows the same encoded text.
    let csv_text = String::from_utf8(csv_out).expect("CSV is UTF-8");
    assert!(csv_text.is_ascii());
    for s in &shown {
        assert!(csv_text.contains(s.as_str()), "{s} not in {csv_text}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn literals_are_read_in_the_encoding() {
    let m = marker("lits");
    let dir = tempfile::Builder::new()
        .prefix(&m)
        .tempdir()
        .expect("tempdir");
    let d = dir.path().to_str().expect("utf8").to_string();
    let lit = format!("{d}/lit\\xff");
    let mut raw = dir.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/lit\xff");
    std::fs::write(&lit, b"x").expect("create");
    std::fs::write(std::ffi::OsStr::from_bytes(&raw), b"x").expect("create");
    std::fs::write(format!("{d}/a_b"), b"x").expect("create");
    std::fs::write(format!("{d}/aXb"), b"x").expect("create");
    // What a row shows is what a query matches: `\xff` the byte, `\\` a
    // backslash; ESCAPE makes `_` literal.
    let q = format!(
        "select path from file_events where action = 'open' and (path = '{d}/lit\\xff' or path like '{d}/a\\_b' escape '\\' or path = '{d}/nothing\\\\xff')"
    );
    let ebq = Running::start(&[&q]);
    for p in [
        lit.as_bytes(),
        &raw[..],
        format!("{d}/a_b").as_bytes(),
        format!("{d}/aXb").as_bytes(),
    ] {
        std::fs::read(std::ffi::OsStr::from_bytes(p)).expect("open");
    }
    ebq.wait_rows(2, |_| true);
    std::thread::sleep(Duration::from_millis(300));
    let done = ebq.stop();
    let mut got: Vec<&str> = done
        .rows
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [format!("{d}/a_b"), format!("{d}/lit\\xff")],
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_closed_pipe_ends_the_run_before_any_row() {
    let mut c = common::ebq_root();
    let (r, w) = nix::unistd::pipe().expect("pipe");
    drop(r);
    let mut child = c
        .args(["select pid from process_events where path = '/nothing'"])
        .stdout(std::process::Stdio::from(w))
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebq");
    // Without the POLLERR check it runs until killed: a hang is the
    // failure, not a slow exit.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ebq kept running with nobody reading its output");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = child.wait_with_output().expect("stderr").stderr;
    assert!(
        status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(String::from_utf8_lossy(&err), "");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_never_true_where_is_a_warning_when_the_run_starts() {
    let ebq = Running::start(&[
        "-d",
        "200ms",
        "select pid from process_events where pid = 1 and pid = 2",
    ]);
    let done = ebq.finish();
    assert!(done.status.success());
    assert_eq!(
        done.stderr[0],
        "ebq: warning: WHERE pid = 1 AND pid = 2 is never true: no pid is all of these"
    );
    assert!(done.rows.is_empty());
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn sqlite_functions_give_sqlites_answers() {
    let m = marker("fn");
    let ebq = Running::start(&[&format!(
        "select time, pid, datetime(time, 'unixepoch') as dt, date(time, 'unixepoch') d, strftime('%s|%Y', time, 'unixepoch') as s, printf('%05d|%x|%o|%-6s|', pid, pid, pid, comm) as p from process_events where cmdline like '%{m}%' and printf('%s', comm) = 'true' order by datetime(time, 'unixepoch') desc"
    ), "-d", "2s"]);
    run_ok(Command::new("/bin/true").arg(&m));
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows.len(), 1, "{:?}", done.rows);
    let r = &done.rows[0];
    let t = r["time"].as_i64().expect("time");
    let pid = r["pid"].as_i64().expect("pid");
    let date = |fmt: &str| {
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{t}"), fmt])
            .output()
            .expect("date");
        String::from_utf8(out.stdout)
            .expect("utf8")
            .trim_end()
            .to_string()
    };
    assert_eq!(r["dt"], json!(date("+%Y-%m-%d %H:%M:%S")));
    assert_eq!(r["d"], json!(date("+%Y-%m-%d")));
    assert_eq!(r["s"], json!(format!("{t}|{}", date("+%Y"))));
    assert_eq!(r["p"], json!(format!("{pid:05}|{pid:x}|{pid:o}|true  |")));
    // GROUP BY a function, HAVING by its alias.
    let ebq = Running::start(&[&format!(
        "select strftime('%Y', time, 'unixepoch') as year, count(*) as n from process_events where cmdline like '%{m}%' group by year having n > 1"
    ), "-d", "2s"]);
    run_ok(Command::new("/bin/true").arg(&m));
    run_ok(Command::new("/bin/true").arg(&m));
    let done = ebq.finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    assert_eq!(done.rows, [json!({"year": date("+%Y"), "n": 2})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_hundred_thousand_or_terms_run() {
    let m = marker("or");
    let mut terms: Vec<String> = (0..100_000).map(|i| format!("comm = 'c{i}'")).collect();
    terms.push(format!("cmdline like '%{m}%'"));
    // The -c shell's own exec carries the marker too: the path keeps
    // true's.
    let q = format!(
        "select pid, argv from process_events where path = '{}' and ({})",
        common::real("/bin/true"),
        terms.join(" or ")
    );
    let file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(file.path(), &q).expect("write");
    let mut c = common::ebq_root();
    let out = c
        .args(["-o", "json", "-c", &format!("/bin/true {m}"), "-"])
        .stdin(std::fs::File::open(file.path()).expect("open"))
        .output()
        .expect("ebq");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err:.500}");
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["argv"], json!(["/bin/true", m]));
}
