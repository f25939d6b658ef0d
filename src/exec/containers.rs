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
//! Each cgroup is resolved once and kept for the run, so a row of a
//! container that exited after its event still gets its container as long
//! as its cgroup was seen: at the start, and at every miss (a new cgroup),
//! at most every RESCAN apart.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::cgroup::CgroupInfo;
use crate::model::container::{from_path, Runtime};

/// Shortest time between two walks of the cgroup tree for unknown ids.
const RESCAN: Duration = Duration::from_millis(100);
/// Directories one walk visits at most (a host has hundreds to thousands).
const WALK_MAX: usize = 1 << 20;
/// Depth of the cgroup tree a walk descends to at most.
const DEPTH_MAX: usize = 64;
/// Bytes of a runtime's JSON file read at most.
const JSON_MAX: u64 = 4 << 20;

pub struct Resolver {
    /// The cgroup2 mount, if there is one.
    mount: Option<PathBuf>,
    /// Where the runtimes' and kubelet's files are looked for.
    root: PathBuf,
    by_id: HashMap<u64, Arc<CgroupInfo>>,
    /// kubelet's names by container id: (pod, namespace, container).
    kubelet: HashMap<String, (String, String, String)>,
    last_walk: Option<Instant>,
}

impl Resolver {
    /// A resolver for this machine's cgroup2 mount, its cgroups walked once.
    pub fn new() -> Resolver {
        let root = std::env::var_os("EBQ_CONTAINER_ROOT")
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let mut r = Resolver {
            mount: cgroup2_mount(),
            root,
            by_id: HashMap::new(),
            kubelet: HashMap::new(),
            last_walk: None,
        };
        r.walk();
        r
    }

    /// The cgroup of id `id`, or None when no walk has seen it.
    pub fn lookup(&mut self, id: u64) -> Option<Arc<CgroupInfo>> {
        if let Some(i) = self.by_id.get(&id) {
            return Some(i.clone());
        }
        if self.last_walk.is_some_and(|t| t.elapsed() < RESCAN) {
            return None;
        }
        self.walk();
        self.by_id.get(&id).cloned()
    }

    /// Maps every cgroup directory's id to what it is, keeping the ones
    /// already known (a cgroup removed since stays: its late rows still
    /// find it).
    fn walk(&mut self) {
        self.last_walk = Some(Instant::now());
        let Some(mount) = self.mount.clone() else {
            return;
        };
        self.kubelet = kubelet_names(&self.root.join("var/log/containers"));
        let mut stack = vec![(mount.clone(), 0usize)];
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
            if !self.by_id.contains_key(&id) {
                let rel = match dir.strip_prefix(&mount) {
                    Ok(p) if p.as_os_str().is_empty() => "/".to_string(),
                    Ok(p) => format!("/{}", p.to_string_lossy()),
                    Err(_) => continue,
                };
                let info = self.info(rel);
                self.by_id.insert(id, Arc::new(info));
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

/// A runtime's JSON file, when it is there, small enough and JSON.
fn read_json(path: &Path) -> Option<serde_json::Value> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).ok()?;
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

/// The cgroup2 mount, from the mount table: /sys/fs/cgroup on a pure v2
/// host, /sys/fs/cgroup/unified on a hybrid one (v1 controllers beside it).
fn cgroup2_mount() -> Option<PathBuf> {
    crate::kernel::preflight::mounts()
        .into_iter()
        .find_map(|(point, fstype)| (fstype == "cgroup2").then_some(point))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "needs root: cargo test -- --include-ignored, as root"]
    fn a_removed_cgroup_stays_known() {
        let mount = cgroup2_mount().expect("a cgroup2 mount");
        let id = format!("{:064x}", u128::from(std::process::id()) << 64 | 0xabc);
        let dir = mount.join(format!("ebq-test-docker-{id}.scope"));
        std::fs::create_dir(&dir).expect("mkdir a cgroup (as root)");
        let ino = std::fs::metadata(&dir).map(|m| m.ino());
        let mut r = Resolver::new();
        std::fs::remove_dir(&dir).expect("rmdir");
        let ino = ino.expect("stat");
        let info = r.lookup(ino).expect("known from the first walk");
        assert_eq!(info.path, format!("/ebq-test-docker-{id}.scope"));
        // Gone from the tree, still known; an id never seen is not.
        assert!(!dir.exists());
        assert_eq!(r.lookup(ino), Some(info));
        assert_eq!(r.lookup(u64::MAX), None);
    }

    #[test]
    fn kubelet_log_names_give_pod_namespace_and_container() {
        let id = "a".repeat(64);
        assert_eq!(
            kubelet_log_name(&format!("web-7d4b9_default_nginx-{id}.log")),
            Some((
                id.clone(),
                ("web-7d4b9".into(), "default".into(), "nginx".into())
            ))
        );
        assert_eq!(
            kubelet_log_name(&format!("web_default_nginx-{}.log", "a".repeat(63))),
            None
        );
        assert_eq!(kubelet_log_name(&format!("web_default-{id}.log")), None);
        assert_eq!(kubelet_log_name(&format!("web_default_nginx-{id}")), None);
        assert_eq!(kubelet_log_name("-.log"), None);
    }
}
