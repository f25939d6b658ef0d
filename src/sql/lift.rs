//! The aggregate side of binding: finding aggregate calls in expressions,
//! and rewriting the SELECT list, HAVING and ORDER BY of an aggregate query
//! over its group keys (Expr::Key) and aggregates (Expr::Agg).

use sqlparser::ast::{self, Expr as AstExpr};

use super::err_at;
use super::expr::{AggCall, Expr, Output};
use crate::catalog::Table;
use crate::error::Result;

/// ORDER BY / GROUP BY by an output's alias (when `names`) or 1-based
/// position; None when `e` is neither.
pub(super) fn by_output(
    e: &AstExpr,
    outputs: &[Output],
    clause: &str,
    names: bool,
) -> Result<Option<Expr>> {
    Ok(match e {
        AstExpr::Identifier(i) if names => outputs
            .iter()
            .find(|out| out.name.eq_ignore_ascii_case(&i.value))
            .map(|out| out.expr.clone()),
        AstExpr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => match n.parse::<usize>() {
                Ok(k) if k >= 1 && k <= outputs.len() => Some(outputs[k - 1].expr.clone()),
                _ => {
                    return Err(err_at(
                        format!("{clause} {n}: there are {} output columns", outputs.len()),
                        e,
                    ))
                }
            },
            _ => None,
        },
        _ => None,
    })
}

pub(super) fn contains_call(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| found |= matches!(x, Expr::Call(_)));
    found
}

/// True when no part of `e` reads a raw column (it was lifted already).
pub(super) fn is_lifted(e: &Expr) -> bool {
    let mut raw = false;
    visit(e, &mut |x| {
        raw |= matches!(x, Expr::Column(_) | Expr::Call(_))
    });
    !raw
}

fn visit(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Column(_) | Expr::Lit(_) | Expr::Key(_) | Expr::Agg(_) => {}
        Expr::Call(c) => {
            if let Some(a) = &c.arg {
                visit(a, f)
            }
        }
        Expr::Func(_, args) => args.iter().for_each(|a| visit(a, f)),
        Expr::Cmp(a, _, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(a, _, b) => {
            visit(a, f);
            visit(b, f);
        }
        Expr::Not(x)
        | Expr::In { expr: x, .. }
        | Expr::Like { expr: x, .. }
        | Expr::IsNull { expr: x, .. } => visit(x, f),
        Expr::Between {
            expr, low, high, ..
        } => {
            visit(expr, f);
            visit(low, f);
            visit(high, f);
        }
    }
}

/// Rewrites an expression of an aggregate query over its group keys
/// (Key) and aggregates (Agg): what is neither must not read a column.
pub(super) fn lift(
    table: &Table,
    e: &Expr,
    keys: &[Expr],
    aggs: &mut Vec<AggCall>,
) -> std::result::Result<Expr, String> {
    if let Some(i) = keys.iter().position(|k| k == e) {
        return Ok(Expr::Key(i));
    }
    let l = |x: &Expr, aggs: &mut Vec<AggCall>| lift(table, x, keys, aggs).map(Box::new);
    Ok(match e {
        Expr::Call(c) => {
            if c.arg.as_ref().is_some_and(contains_call) {
                return Err(format!("{}: an aggregate cannot hold another", c.sql));
            }
            let i = match aggs.iter().position(|a| a.func == c.func && a.arg == c.arg) {
                Some(i) => i,
                None => {
                    aggs.push((**c).clone());
                    aggs.len() - 1
                }
            };
            Expr::Agg(i)
        }
        Expr::Column(c) => {
            return Err(format!(
                "column {} must be in GROUP BY or inside an aggregate such as count() or max()",
                table.columns[*c].name
            ))
        }
        Expr::Lit(_) | Expr::Key(_) | Expr::Agg(_) => e.clone(),
        Expr::Arith(a, op, b) => Expr::Arith(l(a, aggs)?, *op, l(b, aggs)?),
        Expr::Func(f, args) => Expr::Func(
            *f,
            args.iter()
                .map(|a| lift(table, a, keys, aggs))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Expr::Cmp(a, op, b) => Expr::Cmp(l(a, aggs)?, *op, l(b, aggs)?),
        Expr::And(a, b) => Expr::And(l(a, aggs)?, l(b, aggs)?),
        Expr::Or(a, b) => Expr::Or(l(a, aggs)?, l(b, aggs)?),
        Expr::Not(x) => Expr::Not(l(x, aggs)?),
        Expr::In {
            expr,
            list,
            negated,
        } => Expr::In {
            expr: l(expr, aggs)?,
            list: list.clone(),
            negated: *negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: l(expr, aggs)?,
            low: l(low, aggs)?,
            high: l(high, aggs)?,
            negated: *negated,
        },
        Expr::Like {
            expr,
            like,
            negated,
        } => Expr::Like {
            expr: l(expr, aggs)?,
            like: like.clone(),
            negated: *negated,
        },
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: l(expr, aggs)?,
            negated: *negated,
        },
    })
}
