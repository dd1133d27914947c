//! From signals to verdicts: a logistic model per rubric dimension (shared weights, one bias per
//! dimension) gives P(covered); a linear model over the answer's coverage, concreteness and level
//! gives a continuous score cut into 1–5 by fitted cut-points. The weights come from
//! [`Calibration`], fitted on the eval calibration split (see [`crate::fit`]); the defaults are
//! hand-set and only used until a calibration is loaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, DimSignals};
use crate::taxonomy::{Dimension, Level};

/// Model-based signals for one dimension, computed by the engine when a model is available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSignals {
    /// P(yes) of the checklist question "does the answer cover …?".
    pub llm_yes: Option<f32>,
    /// Highest cosine similarity between an answer sentence and the dimension's criterion or
    /// key points (sentence embeddings). No engine fills it yet, so fitted weights on it are
    /// zero; the slot keeps one feature layout across calibration files.
    pub similarity: Option<f32>,
}

/// Number of per-dimension features.
pub const DIM_FEATURES: usize = 14;
/// Number of answer-level score features.
pub const SCORE_FEATURES: usize = 9;

/// Names of the per-dimension features, in order (reports and calibration files).
pub const DIM_FEATURE_NAMES: [&str; DIM_FEATURES] = [
    "strong_cues",
    "weak_cues",
    "key_point_share",
    "has_key_points",
    "cue_sentence_share",
    "log_words",
    "specificity",
    "structure",
    "llm_yes",
    "has_llm",
    "similarity",
    "has_similarity",
    "empty_or_off_topic",
    "level",
];

/// Names of the score features, in order.
pub const SCORE_FEATURE_NAMES: [&str; SCORE_FEATURES] = [
    "mean_p_covered",
    "share_covered",
    "key_point_share",
    "log_words",
    "specificity",
    "level",
    "empty_or_off_topic",
    "first_person",
    "coverage_x_level",
];

fn level_x(level: Level) -> f32 {
    match level {
        Level::Junior => 0.0,
        Level::Mid => 1.0 / 3.0,
        Level::Senior => 2.0 / 3.0,
        Level::Staff => 1.0,
    }
}

/// Per-dimension features.
pub fn dim_features(
    a: &Analysis,
    d: &DimSignals,
    m: &ModelSignals,
    level: Level,
) -> [f32; DIM_FEATURES] {
    let n_sent = a.sentences.len().max(1) as f32;
    let bad = a.flags.empty || a.flags.off_topic;
    [
        (d.strong.min(6) as f32 / 3.0).sqrt(),
        (d.weak.min(6) as f32 / 3.0).sqrt(),
        if d.kp_total > 0 {
            d.kp_hits as f32 / d.kp_total as f32
        } else {
            0.0
        },
        if d.kp_total > 0 { 1.0 } else { 0.0 },
        (d.sentences as f32 / n_sent).min(1.0),
        ((a.words as f32 + 1.0).ln() / 6.0).min(1.5),
        (a.specificity() / 10.0).min(1.5),
        d.structure,
        m.llm_yes.map(|p| p * 2.0 - 1.0).unwrap_or(0.0),
        if m.llm_yes.is_some() { 1.0 } else { 0.0 },
        m.similarity.map(|s| (s - 0.3) * 3.0).unwrap_or(0.0),
        if m.similarity.is_some() { 1.0 } else { 0.0 },
        if bad { 1.0 } else { 0.0 },
        level_x(level),
    ]
}

/// Answer-level score features given P(covered) of each applicable dimension.
pub fn score_features(
    a: &Analysis,
    p_covered: &[f32],
    threshold: f32,
    level: Level,
) -> [f32; SCORE_FEATURES] {
    let n = p_covered.len().max(1) as f32;
    let mean = p_covered.iter().sum::<f32>() / n;
    let share = p_covered.iter().filter(|p| **p >= threshold).count() as f32 / n;
    let kp_total = a.key_points.len();
    let kp = if kp_total > 0 {
        a.key_points.iter().filter(|k| k.hit).count() as f32 / kp_total as f32
    } else {
        mean
    };
    let bad = a.flags.empty || a.flags.off_topic;
    [
        mean,
        share,
        kp,
        ((a.words as f32 + 1.0).ln() / 6.0).min(1.5),
        (a.specificity() / 10.0).min(1.5),
        level_x(level),
        if bad { 1.0 } else { 0.0 },
        a.first_person,
        share * level_x(level),
    ]
}

/// Fitted weights of the grader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Which signals the weights were fitted with: "deterministic" or a model id.
    pub signals: String,
    pub dim_weights: Vec<f32>,
    pub dim_bias: BTreeMap<Dimension, f32>,
    /// Default bias for a dimension missing from `dim_bias`.
    pub bias: f32,
    /// P(covered) at or above which a dimension counts as covered.
    pub threshold: f32,
    pub score_weights: Vec<f32>,
    pub score_bias: f32,
    /// Continuous score boundaries between 1|2, 2|3, 3|4, 4|5.
    pub cutpoints: [f32; 4],
    /// Where and how it was fitted (for the record).
    #[serde(default)]
    pub fitted_on: String,
    /// How far the continuous score is lowered when the answer tried to address the grader: the
    /// benefit of the doubt goes against manipulation, so such an answer never scores above the
    /// same answer without it.
    #[serde(default = "default_injection_margin")]
    pub injection_margin: f32,
}

fn default_injection_margin() -> f32 {
    0.6
}

impl Default for Calibration {
    /// Hand-set weights: sensible, unfitted.
    fn default() -> Self {
        Self {
            signals: "deterministic".into(),
            dim_weights: vec![
                2.2, 0.4, 2.0, -0.4, 1.5, 0.6, 0.4, 0.8, 2.0, 0.0, 2.0, 0.0, -6.0, -0.3,
            ],
            dim_bias: BTreeMap::new(),
            bias: -2.2,
            threshold: 0.5,
            score_weights: vec![2.0, 1.5, 0.8, 0.3, 0.2, -0.6, -2.0, 0.2, 0.0],
            score_bias: 1.2,
            cutpoints: [1.5, 2.5, 3.5, 4.5],
            fitted_on: "hand-set defaults".into(),
            injection_margin: default_injection_margin(),
        }
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibration {
    /// P(covered) for one dimension.
    pub fn p_covered(&self, dim: Dimension, x: &[f32; DIM_FEATURES]) -> f32 {
        let b = self.dim_bias.get(&dim).copied().unwrap_or(self.bias);
        let z: f32 = b + self
            .dim_weights
            .iter()
            .zip(x)
            .map(|(w, v)| w * v)
            .sum::<f32>();
        sigmoid(z)
    }

    /// The continuous score before cutting.
    pub fn raw_score(&self, x: &[f32; SCORE_FEATURES]) -> f32 {
        self.score_bias
            + self
                .score_weights
                .iter()
                .zip(x)
                .map(|(w, v)| w * v)
                .sum::<f32>()
    }

    /// 1–5.
    pub fn cut(&self, raw: f32) -> u8 {
        1 + self.cutpoints.iter().filter(|c| raw >= **c).count() as u8
    }
}

/// The grader's verdict on one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// (dimension, P(covered)) for every applicable dimension.
    pub p_covered: Vec<(Dimension, f32)>,
    pub raw_score: f32,
    pub score: u8,
}

/// Applies `cal` to an analysis.
pub fn grade(
    a: &Analysis,
    models: &BTreeMap<Dimension, ModelSignals>,
    level: Level,
    cal: &Calibration,
) -> Verdict {
    let mut p_covered = Vec::with_capacity(a.dims.len());
    for d in &a.dims {
        let m = models.get(&d.dimension).copied().unwrap_or_default();
        let x = dim_features(a, d, &m, level);
        let mut p = cal.p_covered(d.dimension, &x);
        if a.flags.empty || a.flags.off_topic {
            p = p.min(0.05);
        }
        p_covered.push((d.dimension, p));
    }
    let ps: Vec<f32> = p_covered.iter().map(|x| x.1).collect();
    let sx = score_features(a, &ps, cal.threshold, level);
    let raw = cal.raw_score(&sx);
    let mut score = cal.cut(raw);
    if !a.flags.injection.is_empty() {
        score = score.min(cal.cut(raw - cal.injection_margin));
    }
    if a.flags.empty || a.flags.off_topic {
        score = 1;
    }
    Verdict {
        p_covered,
        raw_score: raw,
        score,
    }
}
