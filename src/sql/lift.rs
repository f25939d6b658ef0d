//! The aggregate side of binding: finding aggregate calls in expressions,
//! and rewriting the SELECT list, HAVING and ORDER BY of an aggregate query
//! over its group keys (Expr::Key) and aggregates (Expr::Agg).

use sqlparser::ast::{self, Expr as AstExpr};

use super::err_at;
use crate::catalog::Table;
use crate::error::Result;
use crate::model::expr::{AggCall, Expr, Output};

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
    e.visit(&mut |x| found |= matches!(x, Expr::Call(_)));
    found
}

/// True when no part of `e` reads a raw column (it was lifted already).
pub(super) fn is_lifted(e: &Expr) -> bool {
    let mut raw = false;
    e.visit(&mut |x| raw |= matches!(x, Expr::Column(_) | Expr::Call(_)));
    !raw
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
        _ => e.try_map_children(|x| lift(table, x, keys, aggs))?,
    })
}
