//! The checked-in man page and completions must equal what the binary
//! generates from its clap definition and catalog; when they drift, this
//! fails and prints the command that regenerates them.

mod common;

const REGEN: &str = "cargo build && for w in man:man/ebq.1 bash:completions/ebq.bash zsh:completions/_ebq fish:completions/ebq.fish; do ./target/debug/ebq --generate ${w%%:*} > ${w#*:}; done";

#[test]
fn man_page_and_completions_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (what, file) in [
        ("man", "man/ebq.1"),
        ("bash", "completions/ebq.bash"),
        ("zsh", "completions/_ebq"),
        ("fish", "completions/ebq.fish"),
    ] {
        let out = common::ebq()
            .args(["--generate", what])
            .output()
            .expect("ebq runs");
        assert!(out.status.success());
        let have = std::fs::read(root.join(file)).unwrap_or_default();
        if have != out.stdout {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; regenerate with:\n  {REGEN}"
    );
}

#[test]
fn man_page_lists_every_column_from_the_catalog() {
    let out = common::ebq()
        .args(["--generate", "man"])
        .output()
        .expect("ebq runs");
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".SH TABLES"));
    let list = common::ebq()
        .args(["--list", "process_events"])
        .env("NO_COLOR", "1")
        .output()
        .expect("ebq runs");
    let list = String::from_utf8_lossy(&list.stdout);
    for col in [
        "pid",
        "parent",
        "cmdline",
        "argv",
        "cgroup_id",
        "exit_code",
        "truncated",
    ] {
        assert!(
            man.contains(&format!("\\fB{col}\\fR")),
            "man page lacks {col}"
        );
        assert!(list.contains(col), "--list lacks {col}");
    }
}

/// README's table list is written by hand (its "own columns" are prose);
/// this keeps it from drifting from the catalog: one row per table, in
/// --list order, with the table's osquery aliases.
#[test]
fn readme_lists_every_table_of_the_catalog() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let rows: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| table | one row per | own columns |"))
        .skip(2)
        .take_while(|l| l.starts_with("| "))
        .map(|l| l.split('|').nth(1).unwrap_or("").trim().to_string())
        .collect();
    let list = common::ebq()
        .args(["--list"])
        .env("NO_COLOR", "1")
        .output()
        .expect("ebq runs");
    assert!(list.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| {
            let first = l.split("   ").next()?.trim().trim_start_matches(['│', ' ']);
            first
                .ends_with("_events")
                .then(|| first.to_string())
                .or_else(|| first.contains("_events (also ").then(|| first.to_string()))
        })
        .map(|t| t.replace("(also ", "("))
        .collect();
    assert!(listed.len() >= 7, "--list gave {listed:?}");
    assert_eq!(rows, listed, "README's table list and the catalog differ");
}
