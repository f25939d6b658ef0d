//! /etc/ld.so.cache, the dynamic linker's cache: which file a library's
//! soname stands for (libc.so.6, libssl.so.3), as ld.so finds it, for
//! function_events' bare library names (kernel/uprobes.rs). Read here
//! rather than by a crate: the few on crates.io are single releases that
//! pull in a CLI's dependencies, and the three fields needed are read with
//! every offset bounds-checked (a container's cache is its own: hostile).

use std::collections::BTreeMap;

/// The libraries /etc/ld.so.cache names, by soname: their paths in
/// cache order (the linker's preference first).
pub fn ld_cache(data: &[u8]) -> BTreeMap<String, Vec<String>> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // The new format, alone or after the old one's entries.
    let Some(start) = data.windows(MAGIC.len()).position(|w| w == MAGIC) else {
        return out;
    };
    let u32_at = |o: usize| -> Option<u32> {
        data.get(o..o + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let Some(n) = u32_at(start + MAGIC.len()) else {
        return out;
    };
    let string_at = |o: u32| -> Option<String> {
        // Offsets in the new format count from the new header.
        let from = start.checked_add(o as usize)?;
        let rest = data.get(from..)?;
        let end = rest.iter().take(4096).position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok().map(str::to_string)
    };
    // Header: magic, nlibs, len_strings, flags and padding, extension
    // offset, 3 unused words: 48 bytes. Entries: flags, key, value,
    // osversion (4 bytes each), hwcap (8): 24 bytes.
    let entries = start + 48;
    // The entry's flags: the libc6 kind (FLAG_ELF_LIBC6, 3) and, above
    // it, this machine's 64-bit ABI (FLAG_X8664_LIB64 0x300,
    // FLAG_AARCH64_LIB64 0xa00: glibc's elf/cache.h): a multilib host's
    // 32-bit copies are left out.
    let arch = if cfg!(target_arch = "aarch64") {
        0x0a00
    } else {
        0x0300
    };
    for i in 0..(n as usize).min(1 << 20) {
        let e = entries + i * 24;
        let (Some(flags), Some(key), Some(value)) = (u32_at(e), u32_at(e + 4), u32_at(e + 8))
        else {
            break;
        };
        if flags & 0xff != 3 || flags & 0xff00 != arch {
            continue;
        }
        if let (Some(k), Some(v)) = (string_at(key), string_at(value)) {
            out.entry(k).or_default().push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_linker_cache_names_libc() {
        let Ok(data) = std::fs::read("/etc/ld.so.cache") else {
            return;
        };
        let cache = ld_cache(&data);
        let libc = cache.get("libc.so.6").expect("libc.so.6 is cached");
        assert!(libc.iter().any(|p| Path::new(p).exists()), "{libc:?}");
        assert!(Path::new(&libc[0]).is_absolute());
    }

    proptest::proptest! {
        /// A damaged cache reads as fewer entries, never a panic.
        #[test]
        fn a_damaged_cache_never_breaks_the_reader(
            cut in 0usize..1 << 16,
            writes in proptest::collection::vec((0usize..1 << 16, proptest::prelude::any::<u8>()), 0..32),
        ) {
            let mut d = std::fs::read("/etc/ld.so.cache").unwrap_or_else(|_| b"glibc-ld.so.cache1.1".to_vec());
            for (at, b) in &writes {
                let n = d.len();
                d[at % n] = *b;
            }
            d.truncate(d.len() - cut % d.len());
            let _ = ld_cache(&d);
        }
    }
}
