//! spar's domain: the vocabulary of interview kinds and rubric dimensions, questions, tracks,
//! sessions and critiques, and the pure logic over them — answer analysis, grading, calibration
//! fitting, metrics, question choice and the session state machine. No IO, no model, no index:
//! those live in the engines (`spar-bank`, `spar-llm`, `spar-coach`).
//!
//! ```
//! use spar_core::analysis::{Reference, analyze};
//! use spar_core::taxonomy::{Dimension, Kind, Level};
//!
//! let reference = Reference {
//!     kind: Kind::Algorithm,
//!     level: Level::Mid,
//!     question: "Find two numbers that add up to a target.",
//!     dimensions: Kind::Algorithm.dimensions().to_vec(),
//!     key_points: vec![],
//!     reference_answer: "",
//!     scenario: None,
//! };
//! let a = analyze("A hash map gives O(n) time and O(1) extra space; empty input returns none.", &reference);
//! assert!(a.dim(Dimension::Complexity).unwrap().strong >= 2);
//! ```

pub mod analysis;
pub mod critique;
pub mod fit;
pub mod grade;
pub mod metrics;
pub mod pushback;
pub mod question;
pub mod select;
pub mod session;
pub mod taxonomy;
pub mod track;
