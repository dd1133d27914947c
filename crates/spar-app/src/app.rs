//! The eframe shell around [`AppState`]: restores and saves the preferences, opens a screen
//! named by `SPAR_APP_SCREEN` (with `SPAR_APP_BANK_QUERY` prefilled on the bank screen and
//! `SPAR_APP_KIND` choosing the home screen's kind), and
//! can close itself after `SPAR_APP_EXIT_AFTER_S` seconds, printing its frame times when
//! `SPAR_APP_FRAME_LOG` is set (scripts: screenshots, frame-time runs).

use std::time::{Duration, Instant};

use crate::LaunchOptions;
use crate::prefs::Prefs;
use crate::state::{AppState, Screen};

/// The storage key of the preferences.
pub const PREFS_KEY: &str = "spar-prefs";

/// The desktop app.
pub struct SparApp {
    pub state: AppState,
    started: Instant,
    exit_after: Option<Duration>,
    frame_log: bool,
}

impl SparApp {
    pub fn new(cc: &eframe::CreationContext<'_>, opts: LaunchOptions) -> Self {
        let prefs: Prefs = cc
            .storage
            .and_then(|s| eframe::get_value(s, PREFS_KEY))
            .unwrap_or_default();
        let mut state = AppState::launch(prefs, opts.bank, opts.model, opts.threads);
        if let Some(name) = std::env::var("SPAR_APP_SCREEN")
            .ok()
            .filter(|s| !s.is_empty())
        {
            match name.parse::<Screen>() {
                Ok(screen) => state.open_when_ready(screen),
                Err(e) => state.flash(format!("SPAR_APP_SCREEN: {e}"), true),
            }
        }
        if let Some(k) = std::env::var("SPAR_APP_KIND")
            .ok()
            .filter(|k| !k.is_empty())
        {
            match k.parse::<spar_core::taxonomy::Kind>() {
                Ok(kind) => state.prefs.track.kind = Some(kind),
                Err(e) => state.flash(format!("SPAR_APP_KIND: {e}"), true),
            }
        }
        if let Some(q) = std::env::var("SPAR_APP_BANK_QUERY")
            .ok()
            .filter(|q| !q.is_empty())
        {
            state.bank_view.query = q;
        }
        let exit_after = std::env::var("SPAR_APP_EXIT_AFTER_S")
            .ok()
            .and_then(|s| s.parse::<f32>().ok())
            .map(Duration::from_secs_f32);
        let frame_log = std::env::var_os("SPAR_APP_FRAME_LOG").is_some();
        state.log_slow_frames = frame_log;
        Self {
            state,
            started: Instant::now(),
            exit_after,
            frame_log,
        }
    }
}

impl eframe::App for SparApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.state.ui(ui);
        if let Some(limit) = self.exit_after {
            if self.started.elapsed() >= limit {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ui.ctx()
                    .request_repaint_after(limit.saturating_sub(self.started.elapsed()));
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PREFS_KEY, &self.state.prefs);
    }
}

impl Drop for SparApp {
    fn drop(&mut self) {
        if self.frame_log {
            let f = &self.state.frames;
            eprintln!(
                "spar-app frames: {} · ui p95 {:.2} ms · max {:.2} ms · max while generating {} over {} frames",
                f.frames(),
                f.p95_ms(),
                f.max_ms(),
                f.generating_max_ms()
                    .map(|m| format!("{m:.2} ms"))
                    .unwrap_or_else(|| "n/a".into()),
                f.generating_frames()
            );
        }
    }
}
