//! The container, and the Kubernetes pod, a cgroup belongs to, told from
//! the cgroup's path alone.
//!
//! A row carries the kernel's cgroup id. On cgroup v2 that id is the cgroup
//! directory's inode number (the kernfs node id: all of it on 64-bit
//! kernels since 5.5, its low 32 bits before, with a generation above), so
//! walking the cgroup2 mount turns an id into a path; that walk and its
//! cache are the caller's. This module owns the last step, path to
//! container. Runtimes name a container's cgroup after the container's id
//! (`docker-<id>.scope`, `/docker/<id>`, `cri-containerd-<id>.scope`,
//! `crio-<id>`, `libpod-<id>.scope`) and kubelet names a pod's cgroup after
//! the pod's uid (`kubepods-...-pod<uid>.slice`, `/kubepods/.../pod<uid>`).
//! These are naming conventions, not an API. But they have held for years,
//! and they are the one thing every layout has in common. Reading them asks
//! no runtime socket and no API server, does no I/O, and still works for a
//! container that is already gone (a path remembered from cgroup_mkdir).
//! The names (container_name, pod_name, ...) are not in the path: they come
//! from files the runtimes and kubelet leave on disk, and reading those is
//! another module's job.
//!
//! A path is what /proc/<pid>/cgroup shows after `0::` (v2) or after
//! `N:controllers:` (v1: on a hybrid host a container may exist only in
//! the v1 hierarchies, and the shapes there are the same), or a cgroup
//! directory relative to its mount. Such paths are written by other
//! processes. Any &str is accepted and read in one pass, in time linear in
//! its length, and nothing here panics.
//!
//! What each other tracer reads, and where it came in here (their code is
//! not copied):
//! - Tracee (pkg/containers, getContainerIdFromCgroup): `docker-`, `crio-`,
//!   `cri-containerd-` and `libpod-` prefixes with `.scope` optional, the
//!   `...:cri-containerd:<id>` component, a bare id after `docker`, after
//!   `actions_job` (GitHub's runner) or after a `pod...` component (taken as
//!   containerd), and the innermost match wins. Its prefix matches did not
//!   check the rest was an id, so `crio-conmon-<id>` and `libpod-conmon-<id>`
//!   read as containers `conmon-<id>` (tracee#5086, #5190). Here the rest
//!   after the prefix must be exactly an id, and the two monitors are also
//!   named and refused. Tracee also reads Garden's UUID ids; those are not
//!   64 hex, so they are not covered here.
//! - Falco's container plugin (plugins/container/src/matchers, formerly
//!   libsinsp's runc.cpp layouts): a bare `/<id>` (docker, containerd),
//!   `/docker-<id>.scope`, including under kubepods with cri-dockerd,
//!   `/crio-<id>` and `/crio-<id>.scope`, `/cri-containerd-<id>.scope`,
//!   `:cri-containerd:<id>` (its test case
//!   `/kubepods-burstable-pod<32 hex>.slice:cri-containerd:<id>` is used
//!   below), `/libpod-<id>[.scope][/container]` (falcosecurity/libs#1613)
//!   and `libpod-payload-<id>` under `--cgroups=split`
//!   (falcosecurity/plugins#878). Falco also reads ctr's `/<namespace>/<id>`
//!   with any id; only the `default` namespace with a 64-hex id is read here.
//! - Tetragon (pkg/sensors/exec/procevents, LookupContainerId): the last
//!   component split at `:` (runc's `slice:prefix:id` read as a cgroupfs
//!   path) and then at `-`; a parent is walked up from a `.service` or from
//!   podman's `container` leaf; a bare hex fallback (GitHub's runners); ids
//!   cut to 31 characters to match BPF. Tetragon picks the outermost
//!   container under sysbox's `syscont-cgroup-root`. Here it is the
//!   innermost one, as for every other nested layout (see from_path).
//! - Inspektor Gadget reads no id from a path. It learns of a container
//!   from runc (fanotify) and from OCI state and annotations, reads a
//!   process's paths from /proc/<pid>/cgroup (`0::` for v2,
//!   `1:name=systemd:` for v1), and gets a cgroup's id from
//!   name_to_handle_at, which is the inode again. There was no path shape
//!   of its to cover.
//! - Also covered: nerdctl's `nerdctl-<id>.scope` and `/default/<id>`
//!   (pkg/cmd/container/run_cgroup_linux.go); kind's kubelet with
//!   `--cgroup-root` (`kubelet-kubepods-...slice`, `/kubelet/kubepods/...`);
//!   CRI-O's `crio-<id>.scope/container` under crun; static pods, whose uid
//!   is 32 hex rather than a UUID. The last three are as OpenTelemetry eBPF
//!   Instrumentation's (OBI's) cgroup fixtures show them.
//!
//! LXC is not covered. Its cgroups are named after the container's name
//! (`lxc.payload.<name>`, `/lxc/<name>`), not after a 64-hex id, and a
//! name is not the id this type promises.

/// A container runtime, by the shape of its cgroup paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// dockerd (moby). Under Kubernetes: cri-dockerd, and the old dockershim.
    Docker,
    /// containerd: its CRI plugin under Kubernetes, ctr and nerdctl.
    Containerd,
    /// CRI-O.
    CriO,
    /// Podman (libpod), rootful or rootless.
    Podman,
}

impl Runtime {
    /// The name the container_runtime column shows.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Podman => "podman",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupContainer {
    /// The runtime's full id: 64 lowercase hex.
    pub id: String,
    /// The runtime, when a component of the path names it. When
    /// `runtime_inferred` is set, the id stood bare in the path, and this
    /// is the likeliest runtime for where it stood (see from_path).
    pub runtime: Runtime,
    /// No component named the runtime, so `runtime` is a guess. A caller
    /// that looks for the container's files on disk can try the other
    /// runtimes' places too, or show the runtime as unknown.
    pub runtime_inferred: bool,
    /// The Kubernetes pod's uid, when the path is under kubepods:
    /// 8-4-4-4-12 lowercase hex with dashes (a systemd slice's underscores
    /// put back to dashes). For a static pod it is the 32 hex that kubelet
    /// hashes from the manifest: that is the uid kubelet's own files use
    /// (/var/lib/kubelet/pods/<uid>, /var/log/pods/<ns>_<name>_<uid>). The
    /// API server's mirror pod has a uid of its own, and carries this one in
    /// its kubernetes.io/config.mirror annotation.
    pub pod_uid: Option<String>,
}

/// The length of a container id: the hex of a sha256, as docker,
/// containerd, CRI-O and podman all generate them.
const ID_LEN: usize = 64;

/// A container id: exactly 64 lowercase hex digits. The runtimes print
/// their ids in lowercase only, so `ABC...` or a 63-digit string is some
/// other name, never an id that lost a digit.
pub fn is_container_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(is_hex)
}

/// The container a cgroup path belongs to, or None (the host, a systemd
/// service or session, a runtime's monitor, a pod's own cgroup, or a shape
/// not known here).
///
/// Shapes, one component each (`<id>` is 64 lowercase hex):
/// - `docker-<id>.scope`: docker's systemd driver, anywhere
///   (`/system.slice/...`, `/docker.slice/...`, a rootless user's manager,
///   a kubepods pod slice under cri-dockerd).
/// - `cri-containerd-<id>.scope`: containerd's CRI plugin with
///   `SystemdCgroup`. `nerdctl-<id>.scope`: nerdctl with systemd.
/// - `crio-<id>.scope` (systemd) and `crio-<id>` (cgroupfs): CRI-O. Under a
///   systemd slice, CRI-O's containers are always scopes (their
///   cgroupsPath is `<pod slice>:crio:<id>`), so a bare `crio-<id>` there
///   is not taken as a container. OBI's fixtures, taken from a MicroShift
///   node, have such a directory beside the scopes, named after the pod's
///   sandbox, and they read it as no container.
/// - `libpod-<id>.scope` (systemd), `libpod-<id>` (cgroupfs, under
///   `/libpod_parent`), and `libpod-payload-<id>` (`--cgroups=split`, the
///   mode quadlet uses by default): Podman.
/// - `<slice>:<prefix>:<id>`, for example
///   `kubepods-burstable-pod<uid>.slice:cri-containerd:<id>`: runc's
///   systemd cgroupsPath, created literally by a runtime that uses
///   cgroupfs (containerd without `SystemdCgroup` under a systemd kubelet).
///   Every prefix of the list above is accepted, and a pod slice in the
///   first part gives the pod.
/// - a bare `<id>`, which names no runtime:
///   - after `docker` (docker's cgroupfs driver) or `actions_job` (docker
///     under GitHub's runner): Docker, named, not inferred.
///   - after a kubepods `pod<uid>` (kubelet's cgroupfs driver): Containerd,
///     inferred. CRI-O marks its cgroups (`crio-`), and docker under
///     kubelet's systemd driver marks them too (`docker-`). So a bare id
///     under a pod is containerd's cgroupfs layout (k3s, GKE) or docker's
///     cgroupfs one (dockershim, removed in Kubernetes 1.24, or
///     cri-dockerd). The first is by far the commoner today, and the flag
///     tells the caller that it may check (for example, whether
///     /var/lib/docker/containers/<id> exists).
///   - after a top-level `default`: Containerd, inferred (ctr's and
///     nerdctl's default namespace; containerd's cgroupfs path is
///     `/<namespace>/<id>`).
///   - after `libpod_parent`: not a container. That is a Podman pod's
///     cgroup (cgroupfs), and its id is the pod's.
///   - anywhere else: Docker, inferred. docker's `--cgroup-parent` puts a
///     bare id under any parent, and it is the runtime that does so most
///     (Falco's docker matcher and Tetragon's fallback read it the same).
/// - `crio-conmon-<id>[.scope]` and `libpod-conmon-<id>.scope` are the
///   runtimes' monitor (conmon), not a container. They name no container,
///   so a path whose only id is in one of them is None.
///
/// The container is the last matching component, the innermost. That
/// makes `/docker/<id>/init.scope`, `libpod-<id>.scope/container`,
/// `crio-<id>.scope/container` and a systemd inside the container
/// (`.../docker-<id>.scope/system.slice/foo.service`) resolve to `<id>`,
/// and it makes a kind node's pod (`/docker/<node>/kubepods/.../<id>`) or
/// docker in docker resolve to the container the process really runs in.
/// Neither the host's runtime nor its files know that container; the
/// outermost one is still in the path for a caller that wants it.
///
/// The pod is the last `pod<uid>` component (cgroupfs, after a `kubepods`
/// component) or `...kubepods...-pod<uid>.slice` (systemd; kubelet puts
/// its `--cgroup-root` in front) before the container's component. Guaranteed
/// pods have no QoS level (`kubepods-pod<uid>.slice`, `/kubepods/pod<uid>`);
/// burstable and besteffort ones do. A Podman pod
/// (`machine-libpod_pod_<id>.slice`) is not a Kubernetes pod and gives no
/// `pod_uid`.
///
/// Other leniencies: empty and `.` components are skipped (so `//`, a
/// missing leading `/` and trailing slashes are all fine). A whole
/// /proc/<pid>/cgroup line (`0::/...`, `4:cpu,cpuacct:/...`) is read the
/// same: its hierarchy and controllers are dropped. A trailing newline is
/// dropped, and so is the ` (deleted)` that the kernel appends to a v2
/// cgroup that has been removed. `..` is not a name the kernel writes in a
/// cgroup path. It is taken as a name like any other, not resolved.
pub fn from_path(path: &str) -> Option<CgroupContainer> {
    let path = path.strip_suffix('\n').unwrap_or(path);
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    let path = strip_hierarchy(path);

    let mut found: Option<Found<'_>> = None;
    let mut under_kubepods = false;
    let mut pod: Option<&str> = None;
    let mut parent = "";
    let mut parent_is_pod = false;

    // depth: how many components came before this one.
    for (depth, c) in path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .enumerate()
    {
        let mut is_pod = false;
        match component(c, parent) {
            Component::Container {
                id,
                runtime,
                pod: own,
            } => {
                found = Some(Found {
                    id,
                    runtime,
                    inferred: false,
                    pod: own.or(pod),
                });
            }
            Component::Bare(id) => {
                let guess = match parent {
                    "docker" | "actions_job" => Some((Runtime::Docker, false)),
                    "libpod_parent" => None,
                    _ if parent_is_pod => Some((Runtime::Containerd, true)),
                    "default" if depth == 1 => Some((Runtime::Containerd, true)),
                    _ => Some((Runtime::Docker, true)),
                };
                if let Some((runtime, inferred)) = guess {
                    found = Some(Found {
                        id,
                        runtime,
                        inferred,
                        pod,
                    });
                }
            }
            Component::Monitor => {}
            Component::Other => {
                if c == "kubepods" {
                    under_kubepods = true;
                } else if let Some(uid) = systemd_pod(c).or_else(|| cgroupfs_pod(c, under_kubepods))
                {
                    pod = Some(uid);
                    is_pod = true;
                }
            }
        }
        parent = c;
        parent_is_pod = is_pod;
    }

    found.map(|f| CgroupContainer {
        id: f.id.to_owned(),
        runtime: f.runtime,
        runtime_inferred: f.inferred,
        pod_uid: f.pod.map(|uid| uid.replace('_', "-")),
    })
}

/// A /proc/<pid>/cgroup line's `<hierarchy id>:<controllers>:` head,
/// dropped. The path after it always starts with `/`, so a head is
/// whatever comes before the first `/`, if that is digits, a colon, a
/// controller list with no colon, and a colon. A `slice:prefix:id`
/// component has no digits-only first part, so it never reads as a head.
fn strip_hierarchy(path: &str) -> &str {
    let Some(slash) = path.find('/') else {
        return path;
    };
    let mut parts = path[..slash].split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(_), Some(""), None)
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) =>
        {
            &path[slash..]
        }
        _ => path,
    }
}

/// The best match so far, borrowed from the path until the end.
struct Found<'a> {
    id: &'a str,
    runtime: Runtime,
    inferred: bool,
    /// As written: with dashes, underscores (systemd) or 32 hex.
    pod: Option<&'a str>,
}

enum Component<'a> {
    /// A component that names its runtime; `pod` when it names its pod too
    /// (the `<pod slice>:<prefix>:<id>` form).
    Container {
        id: &'a str,
        runtime: Runtime,
        pod: Option<&'a str>,
    },
    /// Exactly an id, naming no runtime.
    Bare(&'a str),
    /// A runtime's monitor (conmon): never a container.
    Monitor,
    Other,
}

/// The runtimes' monitors. Each of them also begins with a container
/// prefix, so they are matched first and refused by name. The strict id
/// check would refuse them anyway (`conmon-<id>` is not hex), but naming
/// them keeps a later loosening of that check from bringing tracee#5086
/// back.
const MONITORS: [&str; 2] = ["crio-conmon-", "libpod-conmon-"];

/// Prefixes of a container's own cgroup, before the id (and an optional
/// `.scope`). These are the names of runc's systemd `slice:prefix:id` form
/// (the `-` is systemd's), and the cgroupfs names that CRI-O and podman use.
const PREFIXES: [(&str, Runtime); 6] = [
    ("docker-", Runtime::Docker),
    ("cri-containerd-", Runtime::Containerd),
    ("nerdctl-", Runtime::Containerd),
    ("crio-", Runtime::CriO),
    ("libpod-payload-", Runtime::Podman),
    ("libpod-", Runtime::Podman),
];

/// The prefixes as the middle part of a literal `slice:prefix:id`.
const COLON_PREFIXES: [(&str, Runtime); 5] = [
    ("docker", Runtime::Docker),
    ("cri-containerd", Runtime::Containerd),
    ("nerdctl", Runtime::Containerd),
    ("crio", Runtime::CriO),
    ("libpod", Runtime::Podman),
];

fn component<'a>(c: &'a str, parent: &str) -> Component<'a> {
    if is_container_id(c) {
        return Component::Bare(c);
    }
    if c.contains(':') {
        return colon_form(c).unwrap_or(Component::Other);
    }
    let (name, scope) = match c.strip_suffix(".scope") {
        Some(name) => (name, true),
        None => (c, false),
    };
    if MONITORS.iter().any(|m| name.starts_with(m)) {
        return Component::Monitor;
    }
    for (prefix, runtime) in PREFIXES {
        let Some(id) = name.strip_prefix(prefix) else {
            continue;
        };
        if !is_container_id(id) {
            // `libpod-payload-<id>` also starts with `libpod-`: the
            // longer prefix was tried first, so stop at the first prefix
            // that fits, whether or not an id follows it.
            return Component::Other;
        }
        if runtime == Runtime::CriO && !scope && parent.ends_with(".slice") {
            return Component::Other;
        }
        return Component::Container {
            id,
            runtime,
            pod: None,
        };
    }
    Component::Other
}

/// `<slice>:<prefix>:<id>`, exactly three parts.
fn colon_form(c: &str) -> Option<Component<'_>> {
    let mut parts = c.split(':');
    let (slice, prefix, id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_container_id(id) {
        return None;
    }
    let (_, runtime) = COLON_PREFIXES.into_iter().find(|(p, _)| *p == prefix)?;
    Some(Component::Container {
        id,
        runtime,
        pod: systemd_pod(slice),
    })
}

/// kubelet's systemd name for a pod: `<units>-pod<uid>.slice`, where the
/// units include `kubepods` (`kubepods`, `kubepods-burstable`,
/// `kubelet-kubepods-besteffort` under `--cgroup-root=/kubelet`). The
/// slice's name spells out its whole ancestry, so nothing before it is
/// needed. systemd reserves `-` for nesting, so kubelet writes the uid's
/// dashes as `_`.
fn systemd_pod(c: &str) -> Option<&str> {
    let name = c.strip_suffix(".slice")?;
    let at = name.rfind("-pod")?;
    let (units, uid) = (&name[..at], &name[at + "-pod".len()..]);
    let ok =
        units.split('-').any(|u| u == "kubepods") && (is_uuid(uid, b'_') || is_static_uid(uid));
    ok.then_some(uid)
}

/// kubelet's cgroupfs name for a pod: `pod<uid>`, somewhere below a
/// `kubepods` component (it may be `/kubepods/burstable/pod<uid>`,
/// `/kubepods/pod<uid>` or `/kubelet/kubepods/...`). The `kubepods`
/// component is required, because `pod...` alone is too common a name to
/// trust.
fn cgroupfs_pod(c: &str, under_kubepods: bool) -> Option<&str> {
    let uid = c.strip_prefix("pod")?;
    (under_kubepods && (is_uuid(uid, b'-') || is_static_uid(uid))).then_some(uid)
}

/// A UUID as Kubernetes writes them: lowercase, 8-4-4-4-12, `sep` between.
fn is_uuid(s: &str, sep: u8) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == sep
            } else {
                is_hex(b)
            }
        })
}

/// A static pod's uid: kubelet's md5 of the manifest, 32 lowercase hex.
fn is_static_uid(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(is_hex)
}

fn is_hex(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

#[cfg(test)]
mod tests;
