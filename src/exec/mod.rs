//! Execution: the event loop of a run (the ring buffer, the userspace
//! filter and projection, aggregation states, the -c / -p target), and the
//! sink interface its results go through (sink.rs), which output/
//! implements: exec names no output format and no configuration.

pub mod agg;
pub mod containers;
// The form a state travels in, to a sink on another host; until a sink
// ships states, only the tests write and read it.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "no sink ships partial states yet")
)]
pub mod partial;
pub mod run;
pub mod sink;
pub mod target;
