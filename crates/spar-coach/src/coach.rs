//! The coach: grades answers (deterministic analysis + the model's checklist probabilities,
//! combined by the fitted calibration), chooses what to push back on, and writes follow-ups and
//! critiques. Works without a model: the bank's follow-ups and templated prose stand in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use spar_bank::{Bank, PassageSource};
use spar_core::analysis::{Analysis, Reference, analyze, design_stages};
use spar_core::critique::{self, Coverage, Critique, CritiqueInputs};
use spar_core::grade::{Calibration, DIM_FEATURES, ModelSignals, Verdict, dim_features, grade};
use spar_core::question::{FollowUpWhen, Question};
use spar_core::taxonomy::{Dimension, Kind, Level};
use spar_llm::{Cancel, Llm, Params, TokenSink};

use crate::calibration::{Calibrations, PushbackPriors};
use crate::prompts;
use crate::{Error, Result};
use spar_core::pushback::{Candidate, stage_rank};

/// A question as asked, resolved against the bank.
#[derive(Debug, Clone)]
pub struct Asked {
    pub kind: Kind,
    pub level: Level,
    pub text: String,
    /// The bank question it corresponds to, if any.
    pub question: Option<Question>,
    /// How sure the match is (1.0: by id).
    pub confidence: f32,
}

impl Asked {
    /// Dimensions that apply: the bank question's when matched confidently, else the kind's.
    pub fn dimensions(&self) -> Vec<Dimension> {
        match &self.question {
            Some(q) if self.confidence >= 0.8 => q.dimensions.clone(),
            _ => self.kind.dimensions().to_vec(),
        }
    }

    pub fn not_applicable(&self) -> Vec<Dimension> {
        let d = self.dimensions();
        self.kind
            .dimensions()
            .iter()
            .copied()
            .filter(|x| !d.contains(x))
            .collect()
    }

    fn reference(&self) -> Reference<'_> {
        let use_kp = self.confidence >= 0.35;
        Reference {
            kind: self.kind,
            level: self.level,
            question: &self.text,
            dimensions: self.dimensions(),
            key_points: match (&self.question, use_kp) {
                (Some(q), true) => q.key_points.iter().collect(),
                _ => Vec::new(),
            },
            reference_answer: match (&self.question, use_kp) {
                (Some(q), true) => &q.reference_answer,
                _ => "",
            },
            scenario: self.question.as_ref().and_then(|q| q.scenario.as_ref()),
        }
    }
}

/// Everything the grader concluded about one answer.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub analysis: Analysis,
    pub verdict: Verdict,
    pub models: BTreeMap<Dimension, ModelSignals>,
    pub threshold: f32,
    pub grading_ms: f64,
}

impl Assessment {
    /// The dimension model's inputs for `d` (zeros when `d` was not analysed).
    pub fn features(&self, d: Dimension, level: Level) -> [f32; DIM_FEATURES] {
        let m = self.models.get(&d).copied().unwrap_or_default();
        self.analysis
            .dim(d)
            .map(|s| dim_features(&self.analysis, s, &m, level))
            .unwrap_or([0.0; DIM_FEATURES])
    }

    pub fn p(&self, d: Dimension) -> f32 {
        self.verdict
            .p_covered
            .iter()
            .find(|x| x.0 == d)
            .map(|x| x.1)
            .unwrap_or(0.0)
    }
}

/// A follow-up question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pushback {
    pub dimension: Dimension,
    pub text: String,
    /// "bank", "template" or "model:<id>".
    pub source: String,
    /// Set when no model was used, to say so.
    pub notice: Option<String>,
    /// Milliseconds to the first streamed piece.
    pub first_token_ms: f64,
}

/// What the coach may use the model for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoachOptions {
    /// Yes/no checklist probabilities per dimension.
    pub llm_checks: bool,
    /// Model-written follow-ups.
    pub llm_pushback: bool,
    /// Model-written critique summary.
    pub llm_summary: bool,
    /// The language the interviewer speaks (model-written text only), e.g. "Japanese".
    pub language: Option<&'static str>,
}

impl Default for CoachOptions {
    fn default() -> Self {
        Self {
            llm_checks: true,
            llm_pushback: true,
            llm_summary: true,
            language: None,
        }
    }
}

/// The interview coach.
pub struct Coach {
    pub bank: Arc<Bank>,
    llm: Option<(Arc<Llm>, String)>,
    /// A separate, larger model that answers the checklist (when set).
    judge: Option<(Arc<Llm>, String)>,
    /// KV cache of the checklist prompts (question + answer prefix).
    grader: Mutex<Option<spar_llm::Session>>,
    /// KV cache of the interviewer's prompts (pushback, summary).
    talker: Mutex<Option<spar_llm::Session>>,
    cal: Calibration,
    /// The deterministic calibration: pushback targeting must not wait for model checks.
    fast: Calibration,
    priors: PushbackPriors,
    pub options: CoachOptions,
}

impl std::fmt::Debug for Coach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coach")
            .field("model", &self.model_id())
            .field("signals", &self.cal.signals)
            .finish()
    }
}

fn content_terms(s: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "the", "and", "for", "you", "your", "with", "how", "what", "would", "that", "this", "are",
        "from", "into", "when", "design", "system", "walk", "through", "tell", "about", "time",
        "explain",
    ];
    prefixes(s, 3, STOP)
}

/// The 6-character prefixes (a crude stem) of the lower-cased words of `s` that are at least
/// `min_len` bytes long and not in `stop`.
fn prefixes(s: &str, min_len: usize, stop: &[&str]) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= min_len && !stop.contains(w))
        .map(|w| w.chars().take(6).collect())
        .collect()
}

impl Coach {
    /// A coach over `bank`, with an optional model `(llm, id)` and the calibrations shipped with
    /// spar (the one matching the model is used; deterministic otherwise).
    pub fn new(bank: Arc<Bank>, llm: Option<(Arc<Llm>, String)>, cals: &Calibrations) -> Self {
        let (cal, _) = cals.for_model(llm.as_ref().map(|(_, id)| id.as_str()));
        // Targeting reads the deterministic grade, so it uses the priors fitted with it.
        let (fast, priors) = cals.for_model(None);
        let grader = llm.as_ref().map(|(l, _)| l.new_session());
        let talker = llm.as_ref().map(|(l, _)| l.new_session());
        Self {
            bank,
            llm,
            judge: None,
            grader: Mutex::new(grader),
            talker: Mutex::new(talker),
            cal,
            fast,
            priors,
            options: CoachOptions::default(),
        }
    }

    /// Uses a second model for the yes/no checklist (for example a 1.5B grader next to a fast
    /// 0.5B interviewer); the calibration fitted for that model is used.
    pub fn with_judge(mut self, judge: (Arc<Llm>, String), cals: &Calibrations) -> Self {
        let (cal, _) = cals.for_model(Some(&judge.1));
        self.cal = cal;
        self.grader = Mutex::new(Some(judge.0.new_session()));
        self.judge = Some(judge);
        self
    }

    /// The model answering the checklist: the judge when set, else the interviewer model.
    fn grading_model(&self) -> Option<&(Arc<Llm>, String)> {
        self.judge.as_ref().or(self.llm.as_ref())
    }

    pub fn judge_id(&self) -> Option<&str> {
        self.judge.as_ref().map(|(_, id)| id.as_str())
    }

    /// Replaces the calibration (fitting and tests).
    pub fn with_calibration(mut self, cal: Calibration) -> Self {
        self.cal = cal;
        self
    }

    pub fn calibration(&self) -> &Calibration {
        &self.cal
    }

    pub fn model_id(&self) -> Option<&str> {
        self.llm.as_ref().map(|(_, id)| id.as_str())
    }

    pub fn has_model(&self) -> bool {
        self.llm.is_some()
    }

    /// Whether the calibration in use was fitted with model signals.
    fn uses_model_signals(&self) -> bool {
        self.grading_model().is_some()
            && self.options.llm_checks
            && self.cal.signals != "deterministic"
    }

    /// Resolves a question: by bank id when given, else the closest bank question of the kind.
    pub fn resolve(
        &self,
        text: &str,
        kind: Kind,
        level: Level,
        question_id: Option<&str>,
    ) -> Asked {
        if let Some(q) = question_id.and_then(|id| self.bank.get(id)) {
            return Asked {
                kind,
                level,
                text: text.to_string(),
                question: Some(q.clone()),
                confidence: 1.0,
            };
        }
        let Some(hit) = self.bank.nearest(text, Some(kind)) else {
            return Asked {
                kind,
                level,
                text: text.to_string(),
                question: None,
                confidence: 0.0,
            };
        };
        let asked: Vec<String> = content_terms(text);
        let target: std::collections::HashSet<String> = content_terms(&format!(
            "{} {} {}",
            hit.question.title,
            hit.question.prompt,
            hit.question.topics.join(" ")
        ))
        .into_iter()
        .collect();
        let overlap = if asked.is_empty() {
            0.0
        } else {
            asked.iter().filter(|t| target.contains(*t)).count() as f32 / asked.len() as f32
        };
        Asked {
            kind,
            level,
            text: text.to_string(),
            question: Some(hit.question.clone()),
            confidence: overlap,
        }
    }

    /// The model's P(yes) for each dimension's checklist item.
    fn model_checks(
        &self,
        asked: &Asked,
        answer: &str,
        dims: &[Dimension],
    ) -> Result<BTreeMap<Dimension, ModelSignals>> {
        let mut out = BTreeMap::new();
        let Some((llm, _)) = self.grading_model() else {
            return Ok(out);
        };
        let mut guard = self
            .grader
            .lock()
            .map_err(|_| Error::Coach("model session poisoned".into()))?;
        let session = guard.get_or_insert_with(|| llm.new_session());
        let yes = candidates(llm, &["Yes", " Yes", "yes"]);
        let no = candidates(llm, &["No", " No", "no"]);
        if yes.is_empty() || no.is_empty() {
            return Ok(out);
        }
        // Only the cleaned, guarded text reaches the model.
        let safe = spar_core::analysis::guard::for_model(answer);
        for d in dims {
            let msgs = prompts::check(&asked.text, &safe, *d);
            let tokens = llm.chat_tokens(&msgs)?;
            let mut choices = yes.clone();
            choices.extend(no.iter().cloned());
            let p = session.score_choices(&tokens, &choices)?;
            let p_yes: f32 = p[..yes.len()].iter().sum();
            out.insert(
                *d,
                ModelSignals {
                    llm_yes: Some(p_yes),
                    similarity: None,
                },
            );
        }
        Ok(out)
    }

    /// The raw signals of an answer: deterministic analysis, plus the model's checklist
    /// probabilities when `with_model` and a model is loaded.
    pub fn signals(
        &self,
        asked: &Asked,
        answer: &str,
        with_model: bool,
    ) -> Result<(Analysis, BTreeMap<Dimension, ModelSignals>)> {
        let reference = asked.reference();
        let analysis = analyze(answer, &reference);
        let models = if with_model && self.grading_model().is_some() && !analysis.flags.empty {
            self.model_checks(asked, answer, &reference.dimensions)?
        } else {
            BTreeMap::new()
        };
        Ok((analysis, models))
    }

    /// Grades an answer.
    pub fn assess(&self, asked: &Asked, answer: &str) -> Result<Assessment> {
        let t0 = Instant::now();
        let (analysis, models) = self.signals(asked, answer, self.uses_model_signals())?;
        let verdict = grade(&analysis, &models, asked.level, &self.cal);
        Ok(Assessment {
            analysis,
            verdict,
            models,
            threshold: self.cal.threshold,
            grading_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Grades with the deterministic signals only (milliseconds): what pushback targeting uses,
    /// so the first follow-up token never waits for the model's checklist.
    pub fn assess_fast(&self, asked: &Asked, answer: &str) -> Assessment {
        let t0 = Instant::now();
        let analysis = analyze(answer, &asked.reference());
        let verdict = grade(&analysis, &BTreeMap::new(), asked.level, &self.fast);
        Assessment {
            analysis,
            verdict,
            models: BTreeMap::new(),
            threshold: self.fast.threshold,
            grading_ms: t0.elapsed().as_secs_f64() * 1e3,
        }
    }

    /// Processes the prompts of the coming model calls while the candidate is still typing:
    /// the interviewer's prompt up to the answer so far, and the grader's prefix. Stops soon
    /// after `cancel` is set (set it when the candidate submits).
    pub fn warm(
        &self,
        asked: &Asked,
        transcript: &[(bool, String)],
        cancel: &Cancel,
    ) -> Result<()> {
        if let (Some((llm, _)), true) = (&self.llm, self.options.llm_pushback) {
            let msgs = prompts::pushback_prefix(
                asked.kind,
                asked.level,
                &asked.text,
                transcript,
                self.options.language,
            );
            let mut tokens = llm.template.encode(&llm.tokenizer, &msgs, false)?;
            // The rendered end of the turn will differ once the answer grows: leave it out.
            tokens.truncate(tokens.len().saturating_sub(12));
            let mut guard = self
                .talker
                .lock()
                .map_err(|_| Error::Coach("model session poisoned".into()))?;
            guard
                .get_or_insert_with(|| llm.new_session())
                .warm(&tokens, cancel)?;
        }
        if let (Some((llm, _)), true, false) = (
            self.grading_model(),
            self.uses_model_signals(),
            cancel.is_cancelled(),
        ) {
            let answer: Vec<&str> = transcript
                .iter()
                .filter(|(c, _)| *c)
                .map(|(_, t)| t.as_str())
                .collect();
            let safe = spar_core::analysis::guard::for_model(&answer.join("\n\n"));
            let dim = asked
                .dimensions()
                .first()
                .copied()
                .unwrap_or(Dimension::Approach);
            let tokens = llm.chat_tokens(&prompts::check(&asked.text, &safe, dim))?;
            let tail = llm
                .tokenizer
                .encode(
                    &format!(
                        "\n>>>\n\nChecklist item: does the answer {}?\nReply Yes or No.",
                        dim.criterion()
                    ),
                    false,
                )?
                .len();
            let keep = tokens.len().saturating_sub(tail + 16);
            let mut guard = self
                .grader
                .lock()
                .map_err(|_| Error::Coach("model session poisoned".into()))?;
            guard
                .get_or_insert_with(|| llm.new_session())
                .warm(&tokens[..keep], cancel)?;
        }
        Ok(())
    }

    /// The dimension to push back on: the most important one the answer lacks (system design
    /// in stage order), or where depth would separate a 4 from a 5 when nothing is missing.
    pub fn target(&self, asked: &Asked, a: &Assessment, already: &[Dimension]) -> Dimension {
        let dims = asked.dimensions();
        let open: Vec<Dimension> = dims
            .iter()
            .copied()
            .filter(|d| !already.contains(d))
            .collect();
        let pool = if open.is_empty() { dims } else { open };
        let candidates: Vec<Candidate> = pool
            .iter()
            .map(|d| Candidate {
                dimension: *d,
                p: a.p(*d),
                x: a.features(*d, asked.level),
            })
            .collect();
        let nothing = a.analysis.flags.empty || a.analysis.flags.off_topic;
        spar_core::pushback::choose(asked.kind, &candidates, a.threshold, nothing, &self.priors)
    }

    /// A bank follow-up for `dim`, best matching the verdict and the answer's words.
    pub fn bank_follow_up(
        &self,
        asked: &Asked,
        a: &Assessment,
        dim: Dimension,
        used: &[String],
    ) -> Option<String> {
        let q = asked
            .question
            .as_ref()
            .filter(|_| asked.confidence >= 0.35)?;
        let state = match a.p(dim) {
            p if p >= a.threshold => FollowUpWhen::Covered,
            _ if a
                .analysis
                .dim(dim)
                .is_some_and(|s| s.strong > 0 || s.kp_hits > 0) =>
            {
                FollowUpWhen::Partial
            }
            _ => FollowUpWhen::Missing,
        };
        let answer_terms: std::collections::HashSet<String> =
            content_terms(&a.analysis.text.clean).into_iter().collect();
        q.follow_ups
            .iter()
            .filter(|f| f.dimension == dim && !used.contains(&f.text))
            .max_by_key(|f| {
                let fit = match (f.when, state) {
                    (w, s) if w == s => 3,
                    (FollowUpWhen::Any, _) => 2,
                    (FollowUpWhen::Partial, FollowUpWhen::Missing)
                    | (FollowUpWhen::Missing, FollowUpWhen::Partial) => 1,
                    _ => 0,
                };
                let overlap = content_terms(&f.text)
                    .iter()
                    .filter(|t| answer_terms.contains(*t))
                    .count();
                fit * 100 + overlap
            })
            .map(|f| f.text.clone())
    }

    /// Writes the next follow-up, streaming it into `sink`. `transcript` is the item so far as
    /// (is_candidate, text) pairs, ending with the candidate's latest answer.
    #[allow(clippy::too_many_arguments)]
    pub fn pushback(
        &self,
        asked: &Asked,
        transcript: &[(bool, String)],
        a: &Assessment,
        already: &[Dimension],
        used: &[String],
        sink: &mut dyn TokenSink,
        cancel: &Cancel,
    ) -> Result<Pushback> {
        let t0 = Instant::now();
        let dim = self.target(asked, a, already);
        let exemplar = self.bank_follow_up(asked, a, dim, used);
        if let (Some((llm, id)), true) = (&self.llm, self.options.llm_pushback) {
            let mut examples: Vec<String> = exemplar.iter().cloned().collect();
            examples.extend(template(dim, asked.kind, a).into_iter().map(str::to_string));
            let msgs = prompts::pushback(
                asked.kind,
                asked.level,
                &asked.text,
                transcript,
                dim,
                &examples,
                self.options.language,
            );
            let mut guard = self
                .talker
                .lock()
                .map_err(|_| Error::Coach("model session poisoned".into()))?;
            let session = guard.get_or_insert_with(|| llm.new_session());
            let mut first: Option<f64> = None;
            let mut buf = String::new();
            let params = Params {
                max_tokens: 60,
                temperature: 0.7,
                top_p: Some(0.9),
                seed: 7,
                repeat_penalty: 1.1,
                ..Params::default()
            };
            let mut relay = |piece: &str| {
                if first.is_none() {
                    first = Some(t0.elapsed().as_secs_f64() * 1e3);
                }
                buf.push_str(piece);
                sink.text(piece);
            };
            let g = session.chat(&msgs, &params, &mut relay, cancel)?;
            let text = tidy_question(&g.text);
            if is_usable_question(&text) {
                return Ok(Pushback {
                    dimension: dim,
                    text,
                    source: format!("model:{id}"),
                    notice: g.notice,
                    first_token_ms: first.unwrap_or(0.0),
                });
            }
            // The model rambled or answered instead of asking: fall back, and say so.
            let fallback = exemplar
                .clone()
                .unwrap_or_else(|| template(dim, asked.kind, a)[0].to_string());
            sink.text("\n");
            sink.text(&fallback);
            return Ok(Pushback {
                dimension: dim,
                text: fallback,
                source: "bank".into(),
                notice: Some("The model's follow-up was not a usable question; using the question bank's instead.".into()),
                first_token_ms: first.unwrap_or(0.0),
            });
        }
        let (text, source) = match exemplar {
            Some(t) => (t, "bank"),
            None => (template(dim, asked.kind, a)[0].to_string(), "template"),
        };
        sink.text(&text);
        Ok(Pushback {
            dimension: dim,
            text,
            source: source.into(),
            notice: Some(if self.llm.is_none() {
                "No model is loaded, so this follow-up comes from the question bank (`spar models fetch` to enable the interviewer model).".into()
            } else {
                "Model follow-ups are off; this one comes from the question bank.".into()
            }),
            first_token_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// The full critique of an answer (the whole transcript for multi-turn items).
    pub fn critique(
        &self,
        asked: &Asked,
        answer: &str,
        a: &Assessment,
        cancel: &Cancel,
    ) -> Result<Critique> {
        let not_applicable = asked.not_applicable();
        let mut inp = CritiqueInputs {
            answer,
            kind: asked.kind,
            level: asked.level,
            question_id: asked
                .question
                .as_ref()
                .filter(|_| asked.confidence >= 0.8)
                .map(|q| q.id.clone()),
            key_points: asked.reference().key_points,
            not_applicable,
            threshold: a.threshold,
            improved_passage: String::new(),
            graded_by: match (self.grading_model(), self.uses_model_signals()) {
                (Some((_, id)), true) => format!("deterministic + {id}"),
                _ => "deterministic".into(),
            },
        };
        let mut c = critique::build(&a.analysis, &a.verdict, &inp);
        c.improved_passage = self.improved_passage(asked, &c);
        inp.improved_passage = c.improved_passage.clone();
        if let (Some((llm, _)), true) = (&self.llm, self.options.llm_summary)
            && !c.flags.empty
            && !c.flags.off_topic
        {
            let covered = c.covered();
            let missing = c.not_covered();
            let points: Vec<String> = asked
                .question
                .as_ref()
                .filter(|_| asked.confidence >= 0.35)
                .map(|q| {
                    q.key_points
                        .iter()
                        .filter(|k| missing.contains(&k.dimension))
                        .map(|k| k.text.clone())
                        .collect()
                })
                .unwrap_or_default();
            let msgs = prompts::summary(
                &asked.text,
                asked.level,
                c.score,
                &covered,
                &missing,
                &points,
                self.options.language,
            );
            let mut guard = self
                .talker
                .lock()
                .map_err(|_| Error::Coach("model session poisoned".into()))?;
            let session = guard.get_or_insert_with(|| llm.new_session());
            let params = Params {
                max_tokens: 64,
                temperature: 0.3,
                seed: 11,
                repeat_penalty: 1.1,
                ..Params::default()
            };
            let g = session.chat(&msgs, &params, &mut spar_llm::NoSink, cancel)?;
            if let Some(text) = usable_summary(&g.text, missing.len())
                .filter(|t| self.options.language.is_some() || on_the_gaps(t, &missing, &points))
            {
                c.summary = format!("{} {}", c.summary, text);
            }
        }
        Ok(c)
    }

    /// The reference passage that best shows the top gap, phrased as an example.
    fn improved_passage(&self, asked: &Asked, c: &Critique) -> String {
        let Some(q) = asked.question.as_ref().filter(|_| asked.confidence >= 0.35) else {
            return c
                .dimensions
                .iter()
                .find(|d| d.coverage != Coverage::Covered)
                .map(|d| critique::advice(d.dimension).to_string())
                .unwrap_or_default();
        };
        let gap = c
            .dimensions
            .iter()
            .filter(|d| d.coverage != Coverage::Covered)
            .min_by_key(|d| (d.coverage == Coverage::Partial, stage_rank(d.dimension)))
            .map(|d| d.dimension);
        let Some(gap) = gap else {
            return format!(
                "A strong answer, for comparison: {}",
                first_sentences(&q.reference_answer, 2)
            );
        };
        let query: String = q
            .key_points
            .iter()
            .filter(|k| k.dimension == gap)
            .map(|k| format!("{} {}", k.text, k.aliases.join(" ")))
            .collect::<Vec<_>>()
            .join(" ");
        let query = if query.is_empty() {
            gap.criterion().to_string()
        } else {
            query
        };
        let passages = self.bank.grounding(q, &query, 6);
        let best = passages
            .iter()
            .find(|p| p.source == PassageSource::ReferenceAnswer)
            .or_else(|| passages.first());
        match best {
            Some(p) => format!(
                "On {}, a strong answer says something like: “{}”",
                gap.label().to_lowercase(),
                p.text
            ),
            None => critique::advice(gap).to_string(),
        }
    }
}

fn first_sentences(text: &str, n: usize) -> String {
    spar_bank::sentences(text)
        .into_iter()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Token ids of each spelling of a one-word choice that is a single token.
fn candidates(llm: &Llm, spellings: &[&str]) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    for s in spellings {
        if let Ok(ids) = llm.tokenizer.encode(s, false)
            && ids.len() == 1
            && !out.contains(&ids)
        {
            out.push(ids);
        }
    }
    out
}

fn tidy_question(s: &str) -> String {
    let s = s.trim().trim_matches('"').trim();
    let s = s
        .strip_prefix("Follow-up:")
        .or_else(|| s.strip_prefix("Question:"))
        .unwrap_or(s)
        .trim();
    // Keep the first question if the model asked several.
    match s.find('?') {
        Some(i) => s[..=i].trim().to_string(),
        None => s.lines().next().unwrap_or("").trim().to_string(),
    }
}

/// A follow-up the interviewer can ask: one question of sensible length, addressed to the
/// candidate. A small model sometimes asks its own question in the first person, talks about
/// "the candidate" as if someone else were listening, or turns the follow-up into a quiz
/// ("Which of the following ...").
fn is_usable_question(s: &str) -> bool {
    let words = s.split_whitespace().count();
    let lower = format!(" {} ", s.to_lowercase());
    let first_person = [" i ", " i'm ", " i'd ", " i've "]
        .iter()
        .any(|w| lower.contains(w));
    let third_person = [" the candidate", " the interviewee"]
        .iter()
        .any(|w| lower.contains(w));
    let quiz = [
        "which of the following",
        "which of these",
        " a) ",
        " (a) ",
        "true or false",
    ]
    .iter()
    .any(|w| lower.contains(w));
    s.ends_with('?')
        && (4..=45).contains(&words)
        && !first_person
        && !third_person
        && !quiz
        && !is_refusal(&lower)
}

fn is_refusal(lower: &str) -> bool {
    [
        "i'm sorry",
        "i am sorry",
        "can't assist",
        "cannot assist",
        "can't help",
        "as an ai",
        "language model",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// The model's closing note, kept only when it is a short plain note that agrees with the
/// graded findings: no refusal, no score of its own, no lists or headings, no blanket praise
/// while dimensions are missing. Returns its complete sentences (at most three).
fn usable_summary(text: &str, missing: usize) -> Option<String> {
    // Echoed labels ("To fix first:") go; the sentences under them stay.
    let text: String = text
        .lines()
        .filter(|l| !l.trim_end().ends_with(':'))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim();
    let lower = text.to_lowercase();
    if is_refusal(&lower)
        || lower.contains("score")
        || lower.contains("/5")
        || text.contains("**")
        || text.contains('#')
        || text.lines().any(|l| {
            l.trim_start().starts_with(['-', '*', '•'])
                || l.trim_start().starts_with(|c: char| c.is_ascii_digit())
        })
    {
        return None;
    }
    const PRAISE: [&str; 10] = [
        "all necessary",
        "covers all",
        "covered all",
        "comprehensive",
        "thorough",
        "excellent",
        "perfect",
        "flawless",
        "adheres to",
        "nothing to improve",
    ];
    if missing > 0 && PRAISE.iter().any(|p| lower.contains(p)) {
        return None;
    }
    // Whole sentences only: a note cut off by the token limit loses its last fragment.
    let out = spar_bank::sentences(text)
        .into_iter()
        .filter(|s| s.ends_with(['.', '!', '?', '。', '！', '？']))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    (out.split_whitespace().count() >= 8).then_some(out)
}

/// Whether an English note is about the gaps it was given: it shares at least two content words
/// with the missing dimensions' criteria and the reference points (a small model otherwise
/// drifts to the question's topic in general).
fn on_the_gaps(note: &str, missing: &[Dimension], points: &[String]) -> bool {
    const GENERIC: [&str; 14] = [
        "answer",
        "should",
        "would",
        "could",
        "about",
        "their",
        "there",
        "which",
        "these",
        "those",
        "strong",
        "include",
        "explain",
        "candidate",
    ];
    let words = |t: &str| prefixes(t, 5, &GENERIC);
    let gaps: BTreeSet<String> = missing
        .iter()
        .flat_map(|d| [d.label(), d.criterion()])
        .chain(points.iter().map(String::as_str))
        .flat_map(words)
        .collect();
    words(note)
        .into_iter()
        .collect::<BTreeSet<_>>()
        .intersection(&gaps)
        .count()
        >= 2
}

/// Generic follow-ups per dimension, used when the question is not in the bank. System design
/// ones follow the stages: requirements before boxes, then scale, then failure.
pub fn template(d: Dimension, kind: Kind, a: &Assessment) -> Vec<&'static str> {
    use Dimension::*;
    let stages = if kind == Kind::SystemDesign {
        design_stages(&a.analysis)
    } else {
        Vec::new()
    };
    let drew_boxes = stages.contains(&Architecture);
    match d {
        Requirements if drew_boxes => {
            vec!["Before the boxes: what are the requirements, and what is the read/write ratio?"]
        }
        Requirements => vec![
            "Before we design anything: what exactly must this system do, for how many users, and how fast?",
        ],
        Estimation => vec![
            "Put numbers on it: how many requests per second at peak, and how much storage after a year?",
        ],
        Architecture => {
            vec!["Walk me through one request end to end: which components does it touch?"]
        }
        DataModel => vec![
            "What does the data model look like — the tables or documents, their keys and indexes?",
        ],
        DeepDive if drew_boxes => vec![
            "What if writes spike 10× during a launch — which component breaks first, and what do you do?",
        ],
        DeepDive => {
            vec!["Pick the hardest component and go one level deeper: how exactly does it work?"]
        }
        Tradeoffs => {
            vec!["What alternative did you reject there, and what does your choice cost you?"]
        }
        FailureModes => {
            vec!["What happens on a cache stampede, or when your primary database fails over?"]
        }
        Clarify => vec!["Before coding: what assumptions are you making about the input?"],
        Approach => {
            vec!["What is the algorithm, concretely, and why does it work better than brute force?"]
        }
        Complexity => vec!["What are the time and space complexities of that, and why?"],
        EdgeCases => vec!["What inputs would break that? Walk me through the edge cases."],
        Correctness => vec!["Convince me it is correct: what invariant holds at each step?"],
        Testing => vec!["Which test cases would you write first, and why those?"],
        HttpSemantics => vec!["Which method and status codes would you use for that, exactly?"],
        Security => vec!["Who is allowed to call this, and how do you enforce it?"],
        Reliability => {
            vec!["The client times out and retries — what happens to the second request?"]
        }
        Evolution => vec![
            "Next year you need to change this response. How do you do it without breaking existing clients?",
        ],
        ErrorHandling => {
            vec!["What does the client receive when this fails, and how should it react?"]
        }
        Situation => vec!["Can you make it concrete: which company, team and system was this?"],
        Task => vec!["What were you personally responsible for in that?"],
        Action => vec!["What did you do yourself — not the team — step by step?"],
        Result => vec!["How did it end? What changed, and can you put a number on it?"],
        Specificity => vec!["Can you give me the actual numbers, names or dates?"],
        Ownership => {
            vec!["Which decision there was yours, and what would you own if it had gone wrong?"]
        }
        Reflection => vec!["Looking back, what would you do differently?"],
        TriageOrder => vec![
            "Customers are affected right now — what is the very first thing you do, and why that first?",
        ],
        Signals => vec!["Which exact dashboard, metric or log would you open first?"],
        Hypotheses => {
            vec!["What is your leading hypothesis, and how would you confirm or rule it out?"]
        }
        Mitigation => vec![
            "How do you stop the bleeding in the next five minutes, before you know the root cause?",
        ],
        Communication => vec!["Who have you told so far, and what did you tell them?"],
        RootCause => {
            vec!["Latency is back to normal. How do you make sure this never pages anyone again?"]
        }
        Consistency => vec![
            "The second service fails after the first committed. How does the data end up consistent?",
        ],
        Resilience => vec![
            "The downstream service starts timing out. What protects your service from going down with it?",
        ],
        Observability => {
            vec!["A request is slow somewhere across six services. How do you find which hop?"]
        }
        Experience => vec![
            "Have you run this in production? What went wrong, and what did you change afterwards?",
        ],
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn notes_must_address_the_gaps() {
        let points =
            vec!["Use a saga with compensating actions or a transactional outbox".to_string()];
        let missing = [Dimension::Consistency, Dimension::Resilience];
        assert!(on_the_gaps(
            "You never said how the two services stay consistent. A saga with compensating steps would cover it.",
            &missing,
            &points
        ));
        // Observed: a note about latency when the gaps were consistency and resilience.
        assert!(!on_the_gaps(
            "To find out where the time goes, you should first identify the bottleneck in your service's performance.",
            &missing,
            &points
        ));
    }

    #[test]
    fn follow_ups_must_be_the_interviewers_questions() {
        assert!(is_usable_question(
            "Walk me through how a retry avoids charging the card twice?"
        ));
        assert!(!is_usable_question(
            "How can I ensure that my platform delivers webhooks to partners correctly?"
        ));
        assert!(!is_usable_question(
            "I'm sorry, but I can't assist with that?"
        ));
        assert!(!is_usable_question("Why?"));
        // Observed from a 0.5B model on dev answers.
        assert!(!is_usable_question(
            "What trade-off did the candidate reject there?"
        ));
        assert!(!is_usable_question(
            "Which of the following is a quickselect algorithm?"
        ));
        assert!(is_usable_question(
            "Which of your two caches goes stale first when the price changes?"
        ));
    }

    #[test]
    fn closing_notes_that_disagree_or_refuse_are_dropped() {
        // Observed from a 0.5B model: praise that contradicts three missing dimensions.
        let praise = "The provided solution is clear, concise, and adheres to the guidelines for \
            creating a strong answer. It includes all necessary elements.";
        assert_eq!(usable_summary(praise, 3), None);
        assert_eq!(
            usable_summary("I'm sorry, but I can't assist with that request.", 2),
            None
        );
        assert_eq!(
            usable_summary("**Feedback:** you should add tests.\n\n**Score: 3/5", 1),
            None
        );
        assert_eq!(
            usable_summary("Good start.\n1. **HMAC**: sign each delivery.", 1),
            None
        );
        // Echoed prompt labels are removed.
        assert_eq!(
            usable_summary(
                "To fix first:\nSign each delivery with HMAC over the body. Reject old timestamps.",
                1
            )
            .as_deref(),
            Some("Sign each delivery with HMAC over the body. Reject old timestamps.")
        );
        // A plain note is kept, minus the fragment the token limit cut off.
        let ok = "You explained the approach well, but you never argued why it is correct. \
            Add a short invariant and walk it through one example. Also the";
        assert_eq!(
            usable_summary(ok, 1).as_deref(),
            Some(
                "You explained the approach well, but you never argued why it is correct. \
                 Add a short invariant and walk it through one example."
            )
        );
    }
}
