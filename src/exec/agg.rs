//! Aggregation in userspace: groups keyed by the GROUP BY values, one state
//! per aggregate, and the result set at an interval or at the end (HAVING,
//! ORDER BY, LIMIT applied there). Memory is bounded: past MAX_GROUPS new
//! groups are not created, and the run says how many events that dropped.
//!
//! Every state merges: the states of one aggregate over two parts of the
//! events merge into its state over all of them (avg is kept as a sum and
//! a count, count(distinct) as the set, histograms as their counts). So a
//! group the kernel aggregated, or one from another host (partial.rs has
//! the form states travel in), adds to a group here rather than replacing
//! it, which is right whether or not its key maps to one group of ours.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::model::expr::{AggCall, AggFunc, OrderKey};
use crate::model::hist::{linear_index, linear_len, pow2_index, POW2_BUCKETS};
use crate::model::value::{Bucket, Hist, KeyPart, Value};

/// Groups kept at most, in userspace.
pub const MAX_GROUPS: usize = 100_000;
/// Distinct values kept per count(distinct) group.
pub const MAX_DISTINCT: usize = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Count(u64),
    Distinct(HashSet<KeyPart>),
    /// None until a value is added: the sum of no value is NULL.
    Sum(Option<i128>),
    Min(Option<Value>),
    Max(Option<Value>),
    /// The sum and the count, which merge where averages do not.
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
            AggFunc::Sum => State::Sum(None),
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
            (State::Sum(s), Some(Value::Int(i))) => {
                *s = Some(s.unwrap_or(0) + i128::from(*i));
            }
            (State::Min(m), Some(v)) if beats(v, m, Ordering::Less) => *m = Some(v.clone()),
            (State::Max(m), Some(v)) if beats(v, m, Ordering::Greater) => *m = Some(v.clone()),
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
            State::Sum(None) => Value::Null,
            State::Sum(Some(s)) => {
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

    /// Adds what `other` holds, as if its values had been added here.
    /// Counts add (saturating: a partial form may carry any count), sums
    /// and averages add their parts, min and max keep the winner (the one
    /// held on a tie, as `add` does), sets unite up to MAX_DISTINCT,
    /// histograms add bucket by bucket. Err, and nothing changed, when the
    /// two are not states of the same aggregate: another function, or
    /// another histogram geometry.
    pub fn merge(&mut self, other: State) -> Result<(), StateError> {
        if self.kind() != other.kind() {
            return Err(StateError(format!(
                "{} does not merge into {}",
                other.kind(),
                self.kind()
            )));
        }
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a = a.saturating_add(b),
            (State::Distinct(a), State::Distinct(b)) => {
                for k in b {
                    if a.len() >= MAX_DISTINCT {
                        break;
                    }
                    a.insert(k);
                }
            }
            (State::Sum(a), State::Sum(Some(b))) => *a = Some(a.unwrap_or(0).saturating_add(b)),
            (State::Min(m), State::Min(Some(v))) if beats(&v, m, Ordering::Less) => *m = Some(v),
            (State::Max(m), State::Max(Some(v))) if beats(&v, m, Ordering::Greater) => *m = Some(v),
            (State::Avg(s, n), State::Avg(s2, n2)) => {
                *s = s.saturating_add(s2);
                *n = n.saturating_add(n2);
            }
            (State::Pow2(a), State::Pow2(b))
            | (State::Linear { counts: a, .. }, State::Linear { counts: b, .. }) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = x.saturating_add(y);
                }
            }
            // Nothing to add: a NULL sum, no min or max, or one that does
            // not beat ours (the kinds agree: checked above).
            _ => {}
        }
        Ok(())
    }

    /// What must agree for two states to merge: the state's name (as in
    /// the partial form) and a histogram's geometry.
    pub fn kind(&self) -> Kind {
        let (name, geometry, buckets) = match self {
            State::Count(_) => ("count", None, 0),
            State::Distinct(_) => ("distinct", None, 0),
            State::Sum(_) => ("sum", None, 0),
            State::Min(_) => ("min", None, 0),
            State::Max(_) => ("max", None, 0),
            State::Avg(..) => ("avg", None, 0),
            State::Pow2(c) => ("hist", None, c.len()),
            State::Linear {
                min,
                max,
                step,
                counts,
            } => ("lhist", Some((*min, *max, *step)), counts.len()),
        };
        Kind {
            name,
            geometry,
            buckets,
        }
    }
}

/// Whether `v` replaces `held` as the min (`wins` Less) or max (Greater):
/// only when strictly better, so the value held first stays on a tie.
fn beats(v: &Value, held: &Option<Value>, wins: Ordering) -> bool {
    held.as_ref().is_none_or(|m| v.sql_cmp(m) == Some(wins))
}

/// A state's kind (State::kind): two states merge when theirs are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub name: &'static str,
    /// lhist's (min, max, step).
    pub geometry: Option<(i64, i64, i64)>,
    /// A histogram's bucket count.
    pub buckets: usize,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)?;
        if let Some((min, max, step)) = self.geometry {
            write!(f, "({min}, {max}, {step})")?;
        }
        if self.buckets > 0 {
            write!(f, " with {} buckets", self.buckets)?;
        }
        Ok(())
    }
}

/// Why states do not merge, or a partial form is not one (partial.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateError {}

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

    /// Merges a group's states (one per aggregate, in order: the kernel's
    /// partial states, another part's) into the group of `key`, created
    /// when there is room (else counted in `dropped`, as an event would
    /// be). Err, and the group unchanged, when they are not states of
    /// these aggregates.
    pub fn merge(&mut self, key: Vec<KeyPart>, states: Vec<State>) -> Result<(), StateError> {
        let fits = states.len() == self.aggs.len()
            && states
                .iter()
                .zip(&self.aggs)
                .all(|(s, a)| s.kind() == State::new(a.func).kind());
        if !fits {
            return Err(StateError(format!(
                "{} states do not merge into a group of {} aggregates ({})",
                states.len(),
                self.aggs.len(),
                states
                    .iter()
                    .map(|s| s.kind().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let Some(group) = self.group(key) else {
            return Ok(());
        };
        for (mine, theirs) in group.iter_mut().zip(states) {
            mine.merge(theirs)?;
        }
        Ok(())
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

    #[test]
    fn states_of_another_aggregate_do_not_merge() {
        let lhist = |step| {
            State::new(AggFunc::Lhist {
                min: 0,
                max: 100,
                step,
            })
        };
        let cases = [
            (State::new(AggFunc::Sum), State::Count(3)),
            (State::new(AggFunc::Min), State::Max(Some(Value::Int(1)))),
            (
                State::new(AggFunc::Count),
                State::new(AggFunc::CountDistinct),
            ),
            (lhist(10), State::new(AggFunc::Hist)),
            (lhist(10), lhist(5)),
            (State::Pow2(vec![0; 3]), State::new(AggFunc::Hist)),
        ];
        for (mut mine, theirs) in cases {
            let before = mine.clone();
            let e = mine.merge(theirs.clone()).expect_err("a mismatch");
            assert_eq!(mine, before, "{e}");
            assert!(e.to_string().contains("does not merge into"), "{e}");
        }
        assert_eq!(
            lhist(10).merge(lhist(5)).expect_err("geometry").to_string(),
            "lhist(0, 100, 5) with 22 buckets does not merge into lhist(0, 100, 10) with 12 buckets"
        );
    }

    fn calls(funcs: &[AggFunc]) -> Vec<AggCall> {
        funcs
            .iter()
            .map(|&func| AggCall {
                func,
                arg: None,
                sql: String::new(),
            })
            .collect()
    }

    /// Two kernel groups whose keys name one group here (the kernel keys
    /// more finely than the query does) add up; inserting them kept the
    /// last one only.
    #[test]
    fn groups_merge_rather_than_replace() {
        let mut g = Groups::new(&calls(&[AggFunc::CountStar, AggFunc::Sum, AggFunc::Max]));
        let key = vec![KeyPart::Text("bash".into())];
        let kernel = |n, sum, max| {
            vec![
                State::Count(n),
                State::Sum(Some(sum)),
                State::Max(Some(Value::Int(max))),
            ]
        };
        g.merge(key.clone(), kernel(3, 30, 9)).expect("fits");
        g.merge(key.clone(), kernel(4, 12, 5)).expect("fits");
        assert_eq!(g.map.len(), 1);
        assert_eq!(g.map[&key], kernel(7, 42, 9));
        // States of other aggregates, or too few, change nothing.
        assert!(g.merge(key.clone(), vec![State::Count(1)]).is_err());
        assert!(g
            .merge(
                key.clone(),
                vec![State::Count(1), State::Count(1), State::Count(1)]
            )
            .is_err());
        assert!(g.merge(vec![KeyPart::Null], vec![State::Count(1)]).is_err());
        assert_eq!(g.map.len(), 1);
        assert_eq!(g.map[&key], kernel(7, 42, 9));
    }

    #[test]
    fn merging_keeps_the_bounds() {
        let mut g = Groups::new(&calls(&[AggFunc::CountStar]));
        for i in 0..MAX_GROUPS as i64 {
            let _ = g.group(vec![KeyPart::Int(i)]);
        }
        g.merge(vec![KeyPart::Int(-1)], vec![State::Count(5)])
            .expect("fits");
        assert_eq!((g.map.len(), g.dropped), (MAX_GROUPS, 1));
        g.merge(vec![KeyPart::Int(0)], vec![State::Count(5)])
            .expect("fits");
        assert_eq!(g.map[&vec![KeyPart::Int(0)]], vec![State::Count(5)]);

        let set = |from: i64| State::Distinct((from..from + 60_000).map(KeyPart::Int).collect());
        let mut d = set(0);
        d.merge(set(60_000)).expect("fits");
        assert_eq!(d.result(), Value::Int(MAX_DISTINCT as i64));
        // Counts saturate rather than wrap.
        let mut c = State::Count(u64::MAX - 1);
        c.merge(State::Count(5)).expect("fits");
        assert_eq!(c, State::Count(u64::MAX));
    }
}
