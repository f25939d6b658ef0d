//! Decides, for one WHERE conjunct, what the kernel can filter, and merges
//! it into the kernel plan. Each rule keeps the kernel conservative: when in
//! doubt, a conjunct stays in userspace.

use std::collections::BTreeSet;

use super::{IntFilter, KernelPlan, Pushed, MAX_KERNEL_SET};
use crate::catalog::{AttachKey, KernelFilter, Table};
use crate::model::expr::{CmpOp, Expr};
use crate::model::value::Value;

use super::{COMM_MAX, PREFIX_MAX};

/// What one conjunct asks of one column.
enum Constraint {
    Int {
        slot: u32,
        column: &'static str,
        min: i64,
        max: i64,
        c: IntC,
    },
    Comm {
        values: BTreeSet<String>,
        negated: bool,
    },
    Prefix(BTreeSet<String>),
    Probe(BTreeSet<String>),
}

enum IntC {
    Range(i64, i64),
    In(BTreeSet<i64>),
    NotIn(BTreeSet<i64>),
}

type Found = Result<(Constraint, Pushed), String>;

/// Whether `e` reads the row's cgroup alone (container_id, pod_name ...):
/// then its truth is one per cgroup, and the kernel can hold it as a
/// verdict per cgroup id (bpf/cgroup.h). Not when it may read the clock
/// (datetime('now') > ...): its truth then changes during the run.
fn of_cgroups_only(table: &Table, e: &Expr) -> bool {
    if e.may_read_clock() {
        return false;
    }
    let mut cols = Vec::new();
    e.columns(&mut cols);
    let mut row_bound = false;
    e.visit(&mut |x| row_bound |= matches!(x, Expr::Key(_) | Expr::Agg(_) | Expr::Call(_)));
    !cols.is_empty() && !row_bound && cols.iter().all(|&c| table.columns[c].cgroup)
}

/// NOT pushed into the leaves; equal under SQL's three-valued logic.
fn negate(e: &Expr) -> Expr {
    if let Some(t) = e.toggled() {
        return t;
    }
    match e {
        Expr::Not(x) => (**x).clone(),
        Expr::Cmp(a, op, b) => Expr::Cmp(a.clone(), op.negate(), b.clone()),
        Expr::And(a, b) => Expr::Or(Box::new(negate(a)), Box::new(negate(b))),
        Expr::Or(a, b) => Expr::And(Box::new(negate(a)), Box::new(negate(b))),
        other => Expr::Not(Box::new(other.clone())),
    }
}

pub(super) fn push(table: &'static Table, e: &Expr, k: &mut KernelPlan) -> Pushed {
    let pushed = push_exact(table, e, k);
    // A column whose kernel filter keeps more than it says (Column::inexact):
    // the conjunct it is in is decided by userspace in the end.
    let mut cols = Vec::new();
    e.columns(&mut cols);
    match (pushed, cols.iter().find_map(|&c| table.columns[c].inexact)) {
        (Pushed::Exact, Some(why)) => Pushed::Inexact(why.into()),
        (p, _) => p,
    }
}

fn push_exact(table: &'static Table, e: &Expr, k: &mut KernelPlan) -> Pushed {
    if of_cgroups_only(table, e) {
        k.cgroup_filter.push(e.clone());
        return Pushed::Inexact(
            "as verdicts on cgroups, resolved by userspace; a cgroup not resolved yet is kept"
                .into(),
        );
    }
    if let Expr::Not(x) = e {
        if matches!(x.as_ref(), Expr::And(..) | Expr::Or(..) | Expr::Not(_)) {
            return push_exact(table, &negate(x), k);
        }
    }
    // Each side of an AND narrows the kernel filter on its own.
    if let Expr::And(a, b) = e {
        return match (push(table, a, k), push(table, b, k)) {
            (Pushed::Userspace(w), Pushed::Userspace(_)) => Pushed::Userspace(w),
            (Pushed::Exact, Pushed::Exact) => Pushed::Exact,
            (Pushed::Programs, Pushed::Programs) => Pushed::Programs,
            (Pushed::Inexact(w), _) | (_, Pushed::Inexact(w)) => Pushed::Inexact(w),
            (Pushed::Userspace(w), _) | (_, Pushed::Userspace(w)) => {
                Pushed::Inexact(format!("in part: {w}"))
            }
            _ => Pushed::Inexact("in part".into()),
        };
    }
    match find(table, e) {
        Err(why) => Pushed::Userspace(why),
        Ok((c, pushed)) => match merge(c, k) {
            Ok(()) => pushed,
            Err(why) => Pushed::Userspace(why),
        },
    }
}

/// A conjunct on one column decided at attach time (function_events'
/// binary = / IN, function = / IN / LIKE, event = / != / IN / NOT IN, and
/// ORs of those on the same column), merged into the plan's function
/// request; None: not one.
pub(super) fn attach(table: &'static Table, e: &Expr, k: &mut KernelPlan) -> Option<Pushed> {
    use crate::model::functions::NameMatch;
    /// The names one conjunct allows, and whether it lists the ones it
    /// excludes (event != / NOT IN) instead.
    fn matches(table: &Table, e: &Expr, out: &mut Vec<NameMatch>) -> Option<(AttachKey, bool)> {
        let key = |c: usize| match table.columns[c].filter {
            KernelFilter::Attach(k) => Some(k),
            _ => None,
        };
        match e {
            Expr::Or(a, b) => {
                let (x, y) = (matches(table, a, out)?, matches(table, b, out)?);
                (x == y && !x.1).then_some(x)
            }
            Expr::Cmp(..) => match column_cmp(e)? {
                (c, op @ (CmpOp::Eq | CmpOp::NotEq), Value::Text(v)) => {
                    let k = key(c)?;
                    let negated = op == CmpOp::NotEq;
                    if negated && k != AttachKey::Ends {
                        return None;
                    }
                    out.push(NameMatch::Exact(v.clone()));
                    Some((k, negated))
                }
                _ => None,
            },
            Expr::In {
                expr,
                list,
                negated,
            } => match expr.as_ref() {
                Expr::Column(c) => {
                    let k = key(*c)?;
                    if *negated && k != AttachKey::Ends {
                        return None;
                    }
                    for v in list {
                        let Value::Text(v) = v else { return None };
                        out.push(NameMatch::Exact(v.clone()));
                    }
                    Some((k, *negated))
                }
                _ => None,
            },
            // LIKE names functions and providers; a binary is named.
            Expr::Like {
                expr,
                like,
                negated: false,
            } => match expr.as_ref() {
                Expr::Column(c) => match key(*c)? {
                    k @ (AttachKey::Function | AttachKey::Provider) => {
                        out.push(NameMatch::Like(like.clone()));
                        Some((k, false))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }
    let mut found = Vec::new();
    let (key, negated) = matches(table, e, &mut found)?;
    let req = k.functions.get_or_insert_with(Default::default);
    let exact = || {
        found.iter().filter_map(|m| match m {
            NameMatch::Exact(v) => Some(v.clone()),
            NameMatch::Like(_) => None,
        })
    };
    match key {
        AttachKey::Binary => req.binaries.push(exact().collect()),
        AttachKey::Provider => req.providers.push(found.clone()),
        AttachKey::Function => req.functions.push(found.clone()),
        AttachKey::Ends => {
            let named: Vec<String> = exact().collect();
            req.ends.push(
                crate::model::functions::END_NAMES
                    .iter()
                    .filter(|n| named.iter().any(|v| v == *n) != negated)
                    .map(|n| n.to_string())
                    .collect(),
            );
        }
    }
    Some(Pushed::Attach)
}

fn merge(c: Constraint, k: &mut KernelPlan) -> Result<(), String> {
    match c {
        Constraint::Int {
            slot,
            column,
            min,
            max,
            c,
        } => {
            let f = k.ints.entry(slot).or_insert(IntFilter {
                column,
                lo: min,
                hi: max,
                min,
                max,
                in_set: None,
                not_in: BTreeSet::new(),
            });
            match c {
                IntC::Range(lo, hi) => {
                    f.lo = f.lo.max(lo);
                    f.hi = f.hi.min(hi);
                }
                IntC::In(set) => {
                    f.in_set = Some(match f.in_set.take() {
                        Some(old) => old.intersection(&set).copied().collect(),
                        None => set,
                    })
                }
                IntC::NotIn(set) => {
                    // Counting the union only when the sizes alone may be
                    // past the bound: 100,000 `pid <> N` stay linear.
                    if f.not_in.len() + set.len() > MAX_KERNEL_SET
                        && f.not_in.union(&set).count() > MAX_KERNEL_SET
                    {
                        return Err(format!(
                            "the kernel's NOT IN set of {column} holds {MAX_KERNEL_SET} values"
                        ));
                    }
                    f.not_in.extend(set);
                }
            }
        }
        Constraint::Comm {
            values,
            negated: false,
        } => {
            k.comm_in = Some(match k.comm_in.take() {
                Some(old) => old.intersection(&values).cloned().collect(),
                None => values,
            })
        }
        Constraint::Comm {
            values,
            negated: true,
        } => {
            if k.comm_not_in.len() + values.len() > MAX_KERNEL_SET
                && k.comm_not_in.union(&values).count() > MAX_KERNEL_SET
            {
                return Err(format!(
                    "the kernel's NOT IN set of comm holds {MAX_KERNEL_SET} values"
                ));
            }
            k.comm_not_in.extend(values);
        }
        Constraint::Prefix(set) => {
            if k.path_prefixes.is_some() {
                return Err("the kernel takes one path prefix filter per query".into());
            }
            k.path_prefixes = Some(set);
        }
        Constraint::Probe(set) => {
            k.probe_tags = Some(match k.probe_tags.take() {
                Some(old) => old.intersection(&set).cloned().collect(),
                None => set,
            })
        }
    }
    Ok(())
}

/// Column op literal, in that order, or None.
fn column_cmp(e: &Expr) -> Option<(usize, CmpOp, &Value)> {
    match e {
        Expr::Cmp(a, op, b) => match (a.as_ref(), b.as_ref()) {
            (Expr::Column(c), Expr::Lit(v)) => Some((*c, *op, v)),
            (Expr::Lit(v), Expr::Column(c)) => Some((*c, op.flip(), v)),
            _ => None,
        },
        _ => None,
    }
}

fn find(table: &'static Table, e: &Expr) -> Found {
    match e {
        Expr::Key(_) | Expr::Agg(_) | Expr::Call(_) | Expr::Arith(..) | Expr::Func(..) => {
            Err("a computed value is decided in userspace".into())
        }
        Expr::Not(x) => match x.as_ref() {
            Expr::Not(_)
            | Expr::Cmp(..)
            | Expr::In { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::IsNull { .. }
            | Expr::And(..)
            | Expr::Or(..) => find(table, &negate(x)),
            _ => Err("NOT of this expression is decided in userspace".into()),
        },
        Expr::Or(a, b) => {
            let (ca, pa) = find(table, a)?;
            let (cb, pb) = find(table, b)?;
            let pushed = match (pa, pb) {
                (Pushed::Exact, Pushed::Exact) => Pushed::Exact,
                (Pushed::Programs, Pushed::Programs) => Pushed::Programs,
                (Pushed::Inexact(w), _) | (_, Pushed::Inexact(w)) => Pushed::Inexact(w),
                _ => return Err("OR of different kinds of filter is decided in userspace".into()),
            };
            let c = match (ca, cb) {
                (
                    Constraint::Int {
                        slot,
                        column,
                        min,
                        max,
                        c: IntC::In(x),
                    },
                    Constraint::Int {
                        slot: s2,
                        c: IntC::In(y),
                        ..
                    },
                ) if slot == s2 => {
                    let u: BTreeSet<i64> = x.union(&y).copied().collect();
                    if u.len() > MAX_KERNEL_SET {
                        return Err(format!(
                            "{} values are more than the kernel set holds ({MAX_KERNEL_SET})",
                            u.len()
                        ));
                    }
                    Constraint::Int {
                        slot,
                        column,
                        min,
                        max,
                        c: IntC::In(u),
                    }
                }
                (
                    Constraint::Comm {
                        values: x,
                        negated: false,
                    },
                    Constraint::Comm {
                        values: y,
                        negated: false,
                    },
                ) => Constraint::Comm {
                    values: x.union(&y).cloned().collect(),
                    negated: false,
                },
                (Constraint::Prefix(x), Constraint::Prefix(y)) => {
                    Constraint::Prefix(x.union(&y).cloned().collect())
                }
                (Constraint::Probe(x), Constraint::Probe(y)) => {
                    Constraint::Probe(x.union(&y).cloned().collect())
                }
                _ => {
                    return Err(
                        "OR of different columns or of ranges is decided in userspace".into(),
                    )
                }
            };
            Ok((c, pushed))
        }
        Expr::And(..) => Err("a nested AND is decided in userspace".into()),
        Expr::Cmp(..) => {
            let Some((col, op, v)) = column_cmp(e) else {
                return Err("only column-to-literal comparisons go into the kernel".into());
            };
            constraint(table, col, |f| cmp_to(f, op, v))
        }
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let Expr::Column(col) = expr.as_ref() else {
                return Err("only a column IN a list goes into the kernel".into());
            };
            if list.iter().any(Value::is_null) {
                return Err("a NULL in the list is decided in userspace".into());
            }
            if list.len() > MAX_KERNEL_SET {
                return Err(format!(
                    "{} values are more than the kernel set holds ({MAX_KERNEL_SET})",
                    list.len()
                ));
            }
            constraint(table, *col, |f| set_to(f, list, *negated))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } => match (expr.as_ref(), low.as_ref(), high.as_ref()) {
            (Expr::Column(col), Expr::Lit(Value::Int(lo)), Expr::Lit(Value::Int(hi))) => {
                constraint(table, *col, |f| match f {
                    KernelFilter::Int { .. } => Ok(Some(Kind::Int(IntC::Range(*lo, *hi)))),
                    _ => Err(()),
                })
            }
            _ => Err("only column BETWEEN two numbers goes into the kernel".into()),
        },
        Expr::Between { negated: true, .. } => {
            Err("NOT BETWEEN is two ranges: decided in userspace".into())
        }
        Expr::Like {
            expr,
            like,
            negated,
        } => {
            let Expr::Column(col) = expr.as_ref() else {
                return Err("only a column LIKE a pattern goes into the kernel".into());
            };
            let column = &table.columns[*col];
            if !matches!(column.filter, KernelFilter::PathPrefix) {
                return Err(format!("LIKE on {} is decided in userspace", column.name));
            }
            if *negated || like.fold_case {
                return Err("only LIKE 'prefix%' on a path goes into the kernel".into());
            }
            let whole = like.prefix();
            let prefix = raw_prefix(&whole);
            if !prefix.starts_with('/') {
                return Err("only an absolute path prefix ('/…%') goes into the kernel".into());
            }
            Ok((
                Constraint::Prefix(BTreeSet::from([cut(prefix, PREFIX_MAX)])),
                prefix_inexact(),
            ))
        }
        Expr::IsNull { .. } => Err("IS NULL is decided in userspace".into()),
        Expr::Column(c) => Err(format!("{} has no kernel filter", table.columns[*c].name)),
        Expr::Lit(_) => Err("a constant is decided in userspace".into()),
    }
}

fn prefix_inexact() -> Pushed {
    Pushed::Inexact(
        "paths as written that normalizing may change, and cut paths, are checked in userspace"
            .into(),
    )
}

/// The part of a path value the kernel can compare byte for byte: up to
/// its first backslash. Rows show a byte that is not UTF-8 as `\xNN`, four
/// characters the kernel's raw bytes do not have, so what follows a
/// backslash is left to userspace (the kernel keeps a superset).
fn raw_prefix(s: &str) -> &str {
    s.split('\\').next().unwrap_or("")
}

/// A string cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

enum Kind {
    Int(IntC),
    Text(BTreeSet<String>, bool),
}

/// Builds the constraint of `col` with `f`, which returns Err(()) when the
/// column's kernel filter cannot take the operation.
fn constraint(
    table: &'static Table,
    col: usize,
    f: impl FnOnce(KernelFilter) -> Result<Option<Kind>, ()>,
) -> Found {
    let column = &table.columns[col];
    if matches!(column.filter, KernelFilter::None) {
        return Err(format!("{} has no kernel filter", column.name));
    }
    let kind = match f(column.filter) {
        Ok(Some(k)) => k,
        Ok(None) => return Err("a comparison with NULL is decided in userspace".into()),
        Err(()) => {
            return Err(format!(
                "this operation on {} is decided in userspace",
                column.name
            ))
        }
    };
    let int = |slot, min, max, c| Constraint::Int {
        slot,
        column: column.name,
        min,
        max,
        c,
    };
    match (column.filter, kind) {
        (KernelFilter::Int { slot, min, max }, Kind::Int(c)) => {
            Ok((int(slot, min, max, c), Pushed::Exact))
        }
        (KernelFilter::Comm, Kind::Text(values, _)) if values.iter().any(|v| v.contains('\\')) => {
            Err(
                "a comm with a backslash is decided in userspace (a byte that is not UTF-8 reads as \\xNN)"
                    .into(),
            )
        }
        (KernelFilter::Comm, Kind::Text(values, negated)) => {
            let long = values.iter().any(|v| v.len() > COMM_MAX);
            if negated {
                // A value longer than any comm excludes nothing.
                let values = values.into_iter().filter(|v| v.len() <= COMM_MAX).collect();
                Ok((Constraint::Comm { values, negated }, Pushed::Exact))
            } else {
                let pushed = if long {
                    Pushed::Inexact(format!(
                        "comm holds {COMM_MAX} bytes: longer values are compared cut"
                    ))
                } else {
                    Pushed::Exact
                };
                let values = values.into_iter().map(|v| cut(&v, COMM_MAX)).collect();
                Ok((Constraint::Comm { values, negated }, pushed))
            }
        }
        (KernelFilter::PathPrefix, Kind::Text(values, false)) => {
            if values.iter().any(|v| !raw_prefix(v).starts_with('/')) {
                return Err("only an absolute path goes into the kernel".into());
            }
            Ok((
                Constraint::Prefix(
                    values
                        .iter()
                        .map(|v| cut(raw_prefix(v), PREFIX_MAX))
                        .collect(),
                ),
                prefix_inexact(),
            ))
        }
        (KernelFilter::Probe, Kind::Text(values, false)) => {
            Ok((Constraint::Probe(values), Pushed::Programs))
        }
        (KernelFilter::Named { slot, to_int }, Kind::Text(values, negated)) => {
            // A name that is no value matches nothing: out of an IN set, and
            // nothing to exclude from a NOT IN set.
            let ints: BTreeSet<i64> = values.iter().filter_map(|v| to_int(v)).collect();
            let c = if negated {
                IntC::NotIn(ints)
            } else {
                IntC::In(ints)
            };
            Ok((int(slot, 0, i64::MAX, c), Pushed::Exact))
        }
        _ => Err(format!(
            "this operation on {} is decided in userspace",
            column.name
        )),
    }
}

fn cmp_to(f: KernelFilter, op: CmpOp, v: &Value) -> Result<Option<Kind>, ()> {
    match (f, v) {
        (_, Value::Null) => Ok(None),
        (KernelFilter::Int { .. }, Value::Int(v)) => Ok(Some(Kind::Int(match op {
            CmpOp::Eq => IntC::In(BTreeSet::from([*v])),
            CmpOp::NotEq => IntC::NotIn(BTreeSet::from([*v])),
            CmpOp::Lt => IntC::Range(i64::MIN, v.saturating_sub(1)),
            CmpOp::LtEq => IntC::Range(i64::MIN, *v),
            CmpOp::Gt => IntC::Range(v.saturating_add(1), i64::MAX),
            CmpOp::GtEq => IntC::Range(*v, i64::MAX),
        }))),
        (
            KernelFilter::Comm
            | KernelFilter::PathPrefix
            | KernelFilter::Probe
            | KernelFilter::Named { .. },
            Value::Text(s),
        ) => match op {
            CmpOp::Eq => Ok(Some(Kind::Text(BTreeSet::from([s.clone()]), false))),
            CmpOp::NotEq => Ok(Some(Kind::Text(BTreeSet::from([s.clone()]), true))),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

fn set_to(f: KernelFilter, list: &[Value], negated: bool) -> Result<Option<Kind>, ()> {
    match f {
        KernelFilter::Attach(_) => Err(()),
        KernelFilter::Int { .. } => {
            let set = list
                .iter()
                .filter_map(|v| {
                    if let Value::Int(i) = v {
                        Some(*i)
                    } else {
                        None
                    }
                })
                .collect();
            Ok(Some(Kind::Int(if negated {
                IntC::NotIn(set)
            } else {
                IntC::In(set)
            })))
        }
        KernelFilter::Comm
        | KernelFilter::PathPrefix
        | KernelFilter::Probe
        | KernelFilter::Named { .. } => {
            let set = list
                .iter()
                .filter_map(|v| {
                    if let Value::Text(s) = v {
                        Some(s.clone())
                    } else {
                        None
                    }
                })
                .collect();
            Ok(Some(Kind::Text(set, negated)))
        }
        KernelFilter::None => Err(()),
    }
}
