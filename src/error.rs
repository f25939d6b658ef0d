//! Errors, typed by the layer that found them and said from the user's
//! side. main() prints each as one `ebq:` line (an SQL error adds the query
//! with a caret under the position) and picks the exit status: 2 for a
//! mistake in the command line or the query, 1 for everything else.
//!
//! The layers: the query (`Sql`, from sql/), the command line (`Usage`),
//! the kernel side (`Kernel`, a `KernelError` from kernel/ and the event
//! loop's ring buffer), writing results (`Output`, only where results are
//! written: an I/O error elsewhere is not an output error), the -c command
//! (`Command`), and ebq's own invariants (`Internal`: a bug). The planner
//! has no error of its own: what it cannot push into the kernel it leaves
//! to userspace.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The query: syntax, names, types, unsupported SQL. `pos` is 1-based
    /// (line, column) in the query text.
    Sql {
        msg: String,
        pos: Option<(u64, u64)>,
    },
    /// Options that do not fit together or have bad values.
    Usage(String),
    /// Loading, attaching or reading the BPF programs; privileges; kernel
    /// features.
    Kernel(KernelError),
    /// Writing rows (anything but a closed pipe, which is a clean end).
    Output(std::io::Error),
    /// Running the -c command.
    Command(String),
    /// Something ebq itself got wrong (its embedded object lacks a program
    /// the catalog names ...): a bug, said as one.
    Internal(String),
}

/// What went wrong on the kernel side, by what the user can do about it.
#[derive(Debug)]
pub enum KernelError {
    /// ebq lacks a privilege it needs (CAP_BPF, reading tracefs ...).
    Privileges(String),
    /// This kernel lacks what the query needs (BTF, the ring buffer, a
    /// tracepoint, module support).
    Unsupported(String),
    /// The kernel refused the programs (the verifier) or an attachment.
    Refused(String),
    /// Any other failure of a BPF or kernel call: opening the object,
    /// filling a map, reading the ring buffer, pid namespaces.
    Failed(String),
}

impl KernelError {
    /// `what` failed with `e`.
    pub fn failed(what: &str, e: impl fmt::Display) -> Error {
        Error::Kernel(KernelError::Failed(format!("{what}: {e}")))
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Privileges(m)
            | KernelError::Unsupported(m)
            | KernelError::Refused(m)
            | KernelError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        Error::Kernel(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn sql(msg: impl Into<String>, pos: Option<(u64, u64)>) -> Self {
        Error::Sql {
            msg: msg.into(),
            pos,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Sql { .. } | Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The message, with the query and a caret under the position for an
    /// SQL error. Everything is terminal-safe: the query's control bytes
    /// are shown escaped (a tab as a space), and the caret is placed by
    /// display width, so it stays under the column it names; a long line
    /// is shown around the position only.
    pub fn render(&self, query: Option<&str>) -> String {
        use unicode_width::UnicodeWidthStr;
        let msg = crate::model::sanitize::sanitize(&self.to_string()).into_owned();
        match (self, query) {
            (
                Error::Sql {
                    pos: Some((line, col)),
                    ..
                },
                Some(q),
            ) => {
                let text = q
                    .lines()
                    .nth((*line as usize).saturating_sub(1))
                    .unwrap_or("");
                let col = *col as usize;
                // Each character as shown, and where the caret goes.
                let mut shown: Vec<String> = Vec::new();
                for c in text.chars() {
                    shown.push(match c {
                        '\t' => " ".to_string(),
                        c => crate::model::sanitize::sanitize(c.encode_utf8(&mut [0; 4]))
                            .into_owned(),
                    });
                }
                let at = col.saturating_sub(1).min(shown.len());
                const AROUND: usize = 60;
                let (mut from, mut to) = (0, shown.len());
                let width = |v: &[String]| v.iter().map(|s| s.width()).sum::<usize>();
                if width(&shown) > 2 * AROUND {
                    from = at.saturating_sub(AROUND);
                    to = (at + AROUND).min(shown.len());
                }
                let head = if from > 0 { "…" } else { "" };
                let tail = if to < shown.len() { "…" } else { "" };
                let body: String = shown[from..to].concat();
                let pad = " ".repeat(head.width() + width(&shown[from..at]));
                format!("line {line}, column {col}: {msg}\n  {head}{body}{tail}\n  {pad}^")
            }
            _ => msg,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sql { msg, .. } => f.write_str(msg),
            Error::Usage(m) | Error::Command(m) => f.write_str(m),
            Error::Kernel(e) => write!(f, "{e}"),
            Error::Output(e) => write!(f, "writing output: {e}"),
            Error::Internal(m) => write!(f, "internal error (a bug in ebq: please report it): {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn sql_errors_point_at_the_position() {
        let e = Error::sql("unknown column \"pdi\"", Some((1, 8)));
        assert_eq!(
            e.render(Some("select pdi from process_events")),
            "line 1, column 8: unknown column \"pdi\"\n  select pdi from process_events\n         ^"
        );
        assert_eq!(e.exit_code(), 2);
        // Control bytes are escaped and the caret stays under its column,
        // past wide characters too.
        let e = Error::sql("unknown column \"x\"", Some((1, 20)));
        assert_eq!(
            e.render(Some("select \u{1b}[31m, '日本' x from t")),
            format!("line 1, column 20: unknown column \"x\"\n  select \\x1b[31m, '日本' x from t\n  {}^", " ".repeat(24))
        );
        // A long line is shown around the position.
        let q = format!("select {} zz from t", "a, ".repeat(1000));
        let e = Error::sql("unknown column \"zz\"", Some((1, 3009)));
        let r = e.render(Some(&q));
        let lines: Vec<&str> = r.lines().collect();
        assert!(lines[1].width() < 130 && lines[1].contains("zz"), "{r}");
        let caret = lines[2].width() - 1;
        let zz = lines[1].find(" zz").expect("zz") + 1;
        assert_eq!(lines[1][..zz].width(), caret, "{r}");
        assert_eq!(
            Error::Kernel(KernelError::Unsupported("x".into())).exit_code(),
            1
        );
        assert_eq!(Error::Internal("x".into()).exit_code(), 1);
    }
}
