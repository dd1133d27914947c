//! The critique: what landed, what did not, the score against written anchors, and how to
//! improve. Built from an [`Analysis`] and a [`Verdict`]; every quote is taken from the answer
//! itself and checked to be in it.

use serde::{Deserialize, Serialize};

use crate::analysis::text::clean;
use crate::analysis::{Analysis, Flags};
use crate::grade::Verdict;
use crate::question::KeyPoint;
use crate::taxonomy::{Dimension, Kind, Level};

/// How well an answer covers a dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Covered,
    /// Touched, but not enough to count.
    Partial,
    Missing,
}

impl Coverage {
    pub fn label(self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::Partial => "partial",
            Coverage::Missing => "missing",
        }
    }
}

/// The verdict on one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionFinding {
    pub dimension: Dimension,
    pub coverage: Coverage,
    /// The grader's P(covered).
    pub confidence: f32,
    /// A sentence of the answer that evidences it (verified to be in the answer).
    pub evidence: Option<String>,
    /// One line of explanation.
    pub note: String,
}

/// A key point and whether the answer made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPointFinding {
    pub text: String,
    pub dimension: Dimension,
    pub hit: bool,
    pub evidence: Option<String>,
}

/// A full critique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critique {
    pub kind: Kind,
    pub level: Level,
    pub question_id: Option<String>,
    /// 1–5.
    pub score: u8,
    /// The anchor text of the score at this level.
    pub anchor: String,
    pub dimensions: Vec<DimensionFinding>,
    pub not_applicable: Vec<Dimension>,
    pub key_points: Vec<KeyPointFinding>,
    pub strengths: Vec<String>,
    pub gaps: Vec<String>,
    /// A passage showing how the weakest part could sound.
    pub improved_passage: String,
    /// Prose summary (written by the model when one is loaded).
    pub summary: String,
    pub flags: Flags,
    /// What graded it: "deterministic" or "deterministic + <model>".
    pub graded_by: String,
}

impl Critique {
    pub fn covered(&self) -> Vec<Dimension> {
        self.dimensions
            .iter()
            .filter(|d| d.coverage == Coverage::Covered)
            .map(|d| d.dimension)
            .collect()
    }

    /// Dimensions not counted as covered (partial and missing).
    pub fn not_covered(&self) -> Vec<Dimension> {
        self.dimensions
            .iter()
            .filter(|d| d.coverage != Coverage::Covered)
            .map(|d| d.dimension)
            .collect()
    }

    pub fn finding(&self, d: Dimension) -> Option<&DimensionFinding> {
        self.dimensions.iter().find(|x| x.dimension == d)
    }
}

/// The written anchor for a score, calibrated to the level.
pub fn anchor(score: u8, level: Level) -> String {
    let bar = match level {
        Level::Junior => "for a junior engineer",
        Level::Mid => "for a mid-level engineer",
        Level::Senior => "for a senior engineer",
        Level::Staff => "for a staff engineer",
    };
    match score {
        1 => format!("1 — fail: empty, off-topic or fundamentally wrong {bar}."),
        2 => format!(
            "2 — weak: vague or generic; most of what the question calls for is missing {bar}."
        ),
        3 => format!(
            "3 — borderline: about half of what the question calls for, with gaps; could go either way {bar}."
        ),
        4 => format!(
            "4 — strong: most dimensions covered concretely with minor gaps; a clear pass {bar}."
        ),
        _ => format!(
            "5 — exceptional: nearly everything covered with depth, numbers and trade-offs; above the bar {bar}."
        ),
    }
}

/// Whether `quote` appears in `answer` (after the same cleaning the analysis applies).
pub fn quote_is_in(answer: &str, quote: &str) -> bool {
    let a = clean(answer);
    let q = clean(quote);
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    !q.trim().is_empty() && squash(&a).contains(&squash(&q))
}

fn short(s: &str, max_chars: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let cut: String = s.chars().take(max_chars).collect();
    let cut = cut
        .rsplit_once(' ')
        .map(|(a, _)| a.to_string())
        .unwrap_or(cut);
    format!("{cut}…")
}

/// Advice for a missing dimension, phrased to the candidate.
pub fn advice(d: Dimension) -> &'static str {
    use Dimension::*;
    match d {
        Clarify => "Start by pinning down the input: size, ranges, duplicates, what to return.",
        Approach => "Name the algorithm or data structure and say why it fits.",
        Complexity => "State time and space complexity in big-O and justify it.",
        EdgeCases => "List concrete edge cases: empty input, one element, duplicates, overflow.",
        Correctness => "Argue correctness: an invariant or a short walk-through on an example.",
        Testing => "Say how you would test it, with specific cases.",
        Requirements => {
            "Before the boxes: functional and non-functional requirements, scale, read/write ratio."
        }
        Estimation => {
            "Put numbers on it: requests per second, storage, bandwidth — with the arithmetic."
        }
        Architecture => "Lay out the components and walk one request through them.",
        DataModel => "Define the data model: tables or documents, keys, indexes, partitioning.",
        DeepDive => "Go deep on the hardest component instead of staying at box level.",
        Tradeoffs => "Name the alternatives you rejected and what your choice costs.",
        FailureModes => {
            "Say what fails and how the system copes: replicas, retries, overload, data loss."
        }
        HttpSemantics => "Use methods and status codes precisely (idempotency, 201/204/409/429).",
        Security => "Cover authentication, authorisation, validation and abuse limits.",
        Reliability => "Cover idempotency, retries with backoff, timeouts and concurrency control.",
        Evolution => {
            "Explain how the API evolves without breaking clients: versioning and deprecation."
        }
        ErrorHandling => "Define the error body and codes, and how clients should react to each.",
        Situation => "Set the scene briefly: where, when, which team and system.",
        Task => "Say what you personally were responsible for.",
        Action => "Describe the specific steps you took — 'I', not 'we'.",
        Result => "End with the outcome, measured if you can.",
        Specificity => "Use concrete names, numbers and dates instead of general claims.",
        Ownership => "Own the decisions and the mistakes in the first person.",
        Reflection => "Close with what you learned and what you do differently since.",
        TriageOrder => {
            "Scope the impact and check recent changes first; mitigate before root-causing."
        }
        Signals => "Name the exact dashboards, metrics, logs, traces or queries you would look at.",
        Hypotheses => "State hypotheses and how you would confirm or rule out each.",
        Mitigation => "Stop the bleeding first: rollback, feature flag, failover or shedding load.",
        Communication => "Open an incident channel, post status updates and say who you tell.",
        RootCause => "Find the root cause and the lasting fix: postmortem, alerts, tests.",
        Consistency => {
            "Explain how data stays consistent across services: sagas, outbox, idempotent consumers."
        }
        Resilience => "Cover timeouts, retries with budgets, circuit breakers and fallbacks.",
        Observability => "Cover tracing with correlation ids, metrics and alerts across services.",
        Experience => "Ground it in a system you ran: what happened, what the numbers were.",
    }
}

/// Order in which gaps matter for a kind (system design follows its stages).
fn gap_priority(kind: Kind, d: Dimension) -> usize {
    kind.dimensions().iter().position(|x| *x == d).unwrap_or(99)
}

/// Inputs the critique builder needs besides the analysis and verdict.
#[derive(Debug, Clone)]
pub struct CritiqueInputs<'a> {
    pub answer: &'a str,
    pub kind: Kind,
    pub level: Level,
    pub question_id: Option<String>,
    pub key_points: Vec<&'a KeyPoint>,
    pub not_applicable: Vec<Dimension>,
    pub threshold: f32,
    /// The reference passage that best shows the weakest dimension (from retrieval).
    pub improved_passage: String,
    pub graded_by: String,
}

/// Assembles the structured critique.
pub fn build(a: &Analysis, v: &Verdict, inp: &CritiqueInputs<'_>) -> Critique {
    let verified = |span: &std::ops::Range<usize>| {
        let q = a.quote(span).to_string();
        (quote_is_in(inp.answer, &q) && !q.is_empty()).then_some(q)
    };
    let mut dimensions = Vec::new();
    for (dim, p) in &v.p_covered {
        let sig = a.dim(*dim);
        let evidence = sig.and_then(|s| s.evidence.as_ref()).and_then(verified);
        let has_evidence = evidence.is_some() && sig.is_some_and(|s| s.strong > 0 || s.kp_hits > 0);
        let coverage = if *p >= inp.threshold {
            Coverage::Covered
        } else if has_evidence {
            // Never call missing what the answer visibly touches.
            Coverage::Partial
        } else {
            Coverage::Missing
        };
        let note = match coverage {
            Coverage::Covered => format!("{}: covered.", dim.label()),
            Coverage::Partial => format!(
                "{}: touched but not developed. {}",
                dim.label(),
                advice(*dim)
            ),
            Coverage::Missing => format!("{}: missing. {}", dim.label(), advice(*dim)),
        };
        dimensions.push(DimensionFinding {
            dimension: *dim,
            coverage,
            confidence: *p,
            evidence: if coverage == Coverage::Missing {
                None
            } else {
                evidence
            },
            note,
        });
    }
    let key_points: Vec<KeyPointFinding> = a
        .key_points
        .iter()
        .filter_map(|h| {
            let kp = inp.key_points.get(h.index)?;
            Some(KeyPointFinding {
                text: kp.text.clone(),
                dimension: kp.dimension,
                hit: h.hit,
                evidence: h.evidence.as_ref().and_then(verified),
            })
        })
        .collect();

    let mut covered: Vec<&DimensionFinding> = dimensions
        .iter()
        .filter(|d| d.coverage == Coverage::Covered && d.evidence.is_some())
        .collect();
    covered.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let strengths: Vec<String> = covered
        .iter()
        .take(3)
        .map(|d| {
            format!(
                "{} — “{}”",
                d.dimension.label(),
                short(d.evidence.as_deref().unwrap_or(""), 140)
            )
        })
        .collect();
    let mut weak: Vec<&DimensionFinding> = dimensions
        .iter()
        .filter(|d| d.coverage != Coverage::Covered)
        .collect();
    weak.sort_by_key(|d| {
        (
            d.coverage == Coverage::Partial,
            gap_priority(inp.kind, d.dimension),
        )
    });
    let gaps: Vec<String> = weak
        .iter()
        .take(3)
        .map(|d| {
            let missed = key_points
                .iter()
                .find(|k| k.dimension == d.dimension && !k.hit);
            match missed {
                Some(k) => format!(
                    "{} — {} (e.g. {})",
                    d.dimension.label(),
                    advice(d.dimension),
                    lower_first(&k.text)
                ),
                None => format!("{} — {}", d.dimension.label(), advice(d.dimension)),
            }
        })
        .collect();

    let mut flags = a.flags.clone();
    flags.lang = Some(a.lang);
    let score = v.score;
    let summary = summary_line(score, inp.level, &dimensions, &flags);
    Critique {
        kind: inp.kind,
        level: inp.level,
        question_id: inp.question_id.clone(),
        score,
        anchor: anchor(score, inp.level),
        dimensions,
        not_applicable: inp.not_applicable.clone(),
        key_points,
        strengths,
        gaps,
        improved_passage: inp.improved_passage.clone(),
        summary,
        flags,
        graded_by: inp.graded_by.clone(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn summary_line(score: u8, level: Level, dims: &[DimensionFinding], flags: &Flags) -> String {
    if flags.empty {
        return "There was no answer to grade. Even a partial attempt — the first thing you would check or build — gives the interviewer something to work with.".into();
    }
    if flags.off_topic {
        return "The answer does not address the question. Restate what is being asked, then answer that.".into();
    }
    let named = |c: Coverage| -> Vec<&str> {
        dims.iter()
            .filter(|d| d.coverage == c)
            .map(|d| d.dimension.label())
            .collect()
    };
    let (covered, partial, missing) = (
        named(Coverage::Covered),
        named(Coverage::Partial),
        named(Coverage::Missing),
    );
    let mut s = format!("Score {score}/5 at {} level. ", level.id());
    if !covered.is_empty() {
        s.push_str(&format!("Landed: {}. ", covered.join(", ").to_lowercase()));
    }
    if !partial.is_empty() {
        s.push_str(&format!(
            "Touched but not developed: {}. ",
            partial.join(", ").to_lowercase()
        ));
    }
    if !missing.is_empty() {
        s.push_str(&format!("Missing: {}.", missing.join(", ").to_lowercase()));
    }
    if !flags.injection.is_empty() {
        s.push_str(" Text addressed to the grader was ignored.");
    }
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_verified_after_cleaning() {
        assert!(quote_is_in("We use a Redis\u{200b} cache.", "Redis cache."));
        assert!(quote_is_in("line one\n  line two", "one line two"));
        assert!(!quote_is_in("abc", "xyz"));
        assert!(!quote_is_in("abc", "  "));
    }

    #[test]
    fn summary_names_every_dimension_once() {
        let finding = |dimension, coverage| DimensionFinding {
            dimension,
            coverage,
            confidence: 0.5,
            evidence: None,
            note: String::new(),
        };
        let dims = [
            finding(Dimension::Requirements, Coverage::Missing),
            finding(Dimension::Architecture, Coverage::Partial),
            finding(Dimension::DataModel, Coverage::Covered),
        ];
        let s = summary_line(2, Level::Senior, &dims, &Flags::default());
        assert_eq!(
            s,
            "Score 2/5 at senior level. Landed: data model. Touched but not developed: \
             architecture. Missing: requirements."
        );
    }

    #[test]
    fn anchors_name_the_level() {
        assert!(anchor(4, Level::Staff).contains("staff"));
        assert!(anchor(1, Level::Junior).starts_with("1 — fail"));
    }
}
