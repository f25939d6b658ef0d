//! The container columns, against cgroups this test makes: a docker-shaped
//! scope and a kubepods-shaped hierarchy under the cgroup2 mount, a child
//! moved into each, and the runtimes' and kubelet's files in a directory
//! ebq is pointed to (EBQ_CONTAINER_ROOT), so no runtime is needed. Exact
//! fields on process_events, file_events and socket_events rows.

mod common;

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
        let mut made = Vec::new();
        let mut dir = cgroup2();
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
        for d in self.made.iter().rev() {
            // A cgroup with a process left in it cannot go: move them out.
            if let Ok(procs) = std::fs::read_to_string(d.join("cgroup.procs")) {
                for p in procs.lines() {
                    let _ = std::fs::write(cgroup2().join("cgroup.procs"), p);
                }
            }
            let _ = std::fs::remove_dir(d);
        }
    }
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
    let conf = root.join("var/lib/docker/containers").join(&id);
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::write(
        conf.join("config.v2.json"),
        r#"{"ID":"x","Name":"/web-front"}"#,
    )
    .expect("write");
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
