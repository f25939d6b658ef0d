//! `--list`, the man page and the completions, all generated from the clap
//! definition and the catalog. man/ and completions/ hold the generated
//! files; tests/generated.rs fails when they are stale.

use std::io::Write;

use clap::CommandFactory;
use comfy_table::{presets, Table as Grid};

use crate::catalog::{self, KernelFilter, Table};
use crate::cli::{Args, Generate};

/// `width`: the terminal's, when output goes to one.
fn grid(color: bool, width: Option<u16>) -> Grid {
    crate::output::grid(color, width, presets::UTF8_BORDERS_ONLY)
}

pub fn list(table: Option<&str>, color: bool, width: Option<u16>) -> String {
    match table.and_then(catalog::table) {
        None => {
            let mut g = grid(color, width);
            g.set_header(["table", "columns", "one row per"]);
            for t in catalog::TABLES {
                let name = if t.aliases.is_empty() {
                    t.name.to_string()
                } else {
                    format!("{} (also {})", t.name, t.aliases.join(", "))
                };
                g.add_row([name, t.columns.len().to_string(), t.doc.to_string()]);
            }
            format!("{g}\n")
        }
        Some(t) => {
            let mut g = grid(color, width);
            g.set_header(["column", "type", "kernel filter", "description"]);
            for c in t.columns {
                let mut name = c.name.to_string();
                if !c.aliases.is_empty() {
                    name.push_str(&format!(" (also {})", c.aliases.join(", ")));
                }
                if c.refused.is_some() {
                    name.push_str(" (not captured)");
                } else if c.hidden {
                    name.push_str(" (hidden)");
                }
                let ops = match c.filter {
                    KernelFilter::None => "-".to_string(),
                    f => f.operators().to_string(),
                };
                let doc = match c.refused {
                    Some(why) => format!("Not captured by ebq: {why}"),
                    None => c.doc.to_string(),
                };
                g.add_row([name, c.ty.name().to_string(), ops, doc]);
            }
            format!("{}: {}\n{g}\n", t.name, t.doc)
        }
    }
}

fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

fn man_tables(out: &mut Vec<u8>, tables: &[&Table]) -> std::io::Result<()> {
    writeln!(out, ".SH TABLES")?;
    writeln!(
        out,
        "Hidden columns are left out of SELECT * and can be selected by name."
    )?;
    for t in tables {
        writeln!(out, ".SS {}", roff(t.name))?;
        writeln!(out, "{}.", roff(t.doc))?;
        if !t.aliases.is_empty() {
            writeln!(out, "Also called {}.", roff(&t.aliases.join(", ")))?;
        }
        for c in t.columns {
            writeln!(out, ".TP")?;
            let hidden = if c.refused.is_some() {
                ", not captured"
            } else if c.hidden {
                ", hidden"
            } else {
                ""
            };
            let also = if c.aliases.is_empty() {
                String::new()
            } else {
                format!("; also {}", c.aliases.join(", "))
            };
            writeln!(
                out,
                "\\fB{}\\fR ({}{hidden}{})",
                roff(c.name),
                c.ty.name(),
                roff(&also)
            )?;
            let filter = match c.filter {
                KernelFilter::None => String::new(),
                f => format!(" Kernel filter: {}.", f.operators()),
            };
            let doc = match c.refused {
                Some(why) => format!("Not captured by ebq: {why}"),
                None => c.doc.to_string(),
            };
            writeln!(out, "{}.{}", roff(&doc), roff(&filter))?;
        }
    }
    writeln!(out, ".SH PUSHDOWN")?;
    writeln!(out, "Each WHERE conjunct is filtered in the kernel when it can be (exact or a superset), else in userspace; the userspace filter always re\\-checks the whole WHERE, so kernel filters only save work. ebq \\-\\-explain shows the decision for each conjunct.")?;
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(out, ".TP")?;
    writeln!(out, "\\fBEBQ_BTF_CACHE\\fR")?;
    writeln!(out, "ebq keeps a small copy of the kernel's BTF (the types its programs read) in /run/ebq, written at the first start of each boot, which makes the next starts several milliseconds faster. off turns the cache off; a directory keeps the copies there instead.")?;
    writeln!(out, ".TP")?;
    writeln!(out, "\\fBNO_COLOR\\fR")?;
    writeln!(out, "When set, \\-\\-color auto prints no color.")?;
    writeln!(out, ".SH PATHS")?;
    writeln!(out, "A path is the file the kernel used, named as the process sees it (as /proc/PID/exe and /proc/PID/fd/N name it): symlinks followed, no //, . or .., relative to the process's own root. An exec reports the file it ran (a #! script itself, with its interpreter in interpreter); an open that returned an fd, the file opened; every other file operation, and a failed exec or open, the path as written, made absolute against the directory the kernel started from (root, cwd or dirfd, resolved), with // and . dropped and .. folded only where it leaves that directory (after a name as written, which may be a symlink, it stays). requested_path holds the path as written. A path too long to copy keeps its tail after ... and is flagged truncated; an unlinked file reads as /proc shows it, with (deleted).")?;
    writeln!(out, ".SH PRIVILEGES")?;
    writeln!(out, "Root, or CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and CAP_DAC_READ_SEARCH for a query that attaches syscall tracepoints (their ids are in tracefs, readable by root only); CAP_SYS_ADMIN only to mount tracefs when it is not mounted. A missing one is named. \\-\\-explain needs none.")?;
    writeln!(out, ".SH EXIT STATUS")?;
    writeln!(out, "0 at a normal end (Ctrl\\-C, SIGTERM, \\-\\-duration, LIMIT, the \\-p process done, a closed pipe); 3 when the run ended normally but lost events (said on stderr: a full ring buffer, a full kernel aggregation map, a userspace bound); 2 for a usage or SQL error; 1 for any other failure. With \\-c, when the command ends on its own, its exit status (128 + N when signal N killed it), or 3 if it exited 0 and events were lost.")?;
    Ok(())
}

pub fn generate(what: Generate) -> Vec<u8> {
    let mut cmd = Args::command();
    let mut out = Vec::new();
    match what {
        Generate::Man => {
            let man = clap_mangen::Man::new(cmd.clone());
            // Writing into a Vec cannot fail.
            let _ = man.render_title(&mut out);
            let _ = man.render_name_section(&mut out);
            let _ = man.render_synopsis_section(&mut out);
            let _ = man.render_description_section(&mut out);
            let _ = man.render_options_section(&mut out);
            let _ = man_tables(&mut out, catalog::TABLES);
            let _ = man.render_extra_section(&mut out);
            let _ = man.render_version_section(&mut out);
        }
        Generate::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "ebq", &mut out)
        }
        Generate::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "ebq", &mut out)
        }
        Generate::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "ebq", &mut out)
        }
    }
    out
}
