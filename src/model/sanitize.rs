//! Terminal-safe text, in ebq's one text encoding (documented in README,
//! "Text encoding"). Strings from the kernel (argv, paths, comm) are written
//! by other processes, possibly hostile ones. A `Text` value already holds
//! a backslash as `\\` and a byte that is not UTF-8 as `\xNN`
//! (exec/value.rs); before any of it reaches a terminal, a file or jq,
//! this escapes, in every format (table, CSV, JSON):
//! - `\n`, `\t`, `\r` by name, every other C0 control and DEL as `\xNN`
//!   (an ASCII byte, so never confused with an invalid byte, which is
//!   `\x80` or above);
//! - C1 controls, bidi marks, overrides and isolates, zero-width and
//!   invisible characters, the line and paragraph separators and the BOM
//!   as `\u{N}` (`needs_escape` lists them).
//!
//! So no escape sequence ever runs, what is shown is what is there, and
//! `exec::value::decode` gives back the original bytes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that move, hide or break text: C0, DEL and C1 controls
/// (is_control), the bidi marks, embeddings, overrides and isolates
/// (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width and invisible
/// characters (U+200B-D, U+2060-4, U+206A-F, U+FEFF, U+180E), the line
/// and paragraph separators (U+2028/9, which split JSON lines in some
/// readers) and the interlinear annotations (U+FFF9-B).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::{decode, text_from_bytes};
    use proptest::prelude::*;

    #[test]
    fn escapes_what_a_terminal_would_run() {
        assert_eq!(sanitize("plain /usr/bin"), "plain /usr/bin");
        assert_eq!(sanitize("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(sanitize("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(sanitize("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(sanitize("del\x7f"), "del\\x7f");
        assert_eq!(sanitize("evil\u{202E}txt"), "evil\\u{202e}txt");
        assert_eq!(sanitize("back\x08"), "back\\x08");
        assert_eq!(
            sanitize("a\u{2028}b\u{2029}c\u{61c}d\u{2060}e"),
            "a\\u{2028}b\\u{2029}c\\u{61c}d\\u{2060}e"
        );
    }

    #[test]
    fn look_alikes_stay_apart() {
        // A name holding backslash-x-f-f and one holding the byte 0xff.
        let lit = sanitize(&text_from_bytes(b"lit\\xff")).into_owned();
        let raw = sanitize(&text_from_bytes(b"lit\xff")).into_owned();
        assert_eq!(lit, "lit\\\\xff");
        assert_eq!(raw, "lit\\xff");
        // A literal escape sequence and a real one.
        assert_eq!(sanitize(&text_from_bytes(b"\\x1b[31m")), "\\\\x1b[31m");
        assert_eq!(sanitize(&text_from_bytes(b"\x1b[31m")), "\\x1b[31m");
        // U+009B (C2 9B) and the lone byte 0x9b.
        assert_eq!(sanitize(&text_from_bytes("\u{9b}".as_bytes())), "\\u{9b}");
        assert_eq!(sanitize(&text_from_bytes(b"\x9b")), "\\x9b");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Decoding what ebq prints gives back the bytes, whatever they are.
        #[test]
        fn the_encoding_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let shown = sanitize(&text_from_bytes(&bytes)).into_owned();
            prop_assert!(!shown.chars().any(needs_escape), "{shown:?}");
            prop_assert_eq!(decode(&shown), bytes);
        }

        /// The same with the characters that matter most: backslashes,
        /// x, hex digits, controls, C1 and bidi.
        #[test]
        fn the_encoding_round_trips_on_tricky_text(parts in proptest::collection::vec(proptest::sample::select(&["\\", "x", "f", "1b", "u{", "}", "\n", "\x1b", "\u{9b}", "\u{202e}", "\u{7f}", "é", "a"][..]), 0..24), raw in proptest::collection::vec(128u8..=255, 0..3)) {
            let mut bytes: Vec<u8> = parts.concat().into_bytes();
            bytes.extend(raw);
            let shown = sanitize(&text_from_bytes(&bytes)).into_owned();
            prop_assert_eq!(decode(&shown), bytes);
        }
    }
}
