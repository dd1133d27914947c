//! A practice session driven turn by turn, shared by the terminal and the desktop app: pick a
//! question, take answers, push back, run drills, critique — and save after every turn.

use std::sync::Arc;

use spar_bank::Filters;
use spar_core::critique::Critique;
use spar_core::question::Question;
use spar_core::select;
use spar_core::session::{Item, Phase, Session, Settings, Speaker, TurnKind};
use spar_core::taxonomy::{Dimension, Kind, Level};
use spar_core::track::Track;
use spar_llm::Cancel;

use crate::coach::{Asked, Coach};
use crate::drill;
use crate::store::{Store, new_session_id, now_ms};
use crate::{Error, Result};

/// Something for the face to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new question is open.
    Question {
        index: usize,
        total: usize,
        question_id: String,
        title: String,
        prompt: String,
        kind: Kind,
        level: Level,
        time_limit_s: u32,
        note: Option<String>,
    },
    /// A piece of the interviewer's reply as it streams.
    Token(String),
    /// The interviewer's complete follow-up.
    FollowUp {
        dimension: Dimension,
        text: String,
        source: String,
    },
    /// What the candidate found in a drill.
    Finding(String),
    /// A notice from the coach.
    Notice(String),
    Critique(Box<Critique>),
    /// The session is over.
    Finished {
        mean_score: Option<f32>,
    },
}

/// A running practice session.
pub struct Practice {
    pub coach: Arc<Coach>,
    pub store: Store,
    pub session: Session,
    history: Vec<Session>,
    asked: Option<Asked>,
    salt: u64,
}

impl std::fmt::Debug for Practice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Practice")
            .field("session", &self.session.id)
            .finish()
    }
}

impl Practice {
    /// Starts a new session and saves it.
    pub fn start(
        coach: Arc<Coach>,
        store: Store,
        track: Track,
        mut settings: Settings,
    ) -> Result<Self> {
        let now = now_ms();
        let (history, _) = store.list()?;
        if let Some(l) = track
            .loop_id
            .as_deref()
            .and_then(|id| coach.bank.find_loop(id))
        {
            settings.questions = l.rounds.len() as u8;
        }
        let mut session = Session::new(new_session_id(now), track, settings, now);
        session.model = coach.model_id().map(str::to_string);
        store.save(&session)?;
        Ok(Self {
            coach,
            store,
            session,
            history,
            asked: None,
            salt: now,
        })
    }

    /// Continues a saved session where it stopped.
    pub fn resume(coach: Arc<Coach>, store: Store, session: Session) -> Result<Self> {
        let (history, _) = store.list()?;
        let history = history.into_iter().filter(|s| s.id != session.id).collect();
        let mut p = Self {
            coach,
            store,
            session,
            history,
            asked: None,
            salt: now_ms(),
        };
        p.asked = p.session.current().map(|i| p.resolve_item(i));
        Ok(p)
    }

    fn resolve_item(&self, item: &Item) -> Asked {
        self.coach.resolve(
            item.prompt(),
            item.kind,
            item.level,
            Some(&item.question_id),
        )
    }

    pub fn asked(&self) -> Option<&Asked> {
        self.asked.as_ref()
    }

    fn save(&self) -> Result<()> {
        self.store.save(&self.session)
    }

    /// The round (kind, level, stack, note) of question number `index`.
    fn round(&self, index: usize) -> (Option<Kind>, Option<Level>, Filters, Option<String>) {
        let t = &self.session.track;
        let mut filters = Filters {
            kind: t.kind,
            level: t.level,
            region: t.region,
            stack: t.stack,
            topic: None,
        };
        if let Some(l) = t
            .loop_id
            .as_deref()
            .and_then(|id| self.coach.bank.find_loop(id))
            && let Some(r) = l.rounds.get(index % l.rounds.len().max(1))
        {
            filters.kind = Some(r.kind);
            filters.level = r.level.or(t.level);
            filters.stack = r.stack.or(t.stack);
            filters.region = Some(l.region);
            return (Some(r.kind), filters.level, filters, r.note.clone());
        }
        (t.kind, t.level, filters, None)
    }

    fn candidates(&self, filters: &Filters) -> Vec<&Question> {
        // Relax the filters until something matches: stack, then region, then level.
        let mut f = filters.clone();
        for step in 0..4 {
            let found = self.coach.bank.filtered(&f);
            if !found.is_empty() {
                return found;
            }
            match step {
                0 => f.stack = None,
                1 => f.region = None,
                _ => f.level = None,
            }
        }
        self.coach.bank.filtered(&Filters::default())
    }

    /// Opens the next question (unseen first, then weakest dimensions, then spaced repetition).
    pub fn next_question(&mut self) -> Result<Option<Event>> {
        if self.session.is_complete() {
            self.session.finished = true;
            self.save()?;
            return Ok(Some(Event::Finished {
                mean_score: self.session.mean_score(),
            }));
        }
        let index = self.session.items.len();
        let (_, level, filters, note) = self.round(index);
        let used: Vec<String> = self
            .session
            .items
            .iter()
            .map(|i| i.question_id.clone())
            .collect();
        let cands = self.candidates(&filters);
        let Some(q) = select::next(&cands, &self.history, &used, now_ms(), self.salt) else {
            return Ok(None);
        };
        let q = q.clone();
        let level = level.unwrap_or_else(|| {
            if q.levels.contains(&Level::Mid) {
                Level::Mid
            } else {
                q.levels[0]
            }
        });
        let time_limit = self
            .session
            .settings
            .time_limit_s
            .unwrap_or_else(|| q.time_limit_s());
        let prompt = match &q.scenario {
            Some(s) => format!("{}\n\n{}", q.prompt, s.opening),
            None => q.prompt.clone(),
        };
        let item = Item::new(&q.id, q.kind, level, &prompt, time_limit, now_ms());
        self.session.ask(item)?;
        self.asked = Some(self.coach.resolve(&q.prompt, q.kind, level, Some(&q.id)));
        self.save()?;
        Ok(Some(Event::Question {
            index,
            total: self.session.settings.questions as usize,
            question_id: q.id.clone(),
            title: q.title.clone(),
            prompt,
            kind: q.kind,
            level,
            time_limit_s: time_limit,
            note,
        }))
    }

    fn revealed_steps(&self) -> Vec<usize> {
        let (Some(item), Some(sc)) = (
            self.session.current(),
            self.asked
                .as_ref()
                .and_then(|a| a.question.as_ref())
                .and_then(|q| q.scenario.as_ref()),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in item.turns.iter().filter(|t| t.kind == TurnKind::Finding) {
            for (i, s) in sc.steps.iter().enumerate() {
                if t.text.contains(&s.finding) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// Takes the candidate's answer; the interviewer replies (follow-up or drill finding,
    /// streamed through `emit`) or, when enough was said, the critique follows.
    pub fn submit(
        &mut self,
        answer: &str,
        emit: &mut dyn FnMut(Event),
        cancel: &Cancel,
    ) -> Result<()> {
        self.session.answer(answer, now_ms())?;
        self.save()?;
        let settings = self.session.settings.clone();
        let item = self
            .session
            .current()
            .ok_or(spar_core::session::SessionError::NoOpenItem)?
            .clone();
        let asked = match &self.asked {
            Some(a) => a.clone(),
            None => {
                let a = self.resolve_item(&item);
                self.asked = Some(a.clone());
                a
            }
        };
        if !item.wants_follow_up(&settings) {
            return self.critique(emit, cancel);
        }
        if item.is_drill()
            && let Some(sc) = asked.question.as_ref().and_then(|q| q.scenario.as_ref())
        {
            let r = drill::reply(sc, answer, &self.revealed_steps());
            emit(Event::Finding(r.text.clone()));
            self.session
                .interviewer(TurnKind::Finding, &r.text, None, "scenario", now_ms())?;
            self.save()?;
            return Ok(());
        }
        let transcript: Vec<(bool, String)> = item
            .turns
            .iter()
            .filter(|t| t.speaker != Speaker::Coach)
            .skip(1)
            .map(|t| (t.speaker == Speaker::Candidate, t.text.clone()))
            .collect();
        let already: Vec<Dimension> = item.turns.iter().filter_map(|t| t.dimension).collect();
        let used: Vec<String> = item
            .turns
            .iter()
            .filter(|t| t.kind == TurnKind::FollowUp)
            .map(|t| t.text.clone())
            .collect();
        // Targeting uses the fast deterministic verdict: the first token never waits for the
        // model's checklist, which runs with the critique.
        let a = self.coach.assess_fast(&asked, &item.candidate_text());
        let mut relay = |piece: &str| emit(Event::Token(piece.to_string()));
        let pb =
            self.coach
                .pushback(&asked, &transcript, &a, &already, &used, &mut relay, cancel)?;
        if let Some(n) = &pb.notice {
            self.session.notice(n, now_ms())?;
            emit(Event::Notice(n.clone()));
        }
        self.session.interviewer(
            TurnKind::FollowUp,
            &pb.text,
            Some(pb.dimension),
            &pb.source,
            now_ms(),
        )?;
        self.save()?;
        emit(Event::FollowUp {
            dimension: pb.dimension,
            text: pb.text,
            source: pb.source,
        });
        Ok(())
    }

    /// Ends the current question with its critique (also when the candidate stops early).
    pub fn critique(&mut self, emit: &mut dyn FnMut(Event), cancel: &Cancel) -> Result<()> {
        let item = self
            .session
            .current()
            .ok_or(spar_core::session::SessionError::NoOpenItem)?
            .clone();
        if let Some(c) = &item.critique {
            emit(Event::Critique(Box::new(c.clone())));
            return Ok(());
        }
        let asked = self
            .asked
            .clone()
            .unwrap_or_else(|| self.resolve_item(&item));
        let text = item.candidate_text();
        let a = self.coach.assess(&asked, &text)?;
        let c = self.coach.critique(&asked, &text, &a, cancel)?;
        if item.is_drill()
            && let Some(sc) = asked.question.as_ref().and_then(|q| q.scenario.as_ref())
        {
            let d = drill::debrief(sc);
            self.session.notice(&d, now_ms())?;
            emit(Event::Notice(d));
        }
        self.session.critique(c.clone(), now_ms())?;
        self.save()?;
        emit(Event::Critique(Box::new(c)));
        Ok(())
    }

    /// The reference answer of the current question (after its critique).
    pub fn reference(&mut self) -> Result<Option<String>> {
        let Some(item) = self.session.current() else {
            return Ok(None);
        };
        if item.critique.is_none() {
            return Err(Error::Coach(
                "the reference answer is shown after the critique".into(),
            ));
        }
        let text = self
            .coach
            .bank
            .get(&item.question_id)
            .map(|q| q.reference_answer.clone());
        if let Some(i) = self.session.current_mut() {
            i.reference_shown = true;
        }
        self.save()?;
        Ok(text)
    }

    /// What to pre-process while the candidate types `partial`: run [`WarmPlan::run`] on a
    /// background thread and cancel it on submit.
    pub fn warm_plan(&self, partial: &str) -> Option<WarmPlan> {
        let item = self.session.current()?;
        if !self.coach.has_model() || item.critique.is_some() || partial.trim().is_empty() {
            return None;
        }
        let mut transcript: Vec<(bool, String)> = item
            .turns
            .iter()
            .filter(|t| t.speaker != Speaker::Coach)
            .skip(1)
            .map(|t| (t.speaker == Speaker::Candidate, t.text.clone()))
            .collect();
        transcript.push((true, partial.to_string()));
        let asked = self.asked.clone()?;
        Some(WarmPlan {
            coach: Arc::clone(&self.coach),
            asked,
            transcript,
        })
    }

    /// Where the current question stands.
    pub fn phase(&self) -> Option<Phase> {
        self.session.phase()
    }

    /// Marks the session finished and saves it.
    pub fn finish(&mut self) -> Result<()> {
        self.session.finished = true;
        self.save()
    }
}

/// Work to do while the candidate types (see [`Practice::warm_plan`]).
pub struct WarmPlan {
    coach: Arc<Coach>,
    asked: Asked,
    transcript: Vec<(bool, String)>,
}

impl WarmPlan {
    pub fn run(&self, cancel: &Cancel) -> Result<()> {
        self.coach.warm(&self.asked, &self.transcript, cancel)
    }
}
