//! The programs' ways for kernels older than their fast path needs, chosen
//! at load from what this kernel offers (features.rs probes it) and
//! written into the configuration (cfg.variants, enum ebq_variant in
//! bpf/ebq.h), so the verifier cuts the way not taken:
//!
//! - **task storage** (Linux 5.11): without it, the `inflight` map (a
//!   syscall's entry noted for its exit, bpf/common.bpf.h) becomes an LRU
//!   hash keyed by thread id, retyped here before load;
//! - **attach cookies** (Linux 5.15): without them, a program that serves
//!   several syscalls' tracepoints (catalog: `Program::runs`) tells them
//!   apart by the record's syscall number, mapped to the cookie each
//!   attachment would have had (cfg.cookie_of_nr, filled from the plan's
//!   probes and this architecture's syscall table, the syscalls crate), and
//!   attaches without one;
//! - **bpf_loop** (Linux 5.17): without it, the programs come from the
//!   compat object (bpf/ebq.bpf.c built again with EBQ_COMPAT, embedded
//!   beside the main one: src/abi.rs), whose loops are bounded loops of
//!   global functions (bpf/steps.bpf.h). Not a branch of one program: a
//!   kernel before 5.17 refuses a program that names bpf_loop's callback
//!   at all, run or not. Same steps, same bounds: the same rows.
//!
//! - **newer tracepoints** (block:block_io_start, Linux 6.5): without one,
//!   the programs that stand in for it (catalog: `Program::unless`) are
//!   attached instead (block I/O's issuer noted by bio, not by request).
//!
//! `EBQ_FORCE_FALLBACK=task_storage,cookies,bpf_loop` (or `all`) takes the
//! old kernels' ways on a kernel that has them all, so the tests check
//! their rows here.

use std::sync::OnceLock;

use super::features::FEATURES;
use crate::abi::types::{ebq_filter_config, ebq_variant};
use crate::error::{Error, KernelError, Result};
use crate::model::probe::{Attach, Program};

/// What a variant of the programs stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    TaskStorage,
    Cookies,
    Loop,
    UprobeMulti,
    Tracepoints,
}

impl Fallback {
    const ALL: [Fallback; 5] = [
        Fallback::TaskStorage,
        Fallback::Cookies,
        Fallback::Loop,
        Fallback::UprobeMulti,
        Fallback::Tracepoints,
    ];

    /// What the programs do instead, for --check.
    pub fn instead(self) -> &'static str {
        match self {
            Fallback::TaskStorage => "calls in flight in an LRU hash by thread id",
            Fallback::Cookies => "shared programs tell syscalls apart by number",
            Fallback::Loop => "the compat object: loops bounded, as global functions",
            Fallback::UprobeMulti => "one uprobe link per function",
            Fallback::Tracepoints => "the older tracepoints' programs",
        }
    }

    /// Its name in EBQ_FORCE_FALLBACK.
    pub fn name(self) -> &'static str {
        match self {
            Fallback::TaskStorage => "task_storage",
            Fallback::Cookies => "cookies",
            Fallback::Loop => "bpf_loop",
            Fallback::UprobeMulti => "uprobe_multi",
            Fallback::Tracepoints => "tracepoints",
        }
    }
}

/// The environment variable that forces fallbacks (comma-separated names).
pub const FORCE_ENV: &str = "EBQ_FORCE_FALLBACK";

/// Entries of the `inflight` hash that stands in for task storage: one per
/// thread inside a traced syscall at once. PID_MAX_DEFAULT
/// (include/linux/threads.h), the most threads a host with the default
/// pid_max can have at all. An LRU hash is preallocated (~128 bytes an
/// entry: 4 MiB); on a host with more threads in traced calls at once the
/// oldest entries go (those rows are lost), never more memory, and an entry
/// a thread left behind (it died inside its call) goes the same way.
pub const INFLIGHT_THREADS: u32 = 32768;

/// The programs' ways on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variants {
    /// In-flight calls in task storage (else the LRU hash by thread id).
    pub task_storage: bool,
    /// Shared programs read their attach cookie (else the syscall number).
    pub cookies: bool,
    /// The main object, whose loops are bpf_loop's (else the compat one).
    pub bpf_loop: bool,
    /// function_events' probes of a binary in one uprobe_multi link (else
    /// one link per function).
    pub uprobe_multi: bool,
    /// Newer tracepoints are used where the kernel has them (else, forced,
    /// the programs that stand in for them on older kernels).
    pub new_tracepoints: bool,
    /// Whether the old ways were forced (EBQ_FORCE_FALLBACK).
    pub forced: bool,
}

impl Variants {
    /// This kernel's, probed once per process; EBQ_FORCE_FALLBACK on top.
    pub fn detect() -> Result<Variants> {
        static PROBED: OnceLock<(bool, bool, bool, bool)> = OnceLock::new();
        let forced = forced()?;
        let &(task_storage, cookies, bpf_loop, multi) = PROBED.get_or_init(|| {
            let has = |fb: Fallback| {
                // A probe that cannot answer (None) is taken as yes: the
                // fast way, whose load then says what is wrong.
                FEATURES
                    .iter()
                    .filter(|f| f.fallback == Some(fb))
                    .all(|f| f.probe() != Some(false))
            };
            (
                has(Fallback::TaskStorage),
                has(Fallback::Cookies),
                has(Fallback::Loop),
                has(Fallback::UprobeMulti),
            )
        });
        Ok(Variants {
            task_storage: task_storage && !forced.contains(&Fallback::TaskStorage),
            cookies: cookies && !forced.contains(&Fallback::Cookies),
            bpf_loop: bpf_loop && !forced.contains(&Fallback::Loop),
            uprobe_multi: multi && !forced.contains(&Fallback::UprobeMulti),
            new_tracepoints: !forced.contains(&Fallback::Tracepoints),
            forced: !forced.is_empty(),
        })
    }

    /// cfg.variants' bits.
    pub fn bits(&self) -> u8 {
        let mut b: u32 = 0;
        if !self.task_storage {
            b |= ebq_variant::EBQ_V_INFLIGHT_HASH.0;
        }
        if !self.cookies {
            b |= ebq_variant::EBQ_V_NO_COOKIES.0;
        }
        b as u8
    }

    /// One line: which ways the programs take.
    pub fn describe(&self) -> String {
        let inflight = if self.task_storage {
            "calls in flight in task storage"
        } else {
            "calls in flight in an LRU hash by thread id (no task storage)"
        };
        let cookies = if self.cookies {
            "shared programs by attach cookie"
        } else {
            "shared programs by syscall number (no attach cookies)"
        };
        let loops = if self.bpf_loop {
            "loops by bpf_loop"
        } else {
            "loops bounded, in the compat object (no bpf_loop)"
        };
        let uprobes = if self.uprobe_multi {
            "uprobes by uprobe_multi"
        } else {
            "one uprobe link per function (no uprobe_multi)"
        };
        let forced = if self.forced {
            format!(" [forced by {FORCE_ENV}]")
        } else {
            String::new()
        };
        let tracepoints = if self.new_tracepoints {
            ""
        } else {
            "; the older tracepoints' programs"
        };
        format!("{inflight}; {cookies}; {loops}; {uprobes}{tracepoints}{forced}")
    }

    /// What of this applies to a table of these programs, for --check:
    /// its in-flight calls if an entry notes one (a syscall entry
    /// tracepoint), its cookies if programs are shared.
    pub fn of_table(&self, programs: &[Program]) -> String {
        let notes = programs.iter().any(|p| {
            matches!(&p.attach, Attach::Tracepoint { category, name }
                if (category == "syscalls" && name.starts_with("sys_enter_"))
                    || (category == "raw_syscalls" && name == "sys_enter"))
        });
        let uprobe = |p: &Program| {
            matches!(
                p.attach,
                Attach::Uprobe { .. } | Attach::UprobeMulti { .. } | Attach::Usdt { .. }
            )
        };
        let shares = programs.iter().any(|p| p.prog != p.name && !uprobe(p));
        let mut ways = Vec::new();
        if notes {
            ways.push(if self.task_storage {
                "in flight: task storage"
            } else {
                "in flight: LRU hash by tid"
            });
        }
        if shares {
            ways.push(if self.cookies {
                "shared programs: attach cookie"
            } else {
                "shared programs: syscall number"
            });
        }
        if programs.iter().any(uprobe) {
            ways.push(if self.uprobe_multi {
                "uprobes: uprobe_multi"
            } else {
                "uprobes: a link per function"
            });
        }
        if !self.bpf_loop {
            ways.push("compat object (bounded loops)");
        }
        if !self.new_tracepoints && programs.iter().any(|p| p.unless.is_some()) {
            ways.push("the older tracepoints' programs");
        }
        if ways.is_empty() {
            "no variant".into()
        } else {
            ways.join(", ")
        }
    }

    /// Writes the variants into the configuration: their bits and, without
    /// cookies, the cookie each shared program's attachment would have had,
    /// by its syscall's number.
    pub fn configure(&self, cfg: &mut ebq_filter_config, programs: &[Program]) -> Result<()> {
        cfg.variants = self.bits();
        if !self.cookies {
            cfg.cookie_of_nr = cookies_by_nr(programs)?;
        }
        Ok(())
    }
}

/// The names EBQ_FORCE_FALLBACK lists (`all` is both).
fn forced() -> Result<Vec<Fallback>> {
    let Some(v) = std::env::var_os(FORCE_ENV) else {
        return Ok(Vec::new());
    };
    let v = v.to_string_lossy();
    let mut out = Vec::new();
    for word in v.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word == "all" {
            out.extend(Fallback::ALL);
            continue;
        }
        match Fallback::ALL.iter().find(|f| f.name() == word) {
            Some(f) => out.push(*f),
            None => {
                return Err(Error::Usage(format!(
                    "{FORCE_ENV}: unknown fallback {word:?} (known: task_storage, cookies, bpf_loop, uprobe_multi, tracepoints, all)"
                )))
            }
        }
    }
    Ok(out)
}

/// cfg.cookie_of_nr for these probes: each shared program's attachment
/// (the others read no cookie) must be a syscall's tracepoint, whose
/// record names the syscall, and two attachments of one syscall must have
/// the same cookie.
pub fn cookies_by_nr(programs: &[Program]) -> Result<[u8; 1024]> {
    let mut table = [0u8; 1024];
    let mut set = [false; 1024];
    for p in programs.iter().filter(|p| p.prog != p.name) {
        let nr = match &p.attach {
            Attach::Tracepoint { category, name } if category == "syscalls" => name
                .strip_prefix("sys_enter_")
                .or_else(|| name.strip_prefix("sys_exit_"))
                .and_then(crate::catalog::syscall::syscall_number),
            _ => None,
        };
        let Some(nr) = nr.and_then(|n| usize::try_from(n).ok()) else {
            return Err(Error::Kernel(KernelError::Unsupported(format!(
                "{} at {} needs attach cookies (Linux 5.15): its record has no syscall number to tell it by",
                p.prog, p.attach
            ))));
        };
        let cookie = u8::try_from(p.cookie).map_err(|_| {
            Error::Internal(format!("{}'s cookie {} is over 255", p.name, p.cookie))
        })?;
        let slot = table
            .get_mut(nr)
            .ok_or_else(|| Error::Internal(format!("{}: syscall number {nr}", p.name)))?;
        if set[nr] && *slot != cookie {
            return Err(Error::Internal(format!(
                "two cookies for syscall {nr}: {} and {cookie} ({})",
                *slot, p.name
            )));
        }
        *slot = cookie;
        set[nr] = true;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_program_has_its_cookie_by_syscall_number() {
        // Each table's programs, as a query reading them all attaches
        // them: the fallback table is built for every one.
        let mut checked = 0;
        for t in crate::catalog::TABLES {
            let table = cookies_by_nr(t.programs).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            for p in t.programs.iter().filter(|p| p.prog != p.name) {
                let name = p.tracepoint().expect("a tracepoint");
                let sys = name
                    .rsplit_once("sys_enter_")
                    .or(name.rsplit_once("sys_exit_"));
                let nr = crate::catalog::syscall::syscall_number(sys.expect("a syscall").1)
                    .expect("a number");
                assert_eq!(u64::from(table[nr as usize]), p.cookie, "{}", p.name);
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_numbers_are_this_architectures() {
        // x86_64's table (arch/x86/entry/syscalls/syscall_64.tbl).
        let nr = crate::catalog::syscall::syscall_number;
        assert_eq!(nr("execve"), Some(59));
        assert_eq!(nr("execveat"), Some(322));
        assert_eq!(nr("openat"), Some(257));
        assert_eq!(nr("accept4"), Some(288));
    }

    #[test]
    fn bits_say_what_is_missing() {
        let new = Variants {
            task_storage: true,
            cookies: true,
            bpf_loop: true,
            uprobe_multi: true,
            new_tracepoints: true,
            forced: false,
        };
        assert_eq!(new.bits(), 0);
        let old = Variants {
            task_storage: false,
            cookies: false,
            bpf_loop: false,
            uprobe_multi: false,
            new_tracepoints: false,
            forced: false,
        };
        assert_eq!(
            u32::from(old.bits()),
            ebq_variant::EBQ_V_INFLIGHT_HASH.0 | ebq_variant::EBQ_V_NO_COOKIES.0
        );
        assert!(old.describe().contains("no task storage"));
        assert!(old.describe().contains("compat object (no bpf_loop)"));
        assert!(new
            .describe()
            .ends_with("loops by bpf_loop; uprobes by uprobe_multi"));
        assert!(old.describe().contains("one uprobe link per function"));
    }
}
