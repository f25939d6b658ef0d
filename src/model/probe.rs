//! Probe specs: one BPF program of a query and where it attaches, as data.
//!
//! The catalog names each table's programs as constants; the planner picks
//! the ones a query needs and owns them from then on (plan::KernelPlan),
//! so an attach target known only at run time (a uprobe on the binary the
//! user names, a cgroup found at start) is one more value of `Attach`, not
//! a special case in the loader. The loader (kernel/load.rs) attaches by
//! matching on `Attach`; --explain prints its Display.

use std::borrow::Cow;
use std::fmt;

/// Where a program attaches. Uprobes, cgroups and perf events are the
/// kinds the next tables need; the loader attaches each (kernel/load.rs)
/// and its root tests attach one of each (kernel/selftest.rs), but no
/// table of the catalog names one yet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub enum Attach {
    /// A tracefs event, category/name (tracepoint/syscalls/sys_enter_open):
    /// attached through a perf event, with the attachment's cookie.
    Tracepoint {
        category: Cow<'static, str>,
        name: Cow<'static, str>,
    },
    /// A raw tracepoint (raw_tp/sched_process_fork): the tracepoint's own
    /// arguments, typed by BTF.
    RawTracepoint { name: Cow<'static, str> },
    /// A uprobe or, with `ret`, a uretprobe on a function of a binary or
    /// library, in one process (`pid`) or in all.
    Uprobe {
        binary: Cow<'static, str>,
        target: UprobeTarget,
        pid: Option<i32>,
        ret: bool,
    },
    /// One uprobe_multi link (Linux 6.6): uprobes or, with `ret`,
    /// uretprobes at many file offsets of one binary, each with its
    /// cookie (offset, cookie).
    UprobeMulti {
        binary: Cow<'static, str>,
        /// The path --explain shows (`binary` may be a /proc/self/fd link).
        shown: Cow<'static, str>,
        offsets: Vec<(u64, u64)>,
        pid: Option<i32>,
        ret: bool,
    },
    /// A USDT probe (.note.stapsdt) of a binary by provider and name,
    /// attached by libbpf at each of its locations, with a cookie.
    Usdt {
        binary: Cow<'static, str>,
        /// The path --explain shows.
        shown: Cow<'static, str>,
        provider: Cow<'static, str>,
        name: Cow<'static, str>,
        pid: Option<i32>,
    },
    /// A cgroup attach point: the cgroup2 directory (empty: the cgroup2
    /// root, found when the run attaches); the hook (cgroup_skb egress,
    /// connect4 ...) is the program's section.
    Cgroup { path: Cow<'static, str> },
    /// A perf event (a software or hardware counter, sampling every
    /// `period` events), on one CPU or on every one.
    PerfEvent {
        kind: u32,
        config: u64,
        period: u64,
        cpu: Option<u32>,
    },
    /// Never attached: tail-called through the prog array `array`, from
    /// its slot `slot`.
    TailCall { array: &'static str, slot: u32 },
}

/// Where in a binary a uprobe goes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub enum UprobeTarget {
    /// A function by its symbol, plus an offset into it.
    Symbol(Cow<'static, str>, u64),
    /// A file offset.
    Offset(u64),
}

/// `s` from byte `from` up to byte `to`, in a const context (`from` and
/// `to` fall between ASCII bytes).
const fn slice(s: &'static str, from: usize, to: usize) -> &'static str {
    let (_, tail) = s.as_bytes().split_at(from);
    let (mid, _) = tail.split_at(to - from);
    match std::str::from_utf8(mid) {
        Ok(v) => v,
        Err(_) => panic!("an attach point splits at ASCII bytes"),
    }
}

/// Where `b` first is in `s` from byte `from`, or `s.len()`.
const fn find(s: &str, b: u8, from: usize) -> usize {
    let bytes = s.as_bytes();
    let mut i = from;
    while i < bytes.len() && bytes[i] != b {
        i += 1;
    }
    i
}

const fn starts_with(s: &str, p: &str) -> bool {
    let (s, p) = (s.as_bytes(), p.as_bytes());
    if s.len() < p.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if s[i] != p[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Attach {
    /// The attach point the catalog writes as libbpf names a section:
    /// "tracepoint/<category>/<name>" or "raw_tp/<name>". Read at compile
    /// time: a catalog entry of another shape does not build.
    pub const fn section(s: &'static str) -> Attach {
        if starts_with(s, "tracepoint/") {
            let from = "tracepoint/".len();
            let slash = find(s, b'/', from);
            assert!(slash < s.len(), "tracepoint/<category>/<name>");
            return Attach::Tracepoint {
                category: Cow::Borrowed(slice(s, from, slash)),
                name: Cow::Borrowed(slice(s, slash + 1, s.len())),
            };
        }
        if starts_with(s, "raw_tp/") {
            return Attach::RawTracepoint {
                name: Cow::Borrowed(slice(s, "raw_tp/".len(), s.len())),
            };
        }
        panic!("an attach point is tracepoint/<category>/<name> or raw_tp/<name>")
    }

    /// The tracefs event ("<category>/<name>") a tracepoint needs.
    pub fn tracepoint(&self) -> Option<String> {
        match self {
            Attach::Tracepoint { category, name } => Some(format!("{category}/{name}")),
            _ => None,
        }
    }
}

impl fmt::Display for Attach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attach::Tracepoint { category, name } => write!(f, "tracepoint/{category}/{name}"),
            Attach::RawTracepoint { name } => write!(f, "raw_tp/{name}"),
            Attach::Uprobe {
                binary,
                target,
                pid,
                ret,
            } => {
                write!(f, "{}/{binary}:", if *ret { "uretprobe" } else { "uprobe" })?;
                match target {
                    UprobeTarget::Symbol(s, 0) => write!(f, "{s}")?,
                    UprobeTarget::Symbol(s, off) => write!(f, "{s}+{off:#x}")?,
                    UprobeTarget::Offset(off) => write!(f, "{off:#x}")?,
                }
                match pid {
                    Some(p) => write!(f, " (pid {p})"),
                    None => Ok(()),
                }
            }
            Attach::UprobeMulti {
                shown,
                offsets,
                pid,
                ret,
                ..
            } => {
                let kind = if *ret {
                    "uretprobe.multi"
                } else {
                    "uprobe.multi"
                };
                write!(f, "{kind}/{shown}: {} offsets", offsets.len())?;
                match pid {
                    Some(p) => write!(f, " (pid {p})"),
                    None => Ok(()),
                }
            }
            Attach::Usdt {
                shown,
                provider,
                name,
                pid,
                ..
            } => {
                write!(f, "usdt/{shown}:{provider}:{name}")?;
                match pid {
                    Some(p) => write!(f, " (pid {p})"),
                    None => Ok(()),
                }
            }
            Attach::Cgroup { path } if path.is_empty() => f.write_str("cgroup (the cgroup2 root)"),
            Attach::Cgroup { path } => write!(f, "cgroup {path}"),
            Attach::PerfEvent {
                kind,
                config,
                period,
                cpu,
            } => {
                write!(f, "perf_event/{kind}:{config} every {period}")?;
                match cpu {
                    Some(c) => write!(f, " on cpu {c}"),
                    None => write!(f, " on every cpu"),
                }
            }
            Attach::TailCall { .. } => f.write_str("(tail call)"),
        }
    }
}

/// One BPF program of a table, and where this use of it attaches.
#[derive(Clone, Debug)]
pub struct Program {
    /// This attachment's name: --explain, --stats and the planner's tests
    /// say it.
    pub name: &'static str,
    /// The BPF program (the C function name): `name` unless several
    /// attachments share one program (`runs`), which is then loaded once.
    pub prog: &'static str,
    /// What bpf_get_attach_cookie() returns in the program at this
    /// attachment (how a shared program tells its tracepoints apart).
    pub cookie: u64,
    /// Where it attaches.
    pub attach: Attach,
    /// Values of the table's Probe column this program serves; empty:
    /// needed whatever the query says.
    pub tags: &'static [&'static str],
    /// Its "sent" counter in the stats map (EBQ_STAT_TABLE + n, from its
    /// table's header), for --stats.
    pub sent_stat: Option<u32>,
    /// Attached only when the plan captures these bits (enum ebq_capture).
    pub needs_capture: u32,
    /// Attached only when the plan captures one of these bits (0: no such
    /// condition).
    pub needs_any: u32,
    /// Attached only when the plan captures one of these bits (true) or
    /// none of them (false): a program and its twin without the capture
    /// code.
    pub capture_variant: Option<(u32, bool)>,
    /// The values of one integer column (filter slot, low, high) this
    /// program's rows can have: when the WHERE rules them all out, the
    /// program is not loaded (exec_done only reports exit_code 0, the exec
    /// exits only failures).
    pub reports: Option<(u32, i64, i64)>,
    /// The table still works without it (a syscall some kernels or
    /// architectures lack): when its tracepoint is missing it is left out
    /// with a note, instead of failing the run.
    pub optional: bool,
    /// The tracefs event ("<category>/<name>") a raw tracepoint program
    /// needs (a raw_tp section names none), for the check at load.
    pub event: Option<&'static str>,
    /// Attached only when this kernel lacks that tracefs event: the old
    /// kernels' way of what the program named there does.
    pub unless: Option<&'static str>,
}

impl Program {
    /// A program attached at `attach` (a section name: see
    /// `Attach::section`), counting what it sends in `sent`.
    pub const fn new(
        name: &'static str,
        attach: &'static str,
        tags: &'static [&'static str],
        sent: Option<u32>,
    ) -> Program {
        Program::at(name, Attach::section(attach), tags, sent)
    }

    /// A program attached at `attach`.
    pub const fn at(
        name: &'static str,
        attach: Attach,
        tags: &'static [&'static str],
        sent: Option<u32>,
    ) -> Program {
        Program {
            name,
            prog: name,
            cookie: 0,
            attach,
            tags,
            sent_stat: sent,
            optional: false,
            needs_capture: 0,
            needs_any: 0,
            capture_variant: None,
            reports: None,
            event: None,
            unless: None,
        }
    }

    /// A program the table's others tail-call from slot `slot` of
    /// `prog_array`; `tags` as those that call it, so it is pruned with
    /// them.
    pub const fn tail(
        name: &'static str,
        prog_array: &'static str,
        slot: u32,
        tags: &'static [&'static str],
    ) -> Program {
        Program::at(
            name,
            Attach::TailCall {
                array: prog_array,
                slot,
            },
            tags,
            None,
        )
    }

    /// This attachment runs the BPF program `prog`, shared with others,
    /// which read `cookie` with bpf_get_attach_cookie().
    pub const fn runs(mut self, prog: &'static str, cookie: u64) -> Program {
        self.prog = prog;
        self.cookie = cookie;
        self
    }

    /// Attached only when the plan captures one of `bits`.
    pub const fn capturing(mut self, bits: u32) -> Program {
        self.capture_variant = Some((bits, true));
        self
    }

    /// Attached only when the plan captures none of `bits`: the twin of a
    /// `capturing` program, built without its capture code (a smaller
    /// program loads faster).
    pub const fn bare(mut self, bits: u32) -> Program {
        self.capture_variant = Some((bits, false));
        self
    }

    pub const fn needs(mut self, capture: u32) -> Program {
        self.needs_capture = capture;
        self
    }

    /// Attached only when the plan captures one of `capture`.
    pub const fn needs_any(mut self, capture: u32) -> Program {
        self.needs_any = capture;
        self
    }

    /// Rows of this program have `col` (a filter slot) in lo..=hi only.
    pub const fn reports(mut self, col: u32, lo: i64, hi: i64) -> Program {
        self.reports = Some((col, lo, hi));
        self
    }

    pub const fn optional(mut self) -> Program {
        self.optional = true;
        self
    }

    /// The tracefs event of a raw tracepoint program, for the check at
    /// load (a tracepoint program's is its section's).
    pub const fn event(mut self, event: &'static str) -> Program {
        self.event = Some(event);
        self
    }

    /// Attached only where the kernel lacks the tracefs event `event`.
    pub const fn unless(mut self, event: &'static str) -> Program {
        self.unless = Some(event);
        self
    }

    /// The tracefs event ("<category>/<name>") a tracepoint program needs.
    pub fn tracepoint(&self) -> Option<String> {
        self.attach
            .tracepoint()
            .or_else(|| self.event.map(String::from))
    }

    /// The prog array and slot of a tail-called program.
    pub fn tail_of(&self) -> Option<(&'static str, u32)> {
        match self.attach {
            Attach::TailCall { array, slot } => Some((array, slot)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_as_their_kind_and_print_as_written() {
        for s in [
            "tracepoint/syscalls/sys_enter_openat",
            "raw_tp/sched_process_fork",
        ] {
            assert_eq!(Attach::section(s).to_string(), s);
        }
        assert_eq!(
            Attach::section("tracepoint/module/module_load"),
            Attach::Tracepoint {
                category: "module".into(),
                name: "module_load".into()
            }
        );
        assert_eq!(
            Program::tail("t", "arr", 1, &[]).tail_of(),
            Some(("arr", 1))
        );
    }

    #[test]
    fn run_time_targets_print_like_bpftrace() {
        let u = Attach::Uprobe {
            binary: "/bin/bash".into(),
            target: UprobeTarget::Symbol("readline".into(), 0),
            pid: None,
            ret: true,
        };
        assert_eq!(u.to_string(), "uretprobe//bin/bash:readline");
        let u = Attach::Uprobe {
            binary: String::from("/lib/libc.so.6").into(),
            target: UprobeTarget::Offset(0x1f00),
            pid: Some(42),
            ret: false,
        };
        assert_eq!(u.to_string(), "uprobe//lib/libc.so.6:0x1f00 (pid 42)");
        let c = Attach::Cgroup {
            path: "/sys/fs/cgroup/unified".into(),
        };
        assert_eq!(c.to_string(), "cgroup /sys/fs/cgroup/unified");
        let p = Attach::PerfEvent {
            kind: 1,
            config: 0,
            period: 1000,
            cpu: None,
        };
        assert_eq!(p.to_string(), "perf_event/1:0 every 1000 on every cpu");
    }
}
