//! Malformed bank files: each problem is reported with its file, line and field.

use spar_bank::{BankFile, Diagnostic, validate};

const GOOD: &str = include_str!("../../../question-bank/production/prod-api-p99-latency.toml");
const PATH: &str = "production/prod-api-p99-latency.toml";

fn check(path: &str, text: &str) -> Vec<Diagnostic> {
    validate(&[BankFile {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    }])
    .errors
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("needle present")]
        .matches('\n')
        .count()
        + 1
}

#[test]
fn the_example_question_is_valid() {
    assert!(check(PATH, GOOD).is_empty());
}

#[test]
fn unknown_field_names_the_field_and_line() {
    let text = GOOD.replace("topics = [", "colour = \"blue\"\ntopics = [");
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "colour");
    assert_eq!(errs[0].line, line_of(&text, "colour"));
    assert!(errs[0].message.contains("unknown field"), "{}", errs[0]);
    assert!(
        errs[0]
            .to_string()
            .starts_with(&format!("{PATH}:{}", errs[0].line))
    );
}

#[test]
fn unknown_field_inside_a_key_point_names_its_index() {
    let text = GOOD.replacen(
        "dimension = \"hypotheses\"\naliases",
        "dimension = \"hypotheses\"\nweight = 2\naliases",
        1,
    );
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "key_points[1].weight");
    assert_eq!(errs[0].line, line_of(&text, "weight = 2"));
}

#[test]
fn unknown_kind_is_reported_on_its_line() {
    let text = GOOD.replace("kind = \"production\"", "kind = \"incident\"");
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "kind");
    assert_eq!(errs[0].line, 2);
    assert!(
        errs[0].message.contains("production"),
        "lists the valid kinds: {}",
        errs[0]
    );
}

#[test]
fn dimension_of_another_kind_is_rejected() {
    let text = GOOD.replacen("dimension = \"signals\"", "dimension = \"estimation\"", 1);
    let errs = check(PATH, &text);
    assert!(!errs.is_empty());
    assert!(
        errs.iter().all(|e| e.field.starts_with("key_points[")),
        "{errs:?}"
    );
    assert_eq!(errs[0].line, line_of(&text, "\"estimation\""));

    let text = GOOD.replace("\"root_cause\"]", "\"root_cause\", \"complexity\"]");
    let errs = check(PATH, &text);
    assert_eq!(errs[0].field, "dimensions[6]", "{errs:?}");
    assert!(errs[0].message.contains("not a production dimension"));
}

#[test]
fn unknown_dimension_id_is_rejected() {
    let text = GOOD.replacen("dimension = \"signals\"", "dimension = \"vibes\"", 1);
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "key_points[2].dimension");
    assert!(errs[0].message.contains("vibes"));
}

#[test]
fn missing_required_field_is_named() {
    let start = GOOD.find("title = ").unwrap();
    let end = start + GOOD[start..].find('\n').unwrap() + 1;
    let text = format!("{}{}", &GOOD[..start], &GOOD[end..]);
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "title");
    assert!(errs[0].message.contains("missing field"));
}

#[test]
fn bad_toml_points_at_the_line() {
    let text = GOOD.replace("levels = [\"mid\"", "levels = [\"mid\" \"x\"");
    let errs = check(PATH, &text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, line_of(&text, "levels = "));
    assert!(errs[0].column > 0);
}

#[test]
fn duplicate_ids_across_files_are_reported() {
    // The same question again, under another folder.
    let other = GOOD.to_string();
    let v = validate(&[
        BankFile {
            path: PATH.into(),
            bytes: GOOD.as_bytes().to_vec(),
        },
        BankFile {
            path: "extra/prod-api-p99-latency.toml".into(),
            bytes: other.into_bytes(),
        },
    ]);
    assert_eq!(v.errors.len(), 1, "{:?}", v.errors);
    assert!(v.errors[0].message.contains("duplicate id"));
    assert!(v.errors[0].message.contains(PATH), "names the first file");
}

#[test]
fn id_must_match_file_name_and_kind_its_folder() {
    let errs = check("production/other-name.toml", GOOD);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "id");
    let errs = check("behavioral/prod-api-p99-latency.toml", GOOD);
    assert!(
        errs.iter()
            .any(|e| e.field == "kind" && e.message.contains("folder")),
        "{errs:?}"
    );
}

#[test]
fn content_floors_are_enforced() {
    // Fewer than four key points.
    let cut = GOOD.find("[[key_points]]\ntext = \"Uses traces").unwrap();
    let end = GOOD.find("[[follow_ups]]").unwrap();
    let text = format!("{}{}", &GOOD[..cut], &GOOD[end..]);
    let errs = check(PATH, &text);
    assert!(
        errs.iter()
            .any(|e| e.field == "key_points" && e.message.contains("at least 4")),
        "{errs:?}"
    );

    // A reference answer that is too short.
    let start = GOOD.find("reference_answer = \"\"\"").unwrap();
    let body = start + "reference_answer = \"\"\"".len();
    let end = body + GOOD[body..].find("\"\"\"").unwrap() + 3;
    let text = format!(
        "{}reference_answer = \"too short\"{}",
        &GOOD[..start],
        &GOOD[end..]
    );
    let errs = check(PATH, &text);
    assert!(
        errs.iter()
            .any(|e| e.field == "reference_answer" && e.message.contains("words")),
        "{errs:?}"
    );

    // A production question without its scenario.
    let text = &GOOD[..GOOD.find("[scenario]").unwrap()];
    let errs = check(PATH, text);
    assert!(errs.iter().any(|e| e.field == "scenario"), "{errs:?}");
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let mut bytes = GOOD.as_bytes().to_vec();
    bytes.splice(10..10, [0xff, 0xfe]);
    let v = validate(&[BankFile {
        path: PATH.into(),
        bytes,
    }]);
    assert_eq!(v.errors.len(), 1);
    assert!(v.errors[0].message.contains("UTF-8"));
}

#[test]
fn embedded_bank_is_valid() {
    let v = validate(&spar_bank::embedded_files());
    assert!(
        v.errors.is_empty(),
        "{}",
        v.errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
