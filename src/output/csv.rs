//! CSV through the csv crate (RFC 4180 quoting), a header row first, and
//! text made terminal-safe like the table's.

use std::io::{self, Write};

use super::sanitize::sanitize;
use super::{OutColumn, Sink};
use crate::exec::value::Value;

pub struct CsvSink<W: Write> {
    w: csv::Writer<W>,
    cells: Vec<String>,
}

impl<W: Write> CsvSink<W> {
    pub fn new(w: W, columns: &[OutColumn]) -> io::Result<Self> {
        let mut w = csv::Writer::from_writer(w);
        w.write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(io::Error::other)?;
        Ok(CsvSink {
            w,
            cells: Vec::new(),
        })
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        self.cells.clear();
        for v in values {
            self.cells.push(match v {
                Value::Null => String::new(),
                Value::Text(s) => sanitize(s).into_owned(),
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
        self.w
            .write_record(&self.cells)
            .map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(e) => e,
                k => io::Error::other(format!("{k:?}")),
            })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
