//! ebq in a pid namespace of its own (`unshare --pid`, a container): the
//! kernel's programs number processes as the initial pid namespace does,
//! ebq and the /proc it sees in theirs. This turns ebq's own pid and the
//! -p tree's into the kernel's numbers, with the one program of
//! bpf/pidns.bpf.c run once through BPF_PROG_TEST_RUN. In the initial
//! namespace, the usual case, nothing is loaded: the numbers are the same.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::unix::fs::MetadataExt;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags};

use crate::abi::pidns_skel::PidnsSkelBuilder;
use crate::error::{Error, KernelError, Result};

/// The inode number of the initial pid namespace, fixed by the kernel
/// (include/linux/proc_ns.h, PROC_PID_INIT_INO).
const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// Whether ebq runs in a pid namespace other than the initial one.
pub fn in_child_namespace() -> bool {
    std::fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() != PROC_PID_INIT_INO)
}

/// Whether the /proc ebq sees numbers processes as ebq's own namespace
/// does (`unshare --pid --mount-proc`, a container), rather than as an
/// outer one (`unshare --pid` alone keeps the host's /proc, whose pids are
/// the kernel's already).
pub fn proc_is_own() -> bool {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
        == Some(std::process::id())
}

/// What the kernel calls ebq and the given pids of ebq's namespace.
pub struct HostPids {
    /// ebq's own pid in the initial namespace.
    pub own: u32,
    /// Each pid asked about that was found, to its host pid.
    pub pids: HashMap<u32, u32>,
}

fn err(what: &str, e: libbpf_rs::Error) -> Error {
    KernelError::failed(
        &format!("translating pids of ebq's pid namespace: {what}"),
        e,
    )
}

/// Translates `ns_pids` (pids as ebq's namespace numbers them) into the
/// kernel's, and finds ebq's own.
pub fn host_pids(ns_pids: &[u32]) -> Result<HostPids> {
    let mut storage = MaybeUninit::uninit();
    // Without bpf_loop, its compat build (variants.rs).
    crate::abi::use_compat(!super::variants::Variants::detect()?.bpf_loop);
    let mut open = PidnsSkelBuilder::default()
        .open(&mut storage)
        .map_err(|e| err("opening the helper", e))?;
    open.maps
        .ns_pids
        .set_max_entries(ns_pids.len().max(1) as u32)
        .map_err(|e| err("sizing its map", e))?;
    let skel = open.load().map_err(|e| err("loading the helper", e))?;
    for p in ns_pids {
        skel.maps
            .ns_pids
            .update(&p.to_ne_bytes(), &0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| err("filling its map", e))?;
    }
    skel.progs
        .pidns_resolve
        .test_run(libbpf_rs::ProgramInput::default())
        .map_err(|e| err("running the helper", e))?;
    let own = skel.maps.bss_data.as_deref().map_or(0, |b| b.self_tgid);
    if own == 0 {
        return Err(Error::Kernel(KernelError::Failed(
            "translating pids of ebq's pid namespace: the helper found no pid for ebq".into(),
        )));
    }
    let mut pids = HashMap::new();
    for p in ns_pids {
        let host = skel
            .maps
            .ns_pids
            .lookup(&p.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .and_then(|v| v.get(..4).and_then(|b| b.try_into().ok()))
            .map(u32::from_ne_bytes)
            .unwrap_or(0);
        if host != 0 {
            pids.insert(*p, host);
        }
    }
    Ok(HostPids { own, pids })
}
