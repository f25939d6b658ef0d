//! The run's sink on stdout: exec's `Sink` for the three formats. A
//! streamed query's rows go through the format's row writer over one
//! buffered lock of stdout, pushed out after every batch of events; result
//! sets go through one `Printer` for the run (one CSV header, --interval
//! redraws), which writes each set whole. Whether stdout's reader has gone
//! is asked here too: that is a property of stdout, not of a run.

use std::io::{self, BufWriter};

use super::result::Printer;
use super::{row_writer, Options, RowWriter};
use crate::exec::sink::{OutColumn, ResultSet, Shape, Sink};
use crate::model::value::Value;

/// Bytes of streamed rows buffered between flushes.
const BUFFER: usize = 64 * 1024;

pub struct Stdout {
    o: Options,
    /// Shape::Rows: the format's rows, over the buffered stdout.
    rows: Option<Box<dyn RowWriter>>,
    /// Shape::Sets: the run's printer.
    sets: Option<Printer<'static, io::Stdout>>,
}

impl Stdout {
    pub fn new(o: Options) -> Stdout {
        Stdout {
            o,
            rows: None,
            sets: None,
        }
    }
}

/// A call the run's order (sink.rs) does not allow: an error, not a panic.
fn out_of_order(what: &str) -> io::Error {
    io::Error::other(format!("{what} before the sink was begun for it"))
}

impl Sink for Stdout {
    fn begin(&mut self, columns: &[OutColumn], shape: Shape) -> io::Result<()> {
        match shape {
            Shape::Rows => {
                let w = Box::new(BufWriter::with_capacity(BUFFER, io::stdout().lock()));
                self.rows = Some(row_writer(w, columns.to_vec(), &self.o)?);
            }
            Shape::Sets => {
                self.sets = Some(Printer::new(io::stdout(), self.o, columns.to_vec()));
            }
        }
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> io::Result<()> {
        match &mut self.rows {
            Some(w) => w.row(values),
            None => Err(out_of_order("a row")),
        }
    }

    fn set(&mut self, set: ResultSet) -> io::Result<()> {
        match &mut self.sets {
            Some(p) => p.print(set),
            None => Err(out_of_order("a result set")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // A printer writes each set whole and flushes it: nothing waits.
        self.rows.as_mut().map_or(Ok(()), |w| w.flush())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// A pipe whose read end closed polls POLLERR on its write end
    /// (fs/pipe.c, pipe_poll), a hung-up terminal POLLHUP. `ebq ... | true`
    /// then ends at once.
    fn gone(&mut self) -> bool {
        let mut fd = libc::pollfd {
            fd: libc::STDOUT_FILENO,
            events: 0,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a zero timeout: poll only reads and
        // writes that struct.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        n == 1 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    /// Rows or sets a run did not begin the sink for are an error that
    /// ends the run, not a panic, and write nothing.
    #[test]
    fn out_of_order_calls_are_errors() {
        let mut s = Stdout::new(Options {
            format: Format::Json,
            color: false,
            width: 80,
            wide: false,
            redraw: false,
        });
        assert!(s.row(&[Value::Int(1)]).is_err());
        let set = ResultSet {
            rows: Vec::new(),
            interval_end: None,
        };
        assert!(s.set(set).is_err());
        assert!(s.flush().is_ok());
        assert!(s.finish().is_ok());
    }
}
