//! Which dimension the next follow-up should probe.
//!
//! Among the dimensions the answer lacks, the one an interviewer of this kind most often pushes
//! on (fitted per kind from labelled follow-ups), weighted by how sure the grader is that it is
//! missing (`(1 − p)^sharpness`, the exponent fitted too). System design keeps its stage order
//! as a tie-breaker: requirements before estimation before architecture. When nothing is
//! missing, the depth dimensions that separate a 4 from a 5.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::taxonomy::{Dimension, Kind};

fn default_sharpness() -> f32 {
    2.0
}

/// Fitted pushback preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushbackPriors {
    pub weights: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
    #[serde(default = "default_sharpness")]
    pub sharpness: f32,
}

impl Default for PushbackPriors {
    fn default() -> Self {
        Self {
            weights: BTreeMap::new(),
            sharpness: default_sharpness(),
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

/// Chooses the dimension to probe among `pool` (non-empty), given P(covered) of each.
pub fn choose(
    kind: Kind,
    pool: &[Dimension],
    p: &dyn Fn(Dimension) -> f32,
    threshold: f32,
    nothing_said: bool,
    priors: &PushbackPriors,
) -> Dimension {
    if nothing_said {
        return pool[0];
    }
    let missing: Vec<Dimension> = pool.iter().copied().filter(|d| p(*d) < threshold).collect();
    if !missing.is_empty() {
        let score = |d: Dimension| {
            let stage = if kind == Kind::SystemDesign {
                1.0 - 0.04 * stage_rank(d) as f32
            } else {
                1.0
            };
            priors.weight(kind, d) * (1.0 - p(d)).max(0.0).powf(priors.sharpness) * stage
        };
        return missing
            .into_iter()
            .max_by(|x, y| score(*x).total_cmp(&score(*y)))
            .expect("non-empty");
    }
    pool.iter()
        .copied()
        .filter(|d| DEPTH.contains(d))
        .min_by(|x, y| p(*x).total_cmp(&p(*y)))
        .unwrap_or_else(|| {
            pool.iter()
                .copied()
                .min_by(|x, y| p(*x).total_cmp(&p(*y)))
                .expect("non-empty pool")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_design_asks_for_requirements_first() {
        use Dimension::*;
        let pool = Kind::SystemDesign.dimensions();
        let p = |d: Dimension| if d == Architecture { 0.9 } else { 0.1 };
        assert_eq!(
            choose(
                Kind::SystemDesign,
                pool,
                &p,
                0.5,
                false,
                &PushbackPriors::default()
            ),
            Requirements
        );
    }

    #[test]
    fn sure_gaps_beat_borderline_ones() {
        use Dimension::*;
        let pool = Kind::Microservices.dimensions();
        let p = |d: Dimension| match d {
            Consistency => 0.45,
            Resilience => 0.02,
            _ => 0.9,
        };
        let priors = PushbackPriors::default();
        assert_eq!(
            choose(Kind::Microservices, pool, &p, 0.5, false, &priors),
            Resilience
        );
    }

    #[test]
    fn depth_when_nothing_is_missing() {
        use Dimension::*;
        let pool = Kind::SystemDesign.dimensions();
        let p = |d: Dimension| if d == FailureModes { 0.6 } else { 0.95 };
        assert_eq!(
            choose(
                Kind::SystemDesign,
                pool,
                &p,
                0.5,
                false,
                &PushbackPriors::default()
            ),
            FailureModes
        );
    }
}
