//! tcp_events: TCP connections seen from the kernel's state machine
//! (bpf/tcp.bpf.h): each state change (tcpstates), a lifetime row at each
//! close with both ends, the bytes each way and the duration (tcplife),
//! connect latency (tcpconnlat), retransmits (tcpretrans) and resets sent
//! and received. The common columns are the socket's owner, noted when it
//! connected, listened or was accepted (`owner` says which), never the task
//! a softirq interrupted; where ebq did not see the socket begin they are
//! NULL.

use super::common::with_common;
use super::socket::family_number;
use super::{Column, Domain, KernelAggSpec, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_agg_keys, ebq_agg_measure, ebq_tcp_action, ebq_tcp_col, ebq_tcp_event, ebq_tcp_flags,
    ebq_tcp_owner, ebq_tcp_stat,
};
use crate::model::record::{Layout, Record};
use crate::model::value::Value;

crate::plain_abi!(ebq_tcp_event);

/// Its records: struct ebq_tcp_event (bpf/tcp.h) alone; one whose socket
/// has no known owner has no task (its task columns are NULL).
const LAYOUT: Layout = Layout::fixed::<ebq_tcp_event>().anonymous_when(|r| {
    r.get::<ebq_tcp_event>().owner == ebq_tcp_owner::EBQ_TCP_OWNER_NONE.0 as u8
});

fn ev<'r>(r: &'r Record) -> &'r ebq_tcp_event {
    r.get()
}

fn has(e: &ebq_tcp_event, f: ebq_tcp_flags) -> bool {
    e.flags & f.0 != 0
}

/// Action names, in enum ebq_tcp_action order (index = value).
const ACTIONS: [&str; 6] = [
    "state",
    "close",
    "connect",
    "retransmit",
    "send_reset",
    "receive_reset",
];

const _: () = {
    assert!(ebq_tcp_action::EBQ_TCP_STATE.0 == 0);
    assert!(ebq_tcp_action::EBQ_TCP_CLOSE.0 == 1);
    assert!(ebq_tcp_action::EBQ_TCP_CONNECT.0 == 2);
    assert!(ebq_tcp_action::EBQ_TCP_RETRANSMIT.0 == 3);
    assert!(ebq_tcp_action::EBQ_TCP_SEND_RESET.0 == 4);
    assert!(ebq_tcp_action::EBQ_TCP_RECEIVE_RESET.0 == 5);
};

/// The bit of an action in cfg.actions.
pub fn action_bit(name: &str) -> Option<u32> {
    ACTIONS.iter().position(|a| *a == name).map(|i| 1 << i)
}

/// The kernel's TCP states (include/net/tcp_states.h), by number from 1,
/// as tcpstates and ss(8) name them.
const STATES: [&str; 12] = [
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

fn state_name(s: u8) -> Value {
    match s {
        0 => Value::Null,
        n => Value::Text(
            STATES
                .get(usize::from(n) - 1)
                .map_or_else(|| format!("STATE_{n}"), |s| (*s).to_string()),
        ),
    }
}

/// How the owner was known, in enum ebq_tcp_owner order (0: unknown).
const OWNERS: [&str; 4] = ["connect", "listen", "accept", "listener"];

fn owner_name(o: u8) -> Value {
    match o {
        0 => Value::Null,
        n => OWNERS
            .get(usize::from(n) - 1)
            .map_or(Value::Null, |s| Value::Text((*s).into())),
    }
}

fn address(e: &ebq_tcp_event, a: &[u8; 16]) -> Value {
    if !has(e, ebq_tcp_flags::EBQ_TCP_HAS_ADDRS) {
        return Value::Null;
    }
    super::socket::address(e.family, a, &[], 0)
}

fn ends(r: &Record, f: impl Fn(&ebq_tcp_event) -> i64) -> Value {
    let e = ev(r);
    if has(e, ebq_tcp_flags::EBQ_TCP_HAS_ADDRS) {
        Value::Int(f(e))
    } else {
        Value::Null
    }
}

fn bytes(r: &Record, f: impl Fn(&ebq_tcp_event) -> u64) -> Value {
    let e = ev(r);
    if has(e, ebq_tcp_flags::EBQ_TCP_HAS_BYTES) {
        Value::Int(i64::try_from(f(e)).unwrap_or(i64::MAX))
    } else {
        Value::Null
    }
}

fn family_names() -> Vec<String> {
    ["AF_INET", "AF_INET6"].map(String::from).to_vec()
}

static TCP_COLUMNS: &[Column] = &with_common![
    Column::text(
        "action",
        "state, close (lifetime), connect (latency), retransmit, send/receive_reset",
        |r| super::common::action_text(&ACTIONS, ev(r).action)
    )
    .filter(KernelFilter::Probe)
    .domain(Domain::List("a tcp_events action", &ACTIONS))
    .width(10),
    Column::text(
        "old_state",
        "state: the state it left (close: the last before CLOSE); else NULL",
        |r| {
            let e = ev(r);
            if has(e, ebq_tcp_flags::EBQ_TCP_HAS_OLD) {
                state_name(e.old_state)
            } else {
                Value::Null
            }
        }
    )
    .domain(Domain::List("a TCP state", &STATES))
    .width(11),
    Column::text(
        "state",
        "state: the new state; else the socket's then (ESTABLISHED, SYN_SENT ...)",
        |r| state_name(ev(r).state)
    )
    .domain(Domain::List("a TCP state", &STATES))
    .width(11),
    Column::int(
        "family",
        "2 AF_INET, 10 AF_INET6 ('AF_INET6' in WHERE)",
        |r| ends(r, |e| e.family.into())
    )
    .slot(ebq_tcp_col::EBQ_TCP_COL_FAMILY.0, 0, 65535)
    .named(family_number)
    .domain(Domain::Fn {
        what: "an address family",
        has: |s| family_number(s).is_some(),
        all: family_names,
    })
    .width(6),
    Column::text("local_address", "Local address (IPv4 or IPv6)", |r| {
        let e = ev(r);
        address(e, &e.local_addr)
    })
    .width(15),
    Column::int("local_port", "Local port", |r| ends(r, |e| e
        .local_port
        .into()))
    .slot(ebq_tcp_col::EBQ_TCP_COL_LOCAL_PORT.0, 0, 65535)
    .width(5),
    Column::text("remote_address", "Remote address (IPv4 or IPv6)", |r| {
        let e = ev(r);
        address(e, &e.remote_addr)
    })
    .width(15),
    Column::int("remote_port", "Remote port", |r| ends(r, |e| e
        .remote_port
        .into()))
    .slot(ebq_tcp_col::EBQ_TCP_COL_REMOTE_PORT.0, 0, 65535)
    .width(5),
    Column::int(
        "duration",
        "ns: state: in the old state; close: lifetime; connect: latency",
        |r| {
            let e = ev(r);
            if has(e, ebq_tcp_flags::EBQ_TCP_HAS_DURATION) {
                Value::Int(i64::try_from(e.duration_ns).unwrap_or(i64::MAX))
            } else {
                Value::Null
            }
        }
    )
    .slot(ebq_tcp_col::EBQ_TCP_COL_DURATION.0, 0, i64::MAX)
    .width(10),
    Column::int(
        "bytes_sent",
        "close: bytes the peer acknowledged (tcp_sock's bytes_acked)",
        |r| bytes(r, |e| e.bytes_sent)
    )
    .alias(&["tx_bytes"])
    .width(9),
    Column::int(
        "bytes_received",
        "close: bytes received in sequence (tcp_sock's bytes_received)",
        |r| bytes(r, |e| e.bytes_received)
    )
    .alias(&["rx_bytes"])
    .width(9),
    Column::text(
        "owner",
        "How the task is known: connect, listen, accept, listener; NULL unknown",
        |r| owner_name(ev(r).owner)
    )
    .domain(Domain::List(
        "a socket owner",
        &["connect", "listen", "accept", "listener"]
    ))
    .width(8),
];

/// The actions a program's rows have.
const RETRANSMIT: &[&str] = &["retransmit"];
const SEND_RESET: &[&str] = &["send_reset"];
const RECEIVE_RESET: &[&str] = &["receive_reset"];

static TCP_PROGRAMS: &[Program] = &[
    // Every query: the owners' and the times' notes are made here, and
    // its state, close and connect rows (cfg.actions picks among them).
    Program::new(
        "tcp_set_state",
        "raw_tp/inet_sock_set_state",
        &[],
        Some(ebq_tcp_stat::EBQ_STAT_SENT_TCP_STATE.0),
    )
    .event("sock/inet_sock_set_state"),
    // The note goes with its socket (else it ages out of the LRU hash).
    Program::new("tcp_destroy_sock", "raw_tp/tcp_destroy_sock", &[], None)
        .event("tcp/tcp_destroy_sock")
        .optional(),
    // The accepter becomes the owner.
    Program::new(
        "tcp_accept",
        "tracepoint/syscalls/sys_exit_accept",
        &[],
        None,
    ),
    Program::new(
        "tcp_accept4",
        "tracepoint/syscalls/sys_exit_accept4",
        &[],
        None,
    ),
    Program::new(
        "tcp_retransmit",
        "raw_tp/tcp_retransmit_skb",
        RETRANSMIT,
        Some(ebq_tcp_stat::EBQ_STAT_SENT_TCP_RETRANSMIT.0),
    )
    .event("tcp/tcp_retransmit_skb"),
    Program::new(
        "tcp_send_reset",
        "raw_tp/tcp_send_reset",
        SEND_RESET,
        Some(ebq_tcp_stat::EBQ_STAT_SENT_TCP_SEND_RESET.0),
    )
    .event("tcp/tcp_send_reset"),
    Program::new(
        "tcp_receive_reset",
        "raw_tp/tcp_receive_reset",
        RECEIVE_RESET,
        Some(ebq_tcp_stat::EBQ_STAT_SENT_TCP_RECEIVE_RESET.0),
    )
    .event("tcp/tcp_receive_reset"),
];

/// A kernel group's record: its key's action, old state and state
/// (EBQ_TCP_AGG_NR in bpf/tcp.h: 8 bits each, from the top).
fn agg_event(h: crate::abi::types::ebq_header, nr: u32) -> Record<'static> {
    let old = (nr >> 8) as u8;
    Record::of(
        h,
        &ebq_tcp_event {
            action: nr >> 16,
            old_state: old,
            state: nr as u8,
            flags: if old != 0 {
                ebq_tcp_flags::EBQ_TCP_HAS_OLD.0
            } else {
                0
            },
            // Its task keys are the owner's (NULL for a group with no
            // task: run.rs marks it so).
            owner: ebq_tcp_owner::EBQ_TCP_OWNER_CONNECT.0 as u8,
            ..Default::default()
        },
    )
}

static TCP_AGG: KernelAggSpec = KernelAggSpec {
    keys: &[
        ("action", ebq_agg_keys::EBQ_AGG_NR.0),
        ("old_state", ebq_agg_keys::EBQ_AGG_NR.0),
        ("state", ebq_agg_keys::EBQ_AGG_NR.0),
    ],
    measures: &[("duration", ebq_agg_measure::EBQ_MEASURE_DURATION.0 as u8)],
    event: agg_event,
};

pub static TCP_EVENTS: Table = Table {
    name: "tcp_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per TCP event: state change, close (lifetime), connect, retransmit, reset",
    columns: TCP_COLUMNS,
    programs: TCP_PROGRAMS,
    agg: Some(&TCP_AGG),
    buffer: 1 << 20,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the owner's header, action, states, both ends, duration, bytes",
    action_bit: Some(action_bit),
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_states_and_owners_are_named() {
        assert_eq!(action_bit("state"), Some(1));
        assert_eq!(action_bit("receive_reset"), Some(32));
        assert_eq!(action_bit("nope"), None);
        assert_eq!(state_name(1), Value::Text("ESTABLISHED".into()));
        assert_eq!(state_name(7), Value::Text("CLOSE".into()));
        assert_eq!(state_name(10), Value::Text("LISTEN".into()));
        assert_eq!(state_name(12), Value::Text("NEW_SYN_RECV".into()));
        assert_eq!(state_name(13), Value::Text("STATE_13".into()));
        assert_eq!(state_name(0), Value::Null);
        assert_eq!(owner_name(0), Value::Null);
        assert_eq!(owner_name(3), Value::Text("accept".into()));
        assert_eq!(owner_name(9), Value::Null);
    }

    #[test]
    fn a_row_without_an_owner_has_no_task() {
        let kind = crate::catalog::kind(&TCP_EVENTS);
        for (owner, anonymous) in [(0u8, true), (1, false), (4, false)] {
            let e = ebq_tcp_event {
                owner,
                ..Default::default()
            };
            // SAFETY: plain data, as the ring buffer would hand it over.
            let mut b = unsafe { plain::as_bytes(&e) }.to_vec();
            b[16..20].copy_from_slice(&kind.to_ne_bytes());
            let r = Record::decode(&b, 0, &LAYOUT, kind).expect("decodes");
            assert_eq!(r.anonymous, anonymous, "owner {owner}");
        }
    }
}
