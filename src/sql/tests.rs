//! Binder tests: what is accepted, what is refused, and where the error
//! points.

use super::*;

fn err(sql: &str) -> (String, Option<(u64, u64)>) {
    match bind(sql) {
        Err(Error::Sql { msg, pos }) => (msg, pos),
        other => panic!("expected an SQL error for {sql}, got {other:?}"),
    }
}

#[test]
fn binds_columns_star_and_aliases() {
    let q = bind("select pid, path as p from process_events where uid = 0 limit 5").expect("binds");
    assert_eq!(q.table.name, "process_events");
    let names: Vec<_> = q.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["pid", "p"]);
    assert_eq!(q.limit, Some(5));
    assert_eq!(q.conjuncts.len(), 1);

    let q = bind("select * from bpf_process_events").expect("binds");
    assert!(q.outputs.iter().any(|o| o.name == "cmdline"));
    assert!(
        !q.outputs.iter().any(|o| o.name == "argv"),
        "argv is hidden"
    );
    assert!(
        !q.outputs.iter().any(|o| o.name == "ntime"),
        "ntime is hidden"
    );

    // A column selected by an alias (osquery's cid) is named by it.
    let q = bind("select e.pid, cid, CGROUP_ID from process_events e").expect("binds");
    assert_eq!(q.outputs[0].name, "pid");
    assert_eq!(q.outputs[1].name, "cid");
    assert_eq!(q.outputs[2].name, "cgroup_id");
}

#[test]
fn where_splits_into_conjuncts() {
    let q = bind(
        "select pid from process_events where uid = 0 and (pid = 1 or pid = 2) and not comm = 'x'",
    )
    .expect("binds");
    let sql: Vec<_> = q.conjuncts.iter().map(|c| c.sql.as_str()).collect();
    assert_eq!(sql, ["uid = 0", "(pid = 1 OR pid = 2)", "NOT comm = 'x'"]);
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let (m, p) = err("select pdi from process_events");
    assert_eq!(
        m,
        "unknown column \"pdi\" in process_events; did you mean \"pid\"?"
    );
    assert_eq!(p, Some((1, 8)));
    let (m, p) = err("select pid from proces_events");
    assert_eq!(
        m,
        "unknown table \"proces_events\"; did you mean \"process_events\"?"
    );
    assert_eq!(p, Some((1, 17)));
    let (m, _) = err("select pid from process_events where comm = \"bash\"");
    assert!(m.contains("single quotes"), "{m}");
}

#[test]
fn types_are_checked() {
    let (m, _) = err("select pid from process_events where pid = 'abc'");
    assert_eq!(m, "cannot compare INTEGER with TEXT: pid = 'abc'");
    let (m, _) = err("select pid from process_events where pid like '1%'");
    assert_eq!(m, "LIKE needs a TEXT column");
    let (m, _) = err("select pid from process_events where pid");
    assert_eq!(m, "expected a condition, found a INTEGER value");
    assert!(bind("select pid from process_events where truncated").is_ok());
    assert!(bind("select pid from process_events where exit_code = -2").is_ok());
}

#[test]
fn unsupported_sql_is_refused_by_name() {
    for (sql, want) in [
        (
            "select pid from process_events a join process_events b on a.pid = b.pid",
            "JOIN is not supported",
        ),
        (
            "select count(*) from process_events group by all",
            "only GROUP BY <expressions> is supported",
        ),
        (
            "select pid from process_events where pid in (select 1)",
            "IN takes a list of values",
        ),
        (
            "select pid from (select pid from process_events)",
            "FROM takes a table name",
        ),
        (
            "insert into process_events values (1)",
            "only SELECT queries are supported",
        ),
        (
            "select pid from process_events limit 1 offset 2",
            "OFFSET is not supported",
        ),
        (
            "select distinct pid from process_events",
            "DISTINCT is not supported",
        ),
        (
            "select pid from process_events; select 1",
            "only one statement",
        ),
        ("select pid", "FROM is missing"),
        ("", "the query is empty"),
    ] {
        let (m, _) = err(sql);
        assert!(m.starts_with(want), "{sql}: {m}");
    }
}

#[test]
fn syntax_errors_carry_the_position() {
    let (m, p) = err("select pid from where");
    assert!(m.starts_with("syntax error: expected"), "{m}");
    assert_eq!(p, Some((1, 17)));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "select pid from process_events where {}pid = 1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let (m, _) = err(&deep);
    assert!(m.contains("nested"), "{m}");
}

#[test]
fn named_integers_accept_their_names() {
    let q =
        bind("select pid from signal_events where signal = 'SIGKILL' or signal in ('usr1', 15)")
            .expect("binds");
    let Expr::Or(a, b) = &q.conjuncts[0].expr else {
        panic!("an OR")
    };
    assert_eq!(
        **a,
        Expr::Cmp(
            Box::new(Expr::Column(
                crate::catalog::table("signal_events")
                    .and_then(|t| t.column("signal"))
                    .expect("a signal column")
            )),
            CmpOp::Eq,
            Box::new(Expr::Lit(Value::Int(9)))
        )
    );
    assert!(matches!(&**b, Expr::In { list, .. } if *list == vec![Value::Int(10), Value::Int(15)]));
    let (m, _) = err("select pid from signal_events where signal = 'SIGKIL'");
    assert_eq!(
        m,
        "'SIGKIL' is not a value of signal (a signal name): did you mean 'SIGKILL'?"
    );
    let (m, _) = err("select pid from process_events where pid = 'SIGKILL'");
    assert!(m.starts_with("cannot compare INTEGER with TEXT"), "{m}");
}

#[test]
fn aggregates_bind_over_keys_and_calls() {
    let q = bind("select comm, count(*) as n, max(duration) / 1000 from syscall_events group by comm having count(*) > 5 order by n desc limit 3").expect("binds");
    let a = q.agg.as_ref().expect("aggregate query");
    assert_eq!(a.keys.len(), 1);
    assert_eq!(a.aggs.len(), 2, "count(*) in HAVING is the same aggregate");
    assert_eq!(q.outputs[0].expr, Expr::Key(0));
    assert_eq!(q.outputs[1].expr, Expr::Agg(0));
    assert!(matches!(q.outputs[2].expr, Expr::Arith(..)));
    assert_eq!(q.order_by[0].expr, Expr::Agg(0));
    assert!(q.order_by[0].desc);
    let q = bind("select count(*) from process_events").expect("one group");
    assert!(q.agg.as_ref().is_some_and(|a| a.keys.is_empty()));
}

#[test]
fn aggregate_mistakes_are_named() {
    for (sql, want) in [
        (
            "select pid, count(*) from process_events group by comm",
            "column pid must be in GROUP BY or inside an aggregate",
        ),
        (
            "select comm from process_events where count(*) > 1",
            "count() is an aggregate",
        ),
        (
            "select sum(comm) from process_events",
            "sum() needs an INTEGER argument",
        ),
        (
            "select lhist(pid, 10, 0, 1) from process_events",
            "lhist(col, min, max, step) needs min < max",
        ),
        (
            "select count(max(pid)) from process_events",
            "max() is an aggregate",
        ),
        (
            "select median(pid) from process_events",
            "unknown function median()",
        ),
        (
            "select comm + 1 from process_events",
            "arithmetic needs numbers, not TEXT",
        ),
        (
            "select pid from process_events order by 7",
            "ORDER BY 7: there are 1 output columns",
        ),
    ] {
        let (m, _) = err(sql);
        assert!(m.contains(want), "{sql}: {m}");
    }
}

/// The SQL front end against generated input: whatever the text, bind,
/// plan and --explain end in a query or an error, never a panic. Inputs are
/// built from SQL's own tokens (so they get deep into the binder) mixed
/// with arbitrary text.
mod fuzz {
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "select",
        "from",
        "where",
        "group",
        "by",
        "order",
        "having",
        "limit",
        "and",
        "or",
        "not",
        "in",
        "like",
        "between",
        "is",
        "null",
        "count",
        "(",
        ")",
        "*",
        ",",
        "=",
        "!=",
        "<",
        ">=",
        "+",
        "-",
        "/",
        "%",
        "'x%'",
        "'SIGKILL'",
        "0",
        "-1",
        "9223372036854775807",
        "99999999999999999999",
        "pid",
        "comm",
        "path",
        "syscall",
        "duration",
        "exit_code",
        "signal",
        "process_events",
        "syscall_events",
        "signal_events",
        "file_events",
        "hist",
        "lhist",
        "avg",
        "max",
        "distinct",
        "desc",
        "e.pid",
        "cid",
        "true",
        "''",
        "\"q\"",
        ";",
    ];

    fn query() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            8 => proptest::sample::select(TOKENS).prop_map(str::to_string),
            1 => "\\PC{0,8}",
        ];
        proptest::collection::vec(token, 0..40).prop_map(|t| t.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn never_panics(q in query()) {
            if let Ok(bound) = super::bind(&q) {
                let plan = crate::plan::plan(bound, false);
                let _ = crate::plan::explain::render(&plan);
            }
        }

        #[test]
        fn well_formed_selects_bind_or_say_why(
            cols in proptest::collection::vec(proptest::sample::select(&["pid", "comm", "count(*)", "max(duration)", "nr + 1", "upper(syscall)", "*"][..]), 1..4),
            filter in proptest::sample::select(&["", "where pid = 1", "where syscall in ('read', 'write')", "where comm like 'a%' or pid > 5", "where not (uid = 0)"][..]),
            tail in proptest::sample::select(&["", "group by comm", "group by comm having count(*) > 1 order by 1 desc", "limit 3"][..]),
        ) {
            let q = format!("select {} from syscall_events {filter} {tail}", cols.join(", "));
            match super::bind(&q) {
                Ok(b) => { let _ = crate::plan::explain::render(&crate::plan::plan(b, false)); }
                Err(crate::error::Error::Sql { msg, .. }) => prop_assert!(!msg.is_empty()),
                Err(e) => prop_assert!(false, "not an SQL error: {e:?}"),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

        /// Long chains of AND and OR (and the terms that contain their
        /// own parentheses, BETWEEN's AND, NOT), as main.rs runs them: on
        /// the worker's stack. Each plans and explains, or is one error.
        #[test]
        fn long_chains_never_overflow(
            terms in proptest::collection::vec(proptest::sample::select(&["pid = 1", "comm = 'x'", "(uid = 0 or gid = 0)", "pid between 1 and 5", "not pid = 3", "pid + 1 > 2", "path like '/tmp/%'"][..]), 1..64),
            ops in proptest::collection::vec(proptest::sample::select(&[" and ", " or "][..]), 64),
            repeat in 1usize..600,
        ) {
            let mut q = String::from("select pid from process_events where ");
            for i in 0..terms.len() * repeat {
                if i > 0 {
                    q.push_str(ops[i % ops.len()]);
                }
                q.push_str(terms[i % terms.len()]);
            }
            let r = std::thread::Builder::new()
                .stack_size(super::super::STACK_BYTES)
                .spawn(move || match super::bind(&q) {
                    Ok(b) => {
                        let plan = crate::plan::plan(b, false);
                        let _ = crate::plan::never::warnings(&plan);
                        !crate::plan::explain::render(&plan).is_empty()
                    }
                    Err(crate::error::Error::Sql { msg, .. }) => !msg.is_empty(),
                    Err(_) => false,
                })
                .expect("thread")
                .join();
            prop_assert!(matches!(r, Ok(true)));
        }
    }
}

#[test]
fn values_from_a_fixed_set_are_checked_with_the_nearest_named() {
    for (q, want) in [
        (
            "select pid from syscall_events where syscall = 'opennat'",
            "'opennat' is not a value of syscall (a syscall name): did you mean 'openat'?",
        ),
        (
            "select pid from syscall_events where syscall in ('read', 'OPENAT')",
            "'OPENAT' is not a value of syscall (a syscall name): did you mean 'openat'?",
        ),
        (
            "select pid from file_events where action = 'unlnk'",
            "'unlnk' is not a value of action (a file action): did you mean 'unlink'?",
        ),
        (
            "select pid from process_events where error != 'ENOENTT'",
            "'ENOENTT' is not a value of error (an errno name): did you mean 'ENOENT'?",
        ),
        (
            "select pid from socket_events where family = 'AF_INETT'",
            "'AF_INETT' is not a value of family (an address family): did you mean 'AF_INET'?",
        ),
        (
            "select pid from socket_events where status = 'ok'",
            "'ok' is not a value of status (a status); ebq --list socket_events says what they are",
        ),
        (
            "select pid from signal_events where result = 'deliverd'",
            "'deliverd' is not a value of result (a signal_generate result): did you mean 'delivered'?",
        ),
        (
            "select pid from module_events where action = 'laod'",
            "'laod' is not a value of action (a module action): did you mean 'load'?",
        ),
    ] {
        assert_eq!(err(q).0, want, "{q}");
    }
    // What the columns show for a value without a name is a value too.
    for q in [
        "select pid from syscall_events where syscall = 'syscall_999' or error = 'E4000'",
        "select pid from process_exit_events where signal_name in ('SIGRTMIN+3', 'SIGKILL')",
        "select pid from socket_events where family_name = 'AF_44' and protocol = 'TCP'",
        "select pid from signal_events where result = 'result_9' and signal = 'kill'",
    ] {
        assert!(bind(q).is_ok(), "{q}");
    }
}

#[test]
fn every_value_a_column_shows_is_in_its_set() {
    use crate::catalog::common::{errno_name, signal_name, ERRNO, SIGNAL_NAMES};
    for n in 1..4096 {
        if let Value::Text(t) = errno_name(-n) {
            assert!(ERRNO.has(&t), "{t}");
        }
    }
    for n in 1..=64 {
        if let Value::Text(t) = signal_name(n) {
            assert!(SIGNAL_NAMES.has(&t), "{t}");
        }
    }
    for t in crate::catalog::TABLES {
        for c in t.columns.iter().filter(|c| c.domain.is_some()) {
            let d = c.domain.expect("a domain");
            for v in d.all() {
                assert!(d.has(&v), "{}.{}: {v}", t.name, c.name);
            }
        }
    }
}
