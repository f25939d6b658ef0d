//! Literals in queries: numbers as wide integers with their signs (so
//! -9223372036854775808 is a 64-bit integer and a number past 64 bits is
//! "out of range for COLUMN", with the column's range), strings read in
//! ebq's text encoding, and the comparisons of a u64 column (cgroup_id)
//! with a number past i64, which are the constants they are.

use sqlparser::ast::{self, BinaryOperator, Expr as AstExpr, UnaryOperator};

use super::{err_at, Binder};
use crate::catalog::{Column, Type};
use crate::error::Result;
use crate::model::expr::{CmpOp, Expr};
use crate::model::value::{text_from_literal, Value};

fn out_of_range_64(n: impl std::fmt::Display) -> String {
    format!(
        "{n} is out of range: integers are 64-bit, {} to {}",
        i64::MIN,
        i64::MAX
    )
}

/// The values `column` holds, as the binder checks literals against them.
fn range_of(column: &Column) -> (i128, i128) {
    if column.is_u64() {
        (0, i128::from(u64::MAX))
    } else {
        (i128::from(i64::MIN), i128::from(i64::MAX))
    }
}

impl Binder {
    /// A string literal exactly as written (a LIKE pattern, a format).
    pub(super) fn raw_text(&self, e: &AstExpr) -> Option<String> {
        match e {
            AstExpr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            AstExpr::Nested(inner) => self.raw_text(inner),
            _ => None,
        }
    }

    /// A number literal (with its signs) as a wide integer; None when `e`
    /// is not one, Err for a decimal or a number past 128 bits.
    pub(super) fn number(&self, e: &AstExpr) -> Option<std::result::Result<i128, String>> {
        match e {
            AstExpr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Some(n.parse::<i128>().map_err(|_| {
                    if n.contains(['.', 'e', 'E']) {
                        format!("{n}: decimals are not supported, only whole numbers")
                    } else {
                        out_of_range_64(n)
                    }
                })),
                _ => None,
            },
            AstExpr::UnaryOp { op, expr }
                if matches!(op, UnaryOperator::Minus | UnaryOperator::Plus) =>
            {
                let n = self.number(expr)?;
                Some(match op {
                    UnaryOperator::Minus => {
                        n.and_then(|n| n.checked_neg().ok_or_else(|| "out of range".to_string()))
                    }
                    _ => n,
                })
            }
            AstExpr::Nested(inner) => self.number(inner),
            _ => None,
        }
    }

    /// Column `c` and a number past 64 bits: Ok for a u64 column no value
    /// of which reaches it (an id past 2^63 cannot exist: see
    /// Column::is_u64), else the error naming the column's range.
    fn past_every_value(&self, c: usize, n: i128, node: &AstExpr) -> Result<()> {
        let column = &self.table.columns[c];
        if column.is_u64() && n >= 0 && n <= i128::from(u64::MAX) {
            return Ok(());
        }
        let (lo, hi) = range_of(column);
        Err(err_at(
            format!("{n} is out of range for {} ({lo} to {hi})", column.name),
            node,
        ))
    }

    /// `column op N` with N past 64 bits: the error of past_every_value,
    /// or the constant the comparison is. None when it is an ordinary one.
    pub(super) fn wide_cmp(
        &self,
        left: &AstExpr,
        op: &BinaryOperator,
        right: &AstExpr,
    ) -> Result<Option<Expr>> {
        let (col_ast, num_ast, op) = match (self.number(left), self.number(right)) {
            (None, Some(_)) => (left, right, op.clone()),
            (Some(_), None) => {
                let flipped = match op {
                    BinaryOperator::Lt => BinaryOperator::Gt,
                    BinaryOperator::LtEq => BinaryOperator::GtEq,
                    BinaryOperator::Gt => BinaryOperator::Lt,
                    BinaryOperator::GtEq => BinaryOperator::LtEq,
                    o => o.clone(),
                };
                (right, left, flipped)
            }
            _ => return Ok(None),
        };
        let Some(Ok(n)) = self.number(num_ast) else {
            return Ok(None);
        };
        if i64::try_from(n).is_ok() {
            return Ok(None);
        }
        let Ok(Expr::Column(c)) = self.expr(col_ast, false) else {
            return Ok(None);
        };
        if self.table.columns[c].ty != Type::Integer {
            return Ok(None);
        }
        self.past_every_value(c, n, num_ast)?;
        // Every value is below N: `=`, `>` and `>=` are as true as
        // `column < 0` (never), the rest as `column >= 0` (for every row
        // that has the column); the planner and the never-true check see
        // the column's range in them.
        let below = matches!(
            op,
            BinaryOperator::NotEq | BinaryOperator::Lt | BinaryOperator::LtEq
        );
        let cmp = if below { CmpOp::GtEq } else { CmpOp::Lt };
        Ok(Some(Expr::Cmp(
            Box::new(Expr::Column(c)),
            cmp,
            Box::new(Expr::Lit(Value::Int(0))),
        )))
    }

    /// For a number past 64 bits compared with column `x` (an IN item, a
    /// BETWEEN bound): Some(true) when no value of the column reaches it,
    /// else past_every_value's error; None for any other item.
    pub(super) fn wide_item(&self, x: &Expr, item: &AstExpr) -> Result<Option<bool>> {
        let (Expr::Column(c), Some(Ok(n))) = (x, self.number(item)) else {
            return Ok(None);
        };
        if i64::try_from(n).is_ok() {
            return Ok(None);
        }
        self.past_every_value(*c, n, item).map(|()| Some(true))
    }

    /// A 64-bit integer from a wide one, or the error saying the range.
    fn int64(&self, e: &AstExpr) -> Result<Value> {
        match self.number(e) {
            Some(Ok(n)) => i64::try_from(n)
                .map(Value::Int)
                .map_err(|_| err_at(out_of_range_64(n), e)),
            Some(Err(m)) => Err(err_at(m, e)),
            None => Err(err_at("unsupported literal", e)),
        }
    }

    pub(super) fn literal(&self, e: &AstExpr) -> Result<Value> {
        match e {
            AstExpr::Value(v) => match &v.value {
                ast::Value::Number(..) => self.int64(e),
                // Read in ebq's encoding (exec/value.rs): what a row shows
                // is what a query matches.
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                    Ok(Value::Text(text_from_literal(s)))
                }
                ast::Value::Boolean(b) => Ok(Value::Bool(*b)),
                ast::Value::Null => Ok(Value::Null),
                _ => Err(err_at("unsupported literal", e)),
            },
            AstExpr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } => match self.number(e) {
                // -9223372036854775808 is a 64-bit integer, though its
                // digits alone are not.
                Some(_) => self.int64(e),
                None => match self.literal(inner)? {
                    Value::Int(i) => Ok(Value::Int(
                        i.checked_neg().ok_or_else(|| err_at("out of range", e))?,
                    )),
                    _ => Err(err_at("minus needs a number", e)),
                },
            },
            AstExpr::UnaryOp {
                op: UnaryOperator::Plus,
                expr,
            } => self.literal(expr),
            AstExpr::Nested(inner) => self.literal(inner),
            _ => Err(err_at("expected a literal value", e)),
        }
    }
}
