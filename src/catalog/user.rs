//! user_events (osquery's name for audit's user-space messages: logins,
//! authentications, sessions): Linux-PAM's results, on function_events'
//! programs (bpf/func.bpf.h), from return probes on libpam's
//! pam_authenticate, pam_acct_mgmt, pam_open_session, pam_close_session
//! and pam_chauthtok in every libpam processes map now and in the host's.
//! The service, user, remote host and terminal are read from the PAM
//! handle at the return (enum ebq_func_mode, EBQ_FUNC_MODE_PAM), so a
//! failed sudo or ssh login is a row with its result.

use super::common::with_common;
use super::func::{ev, string, FUNC_PROGRAMS, LAYOUT};
use super::{Column, Domain, Table};
use crate::abi::types::{ebq_func_capture, ebq_func_mode};
use crate::model::functions::{current_function, FixedProbes};
use crate::model::value::Value;

const PAM: u32 = ebq_func_mode::EBQ_FUNC_MODE_PAM.0;
const STR0: u32 = ebq_func_capture::EBQ_FUNC_CAP_STR0.0;

static LIBPAM: FixedProbes = FixedProbes {
    program: None,
    library: Some("libpam.so"),
    functions: &[
        ("pam_authenticate", PAM),
        ("pam_acct_mgmt", PAM),
        ("pam_open_session", PAM),
        ("pam_close_session", PAM),
        ("pam_chauthtok", PAM),
    ],
    // The handle (arg0) at the entry, its strings and the result at
    // the return.
    capture: ebq_func_capture::EBQ_FUNC_CAP_ARGS.0
        | ebq_func_capture::EBQ_FUNC_CAP_RETVAL.0
        | (STR0 * 0x1f),
    drop_retval: None,
};

/// Linux-PAM's return codes (security/_pam_types.h), by value, as
/// pam_strerror's names without PAM_.
const RESULTS: [&str; 32] = [
    "SUCCESS",
    "OPEN_ERR",
    "SYMBOL_ERR",
    "SERVICE_ERR",
    "SYSTEM_ERR",
    "BUF_ERR",
    "PERM_DENIED",
    "AUTH_ERR",
    "CRED_INSUFFICIENT",
    "AUTHINFO_UNAVAIL",
    "USER_UNKNOWN",
    "MAXTRIES",
    "NEW_AUTHTOK_REQD",
    "ACCT_EXPIRED",
    "SESSION_ERR",
    "CRED_UNAVAIL",
    "CRED_EXPIRED",
    "CRED_ERR",
    "NO_MODULE_DATA",
    "CONV_ERR",
    "AUTHTOK_ERR",
    "AUTHTOK_RECOVERY_ERR",
    "AUTHTOK_LOCK_BUSY",
    "AUTHTOK_DISABLE_AGING",
    "TRY_AGAIN",
    "IGNORE",
    "ABORT",
    "AUTHTOK_EXPIRED",
    "MODULE_UNKNOWN",
    "BAD_ITEM",
    "CONV_AGAIN",
    "INCOMPLETE",
];

/// The PAM call's return value: an int (the register's upper half is not
/// the value's).
fn code(r: &crate::model::record::Record) -> i32 {
    ev(r).ret as i32
}

/// The call, as the action it is, and as audit's message type names it
/// (what osquery's user_events shows in `type`).
fn action(r: &crate::model::record::Record) -> Option<(&'static str, &'static str)> {
    let (_, f) = current_function(ev(r).func)?;
    Some(match f.as_str() {
        "pam_authenticate" => ("authenticate", "USER_AUTH"),
        "pam_acct_mgmt" => ("account", "USER_ACCT"),
        "pam_open_session" => ("open_session", "USER_START"),
        "pam_close_session" => ("close_session", "USER_END"),
        "pam_chauthtok" => ("chauthtok", "USER_CHAUTHTOK"),
        _ => return None,
    })
}

static USER_COLUMNS: &[Column] = &with_common![
    Column::text(
        "action",
        "authenticate, account, open_session, close_session, chauthtok",
        |r| { action(r).map_or(Value::Null, |(a, _)| Value::Text(a.into())) }
    )
    .domain(Domain::List(
        "a PAM action",
        &[
            "authenticate",
            "account",
            "open_session",
            "close_session",
            "chauthtok"
        ],
    ))
    .width(13),
    Column::text(
        "type",
        "The audit message type of the action (USER_AUTH ...)",
        |r| { action(r).map_or(Value::Null, |(_, t)| Value::Text(t.into())) }
    )
    .hidden()
    .width(10),
    Column::text(
        "service",
        "The PAM service (sshd, sudo, login, su ...)",
        |r| string(r, 0)
    )
    .width(8),
    Column::text(
        "username",
        "The user PAM was asked about, when known",
        |r| string(r, 1)
    )
    .width(10),
    Column::text(
        "address",
        "The remote host (PAM_RHOST), when the program set it",
        |r| { string(r, 2) }
    )
    .alias(&["rhost"])
    .width(15),
    Column::text("ruser", "The requesting user (PAM_RUSER), when set", |r| {
        string(r, 3)
    })
    .hidden()
    .width(10),
    Column::text("terminal", "The terminal (PAM_TTY), when set", |r| string(
        r, 4
    ))
    .alias(&["tty"])
    .width(8),
    Column::text(
        "result",
        "PAM's result: SUCCESS, AUTH_ERR, USER_UNKNOWN ...",
        |r| {
            let c = code(r);
            Value::Text(
                usize::try_from(c)
                    .ok()
                    .and_then(|i| RESULTS.get(i))
                    .map_or_else(|| format!("PAM_{c}"), |s| (*s).to_string()),
            )
        }
    )
    .width(12),
    Column::boolean("success", "The call succeeded (PAM_SUCCESS)", |r| {
        Value::Bool(code(r) == 0)
    })
    .width(5),
    Column::int("retval", "PAM's return code, a number", |r| Value::Int(
        code(r).into()
    ))
    .hidden()
    .width(4),
    Column::text(
        "library",
        "The libpam probed: its path (in its process's root)",
        |r| { current_function(ev(r).func).map_or(Value::Null, |(b, _)| Value::Text(b)) }
    )
    .hidden()
    .width(24),
];

pub static USER_EVENTS: Table = Table {
    name: "user_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &["pam_events"],
    doc: "One row per PAM authentication, account check or session (libpam)",
    columns: USER_COLUMNS,
    programs: FUNC_PROGRAMS,
    agg: None,
    buffer: 256 << 10,
    captures: &[
        super::common::NSPID_CAPTURE,
        super::common::CREDS_CAPTURE,
        super::common::NS_CAPTURE,
    ],
    fixed_capture: "the header, the PAM handle's service, user, rhost, ruser and tty, the result",
    action_bit: None,
    stream: None,
    probes: Some(&LIBPAM),
    task_capture: 0,
};

#[cfg(test)]
mod tests {
    #[test]
    fn results_are_linux_pams_numbers() {
        // security/_pam_types.h
        assert_eq!(super::RESULTS[7], "AUTH_ERR");
        assert_eq!(super::RESULTS[10], "USER_UNKNOWN");
        assert_eq!(super::RESULTS[19], "CONV_ERR");
        assert_eq!(super::RESULTS[31], "INCOMPLETE");
    }
}
