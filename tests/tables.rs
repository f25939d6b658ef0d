//! End-to-end tests of the event tables beside process_events: sockets,
//! process exits and signals, each against events this test makes, with
//! exact fields. Every query filters on this test's own processes.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};

use common::Running;
use serde_json::{json, Value};

fn me() -> String {
    std::process::id().to_string()
}

fn pick(rows: &[Value], keys: &[&str]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            Value::Object(
                keys.iter()
                    .map(|k| (k.to_string(), r[*k].clone()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn tcp_connect_and_accept_on_ipv4_show_both_ends() {
    let Some(ebq) = Running::start(&[&format!(
        "select action, family, protocol, local_address, local_port, remote_address, remote_port, exit_code, status from socket_events where pid = {} and action in ('connect', 'accept') and family = 'AF_INET'",
        me()
    )]) else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (_server, peer) = listener.accept().expect("accept");
    let cport = client.local_addr().expect("local").port();
    assert_eq!(peer.port(), cport);
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let keys = [
        "action",
        "family",
        "protocol",
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "exit_code",
        "status",
    ];
    let connect = rows
        .iter()
        .find(|r| r["action"] == "connect")
        .expect("a connect row");
    let accept = rows
        .iter()
        .find(|r| r["action"] == "accept")
        .expect("an accept row");
    assert_eq!(
        pick(std::slice::from_ref(connect), &keys)[0],
        json!({"action": "connect", "family": 2, "protocol": 6, "local_address": "127.0.0.1", "local_port": cport, "remote_address": "127.0.0.1", "remote_port": port, "exit_code": 0, "status": "succeeded"})
    );
    assert_eq!(accept["local_port"], json!(port));
    assert_eq!(accept["remote_port"], json!(cport));
    assert_eq!(accept["remote_address"], json!("127.0.0.1"));
    assert!(accept["exit_code"].as_i64().expect("fd") >= 0);
}

#[test]
fn tcp_on_ipv6_loopback() {
    let Some(ebq) = Running::start(&[&format!(
        "select action, family, local_address, local_port, remote_address, remote_port from socket_events where pid = {} and family = 10 and action in ('connect', 'accept')",
        me()
    )]) else {
        return;
    };
    let listener = TcpListener::bind("[::1]:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("::1", port)).expect("connect");
    let (_s, _) = listener.accept().expect("accept");
    let cport = client.local_addr().expect("local").port();
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let mut rows = rows;
    rows.sort_by_key(|r| r["action"].as_str().map(str::to_string));
    assert_eq!(
        rows,
        [
            json!({"action": "accept", "family": 10, "local_address": "::1", "local_port": port, "remote_address": "::1", "remote_port": cport}),
            json!({"action": "connect", "family": 10, "local_address": "::1", "local_port": cport, "remote_address": "::1", "remote_port": port}),
        ]
    );
}

#[test]
fn refused_connect_is_a_failed_row() {
    // A port nobody listens on: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let Some(ebq) = Running::start(&[&format!(
        "select remote_address, remote_port, exit_code, error, status from socket_events where pid = {} and action = 'connect' and remote_port = {port}",
        me()
    )]) else {
        return;
    };
    let err = TcpStream::connect(("127.0.0.1", port)).expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"remote_address": "127.0.0.1", "remote_port": port, "exit_code": -111, "error": "ECONNREFUSED", "status": "failed"})
        ]
    );
}

#[test]
fn udp_bind_reports_the_port_the_kernel_chose() {
    let Some(ebq) = Running::start(&[&format!(
        "select action, protocol, local_address, local_port from socket_events where pid = {} and protocol = 'udp'",
        me()
    )]) else {
        return;
    };
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = sock.local_addr().expect("addr").port();
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"action": "bind", "protocol": 17, "local_address": "127.0.0.1", "local_port": port})
        ]
    );
}

#[test]
fn unix_sockets_carry_their_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ebq.sock");
    let p = path.to_str().expect("utf8").to_string();
    let Some(ebq) = Running::start(&[&format!("select action, family, local_address, remote_address from socket_events where pid = {} and family = 'unix'", me())]) else {
        return;
    };
    let l = UnixListener::bind(&path).expect("bind");
    let mut c = UnixStream::connect(&path).expect("connect");
    let (mut s, _) = l.accept().expect("accept");
    c.write_all(b"x").expect("write");
    let mut b = [0u8; 1];
    s.read_exact(&mut b).expect("read");
    let rows = ebq.wait_rows(4, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"action": "bind", "family": 1, "local_address": p, "remote_address": null}),
            json!({"action": "listen", "family": 1, "local_address": p, "remote_address": null}),
            json!({"action": "connect", "family": 1, "local_address": null, "remote_address": p}),
            json!({"action": "accept", "family": 1, "local_address": p, "remote_address": null}),
        ]
    );
}

#[test]
fn action_picks_only_the_connect_programs() {
    let Some(ebq) = Running::start(&[&format!(
        "select action from socket_events where action = 'connect' and pid = {}",
        me()
    )]) else {
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let _c = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let rows = ebq.wait_rows(1, |_| true);
    let done = ebq.stop();
    assert_eq!(rows, [json!({"action": "connect"})]);
    let attached = done
        .stderr
        .iter()
        .find(|l| l.contains("stats: attached"))
        .expect("stats line");
    assert!(
        attached.contains("attached 2 programs (connect_enter, connect_exit)"),
        "{attached}"
    );
}

#[test]
fn exits_show_the_code_or_the_signal() {
    let Some(ebq) = Running::start(&[&format!(
        "select pid, parent, exit_code, signal, signal_name, core_dumped from process_exit_events where parent = {}",
        me()
    )]) else {
        return;
    };
    let mut three = Command::new("/bin/sh")
        .args(["-c", "exit 3"])
        .spawn()
        .expect("sh");
    let three_pid = three.id();
    three.wait().expect("wait");
    let mut sleeper = Command::new("/bin/sleep").arg("60").spawn().expect("sleep");
    let sleeper_pid = sleeper.id();
    std::thread::sleep(std::time::Duration::from_millis(100));
    sleeper.kill().expect("SIGKILL");
    sleeper.wait().expect("wait");
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"pid": three_pid, "parent": std::process::id(), "exit_code": 3, "signal": null, "signal_name": null, "core_dumped": false}),
            json!({"pid": sleeper_pid, "parent": std::process::id(), "exit_code": null, "signal": 9, "signal_name": "SIGKILL", "core_dumped": false}),
        ]
    );
}

#[test]
fn kill_between_two_processes_is_a_signal_row() {
    let mut target = Command::new("/bin/sleep")
        .arg("60")
        .spawn()
        .expect("target");
    let target_pid = target.id();
    let Some(ebq) = Running::start(&[&format!(
        "select comm, signal, signal_name, target_pid, target_comm, code, result from signal_events where signal = 'SIGUSR1' and target_pid = {target_pid}"
    )]) else {
        let _ = target.kill();
        let _ = target.wait();
        return;
    };
    let status = Command::new("/bin/kill")
        .args(["-USR1", &target_pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = target.wait();
    let rows = ebq.wait_rows(1, |_| true);
    ebq.stop();
    assert_eq!(
        rows,
        [
            json!({"comm": "kill", "signal": 10, "signal_name": "SIGUSR1", "target_pid": target_pid, "target_comm": "sleep", "code": 0, "result": "delivered"})
        ]
    );
}
