//! SQLite's date and format functions, with SQLite's semantics, so that
//! osquery's queries run unchanged: `datetime(time, 'unixepoch'[,
//! 'localtime'])`, `date`, `time`, `strftime(fmt, time, 'unixepoch')` and
//! `printf(fmt, ...)` (https://sqlite.org/lang_datefunc.html,
//! https://sqlite.org/printf.html). Dates are computed by chrono; a value
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
    // SQLite's range: years 0000 to 9999.
    (0..=9999).contains(&t.year()).then_some(t)
}

fn parse_text(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Some(Utc::now().naive_utc());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
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

/// One conversion of a printf format: flags, width, precision, type.
#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    comma: bool,
    width: usize,
    precision: Option<usize>,
}

/// Widths and precisions past this are cut (SQLite's own limit is the
/// length of a string, SQLITE_MAX_LENGTH; one row is not a place for more).
const MAX_WIDTH: usize = 10_000;

fn as_int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(i)) => *i,
        Some(Value::Float(f)) => *f as i64,
        Some(Value::Bool(b)) => i64::from(*b),
        Some(Value::Text(s)) => {
            let s = s.trim_start();
            let end = s
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(s.len(), |(i, _)| i);
            s[..end].parse().unwrap_or(0)
        }
        _ => 0,
    }
}

fn as_float(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Text(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn pad(out: &mut String, s: &str, sp: &Spec, numeric: bool) {
    let len = s.chars().count();
    if len >= sp.width {
        out.push_str(s);
        return;
    }
    let fill = sp.width - len;
    if sp.left {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if sp.zero && numeric {
        // Zeros go after the sign or 0x.
        let cut = if s.starts_with(['-', '+', ' ']) {
            1
        } else if s.starts_with("0x") || s.starts_with("0X") {
            2
        } else {
            0
        };
        out.push_str(&s[..cut]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(&s[cut..]);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// printf(fmt, args...) with SQLite's conversions: d i u x X o c s q f e E
/// g G %, flags - + space 0 # and `,`, width and precision (`*` reads an
/// argument). A missing argument is NULL: 0 or the empty string.
pub fn printf(args: &[Value]) -> Value {
    let Some((fmt, args)) = args.split_first() else {
        return Value::Null;
    };
    let fmt = match fmt {
        Value::Text(f) => f.as_str(),
        Value::Null => return Value::Null,
        _ => return Value::Text(fmt.to_string()),
    };
    let mut next = args.iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut sp = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => sp.left = true,
                '+' => sp.plus = true,
                ' ' => sp.space = true,
                '0' => sp.zero = true,
                '#' => sp.alt = true,
                ',' => sp.comma = true,
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'*') {
            chars.next();
            let w = as_int(next.next());
            if w < 0 {
                sp.left = true;
            }
            sp.width = (w.unsigned_abs() as usize).min(MAX_WIDTH);
        } else {
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                sp.width = (sp.width * 10 + d as usize).min(MAX_WIDTH);
                chars.next();
            }
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            if chars.peek() == Some(&'*') {
                chars.next();
                p = as_int(next.next()).max(0) as usize;
            } else {
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    p = (p * 10 + d as usize).min(MAX_WIDTH);
                    chars.next();
                }
            }
            sp.precision = Some(p.min(MAX_WIDTH));
        }
        // Length modifiers (l, ll, h) are accepted and mean nothing.
        while matches!(chars.peek(), Some('l' | 'h')) {
            chars.next();
        }
        let Some(conv) = chars.next() else {
            break;
        };
        match conv {
            '%' => out.push('%'),
            'd' | 'i' => {
                let v = as_int(next.next());
                let mut digits = v.unsigned_abs().to_string();
                if let Some(p) = sp.precision {
                    while digits.len() < p {
                        digits.insert(0, '0');
                    }
                }
                if sp.comma {
                    digits = group_thousands(&digits);
                }
                let sign = if v < 0 {
                    "-"
                } else if sp.plus {
                    "+"
                } else if sp.space {
                    " "
                } else {
                    ""
                };
                pad(&mut out, &format!("{sign}{digits}"), &sp, true);
            }
            'u' => {
                let v = as_int(next.next()) as u64;
                pad(&mut out, &v.to_string(), &sp, true);
            }
            'x' | 'X' | 'o' => {
                // Negative numbers print as their 64-bit two's complement.
                let v = as_int(next.next()) as u64;
                let mut s = match conv {
                    'x' => format!("{v:x}"),
                    'X' => format!("{v:X}"),
                    _ => format!("{v:o}"),
                };
                if let Some(p) = sp.precision {
                    while s.len() < p {
                        s.insert(0, '0');
                    }
                }
                if sp.alt && v != 0 {
                    s = match conv {
                        'x' => format!("0x{s}"),
                        'X' => format!("0X{s}"),
                        _ if !s.starts_with('0') => format!("0{s}"),
                        _ => s,
                    };
                }
                pad(&mut out, &s, &sp, true);
            }
            'f' | 'e' | 'E' | 'g' | 'G' => {
                let v = as_float(next.next());
                let p = sp.precision.unwrap_or(6);
                let mut s = match conv {
                    'f' => format!("{v:.p$}"),
                    'e' => c_exp(v, p, false),
                    'E' => c_exp(v, p, true),
                    _ => {
                        // %g: the shorter of %e and %f, trailing zeros gone.
                        let p = p.max(1);
                        let exp = if v == 0.0 {
                            0
                        } else {
                            v.abs().log10().floor() as i32
                        };
                        let mut s = if exp < -4 || exp >= p as i32 {
                            c_exp(v, p - 1, conv == 'G')
                        } else {
                            format!("{v:.*}", (p as i32 - 1 - exp).max(0) as usize)
                        };
                        if !sp.alt && s.contains('.') {
                            let (m, e) = match s.find(['e', 'E']) {
                                Some(i) => (s[..i].to_string(), s[i..].to_string()),
                                None => (s.clone(), String::new()),
                            };
                            let m = m.trim_end_matches('0').trim_end_matches('.');
                            s = format!("{m}{e}");
                        }
                        s
                    }
                };
                if v >= 0.0 && sp.plus {
                    s.insert(0, '+');
                } else if v >= 0.0 && sp.space {
                    s.insert(0, ' ');
                }
                pad(&mut out, &s, &sp, true);
            }
            'c' => {
                let s = match next.next() {
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v
                        .to_string()
                        .chars()
                        .next()
                        .map(String::from)
                        .unwrap_or_default(),
                };
                let n = sp.precision.unwrap_or(1).max(1);
                pad(&mut out, &s.repeat(n), &sp, false);
            }
            's' | 'z' | 'q' | 'Q' | 'w' => {
                let s = match next.next() {
                    Some(Value::Null) | None if conv == 'Q' => "NULL".to_string(),
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                };
                let s = match conv {
                    'q' => s.replace('\'', "''"),
                    'Q' if s != "NULL" => format!("'{}'", s.replace('\'', "''")),
                    'w' => s.replace('"', "\"\""),
                    _ => s,
                };
                let s: String = match sp.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                };
                pad(&mut out, &s, &sp, false);
            }
            // SQLite stops at a conversion it does not know.
            _ => break,
        }
    }
    Value::Text(out)
}

/// C's %e: d.ddde+XX.
fn c_exp(v: f64, p: usize, upper: bool) -> String {
    let s = format!("{v:.p$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    let out = format!("{m}e{sign}{:02}", e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
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

    #[test]
    fn printf_as_sqlite_gives_it() {
        let p = |f: &str, a: Vec<Value>| {
            let mut v = vec![t(f)];
            v.extend(a);
            printf(&v)
        };
        assert_eq!(p("%o", vec![Value::Int(0o4755)]), t("4755"));
        assert_eq!(p("%#o", vec![Value::Int(0o644)]), t("0644"));
        assert_eq!(
            p(
                "%x %X %#x",
                vec![Value::Int(255), Value::Int(255), Value::Int(255)]
            ),
            t("ff FF 0xff")
        );
        assert_eq!(p("%x", vec![Value::Int(-1)]), t("ffffffffffffffff"));
        assert_eq!(
            p(
                "%5d|%-5d|%05d|%+d",
                vec![
                    Value::Int(42),
                    Value::Int(42),
                    Value::Int(-42),
                    Value::Int(7)
                ]
            ),
            t("   42|42   |-0042|+7")
        );
        assert_eq!(p("%s=%d", vec![t("pid"), Value::Int(9)]), t("pid=9"));
        assert_eq!(
            p("%.2s|%5s|%-4s|", vec![t("abcdef"), t("ab"), t("ab")]),
            t("ab|   ab|ab  |")
        );
        assert_eq!(p("%d %s|", vec![]), t("0 |"));
        assert_eq!(p("%d", vec![t("12abc")]), t("12"));
        assert_eq!(
            p(
                "%.3f %e %g %g",
                vec![
                    Value::Float(2.5),
                    Value::Float(12345.678),
                    Value::Float(0.0001),
                    Value::Float(100000.0)
                ]
            ),
            t("2.500 1.234568e+04 0.0001 100000")
        );
        assert_eq!(p("%,d", vec![Value::Int(1_234_567)]), t("1,234,567"));
        assert_eq!(p("%q", vec![t("it's")]), t("it''s"));
        assert_eq!(p("100%%", vec![]), t("100%"));
        assert_eq!(p("%*d", vec![Value::Int(4), Value::Int(7)]), t("   7"));
        assert_eq!(printf(&[Value::Null]), Value::Null);
        // A huge width is bounded, not an allocation of gigabytes.
        let Value::Text(s) = p("%999999999d", vec![Value::Int(1)]) else {
            panic!("text")
        };
        assert_eq!(s.len(), MAX_WIDTH);
    }
}
