//! Opening perf events for `Attach::PerfEvent` probes (kernel/load.rs):
//! perf_event_open(2) on one CPU, for every process, sampling every
//! `period` events; the BPF program is attached to the event's fd.

use std::os::fd::{FromRawFd, OwnedFd};

use libbpf_rs::libbpf_sys;

/// A sampling perf event of type `kind` (PERF_TYPE_SOFTWARE ...) and
/// `config` on `cpu`, for every process; None when the CPU is offline
/// (ENODEV: a possible CPU has no events while it is down).
pub fn open(kind: u32, config: u64, period: u64, cpu: u32) -> libbpf_rs::Result<Option<OwnedFd>> {
    // SAFETY: perf_event_attr is plain integers, bitfields and unions of
    // integers: all zeroes is a valid value (and the kernel's default).
    let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = kind;
    attr.size = std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32;
    attr.config = config;
    attr.__bindgen_anon_1.sample_period = period;
    let cpu = i32::try_from(cpu).map_err(|_| invalid())?;
    // SAFETY: attr outlives the call; pid -1 with a CPU is "every process
    // on that CPU" (perf_event_open(2)); no group fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1,
            cpu,
            -1,
            libbpf_sys::PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENODEV) {
            return Ok(None);
        }
        return Err(e.into());
    }
    let fd = i32::try_from(fd).map_err(|_| invalid())?;
    // SAFETY: the kernel just gave us this fd; nothing else owns it.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn invalid() -> libbpf_rs::Error {
    std::io::Error::from(std::io::ErrorKind::InvalidInput).into()
}
