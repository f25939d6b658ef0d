//! Writing rows: the run's sink on stdout (stdout.rs, exec's `Sink` for
//! the three formats), and under it one `RowWriter` per output format, all
//! fed the same rows in SELECT order. Rows go to stdout and nothing else
//! does; notes, warnings and stats go to stderr (main.rs, exec/run.rs).
//! Table output, streamed (table.rs) or a result set (result.rs), never
//! has a line wider than the terminal unless --wide says so: layout.rs
//! decides the widths, or one-field-per-line records when the columns
//! cannot fit.

mod csv;
mod json;
mod layout;
mod result;
mod stdout;
mod table;

use std::io::{self, Write};

use crate::exec::sink::OutColumn;
use crate::model::value::Value;

pub use stdout::Stdout;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns that fit the terminal (default on a terminal)
    Table,
    /// One JSON object per row (NDJSON; default when not a terminal)
    Json,
    /// Comma-separated values with a header row
    Csv,
}

/// How results look: the output decisions config.rs makes once.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub format: Format,
    pub color: bool,
    /// Terminal width for table output.
    pub width: usize,
    /// --wide: table cells are never cut.
    pub wide: bool,
    /// Draw each --interval set over the last (a terminal, no --no-clear).
    pub redraw: bool,
}

/// One format's rows, written as they come (a streamed query's, and a
/// JSON or CSV result set's).
trait RowWriter {
    fn row(&mut self, values: &[Value]) -> io::Result<()>;
    /// Pushes buffered rows out: after every batch of events.
    fn flush(&mut self) -> io::Result<()>;
}

/// The row writer of `o.format` over `w`; a table or CSV writes its header
/// here.
fn row_writer<'w>(
    w: Box<dyn Write + 'w>,
    columns: Vec<OutColumn>,
    o: &Options,
) -> io::Result<Box<dyn RowWriter + 'w>> {
    Ok(match o.format {
        Format::Json => Box::new(json::JsonRows::new(w, columns)),
        Format::Csv => Box::new(csv::CsvRows::new(w, &columns)?),
        Format::Table => Box::new(table::TableRows::new(w, columns, o.width, o.wide, o.color)?),
    })
}

/// A comfy-table for a finished result (--list, aggregate result sets),
/// styled only when the one color decision says so.
pub fn grid(color: bool, width: Option<u16>, style: comfy_table::TableStyle) -> comfy_table::Table {
    let mut g = comfy_table::Table::new();
    g.load_style(style)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if let Some(w) = width {
        g.set_width(w);
    }
    if color {
        g.enforce_styling();
    } else {
        g.force_no_tty();
    }
    g
}
