//! Which dimension the next follow-up should probe.
//!
//! With a fitted [`Ranker`] (what `spar eval fit` ships): a conditional-logit choice among the
//! applicable dimensions, scoring each from how likely the grader thinks it is missing, its
//! partial evidence (cues, key points), how often interviewers of this kind push on it, and,
//! when nothing looks missing, which dimension they go deeper on. It is fitted on cross-fitted
//! probabilities, so it learns how far to trust the grader on answers it has not seen.
//!
//! Without one, a hand rule: among the dimensions the answer lacks, the one an interviewer of
//! this kind most often pushes on, weighted by how sure the grader is that it is missing
//! (`(1 − p)^sharpness`). System design keeps its stage order as a tie-breaker: requirements
//! before estimation before architecture. When nothing is missing, the depth dimensions that
//! separate a 4 from a 5.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::grade::DIM_FEATURES;
use crate::taxonomy::{Dimension, Kind};

/// One dimension the follow-up could probe, as the grader sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub dimension: Dimension,
    /// P(covered).
    pub p: f32,
    /// The dimension model's features ([`crate::grade::dim_features`]).
    pub x: [f32; DIM_FEATURES],
}

/// Number of shared ranking features.
pub const RANK_FEATURES: usize = 9;

/// Names of the shared ranking features, in order.
pub const RANK_FEATURE_NAMES: [&str; RANK_FEATURES] = [
    "missing",
    "gap",
    "ln_gap",
    "ln_p",
    "strong_cues",
    "weak_cues",
    "key_point_share",
    "cue_sentence_share",
    "design_stage_if_missing",
];

/// A fitted conditional-logit ranker over candidate dimensions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranker {
    /// Weights of [`RANK_FEATURE_NAMES`].
    pub shared: Vec<f32>,
    /// How often interviewers of a kind push on a dimension, as a logit offset.
    pub base: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
    /// Where they go deeper when nothing looks missing.
    pub depth: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
    /// L2 penalty it was fitted with.
    pub l2: f32,
}

/// The shared features of one candidate.
pub fn rank_features(kind: Kind, c: &Candidate, threshold: f32) -> [f32; RANK_FEATURES] {
    let missing = if c.p < threshold { 1.0 } else { 0.0 };
    let gap = (1.0 - c.p).clamp(0.0, 1.0);
    let stage = if kind == Kind::SystemDesign {
        stage_rank(c.dimension) as f32 / 7.0 * missing
    } else {
        0.0
    };
    [
        missing,
        gap,
        gap.max(1e-4).ln(),
        c.p.max(1e-4).ln(),
        c.x[0],
        c.x[1],
        c.x[2],
        c.x[4],
        stage,
    ]
}

impl Ranker {
    /// The score of `c` among candidates where `nothing_missing` says whether any looks missing.
    pub fn score(&self, kind: Kind, c: &Candidate, threshold: f32, nothing_missing: bool) -> f32 {
        let f = rank_features(kind, c, threshold);
        let shared: f32 = self.shared.iter().zip(f).map(|(w, x)| w * x).sum();
        let table = |t: &BTreeMap<Kind, BTreeMap<Dimension, f32>>| {
            t.get(&kind)
                .and_then(|m| m.get(&c.dimension))
                .copied()
                .unwrap_or(0.0)
        };
        shared
            + table(&self.base)
            + if nothing_missing {
                table(&self.depth)
            } else {
                0.0
            }
    }
}

/// One labelled choice for fitting a [`Ranker`].
#[derive(Debug, Clone)]
pub struct RankExample {
    pub kind: Kind,
    pub candidates: Vec<Candidate>,
    pub threshold: f32,
    /// The dimensions a good follow-up probes (any of them is right).
    pub targets: Vec<Dimension>,
}

/// Fits a [`Ranker`] by maximising the log-probability that the softmax choice lands in the
/// target set, with an L2 penalty `l2` on every weight (plain gradient descent with per-weight
/// step sizes; the problem is convex, so the result does not depend on the start).
pub fn fit_ranker(examples: &[RankExample], l2: f32, iters: usize) -> Ranker {
    // Parameter layout: shared features, then one base and one depth weight per (kind, dim).
    let mut slots: Vec<(Kind, Dimension)> = examples
        .iter()
        .flat_map(|e| e.candidates.iter().map(move |c| (e.kind, c.dimension)))
        .collect();
    slots.sort();
    slots.dedup();
    let slot = |k: Kind, d: Dimension| {
        slots
            .binary_search(&(k, d))
            .expect("every candidate has a slot")
    };
    let n = RANK_FEATURES + 2 * slots.len();
    struct Row {
        f: [f32; RANK_FEATURES],
        base: usize,
        depth: Option<usize>,
        target: bool,
    }
    let data: Vec<Vec<Row>> = examples
        .iter()
        .filter(|e| {
            e.candidates
                .iter()
                .any(|c| e.targets.contains(&c.dimension))
        })
        .map(|e| {
            let nothing_missing = e.candidates.iter().all(|c| c.p >= e.threshold);
            e.candidates
                .iter()
                .map(|c| {
                    let s = slot(e.kind, c.dimension);
                    Row {
                        f: rank_features(e.kind, c, e.threshold),
                        base: RANK_FEATURES + s,
                        depth: nothing_missing.then_some(RANK_FEATURES + slots.len() + s),
                        target: e.targets.contains(&c.dimension),
                    }
                })
                .collect()
        })
        .collect();
    let mut w = vec![0f64; n];
    let mut g2 = vec![1e-8f64; n];
    let lr = 0.3f64;
    for _ in 0..iters {
        let mut g: Vec<f64> = w.iter().map(|wi| 2.0 * l2 as f64 * wi).collect();
        for rows in &data {
            let z: Vec<f64> = rows
                .iter()
                .map(|r| {
                    r.f.iter()
                        .zip(&w[..RANK_FEATURES])
                        .map(|(x, wi)| *x as f64 * wi)
                        .sum::<f64>()
                        + w[r.base]
                        + r.depth.map(|i| w[i]).unwrap_or(0.0)
                })
                .collect();
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let total: f64 = e.iter().sum();
            let hit: f64 = rows
                .iter()
                .zip(&e)
                .filter(|(r, _)| r.target)
                .map(|(_, v)| v)
                .sum();
            // d(−ln P(target set))/dz_i = p_i − [i ∈ targets]·e_i / hit.
            for (r, ei) in rows.iter().zip(&e) {
                let coef = ei / total - if r.target { ei / hit } else { 0.0 };
                for (j, x) in r.f.iter().enumerate() {
                    g[j] += coef * *x as f64;
                }
                g[r.base] += coef;
                if let Some(i) = r.depth {
                    g[i] += coef;
                }
            }
        }
        for i in 0..n {
            g2[i] += g[i] * g[i];
            w[i] -= lr * g[i] / g2[i].sqrt();
        }
    }
    let mut r = Ranker {
        shared: w[..RANK_FEATURES].iter().map(|v| *v as f32).collect(),
        l2,
        ..Ranker::default()
    };
    for (s, (k, d)) in slots.iter().enumerate() {
        r.base
            .entry(*k)
            .or_default()
            .insert(*d, w[RANK_FEATURES + s] as f32);
        r.depth
            .entry(*k)
            .or_default()
            .insert(*d, w[RANK_FEATURES + slots.len() + s] as f32);
    }
    r
}

fn default_sharpness() -> f32 {
    2.0
}

/// Fitted pushback preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushbackPriors {
    pub weights: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
    #[serde(default = "default_sharpness")]
    pub sharpness: f32,
    /// The fitted ranker; when present it replaces the hand rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranker: Option<Ranker>,
}

impl Default for PushbackPriors {
    fn default() -> Self {
        Self {
            weights: BTreeMap::new(),
            sharpness: default_sharpness(),
            ranker: None,
        }
    }
}

impl PushbackPriors {
    /// The fitted weight, or a default that prefers the kind's core dimensions.
    pub fn weight(&self, kind: Kind, d: Dimension) -> f32 {
        if let Some(w) = self.weights.get(&kind).and_then(|m| m.get(&d)) {
            return *w;
        }
        use Dimension::*;
        let order: &[Dimension] = match kind {
            Kind::Algorithm => &[
                Approach,
                Complexity,
                Correctness,
                EdgeCases,
                Testing,
                Clarify,
            ],
            Kind::SystemDesign => &[
                Requirements,
                Estimation,
                Architecture,
                DataModel,
                DeepDive,
                FailureModes,
                Tradeoffs,
            ],
            Kind::ApiDesign => &[
                HttpSemantics,
                Reliability,
                Security,
                ErrorHandling,
                Evolution,
                Tradeoffs,
            ],
            Kind::Behavioral => &[
                Action,
                Result,
                Ownership,
                Specificity,
                Reflection,
                Situation,
                Task,
            ],
            Kind::Production => &[
                Mitigation,
                Signals,
                TriageOrder,
                Hypotheses,
                Communication,
                RootCause,
            ],
            Kind::Microservices => &[
                Consistency,
                Resilience,
                Observability,
                Tradeoffs,
                Experience,
            ],
        };
        let i = order.iter().position(|x| *x == d).unwrap_or(order.len());
        1.0 - 0.08 * i as f32
    }
}

/// System design stages in interview order.
pub fn stage_rank(d: Dimension) -> usize {
    use Dimension::*;
    match d {
        Requirements => 0,
        Estimation => 1,
        Architecture => 2,
        DataModel => 3,
        DeepDive => 4,
        FailureModes => 5,
        Tradeoffs => 6,
        _ => 7,
    }
}

const DEPTH: [Dimension; 7] = [
    Dimension::DeepDive,
    Dimension::Tradeoffs,
    Dimension::FailureModes,
    Dimension::Resilience,
    Dimension::RootCause,
    Dimension::Reflection,
    Dimension::EdgeCases,
];

/// Chooses the dimension to probe among `pool` (non-empty).
pub fn choose(
    kind: Kind,
    pool: &[Candidate],
    threshold: f32,
    nothing_said: bool,
    priors: &PushbackPriors,
) -> Dimension {
    if let Some(r) = &priors.ranker {
        let nothing_missing = pool.iter().all(|c| c.p >= threshold);
        return pool
            .iter()
            .max_by(|a, b| {
                r.score(kind, a, threshold, nothing_missing)
                    .total_cmp(&r.score(kind, b, threshold, nothing_missing))
            })
            .expect("non-empty pool")
            .dimension;
    }
    if nothing_said {
        return pool[0].dimension;
    }
    let missing: Vec<&Candidate> = pool.iter().filter(|c| c.p < threshold).collect();
    if !missing.is_empty() {
        let score = |c: &Candidate| {
            let stage = if kind == Kind::SystemDesign {
                1.0 - 0.04 * stage_rank(c.dimension) as f32
            } else {
                1.0
            };
            priors.weight(kind, c.dimension) * (1.0 - c.p).max(0.0).powf(priors.sharpness) * stage
        };
        return missing
            .into_iter()
            .max_by(|x, y| score(x).total_cmp(&score(y)))
            .expect("non-empty")
            .dimension;
    }
    pool.iter()
        .filter(|c| DEPTH.contains(&c.dimension))
        .min_by(|x, y| x.p.total_cmp(&y.p))
        .or_else(|| pool.iter().min_by(|x, y| x.p.total_cmp(&y.p)))
        .expect("non-empty pool")
        .dimension
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(kind: Kind, p: impl Fn(Dimension) -> f32) -> Vec<Candidate> {
        kind.dimensions()
            .iter()
            .map(|d| Candidate {
                dimension: *d,
                p: p(*d),
                x: [0.0; DIM_FEATURES],
            })
            .collect()
    }

    #[test]
    fn system_design_asks_for_requirements_first() {
        use Dimension::*;
        let c = pool(Kind::SystemDesign, |d| {
            if d == Architecture { 0.9 } else { 0.1 }
        });
        let priors = PushbackPriors::default();
        assert_eq!(
            choose(Kind::SystemDesign, &c, 0.5, false, &priors),
            Requirements
        );
    }

    #[test]
    fn sure_gaps_beat_borderline_ones() {
        use Dimension::*;
        let c = pool(Kind::Microservices, |d| match d {
            Consistency => 0.45,
            Resilience => 0.02,
            _ => 0.9,
        });
        let priors = PushbackPriors::default();
        assert_eq!(
            choose(Kind::Microservices, &c, 0.5, false, &priors),
            Resilience
        );
    }

    #[test]
    fn depth_when_nothing_is_missing() {
        use Dimension::*;
        let c = pool(Kind::SystemDesign, |d| {
            if d == FailureModes { 0.6 } else { 0.95 }
        });
        let priors = PushbackPriors::default();
        assert_eq!(
            choose(Kind::SystemDesign, &c, 0.5, false, &priors),
            FailureModes
        );
    }

    /// Labels that always want the least covered dimension: the ranker learns to follow the
    /// grader's probabilities.
    #[test]
    fn ranker_learns_to_follow_the_gap() {
        let kind = Kind::Microservices;
        let dims = kind.dimensions();
        let examples: Vec<RankExample> = (0..60)
            .map(|i| {
                let weakest = dims[i % dims.len()];
                let c = pool(kind, |d| {
                    if d == weakest {
                        0.1
                    } else {
                        0.3 + 0.1 * (i % 5) as f32
                    }
                });
                RankExample {
                    kind,
                    candidates: c,
                    threshold: 0.5,
                    targets: vec![weakest],
                }
            })
            .collect();
        let r = fit_ranker(&examples, 0.01, 500);
        assert!(r.shared[2] > 0.0 || r.shared[1] > 0.0, "{:?}", r.shared);
        let priors = PushbackPriors {
            ranker: Some(r),
            ..PushbackPriors::default()
        };
        for d in dims {
            let c = pool(kind, |x| if x == *d { 0.05 } else { 0.6 });
            assert_eq!(choose(kind, &c, 0.5, false, &priors), *d);
        }
    }

    /// Labels that always want one dimension of a kind, whatever the grader says: the ranker
    /// learns the kind's preference.
    #[test]
    fn ranker_learns_a_kind_preference() {
        use Dimension::*;
        let kind = Kind::Algorithm;
        let examples: Vec<RankExample> = (0..40)
            .map(|i| RankExample {
                kind,
                candidates: pool(kind, |d| 0.1 + 0.02 * ((d as usize + i) % 7) as f32),
                threshold: 0.5,
                targets: vec![Testing],
            })
            .collect();
        let r = fit_ranker(&examples, 0.01, 500);
        let priors = PushbackPriors {
            ranker: Some(r),
            ..PushbackPriors::default()
        };
        let c = pool(kind, |d| if d == Approach { 0.12 } else { 0.2 });
        assert_eq!(choose(kind, &c, 0.5, false, &priors), Testing);
    }

    #[test]
    fn ranker_round_trips_through_json() {
        let priors = PushbackPriors {
            ranker: Some(Ranker {
                shared: vec![0.5; RANK_FEATURES],
                ..Ranker::default()
            }),
            ..PushbackPriors::default()
        };
        let back: PushbackPriors =
            serde_json::from_str(&serde_json::to_string(&priors).unwrap()).unwrap();
        assert_eq!(back, priors);
        let old: PushbackPriors = serde_json::from_str(r#"{"weights":{}}"#).unwrap();
        assert!(old.ranker.is_none());
    }
}
