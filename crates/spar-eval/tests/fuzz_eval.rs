//! Property tests (bounded fuzzing) of the eval reader: an eval file someone shares is untrusted
//! input (SECURITY.md). Whatever its bytes, `spar_eval::parse` returns the valid items and one
//! numbered reason per bad line, never a panic; and a predictions file cut or corrupted by a
//! crash resumes with its complete lines.
//!
//! Longer run: `PROPTEST_CASES=50000 cargo nextest run -p spar-eval --test fuzz_eval`.

use proptest::prelude::*;
use spar_eval::parse;
use spar_eval::run::read_predictions;

const DEV: &str = include_str!("../../../eval/dev.jsonl");

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

/// Parses and checks the result is consistent with the input's lines.
fn check(text: &str) -> (usize, usize) {
    let (items, bad) = parse(text);
    let lines = text.lines().count();
    let non_empty = text
        .lines()
        .filter(|l| !l.trim_start_matches('\u{feff}').trim().is_empty())
        .count();
    assert_eq!(
        items.len() + bad.len(),
        non_empty,
        "every non-empty line is an item or a reported bad line"
    );
    for b in &bad {
        assert!(b.line >= 1 && b.line <= lines, "line {} of {lines}", b.line);
        assert!(!b.reason.trim().is_empty());
    }
    let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "ids are unique");
    for i in &items {
        assert!((1..=5).contains(&i.labels.score));
    }
    (items.len(), bad.len())
}

/// JSON-level edits of a real line: values replaced by hostile ones.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("0".to_string()),
        Just("6".to_string()),
        Just("-1".to_string()),
        Just("255".to_string()),
        Just("256".to_string()),
        Just("1e999".to_string()),
        Just("3.5".to_string()),
        Just("\"\"".to_string()),
        Just("\"vibes\"".to_string()),
        Just("[\"requirements\", \"requirements\"]".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just(format!("\"{}\"", "x".repeat(100_000))),
        Just(format!("{}1{}", "[".repeat(5000), "]".repeat(5000))),
        Just("\"\\ud800\"".to_string()),
        Just("\"\\u0000\"".to_string()),
        ".{0,12}",
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_text_is_items_or_numbered_bad_lines(s in ".{0,400}") {
        check(&s);
    }

    #[test]
    fn arbitrary_bytes_read_lossily(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    /// Real lines with one field's value replaced, cut, or glued together.
    #[test]
    fn edited_real_lines(
        picks in prop::collection::vec(0usize..200, 1..8),
        field in prop::sample::select(vec!["id", "kind", "level", "question", "answer", "score", "covered", "missing", "na", "pushback", "labels", "tags"]),
        v in hostile_value(),
        cut in any::<usize>(),
    ) {
        let lines: Vec<&str> = DEV.lines().collect();
        let mut out = Vec::new();
        for (k, p) in picks.iter().enumerate() {
            let line = lines[p % lines.len()].to_string();
            let edited = match k % 3 {
                0 => {
                    // Replace the value after `"field":` up to the next comma or brace.
                    let key = format!("\"{field}\":");
                    match line.find(&key) {
                        Some(i) => {
                            let start = i + key.len();
                            let rest = &line[start..];
                            let end = rest.find([',', '}']).map(|e| start + e).unwrap_or(line.len());
                            format!("{}{}{}", &line[..start], v, &line[end..])
                        }
                        None => line,
                    }
                }
                1 => {
                    let mut c = cut % (line.len() + 1);
                    while !line.is_char_boundary(c) {
                        c -= 1;
                    }
                    line[..c].to_string()
                }
                _ => line,
            };
            out.push(edited);
        }
        check(&out.join("\n"));
    }

    /// A predictions file cut anywhere (a crash mid-write) or with garbage lines: the complete
    /// lines are read, the rest ignored, never an error.
    #[test]
    fn cut_or_corrupted_predictions_resume(cut in any::<usize>(), junk in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let good = predictions_file();
        let n_lines = good.lines().count();
        let mut bytes = good.clone().into_bytes();
        let c = cut % (bytes.len() + 1);
        bytes.truncate(c);
        let complete = String::from_utf8_lossy(&bytes).matches('\n').count();
        let p = dir.path().join("predictions.jsonl");
        std::fs::write(&p, &bytes).unwrap();
        let read = read_predictions(&p).unwrap();
        prop_assert!(read.len() >= complete && read.len() <= n_lines, "{} of {} complete lines", read.len(), complete);
        let mut with_junk = good.into_bytes();
        with_junk.extend(&junk);
        with_junk.push(b'\n');
        std::fs::write(&p, &with_junk).unwrap();
        prop_assert!(read_predictions(&p).unwrap().len() >= n_lines);
    }
}

/// A predictions file made by running the deterministic coach over a few dev items.
fn predictions_file() -> String {
    static P: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let (items, _) = parse(&DEV.lines().take(4).collect::<Vec<_>>().join("\n"));
        let bank = std::sync::Arc::new(spar_bank::Bank::embedded().unwrap());
        let coach = spar_coach::Coach::new(bank, None, &spar_coach::Calibrations::embedded());
        let dir = tempfile::tempdir().unwrap();
        spar_eval::run::run(
            &coach,
            &items,
            dir.path(),
            &mut |_, _, _| {},
            &spar_llm::Cancel::new(),
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join("predictions.jsonl")).unwrap();
        assert!(
            text.contains('“') || text.contains('—') || !text.is_ascii(),
            "has multi-byte characters to cut"
        );
        text
    })
    .clone()
}

#[test]
fn hostile_eval_files_report_each_bad_line() {
    let good = DEV.lines().next().unwrap();
    let text = [
        good.to_string(),
        good.replacen("\"score\": ", "\"score\": 1", 1),
        format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{{\"id\": \"{}\"", "x".repeat(1_000_000)),
        "\u{feff}".to_string(),
        "{}".to_string(),
        "null".to_string(),
        good.to_string(),
    ]
    .join("\n");
    let (items, bad) = parse(&text);
    assert_eq!(items.len(), 1, "{bad:?}");
    let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 6, 7, 8], "{bad:?}");
    assert!(bad.last().unwrap().reason.contains("duplicate"));
}

// regression: a predictions file whose last line was cut inside a multi-byte character made
// `read_predictions` fail with "stream did not contain valid UTF-8" instead of ignoring the
// cut line, so `spar eval` could not resume after a crash.
#[test]
fn a_prediction_cut_inside_a_character_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let good = predictions_file();
    let first_multibyte = good
        .char_indices()
        .find(|(_, c)| c.len_utf8() > 1)
        .map(|(i, _)| i)
        .unwrap();
    let p = dir.path().join("predictions.jsonl");
    std::fs::write(&p, &good.as_bytes()[..first_multibyte + 1]).unwrap();
    assert!(read_predictions(&p).is_ok());
    let mut two = good.clone().into_bytes();
    two.extend_from_slice(&[0xe2, 0x80]);
    std::fs::write(&p, &two).unwrap();
    assert_eq!(read_predictions(&p).unwrap().len(), good.lines().count());
}
