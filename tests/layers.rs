//! The layering rule of src/ (docs/ARCHITECTURE.md): every module imports
//! only modules of its own floor or below, never one above. Read from the
//! source itself, so a new `use crate::...` that reaches up fails here:
//! this is how the rule is checked, with no root and no build of BPF.
//!
//! A module is a top-level folder or file of src/. Test code (a file named
//! tests.rs, or an item under `#[cfg(test)]`) may reach up: it checks a
//! stage against the ones that feed it. Paths are read as written:
//! `crate::x`, `crate::{x, y}`, and `super::` chains that climb to the
//! crate's root (`super::x` in src/a.rs, `super::super::x` in src/a/b.rs);
//! `use crate as` is refused, as it would hide the rest.

use std::collections::BTreeMap;
use std::path::Path;

/// Floors from the ground up. The pipeline runs sql -> plan -> kernel ->
/// exec -> output; the ABI, the shared vocabulary (model), errors and the
/// catalog, the schema every stage reads, sit under it; the command line
/// and main() wire it together on top.
const FLOORS: &[(&str, u32)] = &[
    ("abi", 0),
    ("model", 1),
    ("error", 2),
    ("catalog", 3),
    ("sql", 4),
    ("plan", 5),
    ("kernel", 6),
    ("exec", 7),
    ("output", 8),
    ("cli", 9),
    ("config", 9),
    ("doc", 9),
    ("main", 10),
];

fn floor(module: &str) -> Option<u32> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// The code of a file that is not test code: each `#[cfg(test)]` item is
/// left out (a `mod x { ... }` to its closing brace, anything else to the
/// end of its line).
fn code(path: &Path, text: &str) -> Option<String> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return None;
    }
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let Some(item) = lines.next() else { break };
        if item.trim_start().starts_with("mod ") && item.trim_end().ends_with('{') {
            let mut depth = 1i32;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth <= 0 {
                    break;
                }
            }
        }
    }
    Some(out)
}

/// The top-level modules `super::` chains name in a file at `depth`
/// (1 for src/a.rs and src/a/mod.rs, 2 for src/a/b.rs ...): a chain of
/// `depth` supers climbs to the crate's root.
fn climbed_modules(code: &str, depth: usize) -> Vec<String> {
    let chain = "super::".repeat(depth);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find(&chain).map(|i| i + from) {
        let before = code[..i].chars().last();
        let after = &code[i + chain.len()..];
        // Exactly `depth` of them: not inside a longer chain.
        if !before.is_some_and(|c| c == ':' || c.is_ascii_alphanumeric() || c == '_')
            && !after.starts_with("super::")
        {
            out.extend(
                named_modules(&format!("crate::{after}"))
                    .into_iter()
                    .take(1),
            );
        }
        from = i + "super::".len();
    }
    out
}

/// Every `crate::<module>` a piece of code names (uses and paths alike),
/// grouped ones (`use crate::{a::b, c}`) included.
fn named_modules(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // The first segment of each item of the group, at its depth.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    c if c.is_whitespace() => continue,
                    _ => {}
                }
                if item_start && depth == 0 {
                    let name = ident(&group[j..]);
                    if !name.is_empty() {
                        out.push(name);
                    }
                }
                item_start = false;
            }
        } else {
            let after = after.trim_start();
            let name = ident(after);
            // `crate::some_macro!` names a macro at the crate's root, no module.
            let is_macro = after[name.len()..].starts_with('!');
            if !name.is_empty() && !is_macro {
                out.push(name);
            }
        }
        rest = after;
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            walk(&p, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
}

#[test]
fn no_module_imports_a_higher_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut upward = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a name");
        let module = first.trim_end_matches(".rs");
        let own = floor(module).unwrap_or_else(|| {
            panic!("src/{first} has no floor: add it to FLOORS in tests/layers.rs")
        });
        let text = std::fs::read_to_string(f).expect("readable");
        let Some(code) = code(f, &text) else { continue };
        assert!(
            !code.contains("crate as "),
            "src/{}: `use crate as` hides what it imports",
            rel.display()
        );
        let depth =
            rel.components().count() - usize::from(rel.file_name().is_some_and(|n| n == "mod.rs"));
        let mut named = named_modules(&code);
        named.extend(climbed_modules(&code, depth));
        for m in named {
            if m == module {
                continue;
            }
            let theirs = floor(&m).unwrap_or_else(|| {
                panic!("{} names crate::{m}, a module with no floor", rel.display())
            });
            if theirs > own {
                upward
                    .entry(format!("src/{} -> crate::{m}", rel.display()))
                    .or_insert(format!("floor {own} imports floor {theirs}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that reach up a floor:\n{}",
        upward
            .iter()
            .map(|(k, v)| format!("  {k} ({v})"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_checker_sees_relative_paths_and_skips_test_items() {
    let supers = "use super::exec::run;\nuse super::super::x;\n";
    assert_eq!(climbed_modules(supers, 1), ["exec"]);
    assert_eq!(climbed_modules(supers, 2), ["x"]);
    let text = "use crate::model::Value;\n#[cfg(test)]\nuse crate::exec::run;\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::output::X;\n    fn g() { if true { } }\n}\nuse crate::plan::P;\n";
    let kept = code(Path::new("src/a.rs"), text).expect("not a tests.rs");
    assert_eq!(named_modules(&kept), ["model", "plan"]);
}

#[test]
fn the_checker_sees_an_upward_import() {
    let code = "use crate::model::value::Value;\nfn f() { crate::exec::run::run(); }\ncrate::plain_abi!(T);\nuse crate::{\n    output::Sink,\n    plan::{a, b},\n    cli,\n};";
    assert_eq!(
        named_modules(code),
        ["model", "exec", "output", "plan", "cli"]
    );
    assert!(floor("exec") > floor("catalog"));
}
