//! The calibrations shipped with spar: one per signal set ("deterministic" for no model, one per
//! registry model), fitted on `eval/calibration.jsonl` by `spar eval fit` and embedded at build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spar_core::grade::Calibration;
use spar_core::taxonomy::{Dimension, Kind};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/calibrations.rs"));
}

/// How strongly each missing dimension deserves the first follow-up, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushbackPriors {
    pub weights: BTreeMap<Kind, BTreeMap<Dimension, f32>>,
}

impl PushbackPriors {
    /// The fitted weight, or a default that prefers the kind's core dimensions.
    pub fn weight(&self, kind: Kind, d: Dimension) -> f32 {
        if let Some(w) = self.weights.get(&kind).and_then(|m| m.get(&d)) {
            return *w;
        }
        default_weight(kind, d)
    }
}

fn default_weight(kind: Kind, d: Dimension) -> f32 {
    use Dimension::*;
    let order: &[Dimension] = match kind {
        Kind::Algorithm => &[Approach, Complexity, Correctness, EdgeCases, Testing, Clarify],
        Kind::SystemDesign => &[Requirements, Estimation, Architecture, DataModel, DeepDive, FailureModes, Tradeoffs],
        Kind::ApiDesign => &[HttpSemantics, Reliability, Security, ErrorHandling, Evolution, Tradeoffs],
        Kind::Behavioral => &[Action, Result, Ownership, Specificity, Reflection, Situation, Task],
        Kind::Production => &[Mitigation, Signals, TriageOrder, Hypotheses, Communication, RootCause],
        Kind::Microservices => &[Consistency, Resilience, Observability, Tradeoffs, Experience],
    };
    let i = order.iter().position(|x| *x == d).unwrap_or(order.len());
    1.0 - 0.08 * i as f32
}

/// A calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationFile {
    pub calibration: Calibration,
    #[serde(default)]
    pub pushback: PushbackPriors,
    /// Metrics on the calibration split when it was fitted (for the record).
    #[serde(default)]
    pub fit_report: serde_json::Value,
}

/// All calibrations available to this build.
#[derive(Debug, Clone, Default)]
pub struct Calibrations {
    pub files: BTreeMap<String, CalibrationFile>,
}

impl Calibrations {
    /// The ones embedded at build time.
    pub fn embedded() -> Self {
        let mut files = BTreeMap::new();
        for (name, text) in embedded::FILES {
            if let Ok(f) = serde_json::from_str::<CalibrationFile>(text) {
                let key = name.strip_prefix("calibration-").unwrap_or(name).to_string();
                files.insert(key, f);
            }
        }
        Self { files }
    }

    /// The calibration for a model id (or "deterministic" without one), falling back to the
    /// deterministic calibration, then to hand-set defaults.
    pub fn for_model(&self, model: Option<&str>) -> (Calibration, PushbackPriors) {
        let pick = model.and_then(|m| self.files.get(m)).or_else(|| self.files.get("deterministic"));
        match pick {
            Some(f) => (f.calibration.clone(), f.pushback.clone()),
            None => (Calibration::default(), PushbackPriors::default()),
        }
    }

    pub fn insert(&mut self, name: &str, f: CalibrationFile) {
        self.files.insert(name.to_string(), f);
    }
}
