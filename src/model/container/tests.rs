//! The path shapes model/container.rs reads, one test per family, the
//! shapes it must refuse, and hostile paths.
use super::*;

const ID: &str = "3f4e5d6c7b8a99a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778a";
const ID2: &str = "9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9011223344bb";
const UID: &str = "1b2c3d4e-5f60-7a8b-9c0d-1e2f3a4b5c6d";
const UID_: &str = "1b2c3d4e_5f60_7a8b_9c0d_1e2f3a4b5c6d";
const STATIC_UID: &str = "bd12dd3393227d950605a2444b13c27a";

fn named(runtime: Runtime, id: &str, pod: Option<&str>) -> Option<CgroupContainer> {
    Some(CgroupContainer {
        id: id.to_owned(),
        runtime,
        runtime_inferred: false,
        pod_uid: pod.map(str::to_owned),
    })
}

fn inferred(runtime: Runtime, id: &str, pod: Option<&str>) -> Option<CgroupContainer> {
    Some(CgroupContainer {
        runtime_inferred: true,
        ..named(runtime, id, pod)?
    })
}

#[track_caller]
fn check(path: &str, want: Option<CgroupContainer>) {
    assert_eq!(from_path(path), want, "{path}");
}

#[test]
fn docker_systemd() {
    let want = named(Runtime::Docker, ID, None);
    check(&format!("/system.slice/docker-{ID}.scope"), want.clone());
    check(
        &format!("/system.slice/docker-{ID}.scope/init.scope"),
        want.clone(),
    );
    check(&format!("/docker.slice/docker-{ID}.scope"), want.clone());
    // systemd running inside the container.
    check(
        &format!("/system.slice/docker-{ID}.scope/system.slice/nginx.service"),
        want.clone(),
    );
    // Rootless docker, in the user's manager.
    check(
        &format!("/user.slice/user-1000.slice/user@1000.service/app.slice/docker.service/docker-{ID}.scope"),
        want.clone(),
    );
    // A v1 hierarchy's line, whole; a removed v2 cgroup; a newline.
    check(
        &format!("4:cpu,cpuacct:/system.slice/docker-{ID}.scope"),
        want.clone(),
    );
    check(
        &format!("0::/system.slice/docker-{ID}.scope (deleted)"),
        want.clone(),
    );
    check(&format!("/system.slice/docker-{ID}.scope\n"), want);
}

#[test]
fn docker_cgroupfs() {
    let want = named(Runtime::Docker, ID, None);
    check(&format!("/docker/{ID}"), want.clone());
    check(&format!("/docker/{ID}/"), want.clone());
    check(&format!("docker/{ID}"), want.clone());
    check(&format!("//docker//{ID}//"), want.clone());
    check(&format!("/./docker/./{ID}"), want.clone());
    check(&format!("/docker/{ID}/init.scope"), want.clone());
    check(&format!("12:pids:/docker/{ID}"), want.clone());
    // GitHub's runner: docker with --cgroup-parent=actions_job.
    check(&format!("/actions_job/{ID}"), want);
    // Another --cgroup-parent: docker is the likeliest, and said so.
    check(&format!("/ci/{ID}"), inferred(Runtime::Docker, ID, None));
    check(&format!("/{ID}"), inferred(Runtime::Docker, ID, None));
}

#[test]
fn containerd_systemd() {
    let want = named(Runtime::Containerd, ID, Some(UID));
    check(
        &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"),
        want.clone(),
    );
    check(
        &format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"),
        want.clone(),
    );
    // The v1 line for the same container.
    check(
        &format!("7:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"),
        want,
    );
    // nerdctl with the systemd manager.
    check(
        &format!("/system.slice/nerdctl-{ID}.scope"),
        named(Runtime::Containerd, ID, None),
    );
}

#[test]
fn containerd_cgroupfs() {
    check(
        &format!("/kubepods/burstable/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
    check(
        &format!("/kubepods/besteffort/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
    // ctr's and nerdctl's default namespace.
    check(
        &format!("/default/{ID}"),
        inferred(Runtime::Containerd, ID, None),
    );
    check(
        &format!("0::/default/{ID}"),
        inferred(Runtime::Containerd, ID, None),
    );
    // A `default` deeper down is just some parent.
    check(
        &format!("/x/default/{ID}"),
        inferred(Runtime::Docker, ID, None),
    );
}

#[test]
fn containerd_colon_form() {
    // runc's systemd cgroupsPath, created literally by a cgroupfs runtime
    // (relative to containerd's own cgroup).
    check(
        &format!("/system.slice/containerd.service/kubepods-burstable-pod{UID_}.slice:cri-containerd:{ID}"),
        named(Runtime::Containerd, ID, Some(UID)),
    );
    // Falco's test case: a static pod's uid.
    check(
        &format!("/kubepods-burstable-pod{STATIC_UID}.slice:cri-containerd:{ID}"),
        named(Runtime::Containerd, ID, Some(STATIC_UID)),
    );
    check(
        &format!("system.slice:cri-containerd:{ID}"),
        named(Runtime::Containerd, ID, None),
    );
    check(
        &format!("/system.slice:docker:{ID}"),
        named(Runtime::Docker, ID, None),
    );
    check(
        &format!("/machine.slice:libpod:{ID}"),
        named(Runtime::Podman, ID, None),
    );
    check(
        &format!("/x.slice:crio:{ID}"),
        named(Runtime::CriO, ID, None),
    );
    // The pod slice's part still has to be kubelet's.
    check(
        &format!("/burstable-pod{UID_}.slice:cri-containerd:{ID}"),
        named(Runtime::Containerd, ID, None),
    );
    // Not the form: unknown prefix, four parts, no id.
    check(&format!("/system.slice:runc:{ID}"), None);
    check(&format!("/a:cri-containerd:{ID}:x"), None);
    check(&format!("/a:cri-containerd:{ID}x"), None);
    check("/a:cri-containerd:", None);
    check(&format!("/:::{ID}"), None);
}

#[test]
fn crio() {
    let want = named(Runtime::CriO, ID, Some(UID));
    let pod =
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice");
    check(&format!("{pod}/crio-{ID}.scope"), want.clone());
    // crun's sub-cgroup for the payload.
    check(&format!("{pod}/crio-{ID}.scope/container"), want.clone());
    check(
        &format!("/kubepods/burstable/pod{UID}/crio-{ID}"),
        want.clone(),
    );
    check(&format!("/kubepods/pod{UID}/crio-{ID}"), want);
    // The monitor, in both drivers.
    check(&format!("{pod}/crio-conmon-{ID}.scope"), None);
    check(
        &format!("/kubepods/burstable/pod{UID}/crio-conmon-{ID}"),
        None,
    );
    // A bare crio-<id> under a systemd slice is no container scope.
    check(&format!("{pod}/crio-{ID}"), None);
    check("/system.slice/crio.service", None);
}

#[test]
fn podman() {
    let want = named(Runtime::Podman, ID, None);
    check(&format!("/machine.slice/libpod-{ID}.scope"), want.clone());
    check(
        &format!("/machine.slice/libpod-{ID}.scope/container"),
        want.clone(),
    );
    check(
        &format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
        want.clone(),
    );
    check(
        &format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
        ),
        want.clone(),
    );
    check(&format!("/libpod_parent/libpod-{ID}"), want.clone());
    // --cgroups=split (quadlet): the payload, and conmon's `runtime`.
    check(
        &format!("/system.slice/nginx.service/libpod-payload-{ID}"),
        want.clone(),
    );
    check(
        &format!("/user.slice/user-1000.slice/user@1000.service/app.slice/redis.service/libpod-payload-{ID}"),
        want.clone(),
    );
    check("/system.slice/nginx.service/runtime", None);
    // A podman pod is no Kubernetes pod.
    check(
        &format!("/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope"),
        want.clone(),
    );
    check(&format!("/libpod_parent/{ID2}/libpod-{ID}"), want);
    check(&format!("/libpod_parent/{ID2}"), None);
    check(&format!("/libpod_parent/{ID2}/conmon"), None);
    // The monitor.
    check(&format!("/machine.slice/libpod-conmon-{ID}.scope"), None);
    check(
        &format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{ID}.scope"
        ),
        None,
    );
    // A prefix followed by no id is nothing, even if an id follows a
    // shorter reading of it.
    check(&format!("/machine.slice/libpod-payload-x{ID}"), None);
}

#[test]
fn kubepods_qos_and_pod_uids() {
    // Guaranteed: no QoS level.
    check(
        &format!("/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope"),
        named(Runtime::Containerd, ID, Some(UID)),
    );
    check(
        &format!("/kubepods/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
    // Static pods: 32 hex, in both drivers.
    check(
        &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{STATIC_UID}.slice/crio-{ID}.scope"),
        named(Runtime::CriO, ID, Some(STATIC_UID)),
    );
    check(
        &format!("/kubepods/burstable/pod{STATIC_UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(STATIC_UID)),
    );
    // kind's kubelet with --cgroup-root=/kubelet.
    check(
        &format!(
            "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"
        ),
        named(Runtime::Containerd, ID, Some(UID)),
    );
    check(
        &format!("/kubelet/kubepods/burstable/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
    // A pod's own cgroup, and the QoS levels, hold no container.
    check(
        &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"),
        None,
    );
    check(&format!("/kubepods/burstable/pod{UID}"), None);
    check("/kubepods.slice/kubepods-besteffort.slice", None);
    check("/kubepods/besteffort", None);
    // Uids that are not kubelet's: wrong separator for the driver,
    // uppercase, short; and a pod outside kubepods.
    let bad = [
        format!("/kubepods.slice/kubepods-pod{UID}.slice/cri-containerd-{ID}.scope"),
        format!(
            "/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{ID}.scope",
            UID_.to_uppercase()
        ),
        format!(
            "/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{ID}.scope",
            &UID_[1..]
        ),
        format!("/system.slice/other-pod{UID_}.slice/cri-containerd-{ID}.scope"),
    ];
    for p in bad {
        check(&p, named(Runtime::Containerd, ID, None));
    }
    check(
        &format!("/kubepods/burstable/pod{UID_}/{ID}"),
        inferred(Runtime::Docker, ID, None),
    );
    check(
        &format!("/pods/pod{UID}/{ID}"),
        inferred(Runtime::Docker, ID, None),
    );
}

#[test]
fn docker_under_kubepods() {
    // cri-dockerd or dockershim with kubelet's systemd driver: named.
    check(
        &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/docker-{ID}.scope"),
        named(Runtime::Docker, ID, Some(UID)),
    );
    // With the cgroupfs driver the id is bare: containerd, inferred.
    check(
        &format!("/kubepods/besteffort/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
}

#[test]
fn nested_takes_the_innermost() {
    check(
        &format!("/docker/{ID2}/docker/{ID}"),
        named(Runtime::Docker, ID, None),
    );
    check(
        &format!("/system.slice/docker-{ID2}.scope/docker/{ID}"),
        named(Runtime::Docker, ID, None),
    );
    // A kind node (a docker container) running a pod's container.
    check(
        &format!("/docker/{ID2}/kubepods/besteffort/pod{UID}/{ID}"),
        inferred(Runtime::Containerd, ID, Some(UID)),
    );
    check(
        &format!(
            "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope"
        ),
        named(Runtime::Containerd, ID, Some(UID)),
    );
    // The node's own services and pod cgroups: the node.
    check(
        &format!("/docker/{ID2}/system.slice/containerd.service"),
        named(Runtime::Docker, ID2, None),
    );
    check(
        &format!("/docker/{ID2}/kubepods/besteffort/pod{UID}"),
        named(Runtime::Docker, ID2, None),
    );
    // A monitor inside a container leaves the container.
    check(
        &format!("/docker/{ID2}/machine.slice/libpod-conmon-{ID}.scope"),
        named(Runtime::Docker, ID2, None),
    );
    // Docker in a pod's container: the pod is still the process's.
    check(
        &format!("/kubepods/pod{UID}/{ID2}/docker/{ID}"),
        named(Runtime::Docker, ID, Some(UID)),
    );
    // A pod after the container is not the container's pod.
    check(
        &format!("/system.slice/docker-{ID}.scope/kubepods-pod{UID_}.slice"),
        named(Runtime::Docker, ID, None),
    );
}

#[test]
fn ids_are_exactly_64_lowercase_hex() {
    assert!(is_container_id(ID));
    let upper = ID.to_uppercase();
    let short = &ID[1..];
    let long = format!("{ID}0");
    let nonhex = format!("g{}", &ID[1..]);
    // A fullwidth digit: 64 characters, more bytes, not hex.
    let wide = format!("\u{ff10}{}", &ID[1..]);
    for bad in [
        upper.as_str(),
        short,
        long.as_str(),
        nonhex.as_str(),
        wide.as_str(),
        "",
    ] {
        assert!(!is_container_id(bad), "{bad}");
        check(&format!("/system.slice/docker-{bad}.scope"), None);
        check(&format!("/docker/{bad}"), None);
        check(&format!("/kubepods/burstable/pod{UID}/{bad}"), None);
        check(&format!("/machine.slice/libpod-{bad}.scope"), None);
        check(&format!("/a.slice:cri-containerd:{bad}"), None);
    }
    // Near misses around the id.
    check(&format!("/system.slice/docker-{ID}-x.scope"), None);
    check(&format!("/system.slice/docker-{ID}.scope.scope"), None);
    check(&format!("/system.slice/docker-{ID}.service"), None);
    check(&format!("/system.slice/xdocker-{ID}.scope"), None);
    check(&format!("/system.slice/{ID}.scope"), None);
    check(&format!("/docker/ {ID}"), None);
}

#[test]
fn the_host_and_its_services() {
    for p in [
        "",
        "/",
        "0::/",
        "/init.scope",
        "/system.slice",
        "/system.slice/sshd.service",
        "/system.slice/docker.service",
        "/system.slice/containerd.service",
        "/system.slice/docker.socket",
        "/user.slice/user-0.slice/session-3.scope",
        "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope",
        "/machine.slice",
        "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope",
        "/kubepods.slice",
        "/kubepods",
        "/docker",
        "/libpod_parent",
        "/lxc.payload.web",
        "/lxc/web",
        "1:name=systemd:/user.slice/user-1000.slice/session-2.scope",
    ] {
        check(p, None);
    }
}

#[test]
fn hostile_paths() {
    // 1 MiB in one component, of slashes, of colons, of dashes.
    let mib = 1 << 20;
    check(&"a".repeat(mib), None);
    check(&"/".repeat(mib), None);
    check(&":".repeat(mib), None);
    check(
        &format!("/kubepods-{}pod{UID_}.slice", "-".repeat(mib)),
        None,
    );
    check(&format!("/docker-{}.scope", "0".repeat(mib)), None);
    // 1 MiB of a valid container component repeated: the last one.
    let unit = format!("/docker/{ID}");
    let many = unit.repeat(mib / unit.len() + 1);
    check(&many, named(Runtime::Docker, ID, None));
    // 10,000 components, then the container.
    let deep = format!("{}/docker-{ID}.scope", "/x".repeat(10_000));
    check(&deep, named(Runtime::Docker, ID, None));
    // 10,000 kubepods pod slices, then a container: the last pod.
    let pods = format!("/kubepods-pod{UID_}.slice").repeat(10_000);
    check(
        &format!("{pods}/crio-{ID}.scope"),
        named(Runtime::CriO, ID, Some(UID)),
    );
    // `..` is a name, not resolved.
    check(
        &format!("/docker/{ID}/.."),
        named(Runtime::Docker, ID, None),
    );
    check(
        &format!("/docker/../{ID}"),
        inferred(Runtime::Docker, ID, None),
    );
    // Odd unicode around a real component; a NUL; a cut path's mark.
    check(
        &format!("/é/日本/\u{202e}/\0/docker-{ID}.scope/🦀"),
        named(Runtime::Docker, ID, None),
    );
    check(&format!("/docker-{ID}\u{202e}.scope"), None);
    check(
        &format!(".../docker-{ID}.scope"),
        named(Runtime::Docker, ID, None),
    );
    check(
        &format!("...{}/docker-{ID2}.scope", &ID[40..]),
        named(Runtime::Docker, ID2, None),
    );
}

/// Paths glued from the pieces the parser looks for, in random orders:
/// it never panics, and what it returns is well formed and from the path.
#[test]
fn glued_pieces_never_panic() {
    let words = [
        "/",
        "/",
        "/",
        "docker",
        "/docker/",
        "docker-",
        ID,
        ".scope",
        "crio-",
        "crio-conmon-",
        "libpod-",
        "libpod-conmon-",
        "libpod-payload-",
        "kubepods",
        "/kubepods/",
        "kubepods-",
        "-pod",
        "/pod",
        "pod",
        UID,
        UID_,
        STATIC_UID,
        ".slice",
        ":",
        ":cri-containerd:",
        "default",
        "libpod_parent",
        "é",
        "\u{ff10}",
        " (deleted)",
        "\n",
        "..",
        ".",
        "",
    ];
    // And whole components, so that the shapes meet often enough.
    let whole = [
        format!("/kubepods/burstable/pod{UID}/"),
        format!("/kubepods.slice/kubepods-pod{UID_}.slice/"),
        format!("kubepods-besteffort-pod{STATIC_UID}.slice"),
        format!("/docker-{ID}.scope/"),
        format!("/cri-containerd-{ID2}.scope"),
    ];
    let pieces: Vec<&str> = words
        .into_iter()
        .chain(whole.iter().map(String::as_str))
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // xorshift64: deterministic, and no crate.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut containers, mut pods) = (0, 0);
    for _ in 0..50_000 {
        let n = (next() % 16) as usize;
        let path: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let Some(c) = from_path(&path) else { continue };
        containers += 1;
        assert!(is_container_id(&c.id), "{path:?}");
        assert!(path.contains(&c.id), "{path:?}");
        if let Some(uid) = &c.pod_uid {
            pods += 1;
            assert!(is_uuid(uid, b'-') || is_static_uid(uid), "{path:?}");
        }
    }
    // The pieces do meet: the test is not vacuous.
    assert!(
        containers > 1000 && pods > 10,
        "{containers} containers, {pods} pods"
    );
}

#[test]
fn runtime_names() {
    assert_eq!(Runtime::Docker.name(), "docker");
    assert_eq!(Runtime::Containerd.name(), "containerd");
    assert_eq!(Runtime::CriO.name(), "cri-o");
    assert_eq!(Runtime::Podman.name(), "podman");
}
