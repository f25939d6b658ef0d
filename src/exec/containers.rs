//! Which container, which pod: a row's cgroup resolved from the cgroup id
//! its header carries, with no runtime socket and no API server.
//!
//! The cgroup v2 id the kernel gives (bpf_get_current_cgroup_id()) is the
//! kernfs id of the cgroup's directory, which is the directory's inode
//! number under the cgroup2 mount (kernfs_ino(), fs/kernfs/inode.c). So a
//! walk of that mount maps ids to paths; the path's shape says the
//! container and pod (model/container.rs); and the names come from files
//! the runtimes and kubelet leave on disk:
//!   - kubelet's container log links, /var/log/containers/
//!     <pod>_<namespace>_<container>-<id>.log: pod, namespace, container;
//!   - docker's /var/lib/docker/containers/<id>/config.v2.json ("Name");
//!   - the OCI bundle's config.json annotations of containerd's CRI
//!     (/run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/) and of
//!     cri-o (/run/containers/storage/overlay-containers/<id>/userdata/).
//!
//! EBQ_CONTAINER_ROOT names another directory to find those files under
//! (the tests' fake runtimes; a host's root mounted elsewhere).
//!
//! On a hybrid or v1 host the same goes for the v1 hierarchy of one
//! controller (model/cgroup.rs, Layout): its ids are the inodes under that
//! controller's mount, and a row whose cgroup2 names no container is the
//! v1 cgroup's (bpf/cgroup.h).
//!
//! Each cgroup is resolved once and kept, so a row of a container that
//! exited after its event still gets its container: cgroups are learnt
//! from a walk at the start, from the kernel's cgroup_mkdir notes (which
//! reach the ring buffer before any event of a task in the new cgroup),
//! and from a walk at a miss, at most every RESCAN apart. A cgroup the
//! kernel says was removed is forgotten KEEP_REMOVED later.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::abi::types::{ebq_cgroup_event, ebq_cgroup_flags, ebq_cgroup_op};
use crate::model::cgroup::{CgroupInfo, Layout};
use crate::model::container::{from_path, Runtime};

/// Shortest time between two walks of the cgroup tree for unknown ids.
const RESCAN: Duration = Duration::from_millis(100);
/// How long a removed cgroup stays known: its rows still in the ring
/// buffer, or in a stalled reader's batch, find it.
const KEEP_REMOVED: Duration = Duration::from_secs(60);
/// Directories one walk visits at most (a host has hundreds to thousands).
const WALK_MAX: usize = 1 << 20;
/// Depth of the cgroup tree a walk descends to at most.
const DEPTH_MAX: usize = 64;
/// Bytes of a runtime's JSON file read at most.
const JSON_MAX: u64 = 4 << 20;

/// The hierarchies a resolver knows, as the kernel's verdict keys number
/// them (bpf/cgroup.h, struct ebq_cgroup_key).
pub const V2: usize = 0;
pub const V1: usize = 1;

struct Entry {
    info: Arc<CgroupInfo>,
    /// When a cgroup_rmdir note said it went.
    removed: Option<Instant>,
    /// When it was learnt, and its names last looked for.
    seen: Instant,
    checked: Instant,
}

/// How long the names of a container are looked for again when its
/// files were not there yet: kubelet makes its log link after the
/// container started, and a runtime may write its file late.
const NAMES_WAIT: Duration = Duration::from_secs(60);

/// A container whose names its runtime's or kubelet's files may still
/// give (podman keeps none in files: its are never looked for).
pub fn names_pending(info: &CgroupInfo) -> bool {
    info.container
        .as_ref()
        .is_some_and(|c| c.runtime != Runtime::Podman && info.name.is_none())
}

pub struct Resolver {
    layout: Layout,
    /// Where the runtimes' and kubelet's files are looked for.
    root: PathBuf,
    /// By hierarchy (V2, V1), then kernfs id.
    by_id: [HashMap<u64, Entry>; 2],
    /// Cgroups learnt since the last take_fresh(), and forgotten since
    /// the last take_gone(): the run keeps the kernel's verdicts in step.
    /// Kept only once the run asks for them (track_changes).
    fresh: Vec<(usize, u64)>,
    gone: Vec<(usize, u64)>,
    track: bool,
    /// When removed cgroups were last looked for: at most every RESCAN,
    /// so a storm of rmdirs costs one pass over the table per RESCAN.
    last_forget: Option<Instant>,
    /// kubelet's names by container id: (pod, namespace, container).
    kubelet: HashMap<String, (String, String, String)>,
    last_walk: Option<Instant>,
    last_kubelet: Option<Instant>,
}

impl Resolver {
    /// A resolver for this machine's cgroup layout, its cgroups walked once.
    pub fn new() -> Resolver {
        Resolver::with_layout(host_layout())
    }

    /// A resolver for the hierarchies of `layout`, walked once.
    pub fn with_layout(layout: Layout) -> Resolver {
        let root = std::env::var_os("EBQ_CONTAINER_ROOT")
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let mut r = Resolver {
            layout,
            root,
            by_id: [HashMap::new(), HashMap::new()],
            fresh: Vec::new(),
            gone: Vec::new(),
            track: false,
            last_forget: None,
            kubelet: HashMap::new(),
            last_walk: None,
            last_kubelet: None,
        };
        r.walk();
        r
    }

    /// The cgroup of id `id` in hierarchy `h` (V2, V1), or None when no
    /// walk or note has seen it.
    pub fn lookup(&mut self, h: usize, id: u64) -> Option<Arc<CgroupInfo>> {
        if let Some(e) = self.by_id[h].get(&id) {
            if !names_pending(&e.info)
                || e.checked.elapsed() < RESCAN
                || e.seen.elapsed() >= NAMES_WAIT
            {
                return Some(e.info.clone());
            }
            self.recheck(h, id);
            return self.by_id[h].get(&id).map(|e| e.info.clone());
        }
        if self.last_walk.is_some_and(|t| t.elapsed() < RESCAN) {
            return None;
        }
        self.walk();
        self.by_id[h].get(&id).map(|e| e.info.clone())
    }

    /// A row's cgroup, from its header's cgroup2 id and v1 id (0 when not
    /// read): the cgroup2 one when it names a container or there is no v1
    /// one to ask, else the v1 one when known, else the cgroup2 one.
    pub fn row(&mut self, v2: u64, v1: u64) -> Option<Arc<CgroupInfo>> {
        let two = self.lookup(V2, v2);
        if v1 == 0 || two.as_ref().is_some_and(|i| i.container.is_some()) {
            return two;
        }
        self.lookup(V1, v1).or(two)
    }

    /// Every cgroup known, for the first verdicts.
    pub fn known(&self) -> impl Iterator<Item = (usize, u64, &Arc<CgroupInfo>)> {
        self.by_id
            .iter()
            .enumerate()
            .flat_map(|(h, m)| m.iter().map(move |(id, e)| (h, *id, &e.info)))
    }

    /// The cgroup `id` of hierarchy `h`, if known.
    pub fn get(&self, h: usize, id: u64) -> Option<&Arc<CgroupInfo>> {
        self.by_id[h].get(&id).map(|e| &e.info)
    }

    /// From now on, keeps the cgroups learnt and forgotten for
    /// take_fresh() and take_gone() (the run's kernel verdicts).
    pub fn track_changes(&mut self) {
        self.track = true;
    }

    /// Cgroups learnt since the last call.
    pub fn take_fresh(&mut self) -> Vec<(usize, u64)> {
        std::mem::take(&mut self.fresh)
    }

    /// Cgroups forgotten since the last call (removed KEEP_REMOVED ago).
    pub fn take_gone(&mut self) -> Vec<(usize, u64)> {
        std::mem::take(&mut self.gone)
    }

    /// A cgroup_mkdir or cgroup_rmdir note from the kernel (bpf/cgroup.h).
    pub fn note(&mut self, e: &ebq_cgroup_event) {
        let h = match e.hierarchy {
            0 => V2,
            n if self.layout.v1.as_ref().is_some_and(|v| v.hierarchy == n) => V1,
            _ => return,
        };
        if e.op == ebq_cgroup_op::EBQ_CGROUP_RMDIR.0 {
            if let Some(entry) = self.by_id[h].get_mut(&e.id) {
                entry.removed.get_or_insert_with(Instant::now);
            }
            self.forget_removed();
            return;
        }
        if e.op != ebq_cgroup_op::EBQ_CGROUP_MKDIR.0 || self.by_id[h].contains_key(&e.id) {
            return;
        }
        let len = e.path_len as usize;
        let bytes: Vec<u8> = e.path.iter().take(len).map(|&c| c as u8).collect();
        // A length the buffer cannot hold is no path the kernel wrote.
        let cut = e.flags & ebq_cgroup_flags::EBQ_CGROUP_CUT.0 != 0 || len > e.path.len();
        if cut || bytes.first() != Some(&b'/') {
            // A path the kernel cut: the tree says what it is (at the
            // next miss, at most every RESCAN: a storm of such notes
            // costs no walk each).
            self.walk_soon();
        } else {
            let p = crate::model::value::text_from_bytes(&bytes);
            self.insert(h, e.id, p);
        }
    }

    /// Looks for the names of container `id` again (names_pending): when
    /// they are there now, the cgroup is learnt anew (take_fresh).
    fn recheck(&mut self, h: usize, id: u64) {
        if self.last_kubelet.is_none_or(|t| t.elapsed() >= RESCAN) {
            self.kubelet = kubelet_names(&self.root.join("var/log/containers"));
            self.last_kubelet = Some(Instant::now());
        }
        let Some(path) = self.by_id[h].get(&id).map(|e| e.info.path.clone()) else {
            return;
        };
        let info = self.info(path);
        let Some(e) = self.by_id[h].get_mut(&id) else {
            return;
        };
        e.checked = Instant::now();
        if !names_pending(&info) {
            e.info = Arc::new(info);
            if self.track {
                self.fresh.push((h, id));
            }
        }
    }

    /// A walk at once, unless one ran less than RESCAN ago.
    fn walk_soon(&mut self) {
        if self.last_walk.is_none_or(|t| t.elapsed() >= RESCAN) {
            self.walk();
        }
    }

    fn insert(&mut self, h: usize, id: u64, path: String) {
        let info = self.info(path);
        self.by_id[h].insert(
            id,
            Entry {
                info: Arc::new(info),
                removed: None,
                seen: Instant::now(),
                checked: Instant::now(),
            },
        );
        if self.track {
            self.fresh.push((h, id));
        }
    }

    /// Drops the cgroups removed KEEP_REMOVED ago or more.
    fn forget_removed(&mut self) {
        if self.last_forget.is_some_and(|t| t.elapsed() < RESCAN) {
            return;
        }
        self.last_forget = Some(Instant::now());
        for (h, m) in self.by_id.iter_mut().enumerate() {
            let old: Vec<u64> = m
                .iter()
                .filter(|(_, e)| e.removed.is_some_and(|t| t.elapsed() >= KEEP_REMOVED))
                .map(|(id, _)| *id)
                .collect();
            for id in old {
                m.remove(&id);
                if self.track {
                    self.gone.push((h, id));
                }
            }
        }
    }

    /// Maps every cgroup directory's id to what it is, in each hierarchy,
    /// keeping the ones already known (a cgroup removed since stays: its
    /// late rows still find it).
    fn walk(&mut self) {
        self.last_walk = Some(Instant::now());
        self.forget_removed();
        let mounts = [
            self.layout.v2.clone(),
            self.layout.v1.as_ref().map(|v| v.mount.clone()),
        ];
        if mounts.iter().all(Option::is_none) {
            return;
        }
        self.kubelet = kubelet_names(&self.root.join("var/log/containers"));
        self.last_kubelet = Some(Instant::now());
        for (h, mount) in mounts.into_iter().enumerate() {
            if let Some(m) = mount {
                self.walk_one(h, &m);
            }
        }
    }

    fn walk_one(&mut self, h: usize, mount: &Path) {
        let mut stack = vec![(mount.to_path_buf(), 0usize)];
        let mut seen = 0usize;
        while let Some((dir, depth)) = stack.pop() {
            seen += 1;
            if seen > WALK_MAX {
                break;
            }
            let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                continue;
            };
            let id = meta.ino();
            if !self.by_id[h].contains_key(&id) {
                // In ebq's encoding, as every path column: bytes that are
                // no UTF-8 as \xNN, never lost.
                let rel = match dir.strip_prefix(mount) {
                    Ok(p) if p.as_os_str().is_empty() => "/".to_string(),
                    Ok(p) => {
                        use std::os::unix::ffi::OsStrExt as _;
                        let mut b = vec![b'/'];
                        b.extend_from_slice(p.as_os_str().as_bytes());
                        crate::model::value::text_from_bytes(&b)
                    }
                    Err(_) => continue,
                };
                self.insert(h, id, rel);
            }
            if depth >= DEPTH_MAX {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
    }

    /// What the cgroup at `path` is: its container by the path's shape,
    /// and the names the runtime's or kubelet's files give.
    fn info(&self, path: String) -> CgroupInfo {
        let container = from_path(&path);
        let mut info = CgroupInfo {
            path,
            container: container.clone(),
            ..Default::default()
        };
        let Some(mut c) = container else { return info };
        // A bare id names no runtime (model/container.rs guesses): the
        // runtime whose files are there for it says.
        if c.runtime_inferred {
            let docker = self.root.join("var/lib/docker/containers").join(&c.id);
            let containerd = self
                .root
                .join("run/containerd/io.containerd.runtime.v2.task");
            if docker.is_dir() {
                c.runtime = Runtime::Docker;
            } else if ["k8s.io", "default", "moby"]
                .iter()
                .any(|ns| containerd.join(ns).join(&c.id).is_dir())
            {
                c.runtime = Runtime::Containerd;
            }
            info.container = Some(c.clone());
        }
        if let Some((pod, ns, name)) = self.kubelet.get(&c.id) {
            info.pod_name = Some(pod.clone());
            info.pod_namespace = Some(ns.clone());
            info.name = Some(name.clone());
            return info;
        }
        match c.runtime {
            Runtime::Docker => {
                let f = self
                    .root
                    .join("var/lib/docker/containers")
                    .join(&c.id)
                    .join("config.v2.json");
                info.name = read_json(&f)
                    .and_then(|j| {
                        j.get("Name")?
                            .as_str()
                            .map(|n| n.trim_start_matches('/').to_string())
                    })
                    .filter(|n| !n.is_empty());
            }
            Runtime::Containerd | Runtime::CriO => {
                let (dir, keys) = if c.runtime == Runtime::Containerd {
                    (
                        self.root
                            .join("run/containerd/io.containerd.runtime.v2.task/k8s.io")
                            .join(&c.id),
                        [
                            "io.kubernetes.cri.container-name",
                            "io.kubernetes.cri.sandbox-name",
                            "io.kubernetes.cri.sandbox-namespace",
                        ],
                    )
                } else {
                    (
                        self.root
                            .join("run/containers/storage/overlay-containers")
                            .join(&c.id)
                            .join("userdata"),
                        [
                            "io.kubernetes.container.name",
                            "io.kubernetes.pod.name",
                            "io.kubernetes.pod.namespace",
                        ],
                    )
                };
                if let Some(j) = read_json(&dir.join("config.json")) {
                    let a = |k: &str| {
                        j.get("annotations")?
                            .get(k)?
                            .as_str()
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                    };
                    info.name = a(keys[0]);
                    info.pod_name = a(keys[1]);
                    info.pod_namespace = a(keys[2]);
                }
            }
            // podman keeps names in its database, not in a file per
            // container: its containers get their id and runtime only.
            _ => {}
        }
        info
    }
}

/// The query's container filters (plan: KernelPlan::cgroup_filter) as the
/// kernel holds them: a verdict per cgroup (bpf/cgroup.h).
pub struct Verdicts<'p> {
    pub table: &'static crate::catalog::Table,
    pub filter: &'p [crate::model::expr::Expr],
}

impl Verdicts<'_> {
    /// The verdict on cgroup `id` of hierarchy `h`, as the row rule
    /// (Resolver::row) reads it: a cgroup2 one that names no container
    /// defers to the v1 one when the host has one; else the filters'
    /// truth on the cgroup, keep only when all are true.
    /// None for a container whose names may still turn up
    /// (names_pending): no verdict yet, so its events are kept.
    pub fn of(&self, r: &Resolver, h: usize, info: &Arc<CgroupInfo>) -> Option<u8> {
        use crate::abi::types::ebq_cgroup_verdict as v;
        if h == V2 && info.container.is_none() && r.layout.v1.is_some() {
            return Some(v::EBQ_CGV_DEFER.0 as u8);
        }
        if names_pending(info) && self.reads_names() {
            return None;
        }
        let mut record = crate::model::record::Record::of(
            Default::default(),
            &crate::abi::types::ebq_header::default(),
        );
        record.cgroup = Some(info.clone());
        let keep = self
            .filter
            .iter()
            .all(|e| crate::model::eval::truth(self.table, e, &record) == Some(true));
        let verdict = if keep {
            v::EBQ_CGV_KEEP
        } else {
            v::EBQ_CGV_DROP
        };
        Some(verdict.0 as u8)
    }

    /// Whether the filters read a name the files give (container_name,
    /// pod_name, pod_namespace): not the id, runtime, pod uid or path,
    /// which the cgroup's path alone says, once and for all.
    fn reads_names(&self) -> bool {
        let mut cols = Vec::new();
        self.filter.iter().for_each(|e| e.columns(&mut cols));
        cols.iter()
            .any(|&c| crate::model::cgroup::NAME_COLUMNS.contains(&self.table.columns[c].name))
    }

    /// The kernel's key of cgroup `id` of hierarchy `h`.
    pub fn key(h: usize, id: u64) -> crate::abi::types::ebq_cgroup_key {
        crate::abi::types::ebq_cgroup_key {
            id,
            hierarchy: h as u32,
            ..Default::default()
        }
    }

    /// What the run starts with, for the load and --explain.
    pub fn resolved(&self, r: &Resolver) -> crate::plan::physical::Cgroups {
        use crate::abi::types::ebq_cgroup_verdict as v;
        let verdicts = self.all(r);
        let mut explain = Vec::new();
        let mut read = Vec::new();
        if let Some(m) = &r.layout.v2 {
            read.push(format!("cgroup2 at {}", m.display()));
        }
        if let Some(v1) = &r.layout.v1 {
            read.push(format!(
                "the {} v1 hierarchy at {}",
                v1.controller,
                v1.mount.display()
            ));
        }
        if read.is_empty() {
            read.push("no cgroup mount: every cgroup is kept".into());
        }
        explain.push(format!("read: {}", read.join(", and ")));
        let kept: Vec<_> = verdicts
            .iter()
            .filter(|(_, x)| *x == v::EBQ_CGV_KEEP.0 as u8)
            .collect();
        let waiting = r.known().filter(|(_, _, i)| names_pending(i)).count();
        explain.push(format!(
            "keeps {} of the {} cgroups known now",
            kept.len(),
            r.known().count()
        ));
        if verdicts.len() < r.known().count() {
            explain.push(format!(
                "({waiting} containers wait for their names' files: kept until those say)"
            ));
        }
        const SHOWN: usize = 20;
        for (k, _) in kept.iter().take(SHOWN) {
            let h = k.hierarchy as usize;
            let path = r.get(h, k.id).map_or("?", |i| i.path.as_str());
            let which = if h == V2 { "cgroup2" } else { "v1" };
            explain.push(format!("  {which} {} {path}", k.id));
        }
        if kept.len() > SHOWN {
            explain.push(format!("  and {} more", kept.len() - SHOWN));
        }
        explain.push(
            "a cgroup made during the run gets its verdict when the kernel's note of it is read"
                .into(),
        );
        crate::plan::physical::Cgroups {
            v1: r.layout.v1.as_ref().map(|x| (x.ssid, x.hierarchy)),
            verdicts,
            explain,
        }
    }

    /// The verdicts on every cgroup `r` knows, for the load.
    pub fn all(&self, r: &Resolver) -> Vec<(crate::abi::types::ebq_cgroup_key, u8)> {
        let mut out: Vec<_> = r
            .known()
            .filter_map(|(h, id, info)| Some((Self::key(h, id), self.of(r, h, info)?)))
            .collect();
        // Keeps first: a host with more cgroups than the map holds keeps
        // the rest's events (no verdict), and loses no kept one.
        out.sort_by_key(|(k, v)| {
            (
                *v != crate::abi::types::ebq_cgroup_verdict::EBQ_CGV_KEEP.0 as u8,
                k.hierarchy,
                k.id,
            )
        });
        out
    }
}

/// A runtime's JSON file, when it is there, a regular file, small enough
/// and JSON. Opened without blocking: a FIFO put in its place (the
/// directory is the runtime's, or EBQ_CONTAINER_ROOT's) would hang the run
/// at open; it is no file, and is skipped.
fn read_json(path: &Path) -> Option<serde_json::Value> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    f.take(JSON_MAX).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// kubelet's container log names in `dir`: <pod>_<namespace>_<container>-
/// <id>.log (pkg/kubelet/kuberuntime/kuberuntime_manager.go names them so;
/// none of the three names may hold '_').
fn kubelet_names(dir: &Path) -> HashMap<String, (String, String, String)> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten().take(WALK_MAX) {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((id, names)) = kubelet_log_name(name) {
            out.insert(id, names);
        }
    }
    out
}

fn kubelet_log_name(file: &str) -> Option<(String, (String, String, String))> {
    let stem = file.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    if id.len() != 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut parts = rest.splitn(3, '_');
    let (pod, ns, container) = (parts.next()?, parts.next()?, parts.next()?);
    if pod.is_empty() || ns.is_empty() || container.is_empty() || container.contains('_') {
        return None;
    }
    Some((id.to_string(), (pod.into(), ns.into(), container.into())))
}

/// This host's cgroup layout (model/cgroup.rs), from its mount table and
/// /proc/cgroups: cgroup2 at /sys/fs/cgroup on a pure v2 host, at
/// /sys/fs/cgroup/unified on a hybrid one, v1 controllers beside it.
pub fn host_layout() -> Layout {
    let cgroups = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    crate::model::cgroup::layout(&crate::kernel::preflight::mounts(), &cgroups)
}

#[cfg(test)]
mod tests;
