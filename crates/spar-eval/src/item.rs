//! The eval file format: one JSON object per line. Unknown fields are ignored; an invalid line is
//! reported with its number and skipped.

use serde::{Deserialize, Serialize};
use spar_core::taxonomy::{Dimension, Kind, Level};

/// Labels of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub score: u8,
    #[serde(default)]
    pub covered: Vec<Dimension>,
    #[serde(default)]
    pub missing: Vec<Dimension>,
    #[serde(default)]
    pub na: Vec<Dimension>,
    #[serde(default)]
    pub flaws: Vec<String>,
    #[serde(default)]
    pub pushback: Vec<Dimension>,
}

/// One labelled answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalItem {
    pub id: String,
    pub kind: Kind,
    pub level: Level,
    pub question: String,
    pub answer: String,
    pub labels: Labels,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub question_id: Option<String>,
}

impl EvalItem {
    pub fn has_tag(&self, t: &str) -> bool {
        self.tags.iter().any(|x| x == t)
    }
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

fn check(item: &EvalItem) -> Result<(), String> {
    if item.id.trim().is_empty() {
        return Err("`id` is empty".into());
    }
    if !(1..=5).contains(&item.labels.score) {
        return Err(format!("labels.score {} is not 1–5", item.labels.score));
    }
    let mut all: Vec<Dimension> = item
        .labels
        .covered
        .iter()
        .chain(&item.labels.missing)
        .chain(&item.labels.na)
        .copied()
        .collect();
    for d in &all {
        if !item.kind.has_dimension(*d) {
            return Err(format!("dimension `{d}` is not a {} dimension", item.kind));
        }
    }
    all.sort();
    let before = all.len();
    all.dedup();
    if all.len() != before {
        return Err("a dimension appears in more than one of covered/missing/na".into());
    }
    let mut want: Vec<Dimension> = item.kind.dimensions().to_vec();
    want.sort();
    if all != want {
        let missing: Vec<&str> = want
            .iter()
            .filter(|d| !all.contains(d))
            .map(|d| d.id())
            .collect();
        return Err(format!(
            "covered + missing + na must list every {} dimension; missing: {}",
            item.kind,
            missing.join(", ")
        ));
    }
    for d in &item.labels.pushback {
        if !item.kind.has_dimension(*d) {
            return Err(format!(
                "pushback dimension `{d}` is not a {} dimension",
                item.kind
            ));
        }
    }
    Ok(())
}

/// Parses a JSONL eval file: the valid items and the invalid lines.
pub fn parse(text: &str) -> (Vec<EvalItem>, Vec<BadLine>) {
    let mut items = Vec::new();
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EvalItem>(line) {
            Ok(item) => match check(&item) {
                Ok(()) if !seen.insert(item.id.clone()) => bad.push(BadLine {
                    line: n,
                    reason: format!("duplicate id `{}`", item.id),
                }),
                Ok(()) => items.push(item),
                Err(reason) => bad.push(BadLine { line: n, reason }),
            },
            Err(e) => bad.push(BadLine {
                line: n,
                reason: e.to_string(),
            }),
        }
    }
    (items, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"a","kind":"api_design","level":"mid","question":"q","answer":"x","labels":{"score":3,"covered":["security"],"missing":["http_semantics","reliability","evolution","error_handling"],"na":["tradeoffs"],"flaws":[],"pushback":["reliability"]},"extra":1}"#;

    #[test]
    fn good_lines_parse_and_unknown_fields_are_ignored() {
        let (items, bad) = parse(GOOD);
        assert_eq!(items.len(), 1);
        assert!(bad.is_empty());
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let text = format!(
            "{GOOD}\nnot json\n{}\n\n{}\n{}",
            GOOD.replace("\"score\":3", "\"score\":7")
                .replace("\"id\":\"a\"", "\"id\":\"b\""),
            GOOD.replace("\"na\":[\"tradeoffs\"]", "\"na\":[]")
                .replace("\"id\":\"a\"", "\"id\":\"c\""),
            GOOD
        );
        let (items, bad) = parse(&text);
        assert_eq!(items.len(), 1);
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 6]);
        assert!(bad[1].reason.contains("1–5"));
        assert!(bad[2].reason.contains("tradeoffs"));
        assert!(bad[3].reason.contains("duplicate"));
    }
}
