//! Paths as rows show them: a path the kernel walked (bpf/path.bpf.h,
//! `enum ebq_walk_flags`) read the way `/proc/PID/fd/N` and `/proc/PID/exe`
//! name the same file, and a path as written normalized lexically against
//! the walked directory it was relative to.
//!
//! Both come from kernel memory and are hostile: nothing here trusts a
//! length or a byte, and a cut path can never read as a shorter absolute
//! one (it starts with `...`, not `/`).

use crate::abi::types::ebq_walk_flags;

/// Prefix of a path the kernel had to cut: its leaf end is kept.
pub const CUT_MARK: &[u8] = b"...";

/// Filesystem magics whose pseudo files d_path() names by their own rule
/// (include/uapi/linux/magic.h; fs/pipe.c, net/socket.c, fs/anon_inodes.c).
const PIPEFS_MAGIC: u32 = 0x5049_5045;
const SOCKFS_MAGIC: u32 = 0x534F_434B;
const ANON_INODE_FS_MAGIC: u32 = 0x0904_1934;
const NSFS_MAGIC: u32 = 0x6e73_6673;

/// A walked path, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Walked<'a> {
    /// Root first, '/' before each component (for a cut path: the tail).
    pub path: &'a [u8],
    /// Deeper or longer than the kernel copies: `path` is its tail.
    pub cut: bool,
    /// The file was unlinked.
    pub deleted: bool,
    /// A file of no mount (memfd, pipe ...): its filesystem and inode.
    pub pseudo: Option<(u32, u64)>,
}

impl<'a> Walked<'a> {
    /// Decodes a walked path; None for one too short to hold its flags.
    pub fn decode(b: &'a [u8]) -> Option<Walked<'a>> {
        let (&flags, rest) = b.split_first()?;
        let flags = u32::from(flags);
        let has = |f: ebq_walk_flags| flags & f.0 != 0;
        let mut w = Walked {
            cut: has(ebq_walk_flags::EBQ_WALK_CUT),
            deleted: has(ebq_walk_flags::EBQ_WALK_DELETED),
            ..Default::default()
        };
        let path = if has(ebq_walk_flags::EBQ_WALK_PSEUDO) {
            let info = rest.get(..12)?;
            let magic = u32::from_le_bytes(info[..4].try_into().ok()?);
            let ino = u64::from_le_bytes(info[4..12].try_into().ok()?);
            w.pseudo = Some((magic, ino));
            &rest[12..]
        } else {
            rest
        };
        w.path = path;
        Some(w)
    }

    /// The path as /proc names the file: " (deleted)" after an unlinked
    /// one, pseudo files by their filesystem's own rule, a cut one after
    /// `...`.
    pub fn display(&self) -> Vec<u8> {
        if let Some((magic, ino)) = self.pseudo {
            let name = self.path.strip_prefix(b"/").unwrap_or(self.path);
            return match magic {
                PIPEFS_MAGIC => format!("pipe:[{ino}]").into_bytes(),
                SOCKFS_MAGIC => format!("socket:[{ino}]").into_bytes(),
                ANON_INODE_FS_MAGIC => {
                    let mut v = b"anon_inode:".to_vec();
                    v.extend_from_slice(name);
                    v
                }
                // nsfs_dname() (fs/nsfs.c): the namespace's type, which the
                // kernel writes as the name.
                NSFS_MAGIC => {
                    let mut v = name.to_vec();
                    v.extend_from_slice(format!(":[{ino}]").as_bytes());
                    v
                }
                // simple_dname() (fs/d_path.c): memfd and other files of
                // internal mounts.
                _ => {
                    let mut v = Vec::with_capacity(name.len() + 12);
                    v.push(b'/');
                    v.extend_from_slice(name);
                    v.extend_from_slice(b" (deleted)");
                    v
                }
            };
        }
        let mut v = Vec::with_capacity(self.path.len() + 14);
        if self.cut {
            v.extend_from_slice(CUT_MARK);
        }
        if self.path.is_empty() {
            v.push(b'/');
        } else {
            v.extend_from_slice(self.path);
        }
        if self.deleted {
            v.extend_from_slice(b" (deleted)");
        }
        v
    }
}

/// `written` normalized lexically against `base`, the walked directory a
/// relative path starts from (an absolute path starts from the task's
/// root): `//` and `.` dropped, which never changes what a path names, and
/// `..` folded where it steps out of a directory the kernel walked (a real
/// directory, never a symlink). A `..` after a name the caller wrote stays
/// as written: that name may be a symlink, and its `..` is then the parent
/// of the link's target, not the directory the text shows. So the result
/// always names the file the call named, never another one. This is what
/// the rows of the calls the kernel gives no file for show.
pub fn normalize(base: Option<&Walked>, written: &[u8]) -> Vec<u8> {
    let absolute = written.first() == Some(&b'/');
    let (base_path, unknown_top, deleted): (&[u8], bool, bool) = match (absolute, base) {
        (true, _) => (b"", false, false),
        (false, Some(b)) if b.pseudo.is_none() => (b.path, b.cut, b.deleted),
        // A pseudo file or no base at all: the relative path, normalized
        // as far as it goes on its own.
        (false, _) => {
            return relative_only(written);
        }
    };
    // (component, from the walked base)
    let mut parts: Vec<(std::borrow::Cow<[u8]>, bool)> = base_path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .map(|p| (std::borrow::Cow::Borrowed(p), true))
        .collect();
    if deleted {
        // The base directory itself was removed, as /proc would say.
        if let Some((last, _)) = parts.last_mut() {
            let mut v = last.to_vec();
            v.extend_from_slice(b" (deleted)");
            *last = std::borrow::Cow::Owned(v);
        }
    }
    // `..` past the top of a cut base cannot be resolved: kept as written.
    let mut climbs = 0usize;
    for p in written.split(|&b| b == b'/') {
        match p {
            b"" | b"." => {}
            b".." => match parts.last() {
                Some((_, true)) => {
                    parts.pop();
                }
                Some((_, false)) => parts.push((std::borrow::Cow::Borrowed(p), false)),
                None if unknown_top => climbs += 1,
                // The root's parent is the root.
                None => {}
            },
            p => parts.push((std::borrow::Cow::Borrowed(p), false)),
        }
    }
    let mut out = Vec::with_capacity(base_path.len() + written.len() + 4);
    if unknown_top {
        out.extend_from_slice(CUT_MARK);
        for _ in 0..climbs {
            out.extend_from_slice(b"/..");
        }
    }
    for (p, _) in &parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A relative path with no base to join: `.` and `//` dropped, `..` kept
/// (every name in it is the caller's, and may be a symlink).
fn relative_only(written: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = written
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    if parts.is_empty() {
        return b".".to_vec();
    }
    parts.join(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(flags: u8, path: &[u8]) -> Vec<u8> {
        let mut v = vec![flags];
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn walked_paths_read_like_proc() {
        let b = blob(0, b"/usr/bin/true");
        assert_eq!(
            Walked::decode(&b).expect("decodes").display(),
            b"/usr/bin/true"
        );
        let b = blob(ebq_walk_flags::EBQ_WALK_DELETED.0 as u8, b"/tmp/x");
        assert_eq!(
            Walked::decode(&b).expect("decodes").display(),
            b"/tmp/x (deleted)"
        );
        let b = blob(ebq_walk_flags::EBQ_WALK_CUT.0 as u8, b"/a/b/out.txt");
        assert_eq!(
            Walked::decode(&b).expect("decodes").display(),
            b".../a/b/out.txt"
        );
        assert_eq!(Walked::decode(&blob(0, b"")).expect("root").display(), b"/");
        assert!(Walked::decode(b"").is_none());
    }

    #[test]
    fn pseudo_files_are_named_by_their_filesystem() {
        let mut b = vec![ebq_walk_flags::EBQ_WALK_PSEUDO.0 as u8];
        b.extend_from_slice(&0x0102_1994u32.to_le_bytes());
        b.extend_from_slice(&7u64.to_le_bytes());
        b.extend_from_slice(b"/memfd:x");
        assert_eq!(
            Walked::decode(&b).expect("decodes").display(),
            b"/memfd:x (deleted)"
        );
        let mut b = vec![ebq_walk_flags::EBQ_WALK_PSEUDO.0 as u8];
        b.extend_from_slice(&PIPEFS_MAGIC.to_le_bytes());
        b.extend_from_slice(&42u64.to_le_bytes());
        b.extend_from_slice(b"/");
        assert_eq!(Walked::decode(&b).expect("decodes").display(), b"pipe:[42]");
        // The info cut short: not a path.
        assert!(Walked::decode(&[ebq_walk_flags::EBQ_WALK_PSEUDO.0 as u8, 1, 2]).is_none());
    }

    #[test]
    fn written_paths_normalize_lexically() {
        let base = Walked {
            path: b"/tmp/x",
            ..Default::default()
        };
        for (w, want) in [
            (&b"//etc/passwd"[..], &b"/etc/passwd"[..]),
            (b"/etc/./passwd", b"/etc/passwd"),
            (b"/etc/passwd/", b"/etc/passwd"),
            (b"/../../etc/", b"/etc"),
            (b"/", b"/"),
            // A written name may be a symlink: its `..` stays.
            (b"/tmp/../etc/passwd", b"/tmp/../etc/passwd"),
            (b"/a/b/../../c", b"/a/b/../../c"),
        ] {
            assert_eq!(normalize(None, w), want, "{:?}", String::from_utf8_lossy(w));
            assert_eq!(normalize(Some(&base), w), want);
        }
        // Out of the walked base, which has no symlink: folded.
        assert_eq!(normalize(Some(&base), b"./run.sh"), b"/tmp/x/run.sh");
        assert_eq!(normalize(Some(&base), b"../../../bin/true"), b"/bin/true");
        assert_eq!(normalize(Some(&base), b"..//y/./z"), b"/tmp/y/z");
        assert_eq!(normalize(Some(&base), b"sub/../z"), b"/tmp/x/sub/../z");
        assert_eq!(normalize(Some(&base), b""), b"/tmp/x");
        assert_eq!(normalize(None, b"a/./b/../c"), b"a/b/../c");
        assert_eq!(normalize(None, b"../x"), b"../x");
    }

    #[test]
    fn a_deleted_base_says_so() {
        let base = Walked {
            path: b"/tmp/gone",
            deleted: true,
            ..Default::default()
        };
        assert_eq!(normalize(Some(&base), b"f"), b"/tmp/gone (deleted)/f");
        assert_eq!(normalize(Some(&base), b"../f"), b"/tmp/f");
    }

    #[test]
    fn a_cut_base_never_makes_an_absolute_path() {
        let base = Walked {
            path: b"/a/b",
            cut: true,
            ..Default::default()
        };
        assert_eq!(normalize(Some(&base), b"c"), b".../a/b/c");
        assert_eq!(normalize(Some(&base), b"../../../c"), b".../../c");
    }
}
