//! SQLite's date functions, with SQLite's semantics, so that osquery's
//! queries run unchanged: `datetime(time, 'unixepoch'[, 'localtime'])`,
//! `date`, `time` and `strftime(fmt, time, 'unixepoch')`
//! (https://sqlite.org/lang_datefunc.html); printf is in printf.rs. Dates are computed by chrono; a value
//! or modifier SQLite would not accept gives NULL, as in SQLite.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

use super::value::{format_float, Value};

/// Julian day number of the Unix epoch.
const JD_EPOCH: f64 = 2_440_587.5;

/// The modifiers the binder accepts (anything else is refused there).
pub fn known_modifier(m: &str) -> bool {
    let m = m.trim().to_ascii_lowercase();
    matches!(
        m.as_str(),
        "unixepoch"
            | "localtime"
            | "utc"
            | "start of day"
            | "start of month"
            | "start of year"
            | "auto"
            | "subsec"
            | "subsecond"
    ) || parse_offset(&m).is_some()
}

/// '+3 days', '-2 hours', '10 minutes', '5 seconds'.
fn parse_offset(m: &str) -> Option<TimeDelta> {
    let mut it = m.split_whitespace();
    let n: f64 = it.next()?.parse().ok()?;
    let unit = it.next()?.trim_end_matches('s');
    if it.next().is_some() || !n.is_finite() {
        return None;
    }
    let secs = match unit {
        "day" => n * 86_400.0,
        "hour" => n * 3_600.0,
        "minute" => n * 60.0,
        "second" => n,
        _ => return None,
    };
    TimeDelta::try_milliseconds((secs * 1000.0).round() as i64)
}

/// The time value and modifiers, as SQLite reads them, in UTC.
fn instant(v: &Value, modifiers: &[Value]) -> Option<NaiveDateTime> {
    let mods: Vec<String> = modifiers
        .iter()
        .map(|m| match m {
            Value::Text(t) => Some(t.trim().to_ascii_lowercase()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let unixepoch = mods
        .first()
        .is_some_and(|m| m == "unixepoch" || m == "auto");
    let as_num;
    let v = match v {
        Value::Bool(b) => {
            as_num = Value::Int(i64::from(*b));
            &as_num
        }
        v => v,
    };
    let mut t = match v {
        Value::Int(i) if unixepoch => DateTime::<Utc>::from_timestamp(*i, 0)?.naive_utc(),
        Value::Float(f) if unixepoch => {
            let ms = (f * 1000.0).round();
            DateTime::<Utc>::from_timestamp_millis(ms as i64)?.naive_utc()
        }
        // A bare number is a Julian day number in SQLite.
        Value::Int(_) | Value::Float(_) => {
            let jd = match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => return None,
            };
            let ms = ((jd - JD_EPOCH) * 86_400_000.0).round();
            DateTime::<Utc>::from_timestamp_millis(ms as i64)?.naive_utc()
        }
        Value::Text(s) => parse_text(s)?,
        _ => return None,
    };
    for (i, m) in mods.iter().enumerate() {
        t = match m.as_str() {
            "unixepoch" | "auto" if i == 0 => t,
            "unixepoch" | "auto" => return None,
            "utc" => t,
            "subsec" | "subsecond" => t,
            "localtime" => t.and_utc().with_timezone(&Local).naive_local(),
            "start of day" => t.date().and_hms_opt(0, 0, 0)?,
            "start of month" => t.date().with_day(1)?.and_hms_opt(0, 0, 0)?,
            "start of year" => NaiveDate::from_ymd_opt(t.year(), 1, 1)?.and_hms_opt(0, 0, 0)?,
            m => t.checked_add_signed(parse_offset(m)?)?,
        };
    }
    // SQLite's range: Julian day 0 (-4713-11-24 12:00) to the end of 9999.
    (-4713..=9999).contains(&t.year()).then_some(t)
}

/// SQLite's time strings: `now`, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.SSS]]`
/// (or with `T`), `HH:MM[:SS[.SSS]]` (on 2000-01-01), each time optionally
/// followed by `Z` or `±HH:MM` (converted to UTC). The fields are fixed
/// width, as SQLite wants; a day past the month's end (2024-02-30) rolls
/// over, as in SQLite.
fn parse_text(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim_end();
    if s.eq_ignore_ascii_case("now") {
        return Some(Utc::now().naive_utc());
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(d).ok()?.parse().ok())?
    };
    let (date, rest) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(y as i32, m, 1)?;
        (
            first.checked_add_signed(TimeDelta::days(i64::from(d) - 1))?,
            &s[10..],
        )
    } else {
        (NaiveDate::from_ymd_opt(2000, 1, 1)?, s)
    };
    let rest = rest.strip_prefix(['T', ' ']).unwrap_or(rest);
    if rest.is_empty() {
        return (date != NaiveDate::from_ymd_opt(2000, 1, 1)? || s.len() >= 10)
            .then(|| date.and_hms_opt(0, 0, 0))?;
    }
    let r = rest.as_bytes();
    let n2 = |i: usize| -> Option<u32> {
        let d = r.get(i..i + 2)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
    };
    if r.len() < 5 || r[2] != b':' {
        return None;
    }
    let (h, mi) = (n2(0)?, n2(3)?);
    let mut i = 5;
    let mut sec = 0f64;
    if r.get(i) == Some(&b':') {
        let whole = n2(i + 1)?;
        i += 3;
        let mut frac = String::from("0");
        if r.get(i) == Some(&b'.') {
            i += 1;
            frac.push('.');
            while let Some(c) = r.get(i).filter(|c| c.is_ascii_digit()) {
                frac.push(*c as char);
                i += 1;
            }
        }
        sec = f64::from(whole) + frac.parse::<f64>().unwrap_or(0.0);
    }
    if h > 24 || mi > 59 || sec >= 60.0 {
        return None;
    }
    let mut t = date.and_hms_opt(0, 0, 0)?
        + TimeDelta::hours(i64::from(h))
        + TimeDelta::minutes(i64::from(mi))
        + TimeDelta::milliseconds((sec * 1000.0).round() as i64);
    let tz = rest[i..].trim_start();
    if tz.eq_ignore_ascii_case("z") {
    } else if let Some(sign) = tz.strip_prefix(['+', '-']).map(|_| tz.as_bytes()[0]) {
        let z = &tz.as_bytes()[1..];
        if z.len() != 5 || z[2] != b':' || !z[..2].iter().chain(&z[3..]).all(u8::is_ascii_digit) {
            return None;
        }
        let off = i64::from((z[0] - b'0') * 10 + (z[1] - b'0')) * 60
            + i64::from((z[3] - b'0') * 10 + (z[4] - b'0'));
        // A local time at +02:00 is two hours ahead of UTC.
        t -= TimeDelta::minutes(if sign == b'+' { off } else { -off });
    } else if !tz.is_empty() {
        return None;
    }
    Some(t)
}

/// datetime(), date(), time(): `fmt` is the strftime format each stands for.
pub fn datetime(fmt: &str, args: &[Value]) -> Value {
    match args.split_first() {
        Some((v, mods)) => strftime_of(fmt, v, mods),
        None => strftime_of(fmt, &Value::Text("now".into()), &[]),
    }
}

/// strftime(fmt, time, modifiers...).
pub fn strftime(args: &[Value]) -> Value {
    let Some((Value::Text(fmt), rest)) = args.split_first() else {
        return Value::Null;
    };
    match rest.split_first() {
        Some((v, mods)) => strftime_of(fmt, v, mods),
        None => strftime_of(fmt, &Value::Text("now".into()), &[]),
    }
}

fn strftime_of(fmt: &str, v: &Value, mods: &[Value]) -> Value {
    let Some(t) = instant(v, mods) else {
        return Value::Null;
    };
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            return Value::Null;
        };
        let _ = match spec {
            'd' => write!(out, "{:02}", t.day()),
            'e' => write!(out, "{:2}", t.day()),
            'f' => write!(
                out,
                "{:06.3}",
                t.second() as f64 + f64::from(t.nanosecond() / 1_000_000) / 1000.0
            ),
            'F' => write!(out, "{}", t.format("%Y-%m-%d")),
            'H' => write!(out, "{:02}", t.hour()),
            'I' => write!(out, "{:02}", t.hour12().1),
            'k' => write!(out, "{:2}", t.hour()),
            'l' => write!(out, "{:2}", t.hour12().1),
            'j' => write!(out, "{:03}", t.ordinal()),
            'J' => write!(
                out,
                "{}",
                format_float(t.and_utc().timestamp_millis() as f64 / 86_400_000.0 + JD_EPOCH)
            ),
            'm' => write!(out, "{:02}", t.month()),
            'M' => write!(out, "{:02}", t.minute()),
            'p' => out.write_str(if t.hour() < 12 { "AM" } else { "PM" }),
            'P' => out.write_str(if t.hour() < 12 { "am" } else { "pm" }),
            'R' => write!(out, "{}", t.format("%H:%M")),
            's' => write!(out, "{}", t.and_utc().timestamp()),
            'S' => write!(out, "{:02}", t.second()),
            'T' => write!(out, "{}", t.format("%H:%M:%S")),
            'u' => write!(out, "{}", t.weekday().number_from_monday()),
            'w' => write!(out, "{}", t.weekday().num_days_from_sunday()),
            'W' => write!(out, "{}", t.format("%W")),
            'U' => write!(out, "{}", t.format("%U")),
            'V' => write!(out, "{}", t.format("%V")),
            'G' => write!(out, "{}", t.format("%G")),
            'g' => write!(out, "{}", t.format("%g")),
            'Y' => write!(out, "{:04}", t.year()),
            '%' => out.write_char('%'),
            _ => return Value::Null,
        };
    }
    Value::Text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn datetime_as_sqlite_gives_it() {
        // sqlite3: select datetime(1700000000, 'unixepoch');
        assert_eq!(
            datetime(
                "%Y-%m-%d %H:%M:%S",
                &[Value::Int(1_700_000_000), t("unixepoch")]
            ),
            t("2023-11-14 22:13:20")
        );
        assert_eq!(
            datetime("%Y-%m-%d", &[Value::Int(0), t("unixepoch")]),
            t("1970-01-01")
        );
        assert_eq!(
            datetime("%H:%M:%S", &[Value::Int(86_399), t("unixepoch")]),
            t("23:59:59")
        );
        // A bare number is a Julian day: 2460263.42592593 is the same time.
        assert_eq!(
            datetime("%Y-%m-%d %H:%M:%S", &[Value::Float(2_460_263.425_925_926)]),
            t("2023-11-14 22:13:20")
        );
        // Out of SQLite's range, NULL and text that is no date: NULL.
        assert_eq!(datetime("%Y", &[Value::Int(1_700_000_000)]), Value::Null);
        assert_eq!(datetime("%Y", &[Value::Null, t("unixepoch")]), Value::Null);
        assert_eq!(datetime("%Y", &[t("yesterday")]), Value::Null);
        assert_eq!(
            datetime(
                "%Y-%m-%d %H:%M:%S",
                &[t("2024-02-28 10:00:00"), t("+1 day"), t("start of day")]
            ),
            t("2024-02-29 00:00:00")
        );
        assert_eq!(
            strftime(&[t("%s %j %w %%"), Value::Int(1_700_000_000), t("unixepoch")]),
            t("1700000000 318 2 %")
        );
        assert_eq!(
            strftime(&[t("%Q"), Value::Int(1), t("unixepoch")]),
            Value::Null
        );
    }

    #[test]
    fn localtime_follows_tz() {
        // The offset chrono finds for this process's TZ, whatever it is.
        let utc = datetime("%s", &[Value::Int(1_700_000_000), t("unixepoch")]);
        assert_eq!(utc, t("1700000000"));
        let local = datetime(
            "%Y-%m-%d %H:%M:%S",
            &[Value::Int(1_700_000_000), t("unixepoch"), t("localtime")],
        );
        let want = DateTime::<Utc>::from_timestamp(1_700_000_000, 0)
            .expect("valid")
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        assert_eq!(local, t(&want));
    }
}
