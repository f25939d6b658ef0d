//! The kernel/user ABI as Rust sees it: the libbpf-cargo skeletons of the
//! BPF objects in bpf/, generated at build time (bpf/build.rs), and the
//! structs, enums and constants of the C headers under bpf/, generated
//! from the object's BTF. Nothing here is written by hand, so a change to a
//! C header is a change here; the ground floor every stage builds on.

use std::sync::atomic::{AtomicBool, Ordering};

/// A libbpf-cargo skeleton, generated code: none of our lints apply.
macro_rules! skeleton {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        #[allow(
            clippy::all,
            clippy::pedantic,
            clippy::undocumented_unsafe_blocks,
            clippy::unwrap_used,
            dead_code,
            non_camel_case_types,
            non_snake_case,
            non_upper_case_globals,
            unused_imports,
            unsafe_op_in_unsafe_fn
        )]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

skeleton!(
    /// The object with every table's programs (bpf/ebq.bpf.c).
    skel,
    "ebq.skel.rs"
);

/// Whether the skeletons open the compat builds of their objects
/// (bpf/steps.bpf.h: for kernels without bpf_loop).
static COMPAT: AtomicBool = AtomicBool::new(false);

/// The compat builds: the same source with EBQ_COMPAT, the same maps,
/// programs and sections (bpf/build.rs checks), so the skeleton generated
/// for the main object opens them as well.
static EBQ_COMPAT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ebq_compat.bpf.o"));
static PIDNS_COMPAT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pidns_compat.bpf.o"));

/// Makes the skeletons opened from now on take the compat objects (true)
/// or their own (false): kernel::variants decides, before any opens.
pub fn use_compat(compat: bool) {
    COMPAT.store(compat, Ordering::Relaxed);
}

/// Whether the skeletons take the compat objects.
pub fn uses_compat() -> bool {
    COMPAT.load(Ordering::Relaxed)
}

/// The object a skeleton opens (bpf/build.rs makes the generated code ask
/// here): its own, `main`, or its compat build.
pub(crate) fn object(name: &str, main: &'static [u8]) -> &'static [u8] {
    match (uses_compat(), name) {
        (true, "ebq") => EBQ_COMPAT,
        (true, "pidns") => PIDNS_COMPAT,
        _ => main,
    }
}

/// The kernel <-> user structs and enums of the headers under bpf/,
/// generated from BTF.
pub use skel::types;

skeleton!(
    /// The pid namespace helper's object (bpf/pidns.bpf.c).
    pidns_skel,
    "pidns.skel.rs"
);

#[cfg(test)]
skeleton!(
    /// The test object (bpf/selftest.bpf.c): the row header from any task,
    /// and a program of each attach kind, for kernel/selftest.rs.
    selftest_skel,
    "selftest.skel.rs"
);
