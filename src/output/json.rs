//! NDJSON: one object per row, keys in SELECT order, values typed
//! (integers and floats as numbers, booleans as booleans, NULL as null,
//! argv as an array of strings, histograms as arrays of buckets). Strings
//! are in ebq's text encoding (sanitize.rs), the same as in a table, so
//! no control, DEL, C1 or bidi character is ever written raw and `ebq -o
//! json` on a terminal is as safe as the table. Written straight into the
//! buffered writer: no map, no intermediate string per row.

use std::io::{self, Write};

use super::RowWriter;
use crate::exec::sink::OutColumn;
use crate::model::sanitize::sanitize;
use crate::model::value::{list_json, Value};

pub struct JsonRows<W> {
    w: W,
    /// Keys, already JSON-quoted, with the separator before them.
    keys: Vec<String>,
}

impl<W: Write> JsonRows<W> {
    pub fn new(w: W, columns: Vec<OutColumn>) -> Self {
        let keys = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let k = serde_json::Value::from(sanitize(&c.name).as_ref()).to_string();
                format!("{}{k}:", if i == 0 { "{" } else { "," })
            })
            .collect();
        JsonRows { w, keys }
    }
}

impl<W: Write> RowWriter for JsonRows<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        for (k, v) in self.keys.iter().zip(values) {
            self.w.write_all(k.as_bytes())?;
            match v {
                Value::Null => self.w.write_all(b"null")?,
                Value::Int(i) => write!(self.w, "{i}")?,
                Value::Bool(b) => self.w.write_all(if *b { b"true" } else { b"false" })?,
                // io::Error::from keeps a write's own error (a closed
                // pipe stays BrokenPipe: a clean end, not a failure).
                Value::Text(s) => serde_json::to_writer(&mut self.w, sanitize(s).as_ref())
                    .map_err(io::Error::from)?,
                Value::List(v) => self.w.write_all(list_json(v).as_bytes())?,
                Value::Float(f) => {
                    serde_json::to_writer(&mut self.w, f).map_err(io::Error::from)?
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

    /// A reader that went away after `0` bytes: then every write is a
    /// broken pipe.
    struct Closed(usize);

    impl Write for Closed {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = b.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_broken_pipe_whatever_the_value() {
        // main.rs ends cleanly on BrokenPipe alone: serde_json's error
        // must not hide it (it once came out as "writing output: Broken
        // pipe" and status 1).
        let col = || {
            vec![OutColumn {
                name: "v".into(),
                width: 1,
                numeric: false,
            }]
        };
        for v in [Value::Text("x".into()), Value::Float(1.5), Value::Int(1)] {
            // The key `{"v":` goes; the value meets the closed pipe.
            let mut s = JsonRows::new(Closed(5), col());
            let e = s.row(&[v]).expect_err("a closed pipe");
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        }
    }

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
        let mut s = JsonRows::new(&mut out, cols);
        s.row(&[
            Value::Int(42),
            Value::Text("/bin/\"x\"\n".into()),
            Value::Null,
            Value::Bool(false),
        ])
        .expect("writes");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"pid\":42,\"path\":\"/bin/\\\"x\\\"\\\\n\",\"auid\":null,\"truncated\":false}\n"
        );
    }

    #[test]
    fn strings_are_in_the_encoding_and_lists_are_arrays() {
        let cols = ["a\u{1b}[31m", "argv", "name"]
            .map(|n| OutColumn {
                name: n.into(),
                width: 1,
                numeric: false,
            })
            .into_iter()
            .collect();
        let mut out = Vec::new();
        let mut s = JsonRows::new(&mut out, cols);
        s.row(&[
            Value::Text("del\x7f c1\u{85} bidi\u{202e} \\xff".into()),
            Value::List(vec!["ls".into(), "-l\x1b".into()]),
            Value::Text("\\\\".into()),
        ])
        .expect("writes");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.is_ascii(), "{text}");
        assert_eq!(
            text,
            "{\"a\\\\x1b[31m\":\"del\\\\x7f c1\\\\u{85} bidi\\\\u{202e} \\\\xff\",\"argv\":[\"ls\",\"-l\\\\x1b\"],\"name\":\"\\\\\\\\\"}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["argv"][1], "-l\\x1b");
    }
}
