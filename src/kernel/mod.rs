//! The kernel side: the embedded BPF objects, their generated types, the
//! checks before loading, and the loader that owns what it attaches.

pub mod btf;
pub mod check;
pub mod elf;
pub mod features;
mod ldcache;
pub mod load;
mod perf;
pub mod pidns;
pub mod preflight;
#[cfg(test)]
mod selftest;
pub mod uprobes;
pub mod variants;
