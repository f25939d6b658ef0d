//! Loads a plan into the kernel: opens the embedded object, turns off the
//! programs the plan does not need, writes the load-time configuration
//! (rodata), loads (the verifier runs here), fills the filter maps and
//! attaches. `Kernel` owns the skeleton and every link: dropping it detaches
//! and unloads everything, on every path out of a run.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{libbpf_sys, Link, MapCore, MapFlags, OpenObject, PrintLevel};

use super::preflight;
use super::variants::{self, Variants};
use crate::abi::skel::{EbqSkel, EbqSkelBuilder};
use crate::abi::types::{
    ebq_agg_key, ebq_agg_val, ebq_cgroup_key, ebq_comm_key, ebq_int_key, ebq_prefix_key, ebq_stat,
};
use crate::error::{Error, KernelError, Result};
use crate::model::probe::{Attach, Program, UprobeTarget};
use crate::plan::physical::KernelConfig;

/// Counters from the `stats` map, summed over CPUs.
#[derive(Debug, Default, Clone)]
pub struct KernelStats {
    /// Events each attached program sent up, and lost (the ring buffer
    /// was full), in plan order.
    pub sent: Vec<(&'static str, u64, u64)>,
    pub lost: u64,
    pub filtered: u64,
    pub follow_full: u64,
    /// Updates the kernel's aggregation map had no room for.
    pub agg_missed: u64,
    /// Events aggregated in the kernel (never sent up).
    pub aggregated: u64,
}

impl KernelStats {
    pub fn total_sent(&self) -> u64 {
        self.sent.iter().map(|(_, n, _)| n).sum()
    }
}

pub struct Kernel<'obj> {
    /// Attached programs: dropping a link detaches its program. Declared
    /// first, so dropped first: a USDT link's detach frees its argument
    /// specs in the object's USDT manager (libbpf's usdt.c,
    /// bpf_link_usdt_detach), which closing the object frees; the other
    /// way round is a use after free (it corrupted the heap).
    links: std::cell::RefCell<Vec<(&'static str, Link)>>,
    skel: EbqSkel<'obj>,
    /// Optional programs left out because their tracepoint is missing.
    pub dropped: Vec<&'static str>,
    /// Programs left out because this kernel has the tracepoint their
    /// `unless` names (an old kernels' way).
    pub replaced: Vec<&'static str>,
    /// The programs' ways on this kernel (variants.rs).
    pub variants: Variants,
}

/// libbpf's messages of the current load, for a verifier rejection.
static LIBBPF_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn collect_log(_level: PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        log.extend(msg.lines().map(str::to_string));
        let excess = log.len().saturating_sub(400);
        log.drain(..excess);
    }
}

/// The verifier's statistics lines from libbpf's log, one line per program.
fn print_verifier_stats() {
    let log = LIBBPF_LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let mut prog = String::new();
    let mut stats = Vec::new();
    for line in &log {
        if let Some(rest) = line.strip_prefix("libbpf: prog '") {
            if let Some(end) = rest.find('\'') {
                prog = rest[..end].to_string();
            }
        } else if line.starts_with("verification time") || line.starts_with("processed ") {
            stats.push(line.trim().to_string());
            if line.starts_with("processed ") {
                eprintln!("ebq: verifier: {prog}: {}", stats.join("; "));
                stats.clear();
            }
        }
    }
}

fn log_tail(n: usize) -> String {
    let log = LIBBPF_LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let start = log.len().saturating_sub(n);
    log[start..].join("\n  ")
}

/// Bytes of a generated ABI struct, for a map key or value.
fn bytes_of<T: plain::Plain>(v: &T) -> &[u8] {
    // SAFETY: T is one of the generated bpf/ebq.h structs, which are Plain
    // (src/exec/record.rs, below): integers and byte arrays without
    // implicit padding, fully initialized.
    unsafe { plain::as_bytes(v) }
}

// SAFETY: generated from bpf/ebq.h; integers and byte arrays, explicit
// padding only, valid for any bytes.
unsafe impl plain::Plain for ebq_int_key {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_comm_key {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_prefix_key {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_agg_key {}
// SAFETY: as above.
unsafe impl plain::Plain for ebq_agg_val {}

fn kernel_err(what: &str, e: libbpf_rs::Error) -> Error {
    KernelError::failed(what, e)
}

/// The embedded object lacks something the catalog names: ebq's bug
/// (kernel/load.rs's tests check it cannot happen).
fn missing(what: String) -> Error {
    Error::Internal(format!("{what} is missing from the BPF object"))
}

/// common_maps_for() on a skeleton's open maps: each skeleton has a
/// struct of its own, with these names.
macro_rules! common_maps_of {
    ($variants:expr, $maps:expr) => {{
        let m = &mut $maps;
        $crate::kernel::load::common_maps_for(
            $variants,
            &mut m.inflight,
            [
                &mut m.int_sets,
                &mut m.comm_sets,
                &mut m.followed,
                &mut m.cgroup_verdicts,
            ],
        )
    }};
}
#[cfg(test)] // For kernel/selftest.rs; load() names it in place.
pub(crate) use common_maps_of;

/// The maps of bpf/common.bpf.h (every object that includes it has them)
/// as this kernel's variants need them (variants.rs), before load:
/// `inflight` an LRU hash by thread id without task storage, and the
/// filter hashes preallocated on kernels that take the compat object.
pub(super) fn common_maps_for(
    variants: &Variants,
    inflight: &mut libbpf_rs::OpenMapMut<'_>,
    hashes: [&mut libbpf_rs::OpenMapMut<'_>; 4],
) -> Result<()> {
    if !variants.task_storage {
        // An LRU hash by thread id: preallocated, as LRU maps must be.
        inflight
            .set_type(libbpf_rs::MapType::LruHash)
            .and_then(|_| inflight.set_map_flags(0))
            .and_then(|_| inflight.set_max_entries(variants::INFLIGHT_THREADS))
            .map_err(|e| kernel_err("making the in-flight map a hash", e))?;
    }
    if !variants.bpf_loop || preflight::release_before(6, 1) {
        // From 5.7 to 6.0 a tracing program that uses a hash map the
        // kernel allocates into at run time (BPF_F_NO_PREALLOC) is a
        // kernel warning, a backtrace in dmesg (a panic with
        // panic_on_warn; a refusal on PREEMPT_RT) at its load:
        // check_map_prog_compatibility() in kernel/bpf/verifier.c, from
        // 94dacdbd5d2d until bpf_mem_alloc let 96da3f7d489d drop it. Those
        // kernels, and any run that takes the compat object, get them
        // preallocated: some MiB more for -p and container filters.
        for map in hashes {
            map.set_map_flags(0)
                .map_err(|e| kernel_err("preallocating the filter maps", e))?;
        }
    }
    Ok(())
}

/// Loads the kernel side of a query: opens the embedded object (with
/// `btf`, a small copy of the kernel's BTF, in place of the whole of it),
/// writes `config`'s configuration, sizes and fills its maps, loads the
/// programs it names and attaches them.
pub fn load<'obj>(
    storage: &'obj mut MaybeUninit<OpenObject>,
    config: &KernelConfig,
    btf: Option<&Path>,
) -> Result<Kernel<'obj>> {
    let custom = match btf {
        Some(p) => Some(
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| Error::Internal(format!("{} holds a NUL", p.display())))?,
        ),
        None => None,
    };
    let open_opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as libbpf_sys::size_t,
        btf_custom_path: custom.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        ..Default::default()
    };
    let variants = Variants::detect()?;
    // Without bpf_loop, the compat build of the object (variants.rs).
    crate::abi::use_compat(!variants.bpf_loop);
    // libbpf copies btf_custom_path while opening; `custom` outlives that.
    let mut open = EbqSkelBuilder::default()
        .open_opts(open_opts, storage)
        .map_err(|e| kernel_err("opening the embedded BPF object", e))?;

    let cpus = libbpf_rs::num_possible_cpus().map_err(|e| kernel_err("counting CPUs", e))?;
    let m = &config.maps;
    open.maps
        .scratch
        .set_max_entries(cpus as u32)
        .and_then(|_| open.maps.events.set_max_entries(m.events))
        .and_then(|_| open.maps.agg_map.set_max_entries(m.agg_map))
        .and_then(|_| open.maps.int_sets.set_max_entries(m.int_sets))
        .and_then(|_| open.maps.comm_sets.set_max_entries(m.comm_sets))
        .and_then(|_| open.maps.path_prefixes.set_max_entries(m.path_prefixes))
        .and_then(|_| open.maps.followed.set_max_entries(m.followed))
        .and_then(|_| open.maps.cgroup_verdicts.set_max_entries(m.cgroup_verdicts))
        .and_then(|_| open.maps.func_inflight.set_max_entries(m.func_inflight))
        .and_then(|_| open.maps.block_start.set_max_entries(m.block_inflight))
        .and_then(|_| open.maps.sched_times.set_max_entries(m.sched_tasks))
        .and_then(|_| open.maps.tcp_socks.set_max_entries(m.tcp_socks))
        .and_then(|_| open.maps.tcp_listeners.set_max_entries(m.tcp_listeners))
        .and_then(|_| open.maps.__bpf_usdt_specs.set_max_entries(m.usdt_specs))
        .and_then(|_| {
            open.maps
                .__bpf_usdt_ip_to_spec_id
                .set_max_entries(m.usdt_specs)
        })
        .map_err(|e| kernel_err("sizing BPF maps", e))?;
    // A program whose tracepoint this kernel lacks: left out when optional
    // (with its pair, so no entry is noted without an exit to report it),
    // else the run cannot answer the query.
    let mut dropped: Vec<&'static str> = Vec::new();
    // Old kernels' ways this kernel has the new way of: left out unsaid.
    let mut replaced: Vec<&'static str> = Vec::new();
    let tracing = preflight::tracing_dir();
    // Whether a new tracepoint with old kernels' stand-ins is used: only
    // where the kernel surely has it (tracefs, else kallsyms, which anyone
    // may read: a run without tracefs still chooses), and the old ways are
    // not forced. Where it cannot be told, the stand-ins, which every
    // kernel has.
    let stands_in = |tp: &str| config.programs.iter().any(|q| q.unless == Some(tp));
    let tracepoints = config
        .programs
        .iter()
        .any(|p| p.unless.is_some())
        .then(preflight::Tracepoints::read);
    let new_way = |tp: &str| {
        variants.new_tracepoints && tracepoints.as_ref().and_then(|t| t.has(tp)) == Some(true)
    };
    for p in &config.programs {
        // The old kernels' way of what this kernel has a tracepoint for.
        if p.unless.is_some_and(new_way) {
            replaced.push(p.name);
            continue;
        }
        let Some(tp) = p.tracepoint() else { continue };
        // A new way this kernel lacks (or may), whose stand-ins are here.
        if stands_in(&tp) {
            if !new_way(&tp) {
                replaced.push(p.name);
            }
            continue;
        }
        let Some(dir) = &tracing else { continue };
        if dir.join("events").join(&tp).is_dir() {
            continue;
        }
        if !p.optional {
            return Err(Error::Kernel(KernelError::Unsupported(format!(
                "this kernel has no tracepoint {}, which {} needs{}",
                tp.replace('/', ":"),
                config.table,
                if tp.contains("module") {
                    " (it was built without module support)"
                } else {
                    ""
                }
            ))));
        }
        let pair = p.name.trim_end_matches("_enter").trim_end_matches("_exit");
        dropped.extend(
            config
                .programs
                .iter()
                .filter(|q| q.name.trim_end_matches("_enter").trim_end_matches("_exit") == pair)
                .map(|q| q.name),
        );
    }
    dropped.sort_unstable();
    dropped.dedup();
    // The BPF programs behind the attachments kept (one may serve several).
    let wanted: Vec<&'static str> = config
        .programs
        .iter()
        .filter(|p| !dropped.contains(&p.name) && !replaced.contains(&p.name))
        .map(|p| p.prog)
        .collect();
    // The configuration, with this kernel's variants (variants.rs).
    let mut cfg = config.cfg;
    let kept: Vec<Program> = config
        .programs
        .iter()
        .filter(|p| !dropped.contains(&p.name) && !replaced.contains(&p.name))
        .cloned()
        .collect();
    variants.configure(&mut cfg, &kept)?;
    open.maps
        .rodata_data
        .as_deref_mut()
        .ok_or_else(|| missing("the configuration section (.rodata)".into()))?
        .cfg = cfg;
    common_maps_of!(&variants, open.maps)?;
    // Developer aid: the verifier's own statistics per program (time,
    // instructions processed, states), from its log at level 4.
    let verifier_stats = std::env::var_os("EBQ_VERIFIER_STATS").is_some();
    for mut prog in open.open_object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        prog.set_autoload(wanted.iter().any(|w| *w == name));
        if verifier_stats {
            prog.set_log_level(4);
        }
    }

    if let Ok(mut log) = LIBBPF_LOG.lock() {
        log.clear();
    }
    // libbpf's messages go to our log for the whole run, never to the
    // terminal: a failure shows their end in one error.
    let level = if verifier_stats {
        PrintLevel::Debug
    } else {
        PrintLevel::Info
    };
    libbpf_rs::set_print(Some((level, collect_log)));
    let loaded = open.load();
    if verifier_stats {
        print_verifier_stats();
    }
    let skel = loaded.map_err(|e| {
        // Said plainly when that is why (probed only now: the probe makes
        // and drops a map, which every start would pay for).
        // A map refused with EPERM (not a verifier's EACCES, which reads
        // as the same kind) where maps are charged to RLIMIT_MEMLOCK:
        // asked first, since the ring buffer probe is charged too.
        if e.kind() == libbpf_rs::ErrorKind::PermissionDenied
            && log_tail(40).contains("failed to create: -EPERM")
        {
            if let Some(why) = preflight::memlock_blocks() {
                return Error::Kernel(KernelError::Privileges(why));
            }
        }
        if let Err(no_ringbuf) = preflight::check_ringbuf() {
            return no_ringbuf;
        }
        Error::Kernel(KernelError::Refused(format!(
            "the kernel refused ebq's BPF programs ({e}); the end of libbpf's log:\n  {}",
            log_tail(20)
        )))
    })?;

    let mut kernel = Kernel {
        skel,
        dropped,
        replaced,
        variants,
        links: std::cell::RefCell::new(Vec::new()),
    };
    kernel.fill_maps(config)?;
    kernel.fill_tail_calls(config)?;
    for p in config.programs.iter().filter(|p| {
        !kernel.dropped.contains(&p.name)
            && !kernel.replaced.contains(&p.name)
            && p.tail_of().is_none()
    }) {
        let link = kernel
            .skel
            .object()
            .progs_mut()
            .find(|q| q.name() == p.prog)
            .ok_or_else(|| missing(format!("program {}", p.prog)))
            .and_then(|prog| {
                // Without cookies the shared programs tell their
                // attachments apart by syscall number (variants.rs).
                let uncookied;
                let p = if variants.cookies {
                    p
                } else {
                    uncookied = Program {
                        cookie: 0,
                        ..p.clone()
                    };
                    &uncookied
                };
                attach(&prog, p).map_err(|e| {
                    let what = format!("attaching {} to {}: {e}", p.prog, p.attach);
                    Error::Kernel(match p.attach {
                        // The likeliest reason, said: the kernel is older.
                        Attach::RawTracepoint { .. } if p.cookie != 0 => KernelError::Unsupported(
                            format!("{what} (a raw tracepoint's cookie needs Linux 6.10)"),
                        ),
                        _ => match preflight::paranoid_blocks() {
                            Some(why) => KernelError::Privileges(format!("{what}: {why}")),
                            None => KernelError::Refused(what),
                        },
                    })
                })
            })?;
        kernel
            .links
            .borrow_mut()
            .extend(link.into_iter().map(|l| (p.name, l)));
    }
    Ok(kernel)
}

use libbpf_rs::skel::Skel as _;

/// The cgroup2 mount, whose root cgroup programs attach to for every
/// process of the machine (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
/// hybrid host).
pub fn cgroup2_root() -> Option<std::path::PathBuf> {
    super::preflight::mounts()
        .into_iter()
        .find(|(_, fstype, _)| fstype == "cgroup2")
        .map(|(p, _, _)| p)
}

/// Attaches `prog` where the probe spec says, with the attachment's
/// cookie: explicitly rather than from the program's section name, since
/// one program may serve several attach points. One link per attachment
/// but for a perf event on every CPU, which takes one per CPU.
pub(crate) fn attach(
    prog: &libbpf_rs::ProgramMut<'_>,
    p: &Program,
) -> libbpf_rs::Result<Vec<Link>> {
    let one = |l: libbpf_rs::Result<Link>| l.map(|l| vec![l]);
    match &p.attach {
        Attach::Tracepoint { category, name } => one(prog.attach_tracepoint_with_opts(
            libbpf_rs::TracepointCategory::Custom(category.to_string()),
            name.as_ref(),
            libbpf_rs::TracepointOpts {
                cookie: p.cookie,
                ..Default::default()
            },
        )),
        // A raw tracepoint's cookie needs Linux 6.10 (the plain attach has
        // none, and works on every kernel ebq runs on).
        Attach::RawTracepoint { name } if p.cookie == 0 => one(prog.attach_raw_tracepoint(name)),
        Attach::RawTracepoint { name } => one(prog.attach_raw_tracepoint_with_opts(
            name.as_ref(),
            libbpf_rs::RawTracepointOpts {
                cookie: p.cookie,
                ..Default::default()
            },
        )),
        Attach::Uprobe {
            binary,
            target,
            pid,
            ret,
        } => {
            let (func_name, offset) = match target {
                UprobeTarget::Symbol(s, off) => (Some(s.to_string()), *off),
                UprobeTarget::Offset(off) => (None, *off),
            };
            let offset = usize::try_from(offset).map_err(|_| {
                libbpf_rs::Error::from(std::io::Error::from(std::io::ErrorKind::InvalidInput))
            })?;
            one(prog.attach_uprobe_with_opts(
                // libbpf: -1 is every process.
                pid.unwrap_or(-1),
                binary.as_ref(),
                offset,
                libbpf_rs::UprobeOpts {
                    cookie: p.cookie,
                    retprobe: *ret,
                    func_name,
                    ..Default::default()
                },
            ))
        }
        Attach::UprobeMulti {
            binary,
            offsets,
            pid,
            ret,
            ..
        } => {
            let bad =
                || libbpf_rs::Error::from(std::io::Error::from(std::io::ErrorKind::InvalidInput));
            let offs = offsets
                .iter()
                .map(|(o, _)| usize::try_from(*o).map_err(|_| bad()))
                .collect::<libbpf_rs::Result<Vec<usize>>>()?;
            one(prog.attach_uprobe_multi_with_opts(
                pid.unwrap_or(-1),
                binary.as_ref(),
                "",
                libbpf_rs::UprobeMultiOpts {
                    offsets: offs,
                    cookies: offsets.iter().map(|(_, c)| *c).collect(),
                    retprobe: *ret,
                    ..Default::default()
                },
            ))
        }
        Attach::Usdt {
            binary,
            provider,
            name,
            pid,
            ..
        } => one(prog.attach_usdt_with_opts(
            pid.unwrap_or(-1),
            binary.as_ref(),
            provider.as_ref(),
            name.as_ref(),
            libbpf_rs::UsdtOpts {
                cookie: p.cookie,
                ..Default::default()
            },
        )),
        Attach::Cgroup { path } => {
            // No path: the cgroup2 root, where every process is covered.
            let root;
            let path = if path.is_empty() {
                root = cgroup2_root().ok_or_else(|| {
                    libbpf_rs::Error::from(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no cgroup2 is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)",
                    ))
                })?;
                root.as_path()
            } else {
                std::path::Path::new(path.as_ref())
            };
            let dir = std::fs::File::open(path).map_err(libbpf_rs::Error::from)?;
            use std::os::fd::AsRawFd as _;
            // The kernel takes its own reference to the cgroup: the
            // directory's fd may close once the link exists.
            one(prog.attach_cgroup(dir.as_raw_fd()))
        }
        Attach::PerfEvent {
            kind,
            config,
            period,
            cpu,
        } => {
            let cpus: Vec<u32> = match cpu {
                Some(c) => vec![*c],
                None => (0..libbpf_rs::num_possible_cpus()? as u32).collect(),
            };
            let mut links = Vec::new();
            for c in cpus {
                let fd = match super::perf::open(*kind, *config, *period, c)? {
                    Some(fd) => fd,
                    // An offline CPU, one of all: nothing to sample there.
                    None if cpu.is_none() => continue,
                    None => {
                        return Err(libbpf_rs::Error::from(std::io::Error::from_raw_os_error(
                            libc::ENODEV,
                        )))
                    }
                };
                use std::os::fd::AsRawFd as _;
                let link = prog.attach_perf_event_with_opts(
                    fd.as_raw_fd(),
                    libbpf_rs::PerfEventOpts {
                        cookie: p.cookie,
                        ..Default::default()
                    },
                )?;
                // The link owns the perf event's fd from here: libbpf
                // closes it when the link is dropped (bpf_link_perf_detach).
                // Had the attach failed, `fd` would still own it, and close it.
                let _ = std::os::fd::IntoRawFd::into_raw_fd(fd);
                links.push(link);
            }
            Ok(links)
        }
        Attach::TailCall { .. } => Ok(Vec::new()),
    }
}

impl<'obj> Kernel<'obj> {
    /// Puts each tail-called program in its slot of its prog array, before
    /// anything that calls it is attached.
    fn fill_tail_calls(&self, config: &KernelConfig) -> Result<()> {
        use std::os::fd::AsRawFd as _;
        for p in &config.programs {
            let Some((array, slot)) = p.tail_of() else {
                continue;
            };
            let obj = self.skel.object();
            let prog = obj
                .progs()
                .find(|q| q.name() == p.prog)
                .ok_or_else(|| missing(format!("program {}", p.prog)))?;
            let map = obj
                .maps()
                .find(|m| m.name() == array)
                .ok_or_else(|| missing(format!("map {array}")))?;
            let fd = std::os::fd::AsFd::as_fd(&prog).as_raw_fd() as u32;
            map.update(&slot.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| kernel_err(&format!("filling {array}"), e))?;
        }
        Ok(())
    }

    /// Puts the plan's set members and prefixes in the filter maps.
    fn fill_maps(&mut self, config: &KernelConfig) -> Result<()> {
        let maps = &self.skel.maps;
        let one = [1u8];
        let fill = |what: &str, r: libbpf_rs::Result<()>| r.map_err(|e| kernel_err(what, e));
        for key in &config.int_sets {
            fill(
                "filling the integer filter map",
                maps.int_sets.update(bytes_of(key), &one, MapFlags::ANY),
            )?;
        }
        for key in &config.comm_sets {
            fill(
                "filling the comm filter map",
                maps.comm_sets.update(bytes_of(key), &one, MapFlags::ANY),
            )?;
        }
        for key in &config.path_prefixes {
            fill(
                "filling the path prefix map",
                maps.path_prefixes
                    .update(bytes_of(key), &one, MapFlags::ANY),
            )?;
        }
        for (key, verdict) in &config.cgroup_verdicts {
            fill(
                "filling the cgroup verdict map",
                maps.cgroup_verdicts
                    .update(bytes_of(key), &[*verdict], MapFlags::ANY),
            )?;
        }
        Ok(())
    }

    /// Sets the container filters' verdict on one cgroup (bpf/cgroup.h),
    /// None to take it back. A full map keeps the cgroup's events (no
    /// verdict is keep): not an error.
    pub fn set_cgroup_verdict(&self, key: &ebq_cgroup_key, verdict: Option<u8>) {
        let map = &self.skel.maps.cgroup_verdicts;
        let _ = match verdict {
            Some(v) => map.update(bytes_of(key), &[v], MapFlags::ANY),
            None => map.delete(bytes_of(key)),
        };
    }

    /// Adds a process to the followed set (-c / -p).
    pub fn follow(&self, pid: u32) -> Result<()> {
        self.skel
            .maps
            .followed
            .update(&pid.to_ne_bytes(), &[1u8], MapFlags::ANY)
            .map_err(|e| kernel_err("adding a process to follow", e))
    }

    /// Detaches every program: no event comes after this, so what is in
    /// the ring buffer is all that is left to read.
    pub fn detach(&self) {
        let links = std::mem::take(&mut *self.links.borrow_mut());
        // Closing a tracepoint's last perf event waits out an RCU grace
        // period (perf_trace_event_unreg() calls
        // tracepoint_synchronize_unregister(), kernel/trace/
        // trace_event_perf.c): ~65 ms each here, so file_events' 46
        // attachments took 1.6 s to let go, one after another. Closed from
        // one thread each, the waits partly overlap (the kernel holds
        // event_mutex across each): 0.9 s.
        std::thread::scope(|s| {
            for (_, link) in links {
                s.spawn(move || drop(link));
            }
        });
    }

    /// Takes every group out of the kernel's aggregation map: each bucket
    /// of the hash is read and emptied in one step under its lock
    /// (BPF_MAP_LOOKUP_AND_DELETE_BATCH, Linux 5.6), so an update that
    /// comes after it makes a new group for the next interval rather than
    /// being lost. Not key by key: a hash map's lookup-and-delete of one
    /// element is 5.14's (3e87f192b405), and a read then a delete would
    /// lose what came between.
    pub fn drain_agg(&self) -> Result<Vec<(ebq_agg_key, ebq_agg_val)>> {
        use std::os::fd::{AsFd, AsRawFd};
        const BATCH: usize = 1024;
        let map = &self.skel.maps.agg_map;
        let (ks, vs) = (
            std::mem::size_of::<ebq_agg_key>(),
            std::mem::size_of::<ebq_agg_val>(),
        );
        if map.key_size() as usize != ks || map.value_size() as usize != vs {
            return Err(Error::Internal(format!(
                "agg_map's entries are {} and {} bytes, its generated types {ks} and {vs}",
                map.key_size(),
                map.value_size()
            )));
        }
        let mut keys = vec![0u8; ks * BATCH];
        let mut vals = vec![0u8; vs * BATCH];
        // A hash map's place in its walk: a bucket number.
        let (mut from, mut next) = (0u32, 0u32);
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as libbpf_sys::size_t,
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut first = true;
        loop {
            let mut count = BATCH as u32;
            // SAFETY: the buffers hold BATCH keys and values of the map's
            // sizes (generated from the same BTF), `count` says BATCH, the
            // batch tokens are u32 as a hash map's are, and the map's fd
            // lives as long as `self`.
            let r = unsafe {
                libbpf_sys::bpf_map_lookup_and_delete_batch(
                    map.as_fd().as_raw_fd(),
                    if first {
                        std::ptr::null_mut()
                    } else {
                        (&raw mut from).cast()
                    },
                    (&raw mut next).cast(),
                    keys.as_mut_ptr().cast(),
                    vals.as_mut_ptr().cast(),
                    &mut count,
                    &opts,
                )
            };
            let errno = if r < 0 { -r } else { 0 };
            if errno == libc::EINTR {
                continue;
            }
            if errno != 0 && errno != libc::ENOENT {
                return Err(KernelError::failed(
                    "reading the kernel's groups",
                    libbpf_rs::Error::from_raw_os_error(errno),
                ));
            }
            let n = (count as usize).min(BATCH);
            for (k, v) in keys.chunks_exact(ks).zip(vals.chunks_exact(vs)).take(n) {
                let (mut key, mut val) = (ebq_agg_key::default(), ebq_agg_val::default());
                if plain::copy_from_bytes(&mut key, k).is_ok()
                    && plain::copy_from_bytes(&mut val, v).is_ok()
                {
                    out.push((key, val));
                }
            }
            // ENOENT: the walk reached the map's end.
            if errno == libc::ENOENT {
                return Ok(out);
            }
            from = next;
            first = false;
        }
    }

    /// The processes followed now (-c / -p): the traced tree.
    pub fn followed(&self) -> Vec<u32> {
        self.skel
            .maps
            .followed
            .keys()
            .filter_map(|k| {
                k.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
            })
            .collect()
    }

    /// Removes a process from the followed set.
    pub fn unfollow(&self, pid: u32) -> Result<()> {
        self.skel
            .maps
            .followed
            .delete(&pid.to_ne_bytes())
            .map_err(|e| kernel_err("removing a followed process", e))
    }

    pub fn events(&self) -> &dyn MapCore {
        &self.skel.maps.events
    }

    /// Writes the small copy of the kernel's BTF for this object's types,
    /// for the next start (btf.rs).
    pub fn store_btf(&self, cache: &super::btf::BtfCache) -> std::result::Result<(), String> {
        use libbpf_rs::AsRawLibbpf as _;
        let obj = self.skel.object().as_libbpf_object();
        // SAFETY: the object lives as long as the skeleton, which `self`
        // holds for the whole call; the reference ends with it.
        let obj = unsafe { obj.as_ref() };
        let btf = libbpf_rs::Btf::from_bpf_object(obj)
            .map_err(|e| format!("reading the object's BTF: {e}"))?
            .ok_or("the BPF object has no BTF")?;
        cache.store(&btf)
    }

    /// The attachments made, by name, each once (a perf event on every
    /// CPU is one attachment of one link per CPU).
    pub fn attached(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.links.borrow().iter().map(|(n, _)| *n).collect();
        names.dedup();
        names
    }

    /// How many links hold the programs attached: one per attachment (a
    /// uprobe_multi link holds all of a binary's functions).
    pub fn links(&self) -> usize {
        self.links.borrow().len()
    }

    /// Events lost so far: the ring buffer had no room.
    pub fn lost(&self) -> u64 {
        self.read_stat(ebq_stat::EBQ_STAT_LOST.0)
    }

    fn read_stat(&self, id: u32) -> u64 {
        self.skel
            .maps
            .stats
            .lookup_percpu(&id.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .map(|per_cpu| {
                per_cpu
                    .iter()
                    .filter_map(|v| {
                        v.get(..8)
                            .and_then(|b| b.try_into().ok())
                            .map(u64::from_ne_bytes)
                    })
                    .sum()
            })
            .unwrap_or(0)
    }

    pub fn stats(&self, config: &KernelConfig) -> KernelStats {
        let read = |id: u32| self.read_stat(id);
        let mut sent: Vec<(&'static str, u64, u64)> = Vec::new();
        let mut seen = Vec::new();
        for p in &config.programs {
            if let Some(stat) = p.sent_stat {
                // Programs that share a counter are counted once.
                if !seen.contains(&stat) {
                    seen.push(stat);
                    sent.push((
                        p.name,
                        read(stat),
                        read(stat + ebq_stat::EBQ_STAT_LOST_BASE.0),
                    ));
                }
            }
        }
        // Counted per CPU in .bss (bpf/common.bpf.h, counted()).
        let bss = self.skel.maps.bss_data.as_deref();
        KernelStats {
            sent,
            lost: read(ebq_stat::EBQ_STAT_LOST.0),
            filtered: bss.map_or(0, |b| b.filtered_count.iter().map(|c| c.n).sum()),
            follow_full: read(ebq_stat::EBQ_STAT_FOLLOW_FULL.0),
            agg_missed: read(ebq_stat::EBQ_STAT_AGG_MISSED.0),
            aggregated: bss.map_or(0, |b| b.aggregated_count.iter().map(|c| c.n).sum()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The embedded BPF object against what the Rust side says of it,
    //! without root: opening an object parses its ELF and loads nothing.
    use super::*;
    use crate::abi::types::{ebq_agg_val, ebq_filter_config, ebq_header, ebq_prefix_key};

    #[test]
    fn every_program_the_catalog_names_is_in_the_object() {
        let mut storage = MaybeUninit::uninit();
        let open = EbqSkelBuilder::default()
            .open(&mut storage)
            .expect("the embedded object opens");
        let names: Vec<String> = open
            .open_object()
            .progs()
            .map(|p| p.name().to_string_lossy().into_owned())
            .collect();
        let maps: Vec<String> = open
            .open_object()
            .maps()
            .map(|m| m.name().to_string_lossy().into_owned())
            .collect();
        let mut checked = 0;
        let follow = ("-c / -p", &crate::plan::FOLLOW_PROGRAMS[..]);
        let cgroups = ("the cgroup notes", &crate::plan::CGROUP_PROGRAMS[..]);
        for (owner, programs) in crate::catalog::TABLES
            .iter()
            .map(|t| (t.name, t.programs))
            .chain([follow, cgroups])
        {
            for p in programs {
                assert!(
                    names.iter().any(|n| n == p.prog),
                    "{owner}: {} is not in the BPF object",
                    p.prog
                );
                if let Some((array, _)) = p.tail_of() {
                    assert!(
                        maps.iter().any(|m| m == array),
                        "{owner}: {}'s prog array {array} is not in the BPF object",
                        p.prog
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
    }

    #[test]
    fn table_numbers_fit_the_kernels_arrays() {
        use crate::catalog::{KernelFilter, TABLES};
        let slots = ebq_filter_config::default().int_mode.len() as u32;
        let mut kinds = Vec::new();
        for t in TABLES {
            for c in t.columns {
                if let KernelFilter::Int { slot, .. } | KernelFilter::Named { slot, .. } = c.filter
                {
                    assert!(slot < slots, "{}.{}: slot {slot}", t.name, c.name);
                }
            }
            for p in t.programs {
                if let Some(stat) = p.sent_stat {
                    assert!(
                        stat >= ebq_stat::EBQ_STAT_TABLE.0
                            && stat + ebq_stat::EBQ_STAT_LOST_BASE.0 < ebq_stat::EBQ_STAT_MAX.0,
                        "{}: {}'s counter {stat}",
                        t.name,
                        p.name
                    );
                }
            }
            kinds.push(crate::catalog::kind(t));
        }
        // Kinds are 1, 2, ... in TABLES order: none is 0, which a zeroed
        // record carries.
        assert_eq!(kinds, (1..=TABLES.len() as u32).collect::<Vec<_>>());
    }

    #[test]
    fn constants_shared_with_c_agree() {
        // Each Rust constant against the generated struct it mirrors.
        assert_eq!(ebq_header::default().comm.len() - 1, crate::plan::COMM_MAX);
        assert_eq!(
            ebq_prefix_key::default().data.len() - 1,
            crate::plan::PREFIX_MAX
        );
        assert_eq!(
            ebq_agg_val::default().buckets.len(),
            crate::plan::KERNEL_HIST_BUCKETS
        );
        assert_eq!(
            ebq_filter_config::default().nr_bitmap.len() * 64,
            crate::plan::physical::EBQ_NR_MAX as usize
        );
        // And the map sizes the loader relies on.
        let mut storage = MaybeUninit::uninit();
        let open = EbqSkelBuilder::default()
            .open(&mut storage)
            .expect("the embedded object opens");
        assert_eq!(
            open.maps.agg_map.max_entries(),
            crate::plan::physical::KERNEL_AGG_GROUPS
        );
        assert_eq!(
            open.maps.followed.max_entries(),
            crate::plan::physical::FOLLOWED_MAX
        );
        assert_eq!(
            open.maps.cgroup_verdicts.max_entries(),
            crate::plan::physical::CGROUP_VERDICTS_MAX
        );
    }
}
