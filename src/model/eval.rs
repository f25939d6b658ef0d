//! Evaluates bound expressions on a record, with SQL's three-valued logic:
//! a predicate is true, false or unknown (None), and WHERE keeps a row only
//! when it is true.

use std::cmp::Ordering;

use super::record::Record;
use super::schema::Table;
use super::value::Value;
use crate::model::expr::{ArithOp, CmpOp, Expr, Func};

/// One row of a result set: its keys and aggregate results.
pub struct GroupRow {
    pub keys: Vec<Value>,
    pub aggs: Vec<Value>,
}

/// What an expression reads from: an event's columns, or a result row's
/// group keys and aggregates.
pub trait Source {
    fn column(&self, _table: &Table, _c: usize) -> Value {
        Value::Null
    }
    fn key(&self, _i: usize) -> Value {
        Value::Null
    }
    fn agg(&self, _i: usize) -> Value {
        Value::Null
    }
}

impl Source for Record<'_> {
    fn column(&self, table: &Table, c: usize) -> Value {
        let col = &table.columns[c];
        if self.anonymous && (col.task || col.cgroup) {
            return Value::Null;
        }
        (col.get)(self)
    }
}

impl Source for GroupRow {
    fn key(&self, i: usize) -> Value {
        self.keys.get(i).cloned().unwrap_or(Value::Null)
    }
    fn agg(&self, i: usize) -> Value {
        self.aggs.get(i).cloned().unwrap_or(Value::Null)
    }
}

/// Integer arithmetic is checked: an overflow or a division by zero is
/// NULL, never a wrapped number or a panic.
fn arith(a: Value, op: ArithOp, b: Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            ArithOp::Mul => x.checked_mul(y),
            ArithOp::Div => x.checked_div(y),
            ArithOp::Mod => x.checked_rem(y),
        }
        .map_or(Value::Null, Value::Int),
        (Value::Int(x), Value::Float(y)) => float_arith(x as f64, op, y),
        (Value::Float(x), Value::Int(y)) => float_arith(x, op, y as f64),
        (Value::Float(x), Value::Float(y)) => float_arith(x, op, y),
        _ => Value::Null,
    }
}

fn float_arith(x: f64, op: ArithOp, y: f64) -> Value {
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => x / y,
        ArithOp::Mod => x % y,
    };
    if r.is_finite() {
        Value::Float(r)
    } else {
        Value::Null
    }
}

pub fn value<S: Source + ?Sized>(table: &Table, e: &Expr, r: &S) -> Value {
    match e {
        Expr::Column(c) => r.column(table, *c),
        Expr::Key(i) => r.key(*i),
        Expr::Agg(i) => r.agg(*i),
        Expr::Call(_) => Value::Null,
        Expr::Lit(v) => v.clone(),
        Expr::Arith(a, op, b) => arith(value(table, a, r), *op, value(table, b, r)),
        Expr::Func(Func::Lower, args) => match args.first().map(|a| value(table, a, r)) {
            Some(Value::Text(s)) => Value::Text(s.to_lowercase()),
            _ => Value::Null,
        },
        Expr::Func(Func::Upper, args) => match args.first().map(|a| value(table, a, r)) {
            Some(Value::Text(s)) => Value::Text(s.to_uppercase()),
            _ => Value::Null,
        },
        Expr::Func(f @ (Func::Datetime(_) | Func::Strftime | Func::Printf), args) => {
            let vals: Vec<Value> = args.iter().map(|a| value(table, a, r)).collect();
            match f {
                Func::Datetime(fmt) => super::funcs::datetime(fmt, &vals),
                Func::Strftime => super::funcs::strftime(&vals),
                _ => super::printf::printf(&vals),
            }
        }
        Expr::Func(Func::Coalesce, args) => args
            .iter()
            .map(|a| value(table, a, r))
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
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

pub fn truth<S: Source + ?Sized>(table: &Table, e: &Expr, r: &S) -> Option<bool> {
    match e {
        Expr::Column(_)
        | Expr::Lit(_)
        | Expr::Key(_)
        | Expr::Agg(_)
        | Expr::Call(_)
        | Expr::Arith(..)
        | Expr::Func(..) => match value(table, e, r) {
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
            v @ Value::List(_) => Some(like.matches(&v.to_string()) != *negated),
            _ => None,
        },
        Expr::IsNull { expr, negated } => Some(value(table, expr, r).is_null() != *negated),
    }
}
