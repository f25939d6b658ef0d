//! One decoded ring buffer record: the common header and the table's own
//! part, borrowed from the ring buffer. The catalog's column getters read
//! columns from it on demand, so a column the query does not use costs
//! nothing.
//!
//! Records come from the kernel and are checked before use: a record shorter
//! than its struct, or whose lengths point past its end, is an error, not a
//! panic or a read out of bounds.
//!
//! Each record decoded gets the next number of the run as its `eid`
//! (osquery's event id): unique and increasing in the order the ring
//! buffer delivers records, counted before the userspace filter, so the
//! rows shown may skip numbers. It is userspace's, so it is not in the
//! kernel's header (no bytes of it cross the ring buffer).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::abi::types::{
    ebq_event_kind, ebq_exec_event, ebq_exit_event, ebq_file_event, ebq_header, ebq_module_event,
    ebq_signal_event, ebq_socket_event, ebq_syscall_event,
};

/// The last event id given (Record::decode).
static LAST_EID: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds to add to a boot-clock timestamp to get unix time.
pub type BootOffset = i128;

pub struct Record<'a> {
    pub hdr: ebq_header,
    /// This run's number for the record (0 for a kernel aggregate's key).
    pub eid: u64,
    pub boot_offset: BootOffset,
    pub event: Event<'a>,
}

pub enum Event<'a> {
    Exec(Exec<'a>),
    Exit(ebq_exit_event),
    Signal(ebq_signal_event),
    Socket(Box<ebq_socket_event>),
    File(File<'a>),
    Module(Module<'a>),
    Syscall(Box<ebq_syscall_event>),
}

pub struct Module<'a> {
    pub e: Box<ebq_module_event>,
    /// The walked path of finit_module's file (exec/paths.rs).
    pub path: &'a [u8],
}

pub struct File<'a> {
    pub e: ebq_file_event,
    /// The syscall's name.
    pub syscall: &'static str,
    /// Walked (EBQ_FILE_PATH_WALKED), else as written.
    pub path: &'a [u8],
    /// The walked base of a relative path as written.
    pub path_base: &'a [u8],
    pub dest: &'a [u8],
    pub dest_base: &'a [u8],
    /// The path as written, when `path` is walked.
    pub req: &'a [u8],
}

/// enum ebq_file_sys, in order from EBQ_FS_OPEN (100).
pub const FILE_SYSCALLS: [&str; 23] = [
    "open",
    "openat",
    "openat2",
    "creat",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "chmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "lchown",
    "fchownat",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "truncate",
];

pub struct Exec<'a> {
    pub e: ebq_exec_event,
    /// Walked (EBQ_EXEC_PATH_WALKED), else as written.
    pub path: &'a [u8],
    pub args: &'a [u8],
    /// Walked.
    pub cwd: &'a [u8],
    /// Walked: execveat's dirfd, for a relative path as written.
    pub base: &'a [u8],
    pub ld_preload: &'a [u8],
    /// The path as written, when `path` is walked.
    pub req: &'a [u8],
    /// Walked: the interpreter the kernel ran.
    pub interp: &'a [u8],
    /// The environment block, NUL-separated (EBQ_EXEC_HAS_ENVBLOCK).
    pub env: &'a [u8],
}

impl Exec<'_> {
    /// Reads as an exec with nothing captured.
    pub const EMPTY: Exec<'static> = Exec {
        e: ebq_exec_event {
            h: ebq_header {
                ktime_ns: 0,
                cgroup_id: 0,
                kind: 0,
                pid: 0,
                tid: 0,
                ppid: 0,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                auid: 0,
                ns_pid: 0,
                comm: [0; 16],
                suid: 0,
                sgid: 0,
                fsuid: 0,
                fsgid: 0,
            },
            duration_ns: 0,
            exit_code: 0,
            syscall: 0,
            argc: 0,
            flags: 0,
            path_len: 0,
            args_len: 0,
            cwd_len: 0,
            base_len: 0,
            ld_preload_len: 0,
            req_len: 0,
            interp_len: 0,
            env_len: 0,
            cmdline_size: 0,
            env_size: 0,
            env_count: 0,
            mode: 0,
            owner_uid: 0,
            owner_gid: 0,
        },
        path: &[],
        args: &[],
        cwd: &[],
        base: &[],
        ld_preload: &[],
        req: &[],
        interp: &[],
        env: &[],
    };
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Short { kind: u32, len: usize },
    UnknownKind(u32),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Short { kind, len } => {
                write!(f, "kernel record of kind {kind} is too short ({len} bytes)")
            }
            DecodeError::UnknownKind(k) => write!(f, "kernel record of unknown kind {k}"),
        }
    }
}

// SAFETY: generated from the C structs in bpf/ebq.h: plain integers and byte
// arrays with explicit padding, valid for every bit pattern.
unsafe impl plain::Plain for ebq_header {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_exec_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_exit_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_signal_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_socket_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_file_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_module_event {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_syscall_event {}

/// Splits `rest` into fields of the given lengths, or fails when they run
/// past the end of the record.
fn fields<const N: usize>(
    mut rest: &[u8],
    lens: [u16; N],
    kind: u32,
    total: usize,
) -> Result<[&[u8]; N], DecodeError> {
    let mut out: [&[u8]; N] = [&[]; N];
    for (o, n) in out.iter_mut().zip(lens) {
        let n = usize::from(n);
        if n > rest.len() {
            return Err(DecodeError::Short { kind, len: total });
        }
        let (a, b) = rest.split_at(n);
        *o = a;
        rest = b;
    }
    Ok(out)
}

fn read<T: plain::Plain + Default>(bytes: &[u8], kind: u32) -> Result<T, DecodeError> {
    let mut v = T::default();
    plain::copy_from_bytes(&mut v, bytes).map_err(|_| DecodeError::Short {
        kind,
        len: bytes.len(),
    })?;
    Ok(v)
}

impl<'a> Record<'a> {
    pub fn decode(bytes: &'a [u8], boot_offset: BootOffset) -> Result<Self, DecodeError> {
        let hdr: ebq_header = read(bytes, 0)?;
        let event = match ebq_event_kind(hdr.kind) {
            ebq_event_kind::EBQ_EV_EXEC => {
                let e: ebq_exec_event = read(bytes, hdr.kind)?;
                let rest = &bytes[std::mem::size_of::<ebq_exec_event>()..];
                // In the order the programs write them.
                let lens = [
                    e.path_len,
                    e.interp_len,
                    e.req_len,
                    e.args_len,
                    e.cwd_len,
                    e.base_len,
                    e.ld_preload_len,
                    e.env_len,
                ];
                let [path, interp, req, args, cwd, base, ld_preload, env] =
                    fields(rest, lens, hdr.kind, bytes.len())?;
                Event::Exec(Exec {
                    e,
                    path,
                    args,
                    cwd,
                    base,
                    ld_preload,
                    req,
                    interp,
                    env,
                })
            }
            ebq_event_kind::EBQ_EV_EXIT => Event::Exit(read(bytes, hdr.kind)?),
            ebq_event_kind::EBQ_EV_SIGNAL => Event::Signal(read(bytes, hdr.kind)?),
            ebq_event_kind::EBQ_EV_SOCKET => Event::Socket(Box::new(read(bytes, hdr.kind)?)),
            ebq_event_kind::EBQ_EV_FILE => {
                let e: ebq_file_event = read(bytes, hdr.kind)?;
                let rest = &bytes[std::mem::size_of::<ebq_file_event>()..];
                // In the order the programs write them.
                let [path, req, path_base, dest, dest_base] = fields(
                    rest,
                    [
                        e.path_len,
                        e.req_len,
                        e.path_base_len,
                        e.dest_len,
                        e.dest_base_len,
                    ],
                    hdr.kind,
                    bytes.len(),
                )?;
                let syscall = e
                    .syscall
                    .checked_sub(100)
                    .and_then(|i| FILE_SYSCALLS.get(i as usize))
                    .copied()
                    .unwrap_or("unknown");
                Event::File(File {
                    e,
                    syscall,
                    path,
                    path_base,
                    dest,
                    dest_base,
                    req,
                })
            }
            ebq_event_kind::EBQ_EV_MODULE => {
                let e: ebq_module_event = read(bytes, hdr.kind)?;
                let rest = &bytes[std::mem::size_of::<ebq_module_event>()..];
                let [path] = fields(rest, [e.path_len], hdr.kind, bytes.len())?;
                Event::Module(Module {
                    e: Box::new(e),
                    path,
                })
            }
            ebq_event_kind::EBQ_EV_SYSCALL => Event::Syscall(Box::new(read(bytes, hdr.kind)?)),
            _ => return Err(DecodeError::UnknownKind(hdr.kind)),
        };
        Ok(Record {
            eid: LAST_EID.fetch_add(1, Ordering::Relaxed) + 1,
            hdr,
            boot_offset,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_records_are_errors() {
        assert!(matches!(
            Record::decode(&[0u8; 8], 0),
            Err(DecodeError::Short { .. })
        ));
        let mut buf = vec![0u8; std::mem::size_of::<ebq_exec_event>()];
        buf[16] = 99; // kind
        assert!(matches!(
            Record::decode(&buf, 0),
            Err(DecodeError::UnknownKind(99))
        ));
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut e = ebq_exec_event::default();
        e.h.kind = ebq_event_kind::EBQ_EV_EXEC.0;
        e.path_len = 10;
        // SAFETY: ebq_exec_event is Plain (see above): any bytes are valid.
        let bytes = unsafe { plain::as_bytes(&e) }.to_vec();
        assert!(Record::decode(&bytes, 0).is_err());
        let mut ok = bytes.clone();
        ok.extend_from_slice(b"/bin/true\0");
        let r = Record::decode(&ok, 0).expect("decodes");
        let Event::Exec(x) = r.event else {
            panic!("an exec")
        };
        assert_eq!(x.path, b"/bin/true\0");
    }
}
