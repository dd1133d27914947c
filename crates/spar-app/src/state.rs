//! The app state: everything the screens show, testable without a window. UI code only reads
//! it and pushes [`Command`]s; [`AppState::apply`] carries them out afterwards, and slow work
//! goes to the [`Workers`](crate::worker::Workers), whose messages [`AppState::poll`] folds
//! back in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spar_bank::{Bank, BankSource, Filters};
use spar_coach::store::{Quarantined, now_ms};
use spar_coach::{Event, Practice, Store, export};
use spar_core::critique::Critique;
use spar_core::select::{DimensionStat, dimension_stats, weakest};
use spar_core::session::{Phase, Session};
use spar_core::taxonomy::{Dimension, Kind};
use spar_core::track::Track;
use spar_llm::registry::{ModelEntry, Quiet, Registry, Status};
use spar_llm::{Cancel, Llm, LoadOptions};

use crate::fonts::FontFile;
use crate::frames::FrameStats;
use crate::prefs::{Prefs, Theme};
use crate::worker::{
    Action, CoachSpec, IMPORT_ID, Listing, ModelOp, Msg, PracticeMsg, Start, Workers,
};

/// The most bank search results shown.
pub const SEARCH_LIMIT: usize = 100;

/// A screen of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Home,
    Practice,
    Scorecard,
    History,
    Bank,
    Models,
    Settings,
}

impl Screen {
    /// The screens in the navigation bar (the scorecard opens from practice and history).
    pub const NAV: &'static [Screen] = &[
        Screen::Home,
        Screen::Practice,
        Screen::History,
        Screen::Bank,
        Screen::Models,
        Screen::Settings,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Screen::Home => "Home",
            Screen::Practice => "Practice",
            Screen::Scorecard => "Scorecard",
            Screen::History => "History",
            Screen::Bank => "Question bank",
            Screen::Models => "Models",
            Screen::Settings => "Settings",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            Screen::Home => "🏠",
            Screen::Practice => "🎤",
            Screen::Scorecard => "📋",
            Screen::History => "📈",
            Screen::Bank => "📚",
            Screen::Models => "📦",
            Screen::Settings => "⚙",
        }
    }
}

impl FromStr for Screen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "home" => Ok(Screen::Home),
            "practice" => Ok(Screen::Practice),
            "scorecard" => Ok(Screen::Scorecard),
            "history" => Ok(Screen::History),
            "bank" => Ok(Screen::Bank),
            "models" => Ok(Screen::Models),
            "settings" => Ok(Screen::Settings),
            other => Err(format!(
                "unknown screen `{other}` (home, practice, scorecard, history, bank, models, settings)"
            )),
        }
    }
}

/// Something the user asked for; applied after the frame's UI code ran.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Go(Screen),
    /// A session on the home screen's track.
    StartTrack,
    /// A regional mock loop.
    StartLoop(String),
    /// A session aimed at the weakest dimensions.
    DrillWeakSpots,
    /// Continue the unfinished session.
    Resume,
    /// Send the draft answer.
    Submit,
    /// Critique the current question now, skipping the remaining follow-ups.
    CritiqueNow,
    /// Stop the generation in progress.
    Stop,
    ShowReference,
    NextQuestion,
    EndSession,
    ExportCritique,
    ExportSession(String),
    SelectSession(String),
    OpenScorecard {
        session: String,
        item: usize,
    },
    RefreshHistory,
    Fetch(String),
    CancelModelOp(String),
    Verify(String),
    Remove(String),
    Import,
    Activate(String),
    ReloadModel,
    SetDataDir(Option<PathBuf>),
    SelectQuestion(String),
}

/// Something loaded in the background.
#[derive(Debug, Clone)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

impl<T> Loadable<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Loadable::Ready(t) => Some(t),
            _ => None,
        }
    }
}

/// Where the CJK font search stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontStatus {
    /// Not searched (tests) or searching.
    Unknown,
    Found(PathBuf),
    Missing,
}

/// The interviewer model.
#[derive(Default)]
pub struct ModelSlot {
    /// Registry id (or file stem) of the loaded model.
    pub id: Option<String>,
    pub llm: Option<Arc<Llm>>,
    /// The model being loaded.
    pub loading: Option<String>,
    pub error: Option<String>,
    pub load_seconds: Option<f32>,
    /// Device and threads of the last load.
    pub runtime: Option<(String, usize)>,
}

/// A download, verification or import in progress.
#[derive(Debug, Clone)]
pub struct ModelOpState {
    pub op: ModelOp,
    pub stage: String,
    pub done: u64,
    pub total: Option<u64>,
    pub cancel: Arc<AtomicBool>,
}

impl ModelOpState {
    pub fn fraction(&self) -> Option<f32> {
        self.total
            .filter(|t| *t > 0)
            .map(|t| (self.done as f64 / t as f64).clamp(0.0, 1.0) as f32)
    }
}

/// The models screen.
#[derive(Debug, Default)]
pub struct ModelsView {
    pub statuses: BTreeMap<String, Status>,
    pub ops: BTreeMap<String, ModelOpState>,
    /// The outcome of the last operation on each model.
    pub results: BTreeMap<String, Result<String, String>>,
    pub import_path: String,
    pub ram_mb: Option<u64>,
}

/// Past sessions and progress.
#[derive(Debug, Default)]
pub struct HistoryView {
    pub loaded: bool,
    pub loading: bool,
    /// A refresh was asked for while one was running.
    pub stale: bool,
    pub error: Option<String>,
    pub sessions: Vec<Session>,
    pub quarantined: Vec<Quarantined>,
    pub unfinished: Option<Session>,
    pub stats: Vec<DimensionStat>,
    pub weakest: Vec<Dimension>,
    pub selected: Option<String>,
    /// The kind whose dimensions the progress chart shows (`None`: the weakest overall).
    pub chart_kind: Option<Kind>,
    /// Running share covered over all dimensions, one point per critiqued question.
    pub overall: Vec<(u64, f64)>,
}

/// What the practice worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Starting,
    /// The interviewer is replying (streaming a follow-up, or a drill finding).
    Interviewer,
    Critiquing,
    Reference,
    NextQuestion,
    Finishing,
    /// Handing the session to a newly loaded model.
    Switching,
}

impl Busy {
    pub fn label(self) -> &'static str {
        match self {
            Busy::Starting => "Picking a question…",
            Busy::Interviewer => "The interviewer is thinking…",
            Busy::Critiquing => "Grading your answer…",
            Busy::Reference => "Fetching the reference answer…",
            Busy::NextQuestion => "Picking the next question…",
            Busy::Finishing => "Saving…",
            Busy::Switching => "Handing over to the new model…",
        }
    }

    /// Whether the model may be generating.
    pub fn generates(self) -> bool {
        matches!(self, Busy::Interviewer | Busy::Critiquing)
    }
}

/// A practice session as the UI sees it.
#[derive(Default)]
pub struct PracticeView {
    /// The session between turns (while a turn runs it is on the worker thread).
    pub practice: Option<Box<Practice>>,
    /// A copy of the session after the last turn, for display.
    pub session: Option<Session>,
    pub busy: Option<Busy>,
    /// The interviewer's reply as it streams in.
    pub streaming: String,
    /// The answer being sent.
    pub pending_answer: Option<String>,
    pub draft: String,
    /// What this round of a mock loop looks for.
    pub note: Option<String>,
    pub reference: Option<String>,
    /// Set when the session is over, with its mean score.
    pub finished: Option<Option<f32>>,
    /// The user stopped the generation.
    pub stopped: bool,
    pub error: Option<String>,
    /// Whether the coach of this session has a model.
    pub has_model: bool,
    /// Put the cursor in the answer editor on the next frame.
    pub focus_editor: bool,
    critique_arrived: bool,
}

impl PracticeView {
    /// Whether a session is open (running or between turns).
    pub fn active(&self) -> bool {
        self.session.is_some() || self.busy.is_some()
    }

    /// The phase of the current question.
    pub fn phase(&self) -> Option<Phase> {
        self.session.as_ref().and_then(|s| s.phase())
    }
}

/// Which critique the scorecard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScorecardTarget {
    /// The current question of the running session.
    Current,
    /// A question of a saved session.
    Saved { session: String, item: usize },
}

/// The question bank browser.
#[derive(Debug, Default)]
pub struct BankView {
    pub query: String,
    pub filters: Filters,
    /// Ids of the matching questions, best first.
    pub results: Vec<String>,
    pub selected: Option<String>,
    pub error: Option<String>,
    searched: Option<(String, Filters)>,
}

/// A short message at the bottom of the window.
#[derive(Debug, Clone)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

/// The whole app.
pub struct AppState {
    pub prefs: Prefs,
    pub screen: Screen,
    pub bank: Loadable<Arc<Bank>>,
    pub store: Store,
    pub model: ModelSlot,
    pub registry: Registry,
    pub registry_error: Option<String>,
    pub models: ModelsView,
    pub history: HistoryView,
    pub practice: PracticeView,
    pub bank_view: BankView,
    pub scorecard: Option<ScorecardTarget>,
    /// The reference answer shown on a saved scorecard.
    pub saved_reference: Option<String>,
    pub flash: Option<Flash>,
    pub frames: FrameStats,
    pub cjk: FontStatus,
    /// System fonts installed as fallbacks (name, file).
    pub fonts: Vec<(&'static str, FontFile)>,
    /// Threads the launcher configured (used when the preference is 0).
    pub launch_threads: usize,
    /// The model named on the command line, if any (wins over the preference once).
    pub launch_model: Option<String>,
    /// The data folder field on the settings screen.
    pub data_dir_edit: String,
    /// The last export written.
    pub last_export: Option<PathBuf>,
    /// Print frames slower than 16 ms to stderr (`SPAR_APP_FRAME_LOG`).
    pub log_slow_frames: bool,
    pub(crate) commands: Vec<Command>,
    workers: Workers,
    cancel: Cancel,
    applied_style: Option<(Theme, u32)>,
    pending_screen: Option<Screen>,
    ctx: Option<egui::Context>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("screen", &self.screen)
            .field("model", &self.model.id)
            .finish()
    }
}

/// The data folder a store lives in (the store keeps `sessions/` below it).
pub fn data_root(store: &Store) -> PathBuf {
    store
        .dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl AppState {
    /// An app over an injected bank, store, model and registry (tests, tools). Sessions are
    /// listed in the background right away.
    pub fn new(bank: Arc<Bank>, store: Store, llm: Option<Arc<Llm>>, registry: Registry) -> Self {
        let mut s = Self::bare(Prefs::default(), store, registry, None, 1);
        s.bank = Loadable::Ready(bank);
        if let Some(llm) = llm {
            let id = llm
                .info
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into());
            s.model.id = Some(id);
            s.model.llm = Some(llm);
        }
        s.refresh_history();
        s
    }

    /// The app as launched: the bank, the model and the CJK font load in the background, so
    /// the first frame shows at once.
    pub fn launch(prefs: Prefs, bank: BankSource, model: Option<String>, threads: usize) -> Self {
        let store = match &prefs.data_dir {
            Some(d) => Store::new(d),
            None => Store::open_default(),
        };
        let dir = spar_llm::registry::models_dir();
        let (registry, registry_error) = match Registry::load(&dir) {
            Ok(r) => (r, None),
            Err(e) => (
                Registry {
                    default: String::new(),
                    models: Vec::new(),
                    dir,
                },
                Some(e.to_string()),
            ),
        };
        let mut s = Self::bare(prefs, store, registry, model, threads);
        s.registry_error = registry_error;
        if let Err(e) = s.workers.load_bank(bank) {
            s.bank = Loadable::Failed(e);
        }
        s.cjk = FontStatus::Unknown;
        if let Err(e) = s.workers.find_fonts() {
            s.cjk = FontStatus::Missing;
            s.flash(e, true);
        }
        s.refresh_history();
        s.load_model(false);
        s
    }

    fn bare(
        prefs: Prefs,
        store: Store,
        registry: Registry,
        launch_model: Option<String>,
        threads: usize,
    ) -> Self {
        let data_dir_edit = data_root(&store).display().to_string();
        let mut s = Self {
            prefs,
            screen: Screen::Home,
            bank: Loadable::Loading,
            store,
            model: ModelSlot::default(),
            registry,
            registry_error: None,
            models: ModelsView {
                ram_mb: spar_llm::registry::total_ram_mb(),
                ..ModelsView::default()
            },
            history: HistoryView::default(),
            practice: PracticeView::default(),
            bank_view: BankView::default(),
            scorecard: None,
            saved_reference: None,
            flash: None,
            frames: FrameStats::default(),
            cjk: FontStatus::Unknown,
            fonts: Vec::new(),
            launch_threads: threads.max(1),
            launch_model,
            data_dir_edit,
            last_export: None,
            log_slow_frames: false,
            commands: Vec::new(),
            workers: Workers::new(),
            cancel: Cancel::new(),
            applied_style: None,
            pending_screen: None,
            ctx: None,
        };
        s.refresh_statuses();
        s
    }

    /// Opens `screen` once the bank and the history are loaded (the practice screen resumes
    /// the unfinished session; the scorecard shows the latest critique). For screenshots and
    /// deep links (`SPAR_APP_SCREEN`).
    pub fn open_when_ready(&mut self, screen: Screen) {
        self.pending_screen = Some(screen);
    }

    /// Queues a command, as a button would.
    pub fn push(&mut self, c: Command) {
        self.commands.push(c);
    }

    pub fn bank(&self) -> Option<&Arc<Bank>> {
        self.bank.ready()
    }

    /// Whether the model may be producing text right now.
    pub fn generating(&self) -> bool {
        self.practice.busy.is_some_and(Busy::generates) && self.model.llm.is_some()
    }

    /// Threads for loading a model.
    pub fn threads(&self) -> usize {
        if self.prefs.threads == 0 {
            self.launch_threads
        } else {
            self.prefs.threads
        }
    }

    pub fn flash(&mut self, text: impl Into<String>, error: bool) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
            at: Instant::now(),
        });
    }

    // ---------------------------------------------------------------- frame

    /// One frame: fold in worker messages, draw, apply the commands, record the frame time.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            self.workers.set_ctx(&ctx);
            for (name, font) in &self.fonts {
                crate::fonts::install(&ctx, name, font);
            }
            self.ctx = Some(ctx.clone());
        }
        let messages = self.poll();
        if self.apply_style(&ctx) {
            // Style changes reach the context's next pass; this frame's ui gets them now.
            ui.set_style(ctx.style_of(self.egui_theme()));
        }
        crate::ui::root_ui(self, ui);
        for c in std::mem::take(&mut self.commands) {
            self.apply(c);
        }
        if self.screen == Screen::Practice && self.practice.session.is_some() {
            // The countdown ticks.
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        if self
            .flash
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < Duration::from_secs(8))
        {
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        let took = t0.elapsed();
        self.frames.record(took, self.generating());
        if self.log_slow_frames && took > Duration::from_millis(16) {
            eprintln!(
                "slow frame #{}: {:.1} ms on {:?} ({} message(s){})",
                self.frames.frames(),
                took.as_secs_f32() * 1e3,
                self.screen,
                messages,
                if self.generating() {
                    ", generating"
                } else {
                    ""
                }
            );
        }
    }

    fn egui_theme(&self) -> egui::Theme {
        match self.prefs.theme {
            Theme::Dark => egui::Theme::Dark,
            Theme::Light => egui::Theme::Light,
        }
    }

    /// Applies the theme and text size when they changed; says whether they did.
    fn apply_style(&mut self, ctx: &egui::Context) -> bool {
        let size = self.prefs.font_size();
        let key = (self.prefs.theme, (size * 10.0) as u32);
        if self.applied_style == Some(key) {
            return false;
        }
        self.applied_style = Some(key);
        ctx.set_theme(self.egui_theme());
        crate::ui::style::apply(ctx, size);
        true
    }

    /// Installs a system font found by the font worker.
    fn install_font(&mut self, name: &'static str, font: FontFile) {
        if let Some(ctx) = &self.ctx {
            crate::fonts::install(ctx, name, &font);
        }
        self.fonts.push((name, font));
    }

    // ---------------------------------------------------------------- messages

    /// Folds in every message the workers sent.
    pub fn poll(&mut self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.workers.try_recv() {
            self.handle(msg);
            n += 1;
        }
        self.open_pending_screen();
        n
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Bank(Ok(bank)) => {
                self.bank = Loadable::Ready(bank);
                self.bank_view.searched = None;
            }
            Msg::Bank(Err(e)) => self.bank = Loadable::Failed(e),
            Msg::Fonts { cjk, fallback } => {
                if let Some(f) = fallback {
                    self.install_font("spar-unicode", f);
                }
                match cjk {
                    Some(f) => {
                        self.cjk = FontStatus::Found(f.path.clone());
                        self.install_font("spar-cjk", f);
                    }
                    None => self.cjk = FontStatus::Missing,
                }
            }
            Msg::History { dir, result } => self.on_history(&dir, result),
            Msg::ModelLoaded {
                id,
                result,
                seconds,
            } => {
                if self.model.loading.as_deref() != Some(id.as_str()) {
                    return; // superseded by a later choice
                }
                self.model.loading = None;
                match result {
                    Ok(llm) => {
                        self.model.llm = Some(llm);
                        self.model.id = Some(id.clone());
                        self.model.error = None;
                        self.model.load_seconds = Some(seconds);
                        self.flash(format!("Model {id} loaded in {seconds:.1} s"), false);
                        self.sync_coach();
                    }
                    Err(e) => {
                        self.model.error = Some(format!("{id}: {e}"));
                        self.flash(format!("Could not load {id}: {e}"), true);
                    }
                }
            }
            Msg::Progress {
                id,
                stage,
                done,
                total,
            } => {
                if let Some(op) = self.models.ops.get_mut(&id) {
                    if let Some(s) = stage {
                        op.stage = s;
                        op.done = 0;
                        op.total = None;
                    } else {
                        op.done = done;
                        op.total = total;
                    }
                }
            }
            Msg::ModelOpDone { id, op, result } => {
                self.models.ops.remove(&id);
                let cancelled = result.as_ref().is_err_and(|e| e == "cancelled");
                match (&result, op) {
                    (Ok(_), ModelOp::Download) => {
                        self.flash(format!("{id} is downloaded and verified"), false);
                        self.refresh_statuses();
                        self.models.statuses.insert(id.clone(), Status::Verified);
                        if self.model.llm.is_none() && self.model.loading.is_none() {
                            self.prefs.active_model = Some(id.clone());
                            self.load_model(true);
                        }
                    }
                    (Ok(_), ModelOp::Verify) => {
                        self.models.statuses.insert(id.clone(), Status::Verified);
                    }
                    (Err(e), ModelOp::Verify) if !cancelled => {
                        self.models
                            .statuses
                            .insert(id.clone(), Status::Corrupt(e.clone()));
                    }
                    (Err(e), _) => {
                        let what = if cancelled {
                            format!("{} {id} cancelled", op.label())
                        } else {
                            format!("{id}: {e}")
                        };
                        self.flash(what, !cancelled);
                        self.refresh_statuses();
                    }
                    _ => {}
                }
                self.models.results.insert(id, result);
            }
            Msg::Imported(result) => {
                self.models.ops.remove(IMPORT_ID);
                match result {
                    Ok(entry) => {
                        self.flash(format!("Imported {} as `{}`", entry.name, entry.id), false);
                        let id = entry.id.clone();
                        if !self.registry.models.iter().any(|m| m.id == entry.id) {
                            self.registry.models.push(entry);
                        }
                        self.refresh_statuses();
                        self.models.statuses.insert(id.clone(), Status::Verified);
                        self.models
                            .results
                            .insert(IMPORT_ID.into(), Ok(format!("imported as `{id}`")));
                        self.models.import_path.clear();
                    }
                    Err(e) => {
                        self.flash(format!("Import failed: {e}"), true);
                        self.models.results.insert(IMPORT_ID.into(), Err(e));
                    }
                }
            }
            Msg::Removed {
                id,
                result,
                was_imported,
            } => {
                match &result {
                    Ok(_) => {
                        if was_imported {
                            self.registry.models.retain(|m| m.id != id);
                        }
                        self.flash(format!("Deleted {id}"), false);
                    }
                    Err(e) => self.flash(format!("Could not delete {id}: {e}"), true),
                }
                self.refresh_statuses();
                self.models
                    .results
                    .insert(id, result.map(|_| "deleted".into()));
            }
            Msg::Practice(m) => self.on_practice(m),
            Msg::Exported(Ok(path)) => {
                self.flash(format!("Saved {}", path.display()), false);
                self.last_export = Some(path);
            }
            Msg::Exported(Err(e)) => self.flash(format!("Export failed: {e}"), true),
        }
    }
}

impl AppState {
    fn on_history(&mut self, dir: &Path, result: Result<Listing, String>) {
        if dir != self.store.dir() {
            return; // the data folder changed since
        }
        self.history.loading = false;
        match result {
            Ok(l) => {
                for q in &l.quarantined {
                    self.flash(
                        format!(
                            "{} could not be read ({}); moved to {}",
                            q.file.display(),
                            q.reason,
                            q.moved_to.display()
                        ),
                        true,
                    );
                }
                self.history.stats = dimension_stats(&l.sessions, now_ms());
                self.history.weakest = weakest(&self.history.stats, 1, 3);
                self.history.overall = overall_trend(&l.sessions);
                self.history.sessions = l.sessions;
                self.history.quarantined.extend(l.quarantined);
                self.history.unfinished = l.unfinished;
                self.history.error = None;
                self.history.loaded = true;
            }
            Err(e) => {
                self.history.error = Some(e);
                self.history.loaded = true;
            }
        }
        if std::mem::take(&mut self.history.stale) {
            self.refresh_history();
        }
    }

    /// Lists the sessions again (in the background).
    pub fn refresh_history(&mut self) {
        if self.history.loading {
            self.history.stale = true;
            return;
        }
        match self.workers.list_sessions(self.store.clone()) {
            Ok(()) => self.history.loading = true,
            Err(e) => self.history.error = Some(e),
        }
    }

    /// The unfinished session to offer, unless it is the one already open.
    pub fn resumable(&self) -> Option<&Session> {
        let open = self.practice.session.as_ref().map(|s| s.id.as_str());
        self.history
            .unfinished
            .as_ref()
            .filter(|s| Some(s.id.as_str()) != open || self.practice.finished.is_some())
    }

    fn open_pending_screen(&mut self) {
        let Some(screen) = self.pending_screen else {
            return;
        };
        if self.bank().is_none() || !self.history.loaded || self.history.loading {
            if matches!(self.bank, Loadable::Failed(_)) {
                self.pending_screen = None;
            }
            return;
        }
        self.pending_screen = None;
        match screen {
            Screen::Practice => {
                if self.history.unfinished.is_some() {
                    self.apply(Command::Resume);
                } else {
                    self.apply(Command::StartTrack);
                }
            }
            Screen::Scorecard => {
                let latest = self.history.sessions.iter().find_map(|s| {
                    s.items
                        .iter()
                        .rposition(|i| i.critique.is_some())
                        .map(|item| (s.id.clone(), item))
                });
                match latest {
                    Some((session, item)) => self.apply(Command::OpenScorecard { session, item }),
                    None => self.screen = Screen::History,
                }
            }
            Screen::History => {
                let critiqued = self
                    .history
                    .sessions
                    .iter()
                    .find(|s| s.items.iter().any(|i| i.critique.is_some()));
                self.history.selected = critiqued
                    .or(self.history.sessions.first())
                    .map(|s| s.id.clone());
                self.screen = Screen::History;
            }
            Screen::Bank => {
                self.bank_view.selected = None;
                self.screen = Screen::Bank;
                self.search_bank();
                self.bank_view.selected = self.bank_view.results.first().cloned();
            }
            other => self.screen = other,
        }
    }

    fn on_practice(&mut self, m: PracticeMsg) {
        let p = &mut self.practice;
        match m {
            PracticeMsg::Event(e) => match e {
                Event::Question { note, .. } => {
                    p.note = note;
                    p.reference = None;
                    p.streaming.clear();
                }
                Event::Token(t) => p.streaming.push_str(&t),
                Event::Finding(f) => p.streaming = f,
                Event::FollowUp { .. } | Event::Notice(_) => {}
                Event::Critique(_) => p.critique_arrived = true,
                Event::Finished { mean_score } => p.finished = Some(mean_score),
            },
            PracticeMsg::Reference(r) => {
                p.reference =
                    Some(r.unwrap_or_else(|| {
                        "This question has no reference answer in the bank.".into()
                    }))
            }
            PracticeMsg::Done { practice, result } => {
                p.has_model = practice.coach.has_model();
                p.session = Some(practice.session.clone());
                p.practice = Some(practice);
                p.busy = None;
                p.pending_answer = None;
                p.streaming.clear();
                p.focus_editor = true;
                if let Err(e) = result
                    && e != "cancelled"
                {
                    p.error = Some(e.clone());
                    self.flash(e, true);
                }
                if std::mem::take(&mut self.practice.critique_arrived) {
                    self.scorecard = Some(ScorecardTarget::Current);
                    self.screen = Screen::Scorecard;
                }
                self.refresh_history();
                self.sync_coach();
            }
            PracticeMsg::StartFailed(e) => {
                p.busy = None;
                self.flash(format!("Could not start the session: {e}"), true);
            }
        }
    }

    // ---------------------------------------------------------------- commands

    /// Carries out one command.
    pub fn apply(&mut self, c: Command) {
        match c {
            Command::Go(s) => {
                if matches!(s, Screen::History | Screen::Home) {
                    self.refresh_history();
                }
                if s == Screen::Bank {
                    self.search_bank();
                }
                self.screen = s;
            }
            Command::StartTrack => {
                let track = self.prefs.track.track();
                self.start(Start::New {
                    track,
                    settings: self.prefs.settings(),
                });
            }
            Command::StartLoop(id) => {
                let track = Track {
                    loop_id: Some(id),
                    level: self.prefs.track.level,
                    ..Track::default()
                };
                self.start(Start::New {
                    track,
                    settings: self.prefs.settings(),
                });
            }
            Command::DrillWeakSpots => match weak_spot_kind(&self.history.weakest) {
                Some(kind) => {
                    let track = Track {
                        kind: Some(kind),
                        level: self.prefs.track.level,
                        ..Track::default()
                    };
                    self.start(Start::New {
                        track,
                        settings: self.prefs.settings(),
                    });
                }
                None => self.flash(
                    "Finish a question first: there is no history to find weak spots in yet.",
                    true,
                ),
            },
            Command::Resume => match self.history.unfinished.clone() {
                Some(s) => self.start(Start::Resume(Box::new(s))),
                None => self.flash("There is no unfinished session.", true),
            },
            Command::Submit => self.submit(),
            Command::CritiqueNow => {
                let said = self
                    .practice
                    .session
                    .as_ref()
                    .and_then(|s| s.current())
                    .is_some_and(|i| !i.candidate_text().trim().is_empty());
                if !said {
                    self.flash("Answer something first — even a first step.", true);
                } else {
                    self.act(Action::Critique, Busy::Critiquing);
                }
            }
            Command::Stop => {
                if self.practice.busy.is_some() {
                    self.cancel.cancel();
                    self.practice.stopped = true;
                }
            }
            Command::ShowReference => match &self.scorecard {
                Some(ScorecardTarget::Saved { session, item }) => {
                    let qid = self
                        .saved_session(session)
                        .and_then(|s| s.items.get(*item))
                        .map(|i| i.question_id.clone());
                    self.saved_reference = qid.and_then(|q| {
                        self.bank()
                            .and_then(|b| b.get(&q))
                            .map(|q| q.reference_answer.clone())
                    });
                }
                _ => self.act(Action::Reference, Busy::Reference),
            },
            Command::NextQuestion => {
                self.screen = Screen::Practice;
                self.act(Action::Next, Busy::NextQuestion);
            }
            Command::EndSession => {
                if self.practice.busy.is_none() && self.practice.practice.is_some() {
                    self.act(Action::Finish, Busy::Finishing);
                    self.practice.finished =
                        Some(self.practice.session.as_ref().and_then(Session::mean_score));
                }
            }
            Command::ExportCritique => self.export_critique(),
            Command::ExportSession(id) => self.export_session(&id),
            Command::SelectSession(id) => self.history.selected = Some(id),
            Command::OpenScorecard { session, item } => {
                self.saved_reference = None;
                self.history.selected = Some(session.clone());
                let current = self.practice.finished.is_none()
                    && self
                        .practice
                        .session
                        .as_ref()
                        .is_some_and(|s| s.id == session && s.items.len() == item + 1);
                self.scorecard = Some(if current {
                    ScorecardTarget::Current
                } else {
                    ScorecardTarget::Saved { session, item }
                });
                self.screen = Screen::Scorecard;
            }
            Command::RefreshHistory => self.refresh_history(),
            Command::Fetch(id) => self.model_op(&id, ModelOp::Download),
            Command::Verify(id) => self.model_op(&id, ModelOp::Verify),
            Command::Import => self.model_op(IMPORT_ID, ModelOp::Import),
            Command::CancelModelOp(id) => {
                if let Some(op) = self.models.ops.get(&id) {
                    op.cancel.store(true, Ordering::Relaxed);
                }
            }
            Command::Remove(id) => {
                if self.models.ops.contains_key(&id) {
                    return;
                }
                if self.model.id.as_deref() == Some(id.as_str()) {
                    self.model.llm = None;
                    self.model.id = None;
                }
                if let Err(e) = self.workers.remove(self.registry.clone(), id) {
                    self.flash(e, true);
                }
            }
            Command::Activate(id) => {
                self.prefs.active_model = Some(id);
                self.load_model(true);
            }
            Command::ReloadModel => self.load_model(true),
            Command::SetDataDir(dir) => {
                let dir = dir.filter(|d| !d.as_os_str().is_empty());
                self.store = match &dir {
                    Some(d) => Store::new(d),
                    None => Store::new(&spar_coach::store::data_dir()),
                };
                self.prefs.data_dir = dir;
                self.data_dir_edit = data_root(&self.store).display().to_string();
                self.history = HistoryView::default();
                self.refresh_history();
                self.flash(
                    format!(
                        "Sessions are now read from and saved to {}",
                        self.store.dir().display()
                    ),
                    false,
                );
            }
            Command::SelectQuestion(id) => self.bank_view.selected = Some(id),
        }
    }

    fn start(&mut self, start: Start) {
        let Some(bank) = self.bank().cloned() else {
            self.flash("The question bank is still loading.", true);
            return;
        };
        if self.practice.busy.is_some() {
            self.flash("Wait for the current turn to finish (or stop it).", true);
            return;
        }
        if let Start::New {
            track: Track {
                loop_id: Some(l), ..
            },
            ..
        } = &start
            && bank.find_loop(l).is_none()
        {
            self.flash(format!("There is no mock loop `{l}`."), true);
            return;
        }
        let llm = self.model.llm.clone().zip(self.model.id.clone());
        let spec = CoachSpec {
            bank,
            llm,
            language: self.prefs.language.coach_language(),
        };
        self.practice = PracticeView {
            busy: Some(Busy::Starting),
            has_model: spec.llm.is_some(),
            ..PracticeView::default()
        };
        self.scorecard = None;
        self.cancel.reset();
        self.screen = Screen::Practice;
        if let Err(e) =
            self.workers
                .start_practice(spec, self.store.clone(), start, self.cancel.clone())
        {
            self.practice.busy = None;
            self.flash(e, true);
        }
    }

    fn act(&mut self, action: Action, busy: Busy) {
        if self.practice.busy.is_some() {
            return;
        }
        let Some(p) = self.practice.practice.take() else {
            return;
        };
        self.cancel.reset();
        self.practice.busy = Some(busy);
        self.practice.stopped = false;
        self.practice.error = None;
        self.practice.streaming.clear();
        if let Err(e) = self.workers.act(p, action, self.cancel.clone()) {
            // The session is saved after every turn; it can be resumed.
            self.practice = PracticeView::default();
            self.flash(
                format!("{e}; the session is saved and can be resumed"),
                true,
            );
            self.refresh_history();
        }
    }

    /// Hands an open session to the loaded model when it has another one (or none): a model
    /// that finishes loading mid-session takes over from the next turn.
    fn sync_coach(&mut self) {
        let (Some(p), Some(llm), Some(id)) =
            (&self.practice.practice, &self.model.llm, &self.model.id)
        else {
            return;
        };
        if self.practice.busy.is_some()
            || self.practice.finished.is_some()
            || p.coach.model_id() == Some(id.as_str())
        {
            return;
        }
        let Some(bank) = self.bank().cloned() else {
            return;
        };
        let spec = CoachSpec {
            bank,
            llm: Some((llm.clone(), id.clone())),
            language: self.prefs.language.coach_language(),
        };
        self.act(Action::UseCoach(Box::new(spec)), Busy::Switching);
    }

    fn submit(&mut self) {
        let text = self.practice.draft.trim().to_string();
        if text.is_empty() {
            self.flash("Write an answer first.", true);
            return;
        }
        let waiting = matches!(
            self.practice.phase(),
            Some(Phase::Answer | Phase::FollowUpAnswer(_) | Phase::DrillMove(_))
        );
        if !waiting || self.practice.busy.is_some() {
            return;
        }
        self.practice.draft.clear();
        self.act(Action::Submit(text.clone()), Busy::Interviewer);
        self.practice.pending_answer = Some(text);
    }

    // ---------------------------------------------------------------- models

    /// Refreshes each model's file status (size only; cheap).
    pub fn refresh_statuses(&mut self) {
        let reg = &self.registry;
        let mut statuses = BTreeMap::new();
        for m in &reg.models {
            let s = spar_llm::registry::status(reg, m, false, &mut Quiet);
            let keep_verified =
                s == Status::Present && self.models.statuses.get(&m.id) == Some(&Status::Verified);
            statuses.insert(
                m.id.clone(),
                if keep_verified { Status::Verified } else { s },
            );
        }
        self.models.statuses = statuses;
    }

    fn model_op(&mut self, id: &str, op: ModelOp) {
        if self.models.ops.contains_key(id) {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let reg = self.registry.clone();
        let started = match op {
            ModelOp::Download => self.workers.fetch(reg, id.to_string(), cancel.clone()),
            ModelOp::Verify => match self.registry.get(id) {
                Ok(entry) => self.workers.verify(reg, entry.clone(), cancel.clone()),
                Err(e) => Err(e.to_string()),
            },
            ModelOp::Import => {
                let path = self.models.import_path.trim().trim_matches('"').to_string();
                if path.is_empty() {
                    Err("enter the path of a .gguf file".to_string())
                } else {
                    self.workers
                        .import(reg, PathBuf::from(path), cancel.clone())
                }
            }
        };
        match started {
            Ok(()) => {
                let stage = format!("{}…", op.label());
                self.models.results.remove(id);
                self.models.ops.insert(
                    id.to_string(),
                    ModelOpState {
                        op,
                        stage,
                        done: 0,
                        total: None,
                        cancel,
                    },
                );
            }
            Err(e) => {
                self.models.results.insert(id.to_string(), Err(e.clone()));
                self.flash(e, true);
            }
        }
    }

    /// The model to load: the command line's, else the chosen one, else the registry default.
    pub fn wanted_model(&self) -> Option<String> {
        self.launch_model
            .clone()
            .or_else(|| self.prefs.active_model.clone())
            .or_else(|| (!self.registry.default.is_empty()).then(|| self.registry.default.clone()))
    }

    /// Loads the wanted model in the background. `explicit`: the user asked, so a model that
    /// is not downloaded is an error worth showing.
    pub fn load_model(&mut self, explicit: bool) {
        if explicit {
            self.launch_model = None;
        }
        let Some(id) = self.wanted_model() else {
            return;
        };
        let as_path = Path::new(&id);
        let (label, path) = if id.ends_with(".gguf") || as_path.is_file() {
            let stem = as_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| id.clone());
            (stem, as_path.to_path_buf())
        } else {
            match self.registry.get(&id) {
                Ok(m) => {
                    let id = m.id.clone();
                    match self.registry.installed(&id) {
                        Some(p) => (id, p),
                        None => {
                            if explicit {
                                self.model.error = Some(format!("{id} is not downloaded yet"));
                                self.flash(
                                    format!("{id} is not downloaded yet: download it first"),
                                    true,
                                );
                            }
                            return;
                        }
                    }
                }
                Err(e) => {
                    self.model.error = Some(e.to_string());
                    return;
                }
            }
        };
        let device = match spar_llm::device(&self.prefs.device) {
            Ok(d) => d,
            Err(e) => {
                self.model.error = Some(e.to_string());
                self.flash(e.to_string(), true);
                return;
            }
        };
        let opts = LoadOptions {
            device,
            max_ctx: 4096,
            threads: self.threads(),
        };
        self.model.loading = Some(label.clone());
        self.model.error = None;
        self.model.runtime = Some((self.prefs.device.clone(), self.threads()));
        if let Err(e) = self.workers.load_model(label, path, opts) {
            self.model.loading = None;
            self.model.error = Some(e);
        }
    }

    /// The registry entry of the loaded model.
    pub fn loaded_entry(&self) -> Option<&ModelEntry> {
        self.model
            .id
            .as_deref()
            .and_then(|id| self.registry.get(id).ok())
    }

    // ---------------------------------------------------------------- sessions

    pub fn saved_session(&self, id: &str) -> Option<&Session> {
        if let Some(s) = self.practice.session.as_ref().filter(|s| s.id == id) {
            return Some(s);
        }
        self.history.sessions.iter().find(|s| s.id == id)
    }

    /// The session and question the scorecard shows.
    pub fn scorecard_item(&self) -> Option<(&Session, usize)> {
        match self.scorecard.as_ref()? {
            ScorecardTarget::Current => {
                let s = self.practice.session.as_ref()?;
                let i = s.items.len().checked_sub(1)?;
                Some((s, i))
            }
            ScorecardTarget::Saved { session, item } => {
                let s = self.saved_session(session)?;
                (*item < s.items.len()).then_some((s, *item))
            }
        }
    }

    pub fn scorecard_critique(&self) -> Option<&Critique> {
        let (s, i) = self.scorecard_item()?;
        s.items[i].critique.as_ref()
    }

    fn exports_dir(&self) -> PathBuf {
        data_root(&self.store).join("exports")
    }

    fn export_critique(&mut self) {
        let Some((s, i)) = self.scorecard_item() else {
            return;
        };
        let item = &s.items[i];
        let Some(c) = &item.critique else { return };
        let title = self
            .bank()
            .and_then(|b| b.get(&item.question_id))
            .map(|q| q.title.clone())
            .unwrap_or_else(|| item.question_id.clone());
        let text = format!(
            "# {title}\n\n> {}\n\n{}",
            item.prompt().replace('\n', "\n> "),
            export::critique_md(c)
        );
        let path = self.exports_dir().join(format!("{}-q{}.md", s.id, i + 1));
        if let Err(e) = self.workers.export(path, text) {
            self.flash(e, true);
        }
    }

    fn export_session(&mut self, id: &str) {
        let Some(s) = self.saved_session(id) else {
            return;
        };
        let bank = self.bank().cloned();
        let text = export::session_md(s, |q| {
            bank.as_ref()
                .and_then(|b| b.get(q))
                .map(|q| q.reference_answer.clone())
        });
        let path = self.exports_dir().join(format!("{}.md", s.id));
        if let Err(e) = self.workers.export(path, text) {
            self.flash(e, true);
        }
    }

    // ---------------------------------------------------------------- bank

    /// Runs the bank search when the query or the filters changed.
    pub fn search_bank(&mut self) {
        let Some(bank) = self.bank().cloned() else {
            return;
        };
        let key = (
            self.bank_view.query.trim().to_string(),
            self.bank_view.filters.clone(),
        );
        if self.bank_view.searched.as_ref() == Some(&key) {
            return;
        }
        let (query, filters) = &key;
        let found: Result<Vec<String>, String> = if query.is_empty() {
            Ok(bank
                .filtered(filters)
                .into_iter()
                .map(|q| q.id.clone())
                .collect())
        } else {
            bank.search(query, filters, SEARCH_LIMIT)
                .map(|hits| hits.into_iter().map(|h| h.question.id.clone()).collect())
                .map_err(|e| e.to_string())
        };
        match found {
            Ok(ids) => {
                self.bank_view.results = ids;
                self.bank_view.error = None;
            }
            Err(e) => self.bank_view.error = Some(e),
        }
        self.bank_view.searched = Some(key);
    }
}

/// The running share of dimensions covered (partial counts half) over every critiqued
/// question, oldest first: one point per question, at its last turn.
pub fn overall_trend(sessions: &[Session]) -> Vec<(u64, f64)> {
    let mut points: Vec<(u64, f64)> = sessions
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|item| {
            let c = item.critique.as_ref()?;
            if c.dimensions.is_empty() {
                return None;
            }
            let at = item
                .turns
                .last()
                .map(|t| t.at_ms)
                .unwrap_or(item.started_ms);
            let covered: f64 = c
                .dimensions
                .iter()
                .map(|d| match d.coverage {
                    spar_core::critique::Coverage::Covered => 1.0,
                    spar_core::critique::Coverage::Partial => 0.5,
                    spar_core::critique::Coverage::Missing => 0.0,
                })
                .sum();
            Some((at, covered / c.dimensions.len() as f64))
        })
        .collect();
    points.sort_by_key(|p| p.0);
    let mut sum = 0.0;
    points
        .into_iter()
        .enumerate()
        .map(|(i, (t, v))| {
            sum += v;
            (t, sum / (i + 1) as f64)
        })
        .collect()
}

/// The kind to drill for the weakest dimensions: the kind whose rubric holds the most of
/// them, the weakest first on ties.
pub fn weak_spot_kind(weakest: &[Dimension]) -> Option<Kind> {
    let first = *weakest.first()?;
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| k.has_dimension(first))
        .max_by_key(|k| {
            (
                weakest.iter().filter(|d| k.has_dimension(**d)).count(),
                std::cmp::Reverse(k.dimensions().len()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_parse_from_their_names() {
        for s in [
            Screen::Home,
            Screen::Practice,
            Screen::Scorecard,
            Screen::History,
            Screen::Bank,
            Screen::Models,
            Screen::Settings,
        ] {
            let name = format!("{s:?}").to_lowercase();
            assert_eq!(name.parse::<Screen>().unwrap(), s);
        }
        assert!("nowhere".parse::<Screen>().is_err());
    }

    #[test]
    fn overall_trend_is_a_running_share_per_question() {
        use spar_core::critique::{Coverage, DimensionFinding, anchor};
        use spar_core::session::{Item, Settings};
        let critiqued = |at: u64, cov: &[Coverage]| {
            let mut s = Session::new(format!("s{at}"), Track::default(), Settings::default(), at);
            let mut item = Item::new(
                "q",
                Kind::Algorithm,
                spar_core::taxonomy::Level::Mid,
                "p",
                60,
                at,
            );
            item.critique = Some(Critique {
                kind: Kind::Algorithm,
                level: spar_core::taxonomy::Level::Mid,
                question_id: None,
                score: 3,
                anchor: anchor(3, spar_core::taxonomy::Level::Mid),
                dimensions: cov
                    .iter()
                    .map(|c| DimensionFinding {
                        dimension: Dimension::Approach,
                        coverage: *c,
                        confidence: 0.5,
                        evidence: None,
                        note: String::new(),
                    })
                    .collect(),
                not_applicable: vec![],
                key_points: vec![],
                strengths: vec![],
                gaps: vec![],
                improved_passage: String::new(),
                summary: String::new(),
                flags: Default::default(),
                graded_by: "test".into(),
            });
            s.items.push(item);
            s
        };
        // Newest first, as the store lists them.
        let sessions = vec![
            critiqued(2_000, &[Coverage::Covered, Coverage::Covered]),
            critiqued(1_000, &[Coverage::Partial, Coverage::Missing]),
        ];
        let t = overall_trend(&sessions);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0], (1_000, 0.25));
        assert_eq!(t[1], (2_000, 0.625));
    }

    #[test]
    fn weak_spots_pick_the_kind_that_holds_them() {
        use Dimension::*;
        assert_eq!(
            weak_spot_kind(&[Complexity, Testing]),
            Some(Kind::Algorithm)
        );
        // Trade-offs belong to three kinds; the other weak dimension decides.
        assert_eq!(
            weak_spot_kind(&[Tradeoffs, Consistency]),
            Some(Kind::Microservices)
        );
        assert_eq!(weak_spot_kind(&[]), None);
    }
}
