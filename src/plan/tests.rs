//! Pushdown decisions, one behaviour per test.

use super::*;
use crate::sql::bind;

fn p(sql: &str) -> Plan {
    plan(bind(sql).expect("binds"), false)
}

/// The catalog names of the programs a query's plan attaches.
fn names(sql: &str) -> Vec<&'static str> {
    p(sql).kernel.programs.iter().map(|p| p.name).collect()
}

fn pushed(sql: &str) -> Vec<Pushed> {
    p(sql).conjuncts.into_iter().map(|c| c.pushed).collect()
}

const PID: u32 = 0;
const UID: u32 = 3;
const EXIT: u32 = 9;

#[test]
fn equality_and_in_become_sets() {
    let pl = p("select pid from process_events where uid = 0 and pid in (5, 9, 7)");
    // One value, or consecutive ones, become a range: no map lookup.
    assert_eq!((pl.kernel.ints[&UID].lo, pl.kernel.ints[&UID].hi), (0, 0));
    assert_eq!(pl.kernel.ints[&UID].in_set, None);
    assert_eq!(pl.kernel.ints[&PID].in_set, Some(BTreeSet::from([5, 7, 9])));
    let pl = p("select pid from process_events where pid in (5, 6, 7)");
    assert_eq!(
        (
            pl.kernel.ints[&PID].lo,
            pl.kernel.ints[&PID].hi,
            pl.kernel.ints[&PID].in_set.is_none()
        ),
        (5, 7, true)
    );
    assert!(pl.conjuncts.iter().all(|c| c.pushed == Pushed::Exact));
}

#[test]
fn ranges_intersect_and_fold_into_sets() {
    let pl = p("select pid from process_events where exit_code < 0 and exit_code >= -13");
    let f = &pl.kernel.ints[&EXIT];
    assert_eq!((f.lo, f.hi), (-13, -1));
    let pl = p("select pid from process_events where pid in (1, 2, 3, 9) and pid > 1 and pid != 3");
    assert_eq!(pl.kernel.ints[&PID].in_set, Some(BTreeSet::from([2, 9])));
    assert!(!pl.kernel.ints[&PID].has_range());
    let pl = p("select pid from process_events where pid between 10 and 20");
    assert_eq!((pl.kernel.ints[&PID].lo, pl.kernel.ints[&PID].hi), (10, 20));
}

#[test]
fn or_on_one_column_is_one_set_and_not_is_pushed_through() {
    let pl = p("select pid from process_events where (pid = 1 or pid = 2 or pid in (30))");
    assert_eq!(
        pl.kernel.ints[&PID].in_set,
        Some(BTreeSet::from([1, 2, 30]))
    );
    let pl = p("select pid from process_events where not (uid = 0 or uid = 1)");
    assert_eq!(pl.kernel.ints[&UID].not_in, BTreeSet::from([0, 1]));
    let pl = p("select pid from process_events where not pid > 5");
    assert_eq!(pl.kernel.ints[&PID].hi, 5);
}

#[test]
fn what_the_kernel_cannot_decide_stays_in_userspace() {
    for sql in [
        "select pid from process_events where cmdline like '%x%'",
        "select pid from process_events where pid = 1 or uid = 0",
        "select pid from process_events where pid < 5 or pid > 10",
        "select pid from process_events where pid not between 1 and 5",
        "select pid from process_events where auid is null",
        "select pid from process_events where pid = tid",
        "select pid from process_events where pid in (1, null)",
        "select pid from process_events where path like '%bin%'",
        "select pid from process_events where path not like '/usr/%'",
        "select pid from process_events where comm like 'ba%'",
    ] {
        let v = pushed(sql);
        assert!(matches!(v[0], Pushed::Userspace(_)), "{sql}: {v:?}");
    }
}

#[test]
fn path_prefixes_are_inexact() {
    let pl = p("select pid from process_events where path like '/usr/%' or path like '/opt/%'");
    assert_eq!(
        pl.kernel.path_prefixes,
        Some(BTreeSet::from(["/opt/".to_string(), "/usr/".to_string()]))
    );
    assert!(matches!(pl.conjuncts[0].pushed, Pushed::Inexact(_)));
}

#[test]
fn comm_sets_respect_the_kernel_length() {
    let pl = p("select pid from process_events where comm in ('bash', 'a-very-long-command-name')");
    assert_eq!(
        pl.kernel.comm_in,
        Some(BTreeSet::from([
            "a-very-long-com".to_string(),
            "bash".to_string()
        ]))
    );
    assert!(matches!(pl.conjuncts[0].pushed, Pushed::Inexact(_)));
    let pl = p(
        "select pid from process_events where comm != 'a-very-long-command-name' and comm <> 'sh'",
    );
    assert_eq!(pl.kernel.comm_not_in, BTreeSet::from(["sh".to_string()]));
}

#[test]
fn huge_in_lists_fall_back_to_userspace() {
    let list: Vec<String> = (0..2000).map(|i| i.to_string()).collect();
    let v = pushed(&format!(
        "select pid from process_events where pid in ({})",
        list.join(",")
    ));
    assert!(
        matches!(&v[0], Pushed::Userspace(w) if w.contains("more than the kernel set holds")),
        "{v:?}"
    );
}

#[test]
fn captures_follow_the_columns_used() {
    assert_eq!(p("select pid from process_events").kernel.capture, 0);
    use crate::abi::types::ebq_process_capture as cap;
    assert_eq!(
        p("select path from process_events where cmdline like '%x%'")
            .kernel
            .capture,
        cap::EBQ_PROCESS_CAP_PATH.0 | cap::EBQ_PROCESS_CAP_ARGS.0
    );
    assert_eq!(
        p("select cwd from process_events").kernel.capture,
        cap::EBQ_PROCESS_CAP_CWD.0
    );
}

#[test]
fn syscall_prunes_programs() {
    assert_eq!(
        names("select pid, path from process_events where syscall = 'execveat'"),
        [
            "execveat_enter",
            "execveat_exit",
            "exec_fail_tail",
            "exec_done"
        ]
    );
    assert_eq!(names("select pid from process_events").len(), 6);
}

#[test]
fn a_query_that_copies_nothing_gets_the_bare_reports() {
    let bare = names("select pid, comm from process_events");
    assert!(bare.contains(&"exec_done_bare") && bare.contains(&"exec_fail_bare"));
    assert!(!bare.contains(&"exec_done") && !bare.contains(&"exec_fail_tail"));
    for sql in [
        "select path from process_events",
        "select argc from process_events where cmdline like '%x%'",
        "select cwd from process_events",
        "select ld_preload from process_events",
    ] {
        let full = names(sql);
        assert!(
            full.contains(&"exec_done") && full.contains(&"exec_fail_tail"),
            "{sql}: {full:?}"
        );
        assert!(
            !full.iter().any(|n| n.ends_with("_bare")),
            "{sql}: {full:?}"
        );
    }
}

#[test]
fn follow_adds_the_fork_and_exit_programs() {
    let follow = plan(bind("select pid from process_events").expect("binds"), true);
    assert_eq!(follow.kernel.programs.len(), 8);
}

#[test]
fn ring_buffer_defaults_follow_the_table_and_kernel_aggregation() {
    assert_eq!(
        p("select pid from process_events").default_buffer(),
        1 << 20
    );
    assert_eq!(p("select path from file_events").default_buffer(), 4 << 20);
    assert_eq!(
        p("select signal from signal_events").default_buffer(),
        256 << 10
    );
    assert_eq!(
        p("select comm, count(*) from syscall_events group by comm").default_buffer(),
        64 << 10
    );
    // Aggregated in userspace: the events still come up.
    assert_eq!(
        p("select path, count(*) from file_events group by path").default_buffer(),
        4 << 20
    );
}

#[test]
fn exit_code_filters_prune_the_programs_that_cannot_match() {
    assert_eq!(
        names("select pid, path from process_events where exit_code = 0"),
        ["execve_enter", "execveat_enter", "exec_done"]
    );
    assert_eq!(
        names("select pid, path from process_events where exit_code < 0"),
        [
            "execve_enter",
            "execve_exit",
            "execveat_enter",
            "execveat_exit",
            "exec_fail_tail"
        ]
    );
    // A set that includes 0 and a failure keeps both.
    assert_eq!(
        names("select pid from process_events where exit_code in (0, -2)").len(),
        6
    );
    // NOT IN (0) rules out every success.
    assert!(
        !names("select pid from process_events where exit_code <> 0")
            .iter()
            .any(|n| n.starts_with("exec_done"))
    );
}

#[test]
fn the_quick_check_is_one_pinned_id_or_one_comm() {
    use crate::abi::types::ebq_quick;
    let q = |sql: &str| p(sql).kernel.quick().map(|(k, v)| (k.0, v));
    assert_eq!(
        q("select pid from file_events where uid = 7 and pid = 9"),
        Some((ebq_quick::EBQ_QUICK_PID.0, 9))
    );
    assert_eq!(
        q("select pid from file_events where gid = 3 and comm = 'x'"),
        Some((ebq_quick::EBQ_QUICK_GID.0, 3))
    );
    assert_eq!(
        q("select pid from file_events where comm = 'x' and uid > 5"),
        Some((ebq_quick::EBQ_QUICK_COMM.0, 0))
    );
    // Several values, a range or an exclusion: no single compare.
    assert_eq!(q("select pid from file_events where uid in (1, 2)"), None);
    assert_eq!(
        q("select pid from file_events where uid between 1 and 2"),
        None
    );
    assert_eq!(
        q("select pid from file_events where comm in ('a', 'b')"),
        None
    );
    assert_eq!(
        q("select pid from file_events where comm = 'a' and comm <> 'b'"),
        None
    );
}

#[test]
fn a_backslash_is_never_compared_byte_for_byte_in_the_kernel() {
    // Rows show a byte that is not UTF-8 as \xNN: the kernel, which sees
    // the byte, checks only what comes before the backslash.
    let pl = p(r"select pid from file_events where path like '/tmp/a\xffb%'");
    assert_eq!(
        pl.kernel.path_prefixes,
        Some(BTreeSet::from(["/tmp/a".to_string()]))
    );
    let pl = p(r"select pid from file_events where path in ('/x/\xff', '/y')");
    assert_eq!(
        pl.kernel.path_prefixes,
        Some(BTreeSet::from(["/x/".to_string(), "/y".to_string()]))
    );
    assert!(matches!(
        pushed(r"select pid from process_events where comm = 'a\xff'")[0],
        Pushed::Userspace(_)
    ));
}

#[test]
fn conjuncts_on_the_rows_cgroup_alone_become_cgroup_verdicts() {
    let verdict = |sql: &str| {
        let plan = p(sql);
        (plan.kernel.cgroup_filter.len(), pushed(sql))
    };
    let inexact =
        |n| move |(k, p): (usize, Vec<Pushed>)| k == n && matches!(p[..], [Pushed::Inexact(_)]);
    for sql in [
        "select pid from process_events where container_id = 'a1b2'",
        "select pid from process_events where container_id like 'a1b2c3d4e5f6%'",
        "select pid from file_events where container_name = 'web'",
        "select pid from socket_events where pod_name in ('web-1', 'web-2')",
        "select pid from process_events where container_id is not null",
        "select pid from process_events where container_id is null",
        "select pid from process_events where not (pod_namespace = 'kube-system')",
        "select pid from process_events where lower(container_name) like 'w%' or cgroup_path like '/docker/%'",
    ] {
        assert!(inexact(1)(verdict(sql)), "{sql}");
    }
    // With a column of the event, the clock, or an aggregate: not one
    // truth per cgroup, so userspace alone.
    for sql in [
        "select pid from process_events where container_id = 'a' or pid = 1",
        "select pid from process_events where container_name = comm",
        "select pid from process_events where container_name = 'x' or datetime('now') > '2030-01-01'",
    ] {
        let (k, p) = verdict(sql);
        assert_eq!(k, 0, "{sql}");
        assert!(matches!(p[..], [Pushed::Userspace(_)]), "{sql}: {p:?}");
    }
    // And beside other conjuncts, each its own.
    let plan = p("select pid from process_events where uid = 0 and container_name = 'web' and pod_name = 'p'");
    assert_eq!(plan.kernel.cgroup_filter.len(), 2);
    assert!(plan.cgroups);
    assert!(plan
        .kernel
        .programs
        .iter()
        .any(|pr| pr.name == "cgroup_mkdir"));
}
