//! Predicates that can never be true: `pid = 1 and pid = 2`, `pid = -1`,
//! `comm = 'a-name-longer-than-15-bytes'`, a constant false. The run would
//! print nothing and look like "nothing happened"; instead each one is a
//! warning when the run starts (and with --explain), naming the conjunct
//! and why. The kernel filters already reject such events (an empty range
//! or set); this only says so.

use std::collections::BTreeSet;

use super::{pushdown, KernelPlan, Plan};
use crate::catalog::{KernelFilter, Table};
use crate::model::eval::{self, Source};
use crate::model::expr::{CmpOp, Expr};
use crate::model::value::{decode, Value};

use super::COMM_MAX;

struct NoRow;
impl Source for NoRow {}

/// The integer filters of `k` no value can pass, by column name.
fn empty_ints(k: &mut KernelPlan) -> Vec<(&'static str, i64, i64)> {
    let mut out = Vec::new();
    for f in k.ints.values_mut() {
        let (min, max) = (f.min, f.max);
        f.simplify();
        let none = f.lo > f.hi || f.in_set.as_ref().is_some_and(BTreeSet::is_empty);
        if none {
            out.push((f.column, min, max));
        }
    }
    out
}

/// A comm longer than any comm: the values of `comm = v` / `comm IN (..)`
/// when every one is.
fn long_comms(table: &Table, e: &Expr) -> Option<Vec<String>> {
    let is_comm = |x: &Expr| matches!(x, Expr::Column(c) if matches!(table.columns[*c].filter, KernelFilter::Comm));
    let values: Vec<&str> = match e {
        Expr::Cmp(a, CmpOp::Eq, b) => match (a.as_ref(), b.as_ref()) {
            (c, Expr::Lit(Value::Text(v))) | (Expr::Lit(Value::Text(v)), c) if is_comm(c) => {
                vec![v.as_str()]
            }
            _ => return None,
        },
        Expr::In {
            expr,
            list,
            negated: false,
        } if is_comm(expr) => list
            .iter()
            .map(|v| match v {
                Value::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let long = |v: &&str| decode(v).len() > COMM_MAX;
    (!values.is_empty() && values.iter().all(long)).then(|| {
        values
            .iter()
            .map(|v| {
                // The kernel cuts bytes, not characters (__set_task_comm
                // copies TASK_COMM_LEN - 1 of them): a name cut inside a
                // character is what comm then holds, `\xNN` and all.
                let b = decode(v);
                crate::model::value::text_from_bytes(&b[..COMM_MAX])
            })
            .collect()
    })
}

/// Characters of a conjunct a warning shows: a 100,000-term chain is one
/// line, not a megabyte of stderr.
const SHOWN: usize = 200;

/// `sql` for a warning: cut with an ellipsis, terminal-safe.
fn short(sql: &str) -> String {
    let s = crate::model::sanitize::sanitize(sql);
    match s.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.into_owned(),
    }
}

/// One warning per conjunct (or group of conjuncts) that cannot be true.
pub fn warnings(plan: &Plan) -> Vec<String> {
    let table = plan.table();
    let mut out = Vec::new();
    let mut said: BTreeSet<&str> = BTreeSet::new();
    for c in &plan.query.conjuncts {
        let mut cols = Vec::new();
        c.expr.columns(&mut cols);
        if cols.is_empty() {
            // One that reads the clock may be true later in the run.
            if !c.expr.may_read_clock() && eval::truth(table, &c.expr, &NoRow) != Some(true) {
                out.push(format!(
                    "WHERE {} is never true: it does not depend on the event",
                    c.sql
                ));
            }
            continue;
        }
        if let Some(cut) = long_comms(table, &c.expr) {
            let cut: Vec<String> = cut
                .iter()
                .map(|v| format!("'{}'", crate::model::sanitize::sanitize(v)))
                .collect();
            out.push(format!(
                "WHERE {} is never true: comm holds at most {COMM_MAX} bytes (the kernel cuts longer names); did you mean {}?",
                short(&c.sql),
                cut.join(" or ")
            ));
            continue;
        }
        let mut alone = KernelPlan::default();
        let _ = pushdown::push(table, &c.expr, &mut alone);
        for (column, min, max) in empty_ints(&mut alone) {
            said.insert(column);
            let why = if table
                .column(column)
                .is_some_and(|c| table.columns[c].is_u64())
            {
                // The u64 literals past i64 (sql/mod.rs, wide_cmp) end up
                // here: say what the column holds, not its i64 form.
                format!("no {column} reaches 2^63 (a cgroup id is kernfs's generation << 32 | inode number)")
            } else {
                format!("{column} holds {min} to {max}")
            };
            out.push(format!("WHERE {} is never true: {why}", short(&c.sql)));
        }
        if alone.comm_in.as_ref().is_some_and(BTreeSet::is_empty) {
            said.insert("comm");
            out.push(format!("WHERE {} is never true", short(&c.sql)));
        }
    }
    // Conjuncts that contradict each other (pid = 1 AND pid = 2).
    let mut all = KernelPlan::default();
    for c in &plan.query.conjuncts {
        let _ = pushdown::push(table, &c.expr, &mut all);
    }
    let mut empty: Vec<&'static str> = empty_ints(&mut all).into_iter().map(|e| e.0).collect();
    if all.comm_in.as_ref().is_some_and(BTreeSet::is_empty) {
        empty.push("comm");
    }
    for column in empty {
        if said.contains(column) {
            continue;
        }
        let terms: Vec<&str> = plan
            .query
            .conjuncts
            .iter()
            .filter(|c| {
                let mut cols = Vec::new();
                c.expr.columns(&mut cols);
                cols.iter().any(|&i| table.columns[i].name == column)
            })
            .map(|c| c.sql.as_str())
            .collect();
        out.push(format!(
            "WHERE {} is never true: no {column} is all of these",
            short(&terms.join(" AND "))
        ));
    }
    out
}
