//! SQL front end: parses one SELECT with sqlparser and binds it against the
//! catalog into a typed `Query`. Every mistake becomes an `Error::Sql` with
//! the position in the query and, for a misspelt name, the nearest real one;
//! everything ebq does not do (yet) is refused by name ("JOIN is not
//! supported"), never passed through half-understood.

mod balance;
pub use crate::model::expr;
mod functions;
mod lift;

mod literal;

use sqlparser::ast::{
    self, BinaryOperator, Expr as AstExpr, GroupByExpr, InTarget, LimitClause, SelectItem, SetExpr,
    Spanned, Statement, TableFactor, UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Tokenizer;

use crate::catalog::{self, Table, Type};
use crate::error::{Error, Result};
use crate::model::like::Like;
use crate::model::value::Value;
use expr::{Aggregation, ArithOp, CmpOp, Conjunct, Expr, OrderKey, Output, Query};
use lift::{by_output, contains_call, is_lifted, lift};

/// Nesting depth the parser accepts; deeper input is an error, not a stack
/// overflow.
const RECURSION_LIMIT: usize = 64;
/// Stack of the thread that binds, plans and evaluates (main.rs).
pub const STACK_BYTES: usize = 256 << 20;

fn pos(span: sqlparser::tokenizer::Span) -> Option<(u64, u64)> {
    (span.start.line > 0).then_some((span.start.line, span.start.column))
}

fn err_at(msg: impl Into<String>, node: &impl Spanned) -> Error {
    Error::sql(msg, pos(node.span()))
}

fn err_ident(msg: impl Into<String>, ident: &ast::Ident) -> Error {
    Error::sql(msg, pos(ident.span))
}

/// "sql parser error: Expected: X, found: Y at Line: 1, Column: 17" ->
/// ("expected X, found Y", (1, 17)).
fn parser_error(e: ParserError) -> Error {
    match e {
        ParserError::RecursionLimitExceeded => Error::sql(
            format!("the query is nested more than {RECURSION_LIMIT} levels deep"),
            None,
        ),
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
            let (text, at) = match m.rfind(" at Line: ") {
                Some(i) => {
                    let loc = &m[i + 10..];
                    let at = loc
                        .split_once(", Column: ")
                        .and_then(|(l, c)| Some((l.trim().parse().ok()?, c.trim().parse().ok()?)));
                    (&m[..i], at)
                }
                None => (m.as_str(), None),
            };
            let text = text.replace("Expected: ", "expected ");
            Error::sql(format!("syntax error: {text}"), at)
        }
    }
}

/// Where the query ends: sqlparser gives no position for "found: EOF".
fn end_of(sql: &str) -> Option<(u64, u64)> {
    let line = sql.trim_end().lines().count().max(1);
    let last = sql.trim_end().lines().last().unwrap_or("");
    Some((line as u64, last.chars().count() as u64 + 1))
}

/// Parses and binds `sql`.
pub fn bind(sql: &str) -> Result<Query> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| parser_error(ParserError::TokenizerError(e.to_string())))?;
    let tokens = balance::rebalance(tokens).map_err(|m| Error::sql(m, None))?;
    let stmts = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| match parser_error(e) {
            Error::Sql { msg, pos: None } if msg.ends_with("found: EOF") => Error::Sql {
                pos: end_of(sql),
                msg,
            },
            e => e,
        })?;
    let stmt = match stmts.as_slice() {
        [s] => s,
        [] => {
            return Err(Error::sql(
                "the query is empty: expected SELECT ... FROM <table>",
                None,
            ))
        }
        [_, s, ..] => return Err(err_at("only one statement per query", s)),
    };
    let Statement::Query(q) = stmt else {
        return Err(err_at("only SELECT queries are supported", stmt));
    };
    if let Some(w) = &q.with {
        return Err(err_at("WITH is not supported", &w.with_token.0));
    }
    if q.fetch.is_some()
        || !q.locks.is_empty()
        || q.for_clause.is_some()
        || q.settings.is_some()
        || q.format_clause.is_some()
        || !q.pipe_operators.is_empty()
    {
        return Err(err_at(
            "only SELECT ... FROM ... WHERE ... LIMIT is supported",
            q.as_ref(),
        ));
    }
    let limit = match &q.limit_clause {
        None => None,
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if let Some(o) = offset {
                return Err(err_at("OFFSET is not supported", &o.value));
            }
            if let Some(b) = limit_by.first() {
                return Err(err_at("LIMIT BY is not supported", b));
            }
            limit.as_ref().map(bind_limit).transpose()?
        }
        Some(LimitClause::OffsetCommaLimit { offset, .. }) => {
            return Err(err_at("LIMIT offset, count is not supported", offset));
        }
    };
    let s = match q.body.as_ref() {
        SetExpr::Select(s) => s,
        SetExpr::SetOperation { op, .. } => {
            return Err(err_at(format!("{op} is not supported"), q.body.as_ref()))
        }
        other => return Err(err_at("only SELECT queries are supported", other)),
    };
    let kw = &s.select_token.0;
    if let Some(d) = &s.distinct {
        let _ = d;
        return Err(err_at(
            "DISTINCT is not supported on a stream of events",
            kw,
        ));
    }
    if s.top.is_some()
        || s.into.is_some()
        || s.exclude.is_some()
        || !s.lateral_views.is_empty()
        || s.prewhere.is_some()
        || !s.connect_by.is_empty()
        || !s.cluster_by.is_empty()
        || !s.distribute_by.is_empty()
        || !s.sort_by.is_empty()
        || !s.named_window.is_empty()
        || s.qualify.is_some()
        || s.value_table_mode.is_some()
    {
        return Err(err_at(
            "only SELECT ... FROM ... WHERE ... LIMIT is supported",
            kw,
        ));
    }
    let group_by: &[AstExpr] = match &s.group_by {
        GroupByExpr::Expressions(e, m) if m.is_empty() => e,
        _ => return Err(err_at("only GROUP BY <expressions> is supported", kw)),
    };
    let (table, qualifiers) = bind_from(s)?;
    let mut b = Binder {
        table,
        qualifiers,
        aliases: Vec::new(),
        buffer: std::cell::Cell::new(None),
    };
    let mut outputs = Vec::new();
    // The outputs a `*` stands for, by index.
    let mut star_outputs = Vec::new();
    for item in &s.projection {
        let before = outputs.len();
        b.bind_item(item, &mut outputs)?;
        if matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        ) {
            star_outputs.extend(before..outputs.len());
        }
    }
    let order_ast: Vec<&ast::OrderByExpr> = match q.order_by.as_ref().map(|o| &o.kind) {
        None => Vec::new(),
        Some(ast::OrderByKind::Expressions(v)) => v.iter().collect(),
        Some(ast::OrderByKind::All(_)) => return Err(err_at("ORDER BY ALL is not supported", kw)),
    };
    let mut order = Vec::new();
    for o in &order_ast {
        let desc = match o.options.sort {
            None | Some(ast::OrderBySort::Asc) => false,
            Some(ast::OrderBySort::Desc) => true,
            Some(ast::OrderBySort::Using(_)) => {
                return Err(err_at("ORDER BY ... USING is not supported", &o.expr))
            }
        };
        // An output's alias or position, else an expression.
        let by_name = by_output(&o.expr, &outputs, "ORDER BY", true)?;
        let e = match by_name {
            Some(e) => e,
            None => b.bind_any(&o.expr)?,
        };
        order.push((e, desc, &o.expr));
    }
    let mut keys = Vec::new();
    for g in group_by {
        // A column name wins over an output alias of the same name.
        let is_column = matches!(g, AstExpr::Identifier(i) if table.column(&i.value).is_some());
        let by_name = by_output(g, &outputs, "GROUP BY", !is_column)?;
        let e = match by_name {
            Some(e) => e,
            None => b.bind_expr(g)?,
        };
        if contains_call(&e) {
            return Err(err_at("GROUP BY cannot hold an aggregate", g));
        }
        keys.push((e, g.to_string()));
    }
    // HAVING may name an output by its alias (as SQLite allows); a column
    // of the same name wins, as in GROUP BY.
    b.aliases = outputs
        .iter()
        .map(|o| (o.name.to_ascii_lowercase(), o.expr.clone()))
        .collect();
    let having = s
        .having
        .as_ref()
        .map(|h| b.bind_any(h).map(|e| (e, h)))
        .transpose()?;
    b.aliases.clear();
    let is_agg = !keys.is_empty()
        || outputs.iter().any(|o| contains_call(&o.expr))
        || having.is_some()
        || order.iter().any(|(e, _, _)| contains_call(e));
    let mut agg = None;
    let mut order_by = Vec::new();
    if is_agg {
        let key_exprs: Vec<Expr> = keys.iter().map(|(e, _)| e.clone()).collect();
        let mut aggs = Vec::new();
        for o in &mut outputs {
            o.expr = lift(table, &o.expr, &key_exprs, &mut aggs).map_err(|m| err_at(m, kw))?;
        }
        let having = match having {
            Some((e, node)) => {
                b.expect_bool(&e, node)?;
                Some(lift(table, &e, &key_exprs, &mut aggs).map_err(|m| err_at(m, node))?)
            }
            None => None,
        };
        for (e, desc, node) in order {
            // An alias or position was lifted with its output already.
            let lifted = if is_lifted(&e) {
                e
            } else {
                lift(table, &e, &key_exprs, &mut aggs).map_err(|m| err_at(m, node))?
            };
            order_by.push(OrderKey { expr: lifted, desc });
        }
        agg = Some(Aggregation {
            keys: key_exprs,
            key_sql: keys.into_iter().map(|(_, s)| s).collect(),
            aggs,
            having,
            having_sql: s.having.as_ref().map(|h| h.to_string()),
        });
    } else {
        order_by = order
            .into_iter()
            .map(|(expr, desc, _)| OrderKey { expr, desc })
            .collect();
    }
    let mut conjuncts = Vec::new();
    if let Some(w) = &s.selection {
        let mut terms = Vec::new();
        split_and(w, &mut terms);
        for t in terms {
            let e = b.bind_expr(t)?;
            b.expect_bool(&e, t)?;
            conjuncts.push(Conjunct {
                sql: t.to_string(),
                expr: e,
            });
        }
    }
    let q = Query {
        table,
        outputs,
        conjuncts,
        where_sql: s.selection.as_ref().map(|w| w.to_string()),
        limit,
        agg,
        order_by,
        buffer: b.buffer.get(),
        star_outputs,
    };
    // The buffer's columns say what buf(argN, len) copied: without it,
    // nothing is.
    if q.buffer.is_none() {
        if let Some(c) = q
            .used_columns()
            .into_iter()
            .map(|c| table.columns[c].name)
            .find(|n| matches!(*n, "buf" | "buf_len" | "buf_cut"))
        {
            return Err(Error::sql(
                format!("{c} is the buffer buf(argN, len) copies: name it, e.g. buf(arg1, 64) or buf(arg1, arg2)"),
                None,
            ));
        }
    }
    Ok(q)
}

fn bind_limit(e: &AstExpr) -> Result<u64> {
    if let AstExpr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            if let Ok(n) = n.parse::<u64>() {
                return Ok(n);
            }
        }
    }
    Err(err_at(
        "LIMIT takes a whole number of rows, e.g. LIMIT 10",
        e,
    ))
}

/// The table and the names its columns may be qualified with.
fn bind_from(s: &ast::Select) -> Result<(&'static Table, Vec<String>)> {
    let from = match s.from.as_slice() {
        [] => {
            return Err(err_at(
                format!(
                    "FROM is missing: select ... from <table>, one of {}",
                    catalog::table_names().join(", ")
                ),
                &s.select_token.0,
            ))
        }
        [f] => f,
        [_, f, ..] => return Err(err_at("JOIN is not supported: one table per query", f)),
    };
    if let Some(j) = from.joins.first() {
        return Err(err_at("JOIN is not supported: one table per query", j));
    }
    let TableFactor::Table {
        name,
        alias,
        args,
        with_hints,
        ..
    } = &from.relation
    else {
        return Err(err_at(
            "FROM takes a table name; subqueries are not supported",
            &from.relation,
        ));
    };
    if args.is_some() || !with_hints.is_empty() {
        return Err(err_at("FROM takes a plain table name", &from.relation));
    }
    let ident = match name.0.as_slice() {
        [p] => p.as_ident().cloned(),
        _ => None,
    };
    let Some(ident) = ident else {
        return Err(err_at("FROM takes a plain table name", name));
    };
    let Some(table) = catalog::table(&ident.value) else {
        let mut msg = format!("unknown table \"{}\"", ident.value);
        let all = catalog::TABLES
            .iter()
            .flat_map(|t| std::iter::once(t.name).chain(t.aliases.iter().copied()));
        match catalog::suggest(&ident.value, all) {
            Some(s) => msg.push_str(&format!("; did you mean \"{s}\"?")),
            None => msg.push_str(&format!(
                " (tables: {}; see ebq --list)",
                catalog::table_names().join(", ")
            )),
        }
        return Err(err_ident(msg, &ident));
    };
    let mut qualifiers = vec![ident.value.to_ascii_lowercase(), table.name.to_string()];
    if let Some(a) = alias {
        qualifiers.push(a.name.value.to_ascii_lowercase());
    }
    Ok((table, qualifiers))
}

fn split_and<'a>(e: &'a AstExpr, out: &mut Vec<&'a AstExpr>) {
    match e {
        AstExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        AstExpr::Nested(inner)
            if matches!(
                inner.as_ref(),
                AstExpr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            split_and(inner, out)
        }
        e => out.push(e),
    }
}

struct Binder {
    table: &'static Table,
    qualifiers: Vec<String>,
    /// Output aliases a name may stand for (HAVING only).
    aliases: Vec<(String, Expr)>,
    /// The buf(argN, len) the query reads (one per query).
    buffer: std::cell::Cell<Option<crate::model::functions::BufSpec>>,
}

impl Binder {
    fn bind_item(&self, item: &SelectItem, out: &mut Vec<Output>) -> Result<()> {
        match item {
            SelectItem::Wildcard(opts) => {
                if opts.opt_exclude.is_some()
                    || opts.opt_except.is_some()
                    || opts.opt_replace.is_some()
                    || opts.opt_rename.is_some()
                    || opts.opt_ilike.is_some()
                {
                    return Err(err_at("SELECT * takes no options", item));
                }
                out.extend(self.table.visible_columns().map(|(i, c)| Output {
                    name: c.name.to_string(),
                    expr: Expr::Column(i),
                }));
                Ok(())
            }
            SelectItem::QualifiedWildcard(kind, _) => {
                let q = kind.to_string().trim_end_matches(".*").to_ascii_lowercase();
                if !self.qualifiers.contains(&q) {
                    return Err(err_at(format!("unknown table \"{q}\" in {q}.*"), item));
                }
                self.bind_item(&SelectItem::Wildcard(Default::default()), out)
            }
            SelectItem::UnnamedExpr(e) => {
                let bound = self.bind_value(e)?;
                // A column is named as the catalog names it, or by the
                // alias it was selected by (osquery's ppid, not parent).
                let name = match (&bound, e) {
                    // str(arg1), buf(arg1, 16): named as written, as
                    // SQLite names an expression.
                    (Expr::Column(_), AstExpr::Function(_)) => e.to_string(),
                    (Expr::Column(c), e) => {
                        let column = self.table.columns[*c].name;
                        let written = match e {
                            AstExpr::Identifier(i) => Some(&i.value),
                            AstExpr::CompoundIdentifier(p) => p.last().map(|i| &i.value),
                            _ => None,
                        };
                        match written {
                            Some(w) if !w.eq_ignore_ascii_case(column) => w.to_ascii_lowercase(),
                            _ => column.to_string(),
                        }
                    }
                    (_, e) => e.to_string(),
                };
                out.push(Output { name, expr: bound });
                Ok(())
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let bound = self.bind_value(expr)?;
                out.push(Output {
                    name: alias.value.clone(),
                    expr: bound,
                });
                Ok(())
            }
            other => Err(err_at("unsupported item in the SELECT list", other)),
        }
    }

    /// A SELECT list, HAVING or ORDER BY expression: aggregates allowed.
    fn bind_value(&self, e: &AstExpr) -> Result<Expr> {
        self.bind_any(e)
    }

    fn bind_any(&self, e: &AstExpr) -> Result<Expr> {
        self.expr(e, true)
    }

    fn column(&self, ident: &ast::Ident) -> Result<Expr> {
        match self.table.column(&ident.value) {
            Some(c) => Ok(Expr::Column(c)),
            None => {
                let mut msg = format!("unknown column \"{}\" in {}", ident.value, self.table.name);
                match catalog::suggest(&ident.value, self.table.columns.iter().map(|c| c.name)) {
                    Some(s) => msg.push_str(&format!("; did you mean \"{s}\"?")),
                    None => msg.push_str(&format!(" (see ebq --list {})", self.table.name)),
                }
                Err(err_ident(msg, ident))
            }
        }
    }

    fn expect_bool(&self, e: &Expr, node: &AstExpr) -> Result<()> {
        match e.ty(self.table) {
            Some(Type::Boolean) | None => Ok(()),
            Some(t) => Err(err_at(
                format!("expected a condition, found a {} value", t.name()),
                node,
            )),
        }
    }

    /// A text literal compared with a named INTEGER column (signal =
    /// 'SIGKILL') becomes that column's number; one compared with a column
    /// of a fixed set of values (syscall = 'openat') must be one of them.
    fn coerce(&self, col: &Expr, v: Expr, node: &AstExpr) -> Result<Expr> {
        let (Expr::Column(c), Expr::Lit(Value::Text(name))) = (col, &v) else {
            return Ok(v);
        };
        let column = &self.table.columns[*c];
        let known = match (column.named, column.domain) {
            (Some(parse), _) => parse(name).map(|n| Expr::Lit(Value::Int(n))),
            (None, Some(d)) => d.has(name).then(|| v.clone()),
            (None, None) => Some(v.clone()),
        };
        if let Some(e) = known {
            return Ok(e);
        }
        let what = column.domain.map_or("a name it knows", |d| d.what());
        let hint = match column.domain.and_then(|d| d.nearest(name)) {
            Some(n) => format!(": did you mean '{n}'?"),
            None => format!("; ebq --list {} says what they are", self.table.name),
        };
        Err(err_at(
            format!(
                "'{}' is not a value of {} ({what}){hint}",
                crate::model::sanitize::sanitize(name),
                column.name
            ),
            node,
        ))
    }

    fn same_type(&self, a: &Expr, b: &Expr, node: &AstExpr) -> Result<()> {
        match (a.ty(self.table), b.ty(self.table)) {
            (Some(x), Some(y)) if x != y => Err(err_at(
                format!("cannot compare {} with {}: {node}", x.name(), y.name()),
                node,
            )),
            _ => Ok(()),
        }
    }

    /// A WHERE or GROUP BY expression: no aggregates.
    fn bind_expr(&self, e: &AstExpr) -> Result<Expr> {
        self.expr(e, false)
    }

    fn numeric(&self, e: &Expr, node: &AstExpr) -> Result<()> {
        match e.ty(self.table) {
            None | Some(Type::Integer | Type::Float) => Ok(()),
            Some(t) => Err(err_at(
                format!("arithmetic needs numbers, not {}", t.name()),
                node,
            )),
        }
    }

    fn expr(&self, e: &AstExpr, aggs: bool) -> Result<Expr> {
        Ok(match e {
            AstExpr::Identifier(i) => {
                if self.table.column(&i.value).is_none() {
                    let name = i.value.to_ascii_lowercase();
                    if let Some((_, e)) = self.aliases.iter().find(|(n, _)| *n == name) {
                        return Ok(e.clone());
                    }
                }
                // "double quoted" is an identifier in SQL; a user who wrote
                // comm = "bash" meant a string.
                if i.quote_style == Some('"') && self.table.column(&i.value).is_none() {
                    return Err(err_ident(
                        format!(
                            "unknown column \"{0}\"; for a string write '{0}' in single quotes",
                            i.value
                        ),
                        i,
                    ));
                }
                self.column(i)?
            }
            AstExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] if self.qualifiers.contains(&q.value.to_ascii_lowercase()) => {
                    self.column(c)?
                }
                [q, _] => return Err(err_ident(format!("unknown table \"{}\"", q.value), q)),
                _ => return Err(err_at("unsupported name", e)),
            },
            AstExpr::Value(_) => Expr::Lit(self.literal(e)?),
            AstExpr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } if matches!(expr.as_ref(), AstExpr::Value(_)) => Expr::Lit(self.literal(e)?),
            AstExpr::Nested(inner) => self.expr(inner, aggs)?,
            AstExpr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => {
                let inner = self.expr(expr, aggs)?;
                self.expect_bool(&inner, expr)?;
                Expr::Not(Box::new(inner))
            }
            AstExpr::BinaryOp { left, op, right } => {
                if matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                ) {
                    if let Some(x) = self.wide_cmp(left, op, right)? {
                        return Ok(x);
                    }
                }
                let l = self.expr(left, aggs)?;
                let r = self.expr(right, aggs)?;
                match op {
                    BinaryOperator::And | BinaryOperator::Or => {
                        self.expect_bool(&l, left)?;
                        self.expect_bool(&r, right)?;
                        if *op == BinaryOperator::And {
                            Expr::And(Box::new(l), Box::new(r))
                        } else {
                            Expr::Or(Box::new(l), Box::new(r))
                        }
                    }
                    BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo => {
                        self.numeric(&l, left)?;
                        self.numeric(&r, right)?;
                        let op = match op {
                            BinaryOperator::Plus => ArithOp::Add,
                            BinaryOperator::Minus => ArithOp::Sub,
                            BinaryOperator::Multiply => ArithOp::Mul,
                            BinaryOperator::Divide => ArithOp::Div,
                            _ => ArithOp::Mod,
                        };
                        Expr::Arith(Box::new(l), op, Box::new(r))
                    }
                    _ => {
                        let l = self.coerce(&r, l, left)?;
                        let r = self.coerce(&l, r, right)?;
                        let cmp = match op {
                            BinaryOperator::Eq => CmpOp::Eq,
                            BinaryOperator::NotEq => CmpOp::NotEq,
                            BinaryOperator::Lt => CmpOp::Lt,
                            BinaryOperator::LtEq => CmpOp::LtEq,
                            BinaryOperator::Gt => CmpOp::Gt,
                            BinaryOperator::GtEq => CmpOp::GtEq,
                            other => {
                                return Err(err_at(format!("operator {other} is not supported"), e))
                            }
                        };
                        self.same_type(&l, &r, e)?;
                        Expr::Cmp(Box::new(l), cmp, Box::new(r))
                    }
                }
            }
            AstExpr::IsNull(x) | AstExpr::IsNotNull(x) => Expr::IsNull {
                expr: Box::new(self.expr(x, aggs)?),
                negated: matches!(e, AstExpr::IsNotNull(_)),
            },
            AstExpr::In {
                expr,
                target,
                negated,
                ..
            } => {
                let InTarget::List(list) = target else {
                    return Err(err_at(
                        "IN takes a list of values; subqueries are not supported",
                        e,
                    ));
                };
                let x = self.expr(expr, aggs)?;
                let mut vals = Vec::with_capacity(list.len());
                for item in list {
                    match self.wide_item(&x, item)? {
                        Some(true) => continue, // a u64 no value reaches
                        Some(false) => {}
                        None => {}
                    }
                    let Expr::Lit(v) = self.coerce(&x, Expr::Lit(self.literal(item)?), item)?
                    else {
                        return Err(err_at("IN takes literal values", item));
                    };
                    self.same_type(&x, &Expr::Lit(v.clone()), item)?;
                    vals.push(v);
                }
                Expr::In {
                    expr: Box::new(x),
                    list: vals,
                    negated: *negated,
                }
            }
            AstExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.expr(expr, aggs)?;
                for b in [low, high] {
                    if self.wide_item(&x, b)? == Some(true) {
                        return Err(err_at(
                            format!(
                                "{b} is past every value of this column: compare with <= instead"
                            ),
                            b.as_ref(),
                        ));
                    }
                }
                let lo = self.coerce(&x, self.expr(low, aggs)?, low)?;
                let hi = self.coerce(&x, self.expr(high, aggs)?, high)?;
                self.same_type(&x, &lo, e)?;
                self.same_type(&x, &hi, e)?;
                Expr::Between {
                    expr: Box::new(x),
                    low: Box::new(lo),
                    high: Box::new(hi),
                    negated: *negated,
                }
            }
            AstExpr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | AstExpr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(err_at("LIKE ANY is not supported", e));
                }
                let escape = match escape_char.as_deref() {
                    None => None,
                    Some(esc) => match self.raw_text(esc) {
                        Some(t) if t.chars().count() == 1 => t.chars().next(),
                        _ => {
                            return Err(err_at(
                                "ESCAPE takes one character in single quotes, e.g. ESCAPE '\\'",
                                esc,
                            ))
                        }
                    },
                };
                let x = self.expr(expr, aggs)?;
                if x.ty(self.table).is_some_and(|t| t != Type::Text) {
                    return Err(err_at("LIKE needs a TEXT column", expr.as_ref()));
                }
                // The pattern as written: Like reads its encoding itself,
                // after ESCAPE.
                let Some(p) = self.raw_text(pattern) else {
                    return Err(err_at(
                        "LIKE needs a string pattern in single quotes",
                        pattern.as_ref(),
                    ));
                };
                Expr::Like {
                    expr: Box::new(x),
                    like: Like::new(&p, matches!(e, AstExpr::ILike { .. }), escape),
                    negated: *negated,
                }
            }
            AstExpr::IsTrue(x)
            | AstExpr::IsFalse(x)
            | AstExpr::IsNotTrue(x)
            | AstExpr::IsNotFalse(x) => {
                let inner = self.expr(x, aggs)?;
                self.expect_bool(&inner, x)?;
                let want = matches!(e, AstExpr::IsTrue(_) | AstExpr::IsNotFalse(_));
                let cmp = Expr::Cmp(
                    Box::new(inner.clone()),
                    CmpOp::Eq,
                    Box::new(Expr::Lit(Value::Bool(want))),
                );
                if matches!(e, AstExpr::IsTrue(_) | AstExpr::IsFalse(_)) {
                    // NULL IS TRUE is false, not NULL.
                    Expr::And(
                        Box::new(Expr::IsNull {
                            expr: Box::new(inner),
                            negated: true,
                        }),
                        Box::new(cmp),
                    )
                } else {
                    Expr::Or(
                        Box::new(Expr::IsNull {
                            expr: Box::new(inner),
                            negated: false,
                        }),
                        Box::new(cmp),
                    )
                }
            }
            AstExpr::Function(f) => self.function(f, e, aggs)?,
            AstExpr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => {
                let x = self.expr(expr, aggs)?;
                self.numeric(&x, expr)?;
                Expr::Arith(
                    Box::new(Expr::Lit(Value::Int(0))),
                    ArithOp::Sub,
                    Box::new(x),
                )
            }
            AstExpr::Subquery(_) | AstExpr::Exists { .. } => {
                return Err(err_at("subqueries are not supported", e))
            }
            other => return Err(err_at(format!("unsupported expression: {other}"), e)),
        })
    }
}

#[cfg(test)]
mod tests;
