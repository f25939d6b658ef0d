//! What userspace knows of a row's cgroup: its path under the cgroup2
//! mount, and the container and Kubernetes pod it belongs to, with the
//! names the runtimes and kubelet leave on disk. exec/containers.rs finds
//! it (from the cgroup id every header carries) and the run puts it in the
//! row's record; the container columns (catalog/common.rs) read it.

use super::container::CgroupContainer;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    /// The cgroup's path under the cgroup2 mount ("/" for the root).
    pub path: String,
    /// The container, by the path's shape (model/container.rs).
    pub container: Option<CgroupContainer>,
    /// The container's name (docker's, or kubelet's for a pod's container).
    pub name: Option<String>,
    pub pod_name: Option<String>,
    pub pod_namespace: Option<String>,
}
