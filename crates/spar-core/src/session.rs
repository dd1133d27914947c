//! A practice session as plain data plus the pure rules that move it forward: question →
//! answer → up to N follow-ups → critique → next. Production incidents run as drills: the
//! candidate says what they would check, the interviewer answers with what they find.
//!
//! Times are passed in (milliseconds since the Unix epoch) so the logic stays IO-free. The
//! store serialises [`Session`] as JSON; [`SCHEMA_VERSION`] versions the format.

use serde::{Deserialize, Serialize};

use crate::critique::Critique;
use crate::taxonomy::{Dimension, Kind, Level};
use crate::track::Track;

/// Version of the session file format. Older files are upgraded when read.
pub const SCHEMA_VERSION: u32 = 2;

/// Who said something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Interviewer,
    Candidate,
    /// spar itself (notices: "context full", "no model loaded").
    Coach,
}

/// What a turn is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnKind {
    Question,
    Answer,
    FollowUp,
    /// What the candidate found in a drill.
    Finding,
    Notice,
}

/// One utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub kind: TurnKind,
    pub text: String,
    pub at_ms: u64,
    /// The dimension a follow-up probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<Dimension>,
    /// Where an interviewer turn came from: "bank" or "model:<id>".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Session settings chosen at the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Follow-ups before the critique.
    pub follow_ups: u8,
    /// Show the timer counting down.
    pub pressure: bool,
    /// Questions in the session (a mock loop uses its round count).
    pub questions: u8,
    /// Seconds per question, overriding the kind's default.
    pub time_limit_s: Option<u32>,
    /// Drill moves before the critique of a production incident.
    pub drill_moves: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            follow_ups: 2,
            pressure: false,
            questions: 3,
            time_limit_s: None,
            drill_moves: 4,
        }
    }
}

/// One question of a session and everything said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub question_id: String,
    pub kind: Kind,
    pub level: Level,
    pub started_ms: u64,
    pub time_limit_s: u32,
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub critique: Option<Critique>,
    #[serde(default)]
    pub reference_shown: bool,
    /// Seconds from the question to the first answer.
    #[serde(default)]
    pub answer_seconds: Option<u32>,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first answer.
    Answer,
    /// Waiting for the answer to follow-up `n` (1-based).
    FollowUpAnswer(u8),
    /// Drill: waiting for the candidate's next move.
    DrillMove(u8),
    /// Enough said: time for a follow-up or the critique, the engine decides which.
    InterviewerTurn,
    /// Critiqued.
    Done,
}

impl Item {
    pub fn new(
        question_id: &str,
        kind: Kind,
        level: Level,
        prompt: &str,
        time_limit_s: u32,
        now_ms: u64,
    ) -> Self {
        Self {
            question_id: question_id.to_string(),
            kind,
            level,
            started_ms: now_ms,
            time_limit_s,
            turns: vec![Turn {
                speaker: Speaker::Interviewer,
                kind: TurnKind::Question,
                text: prompt.to_string(),
                at_ms: now_ms,
                dimension: None,
                source: Some("bank".into()),
            }],
            critique: None,
            reference_shown: false,
            answer_seconds: None,
        }
    }

    fn count(&self, speaker: Speaker, kind: TurnKind) -> usize {
        self.turns
            .iter()
            .filter(|t| t.speaker == speaker && t.kind == kind)
            .count()
    }

    pub fn follow_ups_asked(&self) -> u8 {
        self.count(Speaker::Interviewer, TurnKind::FollowUp) as u8
    }

    pub fn is_drill(&self) -> bool {
        self.kind == Kind::Production
    }

    /// Candidate moves made in a drill (answers after the first finding or the first answer).
    pub fn drill_moves(&self) -> u8 {
        self.count(Speaker::Candidate, TurnKind::Answer) as u8
    }

    /// The phase given the settings.
    pub fn phase(&self) -> Phase {
        if self.critique.is_some() {
            return Phase::Done;
        }
        let last = self
            .turns
            .iter()
            .rev()
            .find(|t| t.speaker != Speaker::Coach);
        match last.map(|t| (t.speaker, t.kind)) {
            Some((Speaker::Interviewer, TurnKind::Question)) => Phase::Answer,
            Some((Speaker::Interviewer, TurnKind::FollowUp)) => {
                Phase::FollowUpAnswer(self.follow_ups_asked())
            }
            Some((Speaker::Interviewer, TurnKind::Finding)) => Phase::DrillMove(self.drill_moves()),
            _ => Phase::InterviewerTurn,
        }
    }

    /// After the candidate spoke: should the interviewer ask another follow-up (or reveal a
    /// finding in a drill), or critique now?
    pub fn wants_follow_up(&self, s: &Settings) -> bool {
        if self.is_drill() {
            self.drill_moves() < s.drill_moves.max(1)
        } else {
            self.follow_ups_asked() < s.follow_ups
        }
    }

    /// Everything the candidate said, in order.
    pub fn candidate_text(&self) -> String {
        self.turns
            .iter()
            .filter(|t| t.speaker == Speaker::Candidate)
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    pub fn prompt(&self) -> &str {
        self.turns.first().map(|t| t.text.as_str()).unwrap_or("")
    }
}

/// A practice session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub schema: u32,
    pub id: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub track: Track,
    pub settings: Settings,
    pub items: Vec<Item>,
    #[serde(default)]
    pub finished: bool,
    /// The model that played the interviewer, if any.
    #[serde(default)]
    pub model: Option<String>,
}

/// Errors of session transitions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no question is open")]
    NoOpenItem,
    #[error("the interviewer is not waiting for an answer (phase {0})")]
    NotWaiting(String),
    #[error("the session is finished")]
    Finished,
}

impl Session {
    /// A new, empty session. `id` must be unique (the store makes it from the time).
    pub fn new(id: String, track: Track, settings: Settings, now_ms: u64) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            id,
            created_ms: now_ms,
            updated_ms: now_ms,
            track,
            settings,
            items: Vec::new(),
            finished: false,
            model: None,
        }
    }

    pub fn current(&self) -> Option<&Item> {
        self.items.last()
    }

    pub fn current_mut(&mut self) -> Option<&mut Item> {
        self.items.last_mut()
    }

    /// The phase of the current item, or `None` when a new question is due.
    pub fn phase(&self) -> Option<Phase> {
        self.current()
            .map(|i| i.phase())
            .filter(|p| *p != Phase::Done)
    }

    /// Opens the next question.
    pub fn ask(&mut self, item: Item) -> Result<(), SessionError> {
        if self.finished {
            return Err(SessionError::Finished);
        }
        self.updated_ms = self.updated_ms.max(item.started_ms);
        self.items.push(item);
        Ok(())
    }

    /// Records the candidate's answer to the open question, follow-up or drill prompt.
    pub fn answer(&mut self, text: &str, now_ms: u64) -> Result<(), SessionError> {
        let item = self.current_mut().ok_or(SessionError::NoOpenItem)?;
        match item.phase() {
            Phase::Answer | Phase::FollowUpAnswer(_) | Phase::DrillMove(_) => {}
            other => return Err(SessionError::NotWaiting(format!("{other:?}"))),
        }
        if item.answer_seconds.is_none() {
            item.answer_seconds = Some((now_ms.saturating_sub(item.started_ms) / 1000) as u32);
        }
        item.turns.push(Turn {
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: text.to_string(),
            at_ms: now_ms,
            dimension: None,
            source: None,
        });
        self.updated_ms = now_ms;
        Ok(())
    }

    /// Records an interviewer follow-up (or a drill finding).
    pub fn interviewer(
        &mut self,
        kind: TurnKind,
        text: &str,
        dimension: Option<Dimension>,
        source: &str,
        now_ms: u64,
    ) -> Result<(), SessionError> {
        let item = self.current_mut().ok_or(SessionError::NoOpenItem)?;
        item.turns.push(Turn {
            speaker: Speaker::Interviewer,
            kind,
            text: text.to_string(),
            at_ms: now_ms,
            dimension,
            source: Some(source.to_string()),
        });
        self.updated_ms = now_ms;
        Ok(())
    }

    /// A notice from the coach (shown, not graded).
    pub fn notice(&mut self, text: &str, now_ms: u64) -> Result<(), SessionError> {
        let item = self.current_mut().ok_or(SessionError::NoOpenItem)?;
        item.turns.push(Turn {
            speaker: Speaker::Coach,
            kind: TurnKind::Notice,
            text: text.to_string(),
            at_ms: now_ms,
            dimension: None,
            source: None,
        });
        Ok(())
    }

    pub fn critique(&mut self, c: Critique, now_ms: u64) -> Result<(), SessionError> {
        let item = self.current_mut().ok_or(SessionError::NoOpenItem)?;
        item.critique = Some(c);
        self.updated_ms = now_ms;
        Ok(())
    }

    /// Whether every planned question has been critiqued.
    pub fn is_complete(&self) -> bool {
        self.finished
            || (self.items.len() >= self.settings.questions as usize
                && self.items.iter().all(|i| i.critique.is_some()))
    }

    /// Mean score of critiqued items.
    pub fn mean_score(&self) -> Option<f32> {
        let s: Vec<f32> = self
            .items
            .iter()
            .filter_map(|i| i.critique.as_ref())
            .map(|c| c.score as f32)
            .collect();
        (!s.is_empty()).then(|| s.iter().sum::<f32>() / s.len() as f32)
    }
}

/// Upgrades a session JSON value of an older schema to the current one.
pub fn upgrade(mut v: serde_json::Value) -> Result<Session, String> {
    if !v.is_object() {
        // `v["schema"] = …` below would panic on an array or a number.
        return Err("not a session: the file holds JSON but not an object".into());
    }
    let schema = v.get("schema").and_then(|s| s.as_u64()).unwrap_or(1);
    if schema > SCHEMA_VERSION as u64 {
        return Err(format!(
            "written by a newer spar (schema {schema}, this one reads up to {SCHEMA_VERSION})"
        ));
    }
    if schema < 2 {
        // Version 1 called `settings.follow_ups` `max_follow_ups` and had no drill settings.
        if let Some(s) = v.get_mut("settings").and_then(|s| s.as_object_mut())
            && let Some(n) = s.remove("max_follow_ups")
        {
            s.insert("follow_ups".into(), n);
        }
        v["schema"] = serde_json::json!(SCHEMA_VERSION);
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let mut s = Session::new("s1".into(), Track::default(), Settings::default(), 1_000);
        s.ask(Item::new(
            "sd-url-shortener",
            Kind::SystemDesign,
            Level::Mid,
            "Design a URL shortener",
            2100,
            1_000,
        ))
        .unwrap();
        s
    }

    // regression: a session file holding a JSON array or number made `upgrade` index it as an
    // object and panic, so `spar history` crashed instead of quarantining the file.
    #[test]
    fn json_that_is_not_an_object_is_an_error() {
        for text in ["[1, 2, 3]", "42", "\"s\"", "true"] {
            let err = upgrade(serde_json::from_str(text).unwrap()).unwrap_err();
            assert!(err.contains("not a session"), "{text}: {err}");
        }
        assert!(upgrade(serde_json::Value::Null).is_err());
    }

    #[test]
    fn flow_question_answer_follow_ups_critique() {
        let mut s = session();
        assert_eq!(s.phase(), Some(Phase::Answer));
        s.answer("I'd use a hash", 61_000).unwrap();
        assert_eq!(s.current().unwrap().answer_seconds, Some(60));
        assert_eq!(s.phase(), Some(Phase::InterviewerTurn));
        assert!(s.current().unwrap().wants_follow_up(&s.settings));
        s.interviewer(
            TurnKind::FollowUp,
            "What are the requirements?",
            Some(Dimension::Requirements),
            "bank",
            62_000,
        )
        .unwrap();
        assert_eq!(s.phase(), Some(Phase::FollowUpAnswer(1)));
        s.answer("100M links", 70_000).unwrap();
        s.interviewer(
            TurnKind::FollowUp,
            "And if writes spike 10x?",
            Some(Dimension::FailureModes),
            "bank",
            71_000,
        )
        .unwrap();
        s.answer("Queue them", 80_000).unwrap();
        assert!(!s.current().unwrap().wants_follow_up(&s.settings));
        assert!(
            s.answer("again", 81_000).is_err(),
            "no answer while the interviewer is due"
        );
    }

    #[test]
    fn coach_notices_do_not_change_the_phase() {
        let mut s = session();
        s.notice("No model: using the bank's follow-ups.", 2_000)
            .unwrap();
        assert_eq!(s.phase(), Some(Phase::Answer));
    }

    #[test]
    fn old_schema_upgrades() {
        let mut v = serde_json::to_value(session()).unwrap();
        v["schema"] = serde_json::json!(1);
        let settings = v["settings"].as_object_mut().unwrap();
        let n = settings.remove("follow_ups").unwrap();
        settings.insert("max_follow_ups".into(), n);
        let s = upgrade(v).unwrap();
        assert_eq!(s.schema, SCHEMA_VERSION);
        assert_eq!(s.settings.follow_ups, 2);
        let mut future = serde_json::to_value(session()).unwrap();
        future["schema"] = serde_json::json!(99);
        assert!(upgrade(future).unwrap_err().contains("newer"));
    }
}
