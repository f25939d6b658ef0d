//! The function symbols of an ELF file: what function_events can probe.
//!
//! The files come from the processes ebq traces (a container's image, a
//! binary an attacker wrote), so they are hostile input: every read is
//! bounded by the object crate's checked parsing, the file is read at
//! most `ELF_MAX` bytes, and nothing here panics or loops on what the
//! file says (fuzzed in the tests below). A symbol is kept only when it
//! is a defined function (STT_FUNC) whose address lies inside an
//! executable section, so the probe always goes at the first instruction
//! of a function, never inside one: a uprobe in the middle of an
//! instruction corrupts the program it is in.

use std::io::Read;

use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::Endianness;

/// The largest file read (bytes): the biggest binaries shipped today
/// (a browser, a language runtime) are a few hundred MiB.
pub const ELF_MAX: u64 = 1 << 30;

/// One function symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSym {
    /// Its name without a version.
    pub name: String,
    /// Its symbol version (.gnu.version_d: GLIBC_2.34), if any.
    pub version: Option<String>,
    /// The file offset of its first instruction: where the uprobe goes.
    pub offset: u64,
    pub size: u64,
    /// In .dynsym (exported), else .symtab only.
    pub dynamic: bool,
    /// STB_GLOBAL or STB_WEAK.
    pub global: bool,
    /// A version other than the default one (name@VER, not name@@VER):
    /// kept for programs linked long ago, matched only by its full name.
    pub hidden: bool,
    /// The ELF's entry point (_start): it has no caller to return to.
    pub entry: bool,
}

impl FuncSym {
    /// name@version, as bpftrace and the linker's scripts write one.
    pub fn versioned(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.name),
            None => self.name.clone(),
        }
    }

    /// As nm -D shows it: name@@VER for the default version, name@VER
    /// for another.
    pub fn shown(&self) -> String {
        match &self.version {
            Some(v) if !self.hidden => format!("{}@@{v}", self.name),
            _ => self.versioned(),
        }
    }
}

/// One static probe of the file (a .note.stapsdt note: sys/sdt.h's
/// DTRACE_PROBE / STAP_PROBE), which libbpf attaches by provider and
/// name (https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    pub provider: String,
    pub name: String,
    /// Its address (where libbpf puts the uprobe).
    pub pc: u64,
    /// The arguments' locations, as the note spells them (-4@%edi 8@%rsi).
    pub args: String,
}

/// What function_events needs to know of a file.
#[derive(Debug, Default)]
pub struct ElfInfo {
    /// Its functions, by offset then name, one per (name, offset).
    pub funcs: Vec<FuncSym>,
    /// Built by Go (a .go.buildinfo or .note.go.buildid section): its
    /// goroutines move their stacks, which breaks return probes.
    pub go: bool,
    /// A shared object or PIE (ET_DYN), else an executable (ET_EXEC).
    pub dynamic: bool,
    /// It had a .symtab (not stripped).
    pub symtab: bool,
    /// Its USDT probes, in note order.
    pub usdt: Vec<UsdtNote>,
    /// Its indirect functions (STT_GNU_IFUNC: strlen, memcpy in glibc):
    /// the symbol is the resolver, run once at load, not the function
    /// called, so it is never probed; said when one is asked for.
    pub ifuncs: Vec<String>,
}

/// Reads the file's function symbols; the error is one line. A file
/// that says it is larger than ELF_MAX is refused before any of it is
/// read (a sparse file of terabytes would otherwise take a while).
pub fn read(file: &mut std::fs::File) -> Result<ElfInfo, String> {
    if file.metadata().is_ok_and(|m| m.len() > ELF_MAX) {
        return Err(format!("larger than {} MiB", ELF_MAX >> 20));
    }
    // The magic first: a file that is no ELF is not read (/dev/zero).
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let mut data = magic.to_vec();
    file.take(ELF_MAX + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if data.len() as u64 > ELF_MAX {
        return Err(format!("larger than {} MiB", ELF_MAX >> 20));
    }
    parse(&data)
}

/// Parses an ELF image in memory.
pub fn parse(data: &[u8]) -> Result<ElfInfo, String> {
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    // e_ident[EI_CLASS], byte 4.
    if data[4] != elf::ELFCLASS64 {
        return Err("a 32-bit ELF file (ebq probes 64-bit programs)".into());
    }
    let bad = |e: object::read::Error| format!("a malformed ELF file ({e})");
    let hdr = elf::FileHeader64::<Endianness>::parse(data).map_err(bad)?;
    let endian = hdr.endian().map_err(bad)?;
    let kind = hdr.e_type(endian);
    if kind != elf::ET_EXEC && kind != elf::ET_DYN {
        return Err("not an executable or shared object".into());
    }
    // This machine's code only: offsets in another's mean nothing here.
    let machine = if cfg!(target_arch = "aarch64") {
        elf::EM_AARCH64
    } else {
        elf::EM_X86_64
    };
    if hdr.e_machine(endian) != machine {
        return Err(format!(
            "built for another machine (ELF e_machine {}, this is {})",
            hdr.e_machine(endian),
            machine
        ));
    }
    let entry = hdr.e_entry(endian);
    let sections = hdr.sections(endian, data).map_err(bad)?;
    let mut info = ElfInfo {
        dynamic: kind == elf::ET_DYN,
        ..Default::default()
    };
    for (_, s) in sections.enumerate() {
        let name = sections.section_name(endian, s).unwrap_or_default();
        if name == b".go.buildinfo" || name == b".note.go.buildid" {
            info.go = true;
        }
        if name == b".note.stapsdt" {
            if let Ok(Some(mut notes)) = s.notes(endian, data) {
                // Bounded by the section's size: each note moves on.
                while let Ok(Some(n)) = notes.next() {
                    if n.name() == b"stapsdt" && n.n_type(endian) == 3 {
                        if let Some(u) = usdt_note(n.desc()) {
                            info.usdt.push(u);
                        }
                    }
                }
            }
        }
    }
    // Versions name .dynsym's entries only.
    let versions = sections.versions(endian, data).ok().flatten();
    for sh_type in [elf::SHT_DYNSYM, elf::SHT_SYMTAB] {
        let Ok(table) = sections.symbols(endian, data, sh_type) else {
            continue;
        };
        if sh_type == elf::SHT_SYMTAB && !table.is_empty() {
            info.symtab = true;
        }
        let strings = table.strings();
        for (i, sym) in table.enumerate() {
            if sym.st_type() == elf::STT_GNU_IFUNC && !sym.is_undefined(endian) {
                if let Ok(n) = sym.name(endian, strings) {
                    let n = String::from_utf8_lossy(n).into_owned();
                    if !info.ifuncs.contains(&n) {
                        info.ifuncs.push(n);
                    }
                }
                continue;
            }
            if sym.st_type() != elf::STT_FUNC || sym.is_undefined(endian) {
                continue;
            }
            let value = sym.st_value(endian);
            if value == 0 {
                continue;
            }
            // The section it is defined in: executable, and holding it.
            let Ok(Some(sec)) = table.symbol_section(endian, sym, i) else {
                continue;
            };
            let Ok(sec) = sections.section(sec) else {
                continue;
            };
            let flags = sec.sh_flags(endian);
            let (addr, size, off) = (
                sec.sh_addr(endian),
                sec.sh_size(endian),
                sec.sh_offset(endian),
            );
            if sec.sh_type(endian) != elf::SHT_PROGBITS
                || flags & u64::from(elf::SHF_EXECINSTR) == 0
                || value < addr
                || value - addr >= size
            {
                continue;
            }
            let offset = off.saturating_add(value - addr);
            if offset >= data.len() as u64 {
                continue;
            }
            let Ok(name) = sym.name(endian, strings) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            if name.is_empty() || name.len() > 4096 {
                continue;
            }
            let vindex = versions
                .as_ref()
                .filter(|_| sh_type == elf::SHT_DYNSYM)
                .map(|v| (v, v.version_index(endian, i)));
            let version = vindex
                .and_then(|(v, x)| v.version(x).ok().flatten())
                .and_then(|v| std::str::from_utf8(v.name()).ok())
                .map(str::to_string);
            let hidden = vindex.is_some_and(|(_, x)| x.is_hidden());
            let bind = sym.st_bind();
            info.funcs.push(FuncSym {
                name: name.to_string(),
                version,
                offset,
                size: sym.st_size(endian),
                dynamic: sh_type == elf::SHT_DYNSYM,
                global: bind == elf::STB_GLOBAL || bind == elf::STB_WEAK,
                hidden,
                entry: value == entry,
            });
        }
    }
    // .dynsym first above: its entry (with the version) is the one kept.
    info.funcs.sort_by(|a, b| {
        (a.offset, &a.name)
            .cmp(&(b.offset, &b.name))
            .then(b.dynamic.cmp(&a.dynamic))
    });
    info.funcs
        .dedup_by(|b, a| a.offset == b.offset && a.name == b.name);
    Ok(info)
}

/// A stapsdt note's description: pc, base and semaphore (three 64-bit
/// words), then provider, name and arguments, each NUL-terminated.
fn usdt_note(desc: &[u8]) -> Option<UsdtNote> {
    let word = |i: usize| {
        desc.get(i * 8..i * 8 + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    let pc = word(0)?;
    let mut strs = desc.get(24..)?.split(|&b| b == 0);
    let mut text = || {
        strs.next()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_string)
    };
    let (provider, name, args) = (text()?, text()?, text().unwrap_or_default());
    if provider.is_empty() || name.is_empty() {
        return None;
    }
    Some(UsdtNote {
        provider,
        name,
        pc,
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary: a PIE with a .symtab.
    fn own() -> Vec<u8> {
        std::fs::read("/proc/self/exe").expect("reads itself")
    }

    #[test]
    fn its_own_functions_are_found_at_their_offsets() {
        let data = own();
        let info = parse(&data).expect("parses");
        assert!(info.symtab && !info.go);
        // A function of this crate, by its mangled name's readable part.
        let f = info
            .funcs
            .iter()
            .find(|f| f.name.contains("its_own_functions_are_found"))
            .expect("the test itself is a symbol");
        assert!(f.offset > 0 && (f.offset as usize) < data.len());
        // Sorted by offset, no (name, offset) twice.
        assert!(info
            .funcs
            .windows(2)
            .all(|w| (w[0].offset, &w[0].name) < (w[1].offset, &w[1].name)));
    }

    #[test]
    fn libc_exports_versioned_names() {
        let Some(path) = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists()) else {
            return;
        };
        let info = read(&mut std::fs::File::open(path).expect("opens")).expect("parses");
        let open = info
            .funcs
            .iter()
            .find(|f| f.name == "open" && f.dynamic)
            .expect("libc exports open");
        assert!(open
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("GLIBC_")));
        assert!(open.versioned().starts_with("open@GLIBC_"));
    }

    #[test]
    fn stapsdt_notes_read_as_provider_name_and_arguments() {
        let mut d = Vec::new();
        for w in [0x1139u64, 0x2000, 0] {
            d.extend(w.to_le_bytes());
        }
        d.extend(b"ebq\0fired\0-4@%edi 8@%rsi\0");
        assert_eq!(
            usdt_note(&d),
            Some(UsdtNote {
                provider: "ebq".into(),
                name: "fired".into(),
                pc: 0x1139,
                args: "-4@%edi 8@%rsi".into(),
            })
        );
        assert_eq!(usdt_note(&d[..20]), None);
        assert_eq!(usdt_note(&d[..25]), None);
    }

    #[test]
    fn what_is_not_an_elf_file_is_one_line() {
        assert_eq!(
            parse(b"#!/bin/sh\n").expect_err("a script"),
            "not an ELF file"
        );
        let mut d = vec![0x7f, b'E', b'L', b'F', 1];
        d.resize(64, 0);
        assert!(parse(&d).expect_err("32-bit").contains("32-bit"));
        d[4] = 2;
        assert!(parse(&d).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// A real ELF file cut short or with bytes overwritten anywhere
        /// (headers, section table, symbols, strings) parses or fails,
        /// and never reads out of bounds: every function found lies in
        /// the image.
        #[test]
        fn a_damaged_elf_never_breaks_the_reader(
            cut in 0usize..1 << 22,
            writes in proptest::collection::vec((0usize..1 << 22, proptest::prelude::any::<u8>()), 0..64),
            early in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..16),
        ) {
            // A small real binary (coreutils' true: .dynsym, versions).
            static IMAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let image = IMAGE.get_or_init(|| std::fs::read("/bin/true").expect("/bin/true"));
            let mut d = image.clone();
            for (at, b) in writes.iter().chain(&early) {
                let n = d.len();
                d[at % n] = *b;
            }
            // The section table is at the end of the file: damage there.
            for (at, b) in &writes {
                let n = d.len();
                d[n - 1 - at % 4096.min(n)] = *b;
            }
            d.truncate(d.len() - cut % d.len());
            if let Ok(info) = parse(&d) {
                for f in &info.funcs {
                    proptest::prop_assert!((f.offset as usize) < d.len());
                }
            }
        }
    }
}
