//! The kernel/user ABI as Rust sees it: the libbpf-cargo skeletons of the
//! BPF objects in bpf/, generated at build time (bpf/build.rs), and the
//! structs, enums and constants of the C headers under bpf/, generated
//! from the object's BTF. Nothing here is written by hand, so a change to a
//! C header is a change here; the ground floor every stage builds on.

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
