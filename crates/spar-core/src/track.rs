//! What the user chose to practise: a track (kind, level, region, stack) or a regional mock loop.

use serde::{Deserialize, Serialize};

use crate::taxonomy::{Kind, Level, Region, Stack};

/// A practice track. Unset fields mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Track {
    pub kind: Option<Kind>,
    pub level: Option<Level>,
    pub region: Option<Region>,
    pub stack: Option<Stack>,
    /// A mock loop id (`loops.toml`); when set, the loop's rounds decide the kinds.
    #[serde(rename = "loop")]
    pub loop_id: Option<String>,
}

impl Track {
    /// A short human description, e.g. "System design · senior · korea".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(l) = &self.loop_id {
            parts.push(format!("{l} loop"));
        }
        if let Some(k) = self.kind {
            parts.push(k.title().to_string());
        }
        if let Some(l) = self.level {
            parts.push(l.id().to_string());
        }
        if let Some(r) = self.region {
            parts.push(r.id().to_string());
        }
        if let Some(s) = self.stack {
            parts.push(s.id().to_string());
        }
        if parts.is_empty() {
            "any question".to_string()
        } else {
            parts.join(" · ")
        }
    }
}

/// A regional mock interview loop: the rounds a market runs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MockLoop {
    pub id: String,
    pub name: String,
    pub region: Region,
    pub description: String,
    pub rounds: Vec<Round>,
}

/// One round of a mock loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub kind: Kind,
    pub level: Option<Level>,
    pub stack: Option<Stack>,
    /// What the interviewer is looking for in this round, shown to the candidate.
    pub note: Option<String>,
}
