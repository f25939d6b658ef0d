//! The partial form of an aggregation state: what a state becomes to
//! travel (to a sink on another host, which merges it with its own), as a
//! JSON value, and back, exactly. It is a form of its own rather than the
//! result's: a result loses what merging needs (an average's sum and
//! count, the values of a count(distinct), a NULL sum told from 0).
//!
//! One object with one key, the state's kind (agg.rs, State::kind):
//!
//! ```text
//! {"count": 7}                       count(*), count(col)
//! {"distinct": [V, ...]}             count(distinct col): the set
//! {"sum": "123"} / {"sum": null}     sum: i128 as a decimal string; null
//!                                    when no value was added (NULL)
//! {"min": V} / {"min": null}         min (likewise max): null for none
//! {"avg": {"sum": "12", "count": 3}}
//! {"hist": [c0, ..., c64]}           every power-of-2 bucket
//! {"lhist": {"min": 0, "max": 100, "step": 10, "counts": [...]}}
//! ```
//!
//! A value V keeps its type: `{"int": 5}`, `{"text": "a"}`, `{"bool":
//! true}`, `{"float": "1.5"}` (Rust's shortest text that reads back as the
//! same f64, so NaN and the infinities too, and no JSON parser rounds it),
//! `{"list": ["a", "b"]}`, `{"hist": [{"low": 0, "high": 1, "count": 2}]}`
//! (an open end is null), `{"null": null}`. Counts are JSON integers (u64,
//! exact in JSON text). Text is ebq's text as it is, not sanitized: this
//! is data for a program, not for a terminal.
//!
//! Reading checks everything (the shape, the types, each number's range, a
//! histogram's bucket count against its geometry, lhist's geometry as the
//! binder would take it) and returns an error, never panics: the form may
//! come from anywhere.

use std::collections::HashSet;

use serde_json::{json, Map, Value as Json};

use super::agg::{State, StateError, MAX_DISTINCT};
use crate::model::hist::{linear_len, POW2_BUCKETS};
use crate::model::value::{Bucket, Hist, KeyPart, Value};

impl State {
    /// The state's partial form, keyed by the state's kind name.
    pub fn to_partial(&self) -> Json {
        let body = match self {
            State::Count(n) => json!(n),
            State::Distinct(set) => {
                let mut items: Vec<Json> = set
                    .iter()
                    .map(|k| value_json(&Value::from(k.clone())))
                    .collect();
                // A set has no order; its form has one, so that one state
                // always has one form.
                items.sort_by_cached_key(Json::to_string);
                Json::Array(items)
            }
            State::Sum(s) => s.map_or(Json::Null, wide_json),
            State::Min(m) | State::Max(m) => m.as_ref().map_or(Json::Null, value_json),
            State::Avg(s, n) => json!({"sum": wide_json(*s), "count": n}),
            State::Pow2(counts) => json!(counts),
            State::Linear {
                min,
                max,
                step,
                counts,
            } => json!({"min": min, "max": max, "step": step, "counts": counts}),
        };
        let mut m = Map::new();
        m.insert(self.kind().name.to_string(), body);
        Json::Object(m)
    }

    /// The state a partial form stands for, or why it is not one.
    pub fn from_partial(form: &Json) -> Result<State, StateError> {
        let (kind, body) = single(form, "a partial state")?;
        Ok(match kind {
            "count" => State::Count(count(body, "count")?),
            "distinct" => {
                let items = array(body, "distinct")?;
                if items.len() > MAX_DISTINCT {
                    return Err(bad(format!(
                        "distinct: {} values, more than the {MAX_DISTINCT} a state keeps",
                        items.len()
                    )));
                }
                let set = items
                    .iter()
                    .map(key_part)
                    .collect::<Result<HashSet<_>, _>>()?;
                State::Distinct(set)
            }
            "sum" => State::Sum(match body {
                Json::Null => None,
                b => Some(wide(b, "sum")?),
            }),
            "min" => State::Min(extreme(body, "min")?),
            "max" => State::Max(extreme(body, "max")?),
            "avg" => {
                let [sum, n] = fields(body, "avg", ["sum", "count"])?;
                State::Avg(wide(sum, "avg's sum")?, count(n, "avg's count")?)
            }
            "hist" => {
                let counts = counts(body, "hist")?;
                if counts.len() != POW2_BUCKETS {
                    return Err(bad(format!(
                        "hist: {} buckets, not {POW2_BUCKETS}",
                        counts.len()
                    )));
                }
                State::Pow2(counts)
            }
            "lhist" => {
                let [min, max, step, c] = fields(body, "lhist", ["min", "max", "step", "counts"])?;
                let (min, max, step) = (
                    int(min, "lhist's min")?,
                    int(max, "lhist's max")?,
                    int(step, "lhist's step")?,
                );
                let counts = counts(c, "lhist's counts")?;
                if min >= max || step <= 0 {
                    return Err(bad(format!(
                        "lhist({min}, {max}, {step}): needs min < max and step > 0"
                    )));
                }
                // Bounded before linear_len, whose bucket count could
                // otherwise pass usize for a geometry no query has.
                let steps = (i128::from(max) - i128::from(min)) / i128::from(step);
                if steps >= counts.len() as i128 || linear_len(min, max, step) != counts.len() {
                    return Err(bad(format!(
                        "lhist({min}, {max}, {step}): {} buckets, not the geometry's",
                        counts.len()
                    )));
                }
                State::Linear {
                    min,
                    max,
                    step,
                    counts,
                }
            }
            k => {
                return Err(bad(format!(
                    "no state is named {k:?} (count, distinct, sum, min, max, avg, hist, lhist)"
                )))
            }
        })
    }
}

fn bad(msg: impl Into<String>) -> StateError {
    StateError(format!("not a partial state: {}", msg.into()))
}

/// An i128 as a decimal string: JSON numbers are not exact past 2^53 in
/// many readers, and not at all past u64 in serde_json.
fn wide_json(v: i128) -> Json {
    Json::String(v.to_string())
}

fn wide(v: &Json, what: &str) -> Result<i128, StateError> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("{what}: {v} is not a decimal string of an i128")))
}

fn count(v: &Json, what: &str) -> Result<u64, StateError> {
    v.as_u64()
        .ok_or_else(|| bad(format!("{what}: {v} is not a count (0 to 2^64-1)")))
}

fn int(v: &Json, what: &str) -> Result<i64, StateError> {
    v.as_i64()
        .ok_or_else(|| bad(format!("{what}: {v} is not a 64-bit integer")))
}

fn array<'a>(v: &'a Json, what: &str) -> Result<&'a Vec<Json>, StateError> {
    v.as_array()
        .ok_or_else(|| bad(format!("{what}: {v} is not an array")))
}

fn counts(v: &Json, what: &str) -> Result<Vec<u64>, StateError> {
    array(v, what)?.iter().map(|c| count(c, what)).collect()
}

fn text(v: &Json, what: &str) -> Result<String, StateError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| bad(format!("{what}: {v} is not a string")))
}

/// The one key of an object and its value.
fn single<'a>(v: &'a Json, what: &str) -> Result<(&'a str, &'a Json), StateError> {
    match v
        .as_object()
        .map(|m| m.iter().collect::<Vec<_>>())
        .as_deref()
    {
        Some([(k, v)]) => Ok((k.as_str(), v)),
        _ => Err(bad(format!("{what} is an object with one key, not {v}"))),
    }
}

/// The values of an object with exactly these keys, in their order.
fn fields<'a, const N: usize>(
    v: &'a Json,
    what: &str,
    names: [&str; N],
) -> Result<[&'a Json; N], StateError> {
    let wrong = || {
        bad(format!(
            "{what} is an object of {}, not {v}",
            names.join(", ")
        ))
    };
    let m = v.as_object().ok_or_else(wrong)?;
    if m.len() != N {
        return Err(wrong());
    }
    let mut out = [&Json::Null; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = m.get(name).ok_or_else(wrong)?;
    }
    Ok(out)
}

/// A min's or max's value: null for none.
fn extreme(v: &Json, what: &str) -> Result<Option<Value>, StateError> {
    match v {
        Json::Null => Ok(None),
        v => value(v, what).map(Some),
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => json!({"null": null}),
        Value::Int(i) => json!({"int": i}),
        Value::Text(s) => json!({"text": s}),
        Value::Bool(b) => json!({"bool": b}),
        Value::Float(f) => json!({"float": format!("{f:?}")}),
        Value::List(l) => json!({"list": l}),
        Value::Hist(h) => {
            let buckets: Vec<Json> = h
                .buckets
                .iter()
                .map(|b| json!({"low": b.low, "high": b.high, "count": b.count}))
                .collect();
            json!({ "hist": buckets })
        }
    }
}

fn value(v: &Json, what: &str) -> Result<Value, StateError> {
    let (ty, x) = single(v, what)?;
    Ok(match ty {
        "null" if x.is_null() => Value::Null,
        "int" => Value::Int(int(x, what)?),
        "text" => Value::Text(text(x, what)?),
        "bool" => Value::Bool(
            x.as_bool()
                .ok_or_else(|| bad(format!("{what}: {x} is not a boolean")))?,
        ),
        "float" => Value::Float(
            x.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(format!("{what}: {x} is not a float's text")))?,
        ),
        "list" => Value::List(
            array(x, what)?
                .iter()
                .map(|s| text(s, what))
                .collect::<Result<_, _>>()?,
        ),
        "hist" => {
            let buckets = array(x, what)?
                .iter()
                .map(|b| {
                    let [low, high, n] = fields(b, "a bucket", ["low", "high", "count"])?;
                    let end = |e: &Json| match e {
                        Json::Null => Ok(None),
                        e => int(e, "a bucket's end").map(Some),
                    };
                    Ok(Bucket {
                        low: end(low)?,
                        high: end(high)?,
                        count: count(n, "a bucket's count")?,
                    })
                })
                .collect::<Result<_, StateError>>()?;
            Value::Hist(Box::new(Hist { buckets }))
        }
        t => {
            return Err(bad(format!(
                "{what}: {t:?} with {x} is not a value (null, int, text, bool, float, list, hist)"
            )))
        }
    })
}

/// A count(distinct) value: a key, so no float or histogram.
fn key_part(v: &Json) -> Result<KeyPart, StateError> {
    match value(v, "a distinct value")? {
        Value::Null => Ok(KeyPart::Null),
        Value::Int(i) => Ok(KeyPart::Int(i)),
        Value::Text(s) => Ok(KeyPart::Text(s)),
        Value::Bool(b) => Ok(KeyPart::Bool(b)),
        Value::List(l) => Ok(KeyPart::List(l)),
        Value::Float(_) | Value::Hist(_) => Err(bad(format!(
            "a distinct value is a key (null, int, text, bool, list), not {v}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::{hash_set, vec};
    use proptest::prelude::*;

    use super::*;
    use crate::model::expr::AggFunc;

    /// One state over the values, as a run adds them (None: count(*)).
    fn fold<'a>(f: AggFunc, values: impl Iterator<Item = &'a Option<Value>>) -> State {
        let mut s = State::new(f);
        for v in values {
            s.add(v.as_ref());
        }
        s
    }

    /// The state through its partial form and the form's JSON text.
    fn through(s: &State) -> Result<State, TestCaseError> {
        let form = s.to_partial();
        let text = form.to_string();
        let read: Json =
            serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&read, &form, "{}", text);
        State::from_partial(&read).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))
    }

    fn merged(mut a: State, b: State) -> Result<State, TestCaseError> {
        a.merge(b).map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(a)
    }

    /// Aggregating every value at once, aggregating the two sides apart
    /// and merging, and the same through the partial form, agree; so do a
    /// state merged with an empty one and the state.
    fn check(f: AggFunc, items: &[(Option<Value>, bool)]) -> Result<(), TestCaseError> {
        let whole = fold(f, items.iter().map(|(v, _)| v));
        let side = |b: bool| {
            fold(
                f,
                items.iter().filter(move |(_, s)| *s == b).map(|(v, _)| v),
            )
        };
        let (a, b) = (side(false), side(true));
        let m = merged(a.clone(), b.clone())?;
        prop_assert_eq!(&m, &whole);
        prop_assert_eq!(m.result(), whole.result());
        let (a2, b2) = (through(&a)?, through(&b)?);
        prop_assert_eq!(&a2, &a);
        prop_assert_eq!(&b2, &b);
        prop_assert_eq!(&merged(a2, b2)?, &whole);
        prop_assert_eq!(&merged(whole.clone(), State::new(f))?, &whole);
        prop_assert_eq!(&merged(State::new(f), whole.clone())?, &whole);
        Ok(())
    }

    fn int() -> BoxedStrategy<i64> {
        prop_oneof![any::<i64>(), -20i64..20].boxed()
    }

    /// Floats without NaN: min and max of a NaN depend on the order of
    /// the values (it compares with nothing), in SQL as here.
    fn float() -> BoxedStrategy<f64> {
        use proptest::num::f64;
        prop_oneof![
            -100.0..100.0,
            f64::POSITIVE
                | f64::NEGATIVE
                | f64::NORMAL
                | f64::SUBNORMAL
                | f64::ZERO
                | f64::INFINITE,
        ]
        .boxed()
    }

    fn text() -> BoxedStrategy<String> {
        prop_oneof!["[ab\\\\]{0,2}", any::<String>()].boxed()
    }

    fn list() -> BoxedStrategy<Vec<String>> {
        vec("[ab]{0,2}", 0..3).boxed()
    }

    /// Values of one type, a NULL now and then, each on a random side.
    fn items(v: BoxedStrategy<Value>) -> BoxedStrategy<Vec<(Option<Value>, bool)>> {
        let v = prop_oneof![9 => v, 1 => Just(Value::Null)];
        vec((v.prop_map(Some), any::<bool>()), 0..40).boxed()
    }

    /// Values of any one type a column has.
    fn typed() -> BoxedStrategy<Vec<(Option<Value>, bool)>> {
        prop_oneof![
            items(int().prop_map(Value::Int).boxed()),
            items(text().prop_map(Value::Text).boxed()),
            items(float().prop_map(Value::Float).boxed()),
            items(any::<bool>().prop_map(Value::Bool).boxed()),
            items(list().prop_map(Value::List).boxed()),
        ]
        .boxed()
    }

    fn ints() -> BoxedStrategy<Vec<(Option<Value>, bool)>> {
        items(int().prop_map(Value::Int).boxed())
    }

    /// lhist geometry as the binder takes it: min < max, step > 0, and
    /// values around the buckets and far from them.
    fn lhist() -> impl Strategy<Value = (AggFunc, Vec<(Option<Value>, bool)>)> {
        (-1000i64..1000, 1i64..2000, 1i64..300).prop_flat_map(|(min, span, step)| {
            let max = min + span;
            let v = prop_oneof![any::<i64>(), (min - 100)..(max + 100)].prop_map(Value::Int);
            (Just(AggFunc::Lhist { min, max, step }), items(v.boxed()))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Every aggregate, each over values of the types it takes.
        #[test]
        fn every_aggregate_merges(
            sides in vec(any::<bool>(), 0..40),
            typed in typed(),
            ints in ints(),
            (lhist, spread) in lhist(),
        ) {
            let stars: Vec<(Option<Value>, bool)> = sides.into_iter().map(|s| (None, s)).collect();
            let cases = [
                (AggFunc::CountStar, &stars),
                (AggFunc::Count, &typed),
                (AggFunc::CountDistinct, &typed),
                (AggFunc::Min, &typed),
                (AggFunc::Max, &typed),
                (AggFunc::Sum, &ints),
                (AggFunc::Avg, &ints),
                (AggFunc::Hist, &ints),
                (lhist, &spread),
            ];
            for (f, items) in cases {
                check(f, items).map_err(|e| TestCaseError::fail(format!("{f:?}: {e}")))?;
            }
        }

        /// Any state, reachable by adding values or not (sums past i64,
        /// counts near 2^64, every type of value), comes back the same.
        #[test]
        fn every_state_round_trips(s in state()) {
            prop_assert_eq!(&through(&s)?, &s);
        }

        /// Whatever JSON comes in, reading it gives a state or an error,
        /// and a state read writes a form that reads back as it.
        #[test]
        fn any_json_reads_without_panicking(form in json_tree()) {
            if let Ok(s) = State::from_partial(&form) {
                prop_assert_eq!(&through(&s)?, &s);
            }
        }
    }

    fn value() -> BoxedStrategy<Value> {
        let bucket = (any::<Option<i64>>(), any::<Option<i64>>(), any::<u64>())
            .prop_map(|(low, high, count)| Bucket { low, high, count });
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Int),
            text().prop_map(Value::Text),
            float().prop_map(Value::Float),
            any::<bool>().prop_map(Value::Bool),
            list().prop_map(Value::List),
            vec(bucket, 0..4).prop_map(|buckets| Value::Hist(Box::new(Hist { buckets }))),
        ]
        .boxed()
    }

    fn key() -> BoxedStrategy<KeyPart> {
        prop_oneof![
            Just(KeyPart::Null),
            any::<i64>().prop_map(KeyPart::Int),
            text().prop_map(KeyPart::Text),
            any::<bool>().prop_map(KeyPart::Bool),
            list().prop_map(KeyPart::List),
        ]
        .boxed()
    }

    fn state() -> BoxedStrategy<State> {
        let geometry = (any::<i64>(), 1i64..10_000, 1i64..=i64::MAX).prop_filter_map(
            "a geometry of at most 10000 buckets",
            |(min, span, step)| {
                let max = min.checked_add(span)?;
                (span / step <= 10_000).then_some((min, max, step))
            },
        );
        prop_oneof![
            any::<u64>().prop_map(State::Count),
            hash_set(key(), 0..8).prop_map(State::Distinct),
            any::<Option<i128>>().prop_map(State::Sum),
            proptest::option::of(value()).prop_map(State::Min),
            proptest::option::of(value()).prop_map(State::Max),
            (any::<i128>(), any::<u64>()).prop_map(|(s, n)| State::Avg(s, n)),
            vec(any::<u64>(), POW2_BUCKETS).prop_map(State::Pow2),
            geometry.prop_flat_map(|(min, max, step)| {
                vec(any::<u64>(), linear_len(min, max, step)).prop_map(move |counts| {
                    State::Linear {
                        min,
                        max,
                        step,
                        counts,
                    }
                })
            }),
        ]
        .boxed()
    }

    /// JSON shaped like partial forms: their keys and kinds of leaves,
    /// nested, so reading goes deep before it meets what is wrong.
    fn json_tree() -> impl Strategy<Value = Json> {
        const NAMES: &[&str] = &[
            "count", "distinct", "sum", "min", "max", "avg", "hist", "lhist", "int", "text",
            "float", "bool", "list", "null", "low", "high", "step", "counts", "x",
        ];
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::from),
            any::<i64>().prop_map(Json::from),
            any::<u64>().prop_map(Json::from),
            (-1e20f64..1e20).prop_map(Json::from),
            prop_oneof![
                Just("1".to_string()),
                Just("-1.5".to_string()),
                Just("NaN".to_string()),
                Just("170141183460469231731687303715884105728".to_string()),
                "[a-z0-9]{0,3}",
            ]
            .prop_map(Json::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..8).prop_map(Json::Array),
                vec((proptest::sample::select(NAMES), inner), 0..4).prop_map(|kv| {
                    Json::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    #[test]
    fn floats_keep_every_value_even_nan() {
        for f in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            5e-324,
            1e300,
            0.1,
        ] {
            let s = State::Max(Some(Value::Float(f)));
            let back = State::from_partial(
                &serde_json::from_str(&s.to_partial().to_string()).expect("JSON"),
            );
            match back {
                Ok(State::Max(Some(Value::Float(g)))) => {
                    assert!(
                        g.to_bits() == f.to_bits() || (f.is_nan() && g.is_nan()),
                        "{f} {g}"
                    )
                }
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_form_is_as_documented() {
        let mut d = State::new(AggFunc::CountDistinct);
        for v in [
            Value::Text("b".into()),
            Value::Int(1),
            Value::Text("a".into()),
        ] {
            d.add(Some(&v));
        }
        assert_eq!(
            d.to_partial().to_string(),
            r#"{"distinct":[{"int":1},{"text":"a"},{"text":"b"}]}"#
        );
        assert_eq!(State::Sum(None).to_partial().to_string(), r#"{"sum":null}"#);
        assert_eq!(
            State::Sum(Some(i128::MIN)).to_partial().to_string(),
            r#"{"sum":"-170141183460469231731687303715884105728"}"#
        );
        assert_eq!(
            State::Avg(12, 3).to_partial().to_string(),
            r#"{"avg":{"count":3,"sum":"12"}}"#
        );
        assert_eq!(State::Min(None).to_partial().to_string(), r#"{"min":null}"#);
        assert_eq!(
            State::Max(Some(Value::Float(1.5))).to_partial().to_string(),
            r#"{"max":{"float":"1.5"}}"#
        );
        let l = State::new(AggFunc::Lhist {
            min: 0,
            max: 20,
            step: 10,
        });
        assert_eq!(
            l.to_partial().to_string(),
            r#"{"lhist":{"counts":[0,0,0,0],"max":20,"min":0,"step":10}}"#
        );
    }

    #[test]
    fn malformed_forms_are_errors() {
        let hist65 = |last: &str| format!("{{\"hist\":[{}{last}]}}", "0,".repeat(64));
        let cases = [
            "5".to_string(),
            "null".into(),
            "[]".into(),
            "{}".into(),
            r#"{"count":1,"sum":"2"}"#.into(),
            r#"{"nope":1}"#.into(),
            r#"{"count":-1}"#.into(),
            r#"{"count":1.5}"#.into(),
            r#"{"count":"1"}"#.into(),
            r#"{"count":18446744073709551616}"#.into(),
            r#"{"sum":5}"#.into(),
            r#"{"sum":"1e3"}"#.into(),
            r#"{"sum":""}"#.into(),
            r#"{"sum":"170141183460469231731687303715884105728"}"#.into(),
            r#"{"min":3}"#.into(),
            r#"{"min":{"int":"3"}}"#.into(),
            r#"{"min":{"int":9223372036854775808}}"#.into(),
            r#"{"min":{"float":1.5}}"#.into(),
            r#"{"min":{"float":"one"}}"#.into(),
            r#"{"min":{"text":3}}"#.into(),
            r#"{"max":{"bool":1}}"#.into(),
            r#"{"max":{"list":["a",1]}}"#.into(),
            r#"{"max":{"int":1,"text":"a"}}"#.into(),
            r#"{"max":{"null":0}}"#.into(),
            r#"{"max":{"date":"x"}}"#.into(),
            r#"{"max":{"hist":[{"low":0,"high":1}]}}"#.into(),
            r#"{"max":{"hist":[{"low":"0","high":1,"count":1}]}}"#.into(),
            r#"{"distinct":{"int":1}}"#.into(),
            r#"{"distinct":[{"float":"1.5"}]}"#.into(),
            r#"{"distinct":[1]}"#.into(),
            r#"{"avg":{"sum":"1"}}"#.into(),
            r#"{"avg":{"sum":"1","count":1,"x":0}}"#.into(),
            r#"{"avg":["1",1]}"#.into(),
            r#"{"avg":{"sum":"1","count":-1}}"#.into(),
            r#"{"hist":[1,2,3]}"#.into(),
            r#"{"hist":"x"}"#.into(),
            hist65("0,0"),
            hist65("-1"),
            r#"{"lhist":{"min":0,"max":100,"step":0,"counts":[]}}"#.into(),
            r#"{"lhist":{"min":0,"max":100,"step":-10,"counts":[0,0,0,0]}}"#.into(),
            r#"{"lhist":{"min":100,"max":100,"step":10,"counts":[0,0]}}"#.into(),
            r#"{"lhist":{"min":0,"max":100,"step":10,"counts":[0,0,0,0,0,0,0,0,0,0,0]}}"#.into(),
            r#"{"lhist":{"min":-9223372036854775808,"max":9223372036854775807,"step":1,"counts":[0,0]}}"#.into(),
            r#"{"lhist":{"min":0,"max":100,"counts":[0,0]}}"#.into(),
        ];
        for c in &cases {
            let form: Json = serde_json::from_str(c).expect("JSON");
            match State::from_partial(&form) {
                Err(e) => assert!(
                    e.to_string().starts_with("not a partial state: "),
                    "{c}: {e}"
                ),
                Ok(s) => panic!("{c} read as {s:?}"),
            }
        }
        // The same forms, well made, read.
        assert!(State::from_partial(&serde_json::from_str(&hist65("0")).expect("JSON")).is_ok());
        let l = r#"{"lhist":{"min":0,"max":100,"step":10,"counts":[0,0,0,0,0,0,0,0,0,0,0,0]}}"#;
        assert!(State::from_partial(&serde_json::from_str(l).expect("JSON")).is_ok());
    }
}
