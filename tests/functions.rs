//! End-to-end tests of function_events against the test's own fixture
//! (tests/helpers/funcs.c, built as PIE, non-PIE, stripped with exports,
//! static, a fake Go binary, and a shared library loaded at start and by
//! dlopen): exact arguments, return values, strings and durations of
//! calls it makes, counted in the kernel, per process, per thread, and in
//! a root of its own. The tests without root run --explain and --symbols.
//!
//! A kernel without attach cookies (5.10, or EBQ_FORCE_FALLBACK=cookies)
//! refuses function_events in one line: the root tests check that line
//! there instead of rows.

mod common;

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::funcs::{cookies, fixture, forced, of, refused, release_at_least, run_c};
use common::Running;
use serde_json::{json, Value};

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn calls_have_exact_args_retvals_strings_and_durations() {
    common::require_bpf();
    let bin = fixture("funcs");
    let m = common::marker("f");
    let q = format!(
        "select pid, comm, binary, function, event, arg0, arg1, retval, duration, str(arg0) as s, str(retval) as r from function_events where binary = '{bin}' and function in ('fx_add', 'fx_greet', 'fx_name', 'fx_sleep')"
    );
    let Some(done) = run_c(&[], &format!("{bin} calls 3 {m}"), &q) else {
        return;
    };
    let rows = &done.rows;
    let add: Vec<Value> = of(rows, "fx_add")
        .iter()
        .map(|r| json!([r["event"], r["arg0"], r["arg1"], r["retval"], r["binary"]]))
        .collect();
    assert_eq!(
        add,
        [0, 1, 2]
            .map(|i| json!(["call", i, 1000, i + 1000, bin]))
            .to_vec(),
        "{rows:#?}"
    );
    let greet = of(rows, "fx_greet");
    assert_eq!(greet.len(), 3, "{rows:#?}");
    for g in &greet {
        assert_eq!((&g["s"], &g["retval"]), (&json!(m), &json!(m.len())));
        // The fixture's file is funcs-HASH (tests/common/mod.rs, helper).
        assert!(
            g["comm"].as_str().is_some_and(|c| c.starts_with("funcs-")),
            "{g}"
        );
    }
    let names: Vec<&Value> = of(rows, "fx_name").iter().map(|r| &r["r"]).collect();
    assert_eq!(
        names,
        [&json!("ebq-even"), &json!("ebq-odd"), &json!("ebq-even")]
    );
    // arg0 of fx_add is no pointer: its string is NULL, never garbage.
    assert!(of(rows, "fx_add").iter().all(|r| r["s"].is_null()));
    let sleep = of(rows, "fx_sleep");
    assert_eq!(sleep.len(), 1);
    let d = sleep[0]["duration"].as_i64().expect("a duration");
    assert_eq!(sleep[0]["arg0"], 20);
    assert!(
        (20_000_000..2_000_000_000).contains(&d),
        "fx_sleep(20) took {d} ns"
    );
    let pid = &rows[0]["pid"];
    assert!(rows.iter().all(|r| &r["pid"] == pid));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn recursion_pairs_each_level_with_its_own_return() {
    common::require_bpf();
    let bin = fixture("funcs");
    let q = format!(
        "select arg0, retval, duration from function_events where binary = '{bin}' and function = 'fx_fact'"
    );
    let Some(done) = run_c(&[], &format!("{bin} calls 2 rec"), &q) else {
        return;
    };
    // The innermost call returns first.
    let got: Vec<(i64, i64)> = done
        .rows
        .iter()
        .map(|r| {
            (
                r["arg0"].as_i64().unwrap_or(-1),
                r["retval"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(got, [(1, 1), (2, 2), (3, 6), (4, 24)].repeat(2));
    for call in done.rows.chunks(4) {
        let d: Vec<i64> = call
            .iter()
            .map(|r| r["duration"].as_i64().unwrap_or(0))
            .collect();
        // Each level's time holds the levels inside it.
        assert!(d.windows(2).all(|w| w[0] > 0 && w[0] < w[1]), "{d:?}");
    }
}

fn counts(env: &[(&str, &str)]) {
    let bin = fixture("funcs");
    let q = format!(
        "select function, count(*) as n from function_events where binary = '{bin}' and function like 'fx\\_%' escape '\\' group by function"
    );
    let Some(done) = run_c(env, &format!("{bin} calls 500 count"), &q) else {
        return;
    };
    let mut got: Vec<(String, i64)> = done
        .rows
        .iter()
        .map(|r| {
            (
                r["function"].as_str().unwrap_or("").to_string(),
                r["n"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("fx_add", 500),
        ("fx_fact", 2000),
        ("fx_greet", 500),
        ("fx_name", 500),
        ("fx_sleep", 1),
    ]
    .map(|(f, n)| (f.to_string(), n));
    assert_eq!(got, want);
    // Counted in the kernel: no call went up as an event.
    assert_eq!(done.stat("sent"), 0, "{:?}", done.stderr);
    assert_eq!(done.stat("aggregated"), 3501, "{:?}", done.stderr);
    // The links: one per function (8 match), or one uprobe_multi link for
    // the binary; and -c's two tracepoints.
    let multi = release_at_least(6, 6)
        && !forced("uprobe_multi")
        && !env.iter().any(|(_, v)| v.contains("uprobe_multi"));
    let attached = done
        .stderr
        .iter()
        .find(|l| l.contains("stats: attached"))
        .expect("the attached line");
    let links = if multi { 1 + 2 } else { 8 + 2 };
    assert!(
        attached.contains(&format!(" by {links} links in ")),
        "{attached}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn the_kernel_counts_every_call() {
    common::require_bpf();
    counts(&[]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_link_per_function_counts_the_same() {
    common::require_bpf();
    // With what the run forces already (EBQ_FORCE_FALLBACK=all in CI).
    let mut v = std::env::var("EBQ_FORCE_FALLBACK").unwrap_or_default();
    v.push_str(",uprobe_multi");
    counts(&[("EBQ_FORCE_FALLBACK", &v)]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn entry_only_and_return_only_rows() {
    common::require_bpf();
    let bin = fixture("funcs");
    // Nothing of the return: rows at the entry.
    let q = format!(
        "select event, arg0 from function_events where binary = '{bin}' and function = 'fx_add' and arg0 >= 1"
    );
    let Some(done) = run_c(&[], &format!("{bin} calls 3 e"), &q) else {
        return;
    };
    let got: Vec<Value> = done
        .rows
        .iter()
        .map(|r| json!([r["event"], r["arg0"]]))
        .collect();
    assert_eq!(got, [json!(["entry", 1]), json!(["entry", 2])]);
    // The return alone: nothing of the entry is read.
    let q = format!(
        "select event, str(retval) as r from function_events where binary = '{bin}' and function = 'fx_name'"
    );
    let done = run_c(&[], &format!("{bin} calls 2 r"), &q).expect("rows");
    let got: Vec<Value> = done
        .rows
        .iter()
        .map(|r| json!([r["event"], r["r"]]))
        .collect();
    assert_eq!(
        got,
        [json!(["return", "ebq-even"]), json!(["return", "ebq-odd"])]
    );
    // A filter on retval is the kernel's.
    let q = format!(
        "select retval from function_events where binary = '{bin}' and function = 'fx_add' and retval = 1001"
    );
    let done = run_c(&[], &format!("{bin} calls 4 k"), &q).expect("rows");
    assert_eq!(done.rows, [json!({"retval": 1001})]);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn buf_copies_the_bytes_an_argument_points_to() {
    common::require_bpf();
    let bin = fixture("funcs");
    let m = common::marker("b");
    // A length from another argument, at the entry: the bytes as they
    // are, the invalid ones escaped; a NULL pointer's buffer is NULL; a
    // longer one is cut at 8192 bytes and says so.
    let q = format!(
        "select buf(arg0, arg1), buf_len, buf_cut, event from function_events where binary = '{bin}' and function = 'fx_send'"
    );
    let Some(done) = run_c(&[], &format!("{bin} bufs {m}"), &q) else {
        return;
    };
    let z = "z".repeat(8192);
    assert_eq!(
        done.rows,
        [
            json!({"buf(arg0, arg1)": format!("{m}\\x00\\x01\\xff"), "buf_len": m.len() + 3, "buf_cut": false, "event": "entry"}),
            json!({"buf(arg0, arg1)": null, "buf_len": 5, "buf_cut": false, "event": "entry"}),
            json!({"buf(arg0, arg1)": z, "buf_len": 10000, "buf_cut": true, "event": "entry"}),
        ],
        "{:?}",
        done.stderr
    );
    // A length the return value gives, read at the return: the buffer
    // as the function filled it.
    let q = format!(
        "select buf(arg0, retval) as b, retval from function_events where binary = '{bin}' and function = 'fx_fill'"
    );
    let done = run_c(&[], &format!("{bin} bufs {m}"), &q).expect("rows");
    let filled = format!("filled:{m}");
    assert_eq!(done.rows, [json!({"b": filled, "retval": filled.len()})]);
    // A constant length, and the bytes in a WHERE. Nothing of the return
    // read: the entry's row, fx_fill's buffer as it was before (zeroed);
    // the NULL pointer's buffer NULL, which != keeps out.
    let q = format!(
        "select buf(arg0, 4) as b from function_events where binary = '{bin}' and function in ('fx_send', 'fx_fill') and buf(arg0, 4) != 'zzzz'"
    );
    let done = run_c(&[], &format!("{bin} bufs {m}"), &q).expect("rows");
    assert_eq!(
        done.rows,
        [json!({"b": &m[..4]}), json!({"b": "\\x00\\x00\\x00\\x00"}),]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn event_picks_the_ends_traced() {
    common::require_bpf();
    let bin = fixture("funcs");
    // Both ends apart: two rows per call, each with what its end knows.
    let q = format!(
        "select event, arg0, retval from function_events where binary = '{bin}' and function = 'fx_add' and event in ('entry', 'return')"
    );
    let Some(done) = run_c(&[], &format!("{bin} calls 2 ev"), &q) else {
        return;
    };
    assert_eq!(
        done.rows,
        [
            json!({"event": "entry", "arg0": 0, "retval": null}),
            json!({"event": "return", "arg0": null, "retval": 1000}),
            json!({"event": "entry", "arg0": 1, "retval": null}),
            json!({"event": "return", "arg0": null, "retval": 1001}),
        ]
    );
    // The returns alone, though nothing of the return is read.
    let q = format!(
        "select event, function from function_events where binary = '{bin}' and function = 'fx_fact' and event = 'return'"
    );
    let done = run_c(&[], &format!("{bin} calls 1 ev"), &q).expect("rows");
    assert_eq!(
        done.rows,
        vec![json!({"event": "return", "function": "fx_fact"}); 4]
    );
    // Aggregated with a filter on what one end knows: the other end's
    // rows are NULL there, and not counted (fx_fact(4) returns 1 once).
    let q = format!(
        "select count(*) as n from function_events where binary = '{bin}' and function = 'fx_fact' and event in ('entry', 'return') and retval = 1"
    );
    let done = run_c(&[], &format!("{bin} calls 2 ev"), &q).expect("rows");
    assert_eq!(done.rows, [json!({"n": 2})]);
    // SELECT *: what an end lacks is NULL, no error.
    let q = format!(
        "select * from function_events where binary = '{bin}' and function = 'fx_add' and event = 'entry'"
    );
    let done = run_c(&[], &format!("{bin} calls 1 ev"), &q).expect("rows");
    assert_eq!(done.rows.len(), 1);
    assert_eq!(
        (
            &done.rows[0]["event"],
            &done.rows[0]["retval"],
            &done.rows[0]["duration"]
        ),
        (&json!("entry"), &Value::Null, &Value::Null)
    );
    // One row per call, paired, though the entry alone is read.
    let q = format!(
        "select event, arg0 from function_events where binary = '{bin}' and function = 'fx_add' and event != 'entry' and event != 'return'"
    );
    let done = run_c(&[], &format!("{bin} calls 2 ev"), &q).expect("rows");
    assert_eq!(
        done.rows,
        [0, 1].map(|i| json!({"event": "call", "arg0": i}))
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn non_pie_and_stripped_binaries() {
    common::require_bpf();
    for name in ["funcs_nopie", "funcs_stripped"] {
        let bin = fixture(name);
        let q = format!(
            "select function, arg0, retval from function_events where binary = '{bin}' and function in ('fx_add', 'fx_fact')"
        );
        let Some(done) = run_c(&[], &format!("{bin} calls 2 x"), &q) else {
            return;
        };
        let add: Vec<Value> = of(&done.rows, "fx_add")
            .iter()
            .map(|r| json!([r["arg0"], r["retval"]]))
            .collect();
        assert_eq!(add, [json!([0, 1000]), json!([1, 1001])], "{name}");
        assert_eq!(of(&done.rows, "fx_fact").len(), 8, "{name}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_shared_library_loaded_at_start_and_by_dlopen() {
    common::require_bpf();
    let bin = fixture("funcs");
    let lib = fixture("funcs_lib");
    let q = format!(
        "select binary, function, arg0, retval from function_events where binary = '{lib}' and function = 'lib_fx'"
    );
    let want: Vec<Value> = (0..3)
        .map(|i| json!([lib, "lib_fx", i, 3 * i + 1]))
        .collect();
    for cmd in [
        format!("LD_PRELOAD={lib} {bin} preloaded 3"),
        format!("{bin} dlopen {lib} 3"),
    ] {
        let Some(done) = run_c(&[], &cmd, &q) else {
            return;
        };
        let got: Vec<Value> = done
            .rows
            .iter()
            .map(|r| json!([r["binary"], r["function"], r["arg0"], r["retval"]]))
            .collect();
        assert_eq!(got, want, "{cmd}");
    }
}

/// Starts the fixture, which waits `delay_ms` before its calls.
fn start_fixture(name: &str, args: &[&str]) -> std::process::Child {
    Command::new(fixture(name))
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("the fixture starts")
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn pid_alone_probes_that_process_and_no_other() {
    common::require_bpf();
    let mut target = start_fixture("funcs", &["calls", "2", "pid", "2500"]);
    let mut other = start_fixture("funcs", &["calls", "2", "other", "2500"]);
    let p = target.id();
    let q = format!(
        "select pid, function, str(arg0) as s from function_events where pid = {p} and function = 'fx_greet'"
    );
    if refused(&q) {
        let _ = (target.kill(), other.kill(), target.wait(), other.wait());
        return;
    }
    let ebq = Running::start(&[&q]);
    let rows = ebq.wait_rows(2, |_| true);
    let _ = (target.wait(), other.wait());
    std::thread::sleep(Duration::from_millis(300));
    let done = ebq.stop();
    assert_eq!(
        done.rows,
        vec![json!({"pid": p, "function": "fx_greet", "s": "pid"}); 2],
        "{rows:?} {:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn threads_pair_their_own_calls() {
    common::require_bpf();
    let bin = fixture("funcs");
    let q = format!(
        "select tid, arg0, duration from function_events where binary = '{bin}' and function = 'fx_sleep'"
    );
    let Some(done) = run_c(&[], &format!("{bin} threads 4 60"), &q) else {
        return;
    };
    let mut rows: Vec<(i64, i64, i64)> = done
        .rows
        .iter()
        .map(|r| {
            (
                r["arg0"].as_i64().unwrap_or(0),
                r["duration"].as_i64().unwrap_or(0),
                r["tid"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    rows.sort();
    let args: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(args, [60, 120, 180, 240]);
    for (ms, d, _) in &rows {
        assert!(
            *d >= ms * 1_000_000 && *d < ms * 1_000_000 + 2_000_000_000,
            "{rows:?}"
        );
    }
    let mut tids: Vec<i64> = rows.iter().map(|r| r.2).collect();
    tids.dedup();
    assert_eq!(tids.len(), 4, "one thread each: {rows:?}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_binary_in_a_root_of_its_own_is_found_there_and_symlinks_stay_inside() {
    common::require_root("chroot a process");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    std::fs::copy(fixture("funcs_static"), root.join("funcs")).expect("copy");
    // A link that would lead to the host's copy of the fixture, were it
    // followed from the host's root.
    let outside = fixture("funcs");
    std::os::unix::fs::symlink(format!("/../../../../..{outside}"), root.join("evil"))
        .expect("symlink");
    let r = root.clone();
    let mut cmd = Command::new("/funcs");
    cmd.args(["calls", "2", "chroot", "2500"])
        .stdout(Stdio::null());
    let croot = std::ffi::CString::new(r.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: between fork and exec only chroot(2) and chdir(2), which are
    // async-signal-safe, and no allocation (the path is built before).
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(croot.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // A copy just written may be open in a child another test forked
    // meanwhile (ETXTBSY until that child execs): tried again.
    let mut child = (0..50)
        .find_map(|_| match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20));
                None
            }
            r => Some(r.expect("the chrooted fixture")),
        })
        .expect("the chrooted fixture starts");
    let p = child.id();
    // The symlink is resolved in the process's root: the host's file is
    // not what it names.
    let out = common::ebq()
        .args(["--explain", &format!("select arg0 from function_events where pid = {p} and binary = '/evil' and function = 'fx_add'")])
        .output()
        .expect("ebq runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("binary = '/evil': cannot open /evil (in pid"),
        "{err}"
    );
    let q = format!(
        "select pid, binary, function, arg0 from function_events where pid = {p} and binary = '/funcs' and function = 'fx_add'"
    );
    if !cookies() {
        let _ = (child.kill(), child.wait());
        return;
    }
    let ebq = Running::start(&[&q]);
    ebq.wait_rows(2, |_| true);
    let _ = child.wait();
    let done = ebq.stop();
    // The path as the process sees it.
    assert_eq!(
        done.rows,
        [0, 1].map(|i| json!({"pid": p, "binary": "/funcs", "function": "fx_add", "arg0": i})),
        "{:?}",
        done.stderr
    );
}

fn explain(q: &str) -> (Option<i32>, String, String) {
    let out = common::ebq()
        .args(["--explain", q])
        .output()
        .expect("ebq runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_shows_what_was_resolved() {
    let bin = fixture("funcs");
    let (code, out, err) = explain(&format!(
        "select function, arg0, duration from function_events where binary = '{bin}' and function like 'fx_%' and arg1 = 1000"
    ));
    assert_eq!(code, Some(0), "{err}");
    let attach = |what: &str| {
        out.lines()
            .any(|l| l.contains(what) && l.ends_with("  at attach: decides what is probed"))
    };
    assert!(attach(&format!("binary = '{bin}'")), "{out}");
    assert!(attach("function LIKE 'fx_%'"), "{out}");
    assert!(
        out.contains(&format!("probes    {bin}: 8 functions: fx_add@0x")),
        "{out}"
    );
    assert!(
        out.contains("16 probes in every process: entry and return, paired into one row per call"),
        "{out}"
    );
    // What decided the probes is not checked again; arg1 is.
    assert!(out.contains("userspace WHERE arg1 = 1000\n"), "{out}");
    assert!(out.contains("kernel    arg1 = 1000\n"), "{out}");
}

#[test]
fn a_go_binary_gets_entry_probes_only() {
    let bin = fixture("funcs_go");
    let (code, _, err) = explain(&format!(
        "select duration from function_events where binary = '{bin}' and function = 'fx_add'"
    ));
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(&format!(
            "ebq: {bin} is a Go program: ebq does not put return probes"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let (code, out, err) = explain(&format!(
        "select arg0 from function_events where binary = '{bin}' and function = 'fx_add'"
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("(Go: entry probes only; Go functions' args in Go's register ABI): 1 function: fx_add@0x"),
        "{out}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_go_function_has_its_args_from_go_registers() {
    common::require_bpf();
    if !cfg!(target_arch = "x86_64") {
        // arm64's Go registers are the C ABI's: nothing apart to see.
        return;
    }
    let bin = fixture("funcs_go");
    // main.goAdd takes (7, 35, 9, 1, 2, 3) in rax, rbx, rcx, rdi, rsi,
    // r8; fx_add, a C function of the same binary, (0, 1000) in rdi, rsi.
    let q = format!(
        "select function, arg0, arg1, arg2, arg3, arg4, arg5 from function_events where binary = '{bin}' and function in ('main.goAdd', 'fx_add')"
    );
    let Some(done) = run_c(&[], &format!("{bin} goabi"), &q) else {
        return;
    };
    let got: Vec<Value> = done
        .rows
        .iter()
        .map(|r| json!([r["function"], r["arg0"], r["arg1"]]))
        .collect();
    assert_eq!(
        got,
        [json!(["main.goAdd", 7, 35]), json!(["fx_add", 0, 1000])],
        "{:?}",
        done.stderr
    );
    assert_eq!(
        (1..6)
            .map(|i| &done.rows[0][format!("arg{i}")])
            .collect::<Vec<_>>(),
        [&json!(35), &json!(9), &json!(1), &json!(2), &json!(3)]
    );
}

#[test]
fn what_cannot_be_probed_is_one_line() {
    let bin = fixture("funcs");
    let bad = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(
        bad.path(),
        b"\x7fELF\x02\x01\x01garbage, not an ELF file's headers",
    )
    .expect("write");
    let bad = bad.path().display().to_string();
    for (q, want) in [
        (
            format!("select arg0 from function_events where binary = '{bin}' and function = 'fx_ad'"),
            "ebq: function 'fx_ad' is in no function symbol of the binary; nearest: fx_add".to_string(),
        ),
        (
            "select arg0 from function_events where function = 'main'".into(),
            "ebq: function_events needs to know what to probe: add binary".into(),
        ),
        (
            "select arg0 from function_events where binary = 'no-such-lib-ebq.so.7'".into(),
            "ebq: binary = 'no-such-lib-ebq.so.7': no such program or library (looked in /etc/ld.so.cache".into(),
        ),
        (
            format!("select arg0 from function_events where binary = '{bin}' or pid = 1"),
            "binary is decided when ebq attaches; name it in a condition of its own".into(),
        ),
        (
            format!("select arg0 from function_events where binary = '{bad}'"),
            format!("ebq: binary = '{bad}': {bad}: a malformed ELF file"),
        ),
        (
            "select arg0 from function_events where binary = 'libc.so.6'".into(),
            "more than 1000 functions".into(),
        ),
        (
            "select str(pid) from process_events".into(),
            "str() reads the string a register points to".into(),
        ),
        // A binary not found: the nearest name, bare or in its directory.
        (
            "select arg0 from function_events where binary = 'bsh'".into(),
            "no such program or library (looked in /etc/ld.so.cache".into(),
        ),
        (
            "select arg0 from function_events where binary = 'bsh'".into(),
            "; nearest: bash".into(),
        ),
        (
            format!("select arg0 from function_events where binary = '{bin}x'"),
            format!("ebq: binary = '{bin}x': cannot open {bin}x: No such file or directory (os error 2); nearest: {bin}"),
        ),
        (
            format!("select function from function_events where binary = '{bin}' and function = '_start' and event in ('entry', 'return')"),
            "a return probe there would corrupt or kill the program): trace its entry alone (event = 'entry')".into(),
        ),
        (
            format!("select 1 from function_events where binary = '{bin}' and event != 'entry'"),
            "ebq: the WHERE's event allows 'call' and 'return': 'call'".into(),
        ),
        (
            "select 1 from function_events where binary = ''".into(),
            "ebq: binary = '': give an absolute path or a bare name".into(),
        ),
        (
            format!("select *, retval from function_events where binary = '{bin}' and event = 'entry'"),
            "ebq: retval is known only with the return (event = 'return')".into(),
        ),
        // What the WHERE's event leaves out, and buf()'s forms.
        (
            format!("select retval from function_events where binary = '{bin}' and event = 'entry'"),
            "ebq: retval is known only with the return (event = 'return'): the WHERE's event leaves it out".into(),
        ),
        (
            format!("select duration from function_events where binary = '{bin}' and event in ('entry', 'return')"),
            "ebq: duration is known only with both ends of a call (event = 'call')".into(),
        ),
        (
            format!("select 1 from function_events where binary = '{bin}' and event in ('call', 'return')"),
            "ebq: the WHERE's event allows 'call' and 'return': 'call' (one row per call, both ends paired) cannot be mixed with 'entry' or 'return'".into(),
        ),
        (
            format!("select 1 from function_events where binary = '{bin}' and (event = 'entry' or pid = 1)"),
            "event is decided when ebq attaches; name it in a condition of its own".into(),
        ),
        (
            format!("select buf(arg0, arg1), buf(arg0, 4) from function_events where binary = '{bin}'"),
            "one buf() per query: a row carries one buffer, and buf(arg0, arg1) is already read".into(),
        ),
        (
            format!("select buf(arg0, 8193) from function_events where binary = '{bin}'"),
            "buf(): a length from 1 to 8192 bytes".into(),
        ),
        (
            format!("select buf from function_events where binary = '{bin}'"),
            "ebq: buf is the buffer buf(argN, len) copies: name it".into(),
        ),
        (
            format!("select buf(arg0, retval) from function_events where binary = '{bin}' and event = 'entry'"),
            "ebq: buf(argN, retval) is known only with both ends of a call".into(),
        ),
    ] {
        let (code, _, err) = explain(&q);
        assert_eq!(code, Some(2), "{q}: {err}");
        assert!(err.contains(&want), "{q}: {err}");
        assert_eq!(err.lines().count(), 1 + usize::from(err.contains("\n  ")) * 2, "{q}: {err}");
    }
    // A directory (or a link to one) is no binary to suggest.
    let (_, _, err) = explain("select arg0 from function_events where binary = '/bim'");
    assert!(
        err.contains("cannot open /bim") && !err.contains("nearest"),
        "{err}"
    );
    // The cap can be raised.
    let out = common::ebq()
        .args([
            "--max-probes",
            "100000",
            "--explain",
            "select arg0 from function_events where binary = 'libc.so.6'",
        ])
        .output()
        .expect("ebq");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn check_tries_the_function_tables_with_every_column() {
    common::require_bpf();
    let out = common::ebq_root()
        .arg("--check")
        .output()
        .expect("ebq --check");
    let text = String::from_utf8_lossy(&out.stdout);
    for t in [
        "function_events",
        "bash_events",
        "ssl_events",
        "user_events",
        "usdt_events",
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == t))
            .unwrap_or_else(|| panic!("no line of {t}: {text}"));
        if cookies() {
            assert!(line.contains(" loads and attaches ("), "{line}");
        } else {
            assert!(line.contains("needs attach cookies (Linux 5.15)"), "{line}");
        }
    }
}

#[test]
fn symbols_lists_what_can_be_probed() {
    let out = common::ebq()
        .args(["--symbols", &fixture("funcs_stripped")])
        .output()
        .expect("ebq");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(".dynsym only"), "{text}");
    for f in ["fx_add", "fx_greet", "fx_name", "fx_sleep", "fx_fact"] {
        assert!(
            text.lines().any(|l| l.ends_with(&format!(" export {f}"))),
            "{f}: {text}"
        );
    }
    let out = common::ebq()
        .args(["--symbols", "libc.so.6"])
        .output()
        .expect("ebq");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains(" export malloc@@GLIBC_")),
        "{}",
        &text[..text.len().min(400)]
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn funclatency_is_one_query_counted_in_the_kernel() {
    common::require_bpf();
    let bin = fixture("funcs");
    let q = format!(
        "select function, count(*) as n, hist(duration) as h from function_events where binary = '{bin}' and function = 'fx_sleep' group by function"
    );
    let Some(done) = run_c(&[], &format!("{bin} calls 1 lat"), &q) else {
        return;
    };
    assert_eq!(done.rows.len(), 1, "{:?}", done.rows);
    let r = &done.rows[0];
    assert_eq!((&r["function"], &r["n"]), (&json!("fx_sleep"), &json!(1)));
    // fx_sleep(20): 20 ms, in the power-of-2 bucket [2^24, 2^25) ns, or a
    // later one on a slow machine; none before.
    let buckets = r["h"].as_array().expect("a histogram");
    let hit: Vec<&Value> = buckets.iter().filter(|b| b["count"] != 0).collect();
    assert_eq!(hit.len(), 1, "{buckets:?}");
    assert!(
        hit[0]["low"].as_i64().is_some_and(|l| l >= 1 << 24),
        "{buckets:?}"
    );
    assert_eq!(done.stat("sent"), 0);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn dash_p_follows_one_process_and_a_binary_in_its_mount_namespace() {
    common::require_root("unshare a mount namespace");
    // The fixture at a path only its own mount namespace has: a tmpfs
    // mounted over a directory, the binary copied into it there.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let bin = fixture("funcs");
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs none {d} && cp {bin} {d}/funcs && exec {d}/funcs calls 2 mnt 2500"
        ))
        .stdout(Stdio::null())
        .spawn()
        .expect("unshare(1)");
    // The exec'd fixture: the same pid as the shell that became it.
    let p = child.id();
    let exe = format!("{d}/funcs");
    for _ in 0..200 {
        if std::fs::read_link(format!("/proc/{p}/exe"))
            .is_ok_and(|e| e.display().to_string() == exe)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // From the host, the path is an empty directory's.
    assert!(!std::path::Path::new(&exe).exists());
    let q = format!("select pid, binary, arg0 from function_events where binary = '{exe}' and function = 'fx_add'");
    if refused(&q) {
        let _ = (child.kill(), child.wait());
        return;
    }
    let ps = p.to_string();
    let ebq = Running::start(&["-p", &ps, &format!("{q} and pid = {p}")]);
    let done = ebq.finish();
    let _ = child.wait();
    assert_eq!(
        done.rows,
        [0, 1].map(|i| json!({"pid": p, "binary": exe, "arg0": i})),
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn probes_go_when_ebq_is_killed() {
    common::require_bpf();
    let bin = fixture("funcs");
    let q = format!("select arg0, retval, duration from function_events where binary = '{bin}' and function like 'fx_%'");
    if refused(&q) {
        return;
    }
    // The ids of the uprobe_multi links the processes `of` hold (other
    // tests' runs hold theirs at the same time: ids, not a count).
    let links = |of: &dyn Fn(&str) -> bool| {
        let mut ids = std::collections::BTreeSet::new();
        for p in std::fs::read_dir("/proc").expect("/proc").flatten() {
            if !of(&p.file_name().to_string_lossy()) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(p.path().join("fdinfo")) else {
                continue;
            };
            for fd in fds.flatten() {
                let text = std::fs::read_to_string(fd.path()).unwrap_or_default();
                if text.contains("link_type:\tuprobe_multi") {
                    ids.extend(
                        text.lines()
                            .filter_map(|l| l.strip_prefix("link_id:\t")?.parse::<u64>().ok()),
                    );
                }
            }
        }
        ids
    };
    let ebq = Running::start(&[&q]);
    let me = ebq.pid().to_string();
    let held = links(&|p| p == me);
    assert!(!held.is_empty() || !release_at_least(6, 6) || forced("uprobe_multi"));
    // SIGKILL: nothing of ebq's own runs to detach anything.
    let pid = nix::unistd::Pid::from_raw(ebq.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill");
    let done = ebq.finish();
    assert!(!done.status.success());
    let left = links(&|_| true);
    assert!(held.is_disjoint(&left), "{held:?} still held: {left:?}");
    // The traced program runs as before, its calls and returns intact.
    let out = Command::new(&bin)
        .args(["calls", "3", "after"])
        .status()
        .expect("runs");
    assert!(out.success());
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_call_left_by_longjmp_pairs_with_no_other_return() {
    common::require_bpf();
    let bin = fixture("funcs");
    // fx_jumper(1) leaves by longjmp; fx_jumper(7) then enters at the
    // same depth, filtered out by arg0 = 1: its return is no row of the
    // first call's.
    let q = format!(
        "select arg0, retval from function_events where binary = '{bin}' and function = 'fx_jumper' and arg0 = 1"
    );
    let Some(done) = run_c(&[], &format!("{bin} jump"), &q) else {
        return;
    };
    assert_eq!(done.rows, [json!({"arg0": 1, "retval": 10})]);
}

#[test]
fn functions_that_do_not_return_get_no_return_probe() {
    let bin = fixture("funcs");
    // Named: refused, with why.
    for f in ["_start", "exit"] {
        let b = if f == "exit" {
            "libc.so.6".to_string()
        } else {
            bin.clone()
        };
        let (code, _, err) = explain(&format!(
            "select duration from function_events where binary = '{b}' and function = '{f}'"
        ));
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!("function '{f}' of "))
                && err.contains("does not return to its caller"),
            "{err}"
        );
    }
    // Matched by a LIKE: left out, and said.
    let (code, out, err) = explain(&format!(
        "select duration from function_events where binary = '{bin}' and function like '%'"
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("_start@"), "{out}");
    assert!(
        out.contains(
            "functions that do not return as functions do (_start, setjmp, exit ...) left out"
        ),
        "{out}"
    );
    // Its entry alone is fine.
    let (code, out, _) = explain(&format!(
        "select arg0 from function_events where binary = '{bin}' and function = '_start'"
    ));
    assert_eq!(code, Some(0));
    assert!(out.contains("1 function: _start@0x"), "{out}");
}

#[test]
fn hostile_files_are_refused_at_once() {
    use std::os::unix::fs::FileExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    // A FIFO would block open(2) until a writer came.
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    // A sparse file of 2 GiB: refused by its size, not read.
    let big = dir.path().join("big");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(2 << 30).expect("set_len");
    f.write_at(b"\x7fELF\x02\x01\x01", 0).expect("magic");
    // An ELF of another machine: its offsets mean nothing here.
    let other = dir.path().join("other");
    let mut image = std::fs::read(fixture("funcs")).expect("the fixture");
    let foreign: u16 = if cfg!(target_arch = "aarch64") {
        62
    } else {
        183
    };
    image[18..20].copy_from_slice(&foreign.to_le_bytes());
    std::fs::write(&other, image).expect("write");
    for (path, want) in [
        (&fifo, "is not a file"),
        (&big, "larger than 1024 MiB"),
        (&other, "built for another machine"),
        (&dir.path().to_path_buf(), "is not a file"),
    ] {
        let t0 = std::time::Instant::now();
        let mut child = common::ebq()
            .args([
                "--explain",
                &format!(
                    "select arg0 from function_events where binary = '{}'",
                    path.display()
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ebq runs");
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                let _ = (child.kill(), child.wait());
                panic!("ebq hung on {}", path.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        use std::io::Read as _;
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        assert_eq!(status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{}: {err}", path.display());
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // --symbols too.
    let out = common::ebq()
        .args(["--symbols", "/dev/zero"])
        .output()
        .expect("ebq");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a file"));
}

#[test]
fn names_are_the_ones_asked_for_and_versions_are_respected() {
    let (code, out, err) = explain(
        "select arg0 from function_events where binary = 'libc.so.6' and function in ('malloc', '__libc_malloc')",
    );
    assert_eq!(code, Some(0), "{err}");
    // One function at one address, named as the WHERE names it first.
    assert!(out.contains(": 1 function: malloc@0x"), "{out}");
    let (code, _, err) = explain(
        "select arg0 from function_events where binary = 'libc.so.6' and function = 'strlen'",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("is an indirect function (IFUNC)"), "{err}");
    let (code, out, err) = explain(
        "select arg0 from function_events where binary = 'libc.so.6' and function = 'malloc@GLIBC_2.2.5'",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(": 1 function: malloc@0x"), "{out}");
}
