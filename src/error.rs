//! Errors, typed by the layer that found them and said from the user's
//! side. main() prints each as one `ebq:` line (an SQL error adds the query
//! with a caret under the position) and picks the exit status: 2 for a
//! mistake in the command line or the query, 1 for everything else.

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
    Kernel(String),
    /// Writing rows (anything but a closed pipe, which is a clean end).
    Output(std::io::Error),
    /// Running the -c command.
    Command(String),
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
    /// SQL error.
    pub fn render(&self, query: Option<&str>) -> String {
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
                let text = text.replace('\t', " ");
                let pad: String = text
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|_| ' ')
                    .collect();
                format!("line {line}, column {col}: {self}\n  {text}\n  {pad}^")
            }
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sql { msg, .. } => f.write_str(msg),
            Error::Usage(m) | Error::Kernel(m) | Error::Command(m) => f.write_str(m),
            Error::Output(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Output(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_errors_point_at_the_position() {
        let e = Error::sql("unknown column \"pdi\"", Some((1, 8)));
        assert_eq!(
            e.render(Some("select pdi from process_events")),
            "line 1, column 8: unknown column \"pdi\"\n  select pdi from process_events\n         ^"
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(Error::Kernel("x".into()).exit_code(), 1);
    }
}
