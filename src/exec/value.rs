//! Values of columns and literals, and the conversion of kernel bytes into
//! text that loses nothing: invalid UTF-8 bytes become `\xNN`, never U+FFFD,
//! so two different byte strings never print alike by accident.

use std::cmp::Ordering;
use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Float(f64),
    Hist(Box<Hist>),
}

/// A histogram result: buckets [low, high) with their counts; None for an
/// open end (values below the first or above the last bound).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Hist {
    pub buckets: Vec<Bucket>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub low: Option<i64>,
    pub high: Option<i64>,
    pub count: u64,
}

impl Hist {
    /// The buckets from the first non-empty one to the last (none when all
    /// are empty): what JSON and CSV show.
    pub fn used(&self) -> &[Bucket] {
        let first = self.buckets.iter().position(|b| b.count > 0);
        let last = self.buckets.iter().rposition(|b| b.count > 0);
        match (first, last) {
            (Some(f), Some(l)) => &self.buckets[f..=l],
            _ => &[],
        }
    }

    /// bpftrace-style bars, one line per bucket from the first non-empty
    /// one to the last, scaled to this histogram alone.
    pub fn render(&self) -> String {
        match self.widths() {
            Some((max, lw, cw)) => self.render_with(max, lw, cw, Self::BAR),
            None => String::new(),
        }
    }

    /// Bar length of `render`.
    pub const BAR: usize = 40;

    /// What `render_with` needs to draw this histogram alone: its largest
    /// count and the widths of its label and count columns; None when all
    /// buckets are empty. Several histograms drawn with the maximum of each
    /// share one scale and align (a result set's column).
    pub fn widths(&self) -> Option<(u64, usize, usize)> {
        let shown = self.used();
        if shown.is_empty() {
            return None;
        }
        let max = shown.iter().map(|b| b.count).max().unwrap_or(1);
        let lw = shown
            .iter()
            .map(|b| Self::label(b).len())
            .max()
            .unwrap_or(0);
        let cw = shown.iter().map(|b| b.count.to_string().len()).max();
        Some((max, lw, cw.unwrap_or(1)))
    }

    /// The bars scaled to `max`, labels `lw` and counts `cw` wide, bars
    /// `bar` long: every line is `lw + cw + bar + 4` columns wide.
    pub fn render_with(&self, max: u64, lw: usize, cw: usize, bar: usize) -> String {
        let max = max.max(1);
        let mut out = String::new();
        for b in self.used() {
            let n = (u128::from(b.count) * bar as u128).div_ceil(u128::from(max));
            let n = n.min(bar as u128) as usize;
            let _ = writeln!(
                out,
                "{:<lw$} {:>cw$} |{:<bar$}|",
                Self::label(b),
                b.count,
                "@".repeat(n),
            );
        }
        out.pop();
        out
    }

    fn label(b: &Bucket) -> String {
        match (b.low, b.high) {
            (None, Some(h)) => format!("(..., {h})"),
            (Some(l), None) => format!("[{l}, ...)"),
            (Some(l), Some(h)) if l.checked_add(1) == Some(h) => format!("[{l}]"),
            (Some(l), Some(h)) => format!("[{}, {})", human(l), human(h)),
            (None, None) => "(all)".into(),
        }
    }
}

/// 1024 -> 1K, as bpftrace labels power-of-2 buckets.
fn human(v: i64) -> String {
    for (shift, unit) in [
        (60, "E"),
        (50, "P"),
        (40, "T"),
        (30, "G"),
        (20, "M"),
        (10, "K"),
    ] {
        if v > 0 && v % (1 << shift) == 0 {
            return format!("{}{unit}", v >> shift);
        }
    }
    v.to_string()
}

impl Value {
    /// SQL comparison: None when either side is NULL or the types differ
    /// (the binder rejects the latter, so it only happens with NULL).
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
            (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(s) => f.write_str(s),
            Value::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Float(x) => write!(f, "{}", format_float(*x)),
            Value::Hist(h) => f.write_str(&h.render()),
        }
    }
}

/// A float as text: at most 3 decimals, no trailing zeros.
pub fn format_float(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A value usable as a GROUP BY key (no floats or histograms reach here:
/// keys come from columns and integer arithmetic).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<Value> for KeyPart {
    fn from(v: Value) -> Self {
        match v {
            Value::Int(i) => KeyPart::Int(i),
            Value::Text(s) => KeyPart::Text(s),
            Value::Bool(b) => KeyPart::Bool(b),
            Value::Float(f) => KeyPart::Text(format_float(f)),
            Value::Null | Value::Hist(_) => KeyPart::Null,
        }
    }
}

impl From<KeyPart> for Value {
    fn from(k: KeyPart) -> Self {
        match k {
            KeyPart::Null => Value::Null,
            KeyPart::Int(i) => Value::Int(i),
            KeyPart::Text(s) => Value::Text(s),
            KeyPart::Bool(b) => Value::Bool(b),
        }
    }
}

/// Kernel bytes as text: valid UTF-8 as is, every invalid byte as `\xNN`.
pub fn text_from_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A NUL-terminated C string (comm) as text.
pub fn text_from_cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    text_from_bytes(&bytes[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_escaped_not_replaced() {
        assert_eq!(text_from_bytes(b"ok\xff\xfez"), "ok\\xff\\xfez");
        assert_eq!(text_from_bytes("é".as_bytes()), "é");
        assert_eq!(text_from_cstr(b"bash\0\0junk"), "bash");
    }

    #[test]
    fn comparisons_follow_sql_null_rules() {
        assert_eq!(Value::Int(1).sql_cmp(&Value::Int(2)), Some(Ordering::Less));
        assert_eq!(Value::Null.sql_cmp(&Value::Int(2)), None);
        assert_eq!(
            Value::Text("a".into()).sql_cmp(&Value::Text("a".into())),
            Some(Ordering::Equal)
        );
    }
}

#[cfg(test)]
mod hist_tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_bucket() {
        let h = Hist {
            buckets: vec![
                Bucket {
                    low: Some(0),
                    high: Some(1),
                    count: 0,
                },
                Bucket {
                    low: Some(1024),
                    high: Some(2048),
                    count: 4,
                },
                Bucket {
                    low: Some(2048),
                    high: Some(4096),
                    count: 2,
                },
            ],
        };
        assert_eq!(
            h.render(),
            format!(
                "[1K, 2K) 4 |{}|\n[2K, 4K) 2 |{}{}|",
                "@".repeat(40),
                "@".repeat(20),
                " ".repeat(20)
            )
        );
        assert_eq!(format_float(2.5), "2.5");
        assert_eq!(format_float(3.0), "3");
    }
}
