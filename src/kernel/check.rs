//! `ebq --check`: what this kernel offers ebq, and whether each table's
//! programs load and attach here, as one report. Without root it says the
//! kernel, its BTF and what can be known unprivileged; loading is tried
//! only with the privileges a run needs.

use std::fmt::Write as _;
use std::mem::MaybeUninit;

use super::features::{release, FEATURES};
use super::{load, preflight};

/// The report, as text.
pub fn report() -> String {
    let mut out = String::new();
    let w = 10;
    let _ = writeln!(
        out,
        "{:<w$}{} ({})",
        "kernel",
        release(),
        std::env::consts::ARCH
    );
    let privileged = preflight::check_privileges().is_ok();
    for (i, f) in FEATURES.iter().enumerate() {
        let has = match f.present() {
            Some(true) => "yes",
            Some(false) => "NO ",
            None => "?  ",
        };
        let without = match (f.present(), f.fallback) {
            (Some(false), Some(fb)) => format!(" (without it: {})", fb.instead()),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<w$}{has} {:<26} Linux {:<5} {}{without}",
            if i == 0 { "features" } else { "" },
            f.name,
            f.since,
            f.used_by
        );
    }
    if !privileged {
        let _ = writeln!(
            out,
            "{:<w$}not tried: loading BPF needs root (or CAP_BPF and CAP_PERFMON); \"?\" above is a probe that needs them too",
            "tables"
        );
        return out;
    }
    match super::variants::Variants::detect() {
        Ok(v) => {
            let _ = writeln!(out, "{:<w$}{}", "variant", v.describe());
        }
        Err(e) => {
            let _ = writeln!(out, "{:<w$}{e}", "variant");
        }
    }
    if let Err(e) = preflight::ensure_tracefs() {
        let _ = writeln!(out, "{:<w$}tracefs: {e}", "");
    }
    for (i, t) in crate::catalog::TABLES.iter().enumerate() {
        let label = if i == 0 { "tables" } else { "" };
        let _ = writeln!(out, "{label:<w$}{:<20} {}", t.name, try_table(t));
    }
    out
}

/// Loads and attaches the programs of a query that reads every column of
/// `t` (so every capture is on), then detaches them: what happened, in
/// one line.
fn try_table(t: &'static crate::catalog::Table) -> String {
    // function_events' buffer is read through buf(), its columns with it.
    let cols: Vec<&str> = t
        .columns
        .iter()
        .map(|c| {
            if c.name == "buf" {
                "buf(arg0, 64)"
            } else {
                c.name
            }
        })
        .collect();
    let mut sql = format!("select {} from {}", cols.join(", "), t.name);
    // usdt_events: the static probes of C++'s runtime (libstdc++ ships
    // some: throw, catch, rethrow).
    let key = |k| {
        t.columns
            .iter()
            .any(|c| matches!(c.filter, crate::catalog::KernelFilter::Attach(x) if x == k))
    };
    if key(crate::catalog::AttachKey::Provider) {
        sql.push_str(" where binary = 'libstdc++.so.6' and provider = 'libstdcxx'");
    } else if key(crate::catalog::AttachKey::Function) {
        // function_events probes what it is told: ebq's own main.
        let Ok(exe) = std::env::current_exe() else {
            return "not tried: ebq's own path is unknown".into();
        };
        sql.push_str(&format!(
            " where binary = '{}' and function = 'main'",
            exe.display().to_string().replace('\'', "''")
        ));
    }
    let query = match crate::sql::bind(&sql) {
        Ok(q) => q,
        Err(e) => return format!("not tried: {e}"),
    };
    let plan = crate::plan::plan(query, false);
    let variants = super::variants::Variants::detect().ok();
    let functions = match &plan.kernel.functions {
        Some(req) => match super::uprobes::resolve(req, super::uprobes::limits(&plan, 10)) {
            Ok(r) => Some(std::sync::Arc::new(r)),
            Err(e) => return format!("not tried: {e}"),
        },
        None => None,
    };
    if functions.is_some() && !variants.is_some_and(|v| v.cookies) {
        return "unsupported: needs attach cookies (Linux 5.15)".into();
    }
    let physical = crate::plan::physical::build(
        &plan,
        &crate::plan::physical::Options {
            buffer_size: 1 << 16,
            self_tgid: std::process::id(),
            count_filtered: false,
            cgroups: None,
            // Held below until the programs are attached: the files the
            // kernel reaches through /proc/self/fd are its.
            functions: functions.clone(),
            uprobe_multi: variants.is_some_and(|v| v.uprobe_multi),
        },
    );
    let mut storage = MaybeUninit::uninit();
    let line = match load::load(&mut storage, &physical, None) {
        Ok(k) => {
            let at = k.attached();
            let mut line = format!(
                "loads and attaches ({}): {}",
                k.variants.of_table(&physical.programs),
                shown(&at)
            );
            if !k.dropped.is_empty() {
                let _ = write!(line, "; left out (no tracepoint): {}", k.dropped.join(", "));
            }
            // Detached here, before the object's storage goes.
            drop(k);
            line
        }
        Err(e) => {
            // The load's own error first: a missing feature may be beside
            // the point (syscall_events on 5.10 once failed for an atomic
            // instruction while bpf_loop was what it lacked). What the
            // variants stand in for is never the reason.
            let lacks: Vec<String> = super::features::missing()
                .iter()
                .filter(|f| f.fallback.is_none())
                .map(|f| format!("{} ({})", f.name, f.since))
                .collect();
            let mut line = format!("FAILS: {}", reason(&e.to_string()));
            if !lacks.is_empty() {
                let _ = write!(line, "; this kernel lacks {}", lacks.join(", "));
            }
            line
        }
    };
    drop(functions);
    line
}

/// Names, the first SHOWN of them, then how many more.
fn shown(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut s = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(s, " and {} more", names.len() - SHOWN);
    }
    s
}

/// A failed load's message in one line: its first, and when libbpf's log
/// follows, the verifier's last word in it (what it refused, before its
/// statistics and libbpf's own lines), at most 300 characters.
fn reason(s: &str) -> String {
    let first = first_line(s);
    let rest: Vec<&str> = s.lines().skip(1).collect();
    let last = rest.iter().rev().map(|l| l.trim()).find(|l| {
        !l.is_empty()
            && !l.starts_with("libbpf:")
            && !l.starts_with("--")
            && !l.starts_with("processed ")
            && !l.starts_with("verification time")
    });
    match last {
        Some(l) => first_line(&format!("{} {l}", first.trim_end_matches(':'))),
        None => first,
    }
}

/// The first line of a message, and at most 300 characters of it.
fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("");
    l.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn every_table_loads_and_attaches_here_or_says_why_not() {
        let r = super::report();
        assert!(r.starts_with("kernel    "), "{r}");
        for t in crate::catalog::TABLES {
            let line = r
                .lines()
                .find(|l| l.split_whitespace().any(|w| w == t.name))
                .unwrap_or_else(|| panic!("no line for {}: {r}", t.name));
            // A kernel without module support (this project's machines)
            // has no module tracepoints: module_events says so; every
            // other table loads, as module_events does where modules are.
            if t.name == "module_events" && !std::path::Path::new("/proc/modules").exists() {
                assert!(
                    line.contains("FAILS: ") && line.contains("without module support"),
                    "{line}"
                );
            } else if t.probes.is_some() || t.name == "function_events" || t.name == "usdt_events" {
                let v = super::super::variants::Variants::detect().expect("variants");
                // A host without C++'s runtime has no USDT probe to try.
                if t.name == "usdt_events"
                    && line.contains("not tried: binary = 'libstdc++.so.6': no such")
                {
                    continue;
                }
                // Without attach cookies, said; else loaded as below.
                if !v.cookies {
                    assert!(line.contains("unsupported: needs attach cookies"), "{line}");
                    continue;
                }
                let way = if v.uprobe_multi {
                    "uprobes: uprobe_multi"
                } else {
                    "uprobes: a link per function"
                };
                let compat = if v.bpf_loop {
                    ""
                } else {
                    ", compat object (bounded loops)"
                };
                assert!(
                    line.contains(&format!("loads and attaches ({way}{compat}): ")),
                    "{line}"
                );
            } else {
                // With the ways this kernel's programs take (variants.rs;
                // EBQ_FORCE_FALLBACK the old kernels').
                let v = super::super::variants::Variants::detect().expect("variants");
                let inflight = if v.task_storage {
                    "in flight: task storage"
                } else {
                    "in flight: LRU hash by tid"
                };
                let shared = if v.cookies {
                    "shared programs: attach cookie"
                } else {
                    "shared programs: syscall number"
                };
                let mut ways: Vec<&str> = match t.name {
                    "process_events" | "socket_events" | "file_events" => {
                        vec![inflight, shared]
                    }
                    "syscall_events" | "module_events" => vec![inflight],
                    _ => vec![],
                };
                if !v.bpf_loop {
                    ways.push("compat object (bounded loops)");
                }
                if !v.new_tracepoints && t.programs.iter().any(|p| p.unless.is_some()) {
                    ways.push("the older tracepoints' programs");
                }
                let ways = if ways.is_empty() {
                    "no variant".to_string()
                } else {
                    ways.join(", ")
                };
                assert!(
                    line.contains(&format!("loads and attaches ({ways}): ")),
                    "{line}"
                );
            }
        }
        assert!(r.contains("\nvariant   calls in flight in "), "{r}");
    }

    /// Each feature's answer is what the kernel's release says it has: the
    /// release that brought it or a newer one (true of mainline kernels
    /// and Debian's, which ci/kernels boots; a distribution that backports
    /// one, RHEL 9's 5.14, would have it earlier), and a feature it lacks
    /// says what the programs do instead.
    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn features_are_what_this_kernels_release_has() {
        let r = super::report();
        let version = |s: &str| -> (u32, u32) {
            let mut it = s.split(|c: char| !c.is_ascii_digit());
            let major = it.next().and_then(|x| x.parse().ok()).expect("major");
            let minor = it.next().and_then(|x| x.parse().ok()).expect("minor");
            (major, minor)
        };
        let running = version(&super::release());
        for f in super::FEATURES {
            let line = r
                .lines()
                .find(|l| l.contains(&format!(" {:<26} Linux ", f.name)))
                .unwrap_or_else(|| panic!("no line for {}: {r}", f.name));
            let has = running >= version(f.since);
            let answer = if has { "yes " } else { "NO  " };
            assert!(
                line.get(10..).is_some_and(|l| l.starts_with(answer)),
                "{} on {}: {line}",
                f.name,
                super::release()
            );
            assert_eq!(!has, line.contains("(without it: "), "{}: {line}", f.name);
        }
    }

    #[test]
    fn a_refusal_says_the_verifiers_last_word() {
        let msg = "the kernel refused ebq's BPF programs (Bad address); the end of libbpf's log:\n  2455: (55) if r2 != 0x3d goto pc+3\n  The sequence of 8193 jumps is too complex.\n  processed 69942 insns (limit 1000000)\n  -- END PROG LOAD LOG --\n  libbpf: prog 'exec_done': failed to load: -EFAULT";
        assert_eq!(
            super::reason(msg),
            "the kernel refused ebq's BPF programs (Bad address); the end of libbpf's log The sequence of 8193 jumps is too complex."
        );
        assert_eq!(super::reason("no tracepoint x"), "no tracepoint x");
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<&str> = (0..10).map(|_| "p").collect();
        assert_eq!(super::shown(&names), "p, p, p, p, p, p, p, p and 2 more");
        assert_eq!(super::shown(&names[..2]), "p, p");
    }
}
