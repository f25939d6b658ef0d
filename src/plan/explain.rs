//! `ebq --explain`: the plan as stable text, golden-tested in
//! tests/explain/. It shows what will be attached, what each WHERE conjunct
//! became (exact / inexact / userspace, and why), the filter values the
//! kernel gets, what the kernel copies, and what userspace still checks.

use std::fmt::Write as _;

use super::physical::{Cgroups, KernelConfig, Options};
use super::{IntFilter, Plan, Pushed};

/// Label column width: every section starts its lines at this column.
const W: usize = 10;

/// One line of the plan, terminal-safe: values from the query (comm
/// sets, prefixes, the conjuncts as written) are shown in ebq's encoding,
/// never raw (output/sanitize.rs).
fn line(out: &mut String, label: &str, text: &str) {
    let text = crate::model::sanitize::sanitize(text);
    let _ = writeln!(out, "{label:<W$}{text}");
}

fn int_set(set: &std::collections::BTreeSet<i64>) -> String {
    let v: Vec<String> = set.iter().map(|i| i.to_string()).collect();
    format!("({})", v.join(", "))
}

fn str_set(set: &std::collections::BTreeSet<String>) -> String {
    let v: Vec<String> = set
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect();
    format!("({})", v.join(", "))
}

fn int_filter(f: &IntFilter) -> String {
    let mut parts = Vec::new();
    if let Some(set) = &f.in_set {
        parts.push(if set.is_empty() {
            "IN () (no value can match: every event is rejected)".to_string()
        } else {
            format!("IN {}", int_set(set))
        });
    }
    if f.has_range() {
        parts.push(if f.lo > f.hi {
            "in an empty range (every event is rejected)".to_string()
        } else if f.lo == f.hi {
            format!("= {}", f.lo)
        } else if f.lo == f.min {
            format!("<= {}", f.hi)
        } else if f.hi == f.max {
            format!(">= {}", f.lo)
        } else {
            format!("BETWEEN {} AND {}", f.lo, f.hi)
        });
    }
    if !f.not_in.is_empty() {
        parts.push(format!("NOT IN {}", int_set(&f.not_in)));
    }
    if parts.is_empty() {
        // A range as wide as the column's values (cgroup_id >= 0).
        return format!("{} (any value: nothing is rejected)", f.column);
    }
    format!("{} {}", f.column, parts.join(" AND "))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// Each program's attach point, as (attach, program, optional), with a
/// run of one program's uprobes on one binary (a link per function)
/// shown as one line, as a uprobe_multi link is.
fn attach_lines(programs: &[crate::catalog::Program]) -> Vec<(String, &'static str, String)> {
    use crate::model::probe::{Attach, UprobeTarget};
    let mut out: Vec<(String, &'static str, String)> = Vec::new();
    let mut run: Option<(&str, &str, bool, Option<i32>, usize)> = None;
    let flush = |out: &mut Vec<(String, &'static str, String)>,
                 run: &mut Option<(&str, &str, bool, Option<i32>, usize)>,
                 prog: &'static str| {
        if let Some((binary, _, ret, pid, n)) = run.take() {
            let kind = if ret { "uretprobe" } else { "uprobe" };
            let pid = pid.map_or(String::new(), |p| format!(" (pid {p})"));
            out.push((
                format!("{kind}/{binary}: {n} offsets, a link each{pid}"),
                prog,
                String::new(),
            ));
        }
    };
    let mut last_prog = "";
    for p in programs {
        if let Attach::Uprobe {
            binary,
            target: UprobeTarget::Offset(_),
            pid,
            ret,
        } = &p.attach
        {
            match &mut run {
                Some((b, pr, r, _, n)) if *b == binary.as_ref() && *pr == p.prog && *r == *ret => {
                    *n += 1;
                }
                _ => {
                    flush(&mut out, &mut run, last_prog);
                    run = Some((binary.as_ref(), p.prog, *ret, *pid, 1));
                    last_prog = p.prog;
                }
            }
            continue;
        }
        flush(&mut out, &mut run, last_prog);
        let note = match p.unless {
            Some(tp) => format!(" (where the kernel lacks {})", tp.replace('/', ":")),
            None if p.optional => " (optional)".into(),
            None => String::new(),
        };
        out.push((p.attach.to_string(), p.prog, note));
    }
    flush(&mut out, &mut run, last_prog);
    out
}

/// The plan as text; the programs are those of its physical plan (what
/// the loader loads and attaches).
pub fn render(plan: &Plan) -> String {
    render_with(
        plan,
        &super::physical::build(plan, &Options::explain(plan)),
        None,
    )
}

/// `render` for a query with container filters, with the cgroups the
/// run would start with resolved (exec/containers.rs) and their verdicts.
pub fn render_resolved(plan: &Plan, cgroups: Cgroups) -> String {
    let shown = cgroups.explain.clone();
    let mut opts = Options::explain(plan);
    opts.cgroups = Some(cgroups);
    render_with(plan, &super::physical::build(plan, &opts), Some(&shown))
}

/// `render` for function_events, with what its WHERE resolved to: the
/// files and functions probed (kernel/uprobes.rs), attached as this
/// kernel would (one uprobe_multi link per binary, or one per function).
pub fn render_probed(
    plan: &Plan,
    resolved: std::sync::Arc<crate::model::functions::Resolved>,
    uprobe_multi: bool,
) -> String {
    let mut opts = Options::explain(plan);
    opts.uprobe_multi = uprobe_multi;
    opts.functions = Some(resolved.clone());
    let mut out = render_with(plan, &super::physical::build(plan, &opts), None);
    let mut lines = Vec::new();
    for b in &resolved.binaries {
        let names: Vec<String> = b
            .functions
            .iter()
            .take(8)
            .map(|&i| {
                let f = &resolved.functions[i as usize];
                format!(
                    "{}@{:#x}",
                    crate::model::sanitize::sanitize(&f.name),
                    f.offset
                )
            })
            .collect();
        let more = b.functions.len().saturating_sub(names.len());
        let what = if resolved.usdt {
            "USDT probe"
        } else {
            "function"
        };
        lines.push(format!(
            "{}{}: {} {what}{}: {}{}",
            crate::model::sanitize::sanitize(&b.shown),
            if b.go {
                " (Go: entry probes only; Go functions' args in Go's register ABI)"
            } else {
                ""
            },
            b.functions.len(),
            if b.functions.len() == 1 { "" } else { "s" },
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    lines.extend(
        resolved
            .notes
            .iter()
            .map(|n| crate::model::sanitize::sanitize(n).into_owned()),
    );
    let (entry, ret, paired) = crate::catalog::func::ends(plan.kernel.capture);
    let probes = if resolved.usdt {
        resolved.functions.len()
    } else {
        resolved.functions.len() * (usize::from(entry) + usize::from(ret))
    };
    lines.push(format!(
        "{probes} probe{}{}: {}",
        if probes == 1 { "" } else { "s" },
        match resolved.pid {
            Some(p) => format!(" in pid {p} alone"),
            None => " in every process".into(),
        },
        match (entry, ret, paired) {
            _ if resolved.usdt => "a row each time one fires",
            (_, _, true) => "entry and return, paired into one row per call",
            (true, false, _) => "entry only: a row per call, at its entry",
            (true, true, false) => "entry and return apart: a row at each (event)",
            _ => "return only: a row per return",
        }
    ));
    if let Some(b) = plan.kernel.buffer {
        lines.push(format!(
            "{b}: copied at the {}, at most {} bytes (more is flagged buf_cut)",
            if paired { "return" } else { "entry" },
            crate::model::functions::BUF_MAX
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        line(&mut out, if i == 0 { "probes" } else { "" }, l);
    }
    out
}

/// `render` with the physical plan `kernel` built already, and the lines
/// that say which cgroups its container filters keep, if resolved.
pub fn render_with(plan: &Plan, kernel: &KernelConfig, cgroups: Option<&[String]>) -> String {
    let mut out = String::new();
    let t = plan.table();
    let k = &plan.kernel;
    line(
        &mut out,
        "table",
        &format!("{} ({})", t.name, lower_first(t.doc)),
    );
    let programs = &kernel.programs;
    let attach = attach_lines(programs);
    let aw = attach.iter().map(|a| a.0.len()).max().unwrap_or(0);
    for (i, (at, prog, opt)) in attach.iter().enumerate() {
        line(
            &mut out,
            if i == 0 { "programs" } else { "" },
            &format!("{at:<aw$}  {prog}{opt}"),
        );
    }
    let pruned: Vec<&str> = t
        .programs
        .iter()
        .chain(&crate::plan::FOLLOW_PROGRAMS)
        .filter(|p| !programs.iter().any(|q| q.name == p.name))
        .map(|p| p.name)
        .collect();
    if !pruned.is_empty() {
        line(&mut out, "pruned", &pruned.join(", "));
    }
    for f in &k.feeds {
        let progs: Vec<&str> = f.programs.iter().map(|p| p.name).collect();
        line(
            &mut out,
            "feeds",
            &format!("{}: {} attached for it", f.what, progs.join(", ")),
        );
    }
    if plan.conjuncts.is_empty() {
        line(&mut out, "where", "(none: every event)");
    }
    let width = plan
        .conjuncts
        .iter()
        .map(|c| c.sql.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for (i, c) in plan.conjuncts.iter().enumerate() {
        let how = match &c.pushed {
            Pushed::Exact => "kernel, exact".to_string(),
            Pushed::Inexact(why) => format!("kernel, inexact: {why}"),
            Pushed::Userspace(why) => format!("userspace: {why}"),
            Pushed::Programs => "kernel, picks the programs".to_string(),
            Pushed::Attach => "at attach: decides what is probed".to_string(),
        };
        line(
            &mut out,
            if i == 0 { "where" } else { "" },
            &format!("{:<width$}  {how}", c.sql),
        );
    }
    let mut filters = Vec::new();
    if k.follow {
        filters.push(
            "followed processes (the -c command or -p pid, and their descendants)".to_string(),
        );
    }
    if let Some(tags) = k.probe_tags.as_ref().filter(|_| k.actions != 0) {
        filters.push(format!("action IN {}", str_set(tags)));
    }
    filters.extend(k.ints.values().map(int_filter));
    if let Some(set) = &k.comm_in {
        filters.push(format!("comm IN {}", str_set(set)));
    }
    if !k.comm_not_in.is_empty() {
        filters.push(format!("comm NOT IN {}", str_set(&k.comm_not_in)));
    }
    if let Some(set) = &k.path_prefixes {
        let v: Vec<String> = set
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "''")))
            .collect();
        filters.push(format!(
            "path starts with {} (the path rows report: resolved, or as written when normalizing cannot change it)",
            v.join(" or ")
        ));
    }
    if !k.cgroup_filter.is_empty() {
        filters.push(
            "the cgroup's verdict from the container conjuncts above (a cgroup without one is kept)"
                .to_string(),
        );
    }
    if filters.is_empty() {
        let all = if matches!(plan.agg_place, crate::plan::AggPlace::Kernel(_)) {
            "(no filter: every event is counted in the kernel)"
        } else {
            "(no filter: every event is sent up)"
        };
        line(&mut out, "kernel", all);
    }
    for (i, f) in filters.iter().enumerate() {
        line(&mut out, if i == 0 { "kernel" } else { "" }, f);
    }
    for (i, l) in cgroups.into_iter().flatten().enumerate() {
        line(&mut out, if i == 0 { "cgroups" } else { "" }, l);
    }
    let cap: Vec<&str> = t
        .captures
        .iter()
        .filter(|(bit, _)| k.capture & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    line(
        &mut out,
        "capture",
        &if matches!(plan.agg_place, crate::plan::AggPlace::Kernel(_)) {
            "nothing: each event only updates its group in the kernel".to_string()
        } else if cap.is_empty() {
            format!("{} (always)", t.fixed_capture)
        } else {
            format!("{} (always), {}", t.fixed_capture, cap.join(", "))
        },
    );
    line(
        &mut out,
        "userspace",
        &match (&plan.query.where_sql, plan.predicate.is_some()) {
            // What decided the probes is not checked again.
            (Some(_), true) if plan.conjuncts.iter().any(|c| c.pushed == Pushed::Attach) => {
                let rest: Vec<&str> = plan
                    .conjuncts
                    .iter()
                    .filter(|c| c.pushed != Pushed::Attach)
                    .map(|c| c.sql.as_str())
                    .collect();
                format!("WHERE {}", rest.join(" AND "))
            }
            (Some(w), true) => format!("WHERE {w}"),
            _ => "(nothing to check)".to_string(),
        },
    );
    let q = &plan.query;
    if let Some(a) = &q.agg {
        let keys = if a.key_sql.is_empty() {
            "(one group)".to_string()
        } else {
            a.key_sql.join(", ")
        };
        line(&mut out, "group by", &keys);
        let calls: Vec<&str> = a.aggs.iter().map(|c| c.sql.as_str()).collect();
        line(
            &mut out,
            "aggregate",
            &format!("{} in {}", calls.join(", "), plan.agg_place.describe()),
        );
        if let Some(h) = &a.having_sql {
            line(
                &mut out,
                "having",
                &format!("{h} (on each group's result, in userspace)"),
            );
        }
    }
    if !q.order_by.is_empty() {
        line(
            &mut out,
            "order by",
            &format!(
                "{} term(s), at the end{}",
                q.order_by.len(),
                if q.agg.is_some() {
                    " of each result set"
                } else {
                    " (rows held until then)"
                }
            ),
        );
    }
    let cols: Vec<&str> = plan.output.iter().map(|o| o.name.as_str()).collect();
    line(&mut out, "output", &cols.join(", "));
    if let Some(n) = q.limit {
        line(
            &mut out,
            "limit",
            &if q.agg.is_some() || !q.order_by.is_empty() {
                format!("{n} rows per result set")
            } else {
                format!("{n} rows, then the run ends")
            },
        );
    }
    out
}
