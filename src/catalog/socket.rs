//! socket_events: connect, accept/accept4, bind and listen
//! (bpf/socket.bpf.h), for IPv4, IPv6 and unix sockets, with both ends as
//! the kernel sees them. It is osquery's socket_events and
//! bpf_socket_events too: their columns are here by name (syscall and type
//! as aliases, success, socket, probe_error), or refused with the reason.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::common::{errno_name, with_common, ERRNO, U32_MAX};
use super::{Column, Domain, KernelFilter, Program, Table, Type};
use crate::abi::types::{
    ebq_filter_col, ebq_socket_action, ebq_socket_col, ebq_socket_event, ebq_socket_flags,
    ebq_socket_stat,
};
use crate::model::record::{Layout, Record};
use crate::model::value::{text_from_bytes, Value};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
/* include/uapi/asm-generic/errno.h */
const EINPROGRESS: i64 = 115;
const EAGAIN: i64 = 11;

crate::plain_abi!(ebq_socket_event);

/// Its records: struct ebq_socket_event (bpf/socket.h) alone.
const LAYOUT: Layout = Layout::fixed::<ebq_socket_event>();

fn sock<'r>(r: &'r Record) -> Option<&'r ebq_socket_event> {
    Some(r.get())
}

fn has(e: &ebq_socket_event, f: ebq_socket_flags) -> bool {
    e.flags & f.0 != 0
}

fn action_name(a: u16) -> &'static str {
    match ebq_socket_action(a.into()) {
        ebq_socket_action::EBQ_SOCK_CONNECT => "connect",
        ebq_socket_action::EBQ_SOCK_ACCEPT => "accept",
        ebq_socket_action::EBQ_SOCK_BIND => "bind",
        ebq_socket_action::EBQ_SOCK_LISTEN => "listen",
        _ => "unknown",
    }
}

pub(crate) fn address(family: u16, addr: &[u8; 16], path: &[i8], path_len: u16) -> Value {
    match family {
        AF_INET => Value::Text(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string()),
        AF_INET6 => Value::Text(Ipv6Addr::from(*addr).to_string()),
        AF_UNIX => {
            let bytes: Vec<u8> = path
                .iter()
                .take(usize::from(path_len))
                .map(|&c| c as u8)
                .collect();
            match bytes.split_first() {
                // An abstract name: the leading NUL is shown as '@' (ss(8) does).
                Some((0, rest)) => Value::Text(format!("@{}", text_from_bytes(rest))),
                Some(_) => {
                    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                    Value::Text(text_from_bytes(&bytes[..end]))
                }
                None => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

fn col_local_address(r: &Record) -> Value {
    match sock(r) {
        Some(e) if has(e, ebq_socket_flags::EBQ_SOCK_HAS_LOCAL) => {
            address(e.family, &e.local_addr, &e.local_path, e.local_path_len)
        }
        _ => Value::Null,
    }
}

fn col_remote_address(r: &Record) -> Value {
    match sock(r) {
        Some(e) if has(e, ebq_socket_flags::EBQ_SOCK_HAS_REMOTE) => {
            address(e.family, &e.remote_addr, &e.remote_path, e.remote_path_len)
        }
        _ => Value::Null,
    }
}

fn col_local_port(r: &Record) -> Value {
    match sock(r) {
        Some(e) if has(e, ebq_socket_flags::EBQ_SOCK_HAS_LOCAL) && e.family != AF_UNIX => {
            Value::Int(e.local_port.into())
        }
        _ => Value::Null,
    }
}

fn col_remote_port(r: &Record) -> Value {
    match sock(r) {
        Some(e) if has(e, ebq_socket_flags::EBQ_SOCK_HAS_REMOTE) && e.family != AF_UNIX => {
            Value::Int(e.remote_port.into())
        }
        _ => Value::Null,
    }
}

fn col_status(r: &Record) -> Value {
    let Some(e) = sock(r) else { return Value::Null };
    Value::Text(
        match e.exit_code {
            c if c >= 0 => "succeeded",
            c if c == -EINPROGRESS && e.action == ebq_socket_action::EBQ_SOCK_CONNECT.0 as u16 => {
                "in_progress"
            }
            // osquery's name for a non-blocking accept with no one waiting.
            c if c == -EAGAIN && e.action == ebq_socket_action::EBQ_SOCK_ACCEPT.0 as u16 => {
                "no_client"
            }
            _ => "failed",
        }
        .into(),
    )
}

/// Address families by name, for WHERE: AF_INET, inet, ipv4 ...
pub fn family_number(name: &str) -> Option<i64> {
    match name.to_ascii_lowercase().trim_start_matches("af_") {
        "unix" | "local" => Some(AF_UNIX.into()),
        "inet" | "ipv4" => Some(AF_INET.into()),
        "inet6" | "ipv6" => Some(AF_INET6.into()),
        _ => None,
    }
}

fn family_names() -> Vec<String> {
    ["AF_INET", "AF_INET6", "AF_UNIX"]
        .map(String::from)
        .to_vec()
}

/// The protocols protocol_number() knows by name.
const PROTOCOLS: [&str; 7] = ["icmp", "tcp", "udp", "icmpv6", "sctp", "udplite", "raw"];

fn family_name(f: u16) -> Value {
    match f {
        AF_UNIX => Value::Text("AF_UNIX".into()),
        AF_INET => Value::Text("AF_INET".into()),
        AF_INET6 => Value::Text("AF_INET6".into()),
        0 => Value::Null,
        n => Value::Text(format!("AF_{n}")),
    }
}

/// IP protocols by name, for WHERE: tcp, udp ... (include/uapi/linux/in.h).
pub fn protocol_number(name: &str) -> Option<i64> {
    match name.to_ascii_lowercase().trim_start_matches("ipproto_") {
        "icmp" => Some(1),
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmpv6" => Some(58),
        "sctp" => Some(132),
        "udplite" => Some(136),
        "raw" => Some(255),
        _ => None,
    }
}

fn int(r: &Record, f: impl Fn(&ebq_socket_event) -> i64) -> Value {
    sock(r).map_or(Value::Null, |e| Value::Int(f(e)))
}

fn known(r: &Record, f: impl Fn(&ebq_socket_event) -> i64) -> Value {
    match sock(r) {
        Some(e) if has(e, ebq_socket_flags::EBQ_SOCK_HAS_SOCK) => Value::Int(f(e)),
        _ => Value::Null,
    }
}

static SOCKET_COLUMNS: &[Column] = &with_common![
    Column::text("action", "connect, accept, bind or listen", |r| sock(r)
        .map_or(Value::Null, |e| Value::Text(action_name(e.action).into())))
    .filter(KernelFilter::Probe)
    .alias(&["syscall"])
    .domain(Domain::List(
        "a socket action",
        &["connect", "accept", "bind", "listen"]
    ))
    .width(7),
    Column::int(
        "fd",
        "The socket's file descriptor (accept: the new one)",
        |r| int(r, |e| e.fd.into())
    )
    .slot(
        ebq_socket_col::EBQ_SOCKET_COL_FD.0,
        i32::MIN as i64,
        i32::MAX as i64
    )
    .width(4),
    Column::int(
        "family",
        "2 AF_INET, 10 AF_INET6, 1 AF_UNIX ('AF_INET6' in WHERE)",
        |r| sock(r).map_or(Value::Null, |e| if e.family == 0 {
            Value::Null
        } else {
            Value::Int(e.family.into())
        })
    )
    .slot(ebq_socket_col::EBQ_SOCKET_COL_FAMILY.0, 0, 65535)
    .named(family_number)
    .domain(Domain::Fn {
        what: "an address family",
        has: |s| family_number(s).is_some(),
        all: family_names,
    })
    .width(6),
    Column::text("family_name", "AF_INET, AF_INET6, AF_UNIX", |r| sock(r)
        .map_or(Value::Null, |e| family_name(e.family)))
    .hidden()
    .domain(Domain::Fn {
        what: "an address family name",
        has: |s| family_names().iter().any(|f| f == s)
            || s.strip_prefix("AF_")
                .is_some_and(|n| n.parse::<u16>().is_ok()),
        all: family_names,
    })
    .width(8),
    Column::int(
        "protocol",
        "IP protocol: 6 TCP, 17 UDP ('tcp' in WHERE); 0 for unix",
        |r| known(r, |e| e.protocol.into())
    )
    .slot(ebq_socket_col::EBQ_SOCKET_COL_PROTOCOL.0, 0, 65535)
    .named(protocol_number)
    .domain(Domain::Fn {
        what: "an IP protocol",
        has: |s| protocol_number(s).is_some(),
        all: || PROTOCOLS.map(String::from).to_vec(),
    })
    .width(5),
    Column::int(
        "socket_type",
        "1 SOCK_STREAM, 2 SOCK_DGRAM, 3 SOCK_RAW, 5 SOCK_SEQPACKET",
        |r| known(r, |e| e.sock_type.into())
    )
    .alias(&["type"])
    .hidden(),
    Column::text(
        "local_address",
        "Local address (IPv4, IPv6 or unix path; '@' abstract)",
        col_local_address
    )
    .width(15),
    Column::int("local_port", "Local port", col_local_port)
        .slot(ebq_socket_col::EBQ_SOCKET_COL_LOCAL_PORT.0, 0, 65535)
        .width(5),
    Column::text(
        "remote_address",
        "Remote address (IPv4, IPv6 or unix path)",
        col_remote_address
    )
    .width(15),
    Column::int("remote_port", "Remote port", col_remote_port)
        .slot(ebq_socket_col::EBQ_SOCKET_COL_REMOTE_PORT.0, 0, 65535)
        .width(5),
    Column::int(
        "exit_code",
        "Return value: 0 (accept: the new fd) or a negative errno",
        |r| int(r, |e| e.exit_code)
    )
    .slot(
        ebq_filter_col::EBQ_COL_EXIT_CODE.0,
        i32::MIN as i64,
        U32_MAX
    )
    .width(5),
    Column::text(
        "error",
        "errno name of a failure (ECONNREFUSED), else NULL",
        |r| sock(r).map_or(Value::Null, |e| errno_name(e.exit_code))
    )
    .domain(ERRNO)
    .width(12),
    Column::text(
        "status",
        "succeeded, failed, in_progress (connect), no_client (accept, EAGAIN)",
        col_status
    )
    .domain(Domain::List(
        "a status",
        &["succeeded", "failed", "in_progress", "no_client"]
    ))
    .width(11),
    Column::int("duration", "Time in the syscall, ns", |r| int(
        r,
        |e| e.duration_ns as i64
    ))
    .width(9),
    Column::int(
        "success",
        "osquery's: 1 when the call succeeded (exit_code >= 0), else 0",
        |r| int(r, |e| (e.exit_code >= 0).into())
    )
    .hidden(),
    Column::text(
        "socket",
        "osquery's: the unix socket path named (connect's remote, else local)",
        col_socket
    )
    .hidden()
    .width(20),
    Column::int(
        "probe_error",
        "osquery's: always 0 (addresses and unix paths are never cut)",
        |r| int(r, |_| 0)
    )
    .hidden(),
    Column::text(
        "remote_name",
        "The name a DNS answer this host got for remote_address (attaches DNS programs)",
        super::dns::remote_name
    )
    .fed_by(&super::dns::REMOTE_NAMES)
    .hidden()
    .width(24),
    Column::refused(
        "path",
        Type::Text,
        "the executable is not walked at socket calls (process_events has it)"
    ),
];

/// The unix socket path a call named: connect's peer, else its own.
fn col_socket(r: &Record) -> Value {
    match sock(r) {
        Some(e) if e.family == AF_UNIX => match col_remote_address(r) {
            Value::Null => col_local_address(r),
            v => v,
        },
        _ => Value::Null,
    }
}

// One entry and one exit program serve all five syscalls, told apart by
// their attach cookie.
static SOCKET_PROGRAMS: &[Program] = &[
    Program::new(
        "connect_enter",
        "tracepoint/syscalls/sys_enter_connect",
        &["connect"],
        None,
    )
    .runs("socket_enter", ebq_socket_action::EBQ_SOCK_CONNECT.0 as u64),
    Program::new(
        "connect_exit",
        "tracepoint/syscalls/sys_exit_connect",
        &["connect"],
        Some(ebq_socket_stat::EBQ_STAT_SENT_SOCKET.0 + 1),
    )
    .runs("socket_exit", ebq_socket_action::EBQ_SOCK_CONNECT.0 as u64),
    Program::new(
        "accept_enter",
        "tracepoint/syscalls/sys_enter_accept",
        &["accept"],
        None,
    )
    .runs("socket_enter", ebq_socket_action::EBQ_SOCK_ACCEPT.0 as u64),
    Program::new(
        "accept_exit",
        "tracepoint/syscalls/sys_exit_accept",
        &["accept"],
        Some(ebq_socket_stat::EBQ_STAT_SENT_SOCKET.0 + 2),
    )
    .runs("socket_exit", ebq_socket_action::EBQ_SOCK_ACCEPT.0 as u64),
    Program::new(
        "accept4_enter",
        "tracepoint/syscalls/sys_enter_accept4",
        &["accept"],
        None,
    )
    .runs("socket_enter", ebq_socket_action::EBQ_SOCK_ACCEPT.0 as u64),
    Program::new(
        "accept4_exit",
        "tracepoint/syscalls/sys_exit_accept4",
        &["accept"],
        Some(ebq_socket_stat::EBQ_STAT_SENT_SOCKET.0 + 2),
    )
    .runs("socket_exit", ebq_socket_action::EBQ_SOCK_ACCEPT.0 as u64),
    Program::new(
        "bind_enter",
        "tracepoint/syscalls/sys_enter_bind",
        &["bind"],
        None,
    )
    .runs("socket_enter", ebq_socket_action::EBQ_SOCK_BIND.0 as u64),
    Program::new(
        "bind_exit",
        "tracepoint/syscalls/sys_exit_bind",
        &["bind"],
        Some(ebq_socket_stat::EBQ_STAT_SENT_SOCKET.0 + 3),
    )
    .runs("socket_exit", ebq_socket_action::EBQ_SOCK_BIND.0 as u64),
    Program::new(
        "listen_enter",
        "tracepoint/syscalls/sys_enter_listen",
        &["listen"],
        None,
    )
    .runs("socket_enter", ebq_socket_action::EBQ_SOCK_LISTEN.0 as u64),
    Program::new(
        "listen_exit",
        "tracepoint/syscalls/sys_exit_listen",
        &["listen"],
        Some(ebq_socket_stat::EBQ_STAT_SENT_SOCKET.0 + 4),
    )
    .runs("socket_exit", ebq_socket_action::EBQ_SOCK_LISTEN.0 as u64),
];

pub static SOCKET_EVENTS: Table = Table {
    name: "socket_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["bpf_socket_events"],
    doc: "One row per connect, accept, bind or listen (IPv4, IPv6, unix)",
    columns: SOCKET_COLUMNS,
    programs: SOCKET_PROGRAMS,
    agg: None,
    buffer: 1 << 20,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the header, addresses and ports",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_render_by_family() {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(
            address(AF_INET, &a, &[], 0),
            Value::Text("127.0.0.1".into())
        );
        let mut six = [0u8; 16];
        six[15] = 1;
        assert_eq!(address(AF_INET6, &six, &[], 0), Value::Text("::1".into()));
        let path: Vec<i8> = b"/run/x.sock\0\0".iter().map(|&b| b as i8).collect();
        assert_eq!(
            address(AF_UNIX, &a, &path, 13),
            Value::Text("/run/x.sock".into())
        );
        let abs: Vec<i8> = b"\0hidden".iter().map(|&b| b as i8).collect();
        assert_eq!(address(AF_UNIX, &a, &abs, 7), Value::Text("@hidden".into()));
    }

    #[test]
    fn names_in_where() {
        assert_eq!(family_number("AF_INET6"), Some(10));
        assert_eq!(family_number("unix"), Some(1));
        assert_eq!(protocol_number("TCP"), Some(6));
        assert_eq!(protocol_number("nope"), None);
    }
}
