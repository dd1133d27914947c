//! Which dimension the next follow-up should probe.
//!
//! With a fitted [`Ranker`] (what `spar eval fit` ships): a conditional-logit choice among the
//! applicable dimensions, scoring each from how likely the grader thinks it is missing, its
//! partial evidence (cues, key points), how often interviewers of this kind push on it, and,
//! when nothing looks missing, which dimension they go deeper on. It is fitted on cross-fitted
//! probabilities, so it learns how far to trust the grader on answers it has not seen.
//! One of its features reads the whole pool: the [`Labeller`]'s expected chance that a dimension
//! is among those an interviewer would probe, which falls when more important gaps are likely
//! too (an interviewer names the most important gaps first, and only one to three of them).
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
pub const RANK_FEATURES: usize = 10;

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
    "ln_expected_hit",
];

/// Cap on the number of more important gaps the [`Labeller`] tells apart.
const PICK_AHEAD: usize = 4;
/// Cap on the number of gaps in all the [`Labeller`] tells apart.
const PICK_GAPS: usize = 5;

/// How interviewers choose what to probe, learned from labels alone (no grader involved):
/// among the gaps of an answer they take the ones that matter most for the kind, one to three
/// of them; when nothing is missing, they go deeper where the kind usually goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Labeller {
    /// How often a gap of this dimension is among those probed: the order of importance.
    pub priority: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
    /// `pick[h][m - 1]`: how often a gap is probed when `h` more important gaps sit beside it
    /// (capped at 4) among `m` gaps in all (capped at 5).
    pub pick: Vec<Vec<f32>>,
    /// Where interviewers of a kind go deeper when nothing is missing (shares summing to 1).
    pub depth: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
}

impl Labeller {
    /// Counts labelled choices: each example's missing set and the dimensions it probes.
    pub fn fit(examples: &[RankExample]) -> Self {
        let mut deeper: BTreeMap<Kind, (f32, BTreeMap<Dimension, f32>)> = BTreeMap::new();
        for e in examples.iter().filter(|e| e.missing.is_empty()) {
            let slot = deeper.entry(e.kind).or_default();
            slot.0 += 1.0;
            for d in &e.targets {
                *slot.1.entry(*d).or_default() += 1.0 / e.targets.len() as f32;
            }
        }
        let mut l = Labeller {
            priority: probe_rates(
                examples
                    .iter()
                    .map(|e| (e.kind, &e.missing[..], &e.targets[..])),
            ),
            ..Labeller::default()
        };
        let mut counts = vec![vec![(0f32, 0f32); PICK_GAPS]; PICK_AHEAD + 1];
        for e in examples.iter().filter(|e| !e.missing.is_empty()) {
            for d in &e.missing {
                let h = l.ahead(e.kind, *d, &e.missing);
                let c = &mut counts[h.min(PICK_AHEAD)][e.missing.len().min(PICK_GAPS) - 1];
                c.1 += 1.0;
                if e.targets.contains(d) {
                    c.0 += 1.0;
                }
            }
        }
        l.pick = counts
            .iter()
            .map(|row| row.iter().map(|(hit, n)| (hit + 0.5) / (n + 1.0)).collect())
            .collect();
        l.depth = deeper
            .into_iter()
            .map(|(k, (n, m))| (k, m.into_iter().map(|(d, v)| (d, v / n)).collect()))
            .collect();
        l
    }

    fn priority(&self, kind: Kind, d: Dimension) -> f32 {
        self.priority
            .get(&kind)
            .and_then(|m| m.get(&d))
            .copied()
            .unwrap_or(0.5)
    }

    /// How many of `gaps` (other than `d`) matter more than `d`.
    fn ahead(&self, kind: Kind, d: Dimension, gaps: &[Dimension]) -> usize {
        let own = self.priority(kind, d);
        gaps.iter()
            .filter(|g| **g != d && self.priority(kind, **g) > own)
            .count()
    }

    /// For each candidate, the chance that it is among the dimensions probed, treating each as
    /// missing with probability `1 − p` independently: a sum over every possible missing set.
    pub fn expected_hits(&self, kind: Kind, pool: &[Candidate]) -> Vec<f32> {
        let len = pool.len();
        let n = len.min(16);
        let pool = &pool[..n];
        let q: Vec<f64> = pool
            .iter()
            .map(|c| (1.0 - c.p as f64).clamp(0.0, 1.0))
            .collect();
        // Looked up once per pool, not once per missing set.
        let priority: Vec<f32> = pool
            .iter()
            .map(|c| self.priority(kind, c.dimension))
            .collect();
        let deeper = self.depth.get(&kind);
        let mut hits = vec![0f64; n];
        for mask in 0u32..(1 << n) {
            let missing = |i: usize| mask >> i & 1 == 1;
            let weight: f64 = q
                .iter()
                .enumerate()
                .map(|(i, qi)| if missing(i) { *qi } else { 1.0 - qi })
                .product();
            if weight == 0.0 {
                continue;
            }
            if mask == 0 {
                for (h, c) in hits.iter_mut().zip(pool) {
                    let share = deeper.and_then(|m| m.get(&c.dimension)).copied();
                    *h += weight * share.unwrap_or(0.0) as f64;
                }
                continue;
            }
            let m = (mask.count_ones() as usize).min(PICK_GAPS) - 1;
            for i in (0..n).filter(|i| missing(*i)) {
                let ahead = (0..n)
                    .filter(|j| *j != i && missing(*j) && priority[*j] > priority[i])
                    .count();
                let p = self.pick.get(ahead.min(PICK_AHEAD)).and_then(|r| r.get(m));
                hits[i] += weight * p.copied().unwrap_or(0.0) as f64;
            }
        }
        let mut hits: Vec<f32> = hits.into_iter().map(|h| h as f32).collect();
        hits.resize(len, 0.0);
        hits
    }
}

/// How often a labelled gap of each dimension is among the dimensions probed, per kind, from
/// `(kind, missing, probed)` triples, smoothed as `(hits + 1) / (gaps + 2)`.
pub fn probe_rates<'a>(
    labelled: impl IntoIterator<Item = (Kind, &'a [Dimension], &'a [Dimension])>,
) -> BTreeMap<Kind, BTreeMap<Dimension, f32>> {
    let mut counts: BTreeMap<Kind, BTreeMap<Dimension, (f32, f32)>> = BTreeMap::new();
    for (kind, missing, probed) in labelled {
        for d in missing {
            let e = counts.entry(kind).or_default().entry(*d).or_default();
            e.1 += 1.0;
            if probed.contains(d) {
                e.0 += 1.0;
            }
        }
    }
    counts
        .into_iter()
        .map(|(k, m)| {
            let rates = m
                .into_iter()
                .map(|(d, (hit, n))| (d, (hit + 1.0) / (n + 2.0)))
                .collect();
            (k, rates)
        })
        .collect()
}

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
    /// The model of how interviewers choose, behind the `ln_expected_hit` feature. Files
    /// without one score that feature 0 (and their fewer weights leave it unread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labeller: Option<Labeller>,
}

/// The shared features of one candidate, where `hit` is its [`Labeller::expected_hits`] (or
/// `None` without a labeller).
pub fn rank_features(
    kind: Kind,
    c: &Candidate,
    threshold: f32,
    hit: Option<f32>,
) -> [f32; RANK_FEATURES] {
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
        hit.map(|h| h.max(1e-4).ln()).unwrap_or(0.0),
    ]
}

impl Ranker {
    /// The score of each candidate in `pool`.
    pub fn scores(&self, kind: Kind, pool: &[Candidate], threshold: f32) -> Vec<f32> {
        let nothing_missing = pool.iter().all(|c| c.p >= threshold);
        let hits = self.labeller.as_ref().map(|l| l.expected_hits(kind, pool));
        pool.iter()
            .enumerate()
            .map(|(i, c)| {
                let hit = hits.as_ref().map(|h| h[i]);
                self.score(kind, c, threshold, nothing_missing, hit)
            })
            .collect()
    }

    /// The score of `c` among candidates where `nothing_missing` says whether any looks missing
    /// and `hit` is its expected hit.
    fn score(
        &self,
        kind: Kind,
        c: &Candidate,
        threshold: f32,
        nothing_missing: bool,
        hit: Option<f32>,
    ) -> f32 {
        let f = rank_features(kind, c, threshold, hit);
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
    /// The dimensions labelled missing.
    pub missing: Vec<Dimension>,
}

/// Fits a [`Ranker`] by maximising the log-probability that the softmax choice lands in the
/// target set, with an L2 penalty `l2` on every weight (plain gradient descent with per-weight
/// step sizes; the problem is convex, so the result does not depend on the start). With
/// `labeller`, the expected-hit feature is on.
pub fn fit_ranker(
    examples: &[RankExample],
    l2: f32,
    iters: usize,
    labeller: Option<Labeller>,
) -> Ranker {
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
            let hits = labeller
                .as_ref()
                .map(|l| l.expected_hits(e.kind, &e.candidates));
            e.candidates
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let s = slot(e.kind, c.dimension);
                    Row {
                        f: rank_features(e.kind, c, e.threshold, hits.as_ref().map(|h| h[i])),
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
        labeller,
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
        let scores = r.scores(kind, pool, threshold);
        return pool
            .iter()
            .zip(&scores)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("non-empty pool")
            .0
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
                    missing: vec![weakest],
                }
            })
            .collect();
        let r = fit_ranker(&examples, 0.01, 500, None);
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
                missing: kind.dimensions().to_vec(),
            })
            .collect();
        let r = fit_ranker(&examples, 0.01, 500, None);
        let priors = PushbackPriors {
            ranker: Some(r),
            ..PushbackPriors::default()
        };
        let c = pool(kind, |d| if d == Approach { 0.12 } else { 0.2 });
        assert_eq!(choose(kind, &c, 0.5, false, &priors), Testing);
    }

    fn labelled(missing: &[Dimension], targets: &[Dimension]) -> RankExample {
        RankExample {
            kind: Kind::Microservices,
            candidates: Vec::new(),
            threshold: 0.5,
            targets: targets.to_vec(),
            missing: missing.to_vec(),
        }
    }

    /// Counts and expected hits worked by hand.
    #[test]
    fn labeller_counts_and_expected_hits() {
        use Dimension::*;
        let l = Labeller::fit(&[
            labelled(&[Consistency, Tradeoffs], &[Consistency]),
            labelled(&[Consistency], &[Consistency]),
            labelled(&[Tradeoffs], &[Tradeoffs]),
            labelled(&[], &[Observability]),
        ]);
        let kind = Kind::Microservices;
        // Consistency probed 2 of 2 times it was missing, Tradeoffs 1 of 2: (hit+1)/(n+2).
        assert_eq!(l.priority[&kind][&Consistency], 0.75);
        assert_eq!(l.priority[&kind][&Tradeoffs], 0.5);
        // Alone (h 0, m 1): 2 of 2 → 2.5/3. First of two: 1 of 1 → 0.75. Second of two: 0 of 1.
        assert!((l.pick[0][0] - 2.5 / 3.0).abs() < 1e-6);
        assert_eq!(l.pick[0][1], 0.75);
        assert_eq!(l.pick[1][1], 0.25);
        assert_eq!(l.pick[3][4], 0.5);
        assert_eq!(l.depth[&kind][&Observability], 1.0);

        let cand = |dimension, p| Candidate {
            dimension,
            p,
            x: [0.0; DIM_FEATURES],
        };
        // Tradeoffs surely missing, Consistency a coin flip, Observability surely covered:
        // {T} (½): T alone 2.5/3. {C, T} (½): C first 0.75, T second 0.25.
        let pool = [
            cand(Consistency, 0.5),
            cand(Tradeoffs, 0.0),
            cand(Observability, 1.0),
        ];
        let h = l.expected_hits(kind, &pool);
        assert!((h[0] - 0.375).abs() < 1e-6, "{h:?}");
        assert!((h[1] - (0.5 * 2.5 / 3.0 + 0.125)).abs() < 1e-6, "{h:?}");
        assert_eq!(h[2], 0.0);
        // Nothing missing: where interviewers go deeper.
        let covered = [cand(Consistency, 1.0), cand(Observability, 1.0)];
        assert_eq!(l.expected_hits(kind, &covered), vec![0.0, 1.0]);
    }

    /// Labels that take the most important gap: with the labeller's feature the ranker picks
    /// the sure gap that matters most, not the one the grader is surest about.
    #[test]
    fn ranker_uses_the_labeller() {
        use Dimension::*;
        let kind = Kind::Microservices;
        let order = [
            Consistency,
            Resilience,
            Observability,
            Tradeoffs,
            Experience,
        ];
        let examples: Vec<RankExample> = (0..80)
            .map(|i| {
                // Two gaps; the more important one is the target.
                let a = order[i % 4];
                let b = order[i % 4 + 1 + (i / 4) % (4 - i % 4)];
                let c = pool(kind, |d| {
                    if d == a {
                        0.2
                    } else if d == b {
                        0.05
                    } else {
                        0.9
                    }
                });
                RankExample {
                    kind,
                    candidates: c,
                    threshold: 0.5,
                    targets: vec![a],
                    missing: vec![a, b],
                }
            })
            .collect();
        let l = Labeller::fit(&examples);
        let r = fit_ranker(&examples, 0.01, 500, Some(l));
        assert!(r.shared[9] > 0.0, "{:?}", r.shared);
        let priors = PushbackPriors {
            ranker: Some(r),
            ..PushbackPriors::default()
        };
        let c = pool(kind, |d| match d {
            Resilience => 0.25,
            Experience => 0.02,
            _ => 0.95,
        });
        assert_eq!(choose(kind, &c, 0.5, false, &priors), Resilience);
    }

    /// A ranker saved before the expected-hit feature (nine weights, no labeller) still scores.
    #[test]
    fn ranker_without_a_labeller_still_chooses() {
        use Dimension::*;
        let mut shared = vec![0.0; RANK_FEATURES - 1];
        shared[1] = 1.0;
        let priors = PushbackPriors {
            ranker: Some(Ranker {
                shared,
                ..Ranker::default()
            }),
            ..PushbackPriors::default()
        };
        let c = pool(
            Kind::Microservices,
            |d| if d == Experience { 0.1 } else { 0.8 },
        );
        assert_eq!(
            choose(Kind::Microservices, &c, 0.5, false, &priors),
            Experience
        );
    }

    #[test]
    fn ranker_round_trips_through_json() {
        let priors = PushbackPriors {
            ranker: Some(Ranker {
                shared: vec![0.5; RANK_FEATURES],
                labeller: Some(Labeller::fit(&[labelled(
                    &[Dimension::Consistency],
                    &[Dimension::Consistency],
                )])),
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
