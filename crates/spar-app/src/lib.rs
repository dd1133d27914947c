//! The desktop app (egui/eframe): practice, scorecards, history, the question bank and models.

use spar_bank::BankSource;

/// How the app starts.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub bank: BankSource,
    pub threads: usize,
    pub model: Option<String>,
}

/// Whether a graphical display is reachable.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Opens the window and runs until it is closed.
pub fn run(opts: LaunchOptions) -> Result<(), String> {
    let _ = opts;
    Err("the desktop app is not available in this build".into())
}
