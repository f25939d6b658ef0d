//! Histogram geometry, shared by the planner (does an lhist fit the
//! kernel's buckets?), the loader (the kernel's lhist_len) and the
//! aggregation states: how many buckets a histogram has and which one a
//! value falls in. One definition, so the kernel's buckets and
//! userspace's are the same buckets.

/// Buckets of a power-of-2 histogram: negative, zero, then [2^k, 2^(k+1)).
pub const POW2_BUCKETS: usize = 2 + 63;

/// The bucket of v in a power-of-2 histogram.
pub fn pow2_index(v: i64) -> usize {
    match v {
        v if v < 0 => 0,
        0 => 1,
        v => 2 + (63 - v.leading_zeros() as usize),
    }
}

/// Number of buckets of lhist(min, max, step): below, the steps, above.
pub fn linear_len(min: i64, max: i64, step: i64) -> usize {
    let steps =
        ((i128::from(max) - i128::from(min) + i128::from(step) - 1) / i128::from(step)).max(0);
    2 + steps as usize
}

pub fn linear_index(v: i64, min: i64, max: i64, step: i64) -> usize {
    if v < min {
        0
    } else if v >= max {
        linear_len(min, max, step) - 1
    } else {
        1 + ((i128::from(v) - i128::from(min)) / i128::from(step)) as usize
    }
}
