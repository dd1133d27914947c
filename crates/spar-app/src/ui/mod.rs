//! The screens. Each `*_ui` function reads the [`AppState`] and pushes [`Command`]s; nothing
//! here blocks or touches the disk.

pub mod bank;
pub mod history;
pub mod home;
pub mod models;
pub mod practice;
pub mod scorecard;
pub mod settings;
pub mod style;
pub mod widgets;

use std::time::Duration;

use egui::{Margin, RichText, Ui};

use crate::state::{AppState, Command, Loadable, Screen};

/// The whole window: navigation, status bar and the current screen.
pub fn root_ui(s: &mut AppState, ui: &mut Ui) {
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) && s.practice.busy.is_some() {
        s.push(Command::Stop);
    }
    let nav_frame = egui::Frame::new()
        .fill(style::nav_fill(ui.visuals()))
        .inner_margin(Margin::symmetric(10, 14));
    egui::Panel::left("nav")
        .resizable(false)
        .exact_size(196.0)
        .frame(nav_frame)
        .show(ui, |ui| nav_ui(s, ui));
    let status_frame = egui::Frame::new()
        .fill(style::nav_fill(ui.visuals()))
        .inner_margin(Margin::symmetric(12, 5));
    egui::Panel::bottom("status")
        .frame(status_frame)
        .show(ui, |ui| status_ui(s, ui));
    let central = egui::Frame::central_panel(ui.style()).inner_margin(Margin::symmetric(22, 16));
    egui::CentralPanel::default()
        .frame(central)
        .show(ui, |ui| match s.screen {
            Screen::Home => home::home_ui(s, ui),
            Screen::Practice => practice::practice_ui(s, ui),
            Screen::Scorecard => scorecard::scorecard_ui(s, ui),
            Screen::History => history::history_ui(s, ui),
            Screen::Bank => bank::bank_ui(s, ui),
            Screen::Models => models::models_ui(s, ui),
            Screen::Settings => settings::settings_ui(s, ui),
        });
}

fn nav_ui(s: &mut AppState, ui: &mut Ui) {
    egui::Panel::bottom("nav-model")
        .frame(egui::Frame::NONE)
        .show_separator_line(false)
        .resizable(false)
        .show(ui, |ui| model_pill_ui(s, ui));
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("spar")
                .size(26.0)
                .strong()
                .color(style::ACCENT),
        );
        ui.label(RichText::new("interview coach").weak());
    });
    ui.add_space(14.0);
    // The scorecard belongs to the screen it was opened from.
    let scorecard_home = match s.scorecard {
        Some(crate::state::ScorecardTarget::Saved { .. }) => Screen::History,
        _ => Screen::Practice,
    };
    for screen in Screen::NAV {
        let selected =
            s.screen == *screen || (*screen == scorecard_home && s.screen == Screen::Scorecard);
        let mut text = format!("{}  {}", screen.icon(), screen.label());
        if *screen == Screen::Practice && s.practice.busy.is_some() {
            text.push_str("  •");
        }
        let button = egui::Button::selectable(
            selected,
            RichText::new(text).size(ui.text_style_height(&egui::TextStyle::Body) * 1.05),
        )
        .min_size(egui::vec2(ui.available_width(), 34.0));
        if ui.add(button).clicked() {
            s.push(Command::Go(*screen));
        }
    }
}

fn model_pill_ui(s: &mut AppState, ui: &mut Ui) {
    let (dot, text) = if let Some(id) = &s.model.loading {
        (style::WARN, format!("Loading {id}…"))
    } else if let Some(id) = &s.model.id {
        (style::GOOD, id.clone())
    } else {
        (style::BAD, "No model".to_string())
    };
    let detail = match (&s.model.id, &s.model.error, &s.model.loading) {
        (_, Some(e), _) => e.clone(),
        (_, None, Some(_)) => "in the background; practice works meanwhile".into(),
        (Some(_), None, None) => format!(
            "interviewer · {} · {}",
            s.prefs.device,
            widgets::plural(s.threads(), "thread", "threads")
        ),
        (None, None, None) => "follow-ups come from the question bank".into(),
    };
    let loading = s.model.loading.is_some();
    let r = widgets::card(ui, |ui| {
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                if loading {
                    ui.add(egui::Spinner::new().size(12.0));
                } else {
                    widgets::dot(ui, dot);
                }
                ui.add(egui::Label::new(RichText::new(text).small().strong()).truncate());
            });
            ui.add(egui::Label::new(RichText::new(detail).small().weak()).wrap());
        });
    });
    if r.response
        .interact(egui::Sense::click())
        .on_hover_text("Open the models screen")
        .clicked()
    {
        s.push(Command::Go(Screen::Models));
    }
}

fn status_ui(s: &mut AppState, ui: &mut Ui) {
    ui.horizontal(|ui| {
        match &s.bank {
            Loadable::Loading => {
                ui.add(egui::Spinner::new().size(12.0));
                ui.label(RichText::new("Loading the question bank…").small());
            }
            Loadable::Ready(b) => {
                ui.label(RichText::new(format!("📚 {} questions", b.len())).small().weak());
            }
            Loadable::Failed(e) => {
                ui.label(RichText::new(format!("Question bank: {e}")).small().color(style::BAD));
            }
        }
        ui.separator();
        ui.label(RichText::new(format!("Data: {}", s.store.dir().display())).small().weak());
        if let Some(f) = &s.flash
            && f.at.elapsed() < Duration::from_secs(8)
        {
            ui.separator();
            let color = if f.error { style::BAD } else { style::GOOD };
            ui.label(RichText::new(&f.text).small().color(color));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let over = s.frames.generating_max_ms().is_some_and(|m| m > crate::frames::BUDGET_MS);
            let text = RichText::new(s.frames.summary()).small().monospace();
            ui.label(if over { text.color(style::BAD) } else { text.weak() })
                .on_hover_text("Time spent in the app's ui code per frame (rolling window of 240 frames); the budget while the model generates is 50 ms.");
        });
    });
}
