//! SQLite's printf(fmt, ...) (https://sqlite.org/printf.html), with
//! SQLite's conversions, flags and rounding, over the bytes a value stands
//! for (ebq's text encoding, exec/value.rs), so that a mode shows in octal
//! as osquery users write it: `printf('%o', 493)` is `755`.

use super::value::{decode, Value};

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

/// Adds one to the decimal digits, carrying; true when it carries out
/// of the first (999 + 1: the caller adds the leading 1).
fn carry(digits: &mut [u8]) -> bool {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return false;
        }
    }
    true
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
    if up && carry(&mut digits) {
        digits.insert(0, b'1');
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
    // 9.99... rounded up is 10.0...: one more in the exponent.
    if digits.get(p + 1).is_some_and(|d| *d >= b'5') && carry(&mut kept) {
        kept.insert(0, b'1');
        kept.pop();
        e += 1;
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

/// What goes before a number: `-`, or what the `+` and space flags ask.
fn sign(negative: bool, sp: &Spec) -> &'static str {
    if negative {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    }
}

/// One floating conversion (f e E g G) of `v`, sign and all.
fn float_conv(v: f64, conv: u8, sp: &Spec) -> String {
    let sign = sign(v.is_sign_negative() && v != 0.0, sp);
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
                let sign = sign(v < 0, &sp);
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
    Value::Text(crate::model::value::text_from_bytes(&out))
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
