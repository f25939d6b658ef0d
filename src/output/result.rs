//! Finite result sets: the rows of an aggregate query (at each --interval
//! and at the end) and of a sorted query, printed by one `Printer` created
//! once per run (by the stdout sink, at the run's start).
//!
//! - Table: the columns are known in full, so each set is laid out from its
//!   own cells (layout.rs: widths from the content, fitted to the terminal,
//!   widest first; records when they cannot fit usefully); no line is wider
//!   than the terminal and no cell wraps, unless --wide. Histograms render
//!   as bpftrace-style bars, every one of a column on one scale (the
//!   column's largest bucket) with the same label and count widths, so
//!   groups compare at a glance; bars shorten to fit the terminal.
//!   With --interval on a terminal (not --no-clear) each set after the first
//!   is drawn over the last (cursor home, clear screen), like BCC's top
//!   tools; otherwise sets are appended, each after its time line.
//! - JSON and CSV: one sink for the whole run, so CSV has one header row;
//!   with --interval every row starts with `interval_end` (unix seconds).
//!   Histograms are arrays of buckets in JSON, one cell in CSV.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use owo_colors::OwoColorize;
use unicode_width::UnicodeWidthStr;

use super::layout::{self, Col, Layout};
use super::{Format, Options, RowWriter};
use crate::exec::sink::{OutColumn, ResultSet};
use crate::model::sanitize::sanitize;
use crate::model::value::{Hist, Value};

/// Cursor home, then clear the screen.
pub const CLEAR: &str = "\x1b[H\x1b[2J";

/// Bars shorter than this are not worth drawing: the column is cut rather.
const MIN_BAR: usize = 10;

/// A writer the printer and its sink share.
struct Shared<W>(Rc<RefCell<W>>);

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

pub struct Printer<'w, W: Write + 'w> {
    w: Rc<RefCell<W>>,
    o: Options,
    /// Every set's columns.
    columns: Vec<OutColumn>,
    /// JSON and CSV: made at the first set, for the whole run.
    rows: Option<Box<dyn RowWriter + 'w>>,
    /// A table set was drawn already (the next one clears it).
    drawn: bool,
}

impl<'w, W: Write + 'w> Printer<'w, W> {
    pub fn new(w: W, o: Options, columns: Vec<OutColumn>) -> Self {
        Printer {
            w: Rc::new(RefCell::new(w)),
            o,
            columns,
            rows: None,
            drawn: false,
        }
    }

    pub fn print(&mut self, set: ResultSet) -> io::Result<()> {
        match self.o.format {
            Format::Table => {
                let mut text = String::new();
                if self.o.redraw && self.drawn && set.interval_end.is_some() {
                    text.push_str(CLEAR);
                }
                if let Some(t) = set.interval_end {
                    let when = humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64),
                    );
                    text.push_str(&format!("{when}\n"));
                }
                table(
                    &mut text,
                    &self.columns,
                    &set,
                    self.o.width,
                    self.o.wide,
                    self.o.color,
                );
                if set.interval_end.is_some() {
                    text.push('\n');
                }
                self.drawn = true;
                let mut w = self.w.borrow_mut();
                w.write_all(text.as_bytes())?;
                w.flush()
            }
            Format::Json | Format::Csv => {
                if self.rows.is_none() {
                    let mut cols: Vec<OutColumn> = Vec::new();
                    if set.interval_end.is_some() {
                        cols.push(OutColumn {
                            name: "interval_end".into(),
                            width: 10,
                            numeric: true,
                        });
                    }
                    cols.extend(self.columns.iter().cloned());
                    self.rows = Some(super::row_writer(
                        Box::new(Shared(self.w.clone())),
                        cols,
                        &Options {
                            format: self.o.format,
                            color: false,
                            width: 0,
                            wide: false,
                            redraw: false,
                        },
                    )?);
                }
                let Some(sink) = self.rows.as_mut() else {
                    return Ok(());
                };
                for r in set.rows {
                    let mut row = Vec::with_capacity(r.len() + 1);
                    if let Some(t) = set.interval_end {
                        row.push(Value::Int(t));
                    }
                    row.extend(r);
                    sink.row(&row)?;
                }
                sink.flush()?;
                self.w.borrow_mut().flush()
            }
        }
    }
}

/// One column's histograms, drawn on one scale: the largest count of the
/// column and its widest label and count.
#[derive(Clone, Copy)]
struct Scale {
    max: u64,
    label: usize,
    count: usize,
}

impl Scale {
    /// Every line is this wide, but for the bar.
    fn fixed(&self) -> usize {
        self.label + self.count + 4
    }
}

fn scale(rows: &[Vec<Value>], i: usize) -> Option<Scale> {
    let mut s: Option<Scale> = None;
    for r in rows {
        if let Some(Value::Hist(h)) = r.get(i) {
            if let Some((max, label, count)) = h.widths() {
                let t = s.get_or_insert(Scale { max, label, count });
                t.max = t.max.max(max);
                t.label = t.label.max(label);
                t.count = t.count.max(count);
            }
        }
    }
    s
}

fn draw(h: &Hist, s: Option<Scale>, room: usize) -> String {
    match s {
        Some(s) => {
            let bar = room.saturating_sub(s.fixed()).clamp(1, Hist::BAR);
            h.render_with(s.max, s.label, s.count, bar)
        }
        None => String::new(),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null | Value::Hist(_) => String::new(),
        v => sanitize(&v.to_string()).into_owned(),
    }
}

/// The set as a table (or records) at most `total` wide, unless `wide`.
fn table(
    out: &mut String,
    columns: &[OutColumn],
    set: &ResultSet,
    total: usize,
    wide: bool,
    color: bool,
) {
    let n = columns.len();
    let heads: Vec<String> = columns
        .iter()
        .map(|c| sanitize(&c.name.to_uppercase()).into_owned())
        .collect();
    let numeric: Vec<bool> = columns.iter().map(|c| c.numeric).collect();
    let scales: Vec<Option<Scale>> = (0..n).map(|i| scale(&set.rows, i)).collect();
    let cells: Vec<Vec<String>> = set
        .rows
        .iter()
        .map(|r| r.iter().take(n).map(cell).collect())
        .collect();
    let cols: Vec<Col> = (0..n)
        .map(|i| {
            let head = heads[i].width();
            match scales[i] {
                Some(s) => {
                    let mut c = Col::new(head, s.fixed() + Hist::BAR, false);
                    c.min = head.max(s.fixed() + MIN_BAR);
                    c
                }
                None => {
                    let want = cells
                        .iter()
                        .filter_map(|r| r.get(i))
                        .map(|c| c.width())
                        .max()
                        .unwrap_or(0);
                    Col::new(head, want, numeric[i])
                }
            }
        })
        .collect();
    match layout::layout(&cols, total, wide) {
        Layout::Horizontal(widths) => {
            let mut header = String::new();
            let h: Vec<&str> = heads.iter().map(String::as_str).collect();
            layout::line(&mut header, &h, &widths, &numeric, wide);
            if color {
                out.push_str(&format!("{}\n", header.trim_end_matches('\n').bold()));
            } else {
                out.push_str(&header);
            }
            for (r, row) in set.rows.iter().zip(&cells) {
                // A histogram is a cell of several lines: the row is as
                // tall as its tallest cell.
                let texts: Vec<String> = (0..n)
                    .map(|i| match r.get(i) {
                        Some(Value::Hist(h)) => draw(h, scales[i], widths[i]),
                        _ => row.get(i).cloned().unwrap_or_default(),
                    })
                    .collect();
                let parts: Vec<Vec<&str>> = texts.iter().map(|t| t.split('\n').collect()).collect();
                let height = parts.iter().map(Vec::len).max().unwrap_or(1);
                for j in 0..height {
                    let l: Vec<&str> = parts
                        .iter()
                        .map(|p| p.get(j).copied().unwrap_or(""))
                        .collect();
                    layout::line(out, &l, &widths, &numeric, wide);
                }
            }
        }
        Layout::Vertical => {
            let names: Vec<String> = columns
                .iter()
                .map(|c| sanitize(&c.name).into_owned())
                .collect();
            let room = total.saturating_sub(layout::name_width(&names, total, wide) + 3);
            for (k, (r, row)) in set.rows.iter().zip(&cells).enumerate() {
                let texts: Vec<String> = (0..n)
                    .map(|i| match r.get(i) {
                        Some(Value::Hist(h)) if wide => draw(h, scales[i], usize::MAX),
                        Some(Value::Hist(h)) => draw(h, scales[i], room),
                        _ => row.get(i).cloned().unwrap_or_default(),
                    })
                    .collect();
                let values: Vec<&str> = texts.iter().map(String::as_str).collect();
                layout::record(out, k as u64 + 1, &names, &values, total, wide, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::Bucket;

    fn cols() -> Vec<OutColumn> {
        vec![
            OutColumn {
                name: "comm".into(),
                width: 16,
                numeric: false,
            },
            OutColumn {
                name: "count".into(),
                width: 5,
                numeric: true,
            },
        ]
    }

    fn printer(format: Format, width: usize, redraw: bool) -> Printer<'static, Vec<u8>> {
        Printer::new(
            Vec::new(),
            Options {
                format,
                color: false,
                width,
                wide: false,
                redraw,
            },
            cols(),
        )
    }

    fn output(p: &Printer<Vec<u8>>) -> String {
        String::from_utf8(p.w.borrow().clone()).expect("utf8")
    }

    fn rows(n: i64) -> Vec<Vec<Value>> {
        vec![
            vec![Value::Text("bash".into()), Value::Int(n)],
            vec![Value::Text("sshd".into()), Value::Int(n * 10)],
        ]
    }

    fn print(p: &mut Printer<Vec<u8>>, rows: Vec<Vec<Value>>, t: Option<i64>) {
        p.print(ResultSet {
            rows,
            interval_end: t,
        })
        .expect("prints");
    }

    #[test]
    fn csv_has_one_header_for_the_whole_run() {
        let mut p = printer(Format::Csv, 80, false);
        print(&mut p, rows(1), Some(100));
        print(&mut p, rows(2), Some(101));
        print(&mut p, rows(3), Some(102));
        assert_eq!(
            output(&p),
            "interval_end,comm,count\n100,bash,1\n100,sshd,10\n101,bash,2\n101,sshd,20\n102,bash,3\n102,sshd,30\n"
        );
        let mut p = printer(Format::Json, 80, false);
        print(&mut p, rows(1), Some(100));
        print(&mut p, rows(2), Some(101));
        let out = output(&p);
        assert_eq!(out.lines().count(), 4);
        assert!(
            out.lines().all(|l| l.starts_with("{\"interval_end\":10")),
            "{out}"
        );
    }

    #[test]
    fn a_terminal_redraws_each_set_after_the_first() {
        let mut p = printer(Format::Table, 80, true);
        print(&mut p, rows(1), Some(100));
        print(&mut p, rows(2), Some(101));
        print(&mut p, rows(3), Some(102));
        let out = output(&p);
        assert!(!out.starts_with(CLEAR));
        assert_eq!(out.matches(CLEAR).count(), 2, "{out:?}");
        assert!(
            out.contains(&format!(
                "\n{CLEAR}1970-01-01T00:01:41Z\nCOMM  COUNT\nbash      2\n"
            )),
            "{out:?}"
        );
        let mut p = printer(Format::Table, 80, false);
        print(&mut p, rows(1), Some(100));
        print(&mut p, rows(2), Some(101));
        let out = output(&p);
        assert!(!out.contains('\x1b'));
        assert_eq!(out.matches("COMM  COUNT\n").count(), 2);
    }

    fn hist(counts: &[(i64, u64)]) -> Value {
        Value::Hist(Box::new(Hist {
            buckets: counts
                .iter()
                .map(|&(low, count)| Bucket {
                    low: Some(low),
                    high: Some(low * 2),
                    count,
                })
                .collect(),
        }))
    }

    fn hist_set() -> (Vec<OutColumn>, Vec<Vec<Value>>) {
        let c = vec![
            OutColumn {
                name: "comm".into(),
                width: 16,
                numeric: false,
            },
            OutColumn {
                name: "hist(duration)".into(),
                width: 5,
                numeric: false,
            },
        ];
        let r = vec![
            vec![Value::Text("a".into()), hist(&[(1024, 4), (2048, 2)])],
            vec![
                Value::Text("b".into()),
                hist(&[(1024, 40), (1048576, 12345)]),
            ],
        ];
        (c, r)
    }

    #[test]
    fn histograms_of_a_column_share_one_scale_and_align() {
        let (c, r) = hist_set();
        let mut out = String::new();
        let set = ResultSet {
            rows: r,
            interval_end: None,
        };
        table(&mut out, &c, &set, 200, false, false);
        let bars: Vec<&str> = out.lines().filter(|l| l.contains('|')).collect();
        assert_eq!(bars.len(), 4, "{out}");
        // Every bar ends at the same column: labels and counts are as wide
        // in both groups, and so are the bars.
        let ends: Vec<usize> = bars.iter().map(|l| l.width()).collect();
        assert!(ends.iter().all(|&e| e == ends[0]), "{out}");
        // Scaled to the column's largest bucket (12345): 4 is one @, and
        // 40 is one too (ceil), 12345 is all 40.
        assert!(bars[0].contains("[1K, 2K)     4 |@ "), "{out}");
        assert!(
            bars[3].contains(&format!("[1M, 2M) 12345 |{}|", "@".repeat(40))),
            "{out}"
        );
    }

    #[test]
    fn result_sets_fit_the_terminal_without_wrapping() {
        let (c, r) = hist_set();
        for total in [30, 40, 60, 80, 120, 200] {
            let mut out = String::new();
            let set = ResultSet {
                rows: r.clone(),
                interval_end: None,
            };
            table(&mut out, &c, &set, total, false, false);
            assert!(out.lines().all(|l| l.width() <= total), "{total}:\n{out}");
            // One line per bucket and a header, or records below 33 (the
            // comm header, a gap and a histogram with a 10-column bar):
            // nothing wrapped.
            if total >= 33 {
                assert!(out.starts_with("COMM "), "{total}:\n{out}");
                assert_eq!(out.lines().count(), 5, "{total}:\n{out}");
            } else {
                assert!(out.starts_with("-[ RECORD 1 ]"), "{total}:\n{out}");
                assert_eq!(out.lines().count(), 8, "{total}:\n{out}");
            }
        }
        // A long text cell is cut, the histograms keep a useful bar.
        let c = cols();
        let mut out = String::new();
        let set = ResultSet {
            rows: vec![vec![Value::Text("x".repeat(300)), Value::Int(7)]],
            interval_end: None,
        };
        table(&mut out, &c, &set, 80, false, false);
        assert_eq!(out.lines().nth(1).map(|l| l.width()), Some(80), "{out}");
        assert!(out.contains('…'));
    }
}
