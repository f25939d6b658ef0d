//! The resolver's and the verdicts' tests: notes, the row rule, names,
//! and (as root) a removed cgroup.
use super::*;

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn a_removed_cgroup_stays_known() {
    let mount = host_layout().v2.expect("a cgroup2 mount");
    let id = format!("{:064x}", u128::from(std::process::id()) << 64 | 0xabc);
    let dir = mount.join(format!("ebq-test-docker-{id}.scope"));
    std::fs::create_dir(&dir).expect("mkdir a cgroup (as root)");
    let ino = std::fs::metadata(&dir).map(|m| m.ino());
    let mut r = Resolver::new();
    std::fs::remove_dir(&dir).expect("rmdir");
    let ino = ino.expect("stat");
    let info = r.lookup(V2, ino).expect("known from the first walk");
    assert_eq!(info.path, format!("/ebq-test-docker-{id}.scope"));
    // Gone from the tree, still known; an id never seen is not.
    assert!(!dir.exists());
    assert_eq!(r.lookup(V2, ino), Some(info));
    assert_eq!(r.lookup(V2, u64::MAX), None);
}

fn note(op: ebq_cgroup_op, hierarchy: u32, id: u64, path: &[u8], cut: bool) -> ebq_cgroup_event {
    let mut e = ebq_cgroup_event {
        id,
        hierarchy,
        op: op.0,
        flags: if cut {
            ebq_cgroup_flags::EBQ_CGROUP_CUT.0
        } else {
            0
        },
        path_len: path.len() as u32,
        ..Default::default()
    };
    for (d, s) in e.path.iter_mut().zip(path) {
        *d = *s as _;
    }
    e
}

/// A resolver with no cgroup mount (nothing to walk) and a v1
/// hierarchy numbered 4: what it knows comes from notes alone.
fn noted() -> Resolver {
    let mut r = Resolver::with_layout(Layout {
        v2: None,
        v1: Some(crate::model::cgroup::V1 {
            controller: "memory".into(),
            ssid: 4,
            hierarchy: 4,
            mount: "/nonexistent".into(),
        }),
    });
    r.track_changes();
    r
}

#[test]
fn notes_teach_the_resolver_and_hostile_ones_teach_nothing() {
    let mkdir = ebq_cgroup_op::EBQ_CGROUP_MKDIR;
    let id = "ab".repeat(32);
    let mut r = noted();
    r.note(&note(
        mkdir,
        0,
        10,
        format!("/docker/{id}").as_bytes(),
        false,
    ));
    r.note(&note(mkdir, 4, 10, b"/user.slice", false));
    assert_eq!(r.take_fresh(), [(V2, 10), (V1, 10)]);
    let c = r.lookup(V2, 10).expect("noted");
    assert_eq!(
        c.container.as_ref().map(|c| c.id.as_str()),
        Some(id.as_str())
    );
    assert_eq!(
        r.lookup(V1, 10).map(|i| i.path.clone()).as_deref(),
        Some("/user.slice")
    );
    // Another v1 hierarchy, a cut path, a path that is not absolute,
    // a length past the buffer: not learnt.
    r.note(&note(mkdir, 3, 11, b"/docker/x", false));
    r.note(&note(mkdir, 0, 12, b"/a/b", true));
    r.note(&note(mkdir, 0, 14, b"relative", false));
    let mut long = note(mkdir, 0, 15, b"/x", false);
    long.path_len = u32::MAX;
    r.note(&long);
    assert!(r.take_fresh().is_empty());
    for id in [11, 12, 14, 15] {
        assert_eq!(r.get(V2, id), None, "{id}");
    }
    // Bytes that are no UTF-8, and a backslash: in ebq's encoding.
    r.note(&note(mkdir, 0, 13, b"/a\\b\xff\xfe", false));
    assert_eq!(
        r.get(V2, 13).map(|i| i.path.as_str()),
        Some("/a\\\\b\\xff\\xfe")
    );
    // An unknown op is ignored; rmdir keeps the cgroup (for now).
    r.note(&note(ebq_cgroup_op(9), 0, 16, b"/y", false));
    assert_eq!(r.get(V2, 16), None);
    r.note(&note(ebq_cgroup_op::EBQ_CGROUP_RMDIR, 0, 10, b"", false));
    assert!(r.get(V2, 10).is_some());
    assert!(r.take_gone().is_empty());
}

#[test]
fn a_row_is_its_cgroup2_container_else_its_v1_one() {
    let mkdir = ebq_cgroup_op::EBQ_CGROUP_MKDIR;
    let (a, b) = ("a1".repeat(32), "b2".repeat(32));
    let mut r = noted();
    r.note(&note(mkdir, 0, 1, b"/", false));
    r.note(&note(mkdir, 0, 2, format!("/docker/{a}").as_bytes(), false));
    r.note(&note(mkdir, 4, 7, format!("/docker/{b}").as_bytes(), false));
    let id = |i: Option<Arc<CgroupInfo>>| i.and_then(|i| i.container.clone()).map(|c| c.id);
    assert_eq!(id(r.row(2, 7)), Some(a.clone()), "cgroup2 names one: it");
    assert_eq!(id(r.row(1, 7)), Some(b.clone()), "cgroup2 names none: v1's");
    assert_eq!(
        r.row(1, 0).map(|i| i.path.clone()).as_deref(),
        Some("/"),
        "no v1 id read"
    );
    assert_eq!(
        r.row(1, 99).map(|i| i.path.clone()).as_deref(),
        Some("/"),
        "v1 unknown"
    );
    // The verdicts of `container_id = a`: drop, keep, and defer for
    // the cgroup2 root on a host with a v1 hierarchy.
    let q = crate::sql::bind(&format!(
        "select pid from process_events where container_id = '{a}'"
    ))
    .expect("binds");
    let plan = crate::plan::plan(q, false);
    assert_eq!(plan.kernel.cgroup_filter.len(), 1);
    let v = Verdicts {
        table: plan.table(),
        filter: &plan.kernel.cgroup_filter,
    };
    use crate::abi::types::ebq_cgroup_verdict as cv;
    r.note(&note(
        mkdir,
        0,
        3,
        format!("/machine.slice/libpod-{a}.scope").as_bytes(),
        false,
    ));
    let of = |h, id| v.of(&r, h, r.get(h, id).expect("known"));
    // The id is the path's: no name needed for it.
    assert_eq!(of(V2, 2), Some(cv::EBQ_CGV_KEEP.0 as u8));
    assert_eq!(of(V2, 1), Some(cv::EBQ_CGV_DEFER.0 as u8));
    assert_eq!(of(V1, 7), Some(cv::EBQ_CGV_DROP.0 as u8));
    // A filter on a name: docker's containers with no file here may
    // get one, so no verdict yet.
    let q = crate::sql::bind(
        "select pid from process_events where container_name = 'web' or container_id is null",
    )
    .expect("binds");
    let by_name = crate::plan::plan(q, false);
    let n = Verdicts {
        table: by_name.table(),
        filter: &by_name.kernel.cgroup_filter,
    };
    assert_eq!(n.of(&r, V2, r.get(V2, 2).expect("known")), None);
    assert_eq!(n.of(&r, V1, r.get(V1, 7).expect("known")), None);
    // With their names known: keep and drop.
    let named = |id| {
        let mut i = (**r.get(V1, id).or(r.get(V2, id)).expect("known")).clone();
        i.name = Some("web".into());
        Arc::new(i)
    };
    assert_eq!(n.of(&r, V2, &named(2)), Some(cv::EBQ_CGV_KEEP.0 as u8));
    let mut other = (*named(7)).clone();
    other.name = Some("db".into());
    assert_eq!(
        n.of(&r, V1, &Arc::new(other)),
        Some(cv::EBQ_CGV_DROP.0 as u8)
    );
    // Podman's keep no names in files: a verdict at once.
    assert_eq!(of(V2, 3), Some(cv::EBQ_CGV_KEEP.0 as u8));
    // All of them, keeps first.
    let all = v.all(&r);
    assert_eq!(all.len(), 4);
    assert_eq!((all[0].0.id, all[0].1), (2, cv::EBQ_CGV_KEEP.0 as u8));
    // By name: the pending ones have none.
    assert_eq!(n.all(&r).len(), 2);
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
