//! dns_events: every DNS question and answer a socket of this host sends
//! or receives (bpf/dns.bpf.h), with the process that owns the socket and,
//! on a response, how long it took. The kernel sends up packets to or from
//! a DNS port; this file makes rows of them (`DnsStream`): a UDP datagram
//! is one message, a TCP stream is reassembled by sequence number and cut
//! at its 2-byte length prefixes (RFC 1035 4.2.2), a response is paired
//! with its query on (socket, id, peer), and a query left unanswered for
//! --dns-timeout is a row of its own (timed_out).
//!
//! Packets are hostile: the message is parsed with simple-dns (no
//! dependencies of its own, borrows from the packet, bounds compression
//! pointers and name lengths), whose failure is a row with `error`, never
//! a panic; names and answer texts are escaped as dig writes them
//! (`\.`, `\\`, `\DDD`) before they are ebq's text. simple-dns over
//! hickory-proto: hickory is a resolver's toolkit of a dozen crates, and a
//! parser is all ebq needs.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::common::with_common;
use super::{Column, Domain, KernelFilter, Program, Table};
use crate::abi::types::{ebq_dns_col, ebq_dns_event, ebq_dns_flags, ebq_dns_kind, ebq_dns_stat};
use crate::model::probe::Attach;
use crate::model::record::{Layout, Record, FIELDS_MAX};
use crate::model::stream::{Feed, SideFeed, Stream, StreamOptions};
use crate::model::value::{text_from_bytes, Value};

crate::plain_abi!(ebq_dns_event);

/// Its records: struct ebq_dns_event (bpf/dns.h), then `copied` bytes of
/// the packet's payload.
const LAYOUT: Layout = Layout::of::<ebq_dns_event>(|r| {
    let mut l = [0; FIELDS_MAX];
    l[0] = r.get::<ebq_dns_event>().copied;
    l
});

/// The ports the kernel watches when the query names none (bpf/dns.bpf.h):
/// DNS, multicast DNS, LLMNR.
pub const DEFAULT_PORTS: [u16; 3] = [53, 5353, 5355];
/// The longest TCP stream buffered, a message and its length prefix.
const TCP_MAX: usize = 65535 + 2;
/// Streams and unanswered queries remembered at once: the oldest go first.
const STREAMS_MAX: usize = 1024;
const PENDING_MAX: usize = 65536;

fn has(e: &ebq_dns_event, f: ebq_dns_flags) -> bool {
    e.flags & f.0 != 0
}

/// What one row is: a message, as parsed, with what the stream learnt.
#[derive(Debug, Default, Clone)]
pub struct Message {
    /// The QR bit: a response.
    pub response: bool,
    /// Whether the header could be read at all.
    pub header: bool,
    pub id: u16,
    pub opcode: u8,
    pub rcode: u16,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub counts: [u16; 4],
    pub name: Option<String>,
    pub qtype: Option<u16>,
    pub qclass: Option<u16>,
    pub answers: Vec<String>,
    /// The addresses among the answers, with their TTLs (remote_name).
    pub addrs: Vec<(std::net::IpAddr, u32)>,
    /// The message was longer than what the kernel copied.
    pub cut: bool,
    pub size: usize,
    pub error: Option<String>,
    pub latency: Option<u64>,
    pub timed_out: bool,
}

/// A name as dig writes it: labels joined by '.', a '.' or '\' in a label
/// escaped with '\', bytes outside printable ASCII as \DDD; the root is ".".
pub fn name_text<'a>(labels: impl Iterator<Item = &'a [u8]>) -> String {
    let mut s = String::new();
    for l in labels {
        if !s.is_empty() {
            s.push('.');
        }
        for &b in l {
            match b {
                b'.' | b'\\' => {
                    s.push('\\');
                    s.push(b as char);
                }
                0x21..=0x7e => s.push(b as char),
                _ => s.push_str(&format!("\\{b:03}")),
            }
        }
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

fn name_of(n: &simple_dns::Name) -> String {
    name_text(n.as_bytes())
}

/// Record types by name (RFC 1035 and later; IANA's registry), else
/// TYPE<n> (RFC 3597's generic name).
pub fn type_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        n => return format!("TYPE{n}"),
    };
    s.into()
}

fn type_number(name: &str) -> Option<u16> {
    let up = name.to_ascii_uppercase();
    if let Some(n) = up.strip_prefix("TYPE") {
        return n.parse().ok();
    }
    (1..=257u16).find(|&t| type_name(t) == up)
}

/// Response codes by name (RFC 1035, 2136, 6895), else RCODE<n>.
pub fn rcode_name(r: u16) -> String {
    let s = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        n => return format!("RCODE{n}"),
    };
    s.into()
}

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
];

fn opcode_name(o: u8) -> String {
    match o {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        n => format!("OPCODE{n}"),
    }
}

/// One answer's data as text, as dig's short form writes it.
fn rdata_text(rr: &simple_dns::ResourceRecord) -> String {
    use simple_dns::rdata::RData;
    match &rr.rdata {
        RData::A(a) => Ipv4Addr::from(a.address).to_string(),
        RData::AAAA(a) => Ipv6Addr::from(a.address).to_string(),
        RData::CNAME(n) => name_of(&n.0),
        RData::NS(n) => name_of(&n.0),
        RData::PTR(n) => name_of(&n.0),
        RData::MX(m) => format!("{} {}", m.preference, name_of(&m.exchange)),
        RData::SRV(s) => format!(
            "{} {} {} {}",
            s.priority,
            s.weight,
            s.port,
            name_of(&s.target)
        ),
        RData::SOA(s) => format!(
            "{} {} {} {} {} {} {}",
            name_of(&s.mname),
            name_of(&s.rname),
            s.serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum
        ),
        RData::TXT(t) => match String::try_from(t.clone()) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
        other => type_name(u16::from(other.type_code())),
    }
}

/// The 12-byte header (RFC 1035 4.1.1), read by hand: a message too
/// short or too broken for the parser still has its id and flags.
fn read_header(b: &[u8], m: &mut Message) -> bool {
    let Some(h) = b.get(..12) else { return false };
    let w = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    m.header = true;
    m.id = w(0);
    let flags = w(2);
    m.response = flags & 0x8000 != 0;
    m.opcode = ((flags >> 11) & 0xf) as u8;
    m.aa = flags & 0x0400 != 0;
    m.tc = flags & 0x0200 != 0;
    m.rd = flags & 0x0100 != 0;
    m.ra = flags & 0x0080 != 0;
    m.rcode = flags & 0xf;
    m.counts = [w(4), w(6), w(8), w(10)];
    true
}

/// `b` with its section counts set to `counts`: what is left of a message
/// cut short still parses as the sections it holds whole.
fn with_counts(b: &[u8], counts: [u16; 4]) -> Vec<u8> {
    let mut v = b.to_vec();
    for (i, c) in counts.iter().enumerate() {
        v[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
    }
    v
}

fn fill_from(p: &simple_dns::Packet, m: &mut Message) {
    if let Some(q) = p.questions.first() {
        m.name = Some(name_of(&q.qname));
        m.qtype = Some(u16::from(q.qtype));
        m.qclass = Some(u16::from(q.qclass));
    }
    m.answers = p.answers.iter().map(rdata_text).collect();
    m.addrs = p
        .answers
        .iter()
        .filter_map(|rr| match &rr.rdata {
            simple_dns::rdata::RData::A(a) => Some((Ipv4Addr::from(a.address).into(), rr.ttl)),
            simple_dns::rdata::RData::AAAA(a) => Some((Ipv6Addr::from(a.address).into(), rr.ttl)),
            _ => None,
        })
        .collect();
    // RFC 6891's extended codes: simple-dns names only BADVERS of them.
    if p.rcode() == simple_dns::RCODE::BADVERS {
        m.rcode = 16;
    }
}

/// Parses one DNS message: never panics, whatever the bytes. `cut`: the
/// kernel copied only the message's first bytes.
pub fn parse(b: &[u8], cut: bool) -> Message {
    let mut m = Message {
        cut,
        size: b.len(),
        ..Default::default()
    };
    if !read_header(b, &mut m) {
        m.error = Some(format!("{} bytes: shorter than a DNS header", b.len()));
        return m;
    }
    match simple_dns::Packet::parse(b) {
        Ok(p) => fill_from(&p, &mut m),
        Err(e) => {
            m.error = Some(if cut {
                format!("cut at {} bytes: {e}", b.len())
            } else {
                e.to_string()
            });
            // As much as parses: the question alone, then the answers
            // that arrived whole (a count the message lies about, or its
            // end cut off, still leaves what came before).
            let [qd, an, _, _] = m.counts;
            let qd = qd.min(1);
            // The question first: when even it does not parse, nothing
            // after it will (and a hostile message costs one more try).
            if let Ok(p) = simple_dns::Packet::parse(&with_counts(b, [qd, 0, 0, 0])) {
                fill_from(&p, &mut m);
                for a in (1..=an.min(64)).rev() {
                    if let Ok(p) = simple_dns::Packet::parse(&with_counts(b, [qd, a, 0, 0])) {
                        fill_from(&p, &mut m);
                        break;
                    }
                }
            }
        }
    }
    m
}

/// A row's message and where the stream put it.
#[derive(Debug)]
struct Row {
    msg: Message,
    client: bool,
}

fn row<'r>(r: &'r Record) -> Option<&'r Row> {
    r.derived.as_ref().and_then(|d| d.downcast_ref::<Row>())
}

fn ev<'r>(r: &'r Record) -> &'r ebq_dns_event {
    r.get()
}

fn ip(e: &ebq_dns_event, a: &[u8; 16]) -> String {
    if has(e, ebq_dns_flags::EBQ_DNS_V6) {
        Ipv6Addr::from(*a).to_string()
    } else {
        Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
    }
}

/// (address, port) of the local end, the remote end, and the server.
fn ends(e: &ebq_dns_event, response: bool) -> [(&[u8; 16], u16); 3] {
    let src = (&e.src_addr, e.src_port);
    let dst = (&e.dst_addr, e.dst_port);
    let (local, remote) = if has(e, ebq_dns_flags::EBQ_DNS_INGRESS) {
        (dst, src)
    } else {
        (src, dst)
    };
    // A query goes to the server, a response comes from it.
    [local, remote, if response { src } else { dst }]
}

fn end(r: &Record, which: usize, port: bool) -> Value {
    let Some(m) = row(r) else { return Value::Null };
    let e = ev(r);
    let (a, p) = ends(e, m.msg.response)[which];
    if port {
        Value::Int(p.into())
    } else {
        Value::Text(ip(e, a))
    }
}

fn msg_val(r: &Record, f: impl Fn(&Message) -> Value) -> Value {
    row(r).map_or(Value::Null, |m| f(&m.msg))
}

/// Of the header, NULL when the message was too short to have one.
fn hdr_val(r: &Record, f: impl Fn(&Message) -> Value) -> Value {
    msg_val(r, |m| if m.header { f(m) } else { Value::Null })
}

fn flag(r: &Record, f: impl Fn(&Message) -> bool) -> Value {
    hdr_val(r, |m| Value::Int(f(m).into()))
}

fn text(s: &str) -> Value {
    Value::Text(text_from_bytes(s.as_bytes()))
}

/// direction's names in WHERE: its QR bit (the kernel's QR slot).
fn direction_number(s: &str) -> Option<i64> {
    match s.to_ascii_lowercase().as_str() {
        "query" => Some(0),
        "response" => Some(1),
        _ => None,
    }
}

static DNS_COLUMNS: &[Column] = &with_common![
    Column::text(
        "direction",
        "query or response (the QR bit); a timed_out row is the query's",
        |r| hdr_val(r, |m| Value::Text(
            if m.response { "response" } else { "query" }.into()
        ))
    )
    .filter(KernelFilter::Named {
        slot: ebq_dns_col::EBQ_DNS_COL_QR.0,
        to_int: direction_number,
    })
    .inexact("the kernel drops UDP queries only; responses and TCP are left to userspace")
    .needs_all_for(&["latency", "timed_out"])
    .domain(Domain::List("a direction", &["query", "response"]))
    .width(8),
    Column::text(
        "side",
        "client (sent the query, got the response) or server",
        |r| row(r).map_or(Value::Null, |m| Value::Text(
            if m.client { "client" } else { "server" }.into()
        ))
    )
    .domain(Domain::List("a side", &["client", "server"]))
    .width(6),
    Column::text("protocol", "udp or tcp", |r| Value::Text(
        if has(ev(r), ebq_dns_flags::EBQ_DNS_TCP) {
            "tcp"
        } else {
            "udp"
        }
        .into()
    ))
    .domain(Domain::List("a protocol", &["udp", "tcp"]))
    .width(5),
    Column::text(
        "local_address",
        "This host's end of the socket (IPv4 or IPv6)",
        |r| end(r, 0, false)
    )
    .width(15),
    Column::int("local_port", "This host's port", |r| end(r, 0, true)).width(5),
    Column::text("remote_address", "The other end's address", |r| end(
        r, 1, false
    ))
    .width(15),
    Column::int("remote_port", "The other end's port", |r| end(r, 1, true)).width(5),
    Column::text(
        "server_address",
        "The DNS server's address (a query's destination)",
        |r| end(r, 2, false)
    )
    .width(15),
    Column::int(
        "server_port",
        "The server's port; WHERE = or IN on it replaces the default 53, 5353, 5355",
        |r| end(r, 2, true)
    )
    .slot(ebq_dns_col::EBQ_DNS_COL_SERVER_PORT.0, 0, 65535)
    .inexact("exact for UDP; a TCP segment is kept when either of its ports passes")
    .width(5),
    Column::int(
        "id",
        "The message's id (a response carries its query's)",
        |r| { hdr_val(r, |m| Value::Int(m.id.into())) }
    )
    .width(5),
    Column::text("opcode", "QUERY, NOTIFY, UPDATE ...", |r| hdr_val(r, |m| {
        Value::Text(opcode_name(m.opcode))
    }))
    .hidden()
    .width(6),
    Column::text(
        "name",
        "The question's name, as dig writes it (no final dot)",
        |r| msg_val(r, |m| m.name.as_deref().map_or(Value::Null, text))
    )
    .width(30),
    Column::text("qtype", "The question's type: A, AAAA, PTR, TXT ...", |r| {
        msg_val(r, |m| {
            m.qtype.map_or(Value::Null, |t| Value::Text(type_name(t)))
        })
    })
    .domain(Domain::Fn {
        what: "a record type",
        has: |s| type_number(s).is_some(),
        all: || [1u16, 2, 5, 6, 12, 15, 16, 28, 33, 64, 65, 255]
            .map(type_name)
            .to_vec(),
    })
    .width(5),
    Column::int(
        "qclass",
        "The question's class: 1 IN (mDNS's unicast bit cleared)",
        |r| msg_val(r, |m| m
            .qclass
            .map_or(Value::Null, |c| Value::Int(c.into())))
    )
    .hidden(),
    Column::text(
        "rcode",
        "A response's code: NOERROR, NXDOMAIN, SERVFAIL, REFUSED ...",
        |r| hdr_val(r, |m| if m.response {
            Value::Text(rcode_name(m.rcode))
        } else {
            Value::Null
        })
    )
    .domain(Domain::List("a response code", &RCODES))
    .width(8),
    Column::text(
        "answers",
        "The answers' data as text, a JSON array: addresses, CNAME targets ...",
        |r| msg_val(r, |m| if m.response {
            let escaped: Vec<String> = m
                .answers
                .iter()
                .map(|a| text_from_bytes(a.as_bytes()))
                .collect();
            Value::Text(serde_json::to_string(&escaped).unwrap_or_default())
        } else {
            Value::Null
        })
    )
    .width(30),
    Column::int(
        "answer_count",
        "Answers the header says the message has (ANCOUNT)",
        |r| hdr_val(r, |m| Value::Int(m.counts[1].into()))
    )
    .width(3),
    Column::int("authority_count", "NSCOUNT", |r| hdr_val(
        r,
        |m| Value::Int(m.counts[2].into())
    ))
    .hidden(),
    Column::int("additional_count", "ARCOUNT", |r| hdr_val(r, |m| {
        Value::Int(m.counts[3].into())
    }))
    .hidden(),
    Column::int(
        "tc",
        "1 when the server truncated the answer (TC: the client retries over TCP)",
        |r| flag(r, |m| m.tc)
    )
    .width(2),
    Column::int("rd", "1 when recursion was desired (RD)", |r| flag(
        r,
        |m| m.rd
    ))
    .width(2),
    Column::int("ra", "1 when recursion is available (RA)", |r| flag(
        r,
        |m| m.ra
    ))
    .width(2),
    Column::int("aa", "1 for an authoritative answer (AA)", |r| flag(
        r,
        |m| m.aa
    ))
    .hidden()
    .width(2),
    Column::int(
        "latency",
        "A response's time since its query (same socket, id and peer), ns",
        |r| msg_val(r, |m| m
            .latency
            .map_or(Value::Null, |l| Value::Int(l as i64)))
    )
    .width(9),
    Column::int(
        "timed_out",
        "1 on the row ebq adds for a query unanswered for --dns-timeout",
        |r| msg_val(r, |m| Value::Int(m.timed_out.into()))
    )
    .width(3),
    Column::int("size", "The message's length in bytes", |r| msg_val(
        r,
        |m| Value::Int(m.size as i64)
    ))
    .width(5),
    Column::int(
        "cut",
        "1 when the message was longer than ebq copies (1536 bytes a packet)",
        |r| msg_val(r, |m| Value::Int(m.cut.into()))
    )
    .hidden(),
    Column::text(
        "error",
        "Why the message did not parse whole, else NULL",
        |r| msg_val(r, |m| m.error.as_deref().map_or(Value::Null, text))
    )
    .width(20),
    Column::int(
        "socket_cookie",
        "The socket's cookie (SO_COOKIE): the same socket, the same number",
        |r| Value::Int(ev(r).cookie as i64)
    )
    .hidden(),
];

/// The cgroup2 root, found when the run starts (kernel/load.rs).
const ROOT: Attach = Attach::Cgroup {
    path: std::borrow::Cow::Borrowed(""),
};

static DNS_PROGRAMS: &[Program] = &[
    Program::at("dns_connect4", ROOT, &[], None),
    Program::at("dns_connect6", ROOT, &[], None),
    Program::at("dns_sendmsg4", ROOT, &[], None),
    Program::at("dns_sendmsg6", ROOT, &[], None),
    Program::at("dns_recvmsg4", ROOT, &[], None),
    Program::at("dns_recvmsg6", ROOT, &[], None),
    Program::at(
        "dns_egress",
        ROOT,
        &[],
        Some(ebq_dns_stat::EBQ_STAT_SENT_DNS.0 + 1),
    ),
    Program::at(
        "dns_ingress",
        ROOT,
        &[],
        Some(ebq_dns_stat::EBQ_STAT_SENT_DNS.0 + 2),
    ),
];

/// dns_ingress, feeding remote_name (in the mode cfg.side_feed sets):
/// its counter is not one of the table's own (EBQ_STAT_DNS_ANSWERS, far
/// above any table's). Not a shared program (`runs`): it is the only
/// attachment of dns_ingress in such a plan, and reads no cookie.
static ANSWER_PROGRAMS: &[Program] = &[Program::at(
    "dns_ingress",
    ROOT,
    &[],
    Some(ebq_dns_stat::EBQ_STAT_DNS_ANSWERS.0),
)];

pub static DNS_EVENTS: Table = Table {
    name: "dns_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["process_dns_events"],
    doc: "One row per DNS message a socket of this host sends or receives",
    columns: DNS_COLUMNS,
    programs: DNS_PROGRAMS,
    agg: None,
    buffer: 1 << 21,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the payload of packets to or from a DNS port (53, 5353, 5355, or the server_port filter's), up to 1536 bytes, and the socket owner's header",
    action_bit: None,
    stream: Some(DnsStream::boxed),
    probes: None,
    task_capture: 0,
};

/// How long a name is remembered for an address at least, whatever the
/// answer's TTL (a client may connect after a TTL of 0 ran out).
const NAME_KEEP_NS: u64 = 60_000_000_000;
/// Addresses remembered at once: the oldest go first.
const NAMES_MAX: usize = 65536;

/// socket_events' remote_name: the name whose DNS answer returned the
/// address a socket connects to, learnt from the answers this host
/// receives while the query runs.
pub static REMOTE_NAMES: SideFeed = SideFeed {
    kind: ebq_dns_kind::EBQ_KIND_DNS_ANSWER.0,
    programs: ANSWER_PROGRAMS,
    what: "remote_name: the DNS answers this host receives",
    key: "remote_address",
    make: |opts| Box::new(Names::new(opts)),
};

/// The name each address was last the answer for.
pub struct RemoteName(pub String);

/// A row's remote_name, as its feed found it.
pub fn remote_name(r: &Record) -> Value {
    r.derived
        .as_ref()
        .and_then(|d| d.downcast_ref::<RemoteName>())
        .map_or(Value::Null, |n| text(&n.0))
}

struct Names {
    stream: DnsStream,
    /// address -> (name, learnt at, kept until), boot clock ns.
    names: HashMap<String, (String, u64, u64)>,
    order: VecDeque<(String, u64)>,
}

impl Names {
    fn new(opts: &StreamOptions) -> Names {
        Names {
            stream: DnsStream::new(opts),
            names: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl Feed for Names {
    fn learn(&mut self, bytes: &[u8]) {
        let Ok(r) = Record::decode(bytes, 0, &LAYOUT, ebq_dns_kind::EBQ_KIND_DNS_ANSWER.0) else {
            return;
        };
        let at = r.hdr.ktime_ns;
        let mut rows = Vec::new();
        self.stream.feed(r, &mut rows);
        for row in rows.iter().filter_map(|r| row(r)) {
            let m = &row.msg;
            let Some(name) = &m.name else { continue };
            if !m.response || !row.client {
                continue;
            }
            for (addr, ttl) in &m.addrs {
                let until = at.saturating_add((u64::from(*ttl) * 1_000_000_000).max(NAME_KEEP_NS));
                let key = addr.to_string();
                if self.names.len() >= NAMES_MAX && !self.names.contains_key(&key) {
                    while let Some((k, t)) = self.order.pop_front() {
                        if self.names.get(&k).is_some_and(|e| e.1 == t) {
                            self.names.remove(&k);
                            break;
                        }
                    }
                }
                self.names.insert(key.clone(), (name.clone(), at, until));
                self.order.push_back((key, at));
            }
        }
    }

    fn enrich(&self, r: &mut Record, key: &Value) {
        let Value::Text(addr) = key else { return };
        if let Some((name, at, until)) = self.names.get(addr) {
            // Learnt before the row, and not forgotten yet.
            if *at <= r.hdr.ktime_ns && r.hdr.ktime_ns <= *until {
                r.derived = Some(Arc::new(RemoteName(name.clone())));
            }
        }
    }
}

/// (socket cookie, sent: egress) of a TCP stream, one way.
type StreamKey = (u64, bool);

/// One way of a TCP stream, as far as it can be framed.
struct Tcp {
    buf: Vec<u8>,
    /// The sequence number the next segment should start at.
    next: u32,
    /// Bytes of the buffer the kernel did not copy (zeros here): start and end.
    hole: Option<(usize, usize)>,
    /// Framing was lost (a segment missed, a length prefix not copied):
    /// nothing more of this stream is read, rather than garbage.
    lost: bool,
    /// Its place in the eviction order (least recently used first).
    used: u64,
}

/// (socket cookie, id, remote address, remote port, client side).
type PendingKey = (u64, u16, [u8; 16], u16, bool);

struct Pending {
    at: u64,
    record: Record<'static>,
    msg: Message,
    client: bool,
}

pub struct DnsStream {
    timeout_ns: u64,
    tcp: HashMap<StreamKey, Tcp>,
    /// (stream, its `used` when queued): stale entries are skipped.
    tcp_order: VecDeque<(StreamKey, u64)>,
    tcp_uses: u64,
    /// Bytes buffered over all streams.
    tcp_bytes: usize,
    pending: HashMap<PendingKey, Pending>,
    pending_order: VecDeque<(PendingKey, u64)>,
}

/// Bytes buffered over all TCP streams at most: the least recently used
/// streams go first beyond it.
const TCP_BUDGET: usize = 32 << 20;

/// A multicast destination (mDNS 224.0.0.251, ff02::fb; LLMNR 224.0.0.252):
/// its answers come from unicast addresses, so no response pairs with it.
fn multicast(e: &ebq_dns_event) -> bool {
    if has(e, ebq_dns_flags::EBQ_DNS_V6) {
        e.dst_addr[0] == 0xff
    } else {
        (224..=239).contains(&e.dst_addr[0])
    }
}

impl DnsStream {
    pub fn new(opts: &StreamOptions) -> DnsStream {
        DnsStream {
            timeout_ns: u64::try_from(opts.timeout.as_nanos()).unwrap_or(u64::MAX),
            tcp: HashMap::new(),
            tcp_order: VecDeque::new(),
            tcp_uses: 0,
            tcp_bytes: 0,
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
        }
    }

    fn boxed(opts: &StreamOptions) -> Box<dyn Stream> {
        Box::new(DnsStream::new(opts))
    }

    /// Forgets the least recently used stream; false when there is none.
    fn evict_one(&mut self) -> bool {
        while let Some((k, used)) = self.tcp_order.pop_front() {
            if self.tcp.get(&k).is_some_and(|t| t.used == used) {
                if let Some(t) = self.tcp.remove(&k) {
                    self.tcp_bytes -= t.buf.len();
                }
                return true;
            }
        }
        false
    }

    /// The messages a TCP segment completes, with whether each was cut,
    /// and each one's length (its prefix's).
    fn tcp_messages(&mut self, e: &ebq_dns_event, payload: &[u8]) -> Vec<(Vec<u8>, bool, usize)> {
        let key = (e.cookie, !has(e, ebq_dns_flags::EBQ_DNS_INGRESS));
        let seq = e.tcp_seq;
        let len = e.payload_len as usize;
        if !self.tcp.contains_key(&key) {
            while self.tcp.len() >= STREAMS_MAX && self.evict_one() {}
            self.tcp.insert(
                key,
                Tcp {
                    buf: Vec::new(),
                    next: seq,
                    hole: None,
                    lost: false,
                    used: 0,
                },
            );
        }
        self.tcp_uses += 1;
        let uses = self.tcp_uses;
        self.tcp_order.push_back((key, uses));
        // Stale entries are dropped when they outnumber the streams.
        if self.tcp_order.len() > 4 * STREAMS_MAX {
            let tcp = &self.tcp;
            self.tcp_order
                .retain(|(k, u)| tcp.get(k).is_some_and(|t| t.used == *u) || *u == uses);
        }
        let Some(s) = self.tcp.get_mut(&key) else {
            return Vec::new();
        };
        s.used = uses;
        let before = s.buf.len();
        let out = Self::frame(s, seq, len, payload);
        let after = s.buf.len();
        self.tcp_bytes = self.tcp_bytes.saturating_sub(before) + after;
        while self.tcp_bytes > TCP_BUDGET && self.evict_one() {}
        out
    }

    /// Adds a segment to one way of a stream and cuts the messages it
    /// completes at their length prefixes (RFC 1035 4.2.2).
    fn frame(s: &mut Tcp, seq: u32, len: usize, payload: &[u8]) -> Vec<(Vec<u8>, bool, usize)> {
        if s.lost {
            return Vec::new();
        }
        // A retransmission (all before `next`) adds nothing; a segment
        // that overlaps adds its new bytes; a gap (a segment not seen, or
        // one arriving before its predecessor) loses the framing.
        let have = payload.len().min(len);
        let mut skip = 0usize;
        if seq != s.next {
            let behind = s.next.wrapping_sub(seq);
            if (behind as i32) > 0 {
                skip = behind as usize;
                if skip >= len {
                    return Vec::new();
                }
            } else {
                s.lost = true;
                s.buf = Vec::new();
                s.hole = None;
                return Vec::new();
            }
        }
        s.next = seq.wrapping_add(len as u32);
        // More than a message and a segment: this cannot be framed.
        if s.buf.len() + (len - skip) > 2 * TCP_MAX {
            s.lost = true;
            s.buf = Vec::new();
            s.hole = None;
            return Vec::new();
        }
        if have < len {
            let from = s.buf.len() + have.saturating_sub(skip);
            let to = s.buf.len() + (len - skip);
            s.hole = Some(match s.hole {
                Some((a, b)) => (a.min(from), b.max(to)),
                None => (from, to),
            });
        }
        s.buf.extend_from_slice(&payload[skip.min(have)..have]);
        let missing = len - skip.max(have);
        s.buf.resize(s.buf.len() + missing, 0);
        let mut out = Vec::new();
        loop {
            // A length prefix in the hole: framing is lost from here.
            if s.hole.is_some_and(|(a, b)| a < 2 && b > 0) {
                s.lost = true;
                s.buf = Vec::new();
                s.hole = None;
                break;
            }
            if s.buf.len() < 2 {
                break;
            }
            let n = usize::from(u16::from_be_bytes([s.buf[0], s.buf[1]]));
            if s.buf.len() < 2 + n {
                break;
            }
            let (upto, holed) = match s.hole {
                Some((a, _)) if a < 2 + n => (a.max(2), true),
                _ => (2 + n, false),
            };
            out.push((s.buf[2..upto].to_vec(), holed, n));
            s.buf.drain(..2 + n);
            s.hole = s
                .hole
                .and_then(|(a, b)| (b > 2 + n).then(|| (a.saturating_sub(2 + n), b - 2 - n)));
        }
        out
    }

    /// Pairs `msg` with its query (a response), or remembers it (a query).
    fn pair(&mut self, r: &Record, e: &ebq_dns_event, msg: &mut Message, client: bool) {
        if !msg.header {
            return;
        }
        let (remote, rport) = ends(e, msg.response)[1];
        let key = (e.cookie, msg.id, *remote, rport, client);
        let at = r.hdr.ktime_ns;
        if msg.response {
            if let Some(q) = self.pending.remove(&key) {
                msg.latency = Some(at.saturating_sub(q.at));
            }
            return;
        }
        // A query to a multicast group is answered from elsewhere, by
        // any number of responders: it neither pairs nor times out.
        if multicast(e) {
            return;
        }
        if self.pending.len() >= PENDING_MAX {
            while let Some((k, t)) = self.pending_order.pop_front() {
                if self.pending.get(&k).is_some_and(|p| p.at == t) {
                    self.pending.remove(&k);
                    break;
                }
            }
        }
        let mut record = Record::of(r.hdr, e);
        record.anonymous = r.anonymous;
        self.pending.insert(
            key,
            Pending {
                at,
                record,
                msg: msg.clone(),
                client,
            },
        );
        self.pending_order.push_back((key, at));
        // Answered queries leave stale entries: dropped when they outnumber
        // the live ones.
        if self.pending_order.len() > 2 * self.pending.len().max(1024) {
            let pending = &self.pending;
            self.pending_order
                .retain(|(k, t)| pending.get(k).is_some_and(|p| p.at == *t));
        }
    }
}

impl Stream for DnsStream {
    fn feed<'a>(&mut self, mut r: Record<'a>, out: &mut Vec<Record<'a>>) {
        let e = *ev(&r);
        r.anonymous = !has(&e, ebq_dns_flags::EBQ_DNS_OWNED);
        let ingress = has(&e, ebq_dns_flags::EBQ_DNS_INGRESS);
        let payload = r.fields[0];
        let messages = if has(&e, ebq_dns_flags::EBQ_DNS_TCP) {
            self.tcp_messages(&e, payload)
        } else {
            vec![(
                payload.to_vec(),
                has(&e, ebq_dns_flags::EBQ_DNS_CUT),
                e.payload_len as usize,
            )]
        };
        for (bytes, cut, size) in messages {
            let mut msg = parse(&bytes, cut);
            msg.size = size;
            if !msg.header {
                // No QR bit: a message sent to a DNS port is taken for a query.
                msg.response =
                    DEFAULT_PORTS.contains(&e.src_port) && !DEFAULT_PORTS.contains(&e.dst_port);
            }
            // The client sends queries and receives responses.
            let client = msg.response == ingress;
            self.pair(&r, &e, &mut msg, client);
            let mut row_rec = r.clone();
            row_rec.derived = Some(Arc::new(Row { msg, client }));
            out.push(row_rec);
        }
    }

    fn tick(&mut self, now: u64, out: &mut Vec<Record<'static>>) {
        while let Some(&(k, at)) = self.pending_order.front() {
            if at.saturating_add(self.timeout_ns) > now {
                break;
            }
            self.pending_order.pop_front();
            if self.pending.get(&k).is_none_or(|p| p.at != at) {
                continue;
            }
            let Some(p) = self.pending.remove(&k) else {
                continue;
            };
            let mut rec = p.record.numbered();
            rec.hdr.ktime_ns = at.saturating_add(self.timeout_ns);
            let mut msg = p.msg;
            msg.timed_out = true;
            rec.derived = Some(Arc::new(Row {
                msg,
                client: p.client,
            }));
            out.push(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A query for `name` (type `t`), id `id`, as a resolver sends it.
    fn query(id: u16, name: &str, t: u16) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        b[0..2].copy_from_slice(&id.to_be_bytes());
        b[2] = 0x01; // RD
        b[5] = 1; // QDCOUNT
        for l in name.split('.') {
            b.push(l.len() as u8);
            b.extend_from_slice(l.as_bytes());
        }
        b.push(0);
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b
    }

    /// `q`'s response with A records `addrs` (names compressed to the question).
    fn answer(q: &[u8], rcode: u8, addrs: &[[u8; 4]]) -> Vec<u8> {
        let mut b = q.to_vec();
        b[2] = 0x81;
        b[3] = 0x80 | rcode;
        b[6..8].copy_from_slice(&(addrs.len() as u16).to_be_bytes());
        for a in addrs {
            b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            b.extend_from_slice(a);
        }
        b
    }

    #[test]
    fn a_query_and_its_answer_parse_to_their_fields() {
        let q = query(0x1234, "www.example.com", 1);
        let m = parse(&q, false);
        assert_eq!((m.id, m.response, m.rd), (0x1234, false, true));
        assert_eq!(m.name.as_deref(), Some("www.example.com"));
        assert_eq!(m.qtype.map(type_name).as_deref(), Some("A"));
        assert_eq!(m.error, None);
        let a = answer(&q, 0, &[[192, 0, 2, 1], [192, 0, 2, 2]]);
        let m = parse(&a, false);
        assert!(m.response && m.ra);
        assert_eq!(rcode_name(m.rcode), "NOERROR");
        assert_eq!(m.answers, ["192.0.2.1", "192.0.2.2"]);
        let nx = parse(&answer(&q, 3, &[]), false);
        assert_eq!(rcode_name(nx.rcode), "NXDOMAIN");
        assert!(nx.answers.is_empty());
    }

    #[test]
    fn hostile_messages_are_rows_with_an_error() {
        // Shorter than a header.
        let m = parse(&[1, 2, 3], false);
        assert!(!m.header && m.error.is_some());
        // A compression pointer to itself.
        let mut lp = vec![0u8; 12];
        lp[5] = 1;
        lp.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let m = parse(&lp, false);
        assert!(m.error.is_some() && m.name.is_none(), "{m:?}");
        // Two pointers to each other.
        let mut two = vec![0u8; 12];
        two[5] = 1;
        two.extend_from_slice(&[0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
        assert!(parse(&two, false).error.is_some());
        // A count that lies: 2 answers said, 1 there; the one is kept.
        let q = query(7, "a.test", 1);
        let mut a = answer(&q, 0, &[[10, 0, 0, 1]]);
        a[7] = 2;
        let m = parse(&a, false);
        assert!(m.error.is_some());
        assert_eq!(m.name.as_deref(), Some("a.test"));
        assert_eq!(m.answers, ["10.0.0.1"]);
        assert_eq!(m.counts[1], 2);
        // A name cut off inside a label.
        let m = parse(&q[..q.len() - 7], true);
        assert!(m.error.as_deref().is_some_and(|e| e.starts_with("cut at")));
        assert_eq!(m.id, 7);
    }

    #[test]
    fn names_are_escaped_as_dig_writes_them() {
        let labels: [&[u8]; 3] = [b"a.b", b"c\\d\x07\xff", b"ok"];
        assert_eq!(name_text(labels.into_iter()), "a\\.b.c\\\\d\\007\\255.ok");
        assert_eq!(name_text(std::iter::empty()), ".");
        assert_eq!(type_number("aaaa"), Some(28));
        assert_eq!(type_number("TYPE99"), Some(99));
        assert_eq!(type_name(65280), "TYPE65280");
    }

    fn event(flags: ebq_dns_flags, seq: u32, len: u32) -> ebq_dns_event {
        ebq_dns_event {
            cookie: 5,
            flags: flags.0 | ebq_dns_flags::EBQ_DNS_OWNED.0,
            tcp_seq: seq,
            payload_len: len,
            src_port: 40000,
            dst_port: 53,
            ..Default::default()
        }
    }

    fn framed(msgs: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for m in msgs {
            v.extend_from_slice(&(m.len() as u16).to_be_bytes());
            v.extend_from_slice(m);
        }
        v
    }

    #[test]
    fn tcp_streams_are_cut_at_their_length_prefixes() {
        let mut s = DnsStream::new(&StreamOptions::default());
        let (a, b) = (query(1, "one.test", 1), query(2, "two.test", 28));
        let all = framed(&[&a, &b]);
        let e = event(ebq_dns_flags::EBQ_DNS_TCP, 1000, 5);
        // Five bytes: no message yet.
        assert!(s.tcp_messages(&e, &all[..5]).is_empty());
        // The rest, and a retransmission of the first five after it.
        let e2 = event(ebq_dns_flags::EBQ_DNS_TCP, 1005, (all.len() - 5) as u32);
        let got = s.tcp_messages(&e2, &all[5..]);
        assert_eq!(got.len(), 2);
        assert_eq!(parse(&got[0].0, got[0].1).name.as_deref(), Some("one.test"));
        assert_eq!(got[0].2, a.len());
        assert_eq!(parse(&got[1].0, got[1].1).name.as_deref(), Some("two.test"));
        assert!(s.tcp_messages(&e, &all[..5]).is_empty());
        // A segment the kernel cut: the message is parsed as far as it came.
        let big = framed(&[&answer(&a, 0, &[[1, 2, 3, 4]; 100])]);
        let seq = 1000 + all.len() as u32;
        let e3 = event(ebq_dns_flags::EBQ_DNS_TCP, seq, big.len() as u32);
        let got = s.tcp_messages(&e3, &big[..100]);
        assert_eq!(got.len(), 1);
        assert!(got[0].1, "flagged as cut");
        let m = parse(&got[0].0, got[0].1);
        assert_eq!(m.name.as_deref(), Some("one.test"));
        assert!(m.error.is_some() && m.counts[1] == 100);
    }

    #[test]
    fn a_hole_over_a_length_prefix_loses_the_stream_not_floods_it() {
        let mut s = DnsStream::new(&StreamOptions::default());
        let a = query(1, "one.test", 1);
        // A 64 KB segment of many messages, of which 100 bytes came up.
        let msgs: Vec<Vec<u8>> = (0..2000).map(|_| a.clone()).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let all = framed(&refs);
        let e = event(ebq_dns_flags::EBQ_DNS_TCP, 7, all.len() as u32);
        let got = s.tcp_messages(&e, &all[..100]);
        assert!(got.len() <= 4, "{} messages from a hole", got.len());
        // The stream is lost: what follows is not read as messages.
        let e2 = event(
            ebq_dns_flags::EBQ_DNS_TCP,
            7 + all.len() as u32,
            all.len() as u32,
        );
        assert!(s.tcp_messages(&e2, &all).is_empty());
        assert_eq!(s.tcp_bytes, 0);
    }

    #[test]
    fn a_gap_loses_the_stream() {
        let mut s = DnsStream::new(&StreamOptions::default());
        let a = framed(&[&query(1, "one.test", 1)]);
        let e = event(ebq_dns_flags::EBQ_DNS_TCP, 100, a.len() as u32);
        assert_eq!(s.tcp_messages(&e, &a).len(), 1);
        // A segment 10 bytes after where the next should be.
        let e2 = event(
            ebq_dns_flags::EBQ_DNS_TCP,
            110 + a.len() as u32,
            a.len() as u32,
        );
        assert!(s.tcp_messages(&e2, &a).is_empty());
        let e3 = event(
            ebq_dns_flags::EBQ_DNS_TCP,
            110 + 2 * a.len() as u32,
            a.len() as u32,
        );
        assert!(s.tcp_messages(&e3, &a).is_empty(), "nothing after a gap");
    }

    fn udp_record(e: &ebq_dns_event, bytes: &[u8]) -> Vec<u8> {
        let mut e = *e;
        e.h.kind = 1;
        e.copied = bytes.len() as u16;
        // SAFETY: ebq_dns_event is Plain.
        let mut v = unsafe { plain::as_bytes(&e) }.to_vec();
        v.extend_from_slice(bytes);
        v
    }

    fn fed(s: &mut DnsStream, e: &ebq_dns_event, bytes: &[u8], rows: &mut Vec<Record<'static>>) {
        let buf = udp_record(e, bytes);
        let r = Record::decode(&buf, 0, &LAYOUT, 1).expect("decodes");
        let mut out = Vec::new();
        s.feed(r, &mut out);
        for r in out {
            let mut kept = Record::of(r.hdr, ev(&r));
            kept.derived = r.derived.clone();
            rows.push(kept);
        }
    }

    #[test]
    fn queries_pair_time_out_and_stay_bounded() {
        let mut s = DnsStream::new(&StreamOptions {
            timeout: std::time::Duration::from_secs(1),
        });
        let q = query(5, "a.test", 1);
        let a = answer(&q, 0, &[[1, 1, 1, 1]]);
        let mut e = event(ebq_dns_flags(0), 0, q.len() as u32);
        e.dst_addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        let mut ae = event(ebq_dns_flags::EBQ_DNS_INGRESS, 0, a.len() as u32);
        (ae.src_addr, ae.dst_addr) = (e.dst_addr, e.src_addr);
        (ae.src_port, ae.dst_port) = (e.dst_port, e.src_port);
        let mut rows = Vec::new();
        // 10000 queries, each answered 400 ns later.
        for i in 0..10_000u64 {
            e.h.ktime_ns = i * 1000;
            fed(&mut s, &e, &q, &mut rows);
            ae.h.ktime_ns = i * 1000 + 400;
            fed(&mut s, &ae, &a, &mut rows);
        }
        assert_eq!(rows.len(), 20_000);
        let responses: Vec<&Row> = rows
            .iter()
            .filter_map(|r| row(r))
            .filter(|m| m.msg.response)
            .collect();
        assert_eq!(responses.len(), 10_000);
        assert!(responses
            .iter()
            .all(|m| m.msg.latency == Some(400) && m.client));
        assert!(s.pending.is_empty());
        assert!(
            s.pending_order.len() <= 2048,
            "{} stale entries",
            s.pending_order.len()
        );
        // One left unanswered times out once, a second after.
        e.h.ktime_ns = 50_000_000_000;
        fed(&mut s, &e, &q, &mut rows);
        let mut out = Vec::new();
        s.tick(50_900_000_000, &mut out);
        assert!(out.is_empty());
        s.tick(51_000_000_000, &mut out);
        assert_eq!(out.len(), 1);
        assert!(row(&out[0]).is_some_and(|m| m.msg.timed_out && !m.msg.response));
        s.tick(99_000_000_000, &mut out);
        assert_eq!(out.len(), 1);
        // A query to mDNS's group neither pairs nor times out.
        let mut me = e;
        me.dst_addr[..4].copy_from_slice(&[224, 0, 0, 251]);
        me.dst_port = 5353;
        fed(&mut s, &me, &q, &mut rows);
        assert!(s.pending.is_empty());
    }

    #[test]
    fn a_cut_datagram_says_its_whole_size() {
        let mut s = DnsStream::new(&StreamOptions::default());
        let q = query(5, "a.test", 1);
        let e = event(ebq_dns_flags::EBQ_DNS_CUT, 0, 4000);
        let mut rows = Vec::new();
        fed(&mut s, &e, &q, &mut rows);
        let m = row(&rows[0]).expect("a row");
        assert_eq!((m.msg.size, m.msg.cut), (4000, true));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn any_bytes_parse_without_a_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let m = parse(&b, false);
            prop_assert!(m.header == (b.len() >= 12));
        }

        #[test]
        fn any_segments_make_messages_without_a_panic(
            segs in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300), 0u32..400), 0..20)
        ) {
            let mut s = DnsStream::new(&StreamOptions::default());
            for (seq, bytes, extra) in segs {
                let e = event(ebq_dns_flags::EBQ_DNS_TCP, seq, bytes.len() as u32 + extra % 3 * extra);
                for (m, cut, _) in s.tcp_messages(&e, &bytes) {
                    let _ = parse(&m, cut);
                }
            }
        }

        #[test]
        fn mutated_answers_parse_without_a_panic(i in 0usize..80, v in any::<u8>()) {
            let q = query(9, "x.example.org", 1);
            let mut a = answer(&q, 0, &[[9, 9, 9, 9], [8, 8, 8, 8]]);
            let n = a.len();
            a[i % n] = v;
            let _ = parse(&a, false);
        }
    }
}
