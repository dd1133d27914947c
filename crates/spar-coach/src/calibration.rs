//! The calibrations shipped with spar: one per signal set ("deterministic" for no model, one per
//! registry model), fitted on `eval/calibration.jsonl` by `spar eval fit` and embedded at build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spar_core::grade::Calibration;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/calibrations.rs"));
}

pub use spar_core::pushback::PushbackPriors;

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
                let key = name
                    .strip_prefix("calibration-")
                    .unwrap_or(name)
                    .to_string();
                files.insert(key, f);
            }
        }
        Self { files }
    }

    /// The calibration for a model id (or "deterministic" without one), falling back to the
    /// deterministic calibration, then to hand-set defaults.
    pub fn for_model(&self, model: Option<&str>) -> (Calibration, PushbackPriors) {
        let pick = model
            .and_then(|m| self.files.get(m))
            .or_else(|| self.files.get("deterministic"));
        match pick {
            Some(f) => (f.calibration.clone(), f.pushback.clone()),
            None => (Calibration::default(), PushbackPriors::default()),
        }
    }

    pub fn insert(&mut self, name: &str, f: CalibrationFile) {
        self.files.insert(name.to_string(), f);
    }
}
