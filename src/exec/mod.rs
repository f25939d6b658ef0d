//! Execution: the event loop of a run (the ring buffer, the userspace
//! filter and projection, aggregation states, the -c / -p target).

pub mod agg;
pub mod run;
pub mod target;
