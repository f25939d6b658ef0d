//! Aggregation in userspace: groups keyed by the GROUP BY values, one state
//! per aggregate, and the result set at an interval or at the end (HAVING,
//! ORDER BY, LIMIT applied there). Memory is bounded: past MAX_GROUPS new
//! groups are not created, and the run says how many events that dropped.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::model::expr::{AggCall, AggFunc, OrderKey};
use crate::model::hist::{linear_index, linear_len, pow2_index, POW2_BUCKETS};
use crate::model::value::{Bucket, Hist, KeyPart, Value};

/// Groups kept at most, in userspace.
pub const MAX_GROUPS: usize = 100_000;
/// Distinct values kept per count(distinct) group.
pub const MAX_DISTINCT: usize = 100_000;

#[derive(Clone, Debug)]
pub enum State {
    Count(u64),
    Distinct(HashSet<KeyPart>),
    Sum(i128, bool),
    Min(Option<Value>),
    Max(Option<Value>),
    Avg(i128, u64),
    Pow2(Vec<u64>),
    Linear {
        min: i64,
        max: i64,
        step: i64,
        counts: Vec<u64>,
    },
}

impl State {
    pub fn new(f: AggFunc) -> State {
        match f {
            AggFunc::CountStar | AggFunc::Count => State::Count(0),
            AggFunc::CountDistinct => State::Distinct(HashSet::new()),
            AggFunc::Sum => State::Sum(0, false),
            AggFunc::Min => State::Min(None),
            AggFunc::Max => State::Max(None),
            AggFunc::Avg => State::Avg(0, 0),
            AggFunc::Hist => State::Pow2(vec![0; POW2_BUCKETS]),
            AggFunc::Lhist { min, max, step } => State::Linear {
                min,
                max,
                step,
                counts: vec![0; linear_len(min, max, step)],
            },
        }
    }

    /// Adds one value (None for count(*), which has no argument).
    pub fn add(&mut self, v: Option<&Value>) {
        if let Some(Value::Null) = v {
            return; // aggregates skip NULLs, as in SQL
        }
        match (self, v) {
            (State::Count(n), _) => *n += 1,
            (State::Distinct(set), Some(v)) if set.len() < MAX_DISTINCT => {
                set.insert(KeyPart::from(v.clone()));
            }
            (State::Sum(s, any), Some(Value::Int(i))) => {
                *s += i128::from(*i);
                *any = true;
            }
            (State::Min(m), Some(v))
                if m.as_ref()
                    .is_none_or(|m| v.sql_cmp(m) == Some(Ordering::Less)) =>
            {
                *m = Some(v.clone());
            }
            (State::Max(m), Some(v))
                if m.as_ref()
                    .is_none_or(|m| v.sql_cmp(m) == Some(Ordering::Greater)) =>
            {
                *m = Some(v.clone());
            }
            (State::Avg(s, n), Some(Value::Int(i))) => {
                *s += i128::from(*i);
                *n += 1;
            }
            (State::Pow2(b), Some(Value::Int(i))) => b[pow2_index(*i)] += 1,
            (
                State::Linear {
                    min,
                    max,
                    step,
                    counts,
                },
                Some(Value::Int(i)),
            ) => counts[linear_index(*i, *min, *max, *step)] += 1,
            _ => {}
        }
    }

    pub fn result(&self) -> Value {
        match self {
            State::Count(n) => Value::Int(*n as i64),
            State::Distinct(s) => Value::Int(s.len() as i64),
            State::Sum(_, false) => Value::Null,
            State::Sum(s, true) => {
                Value::Int((*s).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
            }
            State::Min(m) | State::Max(m) => m.clone().unwrap_or(Value::Null),
            State::Avg(_, 0) => Value::Null,
            State::Avg(s, n) => Value::Float(*s as f64 / *n as f64),
            State::Pow2(counts) => Value::Hist(Box::new(pow2_hist(counts))),
            State::Linear {
                min,
                max,
                step,
                counts,
            } => Value::Hist(Box::new(linear_hist(counts, *min, *max, *step))),
        }
    }
}

pub fn pow2_hist(counts: &[u64]) -> Hist {
    let buckets = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| match i {
            0 => Bucket {
                low: None,
                high: Some(0),
                count,
            },
            1 => Bucket {
                low: Some(0),
                high: Some(1),
                count,
            },
            i => {
                let k = (i - 2) as u32;
                Bucket {
                    low: Some(1i64 << k),
                    high: 1i64.checked_shl(k + 1).filter(|h| *h > 0),
                    count,
                }
            }
        })
        .collect();
    Hist { buckets }
}

pub fn linear_hist(counts: &[u64], min: i64, max: i64, step: i64) -> Hist {
    let n = counts.len();
    let buckets = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            if i == 0 {
                Bucket {
                    low: None,
                    high: Some(min),
                    count,
                }
            } else if i == n - 1 {
                Bucket {
                    low: Some(max),
                    high: None,
                    count,
                }
            } else {
                let low = min.saturating_add((i as i64 - 1).saturating_mul(step));
                Bucket {
                    low: Some(low),
                    high: Some(low.saturating_add(step).min(max)),
                    count,
                }
            }
        })
        .collect();
    Hist { buckets }
}

/// Groups and their states.
pub struct Groups {
    pub aggs: Vec<AggCall>,
    pub map: HashMap<Vec<KeyPart>, Vec<State>>,
    /// Events dropped because MAX_GROUPS was reached.
    pub dropped: u64,
}

impl Groups {
    pub fn new(aggs: &[AggCall]) -> Groups {
        Groups {
            aggs: aggs.to_vec(),
            map: HashMap::new(),
            dropped: 0,
        }
    }

    /// The states of a group, created when there is room.
    pub fn group(&mut self, key: Vec<KeyPart>) -> Option<&mut Vec<State>> {
        if !self.map.contains_key(&key) && self.map.len() >= MAX_GROUPS {
            self.dropped += 1;
            return None;
        }
        let aggs = &self.aggs;
        Some(
            self.map
                .entry(key)
                .or_insert_with(|| aggs.iter().map(|a| State::new(a.func)).collect()),
        )
    }
}

/// Sorts output rows by ORDER BY (values computed per row), or by default
/// by the first aggregate, largest first, as bpftrace prints maps.
pub fn sort_rows(rows: &mut [(Vec<Value>, Vec<Value>)], order: &[OrderKey]) {
    rows.sort_by(|(a, _), (b, _)| {
        for (i, o) in order.iter().enumerate() {
            let ord = match (&a[i], &b[i]) {
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) => Ordering::Greater, // NULLs last
                (_, Value::Null) => Ordering::Less,
                (x, y) => {
                    let o2 = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                    if o.desc {
                        o2.reverse()
                    } else {
                        o2
                    }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_buckets() {
        assert_eq!(pow2_index(-5), 0);
        assert_eq!(pow2_index(0), 1);
        assert_eq!(pow2_index(1), 2);
        assert_eq!(pow2_index(3), 3);
        assert_eq!(pow2_index(4), 4);
        assert_eq!(pow2_index(i64::MAX), 64);
        let h = pow2_hist(&[0; POW2_BUCKETS]);
        assert_eq!(h.buckets[4].low, Some(4));
        assert_eq!(h.buckets[4].high, Some(8));
        assert_eq!(h.buckets[64].high, None);
    }

    #[test]
    fn linear_buckets() {
        assert_eq!(linear_len(0, 100, 10), 12);
        assert_eq!(linear_index(-1, 0, 100, 10), 0);
        assert_eq!(linear_index(0, 0, 100, 10), 1);
        assert_eq!(linear_index(99, 0, 100, 10), 10);
        assert_eq!(linear_index(100, 0, 100, 10), 11);
        let h = linear_hist(&[0; 12], 0, 100, 10);
        assert_eq!((h.buckets[1].low, h.buckets[1].high), (Some(0), Some(10)));
    }

    #[test]
    fn states_follow_sql() {
        let mut s = State::new(AggFunc::Avg);
        for v in [Value::Int(1), Value::Null, Value::Int(2)] {
            s.add(Some(&v));
        }
        assert_eq!(s.result(), Value::Float(1.5));
        let mut d = State::new(AggFunc::CountDistinct);
        for v in ["a", "b", "a"] {
            d.add(Some(&Value::Text(v.into())));
        }
        assert_eq!(d.result(), Value::Int(2));
        assert_eq!(State::new(AggFunc::Sum).result(), Value::Null);
        let mut m = State::new(AggFunc::Max);
        for v in [3, 9, 4] {
            m.add(Some(&Value::Int(v)));
        }
        assert_eq!(m.result(), Value::Int(9));
    }
}
