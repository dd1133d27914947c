//! Property tests (bounded fuzzing) of the bank parser and validator. A question pack shared by
//! someone else is untrusted input (SECURITY.md): any bytes give diagnostics that name the file
//! and a line inside it, never a panic or a stack overflow; and search takes any text.
//!
//! Longer run: `PROPTEST_CASES=20000 cargo nextest run -p spar-bank --test fuzz_bank`.

use proptest::prelude::*;
use spar_bank::{Bank, BankFile, Filters, validate};

const GOOD: &str = include_str!("../../../question-bank/production/prod-api-p99-latency.toml");
const PATH: &str = "production/prod-api-p99-latency.toml";
const LOOPS: &str = include_str!("../../../question-bank/loops.toml");

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn file(path: &str, bytes: Vec<u8>) -> BankFile {
    BankFile {
        path: path.into(),
        bytes,
    }
}

/// Validates and checks the diagnostics are well-formed: they name one of the files, a line
/// inside it (or 0 for the whole file), and say something.
fn check(files: &[BankFile]) -> spar_bank::Validation {
    let v = validate(files);
    for d in v.errors.iter().chain(&v.warnings) {
        let f = files.iter().find(|f| f.path == d.file);
        // Bank-wide problems (duplicate ids, loops naming nothing) may name any of the files.
        assert!(f.is_some(), "diagnostic names an unknown file: {d}");
        let lines = f.unwrap().bytes.iter().filter(|b| **b == b'\n').count() + 1;
        assert!(
            d.line <= lines,
            "line {} past the end ({lines} lines): {d}",
            d.line
        );
        assert!(!d.message.trim().is_empty(), "{d:?}");
        let _ = d.to_string();
    }
    v
}

/// TOML fragments that break structure in interesting ways.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[[key_points]]\n".to_string()),
        Just("[[follow_ups]]\n".to_string()),
        Just("[scenario]\n".to_string()),
        Just("[[scenario.steps]]\n".to_string()),
        Just("dimension = \"vibes\"\n".to_string()),
        Just("priority = 300\n".to_string()),
        Just("priority = -1\n".to_string()),
        Just("time_limit_s = 99999999999\n".to_string()),
        Just("levels = []\n".to_string()),
        Just("id = \"../../etc/passwd\"\n".to_string()),
        Just("kind = \"system_design\"\n".to_string()),
        Just("aliases = [\"\", \"*\", \"* *\", \"***\"]\n".to_string()),
        Just("'''".to_string()),
        Just("\"\"\"".to_string()),
        Just("\"".to_string()),
        Just("\\u0000".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\r\n".to_string()),
        Just("= ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("x = { a = { b = [1, [2, [3]]] } }\n".to_string()),
        Just("日本語".to_string()),
        ".{0,16}",
    ]
}

#[derive(Debug, Clone)]
enum TextEdit {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Byte(usize, u8),
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        1 => (any::<usize>(), 1usize..200).prop_map(|(p, n)| TextEdit::Delete(p, n)),
        3 => (any::<usize>(), fragment()).prop_map(|(p, s)| TextEdit::Insert(p, s)),
        1 => any::<usize>().prop_map(TextEdit::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TextEdit::SwapLines(a, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| TextEdit::Byte(p, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &TextEdit) {
    match e {
        TextEdit::Delete(p, n) if !bytes.is_empty() => {
            let i = p % bytes.len();
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        TextEdit::Insert(p, s) => {
            let i = p % (bytes.len() + 1);
            bytes.splice(i..i, s.bytes());
        }
        TextEdit::DuplicateLine(p) | TextEdit::SwapLines(p, _) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split('\n').collect();
            let a = p % lines.len();
            if let TextEdit::SwapLines(_, q) = e {
                let b = q % lines.len();
                lines.swap(a, b);
            } else {
                lines.insert(a, lines[a]);
            }
            *bytes = lines.join("\n").into_bytes();
        }
        TextEdit::Byte(p, b) if !bytes.is_empty() => {
            let i = p % bytes.len();
            bytes[i] = *b;
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any bytes under any (relative) path.
    #[test]
    fn arbitrary_files_give_diagnostics(bytes in prop::collection::vec(any::<u8>(), 0..2048), path in prop::sample::select(vec![
        "system_design/x.toml", "loops.toml", "x.toml", "a/b/c.toml", "", "production/prod-api-p99-latency.toml",
    ])) {
        let v = check(&[file(path, bytes)]);
        prop_assert!(v.questions.len() <= 1);
    }

    /// A real question with edits: deleted ranges, stray fragments, duplicated or swapped lines,
    /// overwritten bytes. When it still validates, it also loads into a searchable bank.
    #[test]
    fn edited_questions_give_diagnostics(edits in prop::collection::vec(text_edit(), 1..6)) {
        let mut bytes = GOOD.as_bytes().to_vec();
        for e in &edits {
            apply(&mut bytes, e);
        }
        let files = [file(PATH, bytes)];
        let v = check(&files);
        if v.errors.is_empty() {
            let bank = Bank::from_files(&files).unwrap();
            let _ = bank.search("latency p99 database", &Filters::default(), 3).unwrap();
        }
    }

    /// The loops file with edits, alongside a valid question.
    #[test]
    fn edited_loops_give_diagnostics(edits in prop::collection::vec(text_edit(), 1..6)) {
        let mut bytes = LOOPS.as_bytes().to_vec();
        for e in &edits {
            apply(&mut bytes, e);
        }
        check(&[file("loops.toml", bytes), file(PATH, GOOD.as_bytes().to_vec())]);
    }

    /// Search takes any user text, query-syntax characters included.
    #[test]
    fn search_takes_any_text(q in prop_oneof![
        ".{0,64}",
        prop::collection::vec(prop::sample::select(vec![
            "\"", "(", ")", "AND", "OR", "NOT", "-", "+", "*", "?", "~2", "^3", ":", "title:", "[", "]", "{", "}",
            "TO", "\\", "/", "cache", "rate limiter", "キャッシュ", " ", "IN [", "'", "!",
        ]), 0..16).prop_map(|v| v.join("")),
    ]) {
        let bank = bank();
        let hits = bank.search(&q, &Filters::default(), 5);
        prop_assert!(hits.is_ok(), "search failed on {:?}: {:?}", q, hits.err());
        let _ = bank.nearest(&q, None);
    }
}

fn bank() -> &'static Bank {
    static B: std::sync::OnceLock<Bank> = std::sync::OnceLock::new();
    B.get_or_init(|| Bank::embedded().unwrap())
}

#[test]
fn deeply_nested_toml_is_an_error_not_a_stack_overflow() {
    for (name, text) in [
        (
            "arrays",
            format!("id = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "tables",
            format!("id = {}1{}\n", "{a = ".repeat(50_000), "}".repeat(50_000)),
        ),
        ("unclosed", format!("id = {}\n", "[".repeat(200_000))),
        ("dotted", format!("{} = 1\n", vec!["a"; 50_000].join("."))),
        ("headers", format!("[{}]\n", vec!["a"; 50_000].join("."))),
    ] {
        let v = check(&[file("system_design/deep.toml", text.into_bytes())]);
        assert!(!v.errors.is_empty(), "{name}");
    }
}

#[test]
fn hostile_files_give_a_diagnostic_each() {
    let huge_answer = GOOD.replacen(
        "reference_answer = \"\"\"",
        &format!("reference_answer = \"\"\"{}", "word ".repeat(2_000_000)),
        1,
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("production/empty.toml", Vec::new(), "missing field"),
        ("production/nul.toml", vec![0; 4096], ""),
        (
            "production/binary.toml",
            (0..=255u8).cycle().take(10_000).collect(),
            "UTF-8",
        ),
        (
            "production/latin1.toml",
            {
                let mut b = GOOD.as_bytes().to_vec();
                let at = GOOD.find("p99").unwrap();
                b.insert(at, 0xe9);
                b
            },
            "UTF-8",
        ),
        (
            "production/bom.toml",
            [b"\xef\xbb\xbf".as_slice(), GOOD.as_bytes()].concat(),
            "",
        ),
        (PATH, huge_answer.into_bytes(), "reference_answer"),
        (
            "production/crlf.toml",
            GOOD.replace('\n', "\r\n").into_bytes(),
            "",
        ),
    ];
    for (path, bytes, expect) in cases {
        let t0 = std::time::Instant::now();
        let v = check(&[file(path, bytes)]);
        assert!(t0.elapsed().as_secs() < 30, "{path}: {:?}", t0.elapsed());
        if !expect.is_empty() {
            assert!(
                v.errors.iter().any(|e| e.to_string().contains(expect)),
                "{path}: {:?}",
                v.errors
            );
        }
        assert!(
            v.errors.iter().all(|e| e.file == path),
            "{path}: {:?}",
            v.errors
        );
    }
}
