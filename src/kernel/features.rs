//! What the running kernel's BPF offers that ebq's programs use, probed
//! once by asking the kernel (libbpf's probes create a map or load a
//! one-instruction program and close it), and what lacks which. A run says
//! a missing one in one line before loading anything, instead of the
//! verifier's or libbpf's log (ebq --check lists them all).
//!
//! Each feature names the kernel release that brought it, from the commit
//! that did; a distribution kernel may have it earlier (RHEL 9's 5.14 has
//! backports), which is why the kernel is asked rather than its version
//! compared.

use super::variants::Fallback;
use crate::error::{Error, KernelError, Result};

/// One thing the programs need of the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    pub name: &'static str,
    /// The mainline release that brought it (the commit is named above
    /// each entry).
    pub since: &'static str,
    /// What in ebq needs it.
    pub used_by: &'static str,
    /// The variant of the programs that does without it (the kernel's
    /// lack of it is then no reason a load fails): None, it is needed.
    pub fallback: Option<super::variants::Fallback>,
    probe: Probe,
}

#[derive(Debug, Clone, Copy)]
enum Probe {
    /// /sys/kernel/btf/vmlinux: the kernel's own BTF, for CO-RE.
    Btf,
    Map(libbpf_sys::bpf_map_type),
    /// A helper, as a tracepoint program calls it.
    Helper(libbpf_sys::bpf_func_id),
    /// A kind of link libbpf cannot probe without a program of its
    /// attach type: the kernel's release (major, minor) is compared.
    Release(u32, u32),
}

/// Everything the programs use, oldest first.
pub const FEATURES: [Feature; 7] = [
    // 341dfcf8d78e, btf: expose BTF info through sysfs
    Feature {
        name: "kernel BTF",
        since: "5.4",
        used_by: "every program (CO-RE: field offsets fixed at load)",
        fallback: None,
        probe: Probe::Btf,
    },
    // bpf: Implement BPF ring buffer and verifier support for it
    Feature {
        name: "ring buffer",
        since: "5.8",
        used_by: "every table's events",
        fallback: None,
        probe: Probe::Map(libbpf_sys::BPF_MAP_TYPE_RINGBUF),
    },
    // bpf: Implement task local storage
    Feature {
        name: "task storage",
        since: "5.11",
        used_by: "a syscall's entry noted for its exit (every table but signal_events)",
        fallback: Some(Fallback::TaskStorage),
        probe: Probe::Map(libbpf_sys::BPF_MAP_TYPE_TASK_STORAGE),
    },
    // bpf: Add bpf_get_current_task_btf helper
    Feature {
        name: "bpf_get_current_task_btf",
        since: "5.11",
        used_by: "the task storage lookups",
        fallback: Some(Fallback::TaskStorage),
        probe: Probe::Helper(libbpf_sys::BPF_FUNC_get_current_task_btf),
    },
    // bpf: Add bpf_get_attach_cookie() BPF helper to access bpf_cookie value
    Feature {
        name: "attach cookies",
        since: "5.15",
        used_by: "one program on several tracepoints (exec, file and socket calls)",
        fallback: Some(Fallback::Cookies),
        probe: Probe::Helper(libbpf_sys::BPF_FUNC_get_attach_cookie),
    },
    // e6f2dd0f8067, bpf: Add bpf_loop helper
    Feature {
        name: "bpf_loop",
        since: "5.17",
        used_by: "path walks, argument and environment copies",
        fallback: Some(Fallback::Loop),
        probe: Probe::Helper(libbpf_sys::BPF_FUNC_loop),
    },
    // 89ae89f53d20, bpf: Add multi uprobe link
    Feature {
        name: "uprobe_multi links",
        since: "6.6",
        used_by: "function_events: one link per binary, not one per function",
        fallback: Some(Fallback::UprobeMulti),
        probe: Probe::Release(6, 6),
    },
];

impl Feature {
    /// Whether this kernel has it; None when it cannot be told (the
    /// probes load BPF, which needs CAP_BPF or root).
    pub fn present(&self) -> Option<bool> {
        if !matches!(self.probe, Probe::Btf | Probe::Release(..))
            && super::preflight::check_privileges().is_err()
        {
            // Unprivileged, libbpf's probes answer wrong both ways (a map
            // refused with EPERM reads as unsupported), so none is asked.
            return None;
        }
        self.probe()
    }

    /// The probe's answer, asked without checking privileges first (the
    /// loader's, which needs them anyway).
    pub(super) fn probe(&self) -> Option<bool> {
        match self.probe {
            Probe::Btf => Some(std::path::Path::new("/sys/kernel/btf/vmlinux").exists()),
            Probe::Release(major, minor) => {
                let r = nix::sys::utsname::uname().ok()?;
                let r = r.release().to_string_lossy().into_owned();
                let mut it = r
                    .split(|c: char| !c.is_ascii_digit())
                    .map(|n| n.parse::<u32>().ok());
                match (it.next().flatten(), it.next().flatten()) {
                    (Some(a), Some(b)) => Some((a, b) >= (major, minor)),
                    _ => None,
                }
            }
            Probe::Map(t) => {
                // SAFETY: a plain libbpf probe: creates a map and closes
                // it, reading no memory of ours (opts may be NULL).
                let r = unsafe { libbpf_sys::libbpf_probe_bpf_map_type(t, std::ptr::null()) };
                answer(r)
            }
            Probe::Helper(h) => {
                // SAFETY: as above: loads a tiny program and closes it.
                let r = unsafe {
                    libbpf_sys::libbpf_probe_bpf_helper(
                        libbpf_sys::BPF_PROG_TYPE_TRACEPOINT,
                        h,
                        std::ptr::null(),
                    )
                };
                answer(r)
            }
        }
    }
}

/// libbpf's probe answer: 1 yes, 0 no, negative when it could not ask
/// (EPERM without privileges).
fn answer(r: i32) -> Option<bool> {
    match r {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    }
}

/// The first thing this kernel lacks that no variant of the programs does
/// without, as one line: what, since when, and what needs it. Asked when a
/// load failed (as root: the probes need it), so a run on a kernel that
/// has all pays nothing for it.
pub fn require() -> Result<()> {
    let missing: Vec<&Feature> = missing()
        .into_iter()
        .filter(|f| f.fallback.is_none())
        .collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let also = if missing.len() > 1 {
        let rest: Vec<String> = missing[1..]
            .iter()
            .map(|f| format!("{} ({})", f.name, f.since))
            .collect();
        format!(", and {}", rest.join(", "))
    } else {
        String::new()
    };
    Err(Error::Kernel(KernelError::Unsupported(format!(
        "this kernel ({}) lacks {} (Linux {}; used by {}){also}: ebq needs Linux {} or newer (ebq --check says what this kernel has)",
        release(),
        first.name,
        first.since,
        first.used_by,
        super::preflight::MIN_KERNEL
    ))))
}

/// What the probes say this kernel lacks, oldest first.
pub fn missing() -> Vec<&'static Feature> {
    FEATURES
        .iter()
        .filter(|f| f.present() == Some(false))
        .collect()
}

/// The running kernel's release (uname -r).
pub fn release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_says_since_when_and_what_needs_it() {
        let mut last = (0, 0);
        for f in FEATURES {
            let (major, minor) = f.since.split_once('.').expect("x.y");
            let v = (
                major.parse::<u32>().expect("major"),
                minor.parse::<u32>().expect("minor"),
            );
            assert!(v >= last, "{}: oldest first", f.name);
            last = v;
            assert!(!f.used_by.is_empty());
        }
        // The newest one that no variant does without is older than the
        // floor the docs state: the floor is what the tests run on.
        let floor = super::super::preflight::MIN_KERNEL;
        let needed = FEATURES.iter().rev().find(|f| f.fallback.is_none());
        let version = |s: &str| -> (u32, u32) {
            let (a, b) = s.split_once('.').expect("x.y");
            (a.parse().expect("major"), b.parse().expect("minor"))
        };
        assert!(version(needed.expect("some").since) <= version(floor));
        // Every newer one has its fallback.
        assert!(FEATURES
            .iter()
            .filter(|f| version(f.since) > version(floor))
            .all(|f| f.fallback.is_some()));
    }

    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn as_root_every_feature_is_asked_and_none_needed_is_missing() {
        // On every kernel the tests run on (5.10 and newer): each probe
        // answers, and what this kernel lacks has its fallback
        // (check.rs's tests compare the answers with the release).
        for f in FEATURES {
            assert!(f.present().is_some(), "{}", f.name);
        }
        assert!(missing().iter().all(|f| f.fallback.is_some()));
        assert!(require().is_ok());
    }
}
