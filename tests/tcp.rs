//! End-to-end tests of tcp_events: connections on loopback made by a
//! helper of the test's own (tests/helpers/tcp.c) with known bytes each
//! way, a connect to a closed port, a SYN a full listener drops, and a
//! close with unread bytes. Each row names the process that owns the
//! socket (connected, listened, accepted), never the task a softirq
//! interrupted, and where the owner is unknown the task columns are NULL.

mod common;

use std::process::Command;

use common::Running;
use serde_json::{json, Value};

const COLUMNS: &str = "pid, tid, comm, action, old_state, state, family, local_address, \
     local_port, remote_address, remote_port, duration, bytes_sent, bytes_received, owner";

/// Runs the helper with `args`; its "name pid [port]" lines.
fn helper(args: &[&str]) -> Vec<(String, i64, i64)> {
    let out = Command::new(common::helper("tcp"))
        .args(args)
        .output()
        .expect("the tcp helper");
    assert!(
        out.status.success(),
        "tcp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| w.get(i).map_or(0, |v| v.parse().expect("a number"));
            (w[0].to_string(), n(1), n(2))
        })
        .collect()
}

fn told(lines: &[(String, i64, i64)], name: &str) -> (i64, i64) {
    lines
        .iter()
        .find(|l| l.0 == name)
        .map(|l| (l.1, l.2))
        .unwrap_or_else(|| panic!("no {name} line in {lines:?}"))
}

/// The helper's comm: its file name, cut to TASK_COMM_LEN - 1.
fn comm() -> String {
    common::helper("tcp")
        .file_name()
        .expect("name")
        .to_string_lossy()
        .chars()
        .take(15)
        .collect()
}

fn rows_where<'a>(rows: &'a [Value], f: impl Fn(&Value) -> bool + 'a) -> Vec<&'a Value> {
    rows.iter().filter(|r| f(r)).collect()
}

fn one<'a>(rows: &'a [Value], what: &str, f: impl Fn(&Value) -> bool) -> &'a Value {
    let got: Vec<&Value> = rows.iter().filter(|r| f(r)).collect();
    assert_eq!(got.len(), 1, "{what}: {got:?}\nall: {rows:?}");
    got[0]
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn tcplife_rows_have_both_ends_the_bytes_and_the_owners() {
    common::require_bpf();
    let ebq = Running::start(&[&format!(
        "select {COLUMNS} from tcp_events where local_address = '127.0.0.1'"
    )]);
    let lines = helper(&["life", "1000", "3000"]);
    let (listener, port) = told(&lines, "listener");
    let (worker, _) = told(&lines, "worker");
    let (client, cport) = told(&lines, "client");
    ebq.wait_rows(2, |r| {
        r["action"] == "close" && (r["local_port"] == port || r["local_port"] == cport)
    });
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let rows = &done.rows;
    let comm = comm();

    // The client's lifetime: its bytes each way, exact, and its owner.
    let c = one(rows, "the client's close", |r| {
        r["action"] == "close" && r["local_port"] == cport
    });
    assert_eq!(
        (&c["pid"], &c["tid"], &c["comm"], &c["owner"]),
        (
            &json!(client),
            &json!(client),
            &json!(comm),
            &json!("connect")
        )
    );
    assert_eq!(
        (&c["family"], &c["local_address"], &c["remote_address"]),
        (&json!(2), &json!("127.0.0.1"), &json!("127.0.0.1"))
    );
    assert_eq!(c["remote_port"], port);
    assert_eq!(
        (&c["bytes_sent"], &c["bytes_received"]),
        (&json!(1000), &json!(3000))
    );
    assert_eq!(
        (&c["old_state"], &c["state"]),
        (&json!("FIN_WAIT2"), &json!("CLOSE"))
    );
    // It waited 100 ms between its connect and its first byte.
    let d = c["duration"].as_i64().expect("a lifetime");
    assert!((100_000_000..10_000_000_000).contains(&d), "{c}");

    // The server's end: the worker that accepted it owns it, not the
    // listener's process, and its counts are the mirror of the client's.
    let w = one(rows, "the worker's close", |r| {
        r["action"] == "close" && r["local_port"] == port && r["remote_port"] == cport
    });
    assert_eq!(
        (&w["pid"], &w["comm"], &w["owner"]),
        (&json!(worker), &json!(comm), &json!("accept"))
    );
    assert_eq!(
        (&w["bytes_sent"], &w["bytes_received"]),
        (&json!(3000), &json!(1000))
    );
    assert_eq!(w["old_state"], "LAST_ACK");
    assert!(
        w["duration"].as_i64().expect("a lifetime") >= 100_000_000,
        "{w}"
    );

    // Before the accept, the new connection is its listener's. (Its
    // change to SYN_RECV runs as the listener is cloned, before 5.10's
    // copy has the peer's address: that row is found by its listener.)
    let r = one(rows, "the new connection", |r| {
        r["action"] == "state" && r["state"] == "SYN_RECV" && r["local_port"] == port
    });
    assert_eq!(
        (&r["pid"], &r["owner"], &r["old_state"]),
        (&json!(listener), &json!("listener"), &json!("LISTEN"))
    );
    let r = one(rows, "the new connection established", |r| {
        r["action"] == "state" && r["old_state"] == "SYN_RECV" && r["remote_port"] == cport
    });
    assert_eq!(
        (&r["pid"], &r["owner"], &r["state"], &r["local_port"]),
        (
            &json!(listener),
            &json!("listener"),
            &json!("ESTABLISHED"),
            &json!(port)
        )
    );
    let l = one(rows, "the listen", |r| {
        r["action"] == "state" && r["state"] == "LISTEN" && r["local_port"] == port
    });
    assert_eq!(
        (&l["pid"], &l["owner"]),
        (&json!(listener), &json!("listen"))
    );
    // A listener's close is no connection's lifetime.
    assert!(
        rows_where(rows, |r| r["action"] == "close" && r["remote_port"] == 0).is_empty(),
        "{rows:?}"
    );

    // tcpconnlat: the client's SYN_SENT to ESTABLISHED.
    let k = one(rows, "the connect", |r| {
        r["action"] == "connect" && r["local_port"] == cport
    });
    assert_eq!(
        (
            &k["pid"],
            &k["owner"],
            &k["old_state"],
            &k["state"],
            &k["remote_port"]
        ),
        (
            &json!(client),
            &json!("connect"),
            &json!("SYN_SENT"),
            &json!("ESTABLISHED"),
            &json!(port)
        )
    );
    assert!(k["duration"].as_i64().expect("a latency") > 0, "{k}");

    // The client's state changes, in order, each with its time in the
    // state it left (the first, from CLOSE, has none).
    let states: Vec<(&str, &str)> = rows_where(rows, |r| {
        r["action"] == "state" && r["pid"] == client && r["remote_port"] == port
    })
    .iter()
    .map(|r| {
        (
            r["old_state"].as_str().expect("old"),
            r["state"].as_str().expect("new"),
        )
    })
    .collect();
    assert_eq!(
        states,
        [
            ("CLOSE", "SYN_SENT"),
            ("SYN_SENT", "ESTABLISHED"),
            ("ESTABLISHED", "FIN_WAIT1"),
            ("FIN_WAIT1", "FIN_WAIT2"),
            ("FIN_WAIT2", "CLOSE"),
        ]
    );
    for r in rows_where(rows, |r| r["action"] == "state" && r["pid"] == client) {
        if r["old_state"] == "CLOSE" {
            assert_eq!(r["duration"], Value::Null, "{r}");
        } else {
            assert!(r["duration"].as_i64().expect("in the old state") > 0, "{r}");
        }
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_refused_connect_is_a_reset_its_client_received() {
    common::require_bpf();
    let ebq = Running::start(&[&format!(
        "select {COLUMNS} from tcp_events where action in ('receive_reset', 'send_reset', 'close')"
    )]);
    let lines = helper(&["refused"]);
    let (client, port) = told(&lines, "client");
    ebq.wait_rows(1, |r| r["action"] == "close" && r["pid"] == client);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let rows = &done.rows;
    let r = one(rows, "the reset received", |r| {
        r["action"] == "receive_reset" && r["remote_port"] == port
    });
    assert_eq!(
        (&r["pid"], &r["owner"], &r["state"], &r["old_state"]),
        (
            &json!(client),
            &json!("connect"),
            &json!("SYN_SENT"),
            &Value::Null
        )
    );
    let cport = r["local_port"].clone();
    assert!(cport.as_i64().expect("a port") > 0, "{r}");
    // The reset the closed port answered with is no process's: no socket
    // sent it (kernels that trace it: 6.10 and later). Its ends are the
    // segment's, swapped.
    for s in rows_where(rows, |r| {
        r["action"] == "send_reset" && r["local_port"] == port
    }) {
        assert_eq!(
            (&s["pid"], &s["comm"], &s["owner"], &s["remote_port"]),
            (&Value::Null, &Value::Null, &Value::Null, &cport),
            "{s}"
        );
        assert_eq!(s["remote_address"], "127.0.0.1");
    }
    // Its lifetime: nothing each way, from SYN_SENT.
    let c = one(rows, "the failed connection's close", |r| {
        r["action"] == "close" && r["pid"] == client
    });
    assert_eq!(
        (
            &c["old_state"],
            &c["bytes_sent"],
            &c["bytes_received"],
            &c["remote_port"]
        ),
        (&json!("SYN_SENT"), &json!(0), &json!(0), &json!(port))
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_syn_a_full_listener_dropped_is_retransmitted() {
    common::require_bpf();
    let ebq = Running::start(&[&format!(
        "select {COLUMNS} from tcp_events where action = 'retransmit'"
    )]);
    let lines = helper(&["retrans"]);
    let (client, port) = told(&lines, "client");
    ebq.wait_rows(1, |r| r["pid"] == client);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let mine = rows_where(&done.rows, |r| r["remote_port"] == port);
    // The SYN again after 1 s (TCP_TIMEOUT_INIT); the next would be 2 s
    // later, after the helper gave up at 1.6 s.
    assert_eq!(mine.len(), 1, "{:?}", done.rows);
    let r = mine[0];
    assert_eq!(
        (&r["pid"], &r["owner"], &r["state"], &r["action"]),
        (
            &json!(client),
            &json!("connect"),
            &json!("SYN_SENT"),
            &json!("retransmit")
        )
    );
    assert_eq!(
        (&r["local_address"], &r["remote_address"]),
        (&json!("127.0.0.1"), &json!("127.0.0.1"))
    );
    assert!(r["local_port"].as_i64().expect("a port") > 0, "{r}");
    // Only what the query asked for: no state rows came up.
    assert!(done.rows.iter().all(|r| r["action"] == "retransmit"));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_close_with_bytes_unread_sends_a_reset_from_its_owner() {
    common::require_bpf();
    let ebq = Running::start(&[&format!(
        "select {COLUMNS} from tcp_events where action in ('send_reset', 'receive_reset')"
    )]);
    let lines = helper(&["abort"]);
    let (worker, _) = told(&lines, "worker");
    let (client, cport) = told(&lines, "client");
    ebq.wait_rows(2, |r| r["pid"] == client || r["pid"] == worker);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let rows = &done.rows;
    let s = one(rows, "the reset sent", |r| {
        r["action"] == "send_reset" && r["remote_port"] == cport
    });
    assert_eq!(
        (&s["pid"], &s["owner"], &s["comm"]),
        (&json!(worker), &json!("accept"), &json!(comm()))
    );
    let r = one(rows, "the reset received", |r| {
        r["action"] == "receive_reset" && r["local_port"] == cport
    });
    assert_eq!(
        (&r["pid"], &r["owner"]),
        (&json!(client), &json!("connect"))
    );
    assert_eq!(r["remote_port"], s["local_port"]);
}

/// A port free now (bound and let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ports_and_owners_are_filtered_in_the_kernel() {
    common::require_bpf();
    let port = free_port();
    let ebq = Running::start(&[&format!(
        "select {COLUMNS} from tcp_events where action = 'close' and local_port = {port} and comm = '{}'",
        comm()
    )]);
    // Another connection first, on another port: filtered in the kernel.
    helper(&["life", "10", "20"]);
    let lines = helper(&["life", "500", "700", &port.to_string()]);
    let (worker, _) = told(&lines, "worker");
    ebq.wait_rows(1, |r| r["pid"] == worker);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    // The worker's end alone: the client's local port is another, and
    // the listener's close is no lifetime.
    assert_eq!(done.rows.len(), 1, "{:?}", done.rows);
    let w = &done.rows[0];
    assert_eq!(
        (
            &w["pid"],
            &w["local_port"],
            &w["bytes_sent"],
            &w["bytes_received"]
        ),
        (&json!(worker), &json!(port), &json!(700), &json!(500))
    );
    assert!(done.stat("rejected") > 0, "{:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn counts_and_averages_in_the_kernel_are_userspace_s_with_null_durations_left_out() {
    common::require_bpf();
    let comm = comm();
    let query = |extra: &str| {
        format!(
            "select action, old_state, count(*), avg(duration), min(duration) from tcp_events \
             where comm = '{comm}'{extra} group by action, old_state"
        )
    };
    // The same groups twice: in the kernel, and (a filter the kernel
    // cannot decide) in userspace.
    let kernel = Running::start(&[&query("")]);
    let user = Running::start(&[&query(" and local_address like '%'")]);
    helper(&["life", "100", "200"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (k, u) = (kernel.stop(), user.stop());
    assert!(
        k.status.success() && u.status.success(),
        "{:?} {:?}",
        k.stderr,
        u.stderr
    );
    assert!(
        k.stderr
            .iter()
            .any(|l| l.contains("aggregated 2") || l.contains("aggregated 1")),
        "the kernel aggregated: {:?}",
        k.stderr
    );
    let by = |rows: &[Value]| {
        let mut m: Vec<(String, String, i64, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r["action"].as_str().expect("action").to_string(),
                    r["old_state"].as_str().unwrap_or("-").to_string(),
                    r["count(*)"].as_i64().expect("count"),
                    r["avg(duration)"].is_null(),
                )
            })
            .collect();
        m.sort();
        m
    };
    let got = by(&k.rows);
    assert_eq!(
        got,
        by(&u.rows),
        "kernel {:?} userspace {:?}",
        k.rows,
        u.rows
    );
    let want: Vec<(String, String, i64, bool)> = [
        ("close", "FIN_WAIT2", 1, false),
        ("close", "LAST_ACK", 1, false),
        ("connect", "SYN_SENT", 1, false),
        // From CLOSE: the listen and the connect, with no time before.
        ("state", "CLOSE", 2, true),
        ("state", "CLOSE_WAIT", 1, false),
        ("state", "ESTABLISHED", 2, false),
        ("state", "FIN_WAIT1", 1, false),
        ("state", "FIN_WAIT2", 1, false),
        ("state", "LAST_ACK", 1, false),
        // The new connection (no time: its socket is new) and the
        // listener's close (its time listening).
        ("state", "LISTEN", 2, false),
        ("state", "SYN_RECV", 1, false),
        ("state", "SYN_SENT", 1, false),
    ]
    .iter()
    .map(|(a, o, n, z)| (a.to_string(), o.to_string(), *n, *z))
    .collect();
    assert_eq!(got, want, "{:?}", k.rows);
    // The listener's average is its close's time alone: the NULL of the
    // new connection's row is no 0 in it.
    let listen = |rows: &[Value]| {
        rows.iter()
            .find(|r| r["action"] == "state" && r["old_state"] == "LISTEN")
            .map(|r| (r["avg(duration)"].clone(), r["min(duration)"].clone()))
            .expect("the LISTEN group")
    };
    let (avg, min) = listen(&k.rows);
    assert_eq!(avg.as_f64(), min.as_i64().map(|m| m as f64), "{:?}", k.rows);
    assert!(min.as_i64().expect("a min") > 0);
    // Userspace's the same way (each ebq times its own notes: the two
    // values differ by the moments their programs ran).
    let (avg, min) = listen(&u.rows);
    assert_eq!(avg.as_f64(), min.as_i64().map(|m| m as f64), "{:?}", u.rows);
}
