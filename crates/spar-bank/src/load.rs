//! Parsing and validating bank files. Every problem becomes a [`Diagnostic`] naming the file,
//! line and field; nothing panics on bad input.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use spar_core::question::{FollowUp, FollowUpWhen, KeyPoint, Question, Scenario, ScenarioStep};
use spar_core::taxonomy::{Dimension, Kind, Level, Region, Stack};
use spar_core::track::{MockLoop, Round};
use toml::Spanned;

use crate::diagnostic::{Diagnostic, SourceMap};

/// Words allowed in a reference answer.
pub const REFERENCE_WORDS: std::ops::RangeInclusive<usize> = 150..=600;
pub const MIN_KEY_POINTS: usize = 4;
pub const MIN_FOLLOW_UPS: usize = 2;
pub const MIN_SCENARIO_STEPS: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    kind: Spanned<Kind>,
    title: Spanned<String>,
    prompt: Spanned<String>,
    levels: Spanned<Vec<Level>>,
    regions: Vec<Region>,
    stacks: Vec<Stack>,
    topics: Vec<String>,
    dimensions: Spanned<Vec<Spanned<Dimension>>>,
    time_limit_s: Option<Spanned<u32>>,
    reference_answer: Spanned<String>,
    pitfalls: Spanned<Vec<String>>,
    key_points: Spanned<Vec<RawKeyPoint>>,
    follow_ups: Spanned<Vec<RawFollowUp>>,
    scenario: Option<Spanned<RawScenario>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyPoint {
    text: Spanned<String>,
    dimension: Spanned<Dimension>,
    aliases: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowUp {
    text: Spanned<String>,
    dimension: Spanned<Dimension>,
    when: FollowUpWhen,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    opening: Spanned<String>,
    root_cause: Spanned<String>,
    steps: Spanned<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    check: Spanned<String>,
    triggers: Spanned<Vec<String>>,
    finding: Spanned<String>,
    priority: Spanned<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoops {
    #[serde(rename = "loop", default)]
    loops: Vec<RawLoop>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoop {
    id: Spanned<String>,
    name: String,
    region: Region,
    description: String,
    rounds: Spanned<Vec<RawRound>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRound {
    kind: Kind,
    level: Option<Level>,
    stack: Option<Stack>,
    note: Option<String>,
}

/// Collects diagnostics for one file.
struct FileCheck<'a> {
    file: &'a str,
    map: SourceMap<'a>,
    out: &'a mut Vec<Diagnostic>,
}

impl FileCheck<'_> {
    fn error(&mut self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        let d = self.map.diagnostic(self.file, Some(span), field, message);
        self.out.push(d);
    }

    fn toml_error(&mut self, e: &toml::de::Error) {
        let message = e.message().trim().to_string();
        let field = quoted_field(&message)
            .filter(|_| {
                message.starts_with("missing field") || message.starts_with("unknown field")
            })
            .map(|f| {
                // A missing/unknown field is reported on its table: prefix the table's path.
                let table = e
                    .span()
                    .map(|s| self.map.field_at(s.start))
                    .unwrap_or_default();
                let table = table.split('.').next().unwrap_or("").to_string();
                if table.contains('[') || table == "scenario" {
                    format!("{table}.{f}")
                } else {
                    f
                }
            })
            .or_else(|| e.span().map(|s| self.map.field_at(s.start)))
            .unwrap_or_default();
        let d = self.map.diagnostic(self.file, e.span(), field, message);
        self.out.push(d);
    }
}

/// The first `backticked` word of a serde message (`missing field `title``).
fn quoted_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn file_stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".toml").unwrap_or(name)
}

fn parent_dir(path: &str) -> Option<&str> {
    let mut parts = path.rsplit(['/', '\\']);
    parts.next();
    parts.next()
}

/// Parses and checks one question file. Returns the question when it has no errors.
pub(crate) fn parse_question(
    file: &str,
    text: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Question> {
    let before = out.len();
    let mut c = FileCheck {
        file,
        map: SourceMap::new(text),
        out,
    };
    let raw: RawQuestion = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            c.toml_error(&e);
            return None;
        }
    };

    let id = raw.id.get_ref().trim().to_string();
    if !is_valid_id(&id) {
        c.error(
            raw.id.span(),
            "id",
            format!("`{id}` must use only lowercase letters, digits and `-`"),
        );
    } else if file_stem(file) != id {
        c.error(
            raw.id.span(),
            "id",
            format!("`{id}` must equal the file name (`{id}.toml`)"),
        );
    }
    let kind = *raw.kind.get_ref();
    if let Some(dir) = parent_dir(file).filter(|d| d.parse::<Kind>().is_ok())
        && dir != kind.id()
    {
        c.error(
            raw.kind.span(),
            "kind",
            format!("`{kind}` does not match the folder `{dir}/`"),
        );
    }
    for (field, s) in [("title", &raw.title), ("prompt", &raw.prompt)] {
        if s.get_ref().trim().is_empty() {
            c.error(s.span(), field, "must not be empty");
        }
    }
    if raw.levels.get_ref().is_empty() {
        c.error(raw.levels.span(), "levels", "must name at least one level");
    }

    let mut dims = Vec::new();
    for (i, d) in raw.dimensions.get_ref().iter().enumerate() {
        let dim = *d.get_ref();
        if !kind.has_dimension(dim) {
            let allowed: Vec<&str> = kind.dimensions().iter().map(|d| d.id()).collect();
            c.error(
                d.span(),
                format!("dimensions[{i}]"),
                format!(
                    "`{dim}` is not a {kind} dimension (expected one of: {})",
                    allowed.join(", ")
                ),
            );
        } else if dims.contains(&dim) {
            c.error(
                d.span(),
                format!("dimensions[{i}]"),
                format!("`{dim}` is listed twice"),
            );
        } else {
            dims.push(dim);
        }
    }
    if raw.dimensions.get_ref().is_empty() {
        c.error(
            raw.dimensions.span(),
            "dimensions",
            "must name at least one dimension",
        );
    }
    let words = raw.reference_answer.get_ref().split_whitespace().count();
    if !REFERENCE_WORDS.contains(&words) {
        c.error(
            raw.reference_answer.span(),
            "reference_answer",
            format!(
                "has {words} words; a reference answer has {}–{} words",
                REFERENCE_WORDS.start(),
                REFERENCE_WORDS.end()
            ),
        );
    }
    if raw.pitfalls.get_ref().iter().all(|p| p.trim().is_empty()) {
        c.error(
            raw.pitfalls.span(),
            "pitfalls",
            "must list at least one pitfall",
        );
    }

    let in_question = |c: &mut FileCheck<'_>, d: &Spanned<Dimension>, field: String| {
        if !dims.contains(d.get_ref()) {
            let listed: Vec<&str> = dims.iter().map(|d| d.id()).collect();
            c.error(
                d.span(),
                field,
                format!(
                    "`{}` is not one of this question's dimensions ({})",
                    d.get_ref(),
                    listed.join(", ")
                ),
            );
        }
    };
    if raw.key_points.get_ref().len() < MIN_KEY_POINTS {
        c.error(
            raw.key_points.span(),
            "key_points",
            format!(
                "has {} entries; at least {MIN_KEY_POINTS} are required",
                raw.key_points.get_ref().len()
            ),
        );
    }
    for (i, k) in raw.key_points.get_ref().iter().enumerate() {
        in_question(&mut c, &k.dimension, format!("key_points[{i}].dimension"));
        if k.text.get_ref().trim().is_empty() {
            c.error(
                k.text.span(),
                format!("key_points[{i}].text"),
                "must not be empty",
            );
        }
        if k.aliases
            .get_ref()
            .iter()
            .all(|a| a.trim().trim_end_matches('*').is_empty())
        {
            c.error(
                k.aliases.span(),
                format!("key_points[{i}].aliases"),
                "must list at least one alias",
            );
        }
    }
    if raw.follow_ups.get_ref().len() < MIN_FOLLOW_UPS {
        c.error(
            raw.follow_ups.span(),
            "follow_ups",
            format!(
                "has {} entries; at least {MIN_FOLLOW_UPS} are required",
                raw.follow_ups.get_ref().len()
            ),
        );
    }
    for (i, f) in raw.follow_ups.get_ref().iter().enumerate() {
        in_question(&mut c, &f.dimension, format!("follow_ups[{i}].dimension"));
        if f.text.get_ref().trim().is_empty() {
            c.error(
                f.text.span(),
                format!("follow_ups[{i}].text"),
                "must not be empty",
            );
        }
    }

    match (&raw.scenario, kind) {
        (None, Kind::Production) => c.error(
            raw.kind.span(),
            "scenario",
            "a production question needs a [scenario] with steps",
        ),
        (Some(s), k) if k != Kind::Production => c.error(
            s.span(),
            "scenario",
            format!("only production questions have a scenario, not {k}"),
        ),
        (Some(s), _) => {
            let s = s.get_ref();
            let steps = s.steps.get_ref();
            if steps.len() < MIN_SCENARIO_STEPS {
                c.error(
                    s.steps.span(),
                    "scenario.steps",
                    format!(
                        "has {} steps; at least {MIN_SCENARIO_STEPS} are required",
                        steps.len()
                    ),
                );
            }
            for (field, v) in [
                ("scenario.opening", &s.opening),
                ("scenario.root_cause", &s.root_cause),
            ] {
                if v.get_ref().trim().is_empty() {
                    c.error(v.span(), field, "must not be empty");
                }
            }
            for (i, st) in steps.iter().enumerate() {
                if st.triggers.get_ref().iter().all(|t| t.trim().is_empty()) {
                    c.error(
                        st.triggers.span(),
                        format!("scenario.steps[{i}].triggers"),
                        "must list a trigger",
                    );
                }
                if !(1..=9).contains(st.priority.get_ref()) {
                    c.error(
                        st.priority.span(),
                        format!("scenario.steps[{i}].priority"),
                        "must be 1–9",
                    );
                }
                for (name, v) in [("check", &st.check), ("finding", &st.finding)] {
                    if v.get_ref().trim().is_empty() {
                        c.error(
                            v.span(),
                            format!("scenario.steps[{i}].{name}"),
                            "must not be empty",
                        );
                    }
                }
            }
        }
        (None, _) => {}
    }
    if let Some(t) = &raw.time_limit_s
        && *t.get_ref() < 30
    {
        c.error(t.span(), "time_limit_s", "must be at least 30 seconds");
    }

    if c.out.len() > before {
        return None;
    }
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Some(Question {
        id,
        kind,
        title: raw.title.into_inner().trim().to_string(),
        prompt: raw.prompt.into_inner().trim().to_string(),
        levels: raw.levels.into_inner(),
        regions: raw.regions,
        stacks: raw.stacks,
        topics: clean(raw.topics)
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect(),
        dimensions: dims,
        key_points: raw
            .key_points
            .into_inner()
            .into_iter()
            .map(|k| KeyPoint {
                text: k.text.into_inner().trim().to_string(),
                dimension: k.dimension.into_inner(),
                aliases: clean(k.aliases.into_inner()),
            })
            .collect(),
        reference_answer: raw.reference_answer.into_inner().trim().to_string(),
        follow_ups: raw
            .follow_ups
            .into_inner()
            .into_iter()
            .map(|f| FollowUp {
                text: f.text.into_inner().trim().to_string(),
                dimension: f.dimension.into_inner(),
                when: f.when,
            })
            .collect(),
        pitfalls: clean(raw.pitfalls.into_inner()),
        scenario: raw.scenario.map(|s| {
            let s = s.into_inner();
            Scenario {
                opening: s.opening.into_inner().trim().to_string(),
                root_cause: s.root_cause.into_inner().trim().to_string(),
                steps: s
                    .steps
                    .into_inner()
                    .into_iter()
                    .map(|st| ScenarioStep {
                        check: st.check.into_inner().trim().to_string(),
                        triggers: clean(st.triggers.into_inner()),
                        finding: st.finding.into_inner().trim().to_string(),
                        priority: st.priority.into_inner(),
                    })
                    .collect(),
            }
        }),
        time_limit_s: raw.time_limit_s.map(Spanned::into_inner),
    })
}

/// Parses `loops.toml`.
pub(crate) fn parse_loops(file: &str, text: &str, out: &mut Vec<Diagnostic>) -> Vec<MockLoop> {
    let mut c = FileCheck {
        file,
        map: SourceMap::new(text),
        out,
    };
    let raw: RawLoops = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            c.toml_error(&e);
            return Vec::new();
        }
    };
    let mut seen = HashSet::new();
    let mut loops = Vec::new();
    for (i, l) in raw.loops.into_iter().enumerate() {
        let id = l.id.get_ref().clone();
        if !is_valid_id(&id) {
            c.error(
                l.id.span(),
                format!("loop[{i}].id"),
                format!("`{id}` must use lowercase letters, digits, `-`"),
            );
            continue;
        }
        if !seen.insert(id.clone()) {
            c.error(
                l.id.span(),
                format!("loop[{i}].id"),
                format!("duplicate loop id `{id}`"),
            );
            continue;
        }
        if l.rounds.get_ref().is_empty() {
            c.error(
                l.rounds.span(),
                format!("loop[{i}].rounds"),
                "a loop needs at least one round",
            );
            continue;
        }
        loops.push(MockLoop {
            id,
            name: l.name,
            region: l.region,
            description: l.description,
            rounds: l
                .rounds
                .into_inner()
                .into_iter()
                .map(|r| Round {
                    kind: r.kind,
                    level: r.level,
                    stack: r.stack,
                    note: r.note,
                })
                .collect(),
        });
    }
    loops
}

/// Bank-wide checks: duplicate ids across files, loops that reference nothing askable.
pub(crate) fn check_bank(
    questions: &[(String, Question)],
    loops: &[MockLoop],
    out: &mut Vec<Diagnostic>,
) {
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (file, q) in questions {
        if let Some(prev) = first.insert(q.id.as_str(), file.as_str()) {
            out.push(Diagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                field: "id".into(),
                message: format!("duplicate id `{}` (first defined in {prev})", q.id),
            });
        }
    }
    for l in loops {
        for (i, r) in l.rounds.iter().enumerate() {
            if !questions.iter().any(|(_, q)| q.kind == r.kind) {
                out.push(Diagnostic {
                    file: "loops.toml".into(),
                    line: 0,
                    column: 0,
                    field: format!("{}.rounds[{i}].kind", l.id),
                    message: format!("no question of kind `{}` exists", r.kind),
                });
            }
        }
    }
}

/// Non-fatal advice: a dimension with no key point cannot be evidenced by alias matching.
pub(crate) fn warnings(file: &str, q: &Question) -> Vec<Diagnostic> {
    q.dimensions
        .iter()
        .filter(|d| q.key_points_for(**d).next().is_none())
        .map(|d| Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            field: "key_points".into(),
            message: format!("no key point evidences the dimension `{d}`"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("sd-url-shortener"));
        assert!(!is_valid_id("SD-url"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
        assert_eq!(file_stem("a/b/sd-x.toml"), "sd-x");
        assert_eq!(parent_dir("system_design/sd-x.toml"), Some("system_design"));
    }

    #[test]
    fn quoted_field_is_extracted() {
        assert_eq!(quoted_field("missing field `title`"), Some("title".into()));
    }
}
