//! The interview coach: question choice, interviewer pushback, checklist-graded critiques,
//! production-incident drills and the session store, over the bank (`spar-bank`) and the local
//! model (`spar-llm`). The session rules themselves are pure and live in `spar-core`.
//!
//! ```
//! use std::sync::Arc;
//! use spar_coach::{Calibrations, Coach};
//! use spar_core::taxonomy::{Kind, Level};
//!
//! let bank = Arc::new(spar_bank::Bank::embedded().unwrap());
//! let coach = Coach::new(bank, None, &Calibrations::embedded());
//! let asked = coach.resolve("Design a URL shortener", Kind::SystemDesign, Level::Mid, None);
//! let a = coach.assess(&asked, "I'd hash the URL with MD5 and store it.").unwrap();
//! let c = coach.critique(&asked, "I'd hash the URL with MD5 and store it.", &a, &spar_llm::Cancel::new()).unwrap();
//! assert!(c.score <= 2);
//! ```

pub mod calibration;
pub mod coach;
pub mod drill;
pub mod export;
pub mod practice;
pub mod prompts;
pub mod store;

use std::path::PathBuf;

pub use calibration::{CalibrationFile, Calibrations, PushbackPriors};
pub use coach::{Asked, Assessment, Coach, CoachOptions, Pushback};
pub use practice::{Event, Practice, WarmPlan};
pub use store::Store;

/// Errors of the coach.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("session store: {0}")]
    Store(String),
    #[error("{0}")]
    Session(#[from] spar_core::session::SessionError),
    #[error(transparent)]
    Llm(#[from] spar_llm::Error),
    #[error(transparent)]
    Bank(#[from] spar_bank::Error),
    #[error("{0}")]
    Coach(String),
}

pub type Result<T> = std::result::Result<T, Error>;
