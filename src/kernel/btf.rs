//! A small copy of the kernel's BTF, cached per boot, so that libbpf's CO-RE
//! relocation does not parse and search the whole of it at every start.
//!
//! libbpf relocates each CO-RE access against the kernel's BTF: it parses
//! all of /sys/kernel/btf/vmlinux (5.5 MB on our machines) and, for every
//! local struct a program reads, scans every kernel type for same-named
//! candidates (tools/lib/bpf/libbpf.c, bpf_core_add_cands). perf put the two
//! at ~9 ms of a 25 ms start. The relocations only ever look up, by name,
//! the types ebq's own bpf/include/vmlinux.h declares, then walk their
//! members and the types embedded in them. A BTF that holds just those
//! types, complete, with every pointer made `void *` (CO-RE takes any two
//! pointers as compatible: tools/lib/bpf/relo_core.c,
//! bpf_core_fields_are_compat), answers every relocation the same way. This
//! is BTFgen's idea (bpftool gen min_core_btf), kept simpler: whole types,
//! not only the members read.
//!
//! The copy is written to /run/ebq after a start that did without it, and
//! used from the next start on. Its name carries the boot (the kernel
//! cannot change within one), the kernel release and the BPF object's hash
//! (another ebq may read other types), so a stale copy is never read. The
//! directory and the file must be ours and writable by nobody else, or the
//! cache is not used. EBQ_BTF_CACHE=off turns it off; EBQ_BTF_CACHE=DIR
//! keeps the copies in DIR instead.

use std::collections::{HashMap, HashSet};
use std::ffi::{CString, OsStr};
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use libbpf_rs::btf::types::{self, IntEncoding, MemberAttr};
use libbpf_rs::btf::{BtfKind, BtfType, TypeId};
use libbpf_rs::{AsRawLibbpf, Btf, HasSize};

/// Where the copies live: runtime data, root's.
const DIR: &str = "/run/ebq";

/// The embedded BPF objects' hashes, written by bpf/build.rs: the main
/// one and its compat build (either may be the one loaded).
const OBJECT_HASH: &str = include_str!(concat!(env!("OUT_DIR"), "/ebq.objhash"));
const COMPAT_HASH: &str = include_str!(concat!(env!("OUT_DIR"), "/ebq_compat.objhash"));

/// This boot's copy of the kernel's BTF for this ebq build.
pub struct BtfCache {
    dir: PathBuf,
    file: PathBuf,
}

impl BtfCache {
    /// The copy's place, or None when the cache is off or the kernel does
    /// not say which boot this is.
    pub fn locate() -> Option<Self> {
        let dir = match std::env::var_os("EBQ_BTF_CACHE") {
            Some(v) if v == "off" || v == "0" || v.is_empty() => return None,
            Some(v) => PathBuf::from(v),
            None => PathBuf::from(DIR),
        };
        let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_string());
        let boot = read("/proc/sys/kernel/random/boot_id")?;
        let mut h = DefaultHasher::new();
        boot.hash(&mut h);
        read("/proc/sys/kernel/osrelease").hash(&mut h);
        read("/proc/sys/kernel/version").hash(&mut h);
        // The object this run loads (the copy holds the types it reads).
        let bpf_loop = super::variants::Variants::detect().map_or(true, |v| v.bpf_loop);
        if !bpf_loop {
            COMPAT_HASH.hash(&mut h);
        } else {
            OBJECT_HASH.hash(&mut h);
        }
        Some(Self::at(&dir, h.finish()))
    }

    fn at(dir: &Path, key: u64) -> Self {
        BtfCache {
            dir: dir.to_path_buf(),
            file: dir.join(format!("vmlinux-{key:016x}.btf")),
        }
    }

    /// The copy, when it is there and nobody but us could have written it.
    pub fn existing(&self) -> Option<&Path> {
        (private(&self.dir, true) && private(&self.file, false)).then_some(self.file.as_path())
    }

    /// Writes the copy for the types `object` relocates against, and
    /// removes copies of other boots and builds. Best effort: the caller
    /// goes on without it.
    pub fn store(&self, object: &Btf) -> Result<(), String> {
        let kernel = Btf::from_vmlinux().map_err(|e| format!("reading the kernel's BTF: {e}"))?;
        let bytes = minimal(object, &kernel)?;
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("creating {}: {e}", self.dir.display())),
        }
        if !private(&self.dir, true) {
            return Err(format!(
                "{} is another user's or writable by others: not used",
                self.dir.display()
            ));
        }
        let tmp = self
            .dir
            .join(format!(".vmlinux-{}.tmp", std::process::id()));
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes))
            .and_then(|()| fs::rename(&tmp, &self.file));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(format!("writing {}: {e}", self.file.display()));
        }
        for entry in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("vmlinux-") && name.ends_with(".btf") && entry.path() != self.file {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Removes this boot's copy (a copy libbpf could not use).
    pub fn discard(&self) {
        let _ = fs::remove_file(&self.file);
    }
}

/// A directory or file of ours (not a link), that no group or other can
/// write.
fn private(path: &Path, dir: bool) -> bool {
    let Ok(m) = fs::symlink_metadata(path) else {
        return false;
    };
    let kind_ok = if dir { m.is_dir() } else { m.is_file() };
    kind_ok && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o022 == 0
}

/// The kind of type `id`, or None for one this libbpf-rs does not know
/// (read from the raw type: libbpf-rs panics on an unknown kind).
fn kind_of(btf: &Btf, id: u32) -> Option<BtfKind> {
    // SAFETY: btf__type_by_id only reads the BTF, which `btf` keeps alive;
    // it returns NULL for an id out of range, checked below.
    let t = unsafe { libbpf_rs::libbpf_sys::btf__type_by_id(btf.as_libbpf_object().as_ptr(), id) };
    // SAFETY: non-null pointers from btf__type_by_id point at a type of
    // this BTF, valid while it lives.
    let info = unsafe { t.as_ref() }?.info;
    BtfKind::try_from((info >> 24) & 0x1f).ok()
}

/// The name CO-RE matches on: "task_struct___old" is a flavor of
/// "task_struct" (tools/lib/bpf/relo_core.c, bpf_core_essential_name_len).
fn essential(name: &OsStr) -> &[u8] {
    let b = name.as_encoded_bytes();
    let end = b.windows(3).position(|w| w == b"___").unwrap_or(b.len());
    &b[..end]
}

fn named(kind: BtfKind) -> bool {
    matches!(
        kind,
        BtfKind::Struct | BtfKind::Union | BtfKind::Enum | BtfKind::Enum64 | BtfKind::Typedef
    )
}

/// The raw BTF of the kernel types `object` relocates against: every named
/// struct, union, enum and typedef of the object's BTF that the kernel
/// has, with all it embeds.
pub fn minimal(object: &Btf, kernel: &Btf) -> Result<Vec<u8>, String> {
    let mut roots: HashSet<(u32, &[u8])> = HashSet::new();
    for id in 1..object.len() as u32 {
        let Some(kind) = kind_of(object, id).filter(|k| named(*k)) else {
            continue;
        };
        if let Some(name) = object
            .type_by_id::<BtfType>(TypeId::from(id))
            .and_then(|t| t.name())
        {
            roots.insert((kind as u32, essential(name)));
        }
    }
    let mut out = Writer::new(kernel)?;
    for id in 1..kernel.len() as u32 {
        let Some(kind) = kind_of(kernel, id).filter(|k| named(*k)) else {
            continue;
        };
        let Some(name) = kernel
            .type_by_id::<BtfType>(TypeId::from(id))
            .and_then(|t| t.name())
        else {
            continue;
        };
        if roots.contains(&(kind as u32, essential(name))) {
            out.copy(id)?;
        }
    }
    out.bytes()
}

/// A new BTF being filled with copies of kernel types.
struct Writer<'k> {
    kernel: &'k Btf<'k>,
    btf: NonNull<libbpf_rs::libbpf_sys::btf>,
    /// Kernel type id -> id in the copy.
    done: HashMap<u32, i32>,
    void_ptr: Option<i32>,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // SAFETY: created by btf__new_empty in Writer::new, freed only here.
        unsafe { libbpf_rs::libbpf_sys::btf__free(self.btf.as_ptr()) }
    }
}

fn c(name: Option<&OsStr>) -> Result<Option<CString>, String> {
    name.map(|n| CString::new(n.as_encoded_bytes()).map_err(|_| "a BTF name holds a NUL".into()))
        .transpose()
}

fn ptr_of(s: &Option<CString>) -> *const std::os::raw::c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// A libbpf btf__add_* result: the new id, or a negative errno.
fn added(r: i32, what: &str) -> Result<i32, String> {
    if r < 0 {
        Err(format!(
            "writing the BTF copy ({what}): {}",
            std::io::Error::from_raw_os_error(-r)
        ))
    } else {
        Ok(r)
    }
}

impl<'k> Writer<'k> {
    fn new(kernel: &'k Btf<'k>) -> Result<Self, String> {
        // SAFETY: btf__new_empty takes nothing; its result is checked for
        // NULL and owned by the Writer, which frees it.
        let btf = NonNull::new(unsafe { libbpf_rs::libbpf_sys::btf__new_empty() })
            .ok_or("allocating a BTF")?;
        Ok(Writer {
            kernel,
            btf,
            done: HashMap::new(),
            void_ptr: None,
        })
    }

    fn raw(&self) -> *mut libbpf_rs::libbpf_sys::btf {
        self.btf.as_ptr()
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        let mut size = 0u32;
        // SAFETY: btf__raw_data reads our BTF and returns a buffer it owns
        // (valid until the next change to the BTF) of `size` bytes.
        let data = unsafe { libbpf_rs::libbpf_sys::btf__raw_data(self.raw(), &mut size) };
        if data.is_null() {
            return Err("serializing the BTF copy".into());
        }
        // SAFETY: as above: `size` bytes at `data`, copied out at once.
        Ok(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) }.to_vec())
    }

    /// The copy of kernel type `id`, added with everything it embeds.
    fn copy(&mut self, id: u32) -> Result<i32, String> {
        use libbpf_rs::libbpf_sys as sys;

        /// One btf__add_* call on our BTF: the new id, or the error.
        macro_rules! add {
            ($what:literal, $f:ident($($arg:expr),*)) => {{
                // SAFETY: btf__add_* appends to the BTF this Writer owns;
                // names are NUL-terminated strings alive for the call,
                // which libbpf copies.
                let r = unsafe { sys::$f(self.raw(), $($arg),*) };
                added(r, $what)?
            }};
        }

        if id == 0 {
            return Ok(0);
        }
        if let Some(&new) = self.done.get(&id) {
            return Ok(new);
        }
        let kernel = self.kernel;
        let kind =
            kind_of(kernel, id).ok_or_else(|| format!("BTF type {id} is of an unknown kind"))?;
        let t: BtfType = kernel
            .type_by_id(TypeId::from(id))
            .ok_or_else(|| format!("BTF type {id} is missing"))?;
        let name = c(t.name())?;
        let name = ptr_of(&name);
        let not = |what: &str| format!("BTF type {id} is not the {what} its kind says");
        let new = match kind {
            BtfKind::Void | BtfKind::Var | BtfKind::DataSec | BtfKind::DeclTag => 0,
            // Any pointer is as good as another to CO-RE: one `void *`.
            BtfKind::Ptr => match self.void_ptr {
                Some(p) => p,
                None => {
                    let p = add!("ptr", btf__add_ptr(0));
                    self.void_ptr = Some(p);
                    p
                }
            },
            // Only behind pointers, which are `void *` here.
            BtfKind::FuncProto | BtfKind::Func => 0,
            BtfKind::Int => {
                let int = types::Int::try_from(t).map_err(|_| not("int"))?;
                let encoding = match int.encoding {
                    IntEncoding::None => 0,
                    IntEncoding::Signed => sys::BTF_INT_SIGNED,
                    IntEncoding::Char => sys::BTF_INT_CHAR,
                    IntEncoding::Bool => sys::BTF_INT_BOOL,
                };
                add!(
                    "int",
                    btf__add_int(name, int.size() as u64, encoding as i32)
                )
            }
            BtfKind::Float => {
                let f = types::Float::try_from(t).map_err(|_| not("float"))?;
                add!("float", btf__add_float(name, f.size() as u64))
            }
            BtfKind::Array => {
                let a = types::Array::try_from(t).map_err(|_| not("array"))?;
                let elem = self.copy(a.ty().into())?;
                let index = self.copy(a.index_ty().into())?;
                add!("array", btf__add_array(index, elem, a.capacity() as u32))
            }
            BtfKind::Struct | BtfKind::Union => {
                let comp = types::Composite::try_from(t).map_err(|_| not("struct"))?;
                // Member types first: a struct's fields must follow it.
                let mut fields = Vec::with_capacity(comp.len());
                for m in comp.iter() {
                    let (bit_offset, bit_size) = match m.attr {
                        MemberAttr::Normal { offset } => (offset, 0),
                        MemberAttr::BitField { size, offset } => (offset, u32::from(size)),
                    };
                    fields.push((c(m.name)?, self.copy(m.ty.into())?, bit_offset, bit_size));
                }
                let size = comp.size() as u32;
                let new = if kind == BtfKind::Struct {
                    add!("struct", btf__add_struct(name, size))
                } else {
                    add!("union", btf__add_union(name, size))
                };
                for (fname, ty, bit_offset, bit_size) in &fields {
                    add!(
                        "field",
                        btf__add_field(ptr_of(fname), *ty, *bit_offset, *bit_size)
                    );
                }
                new
            }
            BtfKind::Enum => {
                let e = types::Enum::try_from(t).map_err(|_| not("enum"))?;
                let new = add!("enum", btf__add_enum(name, e.size() as u32));
                for v in e.iter() {
                    let vname = c(v.name)?;
                    add!("enum value", btf__add_enum_value(ptr_of(&vname), v.value));
                }
                new
            }
            BtfKind::Enum64 => {
                let e = types::Enum64::try_from(t).map_err(|_| not("enum64"))?;
                let new = add!(
                    "enum64",
                    btf__add_enum64(name, e.size() as u32, e.is_signed())
                );
                for v in e.iter() {
                    let vname = c(v.name)?;
                    add!(
                        "enum64 value",
                        btf__add_enum64_value(ptr_of(&vname), v.value as u64)
                    );
                }
                new
            }
            BtfKind::Fwd => {
                let f = types::Fwd::try_from(t).map_err(|_| not("forward"))?;
                let fk = match f.kind() {
                    types::FwdKind::Struct => sys::BTF_FWD_STRUCT,
                    types::FwdKind::Union => sys::BTF_FWD_UNION,
                };
                add!("fwd", btf__add_fwd(name, fk))
            }
            // A tracepoint's probe prototype (block.bpf.h asks its shape):
            // the function pointer as it is, parameters and all.
            BtfKind::Typedef
                if t.name()
                    .is_some_and(|n| n.as_encoded_bytes().starts_with(b"btf_trace_")) =>
            {
                let target = self.copy_prototype(referenced(&t)?)?;
                add!("typedef", btf__add_typedef(name, target))
            }
            BtfKind::Typedef => {
                let target = self.copy(referenced(&t)?)?;
                add!("typedef", btf__add_typedef(name, target))
            }
            // Qualifiers mean nothing to CO-RE: the type they qualify.
            BtfKind::Const | BtfKind::Volatile | BtfKind::Restrict | BtfKind::TypeTag => {
                self.copy(referenced(&t)?)?
            }
        };
        self.done.insert(id, new);
        Ok(new)
    }
}

impl Writer<'_> {
    /// The copy of kernel type `id`, a pointer to a function prototype,
    /// with the prototype whole: CO-RE compares a prototype's parameters
    /// (tools/lib/bpf/relo_core.c, __bpf_core_types_are_compat), and a
    /// `void *` in place of a `struct request *` would not compare. Their
    /// pointers keep their targets; anything else is copied as `copy` does.
    fn copy_prototype(&mut self, id: u32) -> Result<i32, String> {
        use libbpf_rs::libbpf_sys as sys;

        let kernel = self.kernel;
        let ty = |id: u32| -> Result<BtfType<'_>, String> {
            kernel
                .type_by_id(TypeId::from(id))
                .ok_or_else(|| format!("BTF type {id} is missing"))
        };
        if kind_of(kernel, id) != Some(BtfKind::Ptr) {
            return self.copy(id);
        }
        let proto_id = referenced(&ty(id)?)?;
        if kind_of(kernel, proto_id) != Some(BtfKind::FuncProto) {
            return self.copy(id);
        }
        let proto = ty(proto_id)?;
        let ret = self.copy(referenced(&proto).unwrap_or(0))?;
        let params = types::FuncProto::try_from(proto)
            .map_err(|_| format!("BTF type {proto_id} is not the prototype its kind says"))?;
        let mut copied = Vec::new();
        for p in params.iter() {
            let pid = u32::from(p.ty);
            let t = if kind_of(kernel, pid) == Some(BtfKind::Ptr) {
                let target = self.copy(referenced(&ty(pid)?)?)?;
                // SAFETY: appends a pointer type to the BTF this Writer owns.
                added(unsafe { sys::btf__add_ptr(self.raw(), target) }, "ptr")?
            } else {
                self.copy(pid)?
            };
            copied.push((c(p.name)?, t));
        }
        // SAFETY: appends a prototype, then its parameters right after it,
        // as libbpf requires, to the BTF this Writer owns; names are
        // NUL-terminated strings alive for each call.
        let new = added(
            unsafe { sys::btf__add_func_proto(self.raw(), ret) },
            "prototype",
        )?;
        for (n, t) in &copied {
            // SAFETY: as above.
            let r = unsafe { sys::btf__add_func_param(self.raw(), ptr_of(n), *t) };
            added(r, "param")?;
        }
        // SAFETY: appends a pointer type to the BTF this Writer owns.
        added(unsafe { sys::btf__add_ptr(self.raw(), new) }, "ptr")
    }
}

/// The id of the type a typedef or qualifier refers to.
fn referenced(t: &BtfType) -> Result<u32, String> {
    t.next_type()
        .map(|n| u32::from(n.type_id()))
        .ok_or_else(|| "a typedef to nothing".into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::mem::MaybeUninit;
    use std::os::unix::ffi::OsStrExt;

    use libbpf_rs::skel::{OpenSkel, SkelBuilder};
    use libbpf_rs::{AsRawLibbpf, Btf};

    use super::*;
    use crate::abi::skel::EbqSkelBuilder;

    /// Every program's instructions after CO-RE relocation against `btf`
    /// (None: the kernel's own), from libbpf's prepare step (maps made,
    /// nothing loaded).
    fn relocated(btf: Option<&Path>) -> BTreeMap<String, Vec<u8>> {
        let path = btf.map(|p| CString::new(p.as_os_str().as_bytes()).expect("a path without NUL"));
        let opts = libbpf_rs::libbpf_sys::bpf_object_open_opts {
            sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_object_open_opts>() as _,
            btf_custom_path: path.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            ..Default::default()
        };
        let mut storage = MaybeUninit::uninit();
        // The object this kernel loads, its maps as load() makes them.
        let variants = crate::kernel::variants::Variants::detect().expect("variants");
        crate::abi::use_compat(!variants.bpf_loop);
        let mut open = EbqSkelBuilder::default()
            .open_opts(opts, &mut storage)
            .expect("opening the object");
        crate::kernel::load::common_maps_of!(&variants, open.maps).expect("the maps");
        let obj = open.open_object_mut().as_libbpf_object();
        // SAFETY: the open object is alive (held by `open`).
        let r = unsafe { libbpf_rs::libbpf_sys::bpf_object__prepare(obj.as_ptr()) };
        assert_eq!(r, 0, "libbpf could not prepare the object (btf {btf:?})");
        open.open_object_mut()
            .progs_mut()
            .map(|p| {
                let insns = p.insns();
                // SAFETY: bpf_insn is plain old data; the slice is libbpf's
                // and alive with the object.
                let mut bytes = unsafe {
                    std::slice::from_raw_parts(
                        insns.as_ptr().cast::<u8>(),
                        std::mem::size_of_val(insns),
                    )
                }
                .to_vec();
                // A map's fd differs between the two objects: a 64-bit
                // load (code 0x18) with a map pseudo source (1, 2) holds it
                // in imm (bytes 4..8).
                for insn in bytes.chunks_exact_mut(8) {
                    if insn[0] == 0x18 && matches!(insn[1] >> 4, 1 | 2) {
                        insn[4..8].fill(0);
                    }
                }
                (p.name().to_string_lossy().into_owned(), bytes)
            })
            .collect()
    }

    /// The small copy relocates every program exactly as the whole BTF
    /// does: same instructions, byte for byte.
    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn small_copy_relocates_like_the_kernels_btf() {
        if !nix::unistd::geteuid().is_root() {
            panic!(
                "needs root to make BPF maps, and this test runs as uid {}: run `cargo test -- --include-ignored` as root",
                nix::unistd::geteuid()
            );
        }
        let whole = relocated(None);
        let mut storage = MaybeUninit::uninit();
        let mut open = EbqSkelBuilder::default()
            .open(&mut storage)
            .expect("opening the object");
        let obj = open.open_object_mut().as_libbpf_object();
        // SAFETY: the open object is alive (held by `open`) for the
        // reference's whole use here.
        let object = Btf::from_bpf_object(unsafe { obj.as_ref() })
            .expect("the object's BTF")
            .expect("an object with BTF");
        let kernel = Btf::from_vmlinux().expect("the kernel's BTF");
        let bytes = minimal(&object, &kernel).expect("the small copy");
        assert!(bytes.len() < 1 << 20, "the copy is {} bytes", bytes.len());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("vmlinux.btf");
        fs::write(&file, &bytes).expect("file setup");
        let small = relocated(Some(&file));
        assert_eq!(whole.len(), small.len());
        // Every program a table runs is in the comparison.
        for t in crate::catalog::TABLES {
            for p in t.programs.iter().chain(&crate::plan::FOLLOW_PROGRAMS) {
                assert!(whole.contains_key(p.prog), "{} is not compared", p.prog);
            }
        }
        for (name, insns) in &whole {
            assert!(small[name] == *insns, "{name} relocates differently");
        }
    }

    #[test]
    fn cache_is_used_only_when_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            fs::set_permissions(p, fs::Permissions::from_mode(m)).expect("chmod in a temp dir")
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cache = BtfCache::at(&dir.path().join("ebq"), 7);
        assert!(cache.existing().is_none());
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&cache.dir)
            .expect("mkdir in a temp dir");
        fs::write(&cache.file, b"x").expect("write in a temp dir");
        mode(&cache.file, 0o600);
        assert_eq!(cache.existing(), Some(cache.file.as_path()));
        mode(&cache.file, 0o666);
        assert!(
            cache.existing().is_none(),
            "a world-writable copy was trusted"
        );
        mode(&cache.file, 0o600);
        mode(&cache.dir, 0o777);
        assert!(
            cache.existing().is_none(),
            "a world-writable directory was trusted"
        );
        mode(&cache.dir, 0o700);
        cache.discard();
        assert!(cache.existing().is_none());
    }

    #[test]
    fn flavors_match_their_base_name() {
        assert_eq!(essential(OsStr::new("task_struct___old")), b"task_struct");
        assert_eq!(essential(OsStr::new("task_struct")), b"task_struct");
    }
}
