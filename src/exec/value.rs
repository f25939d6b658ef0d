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
}

impl Value {
    /// SQL comparison: None when either side is NULL or the types differ
    /// (the binder rejects the latter, so it only happens with NULL).
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
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
