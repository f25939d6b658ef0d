//! Streaming table: rows are printed as events arrive, so the layout is
//! decided once, before the first event, and never changes: "the content
//! seen" is the catalog's width hints and the header (no row is buffered,
//! so a row is on screen as soon as its event is read). The columns are
//! fitted to the terminal by layout.rs (widest first, down to a useful
//! width; room to spare goes to the wide text columns, paths and command
//! lines); a longer cell is cut with an ellipsis rather than wrapped, so one
//! event is always one line no wider than the terminal. When the columns
//! cannot fit at a useful width (`select *` on most tables), every row is a
//! `-[ RECORD n ]` record of `name | value` lines instead, values cut to the
//! terminal. With --wide nothing is cut: a cell longer than its column
//! pushes the rest of its line right.

use std::io::{self, Write};

use owo_colors::OwoColorize;
use unicode_width::UnicodeWidthStr;

use super::layout::{self, Col, Layout};
use super::RowWriter;
use crate::exec::sink::OutColumn;
use crate::model::sanitize::sanitize;
use crate::model::value::Value;

/// A streamed text column hinted this wide or more takes room to spare.
const GROWS: usize = 20;

pub struct TableRows<W> {
    w: W,
    layout: Layout,
    names: Vec<String>,
    numeric: Vec<bool>,
    total: usize,
    wide: bool,
    color: bool,
    records: u64,
    line: String,
}

impl<W: Write> TableRows<W> {
    pub fn new(
        mut w: W,
        columns: Vec<OutColumn>,
        total: usize,
        wide: bool,
        color: bool,
    ) -> io::Result<Self> {
        let heads: Vec<String> = columns
            .iter()
            .map(|c| sanitize(&c.name.to_uppercase()).into_owned())
            .collect();
        let cols: Vec<Col> = columns
            .iter()
            .zip(&heads)
            .map(|(c, h)| Col {
                grows: !c.numeric && c.width >= GROWS,
                ..Col::new(h.width(), c.width, c.numeric)
            })
            .collect();
        let layout = layout::layout(&cols, total, wide);
        let numeric: Vec<bool> = columns.iter().map(|c| c.numeric).collect();
        if let Layout::Horizontal(widths) = &layout {
            let mut header = String::new();
            let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            layout::line(&mut header, &heads, widths, &numeric, wide);
            if color {
                writeln!(w, "{}", header.trim_end_matches('\n').bold())?;
            } else {
                w.write_all(header.as_bytes())?;
            }
        }
        Ok(TableRows {
            w,
            layout,
            names: columns
                .into_iter()
                .map(|c| sanitize(&c.name).into_owned())
                .collect(),
            numeric,
            total,
            wide,
            color,
            records: 0,
            line: String::new(),
        })
    }
}

impl<W: Write> RowWriter for TableRows<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        let raw: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                v => sanitize(&v.to_string()).into_owned(),
            })
            .collect();
        let cells: Vec<&str> = raw.iter().map(String::as_str).collect();
        self.line.clear();
        match &self.layout {
            Layout::Horizontal(widths) => {
                layout::line(&mut self.line, &cells, widths, &self.numeric, self.wide)
            }
            Layout::Vertical => {
                self.records += 1;
                layout::record(
                    &mut self.line,
                    self.records,
                    &self.names,
                    &cells,
                    self.total,
                    self.wide,
                    self.color,
                );
            }
        }
        self.w.write_all(self.line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, width: usize, numeric: bool) -> OutColumn {
        OutColumn {
            name: name.into(),
            width,
            numeric,
        }
    }

    fn cols() -> Vec<OutColumn> {
        vec![
            col("pid", 7, true),
            col("cmdline", 32, false),
            col("comm", 15, false),
        ]
    }

    #[test]
    fn rows_align_and_long_cells_are_cut_not_wrapped() {
        let mut out = Vec::new();
        let mut s = TableRows::new(&mut out, cols(), 40, false, false).expect("header");
        s.row(&[
            Value::Int(1),
            Value::Text("x".repeat(100)),
            Value::Text("bash".into()),
        ])
        .expect("row");
        s.row(&[
            Value::Int(22),
            Value::Text("ls \x1b[2J".into()),
            Value::Null,
        ])
        .expect("row");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.width() <= 40), "{text}");
        assert_eq!(lines[0], "    PID  CMDLINE         COMM");
        assert_eq!(lines[1], format!("      1  {}…  bash", "x".repeat(13)));
        assert_eq!(lines[2], "     22  ls \\x1b[2J");
    }

    /// Twelve columns a `select *` could give: no useful fit at 80.
    fn many() -> Vec<OutColumn> {
        let mut c: Vec<OutColumn> = ["time", "pid", "tid", "parent", "uid", "gid"]
            .iter()
            .map(|n| col(n, 7, true))
            .collect();
        for n in ["comm", "path", "cmdline", "cwd", "error", "ld_preload"] {
            c.push(col(n, 24, false));
        }
        c
    }

    fn many_row(path: &str) -> Vec<Value> {
        let mut r: Vec<Value> = (1..=6).map(Value::Int).collect();
        r.push(Value::Text("sh".into()));
        r.push(Value::Text(path.into()));
        r.extend((0..4).map(|_| Value::Null));
        r
    }

    #[test]
    fn columns_that_cannot_fit_usefully_become_records() {
        let path = format!("/tmp/{}", "p".repeat(120));
        let mut out = Vec::new();
        let mut s = TableRows::new(&mut out, many(), 80, false, false).expect("no header");
        s.row(&many_row(&path)).expect("row");
        s.row(&many_row("/bin/true")).expect("row");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.width() <= 80), "{text}");
        assert!(lines[0].starts_with("-[ RECORD 1 ]-"), "{text}");
        assert_eq!(lines[1], "time       | 1");
        assert_eq!(lines[8].width(), 80);
        assert!(lines[8].starts_with("path       | /tmp/ppp") && lines[8].ends_with('…'));
        assert!(text.contains("-[ RECORD 2 ]-") && text.contains("path       | /bin/true\n"));
    }

    #[test]
    fn wide_cuts_nothing() {
        let path = format!("/tmp/{}", "p".repeat(120));
        let mut out = Vec::new();
        let mut s = TableRows::new(&mut out, many(), 80, true, false).expect("no header");
        s.row(&many_row(&path)).expect("row");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains(&format!("path       | {path}\n")), "{text}");
        let mut out = Vec::new();
        let mut s = TableRows::new(&mut out, cols(), 40, true, false).expect("header");
        s.row(&[
            Value::Int(1),
            Value::Text("x".repeat(100)),
            Value::Text("bash".into()),
        ])
        .expect("row");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains(&"x".repeat(100)), "{text}");
    }
}
