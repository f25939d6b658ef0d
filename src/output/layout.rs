//! Fitting rows to the terminal, for the streaming table (table.rs) and
//! result sets (result.rs) alike. The rule: no line is wider than the
//! terminal and no cell wraps.
//!
//! - Each column wants a width (the widest cell seen, or the catalog's
//!   hint when no cell is seen yet) and has a narrowest useful width:
//!   numbers are never cut (a cut number is a wrong number); text can go
//!   down to its header or `USEFUL` columns, whichever is more.
//! - When the wanted widths do not fit, the widest text column gives one
//!   step at a time (so the widest is always the one cut), down to its
//!   useful width; a cut cell ends in an ellipsis.
//! - When the columns cannot fit even at their useful widths, each row is
//!   printed as a record, one `name | value` line per column, like psql's
//!   `\x auto`; values are cut to the terminal width.
//! - `--wide` cuts nothing: a table that fits at its useful widths is
//!   printed at the widths its content wants (so longer than the terminal
//!   if need be, for `less -S`), otherwise as records with whole values.
//!
//! Widths are measured with unicode-width on the text as printed, that is
//! after sanitize() has escaped it.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Spaces between two columns.
pub const GAP: usize = 2;
/// A text column cut narrower than this (or than its header) is no longer
/// worth reading: the record layout wins. `/usr/bin/ssh` is 12.
pub const USEFUL: usize = 12;

/// A column as the layout sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Col {
    /// The display width of its header.
    pub head: usize,
    /// The width its content wants (never less than the header).
    pub want: usize,
    /// The narrowest width it is useful at.
    pub min: usize,
    /// Takes the room to spare (streamed text columns whose content is not
    /// known yet: paths, command lines).
    pub grows: bool,
}

impl Col {
    pub fn new(head: usize, want: usize, numeric: bool) -> Col {
        let want = want.max(head);
        let min = if numeric {
            want
        } else {
            head.max(want.min(USEFUL))
        };
        Col {
            head,
            want,
            min,
            grows: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Aligned columns of these widths.
    Horizontal(Vec<usize>),
    /// One record per row, one line per column.
    Vertical,
}

/// The width of a line with columns `w` wide.
pub fn needed(w: &[usize]) -> usize {
    w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1)
}

/// The layout of `cols` on a terminal `total` columns wide.
pub fn layout(cols: &[Col], total: usize, wide: bool) -> Layout {
    let mins: Vec<usize> = cols.iter().map(|c| c.min).collect();
    if needed(&mins) > total {
        return Layout::Vertical;
    }
    let mut w: Vec<usize> = cols.iter().map(|c| c.want).collect();
    let mut excess = if wide {
        0
    } else {
        needed(&w).saturating_sub(total)
    };
    while excess > 0 {
        // The widest column that can still give (the first of equals).
        let Some(i) = (0..w.len())
            .filter(|&i| w[i] > mins[i])
            .max_by_key(|&i| (w[i], std::cmp::Reverse(i)))
        else {
            return Layout::Vertical;
        };
        // Down to the next widest at once, not below its useful width.
        let next = (0..w.len())
            .filter(|&j| j != i && w[j] > mins[j])
            .map(|j| w[j])
            .max()
            .unwrap_or(0);
        let step = (w[i] - next.max(mins[i])).clamp(1, excess);
        w[i] -= step;
        excess -= step;
    }
    // Room to spare goes to the columns that grow.
    let spare = total.saturating_sub(needed(&w));
    let grows: Vec<usize> = (0..w.len()).filter(|&i| cols[i].grows).collect();
    for (n, &i) in grows.iter().enumerate() {
        w[i] += spare / grows.len() + usize::from(n < spare % grows.len());
    }
    Layout::Horizontal(w)
}

/// `s` cut to `width` display columns, with an ellipsis when cut; and the
/// width of what is returned.
pub fn fit(s: &str, width: usize) -> (String, usize) {
    let w = s.width();
    if w <= width {
        return (s.to_string(), w);
    }
    if width == 0 {
        return (String::new(), 0);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > width {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    (out, used + 1)
}

/// One line of aligned cells (each one line of text), numbers to the
/// right, without trailing spaces; cells are cut to their width unless
/// `wide`.
pub fn line(out: &mut String, cells: &[&str], widths: &[usize], numeric: &[bool], wide: bool) {
    let start = out.len();
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.iter().enumerate() {
        let width = widths.get(i).copied().unwrap_or(0);
        let (text, used) = if wide {
            (cell.to_string(), cell.width())
        } else {
            fit(cell, width)
        };
        let pad = " ".repeat(width.saturating_sub(used));
        if numeric.get(i).copied().unwrap_or(false) {
            out.push_str(&pad);
            out.push_str(&text);
        } else {
            out.push_str(&text);
            if i != last {
                out.push_str(&pad);
            }
        }
        if i != last {
            out.push_str(&" ".repeat(GAP));
        }
    }
    let end = start + out[start..].trim_end().len();
    out.truncate(end);
    out.push('\n');
}

/// The width of the name column of a record.
pub fn name_width(names: &[String], total: usize, wide: bool) -> usize {
    let w = names.iter().map(|n| n.width()).max().unwrap_or(0);
    if wide {
        w
    } else {
        w.min(total / 2)
    }
}

/// Row number `n` (from 1) as a record: a `-[ RECORD n ]---` line, then
/// `name | value` for each column; a value of several lines (a histogram)
/// continues on lines of its own. Lines are cut to `total` unless `wide`.
pub fn record(
    out: &mut String,
    n: u64,
    names: &[String],
    values: &[&str],
    total: usize,
    wide: bool,
    bold: bool,
) {
    let name_w = name_width(names, total, wide);
    let value_w = total.saturating_sub(name_w + 3);
    let mut lines = Vec::with_capacity(names.len());
    for (name, value) in names.iter().zip(values) {
        let (name, used) = fit(name, name_w);
        for (j, part) in value.split('\n').enumerate() {
            let mut l = if j == 0 {
                format!("{name}{}", " ".repeat(name_w - used))
            } else {
                " ".repeat(name_w)
            };
            l.push_str(" | ");
            if wide {
                l.push_str(part);
            } else {
                l.push_str(&fit(part, value_w).0);
            }
            let end = l.trim_end().len();
            l.truncate(end);
            lines.push(l);
        }
    }
    let mut head = format!("-[ RECORD {n} ]");
    let longest = lines.iter().map(|l| l.width()).max().unwrap_or(0);
    let len = if wide {
        longest.max(head.width())
    } else {
        longest.max(head.width()).min(total)
    };
    head.push_str(&"-".repeat(len.saturating_sub(head.width())));
    if !wide {
        head = fit(&head, total).0;
    }
    if bold {
        use owo_colors::OwoColorize;
        out.push_str(&head.bold().to_string());
    } else {
        out.push_str(&head);
    }
    out.push('\n');
    for l in lines {
        if wide {
            out.push_str(&l);
        } else {
            out.push_str(&fit(&l, total).0);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of `select *` from process_events, as the catalog hints
    /// them (numbers, then text with its hint).
    fn process_star() -> Vec<Col> {
        [
            ("time", 10, true),
            ("pid", 7, true),
            ("tid", 7, true),
            ("parent", 7, true),
            ("uid", 5, true),
            ("gid", 5, true),
            ("euid", 5, true),
            ("egid", 5, true),
            ("auid", 5, true),
            ("comm", 15, false),
            ("cgroup_id", 9, true),
            ("syscall", 8, false),
            ("path", 28, false),
            ("interpreter", 24, false),
            ("cmdline", 32, false),
            ("argc", 4, true),
            ("cwd", 24, false),
            ("exit_code", 9, true),
            ("error", 8, false),
            ("duration", 9, true),
            ("truncated", 9, false),
            ("ld_preload", 24, false),
        ]
        .iter()
        .map(|&(n, w, num)| Col::new(n.len(), w, num))
        .collect()
    }

    fn few() -> Vec<Col> {
        vec![
            Col::new(3, 7, true),
            Col::new(4, 15, false),
            Col::new(4, 60, false),
            Col::new(7, 90, false),
        ]
    }

    #[test]
    fn what_fits_is_printed_at_its_wanted_widths() {
        // 7 + 15 + 60 + 90 + 6 = 178.
        assert_eq!(
            layout(&few(), 200, false),
            Layout::Horizontal(vec![7, 15, 60, 90])
        );
        assert_eq!(needed(&[7, 15, 60, 90]), 178);
    }

    #[test]
    fn the_widest_column_is_shrunk_first() {
        // 120: 58 too many; the 90 gives 30 (down to 60), then both give 14.
        let Layout::Horizontal(w) = layout(&few(), 120, false) else {
            panic!("horizontal at 120");
        };
        assert_eq!(w, vec![7, 15, 46, 46]);
        assert_eq!(needed(&w), 120);
        // 80: the two wide ones share what is left; pid and comm untouched.
        let Layout::Horizontal(w) = layout(&few(), 80, false) else {
            panic!("horizontal at 80");
        };
        assert_eq!(w, vec![7, 15, 26, 26]);
        assert_eq!(needed(&w), 80);
    }

    #[test]
    fn too_many_columns_for_useful_widths_become_records() {
        for total in [80, 120, 200] {
            assert_eq!(layout(&process_star(), total, false), Layout::Vertical);
            assert_eq!(layout(&process_star(), total, true), Layout::Vertical);
        }
        // At 40 not even the useful widths (7, 12, 12, 12 and gaps) fit.
        assert_eq!(layout(&few(), 40, false), Layout::Vertical);
        assert!(matches!(layout(&few(), 58, false), Layout::Horizontal(_)));
    }

    #[test]
    fn wide_never_shrinks_and_spare_room_goes_to_growing_columns() {
        assert_eq!(
            layout(&few(), 80, true),
            Layout::Horizontal(vec![7, 15, 60, 90])
        );
        let mut cols = few();
        cols[2].grows = true;
        cols[3].grows = true;
        let Layout::Horizontal(w) = layout(&cols, 200, false) else {
            panic!("horizontal");
        };
        assert_eq!(w, vec![7, 15, 71, 101]);
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_by_display_width() {
        assert_eq!(fit("abcdef", 4), ("abc…".to_string(), 4));
        assert_eq!(fit("日本語", 4), ("日…".to_string(), 3));
        assert_eq!(fit("ab", 4), ("ab".to_string(), 2));
        assert_eq!(fit("ab", 0), (String::new(), 0));
    }

    #[test]
    fn records_fit_the_terminal_unless_wide() {
        let names: Vec<String> = ["pid", "cmdline"].map(String::from).to_vec();
        let long = "x".repeat(100);
        let mut out = String::new();
        record(&mut out, 1, &names, &["42", &long], 30, false, false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("-[ RECORD 1 ]{}", "-".repeat(17)));
        assert_eq!(lines[1], "pid     | 42");
        assert_eq!(lines[2], format!("cmdline | {}…", "x".repeat(19)));
        assert!(lines.iter().all(|l| l.width() <= 30), "{out}");
        let mut out = String::new();
        record(&mut out, 2, &names, &["42", &long], 30, true, false);
        assert!(out.contains(&format!("cmdline | {long}\n")), "{out}");
    }
}
