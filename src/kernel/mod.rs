//! The kernel side: the embedded BPF objects, their generated types, the
//! checks before loading, and the loader that owns what it attaches.

pub mod btf;
pub mod load;
pub mod pidns;
pub mod preflight;
#[cfg(test)]
mod selftest;

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

/// The kernel <-> user structs of bpf/ebq.h, generated from BTF.
pub use skel::types;

skeleton!(
    /// The pid namespace helper's object (bpf/pidns.bpf.c).
    pidns_skel,
    "pidns.skel.rs"
);

#[cfg(test)]
skeleton!(
    /// The row header's test object (bpf/selftest.bpf.c), for selftest.rs.
    selftest_skel,
    "selftest.skel.rs"
);
