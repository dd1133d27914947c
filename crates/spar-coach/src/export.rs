//! Sessions and critiques as Markdown.

use std::fmt::Write as _;

use spar_core::critique::{Coverage, Critique};
use spar_core::session::{Session, Speaker, TurnKind};

/// A critique as a Markdown section (the scorecard).
pub fn critique_md(c: &Critique) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "**Score: {}/5** — {}\n", c.score, c.anchor);
    if !c.summary.is_empty() {
        let _ = writeln!(s, "{}\n", c.summary);
    }
    let _ = writeln!(s, "| Dimension | Verdict | Evidence |\n|---|---|---|");
    for d in &c.dimensions {
        let mark = match d.coverage {
            Coverage::Covered => "✅ covered",
            Coverage::Partial => "🟡 partial",
            Coverage::Missing => "❌ missing",
        };
        let ev = d
            .evidence
            .as_deref()
            .map(|e| format!("“{}”", e.replace('|', "\\|").replace('\n', " ")))
            .unwrap_or_default();
        let _ = writeln!(s, "| {} | {} | {} |", d.dimension.label(), mark, ev);
    }
    for d in &c.not_applicable {
        let _ = writeln!(s, "| {} | n/a | |", d.label());
    }
    if !c.key_points.is_empty() {
        let _ = writeln!(s, "\n**Key points**\n");
        for k in &c.key_points {
            let _ = writeln!(s, "- {} {}", if k.hit { "[x]" } else { "[ ]" }, k.text);
        }
    }
    if !c.strengths.is_empty() {
        let _ = writeln!(s, "\n**Strengths**\n");
        for x in &c.strengths {
            let _ = writeln!(s, "- {x}");
        }
    }
    if !c.gaps.is_empty() {
        let _ = writeln!(s, "\n**Gaps**\n");
        for x in &c.gaps {
            let _ = writeln!(s, "- {x}");
        }
    }
    if !c.improved_passage.is_empty() {
        let _ = writeln!(
            s,
            "\n**How it could sound**\n\n> {}",
            c.improved_passage.replace('\n', "\n> ")
        );
    }
    if !c.flags.injection.is_empty() {
        let _ = writeln!(
            s,
            "\n_Text addressed to the grader was ignored: {} passage(s)._",
            c.flags.injection.len()
        );
    }
    let _ = writeln!(s, "\n_Graded by: {}_", c.graded_by);
    s
}

/// A whole session as Markdown.
pub fn session_md(session: &Session, reference: impl Fn(&str) -> Option<String>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# spar session {}\n", session.id);
    let _ = writeln!(s, "Track: {}  ", session.track.describe());
    if let Some(m) = &session.model {
        let _ = writeln!(s, "Interviewer model: {m}  ");
    }
    if let Some(avg) = session.mean_score() {
        let _ = writeln!(s, "Mean score: {avg:.1}/5");
    }
    for (i, item) in session.items.iter().enumerate() {
        let _ = writeln!(
            s,
            "\n## {}. {} ({}, {})\n",
            i + 1,
            item.question_id,
            item.kind.title(),
            item.level.id()
        );
        for t in &item.turns {
            let who = match (t.speaker, t.kind) {
                (Speaker::Interviewer, TurnKind::Question) => "**Interviewer:**",
                (Speaker::Interviewer, TurnKind::Finding) => "**Finding:**",
                (Speaker::Interviewer, _) => "**Interviewer:**",
                (Speaker::Candidate, _) => "**You:**",
                (Speaker::Coach, _) => "_Coach:_",
            };
            let _ = writeln!(s, "{who} {}\n", t.text.trim());
        }
        if let Some(c) = &item.critique {
            let _ = writeln!(s, "### Critique\n\n{}", critique_md(c));
        }
        if item.reference_shown
            && let Some(r) = reference(&item.question_id)
        {
            let _ = writeln!(s, "### Reference answer\n\n{r}\n");
        }
    }
    s
}
