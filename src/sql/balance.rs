//! Long AND/OR chains, made shallow before parsing. sqlparser builds
//! `a OR b OR c ...` as a left-leaning chain as deep as it is long, and the
//! parser's own Drop and Display, the binder, the planner and the evaluator
//! all recurse over it: 5,000 terms overflowed the stack. AND and OR are
//! associative in SQL's three-valued logic, so a chain of more than
//! `CHAIN` terms is regrouped at the token level into a balanced tree of
//! parenthesized halves (depth log2 n), which means the same thing.
//!
//! The same walk bounds the depth of what is left (nested parentheses,
//! arithmetic chains such as `1+1+1...`) from above; a query deeper than
//! `MAX_DEPTH` is refused with one line before the parser sees it.
//! Whatever passes fits the stack main.rs gives the worker thread.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// Chains longer than this are regrouped (short ones stay as written, so
/// --explain shows them as typed).
const CHAIN: usize = 16;
/// Deepest expression tree accepted, as estimated by `depth` (an upper
/// bound): a few thousand stack frames in a debug build fit in the
/// worker's stack many times over.
pub const MAX_DEPTH: usize = 1000;

fn is_kw(t: &Token, k: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// Keywords that end one expression and begin the next clause.
fn is_clause(t: &Token) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && matches!(w.keyword,
        Keyword::SELECT | Keyword::FROM | Keyword::WHERE | Keyword::GROUP | Keyword::BY
        | Keyword::HAVING | Keyword::ORDER | Keyword::LIMIT | Keyword::OFFSET
        | Keyword::AS))
        || matches!(t, Token::Comma | Token::SemiColon)
}

/// Past the group that starts at `i`: a parenthesis to its closing one, or
/// CASE to its END (an opaque term: its ANDs and ORs are its own). None
/// when `toks[i]` starts no group.
fn group_end(toks: &[TokenWithSpan], i: usize) -> Option<usize> {
    if toks[i].token == Token::LParen {
        return Some(closing(toks, i).unwrap_or(toks.len() - 1) + 1);
    }
    if !is_kw(&toks[i].token, Keyword::CASE) {
        return None;
    }
    let mut depth = 0usize;
    let mut j = i;
    while j < toks.len() {
        if toks[j].token == Token::LParen {
            j = closing(toks, j).unwrap_or(toks.len() - 1) + 1;
            continue;
        }
        if is_kw(&toks[j].token, Keyword::CASE) {
            depth += 1;
        } else if is_kw(&toks[j].token, Keyword::END) {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
        j += 1;
    }
    Some(toks.len())
}

/// The index of the parenthesis closing the one at `open`, or None.
fn closing(toks: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Regroups `toks` (the whole query), or says why it is too deep.
pub fn rebalance(toks: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, String> {
    // Unbalanced parentheses are the parser's to report.
    let mut depth = 0i64;
    for t in &toks {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return Ok(toks);
        }
    }
    if depth != 0 {
        return Ok(toks);
    }
    let mut out = Vec::with_capacity(toks.len());
    let d = level(&toks, &mut out, 0)?;
    if d > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(out)
}

fn too_deep() -> String {
    format!("the query's expressions are nested more than {MAX_DEPTH} levels deep (a long chain of operators or parentheses); split it, or list values with IN (...)")
}

/// One parenthesis level's content: clauses split at clause keywords and
/// commas, each regrouped; returns the deepest clause's depth.
fn level(
    toks: &[TokenWithSpan],
    out: &mut Vec<TokenWithSpan>,
    nest: usize,
) -> Result<usize, String> {
    // The parser refuses nesting past its own limit; this walk recurses
    // once per parenthesis, so it stops well before the stack would.
    if nest > 2 * super::RECURSION_LIMIT {
        return Err(format!(
            "the query is nested more than {} levels deep",
            super::RECURSION_LIMIT
        ));
    }
    let mut deepest = 0;
    let mut start = 0;
    let mut i = 0;
    while i < toks.len() {
        if let Some(end) = group_end(toks, i) {
            i = end;
            continue;
        }
        // `IS [NOT] DISTINCT FROM` is an operator, not a FROM clause.
        let distinct_from = is_kw(&toks[i].token, Keyword::FROM)
            && toks[..i]
                .iter()
                .rev()
                .find(|t| !matches!(t.token, Token::Whitespace(_)))
                .is_some_and(|t| is_kw(&t.token, Keyword::DISTINCT));
        if is_clause(&toks[i].token) && !distinct_from {
            deepest = deepest.max(chunk(&toks[start..i], out, nest)?);
            out.push(toks[i].clone());
            start = i + 1;
        }
        i += 1;
    }
    deepest = deepest.max(chunk(&toks[start..], out, nest)?);
    Ok(deepest)
}

/// Splits `toks` at the top-level tokens `is_sep` accepts.
type Parts<'a> = (Vec<&'a [TokenWithSpan]>, Vec<&'a TokenWithSpan>);

fn split(toks: &[TokenWithSpan], mut is_sep: impl FnMut(&Token) -> bool) -> Parts<'_> {
    let (mut parts, mut seps) = (Vec::new(), Vec::new());
    let (mut start, mut i) = (0, 0);
    while i < toks.len() {
        if let Some(end) = group_end(toks, i) {
            i = end;
            continue;
        }
        if is_sep(&toks[i].token) {
            parts.push(&toks[start..i]);
            seps.push(&toks[i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&toks[start..]);
    (parts, seps)
}

/// One expression: OR terms of AND terms of leaves.
fn chunk(
    toks: &[TokenWithSpan],
    out: &mut Vec<TokenWithSpan>,
    nest: usize,
) -> Result<usize, String> {
    let (ors, or_seps) = split(toks, |t| is_kw(t, Keyword::OR));
    let mut terms = Vec::with_capacity(ors.len());
    for o in ors {
        // BETWEEN's AND is not a conjunction.
        let mut between = false;
        let (ands, and_seps) = split(o, |t| {
            if is_kw(t, Keyword::BETWEEN) {
                between = true;
            } else if is_kw(t, Keyword::AND) {
                if between {
                    between = false;
                    return false;
                }
                return true;
            }
            false
        });
        let mut leaves = Vec::with_capacity(ands.len());
        for a in ands {
            let mut buf = Vec::with_capacity(a.len());
            let d = leaf(a, &mut buf, nest)?;
            leaves.push((buf, d));
        }
        terms.push(join(leaves, &and_seps));
    }
    let (buf, d) = join(terms, &or_seps);
    out.extend(buf);
    Ok(d)
}

/// Tokens of one leaf, with the parenthesized groups inside regrouped too.
fn leaf(
    toks: &[TokenWithSpan],
    out: &mut Vec<TokenWithSpan>,
    nest: usize,
) -> Result<usize, String> {
    let mut own = 0usize;
    let mut inner = 0usize;
    let mut nots = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.token == Token::LParen {
            let close = closing(toks, i).unwrap_or(toks.len() - 1);
            out.push(t.clone());
            inner = inner.max(level(&toks[i + 1..close], out, nest + 1)?);
            out.push(toks[close].clone());
            own += 1;
            i = close + 1;
            continue;
        }
        if !matches!(t.token, Token::Whitespace(_)) {
            own += 1;
            // Each NOT is one more level of the parser's recursion, and
            // sqlparser reports running out of it inside a NOT as a
            // confusing syntax error: said here instead.
            nots = if is_kw(&t.token, Keyword::NOT) {
                nots + 1
            } else {
                0
            };
            if nots > super::RECURSION_LIMIT - 16 {
                return Err(format!(
                    "the query is nested more than {} levels deep ({nots} NOTs in a row)",
                    super::RECURSION_LIMIT - 16
                ));
            }
        }
        out.push(t.clone());
        i += 1;
    }
    if own > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(own + inner)
}

/// Joins terms with their separators; more than CHAIN become a balanced
/// tree of parenthesized halves. Returns the tokens and the depth.
fn join(
    terms: Vec<(Vec<TokenWithSpan>, usize)>,
    seps: &[&TokenWithSpan],
) -> (Vec<TokenWithSpan>, usize) {
    let deepest = terms.iter().map(|t| t.1).max().unwrap_or(0);
    if terms.len() <= CHAIN {
        let n = terms.len();
        let mut out = Vec::new();
        for (i, (t, _)) in terms.into_iter().enumerate() {
            if i > 0 {
                out.push(seps[i - 1].clone());
            }
            out.extend(t);
        }
        return (out, deepest + n.saturating_sub(1));
    }
    let sep = seps[0].clone();
    let mut out = Vec::new();
    let levels = balanced(terms, &sep, &mut out);
    (out, deepest + levels)
}

/// `terms` as ( left half ) SEP ( right half ), recursively; returns the
/// depth it adds (log2 of the count).
fn balanced(
    mut terms: Vec<(Vec<TokenWithSpan>, usize)>,
    sep: &TokenWithSpan,
    out: &mut Vec<TokenWithSpan>,
) -> usize {
    if terms.len() == 1 {
        out.extend(terms.pop().map(|t| t.0).unwrap_or_default());
        return 0;
    }
    let right = terms.split_off(terms.len() / 2);
    let paren = |t: Token| TokenWithSpan {
        token: t,
        span: sep.span,
    };
    let space = || paren(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
    out.push(paren(Token::LParen));
    let l = balanced(terms, sep, out);
    out.push(paren(Token::RParen));
    out.push(space());
    out.push(sep.clone());
    out.push(space());
    out.push(paren(Token::LParen));
    let r = balanced(right, sep, out);
    out.push(paren(Token::RParen));
    1 + l.max(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn text(sql: &str) -> Result<String, String> {
        let toks = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .map_err(|e| e.to_string())?;
        Ok(rebalance(toks)?
            .iter()
            .map(|t| t.token.to_string())
            .collect())
    }

    #[test]
    fn short_chains_stay_as_written() {
        let q = "select pid from t where pid = 1 or pid = 2 and uid between 1 and 3";
        assert_eq!(text(q).expect("ok"), q);
    }

    #[test]
    fn long_chains_become_balanced_halves() {
        let terms: Vec<String> = (1..=20).map(|i| format!("p = {i}")).collect();
        let q = format!("select p from t where {} order by p", terms.join(" or "));
        let out: String = text(&q).expect("ok").replace(' ', "");
        assert!(
            out.starts_with("selectpfromtwhere((((p=1)or(p=2))or((p=3)or((p=4)or(p=5))))or"),
            "{out}"
        );
        assert!(out.ends_with("(p=20)))))orderbyp"), "{out}");
        // Same terms, same order.
        let flat: String = out.replace(['(', ')'], "");
        let want: String = terms.join(" or ").replace(' ', "");
        assert!(flat.contains(&want), "{flat}");
    }

    #[test]
    fn betweens_and_is_not_split() {
        let terms: Vec<String> = (1..=20)
            .map(|i| format!("p between {i} and {}", i + 1))
            .collect();
        let q = format!("select p from t where {}", terms.join(" and "));
        let out = text(&q).expect("ok").replace(' ', "");
        assert!(out.contains("((pbetween1and2)and(pbetween2and3))"), "{out}");
    }

    #[test]
    fn an_escape_stays_with_its_like() {
        let terms: Vec<String> = (1..=20)
            .map(|i| format!("path like '%a\\_{i}' escape '\\'"))
            .collect();
        let q = format!("select p from t where {}", terms.join(" or "));
        let out = text(&q).expect("ok").replace(' ', "");
        assert!(
            out.contains("((pathlike'%a\\_1'escape'\\')or(pathlike'%a\\_2'escape'\\'))"),
            "{out}"
        );
    }

    #[test]
    fn arithmetic_chains_are_bounded() {
        let q = format!("select p from t where p = 1{}", " + 1".repeat(2000));
        assert!(text(&q)
            .expect_err("too deep")
            .contains("nested more than 1000"));
    }
}
