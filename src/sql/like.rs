//! SQL LIKE patterns: `%` any run of characters, `_` one character,
//! compared case-sensitively (paths and command lines are; ILIKE folds
//! case). There is no escape character: ESCAPE is refused by the binder.

#[derive(Clone, Debug, PartialEq)]
pub struct Like {
    pub pattern: String,
    pub fold_case: bool,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Lit(Vec<char>),
    One,
    Any,
}

impl Like {
    pub fn new(pattern: &str, fold_case: bool) -> Self {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let src = if fold_case {
            pattern.to_lowercase()
        } else {
            pattern.to_string()
        };
        for c in src.chars() {
            match c {
                '%' | '_' => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
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
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Like {
            pattern: pattern.to_string(),
            fold_case,
            parts,
        }
    }

    /// The literal text every match starts with ('/etc/' for '/etc/%.conf').
    pub fn prefix(&self) -> String {
        self.pattern
            .chars()
            .take_while(|c| *c != '%' && *c != '_')
            .collect()
    }

    pub fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = if self.fold_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        };
        matches_at(&self.parts, &chars)
    }
}

/// Greedy match with backtracking to the last `%` only: linear in practice,
/// O(n*m) at worst, never exponential.
fn matches_at(parts: &[Part], s: &[char]) -> bool {
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

    fn m(p: &str, s: &str) -> bool {
        Like::new(p, false).matches(s)
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
        assert!(Like::new("Abc", true).matches("aBC"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(Like::new("/etc/%.conf", false).prefix(), "/etc/");
        assert_eq!(Like::new("%x", false).prefix(), "");
    }

    #[test]
    fn long_inputs_stay_fast() {
        let s = "a".repeat(20_000);
        assert!(!m("%a%a%a%a%b", &s));
    }
}
