//! Home: pick a track or a regional mock loop, drill the weakest dimensions, resume.

use egui::{RichText, Ui};
use spar_core::taxonomy::{Kind, Level, Region, Stack};

use super::style;
use super::widgets::{self, card, card_title, muted, option_combo, primary};
use crate::state::{AppState, Command, Loadable, Screen};

pub fn home_ui(s: &mut AppState, ui: &mut Ui) {
    egui::ScrollArea::vertical().auto_shrink([false; 2]).show(ui, |ui| {
        ui.heading("Ready to spar?");
        muted(ui, "Answer out loud in writing, take the follow-ups, get a scorecard. Everything runs on this machine.");
        ui.add_space(10.0);
        if let Loadable::Failed(e) = &s.bank {
            card(ui, |ui| {
                ui.label(RichText::new("The question bank could not be loaded").color(style::BAD).strong());
                ui.label(e.as_str());
            });
            return;
        }
        let wide = ui.available_width() > 860.0;
        if wide {
            widgets::two_columns(ui, |ui, i| {
                if i == 0 {
                    left_ui(s, ui)
                } else {
                    right_ui(s, ui)
                }
            });
        } else {
            left_ui(s, ui);
            right_ui(s, ui);
        }
    });
}

fn left_ui(s: &mut AppState, ui: &mut Ui) {
    let busy = s.practice.busy.is_some();
    if let Some(u) = s.resumable() {
        let answered = u.items.iter().filter(|i| i.critique.is_some()).count();
        let text = format!(
            "{} · {answered} of {} question(s) done · {}",
            u.track.describe(),
            u.settings.questions,
            widgets::fmt_date(u.updated_ms)
        );
        card(ui, |ui| {
            card_title(ui, "Pick up where you left off");
            muted(ui, text);
            if ui.add_enabled(!busy, primary("Resume session")).clicked() {
                s.push(Command::Resume);
            }
        });
        ui.add_space(10.0);
    }
    card(ui, |ui| {
        card_title(ui, "Practise a track");
        let t = &mut s.prefs.track;
        egui::Grid::new("track-grid")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                option_combo(ui, "Kind", &mut t.kind, Kind::ALL, Kind::title);
                option_combo(ui, "Level", &mut t.level, Level::ALL, Level::label);
                ui.end_row();
                option_combo(ui, "Region", &mut t.region, Region::ALL, Region::label);
                option_combo(ui, "Stack", &mut t.stack, Stack::ALL, Stack::label);
                ui.end_row();
            });
        let p = &s.prefs;
        let timer = match p.minutes {
            Some(m) => format!("{m} min per question"),
            None => "the kind's own time limit".into(),
        };
        muted(
            ui,
            format!(
                "{} question(s) · {} follow-up(s) each · {timer}{}",
                p.questions,
                p.follow_ups,
                if p.pressure { " · pressure mode" } else { "" }
            ),
        );
        let ready = s.bank().is_some() && !busy;
        ui.horizontal(|ui| {
            if ui.add_enabled(ready, primary("▶ Start practice")).clicked() {
                s.push(Command::StartTrack);
            }
            if ui
                .button("Timers…")
                .on_hover_text("Follow-ups, questions per session, pressure mode")
                .clicked()
            {
                s.push(Command::Go(Screen::Settings));
            }
        });
    });
    ui.add_space(10.0);
    card(ui, |ui| {
        card_title(ui, "Regional mock loops");
        muted(ui, "The rounds each market typically runs, in order.");
        let Some(bank) = s.bank().cloned() else {
            ui.add(egui::Spinner::new());
            return;
        };
        for l in bank.loops() {
            ui.separator();
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(&l.name).strong());
                    let kinds: Vec<&str> = l.rounds.iter().map(|r| r.kind.title()).collect();
                    ui.label(
                        RichText::new(format!("{} · {}", l.region.label(), kinds.join(" › ")))
                            .small()
                            .weak(),
                    );
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let b = ui
                        .add_enabled(!busy, egui::Button::new(format!("Start {} loop", l.id)))
                        .on_hover_text(&l.description);
                    if b.clicked() {
                        s.push(Command::StartLoop(l.id.clone()));
                    }
                });
            });
        }
    });
}

fn right_ui(s: &mut AppState, ui: &mut Ui) {
    if s.model.llm.is_none() && s.model.loading.is_none() {
        model_banner_ui(s, ui);
        ui.add_space(10.0);
    }
    card(ui, |ui| {
        card_title(ui, "Drill my weak spots");
        if !s.history.loaded {
            ui.add(egui::Spinner::new());
            return;
        }
        if s.history.weakest.is_empty() {
            muted(
                ui,
                "After your first critique, spar tracks each rubric dimension and aims practice at the weakest.",
            );
            return;
        }
        muted(
            ui,
            "Share of attempts where each was covered, recent ones weighing more.",
        );
        egui::Grid::new("weakest")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for d in &s.history.weakest {
                    if let Some(st) = s.history.stats.iter().find(|x| x.dimension == *d) {
                        ui.label(RichText::new(d.label()).strong());
                        let color = style::score_color(1 + (st.rate * 4.0).round() as u8);
                        let text = format!(
                            "{:.0}% of {}",
                            st.rate * 100.0,
                            widgets::plural(st.attempts, "try", "tries")
                        );
                        widgets::meter(ui, st.rate as f32, color, &text);
                        ui.end_row();
                    }
                }
            });
        let kind = crate::state::weak_spot_kind(&s.history.weakest)
            .map(Kind::title)
            .unwrap_or("");
        if ui
            .add_enabled(
                s.practice.busy.is_none() && s.bank().is_some(),
                primary("🎯 Drill my weak spots"),
            )
            .on_hover_text(format!("A {kind} session that probes these first"))
            .clicked()
        {
            s.push(Command::DrillWeakSpots);
        }
    });
    ui.add_space(10.0);
    card(ui, |ui| {
        card_title(ui, "Recent sessions");
        if s.history.sessions.is_empty() {
            muted(
                ui,
                if s.history.loaded {
                    "None yet — your sessions (from the app and the terminal) show up here."
                } else {
                    "Loading…"
                },
            );
            return;
        }
        let recent: Vec<(String, String, Option<f32>, bool)> = s
            .history
            .sessions
            .iter()
            .take(5)
            .map(|x| {
                (
                    x.id.clone(),
                    format!(
                        "{} · {}",
                        widgets::fmt_date(x.updated_ms),
                        x.track.describe()
                    ),
                    x.mean_score(),
                    x.is_complete(),
                )
            })
            .collect();
        for (id, text, score, done) in recent {
            ui.horizontal(|ui| {
                match score {
                    Some(m) => {
                        widgets::chip(ui, &format!("{m:.1}"), style::score_color(m.round() as u8))
                    }
                    None => widgets::chip(ui, "–", ui.visuals().weak_text_color()),
                };
                if ui.link(text).clicked() {
                    s.push(Command::SelectSession(id.clone()));
                    s.push(Command::Go(Screen::History));
                }
                if !done {
                    widgets::tag(ui, "unfinished");
                }
            });
        }
    });
}

fn model_banner_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "No interviewer model loaded");
        muted(
            ui,
            "Practice works without one: follow-ups come from the question bank and grading is deterministic. A local model writes follow-ups to your answer and summarises the critique.",
        );
        let default = s.registry.get(&s.registry.default).ok().cloned();
        ui.horizontal(|ui| {
            if let Some(m) = default {
                let installed = s.registry.installed(&m.id).is_some();
                if let Some(op) = s.models.ops.get(&m.id) {
                    ui.add(
                        egui::ProgressBar::new(op.fraction().unwrap_or(0.0))
                            .desired_width(200.0)
                            .text(op.stage.clone()),
                    );
                } else if installed {
                    if ui.add(primary(format!("Load {}", m.name))).clicked() {
                        s.push(Command::Activate(m.id.clone()));
                    }
                } else if ui
                    .add(primary(format!(
                        "⬇ Download {} ({})",
                        m.name,
                        widgets::fmt_bytes(m.size)
                    )))
                    .clicked()
                {
                    s.push(Command::Fetch(m.id.clone()));
                }
            }
            if ui.button("Models…").clicked() {
                s.push(Command::Go(Screen::Models));
            }
        });
    });
}
