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
