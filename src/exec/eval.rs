//! Evaluates bound expressions on a record, with SQL's three-valued logic:
//! a predicate is true, false or unknown (None), and WHERE keeps a row only
//! when it is true.

use std::cmp::Ordering;

use super::record::Record;
use super::value::Value;
use crate::catalog::Table;
use crate::sql::expr::{CmpOp, Expr};

pub fn value(table: &Table, e: &Expr, r: &Record) -> Value {
    match e {
        Expr::Column(c) => (table.columns[*c].get)(r),
        Expr::Lit(v) => v.clone(),
        other => match truth(table, other, r) {
            Some(b) => Value::Bool(b),
            None => Value::Null,
        },
    }
}

fn cmp(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::NotEq => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::LtEq => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::GtEq => o != Ordering::Less,
    }
}

pub fn truth(table: &Table, e: &Expr, r: &Record) -> Option<bool> {
    match e {
        Expr::Column(_) | Expr::Lit(_) => match value(table, e, r) {
            Value::Bool(b) => Some(b),
            _ => None,
        },
        Expr::Cmp(a, op, b) => {
            let (a, b) = (value(table, a, r), value(table, b, r));
            a.sql_cmp(&b).map(|o| cmp(*op, o))
        }
        Expr::And(a, b) => match truth(table, a, r) {
            Some(false) => Some(false),
            x => match (x, truth(table, b, r)) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
        },
        Expr::Or(a, b) => match truth(table, a, r) {
            Some(true) => Some(true),
            x => match (x, truth(table, b, r)) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        },
        Expr::Not(x) => truth(table, x, r).map(|b| !b),
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let v = value(table, expr, r);
            if v.is_null() {
                return None;
            }
            let mut unknown = false;
            for item in list {
                match v.sql_cmp(item) {
                    Some(Ordering::Equal) => return Some(!negated),
                    None => unknown = true,
                    _ => {}
                }
            }
            if unknown {
                None
            } else {
                Some(*negated)
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = value(table, expr, r);
            let ge = v
                .sql_cmp(&value(table, low, r))
                .map(|o| o != Ordering::Less);
            let le = v
                .sql_cmp(&value(table, high, r))
                .map(|o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            inside.map(|b| b != *negated)
        }
        Expr::Like {
            expr,
            like,
            negated,
        } => match value(table, expr, r) {
            Value::Text(s) => Some(like.matches(&s) != *negated),
            _ => None,
        },
        Expr::IsNull { expr, negated } => Some(value(table, expr, r).is_null() != *negated),
    }
}
