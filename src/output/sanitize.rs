//! Terminal-safe text. Strings from the kernel (argv, paths, comm) are
//! written by other processes, possibly hostile ones: before they reach a
//! terminal (table and csv output), control characters, C1 controls, bidi
//! overrides and zero-width characters are shown escaped, so no escape
//! sequence ever runs and what is shown is what is there. JSON needs no
//! pass: serde_json escapes control characters itself.

use std::borrow::Cow;
use std::fmt::Write as _;

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
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
            c if needs_escape(c) && (c as u32) < 0x100 => {
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

    #[test]
    fn escapes_what_a_terminal_would_run() {
        assert_eq!(sanitize("plain /usr/bin"), "plain /usr/bin");
        assert_eq!(sanitize("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(sanitize("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(sanitize("\u{9b}2J"), "\\x9b2J");
        assert_eq!(sanitize("evil\u{202E}txt"), "evil\\u{202e}txt");
        assert_eq!(sanitize("back\x08"), "back\\x08");
    }
}
