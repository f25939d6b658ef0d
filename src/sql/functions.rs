//! Function calls in queries: the aggregates (count, sum, min, max, avg,
//! hist, lhist) and the scalar functions (lower, upper, coalesce, str, and
//! SQLite's datetime, date, time, strftime and printf, evaluated in
//! exec/funcs.rs), with their argument checks.

use sqlparser::ast::{self, Expr as AstExpr};

use super::{err_at, Binder};
use crate::catalog::Type;
use crate::error::Result;
use crate::model::expr::{AggCall, AggFunc, Expr, Func};
use crate::model::value::Value;

impl Binder {
    pub(super) fn function(&self, f: &ast::Function, e: &AstExpr, aggs: bool) -> Result<Expr> {
        let name = f.name.to_string().to_ascii_lowercase();
        let list = match &f.args {
            ast::FunctionArguments::List(l) => l,
            ast::FunctionArguments::None => {
                return Err(err_at(format!("{name} needs parentheses: {name}(...)"), e))
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(err_at("subqueries are not supported", e))
            }
        };
        if f.filter.is_some()
            || f.over.is_some()
            || !f.within_group.is_empty()
            || !list.clauses.is_empty()
        {
            return Err(err_at(
                format!("{name}(): FILTER, OVER and other clauses are not supported"),
                e,
            ));
        }
        let distinct = matches!(
            list.duplicate_treatment,
            Some(ast::DuplicateTreatment::Distinct)
        );
        let star = matches!(
            list.args.as_slice(),
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]
        );
        let is_agg = matches!(
            name.as_str(),
            "count" | "sum" | "min" | "max" | "avg" | "hist" | "lhist"
        );
        let mut args = Vec::new();
        let mut arg_nodes = Vec::new();
        if !star {
            for a in &list.args {
                let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a else {
                    return Err(err_at(format!("{name}(): unsupported argument"), e));
                };
                arg_nodes.push(x);
                // An aggregate's argument holds no aggregate; a scalar
                // function's may, where aggregates are allowed
                // (printf('%o', max(mode))).
                args.push(self.expr(x, aggs && !is_agg)?);
            }
        }
        if is_agg && !aggs {
            return Err(err_at(format!("{name}() is an aggregate: it belongs in SELECT, HAVING or ORDER BY, not WHERE or GROUP BY"), e));
        }
        if distinct && name != "count" {
            return Err(err_at(
                format!("{name}(DISTINCT ...) is not supported; count(DISTINCT x) is"),
                e,
            ));
        }
        let one = |args: &mut Vec<Expr>| -> Result<Expr> {
            if args.len() != 1 {
                return Err(err_at(format!("{name}() takes one argument"), e));
            }
            Ok(args.remove(0))
        };
        let call = |func: AggFunc, arg: Option<Expr>| {
            Expr::Call(Box::new(AggCall {
                func,
                arg,
                sql: e.to_string(),
            }))
        };
        Ok(match name.as_str() {
            "count" if star => call(AggFunc::CountStar, None),
            "count" => call(if distinct { AggFunc::CountDistinct } else { AggFunc::Count }, Some(one(&mut args)?)),
            "sum" | "avg" | "hist" => {
                let a = one(&mut args)?;
                if a.ty(self.table).is_some_and(|t| t != Type::Integer) {
                    return Err(err_at(format!("{name}() needs an INTEGER argument"), e));
                }
                call(
                    match name.as_str() {
                        "sum" => AggFunc::Sum,
                        "avg" => AggFunc::Avg,
                        _ => AggFunc::Hist,
                    },
                    Some(a),
                )
            }
            "min" | "max" => call(if name == "min" { AggFunc::Min } else { AggFunc::Max }, Some(one(&mut args)?)),
            "lhist" => {
                let [_, lo, hi, st] = arg_nodes.as_slice() else {
                    return Err(err_at("lhist() takes (column, min, max, step)", e));
                };
                let n = |x: &AstExpr| match self.literal(x)? {
                    Value::Int(i) => Ok(i),
                    _ => Err(err_at("lhist() bounds are whole numbers", x)),
                };
                let (min, max, step) = (n(lo)?, n(hi)?, n(st)?);
                if step <= 0 || max <= min {
                    return Err(err_at("lhist(col, min, max, step) needs min < max and step > 0", e));
                }
                if (i128::from(max) - i128::from(min)) / i128::from(step) > 10_000 {
                    return Err(err_at("lhist(): more than 10000 buckets; use a larger step", e));
                }
                call(AggFunc::Lhist { min, max, step }, Some(args.remove(0)))
            }
            // function_events' str(argN) and str(retval): the string the
            // register points to, which the kernel copies only for a query
            // that names it (the column argN_str).
            "str" => {
                let a = one(&mut args)?;
                let col = match &a {
                    Expr::Column(c) => {
                        let name = format!("{}_str", self.table.columns[*c].name);
                        self.table.columns.iter().position(|x| x.name == name)
                    }
                    _ => None,
                };
                match col {
                    Some(c) => Expr::Column(c),
                    None => {
                        return Err(err_at(
                            "str() reads the string a register points to: str(arg0) .. str(arg5) or str(retval), of function_events",
                            e,
                        ))
                    }
                }
            }
            // function_events' buf(argN, len): the bytes argN points to,
            // copied by the kernel only for a query that names them.
            "buf" => self.buf(&args, &arg_nodes, e)?,
            "lower" | "upper" => {
                let a = one(&mut args)?;
                if a.ty(self.table).is_some_and(|t| t != Type::Text) {
                    return Err(err_at(format!("{name}() needs a TEXT argument"), e));
                }
                Expr::Func(if name == "lower" { Func::Lower } else { Func::Upper }, vec![a])
            }
            "coalesce" => {
                if args.is_empty() {
                    return Err(err_at("coalesce() needs at least one argument", e));
                }
                Expr::Func(Func::Coalesce, args)
            }
            "datetime" | "date" | "time" | "strftime" => {
                let fmt_first = name == "strftime";
                if fmt_first && args.is_empty() {
                    return Err(err_at("strftime() takes (format, time, modifiers...), e.g. strftime('%Y-%m-%d', time, 'unixepoch')", e));
                }
                let skip = usize::from(fmt_first);
                if let Some(fmt) = fmt_first.then(|| &args[0]) {
                    if fmt.ty(self.table).is_some_and(|t| t != Type::Text) {
                        return Err(err_at("strftime()'s first argument is the format, e.g. '%Y-%m-%d %H:%M:%S'", arg_nodes[0]));
                    }
                }
                // Modifiers are literals SQLite knows; a misspelt one is an
                // error here rather than a column of NULLs.
                for (a, node) in args.iter().zip(&arg_nodes).skip(skip + 1) {
                    match a {
                        Expr::Lit(Value::Text(m)) if crate::model::funcs::known_modifier(m) => {}
                        Expr::Lit(Value::Text(m)) => return Err(err_at(format!("{name}(): unknown modifier '{}'; modifiers: 'unixepoch', 'localtime', 'utc', 'start of day', '+N days' ...", crate::model::sanitize::sanitize(m)), *node)),
                        _ => return Err(err_at(format!("{name}(): modifiers are text in single quotes, e.g. 'unixepoch'"), *node)),
                    }
                }
                let func = match name.as_str() {
                    "datetime" => Func::Datetime("%Y-%m-%d %H:%M:%S"),
                    "date" => Func::Datetime("%Y-%m-%d"),
                    "time" => Func::Datetime("%H:%M:%S"),
                    _ => Func::Strftime,
                };
                Expr::Func(func, args)
            }
            "printf" | "format" => {
                if args.is_empty() {
                    return Err(err_at(format!("{name}() takes (format, values...), e.g. printf('%o', mode)"), e));
                }
                Expr::Func(Func::Printf, args)
            }
            _ => return Err(err_at(format!("unknown function {name}(); functions: count, sum, min, max, avg, hist, lhist, lower, upper, coalesce, datetime, date, time, strftime, printf, str, buf"), e)),
        })
    }

    /// buf(argN, len): argN a pointer; len a constant (at most
    /// BUF_MAX), another argument or retval. The column `buf`, with the
    /// spec kept for the kernel (one per query).
    fn buf(&self, args: &[Expr], nodes: &[&AstExpr], e: &AstExpr) -> Result<Expr> {
        use crate::model::functions::{BufLen, BufSpec, BUF_MAX};
        const USE: &str = "buf() takes (argN, length): buf(arg1, 64), buf(arg1, arg2) or buf(arg1, retval), of function_events";
        let (Some(col), [a, n]) = (self.table.column("buf"), args) else {
            return Err(err_at(USE, e));
        };
        let arg_of = |x: &Expr| match x {
            Expr::Column(c) => self.table.columns[*c]
                .name
                .strip_prefix("arg")
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|d| *d < 6),
            _ => None,
        };
        let Some(arg) = arg_of(a) else {
            return Err(err_at(
                "buf()'s first argument is the pointer: arg0 .. arg5",
                nodes[0],
            ));
        };
        let len = match n {
            Expr::Lit(Value::Int(v)) if (1..=i64::from(BUF_MAX)).contains(v) => {
                BufLen::Const(*v as u32)
            }
            Expr::Lit(Value::Int(_)) => {
                return Err(err_at(
                    format!("buf(): a length from 1 to {BUF_MAX} bytes"),
                    nodes[1],
                ))
            }
            Expr::Column(c) if self.table.columns[*c].name == "retval" => BufLen::Retval,
            x => match arg_of(x) {
                Some(i) => BufLen::Arg(i),
                None => {
                    return Err(err_at(
                        "buf()'s length is a number, arg0 .. arg5 or retval",
                        nodes[1],
                    ))
                }
            },
        };
        let spec = BufSpec { arg, len };
        match self.buffer.get() {
            Some(other) if other != spec => {
                return Err(err_at(
                    format!(
                    "one buf() per query: a row carries one buffer, and {other} is already read"
                ),
                    e,
                ))
            }
            _ => self.buffer.set(Some(spec)),
        }
        Ok(Expr::Column(col))
    }
}
