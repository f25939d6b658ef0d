//! SQLite's date and format functions, with SQLite's semantics, so that
//! osquery's queries run unchanged: `datetime(time, 'unixepoch'[,
//! 'localtime'])`, `date`, `time`, `strftime(fmt, time, 'unixepoch')` and
//! `printf(fmt, ...)` (https://sqlite.org/lang_datefunc.html,
//! https://sqlite.org/printf.html). Dates are computed by chrono; a value
//! or modifier SQLite would not accept gives NULL, as in SQLite.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

use super::value::{decode, format_float, Value};

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

/// The longest numeric prefix of a text, as SQLite reads '12abc' as 12.
fn numeric_prefix(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let mut any = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        let mut j = i + 1;
        if digits(&mut j) || any {
            any = true;
            i = j;
        }
    }
    if any && matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if digits(&mut j) {
            i = j;
        }
    }
    if any {
        &s[..i]
    } else {
        ""
    }
}

fn as_int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(i)) => *i,
        Some(Value::Float(f)) => *f as i64,
        Some(Value::Bool(b)) => i64::from(*b),
        Some(Value::Text(s)) => {
            let p = numeric_prefix(s.trim_start());
            // A whole number saturates, as SQLite's text-to-integer does;
            // a decimal one is cut toward zero.
            p.parse::<i64>().unwrap_or_else(|_| match p.parse::<f64>() {
                Ok(f) => f as i64,
                Err(_) if p.bytes().all(|c| c.is_ascii_digit() || c == b'+') && !p.is_empty() => {
                    i64::MAX
                }
                Err(_) if p.starts_with('-') => i64::MIN,
                Err(_) => 0,
            })
        }
        _ => 0,
    }
}

fn as_float(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Text(s)) => numeric_prefix(s.trim_start()).parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A value as the bytes %s prints (SQLite has no booleans: 1 and 0).
fn as_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Text(t) => decode(t),
        Value::Bool(b) => vec![if *b { b'1' } else { b'0' }],
        v => decode(&v.to_string()),
    }
}

/// Pads `s` (bytes) to the width: spaces, or zeros after the sign.
fn pad(out: &mut Vec<u8>, s: &[u8], sp: &Spec, numeric: bool) {
    if s.len() >= sp.width {
        out.extend_from_slice(s);
        return;
    }
    let fill = sp.width - s.len();
    if sp.left {
        out.extend_from_slice(s);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if sp.zero && numeric && !s.starts_with(b"Inf") && !s[1..].starts_with(b"Inf") {
        let cut = if s.starts_with(b"0x") || s.starts_with(b"0X") {
            2
        } else {
            usize::from(s.starts_with(b"-") || s.starts_with(b"+") || s.starts_with(b" "))
        };
        out.extend_from_slice(&s[..cut]);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(&s[cut..]);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(s);
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

/// Decimal digits of |v| rounded half up (as SQLite rounds, unlike Rust's
/// half to even) at `p` digits after the point: (integer part, fraction).
fn fixed(v: f64, p: usize) -> (String, String) {
    // The double's decimal expansion, far enough to see the rounding digit
    // exactly for any value a query holds.
    let s = format!("{:.*}", p + 30, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes().take(p)).collect();
    let up = frac.as_bytes().get(p).is_some_and(|d| *d >= b'5');
    if up {
        let mut k = digits.len();
        loop {
            if k == 0 {
                digits.insert(0, b'1');
                break;
            }
            k -= 1;
            if digits[k] == b'9' {
                digits[k] = b'0';
            } else {
                digits[k] += 1;
                break;
            }
        }
    }
    let n = digits.len() - p;
    let text = String::from_utf8(digits).unwrap_or_default();
    (text[..n].to_string(), text[n..].to_string())
}

/// %e's mantissa and exponent of |v| with `p` digits, rounded half up on
/// the double's own decimal expansion (12345 to 3 digits is 1.235e+04).
fn exp_parts(v: f64, p: usize) -> (String, i32) {
    let s = format!("{:.*e}", p + 30, v.abs());
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let mut e: i32 = e.parse().unwrap_or(0);
    let digits: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    let mut kept: Vec<u8> = digits[..=p.min(digits.len() - 1)].to_vec();
    if digits.get(p + 1).is_some_and(|d| *d >= b'5') {
        let mut k = kept.len();
        loop {
            if k == 0 {
                // 9.99... rounded up: 10.0..., one more in the exponent.
                kept.insert(0, b'1');
                kept.pop();
                e += 1;
                break;
            }
            k -= 1;
            if kept[k] == b'9' {
                kept[k] = b'0';
            } else {
                kept[k] += 1;
                break;
            }
        }
    }
    let text = String::from_utf8(kept).unwrap_or_default();
    (join(&text[..1], &text[1..]), e)
}

fn join(int: &str, frac: &str) -> String {
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

fn exp_text(m: &str, e: i32, upper: bool) -> String {
    let sign = if e < 0 { '-' } else { '+' };
    format!("{m}{}{sign}{:02}", if upper { 'E' } else { 'e' }, e.abs())
}

/// One floating conversion (f e E g G) of `v`, sign and all.
fn float_conv(v: f64, conv: u8, sp: &Spec) -> String {
    let sign = if v.is_sign_negative() && v != 0.0 {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    };
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return format!("{sign}Inf");
    }
    let p = sp.precision.unwrap_or(6);
    let body = match conv {
        b'f' => {
            let (i, f) = fixed(v, p);
            let i = if sp.comma { group_thousands(&i) } else { i };
            let mut s = join(&i, &f);
            if sp.alt && p == 0 {
                s.push('.');
            }
            s
        }
        b'e' | b'E' => {
            let (mut m, e) = exp_parts(v, p);
            if sp.alt && p == 0 {
                m.push('.');
            }
            exp_text(&m, e, conv == b'E')
        }
        _ => {
            // %g: %e when the exponent is below -4 or at least the
            // precision, else %f; trailing zeros go unless `#`.
            let p = p.max(1);
            let (_, e) = exp_parts(v, p - 1);
            let trim = |s: String| {
                if sp.alt || !s.contains('.') {
                    s
                } else {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                }
            };
            if e < -4 || e >= p as i32 {
                let (m, e) = exp_parts(v, p - 1);
                exp_text(&trim(m), e, conv == b'G')
            } else {
                let (i, f) = fixed(v, (p as i32 - 1 - e).max(0) as usize);
                trim(join(&i, &f))
            }
        }
    };
    format!("{sign}{body}")
}

/// printf(fmt, args...) with SQLite's conversions: d i u x X o c s z q Q w
/// f e E g G %, flags - + space 0 # and `,`, width and precision (`*` reads
/// an argument). A missing argument is NULL: 0 or the empty string. Text
/// is formatted as the bytes it stands for (widths and precisions count
/// bytes, as SQLite's do), so `%.1s` never cuts a `\xNN` in half.
pub fn printf(args: &[Value]) -> Value {
    let Some((fmt, args)) = args.split_first() else {
        return Value::Null;
    };
    let fmt = match fmt {
        Value::Text(f) => decode(f),
        Value::Null => return Value::Null,
        v => as_bytes(v),
    };
    let mut next = args.iter();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    let peek = |i: usize| fmt.get(i).copied();
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let mut sp = Spec::default();
        while let Some(f) = peek(i) {
            match f {
                b'-' => sp.left = true,
                b'+' => sp.plus = true,
                b' ' => sp.space = true,
                b'0' => sp.zero = true,
                b'#' => sp.alt = true,
                b',' => sp.comma = true,
                _ => break,
            }
            i += 1;
        }
        if peek(i) == Some(b'*') {
            i += 1;
            let w = as_int(next.next());
            if w < 0 {
                sp.left = true;
            }
            sp.width = (w.unsigned_abs().min(MAX_WIDTH as u64)) as usize;
        } else {
            while let Some(d) = peek(i).filter(u8::is_ascii_digit) {
                sp.width = (sp.width * 10 + usize::from(d - b'0')).min(MAX_WIDTH);
                i += 1;
            }
        }
        if peek(i) == Some(b'.') {
            i += 1;
            let mut p = 0usize;
            if peek(i) == Some(b'*') {
                i += 1;
                let n = as_int(next.next());
                p = n.unsigned_abs().min(MAX_WIDTH as u64) as usize;
            } else {
                while let Some(d) = peek(i).filter(u8::is_ascii_digit) {
                    p = (p * 10 + usize::from(d - b'0')).min(MAX_WIDTH);
                    i += 1;
                }
            }
            sp.precision = Some(p);
        }
        // One `l` or two (SQLite's length modifiers) mean nothing here.
        for _ in 0..2 {
            if peek(i) == Some(b'l') {
                i += 1;
            }
        }
        let Some(conv) = peek(i) else {
            // A `%` with no conversion is printed as it is.
            out.push(b'%');
            break;
        };
        i += 1;
        match conv {
            b'%' => out.push(b'%'),
            b'd' | b'i' => {
                let v = as_int(next.next());
                let mut digits = v.unsigned_abs().to_string();
                if let Some(p) = sp.precision {
                    while digits.len() < p.min(MAX_WIDTH) {
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
                pad(&mut out, format!("{sign}{digits}").as_bytes(), &sp, true);
            }
            b'u' => {
                let v = as_int(next.next()) as u64;
                pad(&mut out, v.to_string().as_bytes(), &sp, true);
            }
            b'x' | b'X' | b'o' => {
                // Negative numbers print as their 64-bit two's complement.
                let v = as_int(next.next()) as u64;
                let mut s = match conv {
                    b'x' => format!("{v:x}"),
                    b'X' => format!("{v:X}"),
                    _ => format!("{v:o}"),
                };
                if let Some(p) = sp.precision {
                    while s.len() < p {
                        s.insert(0, '0');
                    }
                }
                if sp.alt && v != 0 {
                    s = match conv {
                        b'x' => format!("0x{s}"),
                        b'X' => format!("0X{s}"),
                        _ if !s.starts_with('0') => format!("0{s}"),
                        _ => s,
                    };
                }
                pad(&mut out, s.as_bytes(), &sp, true);
            }
            b'f' | b'e' | b'E' | b'g' | b'G' => {
                let v = as_float(next.next());
                pad(&mut out, float_conv(v, conv, &sp).as_bytes(), &sp, true);
            }
            b'c' => {
                let b = next.next().map(as_bytes).unwrap_or_default();
                // One character: a UTF-8 sequence, or one byte that is none.
                let one = match b.utf8_chunks().next() {
                    Some(ch) if !ch.valid().is_empty() => {
                        let c = ch.valid().chars().next().map_or(0, char::len_utf8);
                        b[..c].to_vec()
                    }
                    Some(_) => b[..1].to_vec(),
                    None => Vec::new(),
                };
                let n = sp.precision.unwrap_or(1).max(1);
                pad(&mut out, &one.repeat(n), &sp, false);
            }
            b's' | b'z' | b'q' | b'Q' | b'w' => {
                let arg = next.next();
                let null = matches!(arg, None | Some(Value::Null));
                let mut s = arg.map(as_bytes).unwrap_or_default();
                // The precision cuts the value before it is quoted.
                if let Some(p) = sp.precision {
                    s.truncate(p);
                }
                let s = match conv {
                    b'q' | b'w' if null => b"(NULL)".to_vec(),
                    b'Q' if null => b"NULL".to_vec(),
                    b'q' => quote(&s, b'\'', false),
                    b'Q' => quote(&s, b'\'', true),
                    b'w' => quote(&s, b'"', false),
                    _ => s,
                };
                pad(&mut out, &s, &sp, false);
            }
            // SQLite stops at a conversion it does not know.
            _ => break,
        }
    }
    Value::Text(crate::exec::value::text_from_bytes(&out))
}

/// `s` with every `q` doubled, inside q's when `wrap`.
fn quote(s: &[u8], q: u8, wrap: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    if wrap {
        out.push(q);
    }
    for &b in s {
        out.push(b);
        if b == q {
            out.push(q);
        }
    }
    if wrap {
        out.push(q);
    }
    out
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
        // What sqlite3 3.40 prints for the same.
        assert_eq!(p("abc%", vec![]), t("abc%"));
        assert_eq!(
            p("%.3Q|%.3q", vec![t("abcdef"), t("ab'cd")]),
            t("'abc'|ab''")
        );
        assert_eq!(
            p(
                "%.3e|%.2g|%.1f",
                vec![Value::Int(12345), Value::Int(125), t("0.25")]
            ),
            t("1.235e+04|1.3e+02|0.3")
        );
        assert_eq!(p("%5s|", vec![t("éé")]), t(" éé|"));
        assert_eq!(
            p(
                "%e|%f|%d",
                vec![
                    Value::Float(f64::INFINITY),
                    t("12abc"),
                    t("9999999999999999999")
                ]
            ),
            t("Inf|12.000000|9223372036854775807")
        );
        assert_eq!(
            p(
                "%q|%s|%#.0f",
                vec![Value::Null, Value::Bool(true), Value::Float(3.0)]
            ),
            t("(NULL)|1|3.")
        );
        assert_eq!(
            p(
                "%.3f|%.0f|%g|%g",
                vec![
                    Value::Float(0.9995),
                    Value::Float(2.5),
                    Value::Float(1e-5),
                    Value::Float(123456789.0)
                ]
            ),
            t("1.000|3|1e-05|1.23457e+08")
        );
        // Text is formatted as its bytes: no `\xNN` is cut in half.
        assert_eq!(
            p("%.1s|%c", vec![t("\\xffabc"), t("\\xff")]),
            t("\\xff|\\xff")
        );
        // A huge width is bounded, not an allocation of gigabytes.
        let Value::Text(s) = p("%999999999d", vec![Value::Int(1)]) else {
            panic!("text")
        };
        assert_eq!(s.len(), MAX_WIDTH);
    }
}
