//! Streams: the rows of a table whose rows are not one per kernel record.
//!
//! dns_events gets packets from the kernel; a row is a DNS message. A UDP
//! datagram is one message, a TCP segment is part of a length-prefixed
//! stream (none, one or several messages), a response is matched with its
//! query for its latency, and a query that no response answers within a
//! timeout is a row of its own with no record behind it. So such a table
//! names a `Stream` (Table::stream), and the run (exec/run.rs) hands it
//! every record decoded and asks it, now and then, for the rows a clock
//! makes due. The rows it returns are records still: the record they came
//! from, with what the stream derived (`Record::derived`) for each.
//! Tables without one are not touched.

use std::time::Duration;

use super::record::Record;

/// What a stream is told at the start of a run.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// How long a DNS query waits for its response before it is said to
    /// have timed out (--dns-timeout).
    pub timeout: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            timeout: Duration::from_secs(5),
        }
    }
}

/// Another table's programs feeding a column of this one (socket_events'
/// remote_name learns names from dns_events' answers): attached for a
/// query that reads the column; their records carry `kind` and go to the
/// feed, which gives each row of the table what it learnt.
pub struct SideFeed {
    /// The kind (header.kind) the feed's records carry.
    pub kind: u32,
    /// Its programs, attached beside the table's.
    pub programs: &'static [super::probe::Program],
    /// What it is, for --explain.
    pub what: &'static str,
    /// The column of the table whose value the feed looks up.
    pub key: &'static str,
    pub make: fn(&StreamOptions) -> Box<dyn Feed>,
}

impl std::fmt::Debug for SideFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.what)
    }
}

pub trait Feed {
    /// Learns from one of its records (the raw bytes, checked by the feed).
    fn learn(&mut self, bytes: &[u8]);
    /// What it knows of a row whose key column is `key`, put in the row
    /// (`Record::derived`).
    fn enrich(&self, r: &mut Record, key: &super::value::Value);
}

/// How a table makes its stream for a run.
pub type MakeStream = fn(&StreamOptions) -> Box<dyn Stream>;

pub trait Stream {
    /// The rows record `r` makes, in order, pushed on `out`.
    fn feed<'a>(&mut self, r: Record<'a>, out: &mut Vec<Record<'a>>);
    /// The rows due by `now` (ns on the boot clock, as the kernel's
    /// timestamps) that no record makes.
    fn tick(&mut self, now: u64, out: &mut Vec<Record<'static>>);
}
