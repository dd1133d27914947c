//! The desktop app (egui/eframe): practice with a streaming interviewer, critique scorecards,
//! history and progress charts, the question bank browser, model management and settings.
//!
//! The UI thread only draws. Loading the bank and the model, the coach's turns (generation),
//! downloads, verification, imports, exports and listing sessions run on named threads in
//! [`worker`], which report over a channel and wake the UI. Sessions go through the same
//! [`spar_coach::Store`] as the terminal, so either face continues the other's sessions.
//!
//! [`state::AppState`] is the whole app without a window: tests drive it with
//! `egui_kittest`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use spar_app::state::{AppState, Command};
//!
//! let bank = Arc::new(spar_bank::Bank::embedded().unwrap());
//! let store = spar_coach::Store::new(std::path::Path::new("/tmp/spar-demo"));
//! let registry = spar_llm::registry::Registry::load(&spar_llm::registry::models_dir()).unwrap();
//! let mut app = AppState::new(bank, store, None, registry);
//! app.apply(Command::StartTrack); // picks a question on a worker thread
//! ```

pub mod app;
pub mod fonts;
pub mod frames;
pub mod prefs;
pub mod state;
pub mod ui;
pub mod worker;

use spar_bank::BankSource;

/// How the app starts.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub bank: BankSource,
    pub threads: usize,
    /// A registry id or a .gguf path; overrides the saved choice for this run.
    pub model: Option<String>,
}

/// Whether a graphical display is reachable.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Opens the window and runs until it is closed.
pub fn run(opts: LaunchOptions) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("spar — interview coach")
            .with_app_id("spar")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([880.0, 560.0]),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "spar",
        native,
        Box::new(move |cc| Ok(Box::new(app::SparApp::new(cc, opts)))),
    )
    .map_err(|e| e.to_string())
}
