//! Checks before anything is loaded, each failing with one line that says
//! what is missing and what to do: privileges, BTF, the ring buffer, and
//! tracefs, which syscall tracepoints need and which ebq mounts itself when
//! it is absent (DESIGN.md: our machines boot without it).

use std::path::Path;

use crate::error::{Error, Result};

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

pub const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Effective capabilities of this process (CapEff in /proc/self/status).
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

pub fn check_privileges() -> Result<()> {
    let caps = effective_caps();
    let has = |c: u32| caps & (1 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    Err(Error::Kernel(
        "loading BPF programs needs root (or CAP_BPF and CAP_PERFMON): run ebq with sudo; ebq --explain works without".into(),
    ))
}

pub fn check_btf() -> Result<()> {
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Ok(());
    }
    Err(Error::Kernel(
        "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): ebq needs Linux 5.8 or newer built with CONFIG_DEBUG_INFO_BTF=y".into(),
    ))
}

pub fn check_ringbuf() -> Result<()> {
    // SAFETY: a plain libbpf probe: creates and closes a map, reads no
    // memory of ours (opts may be NULL).
    let ok = unsafe {
        libbpf_sys::libbpf_probe_bpf_map_type(libbpf_sys::BPF_MAP_TYPE_RINGBUF, std::ptr::null())
    };
    if ok == 1 {
        return Ok(());
    }
    Err(Error::Kernel(
        "this kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF): ebq needs Linux 5.8 or newer"
            .into(),
    ))
}

/// Makes sure tracefs is reachable where libbpf looks for tracepoint ids;
/// returns a note when ebq had to mount it.
pub fn ensure_tracefs() -> Result<Option<String>> {
    if Path::new(TRACEFS).join("events").is_dir()
        || Path::new(DEBUGFS_TRACING).join("events").is_dir()
    {
        return Ok(None);
    }
    nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| {
        Error::Kernel(format!(
            "tracefs is not mounted and mounting it at {TRACEFS} failed ({e}): mount it with `mount -t tracefs tracefs {TRACEFS}`"
        ))
    })?;
    Ok(Some(format!(
        "tracefs was not mounted: ebq mounted it at {TRACEFS}"
    )))
}

/// Whether tracefs is mounted, for --explain (which mounts nothing).
pub fn tracefs_mounted() -> bool {
    Path::new(TRACEFS).join("events").is_dir() || Path::new(DEBUGFS_TRACING).join("events").is_dir()
}

/// Where tracefs is mounted, if it is.
pub fn tracing_dir() -> Option<std::path::PathBuf> {
    [TRACEFS, DEBUGFS_TRACING]
        .iter()
        .map(Path::new)
        .find(|p| p.join("events").is_dir())
        .map(Path::to_path_buf)
}
