//! Finds what a function_events query probes: the files its `binary`
//! names (or, with `pid = N` alone, the process's executable and the
//! libraries it has mapped), and in each the function symbols its
//! `function` asks for (kernel/elf.rs), once, before anything loads.
//!
//! - A bare library name (libc.so.6, libssl.so.3) is found as the dynamic
//!   linker would: in /etc/ld.so.cache, then the default directories; a
//!   bare program name (bash) on the default PATH. With `pid = N`, a bare
//!   name is first looked for among what that process has mapped.
//! - With `pid = N`, paths are the process's own: looked up inside its
//!   root (/proc/N/root) with openat2(RESOLVE_IN_ROOT), so a container's
//!   symlink (to /etc/shadow, to ../../..) never leads out of it. The
//!   kernel is then given /proc/self/fd/M of the file opened, not a path
//!   it would look up again.
//! - One file (device and inode) is probed once, however many names or
//!   mappings lead to it.
//! - The probes a query may expand to are capped (`--max-probes`), and a
//!   return probe is refused on a Go binary: its goroutines' stacks move,
//!   and a uretprobe's rewritten return address then crashes the program
//!   (https://github.com/iovisor/bcc/issues/1320,
//!   https://github.com/golang/go/issues/22008).
//!
//! The linker's cache is read by kernel/ldcache.rs.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use crate::abi::types::ebq_func_mode;
use crate::error::{Error, Result};
use crate::model::functions::{
    FixedProbes, FunctionRequest, Resolved, ResolvedBinary, ResolvedFunction,
};

use super::elf;
use super::ldcache::ld_cache;

/// Functions a return probe must not go on: they do not return to their
/// caller once, as the uretprobe's rewritten return address expects.
/// setjmp returns twice, longjmp and the exits never, vfork's child
/// returns on its parent's stack, clone's child on a new one, and
/// swapcontext to another context: a uretprobe there corrupts or kills
/// the program (bpftrace and BCC let it happen). The ELF's entry point
/// (_start) has no return address at all: its stack holds argc.
const NO_RETURN: &[&str] = &[
    "_start",
    "__libc_start_main",
    "__libc_start_call_main",
    "setjmp",
    "_setjmp",
    "__setjmp",
    "sigsetjmp",
    "__sigsetjmp",
    "longjmp",
    "_longjmp",
    "siglongjmp",
    "__longjmp",
    "__longjmp_chk",
    "____longjmp_chk",
    "__libc_longjmp",
    "__libc_siglongjmp",
    "getcontext",
    "setcontext",
    "swapcontext",
    "vfork",
    "__vfork",
    "clone",
    "__clone",
    "clone3",
    "__clone3",
    "__clone_internal",
    "exit",
    "_exit",
    "_Exit",
    "abort",
    "pthread_exit",
    "__pthread_exit",
    "__assert_fail",
    "__stack_chk_fail",
    "__fortify_fail",
    "__chk_fail",
    "__cxa_throw",
    "__cxa_rethrow",
    "_Unwind_RaiseException",
    "_Unwind_Resume",
];

/// Probes a query may expand to unless --max-probes says otherwise.
pub const DEFAULT_MAX_PROBES: usize = 1000;

/// Directories the dynamic linker searches after its cache, and PATH's
/// default for a program named bare.
const LIB_DIRS: &[&str] = &[
    "/lib",
    "/usr/lib",
    "/lib64",
    "/usr/lib64",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
];
const BIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// How resolution is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_probes: usize,
    /// The query needs return probes (retval, duration ...).
    pub returns: bool,
}

/// The limits of `plan`'s resolution.
pub fn limits(plan: &crate::plan::Plan, max_probes: usize) -> Limits {
    Limits {
        max_probes,
        returns: crate::catalog::func::ends(plan.kernel.capture).1,
    }
}

/// Where paths are looked up: the host's root, or a process's.
struct Root {
    pid: Option<u32>,
    /// /proc/PID/root, open.
    dir: Option<File>,
}

impl Root {
    fn of(pid: Option<u32>) -> Result<Root> {
        let Some(p) = pid else {
            return Ok(Root {
                pid: None,
                dir: None,
            });
        };
        let dir = File::open(format!("/proc/{p}/root"))
            .map_err(|e| Error::Usage(format!("pid = {p}: cannot read its files ({e})")))?;
        // A process whose root is ebq's own, in ebq's mount namespace, is
        // looked up as the host's; any other (a container, a chroot) in
        // its own root. The root is compared, not the namespace: a chroot
        // keeps its mount namespace.
        let id = |m: std::fs::Metadata| (m.dev(), m.ino());
        let same = dir.metadata().ok().map(id) == std::fs::metadata("/").ok().map(id)
            && std::fs::read_link(format!("/proc/{p}/ns/mnt")).ok()
                == std::fs::read_link("/proc/self/ns/mnt").ok();
        Ok(Root {
            pid,
            dir: (!same).then_some(dir),
        })
    }

    /// Opens `path` (absolute, in this root's namespace), never leaving it.
    fn open(&self, path: &str) -> std::io::Result<File> {
        let Some(dir) = &self.dir else {
            return open_file(path);
        };
        use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
        let how = OpenHow::new()
            .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let fd = openat2(dir, path, how).map_err(std::io::Error::from)?;
        Ok(File::from(fd))
    }

    fn exists(&self, path: &str) -> bool {
        self.open(path)
            .is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file()))
    }

    fn shown(&self, path: &str) -> String {
        match (self.pid, &self.dir) {
            (Some(p), Some(_)) => format!("{path} (in pid {p}'s root)"),
            _ => path.to_string(),
        }
    }
}

/// Opens a file to read, never blocking: a FIFO named as a binary would
/// hang a plain open(2) until something writes to it, and a terminal
/// must not become ebq's. What is not a regular file is refused after.
fn open_file(path: &str) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// `root`'s /etc/ld.so.cache, read (64 MiB at most), or nothing.
fn root_cache(root: &Root) -> BTreeMap<String, Vec<String>> {
    use std::io::Read as _;
    let mut data = Vec::new();
    let Ok(f) = root.open("/etc/ld.so.cache") else {
        return BTreeMap::new();
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) || f.take(64 << 20).read_to_end(&mut data).is_err()
    {
        return BTreeMap::new();
    }
    ld_cache(&data)
}

/// What `asked`, a binary not found, may have meant: the nearest name in
/// its directory for a path; for a bare name, the nearest the linker's
/// cache or the default directories hold (inside `root`, their names
/// listed through a directory opened there).
fn nearest_binary(root: &Root, asked: &str) -> Option<String> {
    use crate::catalog::suggest;
    use std::os::fd::AsRawFd as _;
    // The files of `dir` (or links: a library's soname is one), by name.
    let list = |dir: &str| -> Vec<String> {
        let Ok(f) = root.open(dir) else {
            return Vec::new();
        };
        std::fs::read_dir(format!("/proc/self/fd/{}", f.as_raw_fd())).map_or(Vec::new(), |d| {
            d.take(100_000)
                .filter_map(|e| {
                    let e = e.ok()?;
                    let t = e.file_type().ok()?;
                    (t.is_file() || t.is_symlink()).then_some(())?;
                    e.file_name().into_string().ok()
                })
                .collect()
        })
    };
    if asked.ends_with('/') || asked.trim().is_empty() {
        return None;
    }
    // The nearest that is a file (a link to a directory, /bin, is none),
    // a few tried.
    let nearest = |wanted: &str, mut names: Vec<String>, is_file: &dyn Fn(&str) -> bool| {
        for _ in 0..5 {
            let hit = suggest(wanted, names.iter().map(String::as_str))?.to_string();
            if is_file(&hit) {
                return Some(hit);
            }
            names.retain(|n| *n != hit);
        }
        None
    };
    if let Some((dir, base)) = asked.rsplit_once('/') {
        let dir = if dir.is_empty() { "/" } else { dir };
        let dir = dir.trim_end_matches('/');
        let hit = nearest(base, list(if dir.is_empty() { "/" } else { dir }), &|n| {
            root.exists(&format!("{dir}/{n}"))
        })?;
        return Some(format!("{dir}/{hit}"));
    }
    let cache = root_cache(root);
    let mut names: Vec<String> = cache.keys().cloned().collect();
    for d in LIB_DIRS.iter().chain(BIN_DIRS) {
        names.extend(list(d));
    }
    names.sort_unstable();
    names.dedup();
    nearest(asked, names, &|n| {
        cache.contains_key(n)
            || LIB_DIRS
                .iter()
                .chain(BIN_DIRS)
                .any(|d| root.exists(&format!("{d}/{n}")))
    })
}

/// "; nearest: NAME" for an error about `asked`, or nothing.
fn near(root: &Root, asked: &str) -> String {
    nearest_binary(root, asked).map_or(String::new(), |n| {
        format!("; nearest: {}", crate::model::sanitize::sanitize(&n))
    })
}

/// The path a bare name stands for in `root`, or None: a library in the
/// linker's cache, else in the default directories; a program (a name
/// without ".so") on the default PATH first.
fn find_bare(root: &Root, name: &str) -> Option<String> {
    let cache = root_cache(root);
    let hit = cache.get(name).or_else(|| {
        // libssl.so for libssl.so.3: the one soname it starts.
        let mut it = cache
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}.")));
        match (it.next(), it.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    });
    if let Some(p) = hit.and_then(|v| v.iter().find(|p| root.exists(p))) {
        return Some(p.clone());
    }
    let dirs: Vec<&str> = if name.contains(".so") {
        LIB_DIRS.iter().chain(BIN_DIRS).copied().collect()
    } else {
        BIN_DIRS.iter().chain(LIB_DIRS).copied().collect()
    };
    dirs.iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| root.exists(p))
        .or_else(|| {
            // libssl.so for libssl.so.3 on a host with no linker cache
            // (a minimal root): the one versioned file of that name in a
            // directory.
            if root.dir.is_some() {
                return None;
            }
            LIB_DIRS.iter().find_map(|d| {
                let mut it = std::fs::read_dir(d).ok()?.filter_map(|e| {
                    let n = e.ok()?.file_name().into_string().ok()?;
                    n.starts_with(&format!("{name}."))
                        .then(|| format!("{d}/{n}"))
                });
                match (it.next(), it.next()) {
                    (Some(p), None) => Some(p),
                    _ => None,
                }
            })
        })
}

/// One file-backed executable mapping of a process.
#[derive(Debug, Clone)]
struct Mapped {
    /// Its path as /proc/PID/maps shows it (relative to ebq's root, so
    /// not a path in a chrooted process's own root).
    path: String,
    /// Its address range (start-end), the name of its
    /// /proc/PID/map_files/ link: the mapped file itself, even deleted
    /// or replaced since, in any root.
    range: String,
}

/// The file-backed executable mappings of `pid`, each file once.
fn mapped_files(pid: u32) -> Result<Vec<Mapped>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| Error::Usage(format!("pid = {pid}: cannot read its mappings ({e})")))?;
    let mut out: Vec<Mapped> = Vec::new();
    for line in maps.lines() {
        // range perms offset dev inode path; the path is the rest of the
        // line after five fields and their padding (it may hold spaces).
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..5 {
            let t = rest.trim_start();
            let end = t.find(' ').unwrap_or(t.len());
            fields.push(&t[..end]);
            rest = &t[end..];
        }
        let path = rest.trim_start();
        let (Some(range), Some(perms)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if perms.contains('x') && path.starts_with('/') && !out.iter().any(|m| m.path == path) {
            out.push(Mapped {
                path: path.to_string(),
                range: range.to_string(),
            });
        }
    }
    Ok(out)
}

/// The file of one mapping of `pid`.
fn open_mapped(pid: u32, m: &Mapped) -> std::io::Result<File> {
    open_file(&format!("/proc/{pid}/map_files/{}", m.range))
}

/// Whether `base` (a file name) is the library `name` (libssl.so for
/// libssl.so.3) or the program `name`.
fn names(base: &str, name: &str) -> bool {
    base == name || base.starts_with(&format!("{name}.")) || base.starts_with(&format!("{name}-"))
}

/// Finds the files and functions `req` asks for.
pub fn resolve(req: &FunctionRequest, limits: Limits) -> Result<Resolved> {
    if let Some(why) = &req.refused {
        return Err(Error::Usage(why.clone()));
    }
    if let Some(p) = req.pid {
        // A kernel thread (or a process gone) has no executable.
        if std::fs::read_link(format!("/proc/{p}/exe")).is_err() {
            return Err(Error::Usage(format!(
                "pid = {p}: no such process, or a kernel thread: it runs no user-space code to probe"
            )));
        }
    }
    if let Some(fp) = req.fixed {
        return resolve_fixed(fp, req, limits);
    }
    let root = Root::of(req.pid)?;
    let maps = match req.pid {
        Some(p) => mapped_files(p)?,
        None => Vec::new(),
    };
    let named = req.named_binaries();
    let mut notes = Vec::new();
    let mut candidates = Vec::new();
    let mapped = |asked: &str, m: &Mapped| -> Result<Candidate> {
        let p = req.pid.unwrap_or(0);
        let file = open_mapped(p, m).map_err(|e| {
            Error::Usage(format!(
                "binary = '{asked}': cannot open {}'s mapping of {}: {e}",
                p, m.path
            ))
        })?;
        Ok(Candidate {
            asked: asked.to_string(),
            shown: m.path.clone(),
            path: m.path.clone(),
            file,
        })
    };
    match (&named, req.pid) {
        (Some(v), _) if v.is_empty() => {
            return Err(Error::Usage(
                "function_events: the WHERE allows no binary (its binary conditions exclude each other)"
                    .into(),
            ))
        }
        (Some(v), _) => {
            for b in v {
                if b.trim().is_empty() || (b.contains('/') && !b.starts_with('/')) {
                    return Err(Error::Usage(format!(
                        "binary = '{b}': give an absolute path or a bare name (libc.so.6, bash)"
                    )));
                }
                // A bare name the process has mapped (libc for libc.so.6):
                // that mapping's file.
                let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
                if !b.contains('/') {
                    if let Some(m) = maps.iter().find(|m| names(&base(&m.path), b)) {
                        notes.push(format!("{b}: {}, mapped by pid {}", m.path, req.pid.unwrap_or(0)));
                        candidates.push(mapped(b, m)?);
                        continue;
                    }
                }
                let path = if b.contains('/') {
                    b.clone()
                } else {
                    let p = find_bare(&root, b).ok_or_else(|| {
                        Error::Usage(format!(
                            "binary = '{b}': no such program or library (looked in {}/etc/ld.so.cache{}, {} and {}){}",
                            req.pid.map_or(String::new(), |p| format!("pid {p}'s ")),
                            if maps.is_empty() { "" } else { ", its mappings" },
                            LIB_DIRS.join(":"),
                            BIN_DIRS.join(":"),
                            near(&root, b)
                        ))
                    })?;
                    notes.push(format!("{b}: {}", root.shown(&p)));
                    p
                };
                let file = root.open(&path).map_err(|e| {
                    let near = match e.kind() {
                        std::io::ErrorKind::NotFound => near(&root, &path),
                        _ => String::new(),
                    };
                    Error::Usage(format!(
                        "binary = '{b}': cannot open {}: {e}{near}",
                        root.shown(&path)
                    ))
                })?;
                candidates.push(Candidate {
                    asked: b.clone(),
                    shown: root.shown(&path),
                    path,
                    file,
                });
            }
        }
        (None, Some(p)) => {
            notes.push(format!("{} files mapped executable by the process", maps.len()));
            for m in &maps {
                // One that cannot be opened (gone meanwhile) is left out.
                match open_mapped(p, m) {
                    Ok(file) => candidates.push(Candidate {
                        asked: m.path.clone(),
                        shown: m.path.clone(),
                        path: m.path.clone(),
                        file,
                    }),
                    Err(e) => notes.push(format!("{}: left out: {e}", m.path)),
                }
            }
        }
        (None, None) => {
            return Err(Error::Usage(
                "function_events needs to know what to probe: add binary = '/path/to/program' (or a library: binary = 'libc.so.6'), or pid = N"
                    .into(),
            ))
        }
    }
    let mut out = probe_files(req, limits, candidates, &mut notes, false)?;
    if out.resolved.functions.is_empty() {
        let asked: Vec<String> = req
            .functions
            .iter()
            .flatten()
            .map(|m| match m {
                crate::model::functions::NameMatch::Exact(s) => format!("'{s}'"),
                crate::model::functions::NameMatch::Like(l) => format!("LIKE '{}'", l.pattern),
            })
            .collect();
        let near = asked
            .iter()
            .find_map(|a| {
                crate::model::schema::suggest(
                    a.trim_matches('\''),
                    out.unmatched.iter().map(String::as_str),
                )
            })
            .map(|n| format!("; nearest: {n}"))
            .unwrap_or_default();
        if req.usdt {
            return Err(Error::Usage(format!(
                "no USDT probe of {} matches{near} (ebq --symbols BINARY lists its probes)",
                if named.is_some() {
                    "the binary"
                } else {
                    "the process's files"
                },
            )));
        }
        return Err(Error::Usage(format!(
            "function {} is in no function symbol of {}{near} (ebq --symbols BINARY lists them)",
            if asked.is_empty() {
                "(any)".into()
            } else {
                asked.join(" or ")
            },
            if named.is_some() {
                "the binary"
            } else {
                "the process's files"
            },
        )));
    }
    out.resolved.notes = notes;
    Ok(out.resolved)
}

/// A table's fixed probes (model/functions.rs, FixedProbes): the
/// functions in every distinct copy of the program or library that
/// processes run now (found through each process: its /proc/PID/exe, or
/// the library it maps, looked up in its own root), and in the host's
/// copy (the program on PATH, the library where the linker finds it),
/// for processes started later. With `pid = N`, that process's alone.
fn resolve_fixed(fp: &FixedProbes, req: &FunctionRequest, limits: Limits) -> Result<Resolved> {
    let mut notes = Vec::new();
    let mut candidates = Vec::new();
    let pids: Vec<u32> = match req.pid {
        Some(p) => vec![p],
        None => std::fs::read_dir("/proc")
            .map_err(|e| Error::Usage(format!("reading /proc: {e}")))?
            .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
    };
    let has = |f: &File| {
        let Ok(mut f) = f.try_clone() else {
            return false;
        };
        use std::io::Seek as _;
        let found = elf::read(&mut f).is_ok_and(|i| {
            i.funcs
                .iter()
                .any(|s| fp.functions.iter().any(|(n, _)| *n == s.name))
        });
        let _ = f.rewind();
        found
    };
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    // Each file once, by device and inode, before any of it is read:
    // a thousand shells of one bash read one bash.
    let mut seen = std::collections::BTreeSet::new();
    let id = |f: &File| f.metadata().ok().map(|m| (m.dev(), m.ino()));
    let mut running = 0;
    for p in pids {
        // A process that ended meanwhile, or a kernel thread: none.
        let Ok(exe) = std::fs::read_link(format!("/proc/{p}/exe")) else {
            continue;
        };
        let exe = exe.to_string_lossy().into_owned();
        let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe).to_string();
        if let Some(prog) = fp.program {
            if base(&exe) != prog {
                continue;
            }
        }
        running += 1;
        let mut found = None;
        if fp.program.is_some() {
            if let Ok(file) = open_file(&format!("/proc/{p}/exe")) {
                if !seen.insert(id(&file)) {
                    continue;
                }
                if has(&file) {
                    found = Some((file, exe.clone()));
                }
            }
        }
        if found.is_none() {
            // The functions are in a library the process maps.
            found = fp.library.and_then(|l| {
                let m = mapped_files(p)
                    .ok()?
                    .into_iter()
                    .find(|m| names(&base(&m.path), l))?;
                let f = open_mapped(p, &m).ok()?;
                seen.insert(id(&f)).then_some((f, m.path))
            });
        }
        let Some((file, path)) = found else {
            continue;
        };
        candidates.push(Candidate {
            asked: fp.what().into(),
            shown: path.clone(),
            path,
            file,
        });
    }
    // The host's copy, for the processes started after ebq.
    let host = Root::of(None)?;
    if req.pid.is_none() {
        let path = match (fp.program, fp.library) {
            (Some(prog), _) => BIN_DIRS
                .iter()
                .map(|d| format!("{d}/{prog}"))
                .find(|p| host.exists(p)),
            (None, Some(lib)) => find_bare(&host, lib),
            (None, None) => None,
        };
        if let Some(path) = path {
            if let Ok(file) = open_file(&path) {
                candidates.push(Candidate {
                    asked: fp.what().into(),
                    shown: path.clone(),
                    path,
                    file,
                });
            }
        }
    }
    notes.push(format!(
        "{running} process{} with {} running{}",
        if running == 1 { "" } else { "es" },
        fp.what(),
        if req.pid.is_none() {
            format!(", and the host's {}", fp.what())
        } else {
            String::new()
        }
    ));
    let out = probe_files(req, limits, candidates, &mut notes, true)?;
    if out.resolved.functions.is_empty() {
        let names: Vec<&str> = fp.functions.iter().map(|(n, _)| *n).collect();
        return Err(Error::Usage(match req.pid {
            Some(p) => format!(
                "pid = {p}: no {} with {} in it (not that program, or it does not map that library)",
                fp.what(),
                names.join(", ")
            ),
            None => format!(
                "no {} with {} was found to probe: no process runs one, and the host has none",
                fp.what(),
                names.join(", ")
            ),
        }));
    }
    let mut r = out.resolved;
    for f in &mut r.functions {
        f.mode = fp.mode(&f.name);
    }
    r.notes = notes;
    Ok(r)
}

/// A file to look for functions in, open: the kernel is given this very
/// file (/proc/self/fd/N), never its path to look up again, which a
/// process could have pointed elsewhere meanwhile.
struct Candidate {
    /// What the query named it.
    asked: String,
    /// Its path as --explain and errors show it (in pid N's root ...).
    shown: String,
    /// Its path as rows show it: as the process that has it sees it.
    path: String,
    file: File,
}

struct Probed {
    resolved: Resolved,
    /// The function names of files where none was asked for (the error's
    /// suggestion).
    unmatched: Vec<String>,
}

/// The functions `req` asks for in each file, each file once.
/// `lenient`: a file that cannot be read is left out with a note (a
/// process's copy of a program), not an error.
fn probe_files(
    req: &FunctionRequest,
    limits: Limits,
    candidates: Vec<Candidate>,
    notes: &mut Vec<String>,
    lenient: bool,
) -> Result<Probed> {
    let mut out = Resolved {
        pid: req.pid,
        usdt: req.usdt,
        ..Default::default()
    };
    let mut seen = BTreeMap::new();
    let mut nearest: Vec<String> = Vec::new();
    for Candidate {
        asked,
        shown,
        path,
        mut file,
    } in candidates
    {
        let meta = file
            .metadata()
            .map_err(|e| Error::Usage(format!("binary = '{asked}': {e}")))?;
        if !meta.is_file() {
            return Err(Error::Usage(format!(
                "binary = '{asked}': {} is not a file",
                shown
            )));
        }
        if seen.insert((meta.dev(), meta.ino()), ()).is_some() {
            // Many processes of one program: said once, in their count.
            if lenient {
                continue;
            }
            notes.push(format!("{}: the same file as another, probed once", shown));
            continue;
        }
        let info = match elf::read(&mut file) {
            Ok(i) => i,
            Err(e) if lenient => {
                notes.push(format!("{shown}: left out: {e}"));
                continue;
            }
            Err(e) => return Err(Error::Usage(format!("binary = '{asked}': {shown}: {e}"))),
        };
        let b = out.binaries.len() as u32;
        let mut ids = Vec::new();
        let what = if req.usdt {
            // Static probes: one attachment per provider:name (libbpf
            // puts a uprobe at each of its notes' locations).
            let mut named: Vec<String> = Vec::new();
            for u in &info.usdt {
                let full = format!("{}:{}", u.provider, u.name);
                if !req.wants_usdt(&u.provider, &u.name) {
                    nearest.push(full);
                    continue;
                }
                if named.contains(&full) {
                    continue;
                }
                named.push(full.clone());
                ids.push(out.functions.len() as u32);
                out.functions.push(ResolvedFunction {
                    binary: b,
                    name: full,
                    mode: 0,
                    offset: u.pc,
                });
            }
            "probes (name LIKE)"
        } else {
            // A version other than the default answers to its full name
            // only (memcpy is memcpy@@GLIBC_2.14, not memcpy@GLIBC_2.2.5).
            let mut wanted: Vec<&elf::FuncSym> = info
                .funcs
                .iter()
                .filter(|f| {
                    if f.hidden {
                        req.wants(&[&f.versioned()])
                    } else {
                        req.wants(&[&f.name, &f.versioned(), &f.shown()])
                    }
                })
                .collect();
            if limits.returns {
                if let Some(f) = wanted.iter().find(|f| {
                    (f.entry || NO_RETURN.contains(&f.name.as_str())) && req.names_exactly(&f.name)
                }) {
                    return Err(Error::Usage(format!(
                        "function '{}' of {shown} does not return to its caller as a function does (a return probe there would corrupt or kill the program): {}",
                        f.name,
                        entry_only(req)
                    )));
                }
                let before = wanted.len();
                wanted.retain(|f| !f.entry && !NO_RETURN.contains(&f.name.as_str()));
                if wanted.len() < before {
                    notes.push(format!(
                        "{shown}: {} functions that do not return as functions do (_start, setjmp, exit ...) left out: the return is traced",
                        before - wanted.len()
                    ));
                }
            }
            if wanted.is_empty() {
                // An indirect function (strlen in glibc) is its resolver.
                if let Some(i) = info.ifuncs.iter().find(|i| req.names_exactly(i)) {
                    let candidates: Vec<&str> = info
                        .funcs
                        .iter()
                        .map(|f| f.name.as_str())
                        .filter(|n| n.starts_with(&format!("__{i}_")))
                        .take(4)
                        .collect();
                    let hint = if candidates.is_empty() {
                        format!(
                            "and the file exports none of them (a debug symbol file would name them: __{i}_avx2 ...)"
                        )
                    } else {
                        format!("name those instead: {}", candidates.join(", "))
                    };
                    return Err(Error::Usage(format!(
                        "function '{i}' of {shown} is an indirect function (IFUNC): the symbol is its resolver, run once at load; the code called is chosen then for this CPU, {hint}"
                    )));
                }
                nearest.extend(info.funcs.iter().map(|f| f.name.clone()));
            } else if limits.returns && info.go {
                return Err(Error::Usage(format!(
                    "{shown} is a Go program: ebq does not put return probes on Go functions (Go moves goroutine stacks, and a uretprobe's return address would crash it: golang/go#22008); entry probes work: {}",
                    entry_only(req)
                )));
            }
            // One probe per offset: aliases (malloc, __libc_malloc) are
            // one function, named as the WHERE names it, else by its
            // exported, global, least decorated name.
            let rank = |f: &elf::FuncSym| {
                (
                    req.names_exactly(&f.name),
                    f.dynamic,
                    f.global,
                    std::cmp::Reverse(f.name.bytes().take_while(|&b| b == b'_').count()),
                    std::cmp::Reverse(f.name.len()),
                )
            };
            let mut by_offset: BTreeMap<u64, &elf::FuncSym> = BTreeMap::new();
            for f in wanted {
                by_offset
                    .entry(f.offset)
                    .and_modify(|k| {
                        if rank(f) > rank(k) {
                            *k = f;
                        }
                    })
                    .or_insert(f);
            }
            for (offset, f) in by_offset {
                ids.push(out.functions.len() as u32);
                out.functions.push(ResolvedFunction {
                    binary: b,
                    name: f.name.clone(),
                    mode: if info.go && go_abi(&f.name) {
                        ebq_func_mode::EBQ_FUNC_MODE_GO.0
                    } else {
                        ebq_func_mode::EBQ_FUNC_MODE_PLAIN.0
                    },
                    offset,
                });
            }
            "functions (function LIKE)"
        };
        if ids.is_empty() {
            continue;
        }
        if out.functions.len() > limits.max_probes {
            let (noun, narrow) = what.split_once(' ').unwrap_or((what, ""));
            return Err(Error::Usage(format!(
                "the query asks for more than {} {noun} ({} so far, in {shown}): narrow {}, or raise --max-probes",
                limits.max_probes,
                out.functions.len(),
                narrow.trim_matches(|c| c == '(' || c == ')'),
            )));
        }
        let attach = format!("/proc/self/fd/{}", file.as_raw_fd());
        out.binaries.push(ResolvedBinary {
            shown,
            path,
            attach,
            file: Some(file),
            functions: ids,
            go: info.go,
        });
    }
    Ok(Probed {
        resolved: out,
        unmatched: nearest,
    })
}

/// How a query that needs return probes can do without: by what made it
/// need them, the WHERE's event or the columns read.
fn entry_only(req: &FunctionRequest) -> &'static str {
    if req.ends.is_empty() {
        "select only what its entry knows (no retval, duration or str(retval))"
    } else {
        "trace its entry alone (event = 'entry'), reading only what the entry knows"
    }
}

/// Whether a Go binary's function `name` takes its arguments in Go's
/// register ABI (ABIInternal, Go 1.17): a package-qualified Go name
/// (main.handle, net/http.(*Server).Serve), not an assembly function's
/// stack-ABI symbol (.abi0) nor a C function linked in by cgo (no dot).
fn go_abi(name: &str) -> bool {
    // A C compiler's clone of a C function (cgo's C is built -O2):
    // work.part.0, f.constprop.1, g.isra.0, h.cold.
    const C_CLONES: [&str; 7] = [
        "part",
        "constprop",
        "isra",
        "cold",
        "lto_priv",
        "localalias",
        "llvm",
    ];
    let c_clone = name.split_once('.').is_some_and(|(head, rest)| {
        let first = rest.split('.').next().unwrap_or("");
        head.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && C_CLONES.contains(&first)
    });
    name.contains('.') && !name.ends_with(".abi0") && !name.starts_with('.') && !c_clone
}

/// `ebq --symbols BINARY`: the function symbols of a file,
/// one per line: offset, binding, name@version.
pub fn list(binary: &str) -> Result<String> {
    if binary.trim().is_empty() {
        return Err(Error::Usage(
            "--symbols takes a binary: a path, or a bare program or library name (bash, libc.so.6)"
                .into(),
        ));
    }
    let root = Root::of(None)?;
    let path = if binary.contains('/') {
        binary.to_string()
    } else {
        find_bare(&root, binary).ok_or_else(|| {
            Error::Usage(format!(
                "{binary}: no such program or library{}",
                near(&root, binary)
            ))
        })?
    };
    let mut f = open_file(&path).map_err(|e| {
        let n = match e.kind() {
            std::io::ErrorKind::NotFound => near(&root, &path),
            _ => String::new(),
        };
        Error::Usage(format!("{path}: {e}{n}"))
    })?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::Usage(format!("{path}: not a file")));
    }
    let info = elf::read(&mut f).map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    let mut s = format!(
        "# {path}: {} function symbols, {} USDT probes ({}{}{})\n",
        info.funcs.len(),
        info.usdt.len(),
        if info.dynamic {
            "shared object or PIE"
        } else {
            "executable"
        },
        if info.symtab {
            ", .symtab"
        } else {
            ", .dynsym only"
        },
        if info.go {
            ", Go: entry probes only"
        } else {
            ""
        }
    );
    for u in &info.usdt {
        let probe = format!("{}:{}", u.provider, u.name);
        s.push_str(&format!(
            "{:#010x} usdt   {} ({})\n",
            u.pc,
            crate::model::sanitize::sanitize(&probe),
            crate::model::sanitize::sanitize(&u.args)
        ));
    }
    for i in &info.ifuncs {
        s.push_str(&format!(
            "{:10} ifunc  {} (its resolver: not probed)\n",
            "",
            crate::model::sanitize::sanitize(i)
        ));
    }
    for f in &info.funcs {
        let versioned = f.shown();
        let name = crate::model::sanitize::sanitize(&versioned);
        s.push_str(&format!(
            "{:#010x} {:<6} {name}\n",
            f.offset,
            if f.dynamic {
                "export"
            } else if f.global {
                "global"
            } else {
                "local"
            }
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::go_abi;

    #[test]
    fn go_names_take_go_registers_and_c_names_c_ones() {
        // Go's, as go1.24 names them.
        for g in [
            "main.main",
            "net/http.(*Server).Serve",
            "type:.eq.main.T",
            "go:(*struct { F int }).M",
            "github.com/x/y.Handle",
        ] {
            assert!(go_abi(g), "{g}");
        }
        // Assembly's stack ABI, cgo's C and a C compiler's clones.
        for c in [
            "runtime.morestack_noctxt.abi0",
            "_cgo_topofstack",
            "x_cgo_init",
            "crosscall2",
            "gogo",
            "work.part.0",
            "f.constprop.1",
            "g.isra.0",
            "h.cold",
        ] {
            assert!(!go_abi(c), "{c}");
        }
    }
}
