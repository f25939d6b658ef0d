//! NDJSON: one object per row, keys in SELECT order, integers as numbers,
//! NULL as null. Written straight into the buffered writer: no map, no
//! intermediate string per row.

use std::io::{self, Write};

use super::{OutColumn, Sink};
use crate::exec::value::Value;

pub struct JsonSink<W> {
    w: W,
    /// Keys, already JSON-quoted, with the separator before them.
    keys: Vec<String>,
}

impl<W: Write> JsonSink<W> {
    pub fn new(w: W, columns: Vec<OutColumn>) -> Self {
        let keys = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let k = serde_json::Value::from(c.name.as_str()).to_string();
                format!("{}{k}:", if i == 0 { "{" } else { "," })
            })
            .collect();
        JsonSink { w, keys }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        for (k, v) in self.keys.iter().zip(values) {
            self.w.write_all(k.as_bytes())?;
            match v {
                Value::Null => self.w.write_all(b"null")?,
                Value::Int(i) => write!(self.w, "{i}")?,
                Value::Bool(b) => self.w.write_all(if *b { b"true" } else { b"false" })?,
                Value::Text(s) => {
                    serde_json::to_writer(&mut self.w, s).map_err(io::Error::other)?
                }
                Value::Float(f) => {
                    serde_json::to_writer(&mut self.w, f).map_err(io::Error::other)?
                }
                Value::Hist(h) => {
                    // [{"low":..,"high":..,"count":..}, ...]: every bucket,
                    // an open end as null.
                    self.w.write_all(b"[")?;
                    for (i, b) in h.used().iter().enumerate() {
                        if i > 0 {
                            self.w.write_all(b",")?;
                        }
                        let low = b.low.map_or("null".to_string(), |v| v.to_string());
                        let high = b.high.map_or("null".to_string(), |v| v.to_string());
                        write!(
                            self.w,
                            "{{\"low\":{low},\"high\":{high},\"count\":{}}}",
                            b.count
                        )?;
                    }
                    self.w.write_all(b"]")?;
                }
            }
        }
        if self.keys.is_empty() {
            self.w.write_all(b"{")?;
        }
        self.w.write_all(b"}\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_order_and_typed_values() {
        let cols = ["pid", "path", "auid", "truncated"]
            .map(|n| OutColumn {
                name: n.into(),
                width: 1,
                numeric: false,
            })
            .into_iter()
            .collect();
        let mut out = Vec::new();
        let mut s = JsonSink::new(&mut out, cols);
        s.row(&[
            Value::Int(42),
            Value::Text("/bin/\"x\"\n".into()),
            Value::Null,
            Value::Bool(false),
        ])
        .expect("writes");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"pid\":42,\"path\":\"/bin/\\\"x\\\"\\n\",\"auid\":null,\"truncated\":false}\n"
        );
    }
}
