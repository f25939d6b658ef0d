//! SQL LIKE patterns: `%` any run of characters, `_` one character,
//! compared case-sensitively (paths and command lines are; ILIKE folds
//! case); `ESCAPE 'c'` makes `c%`, `c_` and `cc` literal.
//!
//! Values are matched as the bytes they stand for, not as their encoded
//! text (exec/value.rs): in a value `\\` is one backslash and `\xNN` one
//! byte, so `_` matches either. The pattern's literal parts are read in
//! ebq's encoding like any string literal (`'%\x1b%'` finds an escape
//! character), after ESCAPE is applied: with `ESCAPE '\'` the backslash is
//! LIKE's own, and `\\` is a literal backslash.

use crate::model::value::decode;

#[derive(Clone, Debug, PartialEq)]
pub struct Like {
    pub pattern: String,
    pub fold_case: bool,
    pub escape: Option<char>,
    parts: Vec<Part>,
}

/// One unit of a value: a character, or a byte that is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Char(char),
    Byte(u8),
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Lit(Vec<Unit>),
    One,
    Any,
    /// A pattern that ends in its escape character.
    Never,
}

/// The units of raw bytes: UTF-8 characters and invalid bytes.
fn units_of_bytes(b: &[u8], fold: bool, out: &mut Vec<Unit>) {
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(c, fold, out);
        }
        out.extend(chunk.invalid().iter().map(|&b| Unit::Byte(b)));
    }
}

fn push_char(c: char, fold: bool, out: &mut Vec<Unit>) {
    if fold {
        out.extend(c.to_lowercase().map(Unit::Char));
    } else {
        out.push(Unit::Char(c));
    }
}

/// The units of a Text value (which holds `\\` and `\xNN` escapes only).
fn units_of_value(s: &str, fold: bool) -> Vec<Unit> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.peek().map(|p| p.1) {
                Some('\\') => {
                    chars.next();
                    out.push(Unit::Char('\\'));
                    continue;
                }
                Some('x') => {
                    if let Some(b) = s
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        chars.next();
                        chars.next();
                        chars.next();
                        out.push(Unit::Byte(b));
                        continue;
                    }
                }
                _ => {}
            }
        }
        push_char(c, fold, &mut out);
    }
    out
}

impl Like {
    pub fn new(pattern: &str, fold_case: bool, escape: Option<char>) -> Self {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, parts: &mut Vec<Part>| {
            if !lit.is_empty() {
                let mut u = Vec::new();
                units_of_bytes(&decode(lit), fold_case, &mut u);
                parts.push(Part::Lit(u));
                lit.clear();
            }
        };
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                // The escape character makes the next one literal; a
                // trailing one escapes nothing, and the pattern matches
                // nothing (as in SQLite).
                let Some(next) = chars.next() else {
                    parts.push(Part::Never);
                    break;
                };
                if next == '\\' {
                    // A literal backslash, not the start of an encoding
                    // escape: doubled for `decode`.
                    lit.push_str("\\\\");
                } else {
                    lit.push(next);
                }
                continue;
            }
            match c {
                '%' | '_' => {
                    flush(&mut lit, &mut parts);
                    if c == '%' {
                        if parts.last() != Some(&Part::Any) {
                            parts.push(Part::Any);
                        }
                    } else {
                        parts.push(Part::One);
                    }
                }
                c => lit.push(c),
            }
        }
        flush(&mut lit, &mut parts);
        Like {
            pattern: pattern.to_string(),
            fold_case,
            escape,
            parts,
        }
    }

    /// The literal text every match starts with, as a Text value holds it
    /// ('/etc/' for '/etc/%.conf'); the kernel's prefix filter takes it.
    pub fn prefix(&self) -> String {
        let mut out = Vec::new();
        if let Some(Part::Lit(units)) = self.parts.first() {
            for u in units {
                match u {
                    Unit::Char(c) => {
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Unit::Byte(b) => out.push(*b),
                }
            }
        }
        crate::model::value::text_from_bytes(&out)
    }

    pub fn matches(&self, s: &str) -> bool {
        if self.parts.contains(&Part::Never) {
            return false;
        }
        matches_at(&self.parts, &units_of_value(s, self.fold_case))
    }
}

/// Greedy match with backtracking to the last `%` only: linear in practice,
/// O(n*m) at worst, never exponential.
fn matches_at(parts: &[Part], s: &[Unit]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if p < parts.len() {
            match &parts[p] {
                Part::Any => {
                    resume = Some((p, i));
                    p += 1;
                    continue;
                }
                Part::One if i < s.len() => {
                    p += 1;
                    i += 1;
                    continue;
                }
                Part::Lit(l) if s[i.min(s.len())..].starts_with(l) => {
                    p += 1;
                    i += l.len();
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        match resume {
            Some((rp, ri)) if ri < s.len() => {
                resume = Some((rp, ri + 1));
                p = rp + 1;
                i = ri + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::text_from_bytes;

    fn m(p: &str, s: &str) -> bool {
        Like::new(p, false, None).matches(s)
    }

    fn esc(p: &str, s: &[u8]) -> bool {
        Like::new(p, false, Some('\\')).matches(&text_from_bytes(s))
    }

    #[test]
    fn wildcards() {
        assert!(m("%marker%", "sh -c echo marker-1"));
        assert!(m("/etc/%", "/etc/passwd"));
        assert!(!m("/etc/%", "/usr/etc/passwd"));
        assert!(m("a_c", "abc"));
        assert!(!m("a_c", "abbc"));
        assert!(m("%", ""));
        assert!(!m("_", ""));
        assert!(m("%a%b%c", "xxaxxbxxc"));
        assert!(!m("%a%b%c", "xxaxxcxxb"));
        assert!(m("abc", "abc") && !m("abc", "abcd"));
        assert!(!m("Abc", "abc"));
        assert!(Like::new("Abc", true, None).matches("aBC"));
    }

    #[test]
    fn escape_makes_wildcards_literal() {
        assert!(esc("100\\%", b"100%"));
        assert!(!esc("100\\%", b"1000"));
        assert!(esc("%\\_tmp%", b"/x_tmp/y"));
        assert!(!esc("%\\_tmp%", b"/xXtmp/y"));
        assert!(esc("a\\\\b", b"a\\b"));
        assert!(!esc("a\\\\b", b"a\\\\b"));
        assert!(!esc("trail\\", b"trail\\") && !esc("trail\\", b"trail"));
        let bang = Like::new("%!%%", false, Some('!'));
        assert!(bang.matches("50%") && !bang.matches("50"));
        // Without ESCAPE, `_` and `%` stay wildcards.
        assert!(m("100%", "1000"));
    }

    #[test]
    fn values_match_as_the_bytes_they_stand_for() {
        // One `_` for one invalid byte or one backslash.
        assert!(m("a_b", &text_from_bytes(b"a\xffb")));
        assert!(m("a_b", &text_from_bytes(b"a\\b")));
        // The pattern is read in ebq's encoding.
        assert!(m("%\\x1b%", &text_from_bytes(b"red \x1b[31m")));
        assert!(!m("%\\x1b%", &text_from_bytes(b"red \\x1b[31m")));
        assert!(m("%\\\\x1b%", &text_from_bytes(b"red \\x1b[31m")));
        assert!(m("lit\\xff", &text_from_bytes(b"lit\xff")));
        assert!(!m("lit\\xff", &text_from_bytes(b"lit\\xff")));
    }

    #[test]
    fn prefixes() {
        assert_eq!(Like::new("/etc/%.conf", false, None).prefix(), "/etc/");
        assert_eq!(Like::new("%x", false, None).prefix(), "");
        assert_eq!(
            Like::new("/tmp/a\\_b%", false, Some('\\')).prefix(),
            "/tmp/a_b"
        );
        assert_eq!(Like::new("/t\\\\x%", false, None).prefix(), "/t\\\\x");
    }

    #[test]
    fn long_inputs_stay_fast() {
        let s = "a".repeat(20_000);
        assert!(!m("%a%a%a%a%b", &s));
    }
}
