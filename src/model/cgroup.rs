//! What userspace knows of a row's cgroup: its path under its hierarchy's
//! root, and the container and Kubernetes pod it belongs to, with the
//! names the runtimes and kubelet leave on disk. exec/containers.rs finds
//! it (from the cgroup ids every header carries) and the run puts it in
//! the row's record; the container columns (catalog/common.rs) read it.
//! And the host's cgroup layout (pure v2, hybrid, v1), from its mounts.

use super::container::CgroupContainer;
use crate::abi::types::{ebq_cgroup_event, ebq_cgroup_key};

crate::plain_abi!(ebq_cgroup_event, ebq_cgroup_key);

/// The columns (catalog/common.rs) whose values come from the runtimes'
/// and kubelet's files, which may be written after the cgroup is made.
pub const NAME_COLUMNS: [&str; 3] = ["container_name", "pod_name", "pod_namespace"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    /// The cgroup's path under its hierarchy's mount ("/" for the root),
    /// in ebq's encoding (model/value.rs, text_from_bytes): kernel bytes.
    pub path: String,
    /// The container, by the path's shape (model/container.rs).
    pub container: Option<CgroupContainer>,
    /// The container's name (docker's, or kubelet's for a pod's container).
    pub name: Option<String>,
    pub pod_name: Option<String>,
    pub pod_namespace: Option<String>,
}

/// How a host's cgroups are laid out: where cgroup2 is, and which v1
/// hierarchy the kernel reads a second cgroup id from (bpf/cgroup.h).
///   - pure v2 (cgroup2 at /sys/fs/cgroup, no v1 controller mounted):
///     the cgroup2 id tells every container apart;
///   - hybrid (v1 controllers, cgroup2 beside them, as systemd's
///     "hybrid" mode and this project's machines have it): a container
///     of a v1 runtime (cgroupfs driver) may be in v1 hierarchies only,
///     its cgroup2 the root, so the kernel reads its v1 cgroup too;
///   - pure v1 (no cgroup2): the v1 cgroup alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The cgroup2 mount.
    pub v2: Option<std::path::PathBuf>,
    pub v1: Option<V1>,
}

/// The v1 hierarchy the kernel reads (cfg.v1_ssid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1 {
    pub controller: String,
    /// The controller's subsystem id: its line in /proc/cgroups.
    pub ssid: u32,
    /// Its hierarchy's id: /proc/cgroups' second column.
    pub hierarchy: u32,
    pub mount: std::path::PathBuf,
}

/// The v1 controllers whose hierarchy holds containers, in the order one
/// is picked: every runtime's cgroupfs driver (runc's libcontainer) makes
/// a cgroup per container in each of these, and memory and pids are the
/// ones a v1 host has mounted nearly always (Tetragon starts its search
/// with memory too).
pub const V1_CONTROLLERS: [&str; 7] = [
    "memory", "pids", "cpu", "cpuset", "blkio", "devices", "freezer",
];

/// The layout of a host with mount table `mounts` (mount point, fstype,
/// super options; kernel::preflight::mounts) and /proc/cgroups `cgroups`
/// (subsys_name, hierarchy, num_cgroups, enabled per line, in subsystem
/// id order: proc_cgroupstats_show() in kernel/cgroup/cgroup-v1.c walks
/// for_each_subsys).
pub fn layout(mounts: &[(std::path::PathBuf, String, String)], cgroups: &str) -> Layout {
    let v2 = mounts
        .iter()
        .find(|(_, fstype, _)| fstype == "cgroup2")
        .map(|(p, _, _)| p.clone());
    // (name, ssid, hierarchy, enabled) of each subsystem.
    let subsys: Vec<(&str, u32, u32, bool)> = cgroups
        .lines()
        .filter(|l| !l.starts_with('#'))
        .enumerate()
        .filter_map(|(i, l)| {
            let mut f = l.split_whitespace();
            let name = f.next()?;
            let hierarchy = f.next()?.parse().ok()?;
            let enabled = f.nth(1)? == "1";
            Some((name, u32::try_from(i).ok()?, hierarchy, enabled))
        })
        .collect();
    let v1 = V1_CONTROLLERS.iter().find_map(|want| {
        let &(name, ssid, hierarchy, enabled) = subsys.iter().find(|s| s.0 == *want)?;
        // Hierarchy 0: bound to cgroup2, or not mounted.
        if !enabled || hierarchy == 0 {
            return None;
        }
        let (mount, _, _) = mounts
            .iter()
            .find(|(_, fstype, opts)| fstype == "cgroup" && opts.split(',').any(|o| o == name))?;
        Some(V1 {
            controller: name.to_string(),
            ssid,
            hierarchy,
            mount: mount.clone(),
        })
    });
    Layout { v2, v1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn m(point: &str, fstype: &str, opts: &str) -> (PathBuf, String, String) {
        (point.into(), fstype.into(), opts.into())
    }

    const HYBRID_CGROUPS: &str = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
        cpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nblkio\t7\t1\t1\n\
        memory\t4\t52\t1\ndevices\t5\t1\t1\nfreezer\t6\t1\t1\nnet_cls\t0\t1\t1\n\
        perf_event\t0\t1\t1\nnet_prio\t0\t1\t1\nhugetlb\t0\t1\t1\npids\t8\t1\t1\n";

    #[test]
    fn a_hybrid_host_reads_the_memory_hierarchy_beside_cgroup2() {
        let mounts = [
            m("/sys/fs/cgroup", "tmpfs", "rw,mode=755"),
            m("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
            m("/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
            m("/sys/fs/cgroup/pids", "cgroup", "rw,pids"),
            m("/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd"),
            m("/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
        ];
        let l = layout(&mounts, HYBRID_CGROUPS);
        assert_eq!(l.v2, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(
            l.v1,
            Some(V1 {
                controller: "memory".into(),
                ssid: 4,
                hierarchy: 4,
                mount: "/sys/fs/cgroup/memory".into()
            })
        );
    }

    #[test]
    fn a_pure_v2_host_reads_no_v1_hierarchy() {
        // Every controller bound to cgroup2: hierarchy 0 in /proc/cgroups.
        let cgroups = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
            cpuset\t0\t40\t1\ncpu\t0\t40\t1\nmemory\t0\t40\t1\npids\t0\t40\t1\n";
        let mounts = [m(
            "/sys/fs/cgroup",
            "cgroup2",
            "rw,nsdelegate,memory_recursiveprot",
        )];
        let l = layout(&mounts, cgroups);
        assert_eq!(l.v2, Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(l.v1, None);
        // And a v1 controller named in /proc/cgroups but not mounted.
        let half = "#h\ncpuset\t0\t1\t1\nmemory\t3\t1\t1\n";
        assert_eq!(layout(&mounts, half).v1, None);
    }

    #[test]
    fn a_pure_v1_host_has_no_cgroup2_and_picks_the_first_mounted_controller() {
        // memory disabled (cgroup_disable=memory): pids is next.
        let cgroups = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
            cpuset\t2\t1\t1\ncpu\t3\t1\t1\nmemory\t0\t1\t0\npids\t5\t9\t1\n";
        let mounts = [
            m("/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
            m("/sys/fs/cgroup/pids", "cgroup", "rw,pids"),
        ];
        let l = layout(&mounts, cgroups);
        assert_eq!(l.v2, None);
        let v1 = l.v1.expect("pids");
        assert_eq!(
            (v1.controller.as_str(), v1.ssid, v1.hierarchy),
            ("pids", 3, 5)
        );
        // A co-mounted controller is found by its option, not its path.
        let cpu_only = "#h\ncpu\t3\t1\t1\n";
        let v1 = layout(&mounts, cpu_only).v1.expect("cpu");
        assert_eq!(v1.mount, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        // Garbage in /proc/cgroups picks nothing, and never panics.
        assert_eq!(layout(&mounts, "memory x\n\n\t\t\nmemory 1 1").v1, None);
    }
}
