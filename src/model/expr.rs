//! The bound query: names resolved against the catalog, types checked.
//! Everything after the binder (pushdown, evaluation, explain) works on
//! these types, never on the parser's AST.

use super::like::Like;
use super::schema::{Table, Type};
use crate::model::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    /// The same comparison with its operands swapped (5 < pid: pid > 5).
    pub fn flip(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            o => o,
        }
    }

    /// NOT (a op b) as (a op' b); the same in SQL's three-valued logic.
    pub fn negate(self) -> Self {
        match self {
            CmpOp::Eq => CmpOp::NotEq,
            CmpOp::NotEq => CmpOp::Eq,
            CmpOp::Lt => CmpOp::GtEq,
            CmpOp::LtEq => CmpOp::Gt,
            CmpOp::Gt => CmpOp::LtEq,
            CmpOp::GtEq => CmpOp::Lt,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Coalesce,
    /// datetime(), date(), time(): the strftime format each stands for.
    Datetime(&'static str),
    Strftime,
    Printf,
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    Min,
    Max,
    Avg,
    /// Power-of-2 histogram (bpftrace's hist()).
    Hist,
    /// Linear histogram: lhist(col, min, max, step).
    Lhist {
        min: i64,
        max: i64,
        step: i64,
    },
}

/// One aggregate of the query: the function and its argument.
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// None for count(*).
    pub arg: Option<Expr>,
    /// As written, for --explain.
    pub sql: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Index into the table's columns.
    Column(usize),
    /// A GROUP BY key of the row being output (aggregate queries).
    Key(usize),
    /// An aggregate's result for the row being output.
    Agg(usize),
    /// An aggregate call, before the binder turns it into Agg(i).
    Call(Box<AggCall>),
    Arith(Box<Expr>, ArithOp, Box<Expr>),
    Func(Func, Vec<Expr>),
    Lit(Value),
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Value>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        like: Like,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
}

impl Expr {
    /// The expression's type; None for a bare NULL or where it is only known
    /// from the aggregate stage (Key, Agg).
    pub fn ty(&self, table: &Table) -> Option<Type> {
        match self {
            Expr::Column(c) => Some(table.columns[*c].ty),
            Expr::Key(_) | Expr::Agg(_) => None,
            Expr::Call(c) => match c.func {
                AggFunc::CountStar | AggFunc::Count | AggFunc::CountDistinct => Some(Type::Integer),
                AggFunc::Sum => Some(Type::Integer),
                AggFunc::Min | AggFunc::Max => c.arg.as_ref().and_then(|a| a.ty(table)),
                AggFunc::Avg => Some(Type::Float),
                AggFunc::Hist | AggFunc::Lhist { .. } => Some(Type::Hist),
            },
            Expr::Arith(a, _, b) => match (a.ty(table), b.ty(table)) {
                (Some(Type::Float), _) | (_, Some(Type::Float)) => Some(Type::Float),
                _ => Some(Type::Integer),
            },
            Expr::Func(
                Func::Lower | Func::Upper | Func::Datetime(_) | Func::Strftime | Func::Printf,
                _,
            ) => Some(Type::Text),
            Expr::Func(Func::Coalesce, args) => args.iter().find_map(|a| a.ty(table)),
            Expr::Lit(Value::Int(_)) => Some(Type::Integer),
            Expr::Lit(Value::Text(_)) => Some(Type::Text),
            Expr::Lit(Value::Bool(_)) => Some(Type::Boolean),
            Expr::Lit(Value::Null) => None,
            _ => Some(Type::Boolean),
        }
    }

    /// Every column the expression reads.
    pub fn columns(&self, out: &mut Vec<usize>) {
        self.visit(&mut |e| {
            if let Expr::Column(c) = e {
                out.push(*c)
            }
        });
    }

    /// Whether the expression may read the clock: a date function, whose
    /// time 'now' (written, defaulted, or a column's value) changes as the
    /// run goes on. Such an expression is not the same from one event to
    /// the next even when it reads nothing of them.
    pub fn may_read_clock(&self) -> bool {
        let mut clock = false;
        self.visit(&mut |e| {
            clock |= matches!(e, Expr::Func(Func::Datetime(_) | Func::Strftime, _));
        });
        clock
    }

    /// The expressions directly inside this one.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Column(_) | Expr::Lit(_) | Expr::Key(_) | Expr::Agg(_) => Vec::new(),
            Expr::Call(c) => c.arg.iter().collect(),
            Expr::Func(_, args) => args.iter().collect(),
            Expr::Cmp(a, _, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(a, _, b) => {
                vec![a, b]
            }
            Expr::Not(e)
            | Expr::In { expr: e, .. }
            | Expr::Like { expr: e, .. }
            | Expr::IsNull { expr: e, .. } => vec![e],
            Expr::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
        }
    }

    /// Calls `f` on this expression and every one inside it.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.visit(f);
        }
    }

    /// The same node with its children replaced by `f`'s results (an
    /// aggregate call keeps its argument: it is a leaf to rewriting).
    pub fn try_map_children<E>(
        &self,
        mut f: impl FnMut(&Expr) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        let mut b = |x: &Expr| f(x).map(Box::new);
        Ok(match self {
            Expr::Column(_) | Expr::Lit(_) | Expr::Key(_) | Expr::Agg(_) | Expr::Call(_) => {
                self.clone()
            }
            Expr::Func(func, args) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    out.push(*b(a)?);
                }
                Expr::Func(*func, out)
            }
            Expr::Arith(x, op, y) => Expr::Arith(b(x)?, *op, b(y)?),
            Expr::Cmp(x, op, y) => Expr::Cmp(b(x)?, *op, b(y)?),
            Expr::And(x, y) => Expr::And(b(x)?, b(y)?),
            Expr::Or(x, y) => Expr::Or(b(x)?, b(y)?),
            Expr::Not(x) => Expr::Not(b(x)?),
            Expr::In {
                expr,
                list,
                negated,
            } => Expr::In {
                expr: b(expr)?,
                list: list.clone(),
                negated: *negated,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: b(expr)?,
                low: b(low)?,
                high: b(high)?,
                negated: *negated,
            },
            Expr::Like {
                expr,
                like,
                negated,
            } => Expr::Like {
                expr: b(expr)?,
                like: like.clone(),
                negated: *negated,
            },
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: b(expr)?,
                negated: *negated,
            },
        })
    }

    /// IN, BETWEEN, LIKE and IS NULL with their NOT flipped; None for the
    /// rest.
    pub fn toggled(&self) -> Option<Expr> {
        let mut e = self.clone();
        match &mut e {
            Expr::In { negated, .. }
            | Expr::Between { negated, .. }
            | Expr::Like { negated, .. }
            | Expr::IsNull { negated, .. } => {
                *negated = !*negated;
                Some(e)
            }
            _ => None,
        }
    }
}

/// One item of the SELECT list.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
}

/// The GROUP BY side of an aggregate query.
#[derive(Debug)]
pub struct Aggregation {
    /// Group keys, over the table's columns.
    pub keys: Vec<Expr>,
    pub key_sql: Vec<String>,
    pub aggs: Vec<AggCall>,
    /// Over Key / Agg.
    pub having: Option<Expr>,
    /// HAVING as written, for --explain.
    pub having_sql: Option<String>,
}

/// One ORDER BY term; `expr` is over Key / Agg in an aggregate query.
#[derive(Debug)]
pub struct OrderKey {
    pub expr: Expr,
    pub desc: bool,
}

/// One top-level AND term of WHERE: pushdown decides each on its own.
#[derive(Clone, Debug)]
pub struct Conjunct {
    /// As written (normalized by the parser), for --explain.
    pub sql: String,
    pub expr: Expr,
}

#[derive(Debug)]
pub struct Query {
    pub table: &'static Table,
    pub outputs: Vec<Output>,
    pub conjuncts: Vec<Conjunct>,
    /// The whole WHERE, as written, for --explain.
    pub where_sql: Option<String>,
    pub limit: Option<u64>,
    /// Present for a query with GROUP BY or aggregates.
    pub agg: Option<Aggregation>,
    pub order_by: Vec<OrderKey>,
    /// function_events' buf(argN, len), when the query reads it.
    pub buffer: Option<super::functions::BufSpec>,
    /// The outputs a `*` stands for (by index): columns not named one by
    /// one.
    pub star_outputs: Vec<usize>,
}

impl Query {
    /// The columns the query names itself: every one it reads but those
    /// only a `*` brought in.
    pub fn named_columns(&self) -> Vec<usize> {
        self.columns_read(false)
    }

    /// Every column the query reads, in table order, without repeats.
    pub fn used_columns(&self) -> Vec<usize> {
        self.columns_read(true)
    }

    fn columns_read(&self, with_star: bool) -> Vec<usize> {
        let mut v = Vec::new();
        for (i, o) in self.outputs.iter().enumerate() {
            if with_star || !self.star_outputs.contains(&i) {
                o.expr.columns(&mut v);
            }
        }
        for o in &self.order_by {
            o.expr.columns(&mut v);
        }
        if let Some(a) = &self.agg {
            a.keys.iter().for_each(|k| k.columns(&mut v));
            a.aggs
                .iter()
                .filter_map(|c| c.arg.as_ref())
                .for_each(|e| e.columns(&mut v));
        }
        for c in &self.conjuncts {
            c.expr.columns(&mut v);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}
