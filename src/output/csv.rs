//! CSV through the csv crate (RFC 4180 quoting), a header row first, and
//! text made terminal-safe like the table's.

use std::io::{self, Write};

use super::RowWriter;
use crate::exec::sink::OutColumn;
use crate::model::sanitize::sanitize;
use crate::model::value::Value;

/// A text cell a spreadsheet would run as a formula (=, +, -, @ first)
/// gets a leading ' (OWASP's advice for CSV injection): kernel data never
/// becomes code in whatever opens the file. Numbers are not text cells.
fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

pub struct CsvRows<W: Write> {
    w: csv::Writer<W>,
    cells: Vec<String>,
}

/// A CSV error as an I/O one, a write's own kept (a closed pipe stays
/// BrokenPipe: a clean end, not a failure).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        k => io::Error::other(format!("{k:?}")),
    }
}

impl<W: Write> CsvRows<W> {
    pub fn new(w: W, columns: &[OutColumn]) -> io::Result<Self> {
        let mut w = csv::Writer::from_writer(w);
        w.write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(csv_io)?;
        Ok(CsvRows {
            w,
            cells: Vec::new(),
        })
    }
}

impl<W: Write> RowWriter for CsvRows<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        self.cells.clear();
        for v in values {
            self.cells.push(match v {
                Value::Null => String::new(),
                Value::Text(s) => defuse(&sanitize(s)),
                // The same buckets as in JSON, as one cell.
                Value::Hist(h) => h
                    .used()
                    .iter()
                    .map(|b| {
                        format!(
                            "[{},{}):{}",
                            b.low.map_or("-inf".into(), |v| v.to_string()),
                            b.high.map_or("inf".into(), |v| v.to_string()),
                            b.count
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                v => v.to_string(),
            });
        }
        self.w.write_record(&self.cells).map_err(csv_io)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escaped_and_defused() {
        let cols = ["pid", "cmdline"]
            .map(|n| OutColumn {
                name: n.into(),
                width: 1,
                numeric: false,
            })
            .to_vec();
        let mut out = Vec::new();
        {
            let mut s = CsvRows::new(&mut out, &cols).expect("header");
            s.row(&[Value::Int(-5), Value::Text("=HYPERLINK(\"x\")".into())])
                .expect("row");
            s.row(&[Value::Int(7), Value::Text("a,b\x1b[0m".into())])
                .expect("row");
            s.flush().expect("flush");
        }
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "pid,cmdline\n-5,\"'=HYPERLINK(\"\"x\"\")\"\n7,\"a,b\\x1b[0m\"\n"
        );
    }
}
