//! Everything slow runs here, on named threads, never on the UI thread: loading the bank and
//! the model, listing sessions, the coach's turns (generation), downloads, verification,
//! imports and exports. Each job reports over one channel and asks egui to repaint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spar_bank::{Bank, BankSource};
use spar_coach::store::Quarantined;
use spar_coach::{Calibrations, Coach, Event, Practice, Store};
use spar_core::session::{Session, Settings};
use spar_core::track::Track;
use spar_llm::registry::{self, FetchOptions, FetchProgress, ModelEntry, Registry, Status};
use spar_llm::{Cancel, Llm, LoadOptions};

use crate::fonts::{self, FontFile};

/// A model operation with progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelOp {
    Download,
    Verify,
    Import,
}

impl ModelOp {
    pub fn label(self) -> &'static str {
        match self {
            ModelOp::Download => "Downloading",
            ModelOp::Verify => "Verifying",
            ModelOp::Import => "Importing",
        }
    }
}

/// What a practice job does to a running session.
#[derive(Debug, Clone)]
pub enum Action {
    /// Open the next question (or finish the session when all are done).
    Next,
    /// The candidate's answer; the interviewer replies or the critique follows.
    Submit(String),
    /// Critique the current question now.
    Critique,
    /// Reveal the reference answer (after the critique).
    Reference,
    /// Mark the session finished.
    Finish,
    /// Continue with a new coach (another model was loaded).
    UseCoach(Box<CoachSpec>),
}

/// How a practice session starts.
#[derive(Debug, Clone)]
pub enum Start {
    New { track: Track, settings: Settings },
    Resume(Box<Session>),
}

/// What the coach needs, built on the worker thread.
#[derive(Clone)]
pub struct CoachSpec {
    pub bank: Arc<Bank>,
    pub llm: Option<(Arc<Llm>, String)>,
    pub language: Option<&'static str>,
}

impl std::fmt::Debug for CoachSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let model = self.llm.as_ref().map(|(_, id)| id.as_str());
        f.debug_struct("CoachSpec")
            .field("model", &model)
            .field("language", &self.language)
            .finish()
    }
}

impl CoachSpec {
    pub fn build(self) -> Arc<Coach> {
        let mut coach = Coach::new(self.bank, self.llm, &Calibrations::embedded());
        coach.options.language = self.language;
        Arc::new(coach)
    }
}

/// Messages from the practice worker.
#[derive(Debug)]
pub enum PracticeMsg {
    /// An event of the session (question, streamed token, follow-up, finding, critique, …).
    Event(Event),
    Reference(Option<String>),
    /// The job finished; the session comes back to the UI.
    Done {
        practice: Box<Practice>,
        result: Result<(), String>,
    },
    /// A session could not be started or resumed.
    StartFailed(String),
}

/// Sessions on disk, as listed by the store.
#[derive(Debug)]
pub struct Listing {
    pub sessions: Vec<Session>,
    pub quarantined: Vec<Quarantined>,
    pub unfinished: Option<Session>,
}

/// A message from a worker thread.
#[derive(Debug)]
pub enum Msg {
    Bank(Result<Arc<Bank>, String>),
    /// System fonts: a CJK font and a general Unicode fallback, when found.
    Fonts {
        cjk: Option<FontFile>,
        fallback: Option<FontFile>,
    },
    History {
        dir: PathBuf,
        result: Result<Listing, String>,
    },
    ModelLoaded {
        id: String,
        result: Result<Arc<Llm>, String>,
        seconds: f32,
    },
    Progress {
        id: String,
        stage: Option<String>,
        done: u64,
        total: Option<u64>,
    },
    ModelOpDone {
        id: String,
        op: ModelOp,
        result: Result<String, String>,
    },
    Imported(Result<ModelEntry, String>),
    Removed {
        id: String,
        result: Result<bool, String>,
        was_imported: bool,
    },
    Practice(PracticeMsg),
    Exported(Result<PathBuf, String>),
}

/// The egui context to wake, once the first frame has given us one.
#[derive(Clone, Default)]
pub struct Repaint(Arc<Mutex<Option<egui::Context>>>);

impl Repaint {
    pub fn set(&self, ctx: &egui::Context) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(ctx.clone());
        }
    }

    pub fn request(&self) {
        if let Some(ctx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            ctx.request_repaint();
        }
    }
}

/// The sending side handed to every job.
#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Msg>,
    repaint: Repaint,
}

impl Outbox {
    pub fn send(&self, msg: Msg) {
        // The receiver only goes away when the app closes; nothing is left to tell then.
        let _ = self.tx.send(msg);
        self.repaint.request();
    }
}

/// Owns the channel and starts the jobs.
pub struct Workers {
    outbox: Outbox,
    rx: Receiver<Msg>,
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Workers {
    pub fn new() -> Self {
        let (tx, rx) = channel();
        Self {
            outbox: Outbox {
                tx,
                repaint: Repaint::default(),
            },
            rx,
        }
    }

    /// Lets jobs wake the UI.
    pub fn set_ctx(&self, ctx: &egui::Context) {
        self.outbox.repaint.set(ctx);
    }

    /// The next message, if one is waiting.
    pub fn try_recv(&self) -> Option<Msg> {
        self.rx.try_recv().ok()
    }

    /// Runs `job` on a new thread called `name`.
    pub fn spawn(
        &self,
        name: &str,
        job: impl FnOnce(Outbox) + Send + 'static,
    ) -> Result<(), String> {
        let outbox = self.outbox.clone();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || job(outbox))
            .map(|_| ())
            .map_err(|e| format!("cannot start the {name} thread: {e}"))
    }

    pub fn load_bank(&self, source: BankSource) -> Result<(), String> {
        self.spawn("spar-bank", move |out| {
            let result = Bank::load(&source).map(Arc::new).map_err(|e| match e {
                spar_bank::Error::Invalid(d) => {
                    format!(
                        "the question bank has {} problem(s); first: {}",
                        d.len(),
                        d[0]
                    )
                }
                other => other.to_string(),
            });
            out.send(Msg::Bank(result));
        })
    }

    pub fn find_fonts(&self) -> Result<(), String> {
        self.spawn("spar-fonts", |out| {
            out.send(Msg::Fonts {
                cjk: fonts::find_cjk(),
                fallback: fonts::find_fallback(),
            })
        })
    }

    pub fn list_sessions(&self, store: Store) -> Result<(), String> {
        self.spawn("spar-history", move |out| {
            let result = store
                .list()
                .and_then(|(sessions, quarantined)| {
                    Ok(Listing {
                        sessions,
                        quarantined,
                        unfinished: store.unfinished()?,
                    })
                })
                .map_err(err);
            out.send(Msg::History {
                dir: store.dir().to_path_buf(),
                result,
            });
        })
    }

    pub fn load_model(&self, id: String, path: PathBuf, opts: LoadOptions) -> Result<(), String> {
        self.spawn("spar-model-load", move |out| {
            let t0 = Instant::now();
            let result = Llm::load(&path, &opts).map(Arc::new).map_err(err);
            out.send(Msg::ModelLoaded {
                id,
                result,
                seconds: t0.elapsed().as_secs_f32(),
            });
        })
    }

    pub fn fetch(&self, reg: Registry, id: String, cancel: Arc<AtomicBool>) -> Result<(), String> {
        self.spawn("spar-fetch", move |out| {
            let mut progress = ChannelProgress::new(&id, out.clone(), cancel.clone());
            let result = registry::fetch(&reg, &id, &FetchOptions::default(), &mut progress)
                .map(|p| format!("saved to {}", p.display()))
                .map_err(|e| {
                    // A cancel during verification comes back as a failed source: say what happened.
                    if cancel.load(Ordering::Relaxed) {
                        "cancelled".to_string()
                    } else {
                        e.to_string()
                    }
                });
            out.send(Msg::ModelOpDone {
                id,
                op: ModelOp::Download,
                result,
            });
        })
    }

    pub fn verify(
        &self,
        reg: Registry,
        entry: ModelEntry,
        cancel: Arc<AtomicBool>,
    ) -> Result<(), String> {
        self.spawn("spar-verify", move |out| {
            let mut progress = ChannelProgress::new(&entry.id, out.clone(), cancel);
            progress.stage(&format!("hashing {}", entry.file));
            let result = match registry::status(&reg, &entry, true, &mut progress) {
                Status::Verified => Ok("sha256 matches".to_string()),
                Status::Missing => Err("the file is missing".to_string()),
                Status::Present => Ok("present".to_string()),
                Status::Corrupt(why) => Err(why),
            };
            out.send(Msg::ModelOpDone {
                id: entry.id,
                op: ModelOp::Verify,
                result,
            });
        })
    }

    pub fn import(
        &self,
        reg: Registry,
        path: PathBuf,
        cancel: Arc<AtomicBool>,
    ) -> Result<(), String> {
        self.spawn("spar-import", move |out| {
            let mut progress = ChannelProgress::new(IMPORT_ID, out.clone(), cancel);
            let result = registry::import(&reg, &path, None, &mut progress).map_err(err);
            out.send(Msg::Imported(result));
        })
    }

    pub fn remove(&self, reg: Registry, id: String) -> Result<(), String> {
        self.spawn("spar-remove", move |out| {
            let was_imported = was_imported(&reg.dir, &id);
            let result = registry::remove(&reg, &id).map_err(err);
            out.send(Msg::Removed {
                id,
                result,
                was_imported,
            });
        })
    }

    /// Starts or resumes a session, then opens its next question when none is open.
    pub fn start_practice(
        &self,
        spec: CoachSpec,
        store: Store,
        start: Start,
        cancel: Cancel,
    ) -> Result<(), String> {
        self.spawn("spar-coach", move |out| {
            let coach = spec.build();
            let started = match start {
                Start::New { track, settings } => Practice::start(coach, store, track, settings),
                Start::Resume(session) => Practice::resume(coach, store, *session),
            };
            let mut practice = match started {
                Ok(p) => Box::new(p),
                Err(e) => return out.send(Msg::Practice(PracticeMsg::StartFailed(e.to_string()))),
            };
            let result = if practice.session.phase().is_none() && !practice.session.is_complete() {
                run_action(&mut practice, Action::Next, &out, &cancel)
            } else {
                Ok(())
            };
            out.send(Msg::Practice(PracticeMsg::Done { practice, result }));
        })
    }

    /// Runs one turn of a session; the session comes back in [`PracticeMsg::Done`].
    pub fn act(
        &self,
        mut practice: Box<Practice>,
        action: Action,
        cancel: Cancel,
    ) -> Result<(), String> {
        self.spawn("spar-coach", move |out| {
            let result = run_action(&mut practice, action, &out, &cancel);
            out.send(Msg::Practice(PracticeMsg::Done { practice, result }));
        })
    }

    /// Writes `text` to `path` atomically.
    pub fn export(&self, path: PathBuf, text: String) -> Result<(), String> {
        self.spawn("spar-export", move |out| {
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            let result = spar_coach::store::write_atomic(&dir, &path, text.as_bytes())
                .map(|()| path.clone())
                .map_err(err);
            out.send(Msg::Exported(result));
        })
    }
}

/// The progress key of an import.
pub const IMPORT_ID: &str = "(import)";

fn run_action(
    p: &mut Practice,
    action: Action,
    out: &Outbox,
    cancel: &Cancel,
) -> Result<(), String> {
    let mut emit = |e: Event| out.send(Msg::Practice(PracticeMsg::Event(e)));
    match action {
        Action::Next => match p.next_question().map_err(err)? {
            Some(e) => {
                emit(e);
                Ok(())
            }
            None => Err("no question in the bank matches this track".into()),
        },
        Action::Submit(text) => p.submit(&text, &mut emit, cancel).map_err(err),
        Action::Critique => p.critique(&mut emit, cancel).map_err(err),
        Action::Reference => {
            let r = p.reference().map_err(err)?;
            out.send(Msg::Practice(PracticeMsg::Reference(r)));
            Ok(())
        }
        Action::Finish => p.finish().map_err(err),
        Action::UseCoach(spec) => {
            p.coach = spec.build();
            p.session.model = p.coach.model_id().map(str::to_string);
            Ok(())
        }
    }
}

/// Whether `id` is listed in the models folder's `imported.toml`.
fn was_imported(dir: &Path, id: &str) -> bool {
    std::fs::read_to_string(dir.join("imported.toml"))
        .is_ok_and(|t| t.contains(&format!("id = \"{id}\"")))
}

/// Fetch progress sent over the channel (at most every 50 ms), with a cancel flag.
pub struct ChannelProgress {
    id: String,
    out: Outbox,
    cancel: Arc<AtomicBool>,
    last: Option<Instant>,
}

impl ChannelProgress {
    pub fn new(id: &str, out: Outbox, cancel: Arc<AtomicBool>) -> Self {
        Self {
            id: id.to_string(),
            out,
            cancel,
            last: None,
        }
    }
}

impl FetchProgress for ChannelProgress {
    fn stage(&mut self, message: &str) {
        self.last = None;
        self.out.send(Msg::Progress {
            id: self.id.clone(),
            stage: Some(message.to_string()),
            done: 0,
            total: None,
        });
    }

    fn bytes(&mut self, done: u64, total: Option<u64>) {
        let finished = total.is_some_and(|t| done >= t);
        if !finished
            && self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(50))
        {
            return;
        }
        self.last = Some(Instant::now());
        self.out.send(Msg::Progress {
            id: self.id.clone(),
            stage: None,
            done,
            total,
        });
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_throttled_and_cancellable() {
        let w = Workers::new();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut p = ChannelProgress::new("m", w.outbox.clone(), cancel.clone());
        p.stage("downloading");
        for i in 0..1000 {
            p.bytes(i, Some(1000));
        }
        p.bytes(1000, Some(1000));
        let msgs: Vec<Msg> = std::iter::from_fn(|| w.try_recv()).collect();
        assert!(msgs.len() < 20, "throttled: {} messages", msgs.len());
        assert!(
            matches!(msgs.last(), Some(Msg::Progress { done: 1000, .. })),
            "the final count always goes out"
        );
        assert!(!p.cancelled());
        cancel.store(true, Ordering::Relaxed);
        assert!(p.cancelled());
    }

    #[test]
    fn threads_are_named() {
        let w = Workers::new();
        w.spawn("spar-test", |out| {
            let name = std::thread::current().name().map(str::to_string);
            out.send(Msg::Exported(Ok(PathBuf::from(name.unwrap_or_default()))));
        })
        .unwrap();
        let msg = w.rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(matches!(msg, Msg::Exported(Ok(p)) if p == Path::new("spar-test")));
    }
}
