//! Streaming table: rows are printed as events arrive, so column widths are
//! fixed up front (from the catalog's width hints, the header and the
//! terminal width) and never change; a longer cell is cut with an ellipsis
//! rather than wrapped, so one event is always one line. comfy-table cannot
//! stream (it sizes columns from all rows), so it serves --list instead.

use std::io::{self, Write};

use owo_colors::OwoColorize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::sanitize::sanitize;
use super::{OutColumn, Sink};
use crate::exec::value::Value;

const GAP: usize = 2;
const MIN_TEXT: usize = 6;

pub struct TableSink<W> {
    w: W,
    widths: Vec<usize>,
    numeric: Vec<bool>,
    line: String,
}

/// Column widths for a terminal `total` columns wide.
fn layout(columns: &[OutColumn], total: usize) -> Vec<usize> {
    let mut w: Vec<usize> = columns
        .iter()
        .map(|c| c.width.max(c.name.width()))
        .collect();
    let need = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    // Too wide: shrink the widest text column, one step at a time.
    while need(&w) > total {
        let widest = (0..w.len())
            .filter(|&i| !columns[i].numeric && w[i] > MIN_TEXT.max(columns[i].name.width()))
            .max_by_key(|&i| w[i]);
        match widest {
            Some(i) => w[i] -= 1,
            None => break,
        }
    }
    // Room to spare: share it among the wide text columns (paths, command
    // lines), which are the ones that get cut.
    let spare = total.saturating_sub(need(&w));
    let wide: Vec<usize> = (0..w.len())
        .filter(|&i| !columns[i].numeric && columns[i].width >= 20)
        .collect();
    if !wide.is_empty() {
        for (n, &i) in wide.iter().enumerate() {
            w[i] += spare / wide.len() + usize::from(n < spare % wide.len());
        }
    }
    w
}

/// `s` cut to `width` display columns, with an ellipsis when cut.
fn fit(s: &str, width: usize) -> (String, usize) {
    if s.width() <= width {
        return (s.to_string(), s.width());
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > width {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    (out, used + 1)
}

impl<W: Write> TableSink<W> {
    pub fn new(mut w: W, columns: Vec<OutColumn>, total: usize, color: bool) -> io::Result<Self> {
        let widths = layout(&columns, total);
        let mut header = String::new();
        let last = columns.len().saturating_sub(1);
        for (i, c) in columns.iter().enumerate() {
            let (text, used) = fit(&c.name.to_uppercase(), widths[i]);
            let pad = widths[i] - used;
            if c.numeric {
                header.push_str(&" ".repeat(pad));
                header.push_str(&text);
            } else {
                header.push_str(&text);
                if i != last {
                    header.push_str(&" ".repeat(pad));
                }
            }
            if i != last {
                header.push_str(&" ".repeat(GAP));
            }
        }
        header.truncate(header.trim_end().len());
        if color {
            writeln!(w, "{}", header.bold())?;
        } else {
            writeln!(w, "{header}")?;
        }
        Ok(TableSink {
            w,
            widths,
            numeric: columns.iter().map(|c| c.numeric).collect(),
            line: String::new(),
        })
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        self.line.clear();
        let last = values.len().saturating_sub(1);
        for (i, v) in values.iter().enumerate() {
            let raw = match v {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            let (text, used) = fit(&sanitize(&raw), self.widths[i]);
            let pad = self.widths[i] - used;
            if self.numeric[i] {
                self.line.push_str(&" ".repeat(pad));
                self.line.push_str(&text);
            } else {
                self.line.push_str(&text);
                if i != last {
                    self.line.push_str(&" ".repeat(pad));
                }
            }
            if i != last {
                self.line.push_str(&" ".repeat(GAP));
            }
        }
        self.line.truncate(self.line.trim_end().len());
        self.line.push('\n');
        self.w.write_all(self.line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<OutColumn> {
        vec![
            OutColumn {
                name: "pid".into(),
                width: 7,
                numeric: true,
            },
            OutColumn {
                name: "cmdline".into(),
                width: 32,
                numeric: false,
            },
            OutColumn {
                name: "comm".into(),
                width: 15,
                numeric: false,
            },
        ]
    }

    #[test]
    fn rows_align_and_long_cells_are_cut_not_wrapped() {
        let mut out = Vec::new();
        let mut s = TableSink::new(&mut out, cols(), 40, false).expect("header");
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
        assert_eq!(lines[0], "    PID  CMDLINE          COMM");
        assert!(lines[1].contains('…'));
        assert_eq!(lines[2], "     22  ls \\x1b[2J");
    }

    #[test]
    fn spare_width_goes_to_wide_text_columns() {
        let w = layout(&cols(), 100);
        assert_eq!(w.iter().sum::<usize>() + 4, 100);
        assert_eq!(w[0], 7);
    }
}
