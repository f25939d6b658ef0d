//! End-to-end tests of dns_events, as root, on loopback in network
//! namespaces of the test's own: a DNS server of the test's (fixed
//! records, NXDOMAIN, a truncated answer that sends the client to TCP, a
//! question never answered), and Debian's dnsmasq; clients: glibc
//! (getent ahosts, with the namespace's own resolv.conf bound over
//! /etc/resolv.conf in a mount namespace, as `ip netns exec` does), dig
//! over UDP and TCP, and the test's own sockets (sendto on an unconnected
//! socket, connect then send). Every name carries a marker of the test.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Running;
use serde_json::Value;

/// A thread in a network namespace of its own, with lo up; other threads
/// and processes join it through its /proc path.
struct Netns {
    /// /proc/<pid>/task/<tid>/ns/net of the thread that holds it.
    path: String,
    _stop: mpsc::Sender<()>,
}

fn tid() -> i32 {
    nix::unistd::gettid().as_raw()
}

impl Netns {
    /// A namespace whose holder thread runs `serve(ready)` in it (a
    /// server: it calls `ready` once its sockets are bound).
    fn new(serve: impl FnOnce(&dyn Fn()) + Send + 'static) -> Netns {
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("unshare(CLONE_NEWNET)");
            let path = format!("/proc/{}/task/{}/ns/net", std::process::id(), tid());
            let st = Command::new("nsenter")
                .arg(format!("--net={path}"))
                .args(["ip", "link", "set", "lo", "up"])
                .status()
                .expect("nsenter ip");
            assert!(st.success(), "lo up");
            let ready = || {
                let _ = tx.send(path.clone());
            };
            serve(&ready);
            // Holds the namespace until the test is done with it.
            let _ = stop_rx.recv();
        });
        let path = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the namespace's server is ready");
        Netns {
            path,
            _stop: stop_tx,
        }
    }

    /// `cmd` run inside the namespace.
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path)).arg(prog);
        c
    }

    /// Joins the calling thread to the namespace.
    fn enter(&self) {
        let f = std::fs::File::open(&self.path).expect("open netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
    }
}

/// The test server's answer to a query, by the first label's prefix:
/// a-: two A records (AAAA: none); cname-: a CNAME to a-… and its A;
/// nx-: NXDOMAIN; big-: truncated over UDP, 40 A records over TCP;
/// rn-: one A record, 203.0.113.53; silent-: no answer at all.
fn answer(q: &[u8], tcp: bool) -> Option<Vec<u8>> {
    use simple_dns::rdata::{RData, A, CNAME};
    use simple_dns::{Name, Packet, PacketFlag, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};
    let p = Packet::parse(q).ok()?;
    let qn = p.questions.first()?;
    let name = qn.qname.to_string();
    let first = name.split('.').next().unwrap_or("").to_string();
    let mut r = p.clone().into_reply();
    r.set_flags(PacketFlag::RECURSION_AVAILABLE);
    let is_a = qn.qtype == QTYPE::TYPE(TYPE::A);
    let qname = Name::new_unchecked(&name).into_owned();
    let a = |ip: [u8; 4]| {
        ResourceRecord::new(
            qname.clone(),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from_be_bytes(ip),
            }),
        )
    };
    if first.starts_with("silent-") {
        return None;
    } else if first.starts_with("nx-") {
        *r.rcode_mut() = RCODE::NameError;
    } else if first.starts_with("big-") {
        if !tcp {
            r.set_flags(PacketFlag::TRUNCATION);
        } else if is_a {
            for i in 0..40u8 {
                r.answers.push(a([198, 18, 0, i]));
            }
        }
    } else if first.starts_with("cname-") {
        let target = name.replacen("cname-", "a-", 1);
        r.answers.push(ResourceRecord::new(
            qname.clone(),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(Name::new_unchecked(&target).into_owned())),
        ));
        if is_a {
            r.answers.push(ResourceRecord::new(
                Name::new_unchecked(&target).into_owned(),
                CLASS::IN,
                60,
                RData::A(A {
                    address: u32::from_be_bytes([192, 0, 2, 1]),
                }),
            ));
        }
    } else if first.starts_with("rn-") && is_a {
        // remote_name's own address: no other test's answer names it.
        r.answers.push(a([203, 0, 113, 53]));
    } else if first.starts_with("a-") && is_a {
        r.answers.push(a([192, 0, 2, 1]));
        r.answers.push(a([192, 0, 2, 2]));
    }
    r.build_bytes_vec_compressed().ok()
}

/// The test's server, on 127.0.0.1:53 over UDP and TCP in a namespace of
/// its own.
fn test_server() -> Netns {
    Netns::new(|ready| {
        let udp = UdpSocket::bind("127.0.0.1:53").expect("bind udp 53");
        let udp6 = UdpSocket::bind("[::1]:53").expect("bind udp [::1]:53");
        let tcp = TcpListener::bind("127.0.0.1:53").expect("bind tcp 53");
        std::thread::spawn(move || {
            for s in tcp.incoming() {
                let Ok(mut s) = s else { break };
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    loop {
                        let mut len = [0u8; 2];
                        if s.read_exact(&mut len).is_err() {
                            return;
                        }
                        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                        if s.read_exact(&mut q).is_err() {
                            return;
                        }
                        if let Some(a) = answer(&q, true) {
                            let mut out = (a.len() as u16).to_be_bytes().to_vec();
                            out.extend_from_slice(&a);
                            if s.write_all(&out).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        for udp in [udp, udp6] {
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while let Ok((n, from)) = udp.recv_from(&mut buf) {
                    if let Some(a) = answer(&buf[..n], false) {
                        let _ = udp.send_to(&a, from);
                    }
                }
            });
        }
        ready();
    })
}

/// dig's answer and its pid (nsenter execs it: one process).
fn dig_pid(ns: &Netns, args: &[&str]) -> (String, u32) {
    let server = if args.contains(&"-6") {
        "@::1"
    } else {
        "@127.0.0.1"
    };
    let child = ns
        .cmd("dig")
        .args([server, "+tries=1", "+time=2"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dig runs (apt-get install dnsutils)");
    let pid = child.id();
    let out = child.wait_with_output().expect("dig ends");
    (String::from_utf8_lossy(&out.stdout).into_owned(), pid)
}

/// dig sends from a thread of its own, whose comm is isc-net-NNNN
/// (BIND 9.18's network manager), or from its main thread.
fn digs(r: &Value) -> bool {
    r["comm"]
        .as_str()
        .is_some_and(|c| c == "dig" || c.starts_with("isc-net-"))
}

/// glibc's getaddrinfo (getent ahosts) in `ns`, with a resolv.conf of the
/// namespace's own naming 127.0.0.1, bound over /etc/resolv.conf in a
/// mount namespace, as `ip netns exec` binds /etc/netns/NAME/resolv.conf.
fn getent(ns: &Netns, name: &str) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n",
    )
    .expect("resolv");
    let out = ns
        .cmd("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "mount --bind {} /etc/resolv.conf && exec getent ahosts {name}",
            resolv.display()
        ))
        .output()
        .expect("getent");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rows_named(rows: &[Value], name: &str) -> Vec<Value> {
    rows.iter().filter(|r| r["name"] == name).cloned().collect()
}

fn one<'a>(rows: &'a [Value], f: impl Fn(&Value) -> bool, what: &str) -> &'a Value {
    let got: Vec<&Value> = rows.iter().filter(|r| f(r)).collect();
    assert_eq!(got.len(), 1, "{what}: one row, in {rows:#?}");
    got[0]
}

const COLS: &str = "pid, comm, direction, side, protocol, local_address, local_port, server_address, server_port, id, name, qtype, rcode, answers, answer_count, tc, rd, ra, latency, timed_out, error";

/// Latency is positive and below the wall time the test measured.
fn latency_ok(r: &Value, wall: Duration) {
    let l = r["latency"]
        .as_i64()
        .unwrap_or_else(|| panic!("a latency: {r}"));
    assert!(
        l > 0 && (l as u128) < wall.as_nanos(),
        "latency {l} in {wall:?}: {r}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn getent_lookups_show_the_client_and_its_answers() {
    common::require_bpf();
    let m = common::marker("g");
    let ns = test_server();
    let ebq = Running::start(&[&format!(
        "select {COLS} from dns_events where name like '%{m}.ebq.test' and side = 'client'"
    )]);
    let name = format!("a-{m}.ebq.test");
    let t0 = Instant::now();
    let text = getent(&ns, &name);
    let wall = t0.elapsed();
    assert!(text.contains("192.0.2.1"), "getent resolved: {text}");
    // A and AAAA, each a query and a response.
    ebq.wait_rows(4, |r| r["name"] == name);
    let done = ebq.stop();
    assert!(done.status.success(), "{:?}", done.stderr);
    let rows = rows_named(&done.rows, &name);
    assert_eq!(rows.len(), 4, "{rows:#?}");
    for r in &rows {
        assert_eq!(r["comm"], "getent", "{r}");
        assert_eq!(r["protocol"], "udp");
        assert_eq!(r["server_address"], "127.0.0.1");
        assert_eq!(r["server_port"], 53);
        assert_eq!(r["error"], Value::Null);
    }
    let pid = rows[0]["pid"].clone();
    assert!(
        rows.iter().all(|r| r["pid"] == pid),
        "one process asked both"
    );
    let qa = one(
        &rows,
        |r| r["direction"] == "query" && r["qtype"] == "A",
        "A query",
    );
    assert_eq!(
        (&qa["rcode"], &qa["answers"], &qa["rd"]),
        (&Value::Null, &Value::Null, &1.into())
    );
    let ra = one(
        &rows,
        |r| r["direction"] == "response" && r["qtype"] == "A",
        "A response",
    );
    assert_eq!(ra["id"], qa["id"]);
    assert_eq!(ra["rcode"], "NOERROR");
    assert_eq!(ra["answers"], r#"["192.0.2.1","192.0.2.2"]"#);
    assert_eq!(ra["answer_count"], 2);
    assert_eq!(
        (&ra["ra"], &ra["tc"], &ra["timed_out"]),
        (&1.into(), &0.into(), &0.into())
    );
    latency_ok(ra, wall);
    let r6 = one(
        &rows,
        |r| r["direction"] == "response" && r["qtype"] == "AAAA",
        "AAAA response",
    );
    assert_eq!(
        (&r6["rcode"], &r6["answers"]),
        (&"NOERROR".into(), &"[]".into())
    );
    latency_ok(r6, wall);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn dig_over_udp_and_tcp_nxdomain_and_a_truncated_answer() {
    common::require_bpf();
    let m = common::marker("d");
    let ns = test_server();
    let ebq = Running::start(&[&format!(
        "select {COLS} from dns_events where name like '%{m}.ebq.test' and side = 'client'"
    )]);
    let (nx, cname, big, tcp, six) = (
        format!("nx-{m}.ebq.test"),
        format!("cname-{m}.ebq.test"),
        format!("big-{m}.ebq.test"),
        format!("a-{m}.ebq.test"),
        format!("a-6{m}.ebq.test"),
    );
    let t0 = Instant::now();
    let mut pids = std::collections::HashMap::new();
    for (args, want) in [
        (vec![nx.as_str()], "NXDOMAIN"),
        (vec![cname.as_str()], "192.0.2.1"),
        // dig retries over TCP
        (vec![big.as_str()], "198.18.0.39"),
        (vec!["+tcp", tcp.as_str()], "192.0.2.2"),
        // Over IPv6, to ::1.
        (vec!["-6", six.as_str()], "192.0.2.2"),
    ] {
        let (out, pid) = dig_pid(&ns, &args);
        assert!(out.contains(want), "{args:?}: {out}");
        pids.insert(args[args.len() - 1].to_string(), u64::from(pid));
    }
    let wall = t0.elapsed();
    // Client and server rows alike: the server is this test, not dig.
    ebq.wait_rows(10, |r| r["name"].as_str().is_some_and(|n| n.contains(&m)));
    let done = ebq.stop();
    let rows = done.rows;
    for r in &rows {
        assert!(digs(r), "{r}");
        let name = r["name"].as_str().unwrap_or_default();
        assert_eq!(r["pid"], pids[name], "the dig that asked: {r}");
        assert_eq!(r["error"], Value::Null, "{r}");
    }
    let nxr = one(
        &rows_named(&rows, &nx),
        |r| r["direction"] == "response",
        "nx response",
    )
    .clone();
    assert_eq!(
        (&nxr["rcode"], &nxr["answers"], &nxr["protocol"]),
        (&"NXDOMAIN".into(), &"[]".into(), &"udp".into())
    );
    latency_ok(&nxr, wall);
    let cr = rows_named(&rows, &cname);
    let c = one(&cr, |r| r["direction"] == "response", "cname response");
    assert_eq!(c["answers"], format!(r#"["a-{m}.ebq.test","192.0.2.1"]"#));
    // big: a UDP query, its truncated answer, then the TCP query and answer.
    let br = rows_named(&rows, &big);
    assert_eq!(br.len(), 4, "{br:#?}");
    let tc = one(
        &br,
        |r| r["protocol"] == "udp" && r["direction"] == "response",
        "tc",
    );
    assert_eq!((&tc["tc"], &tc["answers"]), (&1.into(), &"[]".into()));
    let full = one(
        &br,
        |r| r["protocol"] == "tcp" && r["direction"] == "response",
        "tcp answer",
    );
    assert_eq!(full["answer_count"], 40);
    let want: Vec<String> = (0..40).map(|i| format!("198.18.0.{i}")).collect();
    assert_eq!(full["answers"], serde_json::to_string(&want).expect("json"));
    latency_ok(full, wall);
    one(
        &br,
        |r| r["protocol"] == "tcp" && r["direction"] == "query",
        "tcp query",
    );
    let tr = rows_named(&rows, &tcp);
    let t = one(&tr, |r| r["direction"] == "response", "+tcp response");
    assert_eq!(
        (&t["protocol"], &t["answers"]),
        (&"tcp".into(), &r#"["192.0.2.1","192.0.2.2"]"#.into())
    );
    latency_ok(t, wall);
    let tq = one(&tr, |r| r["direction"] == "query", "+tcp query");
    assert_eq!(tq["local_port"], t["local_port"], "one connection");
    let sr = rows_named(&rows, &six);
    assert_eq!(sr.len(), 2, "{sr:#?}");
    for r in &sr {
        assert_eq!(
            (&r["server_address"], &r["local_address"], &r["protocol"]),
            (&"::1".into(), &"::1".into(), &"udp".into()),
            "{r}"
        );
    }
    let s6 = one(&sr, |r| r["direction"] == "response", "IPv6 response");
    assert_eq!(s6["answers"], r#"["192.0.2.1","192.0.2.2"]"#);
    latency_ok(s6, wall);
}

/// A thread of this process in `ns`, named `comm`, running `f`.
fn in_ns<T: Send + 'static>(ns: &Netns, comm: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = ns.path.clone();
    let comm = std::ffi::CString::new(comm).expect("comm");
    std::thread::spawn(move || {
        Netns {
            path,
            _stop: mpsc::channel().0,
        }
        .enter();
        nix::sys::prctl::set_name(&comm).expect("set comm");
        f()
    })
    .join()
    .expect("client thread")
}

/// From a thread of this process named `comm`, in `ns`: a query for
/// `name` with id `id`, sent with sendto on an unconnected socket, and its
/// answer received; the socket's local port.
fn ask(ns: &Netns, comm: &str, id: u16, name: &str) -> u16 {
    let q = query_bytes(id, name);
    in_ns(ns, comm, move || {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.send_to(&q, "127.0.0.1:53").expect("sendto");
        let mut buf = [0u8; 1500];
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        s.recv_from(&mut buf).expect("an answer");
        s.local_addr().expect("addr").port()
    })
}

fn query_bytes(id: u16, name: &str) -> Vec<u8> {
    let mut p = simple_dns::Packet::new_query(id);
    p.set_flags(simple_dns::PacketFlag::RECURSION_DESIRED);
    p.questions.push(simple_dns::Question::new(
        simple_dns::Name::new_unchecked(name),
        simple_dns::QTYPE::TYPE(simple_dns::TYPE::A),
        simple_dns::QCLASS::CLASS(simple_dns::CLASS::IN),
        false,
    ));
    p.build_bytes_vec().expect("query")
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn sendto_and_connect_clients_and_a_query_that_times_out() {
    common::require_bpf();
    let m = common::marker("s");
    let ns = test_server();
    let ebq = Running::start(&[
        "--dns-timeout",
        "1s",
        &format!(
            "select {COLS} from dns_events where name like '%{m}.ebq.test' and side = 'client'"
        ),
    ]);
    let server: SocketAddr = "127.0.0.1:53".parse().expect("addr");
    let (a, b, silent) = (
        format!("a-{m}.ebq.test"),
        format!("a2-{m}.ebq.test").replacen("a2-", "a-x", 1),
        format!("silent-{m}.ebq.test"),
    );
    let (qb, qs) = (query_bytes(0x2222, &b), query_bytes(0x3333, &silent));
    let t0 = Instant::now();
    let port_a = ask(&ns, "ebqdnssendto", 0x1111, &a);
    let port_b = in_ns(&ns, "ebqdnsconnect", move || {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.connect(server).expect("connect");
        s.send(&qb).expect("send");
        let mut buf = [0u8; 1500];
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        s.recv(&mut buf).expect("an answer");
        // The unanswered one, from the same socket.
        s.send(&qs).expect("send");
        s.local_addr().expect("addr").port()
    });
    let wall = t0.elapsed();
    let rows = ebq.wait_rows(5, |r| r["name"].as_str().is_some_and(|n| n.contains(&m)));
    let timed = ebq.wait_rows(1, |r| r["timed_out"] == 1);
    let done = ebq.stop();
    assert!(
        timed.len() == 1,
        "a timed_out row: {rows:#?} {:?}",
        done.stderr
    );
    let rows = done.rows;
    let me = u64::from(std::process::id());
    for (name, comm, port, id) in [
        (&a, "ebqdnssendto", port_a, 0x1111),
        (&b, "ebqdnsconnect", port_b, 0x2222),
    ] {
        let rs = rows_named(&rows, name);
        assert_eq!(rs.len(), 2, "{rs:#?}");
        for r in &rs {
            assert_eq!((&r["pid"], &r["comm"]), (&me.into(), &comm.into()), "{r}");
            assert_eq!(
                (&r["local_port"], &r["id"]),
                (&port.into(), &id.into()),
                "{r}"
            );
        }
        let resp = one(&rs, |r| r["direction"] == "response", "response");
        assert_eq!(resp["answers"], r#"["192.0.2.1","192.0.2.2"]"#);
        latency_ok(resp, wall);
    }
    let s = rows_named(&rows, &silent);
    assert_eq!(s.len(), 2, "the query and its timeout: {s:#?}");
    let q = one(&s, |r| r["timed_out"] == 0, "the query");
    assert_eq!(
        (&q["direction"], &q["comm"]),
        (&"query".into(), &"ebqdnsconnect".into())
    );
    let t = one(&s, |r| r["timed_out"] == 1, "the timeout");
    assert_eq!(
        (&t["direction"], &t["comm"], &t["id"]),
        (&"query".into(), &"ebqdnsconnect".into(), &0x3333.into())
    );
    assert_eq!((&t["latency"], &t["rcode"]), (&Value::Null, &Value::Null));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_udp_flood_on_another_port_sends_nothing_up() {
    common::require_bpf();
    let ns = Netns::new(|ready| ready());
    // A port of the test's: no other DNS traffic of the machine counts.
    let ebq = Running::start(&["select name from dns_events where server_port = 5399"]);
    let sent = in_ns(&ns, "ebqdnsflood", || {
        let rx = UdpSocket::bind("127.0.0.1:9999").expect("bind");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let payload = query_bytes(1, "flood.ebq.test");
        let mut n = 0u64;
        for _ in 0..20000 {
            if tx.send_to(&payload, "127.0.0.1:9999").is_ok() {
                n += 1;
            }
        }
        drop(rx);
        n
    });
    assert_eq!(sent, 20000);
    let done = ebq.stop();
    assert!(done.rows.is_empty(), "{:?}", done.rows);
    assert_eq!(done.stat("sent"), 0, "{:?}", done.stderr);
    assert_eq!(done.stat("lost"), 0);
    // A comparison that names no ports filters within the default ones:
    // a flood on a port it admits (60001 > 60000) is not DNS either.
    let ebq = Running::start(&["select name from dns_events where server_port > 60000"]);
    in_ns(&ns, "ebqdnsflood", || {
        let rx = UdpSocket::bind("127.0.0.1:60001").expect("bind");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let payload = query_bytes(1, "flood.ebq.test");
        for _ in 0..20000 {
            let _ = tx.send_to(&payload, "127.0.0.1:60001");
        }
        drop(rx);
    });
    let done = ebq.stop();
    assert!(done.rows.is_empty(), "{:?}", done.rows);
    assert_eq!(done.stat("sent"), 0, "{:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn dnsmasq_answers_and_both_ends_are_seen() {
    common::require_bpf();
    let m = common::marker("m");
    let ns = Netns::new(|ready| ready());
    let ebq = Running::start(&[&format!(
        "select {COLS} from dns_events where name like '%{m}.ebq.test'"
    )]);
    let name = format!("dm-{m}.ebq.test");
    let mut dnsmasq = ns
        .cmd("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--port=53",
            "--user=root",
            "--pid-file=",
        ])
        .arg(format!("--address=/{name}/198.51.100.7"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq runs (apt-get install dnsmasq-base)");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered = String::new();
    let mut dig_pids = Vec::new();
    while Instant::now() < deadline && !answered.contains("198.51.100.7") {
        let (out, pid) = dig_pid(&ns, &[&name]);
        answered = out;
        dig_pids.push(u64::from(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        answered.contains("198.51.100.7"),
        "dnsmasq answered: {answered}"
    );
    // glibc's resolver, through dnsmasq.
    let name_g = format!("g.{name}");
    let text = getent(&ns, &name_g);
    assert!(
        text.contains("198.51.100.7"),
        "getent through dnsmasq: {text}"
    );
    ebq.wait_rows(4, |r| r["name"] == name);
    let done = ebq.stop();
    let _ = dnsmasq.kill();
    let _ = dnsmasq.wait();
    let rows = rows_named(&done.rows, &name);
    let c = one(
        &rows,
        |r| r["side"] == "client" && r["direction"] == "response" && r["rcode"] == "NOERROR",
        "dig's answer",
    );
    assert!(digs(c), "{c}");
    assert_eq!(c["pid"].as_u64(), dig_pids.last().copied());
    assert_eq!(c["answers"], r#"["198.51.100.7"]"#);
    assert!(c["latency"].as_i64().is_some_and(|l| l > 0));
    // dnsmasq's answer: its socket's owner is known from its sendmsg.
    let s = rows
        .iter()
        .find(|r| r["side"] == "server" && r["direction"] == "response" && r["id"] == c["id"])
        .unwrap_or_else(|| panic!("dnsmasq's response: {rows:#?}"));
    assert_eq!(
        (&s["comm"], &s["server_port"], &s["local_port"]),
        (&"dnsmasq".into(), &53.into(), &53.into())
    );
    assert_eq!(s["pid"], u64::from(dnsmasq.id()));
    let g = rows_named(&done.rows, &name_g);
    let ga = one(
        &g,
        |r| r["side"] == "client" && r["direction"] == "response" && r["qtype"] == "A",
        "getent's A answer from dnsmasq",
    );
    assert_eq!(
        (&ga["comm"], &ga["answers"], &ga["rcode"]),
        (
            &"getent".into(),
            &r#"["198.51.100.7"]"#.into(),
            &"NOERROR".into()
        )
    );
    assert!(ga["latency"].as_i64().is_some_and(|l| l > 0));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_connect_to_an_answered_address_carries_the_name() {
    common::require_bpf();
    let m = common::marker("r");
    let ns = test_server();
    // The answer's address, on lo in the namespace, with a listener.
    let st = ns
        .cmd("ip")
        .args(["addr", "add", "203.0.113.53/32", "dev", "lo"])
        .status()
        .expect("ip addr");
    assert!(st.success());
    let ebq = Running::start(&[&format!(
        "select pid, comm, remote_address, remote_port, remote_name, status from socket_events where action = 'connect' and pid = {} and remote_port in (8053, 8054)",
        std::process::id()
    )]);
    let name = format!("rn-{m}.ebq.test");
    ask(&ns, "ebqdnsname", 0x4444, &name);
    in_ns(&ns, "ebqdnsname", move || {
        let l = TcpListener::bind("203.0.113.53:8053").expect("listen");
        std::net::TcpStream::connect("203.0.113.53:8053").expect("connect");
        drop(l);
        // No answer named this one: refused, and no name.
        let _ = std::net::TcpStream::connect("127.0.0.1:8054");
    });
    let rows = ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert!(rows.len() >= 2, "{:?}", done.stderr);
    let named = one(&done.rows, |r| r["remote_port"] == 8053, "the connect");
    assert_eq!(
        (
            &named["remote_address"],
            &named["remote_name"],
            &named["comm"]
        ),
        (
            &"203.0.113.53".into(),
            &name.as_str().into(),
            &"ebqdnsname".into()
        )
    );
    let other = one(
        &done.rows,
        |r| r["remote_port"] == 8054,
        "the other connect",
    );
    assert_eq!(
        (&other["remote_name"], &other["status"]),
        (&Value::Null, &"failed".into())
    );
    assert!(
        done.stderr.iter().any(|l| l.contains("dns_ingress")),
        "the DNS programs are attached for it: {:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_socket_whose_owner_was_not_seen_has_null_task_columns() {
    common::require_bpf();
    let m = common::marker("o");
    // A fresh server: its socket has not received yet, so its owner is
    // known only from its first send (sendmsg4), after the first query.
    let ns = test_server();
    let name = format!("a-{m}.ebq.test");
    let ebq = Running::start(&[&format!(
        "select pid, comm, uid, side, direction, container_id from dns_events where name = '{name}' and side = 'server' and container_id is null"
    )]);
    ask(&ns, "ebqdnsowner", 0x5555, &name);
    ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    let rows = done.rows;
    let q = one(
        &rows,
        |r| r["direction"] == "query",
        "the query the server got",
    );
    assert_eq!(
        (&q["pid"], &q["comm"], &q["uid"]),
        (&Value::Null, &Value::Null, &Value::Null),
        "{q}"
    );
    let r = one(
        &rows,
        |r| r["direction"] == "response",
        "the server's response",
    );
    assert_eq!(
        r["pid"],
        u64::from(std::process::id()),
        "known from its sendmsg: {r}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_direction_filter_keeps_the_responses_that_answer_its_queries() {
    common::require_bpf();
    let m = common::marker("q");
    let ns = test_server();
    let name = format!("a-{m}.ebq.test");
    let ebq = Running::start(&[
        "--dns-timeout",
        "1s",
        &format!("select name, direction, timed_out from dns_events where direction = 'query' and name = '{name}'"),
    ]);
    ask(&ns, "ebqdnsdir", 0x6666, &name);
    // Past the timeout: an answered query must not come back as timed out.
    std::thread::sleep(Duration::from_millis(2000));
    let done = ebq.stop();
    let rows = done.rows;
    // The client's query, and the server's view of it.
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r["direction"] == "query" && r["timed_out"] == 0),
        "{rows:#?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn without_cgroup2_it_says_so_in_one_line() {
    common::require_root("unmount cgroup2 in a mount namespace of its own");
    let root = common::cgroup2();
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "umount -l {} && exec {} -d 1s 'select name from dns_events'",
            root.display(),
            common::bin()
        ))
        .output()
        .expect("unshare");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "ebq: dns_events needs cgroup2: dns_connect4 attaches at its root, and none is mounted (mount -t cgroup2 none /sys/fs/cgroup)\n"
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn task_filters_drop_other_owners_in_the_kernel() {
    common::require_bpf();
    let m = common::marker("c");
    let ns = test_server();
    let name = format!("a-{m}.ebq.test");
    let ebq = Running::start(&[&format!(
        "select comm, name from dns_events where comm = 'ebqdnskept' and side = 'client' and name like '%{m}.ebq.test'"
    )]);
    ask(&ns, "ebqdnsdropped", 0x7777, &name);
    ask(&ns, "ebqdnskept", 0x7778, &name);
    ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert_eq!(done.rows.len(), 2, "{:?}", done.rows);
    assert!(done.rows.iter().all(|r| r["comm"] == "ebqdnskept"));
    // The other thread's query and response, at least, never left the
    // kernel (its server's rows are the test's, named otherwise, too).
    assert!(done.stat("rejected") >= 2, "{:?}", done.stderr);
}
