//! `docs/SECURITY.md`'s threat model names, for every control, the test that
//! fails when the control breaks: each of those tests must exist, so that a
//! renamed or deleted test cannot leave the table promising a check nobody
//! runs.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test names of the table's last column: backticked names, without
/// their module path; paths (`crates/…`) and whole modules (`…::tests`)
/// are not test functions.
fn named_tests(security: &str) -> Vec<String> {
    let table = security
        .split("## Threat model")
        .nth(1)
        .expect("a threat model section")
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2);
    let mut names = Vec::new();
    for row in table {
        let cells: Vec<&str> = row.trim_matches('|').split('|').collect();
        let last = cells.last().expect("a test column");
        for (i, span) in last.split('`').enumerate() {
            if i % 2 == 0 || span.contains('/') || span.ends_with("::tests") {
                continue;
            }
            let name = span.rsplit("::").next().unwrap_or(span);
            names.push(name.to_owned());
        }
    }
    names
}

fn sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_test_the_threat_model_names_exists() {
    let root = workspace();
    let security = std::fs::read_to_string(root.join("docs/SECURITY.md")).unwrap();
    let names = named_tests(&security);
    // The table has about twenty rows: far fewer names means it was not read.
    assert!(names.len() >= 15, "only {names:?} found in the table");
    let mut code = String::new();
    for dir in ["crates", "apps"] {
        sources(&root.join(dir), &mut code);
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !code.contains(&format!("fn {name}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/SECURITY.md names tests that do not exist: {missing:?}"
    );
}

#[test]
fn the_table_reader_keeps_test_names_and_skips_paths_and_modules() {
    let doc = "## Threat model\n\n| a | test |\n|---|---|\n| x | app `identity::one_test`, `crates/platform/http` `rate_limit::tests::two_test`, `policy::tests` |\n\n## Next\n| not | `read` |";
    assert_eq!(named_tests(doc), ["one_test", "two_test"]);
}
