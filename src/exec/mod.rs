//! Execution: decoding kernel records into rows, the userspace filter and
//! projection, and the event loop of a run.

pub mod agg;
pub mod eval;
pub mod funcs;
pub mod paths;
pub mod printf;
pub mod record;
pub mod run;
pub mod target;
pub mod value;
