//! Finite result sets: the rows of an aggregate query (at each --interval
//! and at the end) and of a sorted query. Unlike a stream, their column
//! widths are known, so table output is a comfy-table; histograms render as
//! bpftrace-style bars in a table and as arrays of buckets in JSON.

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment};

use super::sanitize::sanitize;
use super::{Format, OutColumn, Sink};
use crate::exec::value::Value;

pub struct ResultSet<'a> {
    pub columns: &'a [OutColumn],
    pub rows: Vec<Vec<Value>>,
    /// Unix time the interval ended, with --interval.
    pub interval_end: Option<i64>,
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Hist(h) => h.render(),
        v => sanitize(&v.to_string()).into_owned(),
    }
}

pub fn print(
    w: &mut dyn Write,
    format: Format,
    color: bool,
    width: Option<u16>,
    set: ResultSet,
) -> io::Result<()> {
    match format {
        Format::Table => {
            if let Some(t) = set.interval_end {
                let when = humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64),
                );
                writeln!(w, "{when}")?;
            }
            let mut g = super::grid(color, width, presets::NOTHING);
            g.set_header(set.columns.iter().map(|c| {
                let h = comfy_table::Cell::new(c.name.to_uppercase());
                if color {
                    h.add_attribute(comfy_table::Attribute::Bold)
                } else {
                    h
                }
            }));
            for (i, c) in set.columns.iter().enumerate() {
                if c.numeric {
                    if let Some(col) = g.column_mut(i) {
                        col.set_cell_alignment(CellAlignment::Right);
                    }
                }
            }
            for r in &set.rows {
                g.add_row(r.iter().map(cell));
            }
            let text = g.to_string();
            for line in text.lines() {
                writeln!(w, "{}", line.trim_end())?;
            }
            if set.interval_end.is_some() {
                writeln!(w)?;
            }
        }
        Format::Json | Format::Csv => {
            let mut cols: Vec<OutColumn> = Vec::new();
            if set.interval_end.is_some() {
                cols.push(OutColumn {
                    name: "interval_end".into(),
                    width: 10,
                    numeric: true,
                });
            }
            cols.extend(set.columns.iter().map(|c| OutColumn {
                name: c.name.clone(),
                width: c.width,
                numeric: c.numeric,
            }));
            let mut sink: Box<dyn Sink + '_> = super::sink(
                Box::new(&mut *w),
                cols,
                &super::SinkOptions {
                    format,
                    color: false,
                    width: 0,
                },
            )?;
            for r in set.rows {
                let mut row = Vec::with_capacity(r.len() + 1);
                if let Some(t) = set.interval_end {
                    row.push(Value::Int(t));
                }
                row.extend(r);
                sink.row(&row)?;
            }
            sink.flush()?;
        }
    }
    w.flush()
}
