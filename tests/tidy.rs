//! What a linter cannot check, in the style of rust-analyzer's `tidy` tests: the house rules
//! of ARCHITECTURE.md that keep each change in one room.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("source")
}

/// A reader opening any file first learns what it is for.
#[test]
fn every_source_file_starts_with_a_module_comment() {
    let missing: Vec<PathBuf> = rust_files(Path::new("src"))
        .into_iter()
        .filter(|p| !read(p).starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "no leading //! comment: {missing:#?}");
}

/// Whether `word` occurs in `text` with no identifier character on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// One rule is one file: its code appears only there (in code, strings or comments), so
/// renaming or removing a rule cannot leave a report block, a freeze condition, a generator
/// case or a stale sentence behind (those read the rule's metadata through the registry).
#[test]
fn no_rule_code_outside_its_rule_file() {
    let mut stray = Vec::new();
    for path in rust_files(Path::new("src")) {
        let text = read(&path);
        for code in permaudit::rules::codes() {
            let own = Path::new("src/rules").join(format!("{}.rs", code.to_lowercase()));
            if path != own && contains_word(&text, code) {
                stray.push(format!("{}: {code}", path.display()));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "rule codes outside their rule: {stray:#?}"
    );
}

/// Flow runs one way (sources -> ingest -> resolve -> detect -> report): ingest knows no
/// rule. What it runs on behalf of rules (the log-chain checks) is passed in.
#[test]
fn ingest_knows_no_rule() {
    let uses: Vec<PathBuf> = rust_files(Path::new("src/ingest"))
        .into_iter()
        .filter(|p| read(p).contains("crate::rules"))
        .collect();
    assert!(uses.is_empty(), "ingest imports rules: {uses:#?}");
}

/// Sources reach ingest through `ingest::mapped::RowSource` only: ingest checks rows the
/// same way whatever their format, and a new source never touches it.
#[test]
fn ingest_knows_no_source_format() {
    let uses: Vec<PathBuf> = rust_files(Path::new("src/ingest"))
        .into_iter()
        .filter(|p| read(p).contains("crate::source"))
        .collect();
    assert!(uses.is_empty(), "ingest imports source: {uses:#?}");
}

/// Comments say why, for as long as the code lives; an issue number says when, and rots.
#[test]
fn no_issue_numbers_in_code_comments() {
    let mut found = Vec::new();
    for path in rust_files(Path::new("src"))
        .into_iter()
        .chain(rust_files(Path::new("tests")))
    {
        for (i, line) in read(&path).lines().enumerate() {
            let l = line.trim_start().to_lowercase();
            if l.starts_with("//") && names_an_issue(&l) {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "comments naming issues: {found:#?}");
}

/// An issue named by number, in any of the spellings the next test lists.
fn names_an_issue(comment: &str) -> bool {
    let digit_at = |i: usize| comment[i..].starts_with(|c: char| c.is_ascii_digit());
    let after_word = comment.match_indices("issue").any(|(i, w)| {
        let rest = comment[i + w.len()..].trim_start_matches('s').trim_start();
        rest.starts_with(|c: char| c.is_ascii_digit())
            || rest
                .strip_prefix('#')
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    });
    let hash_number = comment
        .match_indices('#')
        .any(|(i, _)| digit_at(i + 1) && (i == 0 || comment[..i].ends_with([' ', '('])));
    after_word || hash_number
}

#[test]
fn the_issue_number_check_sees_every_spelling() {
    for c in [
        "// see issue 13",
        "// issue #13",
        "// issues 9-15",
        "// fixed in #13",
        "// (#7)",
    ] {
        assert!(names_an_issue(c), "{c}");
    }
    for c in [
        "// an issue with polars",
        "// the #[derive] below",
        "// color #ffffff",
        "// row 13",
    ] {
        assert!(!names_an_issue(c), "{c}");
    }
}

/// Stored digests are keyed on a hash of the log-chain checks' sources and of the helper
/// modules they use (`rules::chain_checks`): a helper they used without it being hashed
/// would let a change to it serve stale findings from every stored digest.
#[test]
fn the_log_chain_checks_use_only_helpers_their_version_hashes() {
    let hashed = ["log_sequence_gap", "log_hash_mismatch", "chain", "evidence"];
    // Only the report's layout of their findings reads it, never a digest.
    let layout_only = ["table"];
    let registry = read(Path::new("src/rules/mod.rs"));
    for m in hashed {
        assert!(
            registry.contains(&format!("include_str!(\"{m}.rs\")")),
            "{m}.rs is not hashed"
        );
    }
    for f in [
        "src/rules/log_sequence_gap.rs",
        "src/rules/log_hash_mismatch.rs",
    ] {
        let text = read(Path::new(f));
        for (i, _) in text.match_indices("super::") {
            let module: String = text[i + "super::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `super::{Freeze, RuleMeta}`: the registry's own types, not a module.
            if module.is_empty() || module.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            assert!(
                hashed.contains(&module.as_str()) || layout_only.contains(&module.as_str()),
                "{f} uses super::{module}, which the log-chain checks' version does not hash"
            );
        }
    }
}
