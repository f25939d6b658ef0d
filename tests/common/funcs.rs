//! Helpers of the function tables' tests (tests/functions.rs,
//! tests/func_tables.rs): the fixtures, and what a kernel without attach
//! cookies says instead of rows.

use super::Running;
use serde_json::Value;

pub fn fixture(name: &str) -> String {
    super::helper(name).display().to_string()
}

pub fn forced(what: &str) -> bool {
    std::env::var("EBQ_FORCE_FALLBACK")
        .is_ok_and(|v| v.split(',').any(|w| w.trim() == what || w.trim() == "all"))
}

/// The running kernel's release is at least major.minor.
pub fn release_at_least(major: u32, minor: u32) -> bool {
    let r = nix::sys::utsname::uname().expect("uname");
    let r = r.release().to_string_lossy().into_owned();
    let mut it = r
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (major, minor)
}

/// Attach cookies (Linux 5.15), which function_events needs.
pub fn cookies() -> bool {
    release_at_least(5, 15) && !forced("cookies")
}

/// Checks that ebq, run as `cmd`, refused function_events in one line
/// for lack of attach cookies.
fn says_no_cookies(mut cmd: std::process::Command) {
    let out = cmd.output().expect("ebq runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("function_events needs attach cookies (Linux 5.15)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// On a kernel without attach cookies: runs `query`, checks that it is
/// refused in one line, and says true (the test has nothing more to see).
pub fn refused(query: &str) -> bool {
    if cookies() {
        return false;
    }
    let mut cmd = super::ebq_root();
    cmd.args(["-o", "json", query]);
    says_no_cookies(cmd);
    true
}

/// Runs ebq on `query` over `-c cmd`, with `env` for ebq; None when this
/// kernel refuses function_events (checked to be said in one line).
pub fn run_c(env: &[(&str, &str)], cmd: &str, query: &str) -> Option<super::Finished> {
    if !cookies() {
        let mut ebq = super::ebq_root_env(env);
        ebq.args(["-o", "json", "-c", cmd, query]);
        says_no_cookies(ebq);
        return None;
    }
    let done = Running::start_env(env, &["-c", cmd, query]).finish();
    assert!(done.status.success(), "{:?}", done.stderr);
    Some(done)
}

pub fn of<'a>(rows: &'a [Value], function: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["function"] == function).collect()
}
