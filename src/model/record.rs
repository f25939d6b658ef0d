//! One ring buffer record: the common header, the table's own struct and
//! the variable-length fields after it, borrowed from the ring buffer. The
//! catalog's column getters read columns from it on demand, so a column the
//! query does not use costs nothing.
//!
//! A record knows no table: each table says how its records are laid out
//! (`Layout`: the size of its struct, in bpf/<table>.h, and the lengths of
//! the fields that follow it) and reads its own struct back (`Record::get`),
//! in its own file under src/catalog/. A new table adds no case here.
//!
//! Records come from the kernel and are checked before use: a record shorter
//! than its struct, of another kind than the table's, or whose lengths
//! point past its end, is an error, not a panic or a read out of bounds.
//!
//! Each record decoded gets the next number of the run as its `eid`
//! (osquery's event id): unique and increasing in the order the ring
//! buffer delivers records, counted before the userspace filter, so the
//! rows shown may skip numbers. It is userspace's, so it is not in the
//! kernel's header (no bytes of it cross the ring buffer).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::abi::types::ebq_header;

/// The last event id given (Record::decode).
static LAST_EID: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds to add to a boot-clock timestamp to get unix time.
pub type BootOffset = i128;

/// The largest struct a table's records start with (asserted by
/// `Layout::of` at compile time).
pub const FIXED_MAX: usize = 512;
/// The most variable-length fields a record carries after its struct.
pub const FIELDS_MAX: usize = 10;

/// A table's struct in 8-aligned bytes, when it is not read in place.
#[derive(Clone)]
#[repr(C, align(8))]
struct Fixed([u8; FIXED_MAX]);

/// What a struct reads as where it is not there: zeros.
static ZEROS: Fixed = Fixed([0; FIXED_MAX]);

/// Where a record's struct is: in place in the ring buffer (its records
/// are 8-aligned: BPF_RINGBUF_HDR_SZ and the record lengths are multiples
/// of 8), or copied (a kernel aggregate's key, a misaligned buffer).
#[derive(Clone)]
enum Body<'a> {
    InPlace(&'a [u8]),
    Copied(Box<Fixed>),
}

/// What userspace made of a record's bytes, for a table whose rows are
/// not one per record (a DNS message parsed from a packet: src/model/stream.rs).
pub type Derived = std::sync::Arc<dyn std::any::Any + Send + Sync>;

#[derive(Clone)]
pub struct Record<'a> {
    pub hdr: ebq_header,
    /// No task is known for the row (a packet of a socket whose owner
    /// was never seen): the columns read from the task (`Column::task`)
    /// are NULL, whatever the header holds.
    pub anonymous: bool,
    /// The row's share of what its table's stream made of the record.
    pub derived: Option<Derived>,
    /// This run's number for the record (0 for a kernel aggregate's key).
    pub eid: u64,
    pub boot_offset: BootOffset,
    body: Body<'a>,
    /// The row's cgroup as userspace resolved it, when the query reads a
    /// column of it (Column::cgroup); None otherwise.
    pub cgroup: Option<std::sync::Arc<super::cgroup::CgroupInfo>>,
    /// The variable-length fields after the struct, in the order of the
    /// table's `Layout::lens`.
    pub fields: [&'a [u8]; FIELDS_MAX],
}

/// How a table's records are laid out: the struct they start with (which
/// starts with the header), and the lengths of the fields that follow it.
#[derive(Clone, Copy)]
pub struct Layout {
    pub size: usize,
    /// The fields' lengths, read from the struct (unused ones 0).
    pub lens: fn(&Record) -> [u16; FIELDS_MAX],
    /// The record is about no known task (`Record::anonymous`): a block
    /// I/O whose submission ebq did not see.
    pub anonymous: fn(&Record) -> bool,
}

impl Layout {
    /// Records of struct `T` followed by the fields `lens` gives.
    pub const fn of<T: plain::Plain>(lens: fn(&Record) -> [u16; FIELDS_MAX]) -> Layout {
        assert!(std::mem::size_of::<T>() <= FIXED_MAX);
        assert!(std::mem::align_of::<T>() <= 8);
        assert!(std::mem::size_of::<T>() >= std::mem::size_of::<ebq_header>());
        Layout {
            size: std::mem::size_of::<T>(),
            lens,
            anonymous: |_| false,
        }
    }

    /// Records for which `f` says true have no known task.
    pub const fn anonymous_when(mut self, f: fn(&Record) -> bool) -> Layout {
        self.anonymous = f;
        self
    }

    /// Records of struct `T` alone.
    pub const fn fixed<T: plain::Plain>() -> Layout {
        Layout::of::<T>(|_| [0; FIELDS_MAX])
    }
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

// SAFETY: generated from the C struct in bpf/ebq.h: plain integers and byte
// arrays with explicit padding, valid for every bit pattern.
unsafe impl plain::Plain for ebq_header {}

/// Declares generated ABI structs (bpf/<table>.h) plain old data, for
/// `Layout::of` and `Record::get`.
#[macro_export]
macro_rules! plain_abi {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: generated from a C struct under bpf/, whose rules
            // (bpf/ebq.h) are fixed-width integers and byte arrays with
            // explicit padding: valid for every bit pattern.
            unsafe impl plain::Plain for $t {}
        )*
    };
}

impl<'a> Record<'a> {
    /// Decodes a record of the table whose records are laid out as
    /// `layout` and carry `kind` (cfg.kind) in their header.
    pub fn decode(
        bytes: &'a [u8],
        boot_offset: BootOffset,
        layout: &Layout,
        kind: u32,
    ) -> Result<Self, DecodeError> {
        let mut hdr = ebq_header::default();
        plain::copy_from_bytes(&mut hdr, bytes).map_err(|_| DecodeError::Short {
            kind: 0,
            len: bytes.len(),
        })?;
        if hdr.kind != kind {
            return Err(DecodeError::UnknownKind(hdr.kind));
        }
        let (fixed, mut rest) = bytes
            .split_at_checked(layout.size)
            .ok_or(DecodeError::Short {
                kind,
                len: bytes.len(),
            })?;
        let mut r = Record::new(hdr, fixed);
        r.boot_offset = boot_offset;
        for (i, n) in (layout.lens)(&r).into_iter().enumerate() {
            let (a, b) = rest
                .split_at_checked(usize::from(n))
                .ok_or(DecodeError::Short {
                    kind,
                    len: bytes.len(),
                })?;
            r.fields[i] = a;
            rest = b;
        }
        r.anonymous = (layout.anonymous)(&r);
        r.eid = LAST_EID.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(r)
    }

    fn new(hdr: ebq_header, fixed: &'a [u8]) -> Record<'a> {
        let body = if fixed.as_ptr().align_offset(8) == 0 {
            Body::InPlace(fixed)
        } else {
            Body::Copied(copied(fixed))
        };
        Record {
            hdr,
            anonymous: false,
            derived: None,
            eid: 0,
            boot_offset: 0,
            body,
            cgroup: None,
            fields: [&[]; FIELDS_MAX],
        }
    }

    /// A record made of a table's struct alone (a kernel aggregate's key,
    /// tests), with no variable-length fields.
    pub fn of<T: plain::Plain>(hdr: ebq_header, v: &T) -> Record<'static> {
        // SAFETY: T is Plain: its bytes are plain data.
        let bytes = unsafe { plain::as_bytes(v) };
        let mut f = copied(bytes);
        // The struct's own header is the one given.
        // SAFETY: ebq_header is Plain.
        let h = unsafe { plain::as_bytes(&hdr) };
        let n = h.len().min(bytes.len()).min(FIXED_MAX);
        f.0[..n].copy_from_slice(&h[..n]);
        Record {
            hdr,
            anonymous: false,
            derived: None,
            eid: 0,
            boot_offset: 0,
            body: Body::Copied(f),
            cgroup: None,
            fields: [&[]; FIELDS_MAX],
        }
    }

    /// This record, numbered as the run's next (a row a stream makes
    /// without a record of its own: a query that timed out).
    pub fn numbered(mut self) -> Self {
        self.eid = LAST_EID.fetch_add(1, Ordering::Relaxed) + 1;
        self
    }

    /// The record's struct as the table's type `T`, read in place. A
    /// table reads only its own records (the decoder checked their kind
    /// and length), so `T` is the struct they were decoded with; any other
    /// reads as zeros.
    pub fn get<T: plain::Plain>(&self) -> &T {
        // A T that does not fit a copy does not build.
        const {
            assert!(std::mem::size_of::<T>() <= FIXED_MAX);
            assert!(std::mem::align_of::<T>() <= 8);
        }
        let n = std::mem::size_of::<T>();
        let bytes: &[u8] = match &self.body {
            Body::InPlace(b) => b,
            Body::Copied(f) => &f.0,
        };
        match bytes.get(..n).map(plain::from_bytes::<T>) {
            Some(Ok(v)) => v,
            // Shorter than T: zeros, which are 8-aligned and FIXED_MAX
            // long, so T reads from them (above).
            _ => match plain::from_bytes(&ZEROS.0[..n]) {
                Ok(v) => v,
                Err(_) => unreachable!("ZEROS is aligned and long enough for any T that builds"),
            },
        }
    }
}

/// `bytes` (at most FIXED_MAX of them) in 8-aligned zeroed bytes.
fn copied(bytes: &[u8]) -> Box<Fixed> {
    let mut f = Box::new(Fixed([0; FIXED_MAX]));
    let n = bytes.len().min(FIXED_MAX);
    f.0[..n].copy_from_slice(&bytes[..n]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::ebq_exec_event;

    const EXEC: Layout = Layout::of::<ebq_exec_event>(|r| {
        let e = r.get::<ebq_exec_event>();
        [e.path_len, e.args_len, 0, 0, 0, 0, 0, 0, 0, 0]
    });

    #[test]
    fn short_records_and_other_kinds_are_errors() {
        assert!(matches!(
            Record::decode(&[0u8; 8], 0, &EXEC, 1),
            Err(DecodeError::Short { .. })
        ));
        let mut buf = vec![0u8; std::mem::size_of::<ebq_exec_event>()];
        buf[16] = 99; // kind
        assert!(matches!(
            Record::decode(&buf, 0, &EXEC, 1),
            Err(DecodeError::UnknownKind(99))
        ));
        assert!(matches!(
            Record::decode(&buf[..40], 0, &EXEC, 99),
            Err(DecodeError::Short { .. })
        ));
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut e = ebq_exec_event::default();
        e.h.kind = 1;
        e.path_len = 10;
        e.argc = 7;
        // SAFETY: ebq_exec_event is Plain: any bytes are valid.
        let bytes = unsafe { plain::as_bytes(&e) }.to_vec();
        assert!(Record::decode(&bytes, 0, &EXEC, 1).is_err());
        let mut ok = bytes.clone();
        ok.extend_from_slice(b"/bin/true\0a\0");
        let r = Record::decode(&ok, 0, &EXEC, 1).expect("decodes");
        assert_eq!(r.fields[0], b"/bin/true\0");
        assert_eq!(r.fields[1], b"");
        assert_eq!(r.get::<ebq_exec_event>().argc, 7);
        assert!(r.eid > 0);
        // Misaligned bytes are copied, and read the same.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&ok);
        let r = Record::decode(&shifted[1..], 0, &EXEC, 1).expect("decodes");
        assert!(matches!(r.body, Body::Copied(_)));
        assert_eq!(r.get::<ebq_exec_event>().argc, 7);
        assert_eq!(r.fields[0], b"/bin/true\0");
    }

    #[test]
    fn a_struct_longer_than_the_record_reads_as_zeros() {
        let h = ebq_header {
            pid: 9,
            ..Default::default()
        };
        let r = Record::of(h, &h);
        assert_eq!(r.get::<ebq_header>().pid, 9);
        assert_eq!(r.get::<ebq_exec_event>().argc, 0);
        let mut bytes = vec![0u8; std::mem::size_of::<ebq_header>()];
        bytes[16] = 1;
        let hdr_only = Layout::fixed::<ebq_header>();
        let r = Record::decode(&bytes, 0, &hdr_only, 1).expect("decodes");
        assert_eq!(r.get::<ebq_exec_event>().argc, 0);
    }
}
