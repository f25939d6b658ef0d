//! Golden tests for the planner, no root needed: every tests/explain/*.sql
//! is run through `ebq --explain`, and its output (stdout, then for a
//! failing query the exit status and stderr) must equal the .explain file
//! beside it. EBQ_BLESS=1 rewrites the .explain files; review the diff.

mod common;

use std::path::Path;

fn render(sql: &str) -> String {
    let out = common::ebq()
        .arg("--explain")
        .arg(sql)
        .env("NO_COLOR", "1")
        .output()
        .expect("ebq runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&format!("-- exit {}\n", out.status.code().unwrap_or(-1)));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    // Notes about this machine (tracefs mounted, tracepoints present)
    // depend on the machine, not on the plan.
    for line in err.lines().filter(|l| !l.starts_with("ebq: note:")) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
fn explain_goldens() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/explain");
    let bless = std::env::var("EBQ_BLESS").is_ok_and(|v| v == "1");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/explain")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixtures missing");
    let mut failed = Vec::new();
    for sql_path in files {
        let sql = std::fs::read_to_string(&sql_path).expect("read");
        let got = render(sql.trim_end());
        let want_path = sql_path.with_extension("explain");
        if bless {
            std::fs::write(&want_path, &got).expect("write");
            continue;
        }
        let want = std::fs::read_to_string(&want_path).unwrap_or_default();
        if got != want {
            failed.push(format!(
                "{}\n~~~ want\n{want}~~~ got\n{got}~~~",
                sql_path.display()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "stale --explain goldens (EBQ_BLESS=1 cargo test --test explain rewrites them):\n{}",
        failed.join("\n")
    );
}
