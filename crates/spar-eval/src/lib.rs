//! Eval sets, metrics and reports for the coach: `spar eval` runs the coach's critique and first
//! pushback over a labelled JSONL file and scores them (QWK, Spearman, dimension macro-F1, false
//! criticism, pushback targeting, injection robustness, latency); `spar eval fit` fits the
//! coach's calibration on the calibration split.

pub mod fit;
pub mod item;
pub mod png;
pub mod report;
pub mod run;

use std::path::PathBuf;

pub use item::{EvalItem, Labels, parse};
pub use report::{Metrics, Prediction, Report, score};

/// Errors of the eval crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error(transparent)]
    Coach(#[from] spar_coach::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
