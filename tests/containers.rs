//! The container columns, against cgroups this test makes: a docker-shaped
//! scope and a kubepods-shaped hierarchy under the cgroup2 mount, a child
//! moved into each, and the runtimes' and kubelet's files in a directory
//! ebq is pointed to (EBQ_CONTAINER_ROOT), so no runtime is needed. Exact
//! fields on process_events, file_events and socket_events rows.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Running;
use serde_json::Value;

/// The cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host.
fn cgroup2() -> PathBuf {
    let table = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    table
        .lines()
        .find_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            (tail.split(' ').next()? == "cgroup2").then(|| PathBuf::from(point))
        })
        .expect("a cgroup2 mount (this machine has one at /sys/fs/cgroup/unified)")
}

/// A cgroup this test made, with every directory it had to make: removed
/// (deepest first) however the test ends.
struct Cgroup {
    made: Vec<PathBuf>,
    leaf: PathBuf,
}

impl Cgroup {
    fn make(rel: &str) -> Cgroup {
        Cgroup::make_in(&cgroup2(), rel)
    }

    /// A cgroup at `rel` under the hierarchy mounted at `base`.
    fn make_in(base: &Path, rel: &str) -> Cgroup {
        let mut made = Vec::new();
        let mut dir = base.to_path_buf();
        for part in rel.trim_start_matches('/').split('/') {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir)
                    .unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
                made.push(dir.clone());
            }
        }
        Cgroup { made, leaf: dir }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let base = self
            .made
            .first()
            .and_then(|d| d.parent())
            .map(Path::to_path_buf);
        for d in self.made.iter().rev() {
            // A cgroup with a process left in it cannot go: move them out.
            if let (Ok(procs), Some(base)) =
                (std::fs::read_to_string(d.join("cgroup.procs")), &base)
            {
                for p in procs.lines() {
                    let _ = std::fs::write(base.join("cgroup.procs"), p);
                }
            }
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The v1 memory hierarchy's mount (this machine is hybrid: v1
/// controllers, cgroup2 beside them), the one ebq reads there.
fn memory_v1() -> PathBuf {
    let table = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    table
        .lines()
        .find_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            let mut t = tail.split(' ');
            let v1 = t.next()? == "cgroup" && t.nth(1)?.split(',').any(|o| o == "memory");
            v1.then(|| PathBuf::from(point))
        })
        .expect("a v1 memory hierarchy (this machine is hybrid)")
}

/// Docker's per-container file under `root`, naming it `name`.
fn docker_config(root: &Path, id: &str, name: &str) {
    let conf = root.join("var/lib/docker/containers").join(id);
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::write(
        conf.join("config.v2.json"),
        format!(r#"{{"ID":"{id}","Name":"/{name}"}}"#),
    )
    .expect("write");
}

/// A 64-hex id no other test uses.
fn fresh_id(tag: u8) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{tag:02x}{:030x}{:032x}", std::process::id(), nanos)
}

/// A copy of /bin/true in `dir` named after a fresh marker (cut to a
/// comm's 15 bytes), so its exec has that comm; and the comm.
fn marker_bin(dir: &Path, tag: &str) -> (PathBuf, String) {
    let marker = common::marker(tag);
    let comm = marker[..15.min(marker.len())].to_string();
    let p = dir.join(&comm);
    std::fs::copy("/bin/true", &p).expect("copy /bin/true");
    (p, comm)
}

/// Runs `script` in sh after moving the shell into `cgroup`.
fn run_in(cgroup: &Cgroup, script: &str) {
    let procs = cgroup.leaf.join("cgroup.procs");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("echo $$ > '{}' && {script}", procs.display()))
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

fn field<'a>(row: &'a Value, k: &str) -> &'a Value {
    &row[k]
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_docker_scope_names_its_container() {
    let tmp = tempfile::tempdir().expect("tmp");
    let id = fresh_id(0xd0);
    let (bin, comm) = marker_bin(tmp.path(), "dock");
    let root = tmp.path().join("root");
    docker_config(&root, &id, "web-front");
    let cg = Cgroup::make(&format!("system.slice/docker-{id}.scope"));
    let ebq = Running::start_env(
        &[("EBQ_CONTAINER_ROOT", root.to_str().expect("utf-8"))],
        &[&format!(
            "select comm, container_id, container_runtime, container_name, pod_name, pod_uid, cgroup_path from process_events where comm = '{comm}'"
        )],
    );
    run_in(&cg, &format!("'{}'", bin.display()));
    // And once on the host: no container.
    Command::new(&bin).status().expect("host run");
    let rows = ebq.wait_rows(2, |_| true);
    ebq.stop();
    let inside: Vec<&Value> = rows
        .iter()
        .filter(|r| !field(r, "container_id").is_null())
        .collect();
    assert_eq!(inside.len(), 1, "{rows:?}");
    let r = inside[0];
    assert_eq!(field(r, "container_id"), &Value::from(id.clone()));
    assert_eq!(field(r, "container_runtime"), "docker");
    assert_eq!(field(r, "container_name"), "web-front");
    assert!(field(r, "pod_name").is_null() && field(r, "pod_uid").is_null());
    assert_eq!(
        field(r, "cgroup_path"),
        &Value::from(format!("/system.slice/docker-{id}.scope"))
    );
    let host: Vec<&Value> = rows
        .iter()
        .filter(|r| field(r, "container_id").is_null())
        .collect();
    assert_eq!(host.len(), 1, "{rows:?}");
    assert!(field(host[0], "container_runtime").is_null());
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_kubepods_container_names_its_pod_on_every_table() {
    let tmp = tempfile::tempdir().expect("tmp");
    let id = fresh_id(0xc1);
    let uid = "1b2c3d4e-5f60-7a8b-9c0d-1e2f3a4b5c6d";
    let root = tmp.path().join("root");
    let logs = root.join("var/log/containers");
    std::fs::create_dir_all(&logs).expect("mkdir");
    std::fs::write(logs.join(format!("web-7d4b9_shop_nginx-{id}.log")), "").expect("write");
    let cg = Cgroup::make(&format!(
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{id}.scope",
        uid.replace('-', "_")
    ));
    let marker = common::marker("kube");
    let file = tmp.path().join(&marker);
    let cols = "container_id, container_runtime, container_name, pod_name, pod_namespace, pod_uid";
    let env = [("EBQ_CONTAINER_ROOT", root.to_str().expect("utf-8"))];
    let files = Running::start_env(
        &env,
        &[&format!(
            "select path, {cols} from file_events where action = 'create' and path = '{}'",
            file.display()
        )],
    );
    let socks = Running::start_env(
        &env,
        &[&format!(
            "select action, {cols} from socket_events where action = 'bind' and pod_uid = '{uid}'"
        )],
    );
    run_in(
        &cg,
        &format!(
            "touch '{}' && python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind((\"127.0.0.1\", 0))'",
            file.display()
        ),
    );
    let f = files.wait_rows(1, |_| true);
    let s = socks.wait_rows(1, |_| true);
    files.stop();
    socks.stop();
    for (what, rows) in [("file_events", &f), ("socket_events", &s)] {
        assert_eq!(rows.len(), 1, "{what}: {rows:?}");
        let r = &rows[0];
        assert_eq!(field(r, "container_id"), &Value::from(id.clone()), "{what}");
        assert_eq!(field(r, "container_runtime"), "containerd", "{what}");
        assert_eq!(field(r, "container_name"), "nginx", "{what}");
        assert_eq!(field(r, "pod_name"), "web-7d4b9", "{what}");
        assert_eq!(field(r, "pod_namespace"), "shop", "{what}");
        assert_eq!(field(r, "pod_uid"), uid, "{what}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_container_gone_before_its_row_is_read_keeps_its_columns() {
    let tmp = tempfile::tempdir().expect("tmp");
    let id = fresh_id(0xe2);
    let (bin, comm) = marker_bin(tmp.path(), "gone");
    let cg = Cgroup::make(&format!("machine.slice/libpod-{id}.scope"));
    // Seen by ebq's first walk; the command removes it right after its
    // exec. Whether ebq reads the row before or after the rmdir, the row
    // has its container (that a removed cgroup stays known is shown
    // without the race by exec/containers.rs's
    // `a_removed_cgroup_stays_known`).
    let leaf = cg.leaf.clone();
    let script = format!(
        "sh -c \"echo \\$\\$ > '{}/cgroup.procs' && exec '{}'\"; echo $$ > '{}/cgroup.procs'; rmdir '{}'",
        leaf.display(),
        bin.display(),
        cgroup2().display(),
        leaf.display()
    );
    let out = common::ebq_root()
        .args(["-o", "json", "-c", &script])
        .arg(format!(
            "select comm, container_id, container_runtime from process_events where comm = '{comm}'"
        ))
        .output()
        .expect("ebq runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !leaf.exists(),
        "the cgroup was removed before the row was read"
    );
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(field(&rows[0], "container_id"), &Value::from(id));
    assert_eq!(field(&rows[0], "container_runtime"), "podman");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_container_in_the_v1_hierarchy_only_gets_its_columns() {
    // Made after ebq starts, in the memory hierarchy alone: its cgroup2
    // is the root, as a cgroupfs-driver runtime leaves it on a hybrid
    // host. Known from the kernel's cgroup_mkdir note.
    let tmp = tempfile::tempdir().expect("tmp");
    let id = fresh_id(0x71);
    let (bin, comm) = marker_bin(tmp.path(), "vone");
    let root = tmp.path().join("root");
    docker_config(&root, &id, "v1-web");
    let ebq = Running::start_env(
        &[("EBQ_CONTAINER_ROOT", root.to_str().expect("utf-8"))],
        &[&format!(
            "select comm, container_id, container_runtime, container_name, cgroup_path, cgroup_id from process_events where comm = '{comm}'"
        )],
    );
    let cg = Cgroup::make_in(&memory_v1(), &format!("ebq-test/docker/{id}"));
    run_in(&cg, &format!("'{}'", bin.display()));
    Command::new(&bin).status().expect("host run");
    let rows = ebq.wait_rows(2, |_| true);
    let done = ebq.stop();
    assert_eq!(rows.len(), 2, "{rows:?} {:?}", done.stderr);
    let root_id = std::fs::metadata(cgroup2()).map(|m| m.ino()).expect("stat");
    let inside: Vec<&Value> = rows
        .iter()
        .filter(|r| !field(r, "container_id").is_null())
        .collect();
    assert_eq!(inside.len(), 1, "{rows:?}");
    let r = inside[0];
    assert_eq!(field(r, "container_id"), &Value::from(id.clone()));
    assert_eq!(field(r, "container_runtime"), "docker");
    assert_eq!(field(r, "container_name"), "v1-web");
    assert_eq!(
        field(r, "cgroup_path"),
        &Value::from(format!("/ebq-test/docker/{id}"))
    );
    // Its cgroup2 is the root: the v1 cgroup is what told it apart.
    assert_eq!(field(r, "cgroup_id"), &Value::from(root_id));
}

/// N runs of `bin` on the host, in the test's own cgroup.
fn host_runs(bin: &Path, n: usize) {
    for _ in 0..n {
        Command::new(bin).status().expect("host run");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_short_container_id_filter_keeps_other_cgroups_events_in_the_kernel() {
    let tmp = tempfile::tempdir().expect("tmp");
    let id = fresh_id(0xa5);
    let (bin, comm) = marker_bin(tmp.path(), "kfil");
    // Known at the start: its verdict is in the kernel before it attaches.
    let cg = Cgroup::make(&format!("system.slice/docker-{id}.scope"));
    let ebq = Running::start(&[&format!(
        "select comm, container_id from process_events where container_id like '{}%' and comm = '{comm}'",
        &id[..12]
    )]);
    host_runs(&bin, 40);
    let b = format!("'{}'", bin.display());
    run_in(&cg, &format!("{b}; {b}; {b}"));
    let rows = ebq.wait_rows(3, |_| true);
    let done = ebq.stop();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| field(r, "container_id") == &Value::from(id.clone())));
    // What reached userspace: the container's 3 execs (and the shell's,
    // which comm = '...' does not reject in the kernel after the fact),
    // none of the 40 on the host: their cgroup's verdict is drop.
    let decoded = done.stat("userspace:");
    assert!(decoded < 10, "{decoded} events decoded: {:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_container_name_filter_follows_cgroups_made_during_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (web, other) = (fresh_id(0xb1), fresh_id(0xb2));
    let root = tmp.path().join("root");
    docker_config(&root, &web, "web-b1");
    docker_config(&root, &other, "other-b2");
    let (bin, comm) = marker_bin(tmp.path(), "kname");
    let ebq = Running::start_env(
        &[("EBQ_CONTAINER_ROOT", root.to_str().expect("utf-8"))],
        &["select comm, container_name from process_events where container_name = 'web-b1'"],
    );
    // Both made after the start: their verdicts come with the notes of
    // their mkdir, before their tasks' first exec.
    let cw = Cgroup::make(&format!("system.slice/docker-{web}.scope"));
    let co = Cgroup::make(&format!("system.slice/docker-{other}.scope"));
    let b = format!("'{}'", bin.display());
    run_in(&co, &format!("for i in $(seq 40); do {b}; done"));
    host_runs(&bin, 40);
    run_in(&cw, &format!("{b}; {b}"));
    let rows = ebq.wait_rows(2, |r| field(r, "comm") == &Value::from(comm.clone()));
    let done = ebq.stop();
    let mine: Vec<&Value> = done
        .rows
        .iter()
        .filter(|r| field(r, "comm") == &Value::from(comm.clone()))
        .collect();
    assert_eq!((rows.len(), mine.len()), (2, 2), "{:?}", done.rows);
    assert!(mine.iter().all(|r| field(r, "container_name") == "web-b1"));
    let decoded = done.stat("userspace:");
    assert!(decoded < 20, "{decoded} events decoded: {:?}", done.stderr);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn explain_shows_the_cgroups_a_container_filter_resolved_to() {
    let id = fresh_id(0xe7);
    let cg = Cgroup::make(&format!("system.slice/docker-{id}.scope"));
    let ino = std::fs::metadata(&cg.leaf).map(|m| m.ino()).expect("stat");
    let out = common::ebq_root()
        .args([
            "--explain",
            &format!("select pid from socket_events where container_id = '{id}'"),
        ])
        .output()
        .expect("ebq runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("kernel, inexact: as verdicts on cgroups"),
        "{text}"
    );
    assert!(text.contains("keeps 1 of the "), "{text}");
    assert!(
        text.contains(&format!("cgroup2 {ino} /system.slice/docker-{id}.scope")),
        "{text}"
    );
    assert!(text.contains("raw_tp/cgroup_mkdir"), "{text}");
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn on_a_pure_v2_layout_the_cgroup2_id_alone_tells_containers_apart() {
    // A mount namespace where cgroup2 is at /sys/fs/cgroup and no v1
    // hierarchy is mounted: the layout of a pure v2 host.
    let id = fresh_id(0xf2);
    let tmp = tempfile::tempdir().expect("tmp");
    let (bin, comm) = marker_bin(tmp.path(), "pure");
    let cg = Cgroup::make(&format!("system.slice/docker-{id}.scope"));
    let sql = format!(
        "select comm, container_id, cgroup_path from process_events where container_id = '{id}' and comm = '{comm}'"
    );
    let script = format!(
        "mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && \
         \"$0\" --explain \"$1\" && exec \"$0\" -o json -c \"sh -c 'echo \\$\\$ > /sys/fs/cgroup/system.slice/docker-{id}.scope/cgroup.procs && exec {}'\" \"$1\"",
        bin.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, &common::bin(), &sql])
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("read: cgroup2 at /sys/fs/cgroup\n"),
        "no v1 hierarchy read: {stdout}"
    );
    let rows: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(field(&rows[0], "container_id"), &Value::from(id.clone()));
    assert_eq!(
        field(&rows[0], "cgroup_path"),
        &Value::from(format!("/system.slice/docker-{id}.scope"))
    );
    drop(cg);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn namespace_columns_are_the_tasks_own() {
    // The -c command enters new pid, mount and network namespaces, says
    // their inode numbers, then execs the marker there.
    let tmp = tempfile::tempdir().expect("tmp");
    let (bin, comm) = marker_bin(tmp.path(), "nsid");
    let said = tmp.path().join("ns");
    let script = format!(
        "unshare -p -f -m -n --mount-proc sh -c \"stat -L -c %i /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net > '{}' && exec '{}'\"",
        said.display(),
        bin.display()
    );
    let out = common::ebq_root()
        .args(["-o", "json", "-c", &script])
        .arg(format!(
            "select pid_ns, mnt_ns, net_ns, ns_pid from process_events where comm = '{comm}'"
        ))
        .output()
        .expect("ebq runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let ns: Vec<u64> = std::fs::read_to_string(&said)
        .expect("the namespaces said")
        .lines()
        .map(|l| l.trim().parse().expect("an inode number"))
        .collect();
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    let r = &rows[0];
    let host: Vec<u64> = ["pid", "mnt", "net"]
        .iter()
        .map(|n| {
            std::fs::metadata(format!("/proc/self/ns/{n}"))
                .map(|m| m.ino())
                .expect("stat")
        })
        .collect();
    assert_eq!(
        [&r["pid_ns"], &r["mnt_ns"], &r["net_ns"]],
        [
            &Value::from(ns[0]),
            &Value::from(ns[1]),
            &Value::from(ns[2])
        ]
    );
    assert!(ns.iter().zip(&host).all(|(a, b)| a != b), "new namespaces");
    // The shell unshare forked is pid 1 there; the exec keeps its pid.
    assert_eq!(r["ns_pid"], Value::from(1));
}
