//! Values of columns and literals, and ebq's text encoding: kernel bytes
//! become text that loses nothing and is never ambiguous. In a `Text`
//! value a backslash is always escaped (`\\`) and every byte that is not
//! UTF-8 is `\xNN`, never U+FFFD, so a file named `lit\xff` (backslash,
//! x, f, f) and one whose name holds the byte 0xff never look alike. On
//! output, output/sanitize.rs escapes control characters, DEL, C1 and
//! bidi characters in the same notation; `decode` turns any of it back
//! into the bytes, and string literals in queries are read with it, so a
//! value copied from ebq's output matches in a query.

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
    /// A list of texts (argv): a JSON array in JSON output, JSON text in
    /// table and CSV output and in SQL (comparisons, LIKE).
    List(Vec<String>),
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
            (Value::List(_), Value::List(_) | Value::Text(_))
            | (Value::Text(_), Value::List(_)) => Some(self.to_string().cmp(&other.to_string())),
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
            Value::List(v) => f.write_str(&list_json(v)),
        }
    }
}

/// A list as JSON text: an array of strings, each in ebq's encoding
/// (output/sanitize.rs), so the array is the same in every format.
pub fn list_json(v: &[String]) -> String {
    let items: Vec<serde_json::Value> = v
        .iter()
        .map(|s| serde_json::Value::from(crate::model::sanitize::sanitize(s).as_ref()))
        .collect();
    serde_json::Value::from(items).to_string()
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
    List(Vec<String>),
}

impl From<Value> for KeyPart {
    fn from(v: Value) -> Self {
        match v {
            Value::Int(i) => KeyPart::Int(i),
            Value::Text(s) => KeyPart::Text(s),
            Value::Bool(b) => KeyPart::Bool(b),
            Value::Float(f) => KeyPart::Text(format_float(f)),
            Value::List(v) => KeyPart::List(v),
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
            KeyPart::List(v) => Value::List(v),
        }
    }
}

/// Kernel bytes as text: valid UTF-8 as is but a backslash doubled, every
/// invalid byte as `\xNN`.
pub fn text_from_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        if valid.contains('\\') {
            out.push_str(&valid.replace('\\', "\\\\"));
        } else {
            out.push_str(valid);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The bytes ebq's encoding stands for: `\\`, `\n`, `\t`, `\r`, `\xNN` and
/// `\u{N}` decoded, any other backslash kept as it is (so a query's
/// `'C:\dir'` means what it says).
pub fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let hex = |x: &[u8]| {
        std::str::from_utf8(x)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b[i + 1] {
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            b'n' | b't' | b'r' => {
                out.push(match b[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    _ => b'\r',
                });
                i += 2;
            }
            b'x' if i + 4 <= b.len() && b[i + 2..i + 4].iter().all(u8::is_ascii_hexdigit) => {
                out.push(hex(&b[i + 2..i + 4]).unwrap_or(0) as u8);
                i += 4;
            }
            b'u' if b.get(i + 2) == Some(&b'{') => {
                let end = b[i + 3..].iter().take(7).position(|&c| c == b'}');
                match end
                    .and_then(|e| hex(&b[i + 3..i + 3 + e]).map(|v| (e, v)))
                    .and_then(|(e, v)| char::from_u32(v).map(|c| (e, c)))
                {
                    Some((e, c)) => {
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += 4 + e;
                    }
                    None => {
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    out
}

/// A string literal of a query, in ebq's encoding, as a Text value.
pub fn text_from_literal(s: &str) -> String {
    if s.contains('\\') {
        text_from_bytes(&decode(s))
    } else {
        s.to_string()
    }
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
        assert_eq!(text_from_bytes(b"lit\\xff"), "lit\\\\xff");
        assert_eq!(decode("lit\\\\xff"), b"lit\\xff");
        assert_eq!(decode("lit\\xff"), b"lit\xff");
        assert_eq!(
            decode("C:\\dir \\u{202e} \\x1b \\u{zz}"),
            "C:\\dir \u{202e} \x1b \\u{zz}".as_bytes()
        );
        assert_eq!(text_from_literal("a\\\\b"), "a\\\\b");
        assert_eq!(text_from_literal("\\xff"), "\\xff");
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
