//! Headless interaction tests of the desktop app: the real `AppState` (real bank, store,
//! workers, coach and — where named — the tiny test model) driven through egui_kittest by
//! clicking and typing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sha2::{Digest, Sha256};
use spar_app::state::{AppState, Busy, Command, Screen};
use spar_bank::Bank;
use spar_coach::Store;
use spar_core::session::{Phase, Speaker, TurnKind};
use spar_core::taxonomy::Kind;
use spar_llm::model::Arch;
use spar_llm::registry::{Registry, Status};
use spar_llm::testing::{TinySpec, tiny_model};
use spar_llm::{Llm, LoadOptions};

const WAIT: Duration = Duration::from_secs(120);

fn bank() -> Arc<Bank> {
    Arc::new(Bank::embedded().expect("the embedded bank loads"))
}

/// A registry with one model, `tiny`, whose only source is a local file.
fn registry(models: &Path, source: &Path, size: u64, sha256: &str) -> Registry {
    let text = format!(
        r#"default = "tiny"
[[model]]
id = "tiny"
name = "Tiny test model"
architecture = "qwen2"
file = "tiny-qwen2.gguf"
size = {size}
sha256 = "{sha256}"
license = "Apache-2.0"
ram_mb = 64
quant = "Q8_0"
params = "1M"
description = "A random-weight model for tests."
sources = [{{ kind = "local", path = "{}" }}]
"#,
        source.display()
    );
    Registry::from_text(&text, Path::new("test-registry.toml"), models)
        .expect("the test registry parses")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tiny model file; `slow` makes it big enough that generation takes a visible while.
fn write_model(dir: &Path, slow: bool) -> (PathBuf, Vec<u8>) {
    let mut spec = TinySpec::new(Arch::Qwen2);
    if slow {
        spec.n_layer = 6;
        spec.n_embd = 512;
        spec.n_head = 8;
        spec.n_head_kv = 4;
        spec.n_ff = 2048;
        spec.ctx = 2048;
    }
    let bytes = tiny_model(&spec);
    let path = dir.join("tiny-qwen2.gguf");
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn load(path: &Path) -> Arc<Llm> {
    Arc::new(Llm::load(path, &LoadOptions::default()).expect("the tiny model loads"))
}

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Self { _dir: dir, root }
    }
    fn store(&self) -> Store {
        Store::new(&self.root.join("data"))
    }
    fn models(&self) -> PathBuf {
        self.root.join("models")
    }
    /// A registry whose model is not downloaded (nothing behind the source).
    fn empty_registry(&self) -> Registry {
        registry(
            &self.models(),
            &self.root.join("nowhere.gguf"),
            1,
            &"0".repeat(64),
        )
    }
}

fn harness(state: AppState, tiny_model: bool) -> Harness<'static, AppState> {
    let mut b = Harness::builder()
        .with_size(egui::vec2(1360.0, 900.0))
        .with_max_steps(2000);
    if tiny_model {
        // The tiny model streams random bytes: any script may come out, so tofu is expected.
        b = b.allow_missing_glyphs();
    }
    b.build_ui_state(|ui, s: &mut AppState| s.ui(ui), state)
}

/// Steps frames (at least one, so queued clicks land first) until `cond` holds.
#[track_caller]
fn wait(h: &mut Harness<'_, AppState>, what: &str, cond: impl Fn(&AppState) -> bool) {
    let t0 = Instant::now();
    h.step();
    while !cond(h.state()) {
        assert!(
            t0.elapsed() < WAIT,
            "timed out waiting for {what}; on screen: {:?}",
            labels(h)
        );
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    // Twice: a grid lays itself out invisibly in its first frame.
    h.step();
    h.step();
}

/// Every label on screen (for failure messages).
fn labels(h: &Harness<'_, AppState>) -> Vec<String> {
    use egui_kittest::kittest::NodeT;
    h.root()
        .children_recursive()
        .filter_map(|n| {
            let a = n.accesskit_node();
            a.label()
                .or_else(|| a.value())
                .map(|l| format!("{:?}:{l}", a.role()))
        })
        .collect()
}

/// Clicks a screen in the navigation bar.
fn nav(h: &mut Harness<'_, AppState>, screen: Screen) {
    h.get_by_label(&format!("{}  {}", screen.icon(), screen.label()))
        .click();
    h.step();
    h.step();
    assert_eq!(h.state().screen, screen);
}

fn idle(s: &AppState) -> bool {
    s.practice.busy.is_none()
}

fn phase(s: &AppState) -> Option<Phase> {
    s.practice.phase()
}

/// Types into the answer editor.
fn type_answer(h: &mut Harness<'_, AppState>, text: &str) {
    h.get_by_role(Role::MultilineTextInput).click();
    h.step();
    h.get_by_role(Role::MultilineTextInput).type_text(text);
    h.step();
    assert_eq!(h.state().practice.draft, text);
}

const ANSWER: &str = "First the requirements: 100M new links a month, reads dominate 100:1, p99 under 50 ms. \
I'd put a stateless API behind a load balancer, generate ids with a counter encoded in base62, \
store id to URL in a key-value store partitioned by id, and cache hot links in Redis. \
Trade-off: counters need coordination, so each node leases a block of ids.";

#[test]
fn practice_streams_stops_critiques_and_shows_in_history() {
    let env = Env::new();
    let (model, _) = write_model(&env.root, true);
    let mut state = AppState::new(
        bank(),
        env.store(),
        Some(load(&model)),
        env.empty_registry(),
    );
    state.prefs.follow_ups = 2;
    state.prefs.questions = 1;
    state.prefs.track.kind = Some(Kind::SystemDesign);
    let mut h = harness(state, true);
    wait(&mut h, "the history listing", |s| s.history.loaded);

    h.get_by_label("▶ Start practice").click();
    wait(&mut h, "the first question", |s| {
        idle(s) && phase(s) == Some(Phase::Answer)
    });
    assert_eq!(h.state().screen, Screen::Practice);
    assert!(h.state().practice.has_model);
    let q = h
        .state()
        .practice
        .session
        .as_ref()
        .unwrap()
        .current()
        .unwrap()
        .question_id
        .clone();
    let title = h.state().bank().unwrap().get(&q).unwrap().title.clone();
    h.get_by_label_contains(&title);

    // Submit with Ctrl+Enter; the interviewer's follow-up streams in token by token.
    type_answer(&mut h, ANSWER);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.step();
    assert_eq!(h.state().practice.busy, Some(Busy::Interviewer));
    h.get_by_label("You");
    let mut streamed_frames = 0;
    let t0 = Instant::now();
    while h.state().practice.busy.is_some() {
        assert!(t0.elapsed() < WAIT, "the follow-up never finished");
        if !h.state().practice.streaming.is_empty() {
            streamed_frames += 1;
        }
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    h.step();
    assert!(
        streamed_frames >= 2,
        "the follow-up streamed over several frames ({streamed_frames})"
    );
    assert_eq!(phase(h.state()), Some(Phase::FollowUpAnswer(1)));
    h.get_by_label_contains("Interviewer · probing");

    // The second follow-up: stop it (Esc) while it streams.
    type_answer(
        &mut h,
        "Reads hit the cache first; a miss goes to the store and fills the cache with a TTL.",
    );
    h.get_by_label("Submit").click();
    // Stop right away: with the tiny model a whole reply can finish between two frames, so
    // waiting for the first streamed piece would race the generator.
    h.step();
    assert!(
        h.state().practice.busy.is_some(),
        "the interviewer's turn is running"
    );
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(h.state().practice.stopped, "Esc stops the interviewer");
    wait(&mut h, "the stopped turn to finish", idle);
    assert_eq!(
        phase(h.state()),
        Some(Phase::FollowUpAnswer(2)),
        "a stopped follow-up falls back to the bank's"
    );

    // The last answer goes straight to the critique.
    type_answer(
        &mut h,
        "If the primary store fails over we serve cached links and queue writes; idempotent creates avoid duplicates.",
    );
    h.get_by_label("Submit").click();
    wait(&mut h, "the scorecard", |s| {
        idle(s) && s.screen == Screen::Scorecard
    });
    let c = h.state().scorecard_critique().expect("a critique").clone();
    h.get_by_label(&format!("Score {}/5", c.score));
    h.get_by_label("Dimensions");
    h.get_by_label(c.dimensions[0].dimension.label());
    assert!(c.graded_by.starts_with("deterministic"));

    h.get_by_label("Show reference answer").click_accesskit();
    wait(&mut h, "the reference answer", |s| {
        s.practice.reference.is_some() && idle(s)
    });
    let reference = h
        .state()
        .bank()
        .unwrap()
        .get(&q)
        .unwrap()
        .reference_answer
        .clone();
    assert_eq!(
        h.state().practice.reference.as_deref(),
        Some(reference.as_str())
    );

    h.get_by_label("Finish session").click_accesskit();
    wait(&mut h, "the session to finish", |s| {
        idle(s) && s.practice.finished.is_some()
    });
    h.get_by_label("Session complete");

    // The same store the terminal uses has the finished session, with its turns.
    let (sessions, _) = env.store().list().unwrap();
    assert_eq!(sessions.len(), 1);
    let saved = &sessions[0];
    assert!(saved.is_complete());
    let item = &saved.items[0];
    assert_eq!(
        item.turns
            .iter()
            .filter(|t| t.kind == TurnKind::FollowUp)
            .count(),
        2
    );
    assert_eq!(
        item.turns
            .iter()
            .filter(|t| t.speaker == Speaker::Candidate)
            .count(),
        3
    );
    assert!(item.reference_shown);

    // History lists it; its scorecard opens from there.
    nav(&mut h, Screen::History);
    wait(&mut h, "history", |s| {
        s.screen == Screen::History && s.history.loaded && !s.history.loading
    });
    assert_eq!(h.state().history.sessions.len(), 1);
    h.get_by_label("Sessions (1)");
    // The newest session is selected; its questions open their scorecards.
    h.run_ok();
    h.get_by_label("Scorecard 1").click();
    h.step();
    h.step();
    assert_eq!(h.state().screen, Screen::Scorecard);
    h.get_by_label("⬅ History");
}

#[test]
fn critique_now_export_and_drill_weak_spots_without_a_model() {
    let env = Env::new();
    let mut state = AppState::new(bank(), env.store(), None, env.empty_registry());
    state.prefs.follow_ups = 3;
    state.prefs.questions = 2;
    state.prefs.track.kind = Some(Kind::ApiDesign);
    let mut h = harness(state, false);
    wait(&mut h, "the history listing", |s| s.history.loaded);
    h.get_by_label("No interviewer model loaded");

    h.get_by_label("▶ Start practice").click();
    wait(&mut h, "the first question", |s| {
        idle(s) && phase(s) == Some(Phase::Answer)
    });
    assert!(!h.state().practice.has_model);
    type_answer(
        &mut h,
        "POST /payments with an Idempotency-Key header; 201 on create, 409 on a conflicting retry.",
    );
    h.get_by_label("Submit").click();
    wait(&mut h, "the bank follow-up", |s| {
        idle(s) && phase(s) == Some(Phase::FollowUpAnswer(1))
    });
    assert!(
        !h.query_all_by_label_contains("· from the question bank")
            .collect::<Vec<_>>()
            .is_empty(),
        "{:?}",
        labels(&h)
    );

    // Critique now skips the two remaining follow-ups.
    h.get_by_label("Critique now").click();
    wait(&mut h, "the scorecard", |s| {
        idle(s) && s.screen == Screen::Scorecard
    });
    let item = h.state().practice.session.as_ref().unwrap().items[0].clone();
    assert_eq!(item.follow_ups_asked(), 1);
    assert!(item.critique.is_some());

    h.get_by_label("⬇ Export Markdown").click();
    wait(&mut h, "the export", |s| s.last_export.is_some());
    let md = std::fs::read_to_string(h.state().last_export.clone().unwrap()).unwrap();
    assert!(md.contains("| Dimension | Verdict | Evidence |"), "{md}");
    assert!(md.contains("**Score: "));

    h.get_by_label("End session").click_accesskit();
    wait(&mut h, "the session to end", |s| {
        idle(s) && s.practice.finished.is_some()
    });
    assert!(env.store().list().unwrap().0[0].finished);

    // With a history, the weakest dimensions drive a new session of the matching kind.
    nav(&mut h, Screen::Home);
    wait(&mut h, "the weak spots", |s| {
        !s.history.loading && !s.history.weakest.is_empty()
    });
    let weakest = h.state().history.weakest.clone();
    h.get_by_label("🎯 Drill my weak spots").click();
    wait(&mut h, "the drill session", |s| {
        idle(s) && phase(s) == Some(Phase::Answer)
    });
    let s = h.state().practice.session.as_ref().unwrap();
    assert!(
        s.track.kind.is_some_and(|k| k.has_dimension(weakest[0])),
        "{:?} vs {weakest:?}",
        s.track
    );
}

#[test]
fn incident_drill_is_a_back_and_forth() {
    let env = Env::new();
    let mut state = AppState::new(bank(), env.store(), None, env.empty_registry());
    state.prefs.track.kind = Some(Kind::Production);
    state.prefs.questions = 1;
    let mut h = harness(state, false);
    wait(&mut h, "the history listing", |s| s.history.loaded);
    h.get_by_label("▶ Start practice").click();
    wait(&mut h, "the incident", |s| {
        idle(s) && phase(s) == Some(Phase::Answer)
    });
    h.get_by_label("incident drill");
    type_answer(
        &mut h,
        "First I check the dashboards: error rate and latency per endpoint, and recent deploys.",
    );
    h.get_by_label("Submit").click();
    wait(&mut h, "a finding", |s| {
        idle(s) && matches!(phase(s), Some(Phase::DrillMove(_)))
    });
    let item = h
        .state()
        .practice
        .session
        .as_ref()
        .unwrap()
        .current()
        .unwrap()
        .clone();
    assert!(item.turns.iter().any(|t| t.kind == TurnKind::Finding));
    h.get_by_label("🔎 What you find");
}

#[test]
fn a_terminal_session_resumes_in_the_app() {
    let env = Env::new();
    let bank = bank();
    // What `spar practice --no-model` does, through the same store.
    let coach = Arc::new(spar_coach::Coach::new(
        bank.clone(),
        None,
        &spar_coach::Calibrations::embedded(),
    ));
    let track = spar_core::track::Track {
        kind: Some(Kind::Algorithm),
        ..Default::default()
    };
    let mut p = spar_coach::Practice::start(
        coach,
        env.store(),
        track,
        spar_core::session::Settings::default(),
    )
    .unwrap();
    p.next_question().unwrap();
    p.submit(
        "Sort and use two pointers: O(n log n) time.",
        &mut |_| {},
        &spar_llm::Cancel::new(),
    )
    .unwrap();
    let id = p.session.id.clone();
    drop(p);

    let mut h = harness(
        AppState::new(bank, env.store(), None, env.empty_registry()),
        false,
    );
    wait(&mut h, "the history listing", |s| s.history.loaded);
    h.get_by_label("Pick up where you left off");
    h.get_by_label("Resume session").click();
    wait(&mut h, "the resumed session", |s| {
        idle(s) && s.practice.session.is_some()
    });
    let s = h.state().practice.session.as_ref().unwrap();
    assert_eq!(s.id, id);
    assert_eq!(s.phase(), Some(Phase::FollowUpAnswer(1)));
    h.get_by_label("Sort and use two pointers: O(n log n) time.");
}

#[test]
fn models_download_verify_use_and_delete_from_a_local_source() {
    let env = Env::new();
    std::fs::create_dir_all(env.root.join("src")).unwrap();
    let (source, bytes) = write_model(&env.root.join("src"), false);
    let reg = registry(
        &env.models(),
        &source,
        bytes.len() as u64,
        &sha256_hex(&bytes),
    );
    let mut h = harness(AppState::new(bank(), env.store(), None, reg), false);
    nav(&mut h, Screen::Models);
    h.get_by_label("Tiny test model");
    h.get_by_label("not downloaded");

    h.get_by_label("⬇ Download").click();
    h.step();
    assert!(
        h.state().models.ops.contains_key("tiny") || h.state().models.results.contains_key("tiny")
    );
    wait(&mut h, "the download", |s| s.models.ops.is_empty());
    assert_eq!(
        h.state().models.results.get("tiny").map(Result::is_ok),
        Some(true),
        "{:?}",
        h.state().models.results
    );
    assert_eq!(
        h.state().models.statuses.get("tiny"),
        Some(&Status::Verified)
    );
    assert!(env.models().join("tiny-qwen2.gguf").is_file());
    h.get_by_label("✔ verified");

    // With no model loaded, the first download becomes the interviewer (loaded in the background).
    wait(&mut h, "the model to load", |s| s.model.loading.is_none());
    assert_eq!(h.state().model.id.as_deref(), Some("tiny"));
    assert!(h.state().model.llm.is_some());
    h.get_by_label("in use");

    h.get_by_label("Verify").click();
    wait(&mut h, "verification", |s| s.models.ops.is_empty());
    assert_eq!(
        h.state().models.results.get("tiny"),
        Some(&Ok("sha256 matches".to_string()))
    );

    h.get_by_label("🗑 Delete").click();
    wait(&mut h, "the deletion", |s| {
        s.models.statuses.get("tiny") == Some(&Status::Missing)
    });
    assert!(
        h.state().model.llm.is_none(),
        "deleting the model in use unloads it"
    );
    assert!(!env.models().join("tiny-qwen2.gguf").exists());
}

#[test]
fn a_download_can_be_cancelled() {
    let env = Env::new();
    std::fs::create_dir_all(env.root.join("src")).unwrap();
    // A big sparse file: verifying it takes long enough to cancel midway.
    let source = env.root.join("src").join("big.gguf");
    let size: u64 = 1 << 30;
    std::fs::File::create(&source)
        .unwrap()
        .set_len(size)
        .unwrap();
    let reg = registry(&env.models(), &source, size, &"ab".repeat(32));
    let mut h = harness(AppState::new(bank(), env.store(), None, reg), false);
    h.state_mut().apply(Command::Go(Screen::Models));
    h.step();
    h.get_by_label("⬇ Download").click();
    wait(&mut h, "hashing to start", |s| {
        s.models.ops.get("tiny").is_some_and(|o| o.done > 0) || s.models.ops.is_empty()
    });
    h.get_by_label("Cancel downloading").click();
    wait(&mut h, "the cancelled download", |s| {
        s.models.ops.is_empty()
    });
    assert_eq!(
        h.state().models.results.get("tiny"),
        Some(&Err("cancelled".to_string()))
    );
    assert_eq!(
        h.state().models.statuses.get("tiny"),
        Some(&Status::Missing)
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.models())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        leftovers.is_empty(),
        "a cancelled download leaves nothing behind: {leftovers:?}"
    );
}

#[test]
fn bank_search_filters_and_question_detail() {
    let env = Env::new();
    let mut h = harness(
        AppState::new(bank(), env.store(), None, env.empty_registry()),
        false,
    );
    nav(&mut h, Screen::Bank);
    let all = h.state().bank_view.results.len();
    assert_eq!(
        all,
        h.state().bank().unwrap().len(),
        "no query: every question"
    );

    h.get_by_role(Role::TextInput).click();
    h.step();
    h.get_by_role(Role::TextInput)
        .type_text("client retries double charge");
    h.step();
    h.step();
    let hits = h.state().bank_view.results.clone();
    assert!(
        !hits.is_empty() && hits.len() < all,
        "{} of {all}",
        hits.len()
    );

    // Filters narrow the search.
    h.state_mut().bank_view.filters.kind = Some(Kind::ApiDesign);
    h.step();
    h.step();
    let filtered = h.state().bank_view.results.clone();
    let bank = h.state().bank().unwrap().clone();
    assert!(!filtered.is_empty());
    assert!(
        filtered
            .iter()
            .all(|id| bank.get(id).unwrap().kind == Kind::ApiDesign)
    );

    let q = bank.get(&filtered[0]).unwrap().clone();
    h.get_by_label_contains(&q.title).click();
    h.step();
    h.step();
    assert_eq!(h.state().bank_view.selected.as_deref(), Some(q.id.as_str()));
    h.get_by_label("Key points");
    h.get_by_label("Follow-ups");
    h.get_by_label(&q.key_points[0].text);
    h.get_by_label("Reference answer").click_accesskit();
    h.run_ok();
    let first_line = q.reference_answer.lines().next().unwrap();
    h.get_by_label_contains(first_line);
}

#[test]
fn the_ui_keeps_drawing_while_the_model_generates() {
    let env = Env::new();
    let (model, _) = write_model(&env.root, true);
    let mut state = AppState::new(
        bank(),
        env.store(),
        Some(load(&model)),
        env.empty_registry(),
    );
    state.prefs.follow_ups = 3;
    state.prefs.questions = 1;
    state.prefs.track.kind = Some(Kind::SystemDesign);
    let mut h = harness(state, true);
    wait(&mut h, "the history listing", |s| s.history.loaded);
    h.get_by_label("▶ Start practice").click();
    wait(&mut h, "the first question", |s| {
        idle(s) && phase(s) == Some(Phase::Answer)
    });
    for answer in [ANSWER, "Hot keys are cached.", "Writes are queued."] {
        type_answer(&mut h, answer);
        h.get_by_label("Submit").click();
        wait(&mut h, "the interviewer", idle);
    }
    let f = &h.state().frames;
    let max = f
        .generating_max_ms()
        .expect("frames were drawn while generating");
    eprintln!(
        "frame time while generating: max {max:.2} ms over {} frames (p95 of the last window {:.2} ms)",
        f.generating_frames(),
        f.p95_ms()
    );
    // Generation runs off the UI thread: frames keep coming while the model writes. (The frame
    // time itself is a measurement, not a test: `scripts/frame_times.sh` reports it.)
    assert!(
        f.generating_frames() >= 10,
        "{} frames",
        f.generating_frames()
    );
}
