//! Where a run's results go: the one interface between the event loop and
//! whatever writes its rows. exec defines it, so a run never names an
//! output format or stdout; output/ implements it for table, JSON and CSV
//! on stdout, and a sink that ships results to another host implements the
//! same trait, with no change here or in run.rs.
//!
//! A run calls, in this order: `begin` once (the columns, and whether rows
//! or result sets follow); then `row` for each streamed row, or `set` for
//! each result set (every --interval, and at the end); `flush` after every
//! batch of events; `finish` once when the run ends, whatever ended it.
//! `gone` is asked a few times a second: a sink whose reader went away
//! (a closed pipe) ends the run early.

use std::io;

pub use crate::model::schema::OutColumn;
use crate::model::value::Value;

/// What follows `begin`: rows one at a time, or whole result sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A streaming query: `row` for each event kept, as it is read.
    Rows,
    /// An aggregate query (a set at each --interval and at the end) or a
    /// sorted one (one set at the end): `set`.
    Sets,
}

/// One finished result set: rows in output order, HAVING, ORDER BY and
/// LIMIT applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultSet {
    pub rows: Vec<Vec<Value>>,
    /// Unix time the interval ended, with --interval; None without.
    pub interval_end: Option<i64>,
}

/// Where a run writes its results. Errors end the run and are reported as
/// output errors (a closed pipe ends it cleanly).
pub trait Sink {
    /// Once, before anything else; a sink may write a header here (a
    /// streamed table's is on screen before the first event).
    fn begin(&mut self, columns: &[OutColumn], shape: Shape) -> io::Result<()>;
    /// One streamed row, values in SELECT order (Shape::Rows).
    fn row(&mut self, values: &[Value]) -> io::Result<()>;
    /// One result set (Shape::Sets).
    fn set(&mut self, set: ResultSet) -> io::Result<()>;
    /// Pushes out what is buffered: after every batch of events, so a row
    /// is seen soon after its event.
    fn flush(&mut self) -> io::Result<()>;
    /// The run is over: the last of the results go out.
    fn finish(&mut self) -> io::Result<()>;
    /// Whether whoever reads the results has gone (a closed pipe): the run
    /// then ends at once rather than at the next row it fails to write,
    /// which may be never. Asked at most every poll of the ring buffer.
    fn gone(&mut self) -> bool {
        false
    }
}
