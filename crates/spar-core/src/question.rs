//! A question of the bank, with what a good answer contains and how an interviewer digs in.

use serde::{Deserialize, Serialize};

use crate::taxonomy::{Dimension, Kind, Level, Region, Stack};

/// One interview question with its rubric material. Built by `spar-bank` from TOML; plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Stable id, e.g. `sd-url-shortener`. Sessions and eval items refer to it.
    pub id: String,
    pub kind: Kind,
    pub title: String,
    /// What the interviewer says.
    pub prompt: String,
    pub levels: Vec<Level>,
    /// Regional tracks this question is typical of (empty: not region-specific).
    pub regions: Vec<Region>,
    /// Stacks this question is specific to (empty: stack-agnostic).
    pub stacks: Vec<Stack>,
    pub topics: Vec<String>,
    /// The rubric dimensions this question calls for (a subset of the kind's).
    pub dimensions: Vec<Dimension>,
    pub key_points: Vec<KeyPoint>,
    /// A model answer in prose.
    pub reference_answer: String,
    pub follow_ups: Vec<FollowUp>,
    /// Mistakes candidates commonly make on this question.
    pub pitfalls: Vec<String>,
    /// Production incidents only: what the candidate finds when they check things.
    pub scenario: Option<Scenario>,
    /// Overrides the kind's default time limit.
    pub time_limit_s: Option<u32>,
}

/// Something a strong answer says, with the dimension it evidences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPoint {
    pub text: String,
    pub dimension: Dimension,
    /// Words or phrases that show the point was made. A trailing `*` on a word matches any
    /// ending (`idempoten*` matches "idempotent" and "idempotency").
    pub aliases: Vec<String>,
}

/// When a follow-up is the right one to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpWhen {
    /// The answer does not address the dimension at all.
    Missing,
    /// The answer touches the dimension but stays shallow or vague.
    Partial,
    /// The answer covers the dimension; the follow-up pushes deeper.
    Covered,
    /// Fits whatever the answer said.
    Any,
}

impl FollowUpWhen {
    pub fn id(self) -> &'static str {
        match self {
            FollowUpWhen::Missing => "missing",
            FollowUpWhen::Partial => "partial",
            FollowUpWhen::Covered => "covered",
            FollowUpWhen::Any => "any",
        }
    }
}

/// An interviewer follow-up question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub text: String,
    /// The dimension this follow-up probes.
    pub dimension: Dimension,
    pub when: FollowUpWhen,
}

/// The script of a production-incident drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// What the interviewer says to open the drill (the alert, the symptom).
    pub opening: String,
    /// What actually went wrong; revealed at the end of the drill.
    pub root_cause: String,
    pub steps: Vec<ScenarioStep>,
}

/// One thing the candidate may check, and what they find when they do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioStep {
    /// What is checked, e.g. "database sessions and locks".
    pub check: String,
    /// Words in the candidate's message that mean they are checking this.
    pub triggers: Vec<String>,
    /// What they see.
    pub finding: String,
    /// 1 = should be checked first; larger = later. Used to score triage order.
    pub priority: u8,
}

impl Question {
    /// The time limit for answering, in seconds.
    pub fn time_limit_s(&self) -> u32 {
        self.time_limit_s
            .unwrap_or_else(|| self.kind.default_time_limit_s())
    }

    /// Key points that evidence `dim`.
    pub fn key_points_for(&self, dim: Dimension) -> impl Iterator<Item = &KeyPoint> {
        self.key_points.iter().filter(move |k| k.dimension == dim)
    }

    /// Follow-ups that probe `dim`.
    pub fn follow_ups_for(&self, dim: Dimension) -> impl Iterator<Item = &FollowUp> {
        self.follow_ups.iter().filter(move |f| f.dimension == dim)
    }

    /// Whether the question is asked at `level`.
    pub fn fits_level(&self, level: Level) -> bool {
        self.levels.is_empty() || self.levels.contains(&level)
    }
}
