//! Execution: the event loop of a run (the ring buffer, the userspace
//! filter and projection, aggregation states, the -c / -p target), and the
//! sink interface its results go through (sink.rs), which output/
//! implements: exec names no output format and no configuration.

pub mod agg;
pub mod run;
pub mod sink;
pub mod target;
