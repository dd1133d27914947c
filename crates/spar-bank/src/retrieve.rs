//! Grounding: the parts of a question's reference material most relevant to a piece of text
//! (a candidate's answer, or the gap a critique is about).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use spar_core::question::Question;
use spar_core::taxonomy::Dimension;

use crate::Bank;

/// Where a passage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassageSource {
    KeyPoint,
    ReferenceAnswer,
    Pitfall,
}

/// A piece of reference material.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    pub text: String,
    pub source: PassageSource,
    /// The dimension, for key points.
    pub dimension: Option<Dimension>,
    /// Relevance to the text it was retrieved for (higher is closer).
    pub score: f32,
}

/// Splits prose into sentences (keeps abbreviations like "e.g." together well enough).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let end = matches!(c, '.' | '?' | '!' | '。' | '？' | '！')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace())
            && !cur.trim_end().ends_with("e.g.")
            && !cur.trim_end().ends_with("i.e.")
            && !cur.trim_end().ends_with("vs.");
        let para = c == '\n' && chars.get(i + 1) == Some(&'\n');
        if end || para {
            let s = cur.trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
            cur.clear();
        }
    }
    let s = cur.trim().to_string();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

impl Bank {
    /// Every passage of a question's reference material, unscored.
    pub fn passages(&self, q: &Question) -> Vec<Passage> {
        let mut out: Vec<Passage> = q
            .key_points
            .iter()
            .map(|k| Passage {
                text: k.text.clone(),
                source: PassageSource::KeyPoint,
                dimension: Some(k.dimension),
                score: 0.0,
            })
            .collect();
        out.extend(
            sentences(&q.reference_answer)
                .into_iter()
                .map(|text| Passage {
                    text,
                    source: PassageSource::ReferenceAnswer,
                    dimension: None,
                    score: 0.0,
                }),
        );
        out.extend(q.pitfalls.iter().map(|p| Passage {
            text: p.clone(),
            source: PassageSource::Pitfall,
            dimension: None,
            score: 0.0,
        }));
        out
    }

    /// The `limit` passages of `q` closest to `text`, best first. Scoring is BM25-like over
    /// stemmed terms with idf taken across the question's own passages, so words every passage
    /// shares ("the", the topic's name) count for little.
    pub fn grounding(&self, q: &Question, text: &str, limit: usize) -> Vec<Passage> {
        let mut passages = self.passages(q);
        let query: HashSet<String> = self.index().terms(text).into_iter().collect();
        let docs: Vec<Vec<String>> = passages
            .iter()
            .map(|p| self.index().terms(&p.text))
            .collect();
        let n = docs.len().max(1) as f32;
        let mut df: HashMap<&str, f32> = HashMap::new();
        for d in &docs {
            for t in d.iter().collect::<HashSet<_>>() {
                *df.entry(t.as_str()).or_default() += 1.0;
            }
        }
        let avg_len = docs.iter().map(Vec::len).sum::<usize>() as f32 / n;
        let (k1, b) = (1.2f32, 0.75f32);
        for (p, d) in passages.iter_mut().zip(&docs) {
            let mut tf: HashMap<&str, f32> = HashMap::new();
            for t in d {
                *tf.entry(t.as_str()).or_default() += 1.0;
            }
            let len_norm = 1.0 - b + b * d.len() as f32 / avg_len.max(1.0);
            p.score = tf
                .iter()
                .filter(|(t, _)| query.contains(**t))
                .map(|(t, f)| {
                    let idf = ((n - df[t] + 0.5) / (df[t] + 0.5) + 1.0).ln();
                    idf * f * (k1 + 1.0) / (f + k1 * len_norm)
                })
                .sum();
        }
        passages.sort_by(|a, b| b.score.total_cmp(&a.score));
        passages.truncate(limit);
        passages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_terminators() {
        let s = sentences("First, e.g. this. Second? Third!\n\nFourth");
        assert_eq!(s, vec!["First, e.g. this.", "Second?", "Third!", "Fourth"]);
    }
}
