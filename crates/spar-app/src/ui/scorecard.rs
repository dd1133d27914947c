//! The critique scorecard: score and anchor, the per-dimension verdicts with evidence, key
//! points, strengths, gaps, the improved passage, the reference answer and Markdown export.

use egui::{RichText, Ui};
use spar_core::critique::Critique;

use super::style;
use super::widgets::{self, card, card_title, coverage_chip, muted, primary};
use crate::state::{AppState, Busy, Command, ScorecardTarget, Screen};

pub fn scorecard_ui(s: &mut AppState, ui: &mut Ui) {
    let Some((session, index)) = s.scorecard_item().map(|(x, i)| (x.clone(), i)) else {
        ui.heading("Scorecard");
        muted(
            ui,
            "Nothing to show: finish a question, or open one from History.",
        );
        return;
    };
    let item = &session.items[index];
    let current = s.scorecard == Some(ScorecardTarget::Current);
    let title = s
        .bank()
        .and_then(|b| b.get(&item.question_id))
        .map(|q| q.title.clone())
        .unwrap_or_else(|| item.question_id.clone());
    ui.horizontal(|ui| {
        let back = if current {
            "⬅ Back to the conversation"
        } else {
            "⬅ History"
        };
        if ui.link(back).clicked() {
            s.push(Command::Go(if current {
                Screen::Practice
            } else {
                Screen::History
            }));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if item.critique.is_some()
                && ui
                    .button("⬇ Export Markdown")
                    .on_hover_text("Save this scorecard as Markdown in the data folder's exports/")
                    .clicked()
            {
                s.push(Command::ExportCritique);
            }
        });
    });
    ui.heading(format!("Scorecard · {title}"));
    muted(
        ui,
        format!(
            "Question {} of session {} · {} · {}",
            index + 1,
            session.id,
            item.kind.title(),
            item.level.label()
        ),
    );
    ui.add_space(6.0);
    let Some(c) = item.critique.clone() else {
        muted(ui, "This question has not been critiqued yet.");
        return;
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .show(ui, |ui| {
            summary_ui(ui, &c);
            ui.add_space(10.0);
            dimensions_ui(ui, &c);
            ui.add_space(10.0);
            widgets::two_columns(ui, |ui, i| {
                if i == 0 {
                    key_points_ui(ui, &c)
                } else {
                    strengths_ui(ui, &c)
                }
            });
            if !c.improved_passage.is_empty() {
                ui.add_space(10.0);
                card(ui, |ui| {
                    card_title(ui, "How it could sound");
                    ui.add(
                        egui::Label::new(RichText::new(&c.improved_passage).italics())
                            .selectable(true),
                    );
                });
            }
            ui.add_space(10.0);
            reference_ui(s, ui, current);
            if current {
                ui.add_space(10.0);
                next_ui(
                    s,
                    ui,
                    session.items.len() >= session.settings.questions as usize,
                );
            }
        });
}

fn summary_ui(ui: &mut Ui, c: &Critique) {
    card(ui, |ui| {
        ui.horizontal(|ui| {
            widgets::score_badge(ui, c.score, 64.0);
            ui.vertical(|ui| {
                ui.label(
                    RichText::new(format!("Score {}/5", c.score))
                        .text_style(style::title())
                        .strong()
                        .color(style::score_color(c.score)),
                );
                ui.add(egui::Label::new(&c.anchor).wrap());
            });
        });
        if !c.summary.is_empty() {
            ui.add_space(6.0);
            ui.add(egui::Label::new(&c.summary).selectable(true));
        }
        if !c.flags.injection.is_empty() {
            ui.label(RichText::new("Text addressed to the grader was ignored.").color(style::WARN));
        }
        ui.label(
            RichText::new(format!("Graded by {}", c.graded_by))
                .small()
                .weak(),
        );
    });
}

fn dimensions_ui(ui: &mut Ui, c: &Critique) {
    card(ui, |ui| {
        card_title(ui, "Dimensions");
        egui::Grid::new("dimensions")
            .num_columns(3)
            .striped(true)
            .spacing([14.0, 8.0])
            .show(ui, |ui| {
                ui.label(RichText::new("Dimension").weak());
                ui.label(RichText::new("Verdict").weak());
                ui.label(RichText::new("Evidence from your answer").weak());
                ui.end_row();
                for d in &c.dimensions {
                    ui.label(RichText::new(d.dimension.label()).strong())
                        .on_hover_text(d.dimension.criterion());
                    coverage_chip(ui, d.coverage)
                        .on_hover_text(format!("P(covered) {:.2}", d.confidence));
                    ui.vertical(|ui| {
                        ui.set_max_width(560.0);
                        match &d.evidence {
                            Some(e) => ui.add(
                                egui::Label::new(RichText::new(format!("“{e}”")).italics()).wrap(),
                            ),
                            None => ui.label(RichText::new("—").weak()),
                        };
                        if !d.note.is_empty() {
                            ui.add(egui::Label::new(RichText::new(&d.note).small().weak()).wrap());
                        }
                    });
                    ui.end_row();
                }
                for d in &c.not_applicable {
                    ui.label(RichText::new(d.label()).weak());
                    widgets::tag(ui, "n/a");
                    ui.label(RichText::new("not asked by this question").small().weak());
                    ui.end_row();
                }
            });
    });
}

fn key_points_ui(ui: &mut Ui, c: &Critique) {
    card(ui, |ui| {
        card_title(ui, "Key points");
        if c.key_points.is_empty() {
            muted(ui, "This question has no key points in the bank.");
        }
        let hit = c.key_points.iter().filter(|k| k.hit).count();
        muted(ui, format!("{hit} of {} made", c.key_points.len()));
        for k in &c.key_points {
            let (mark, color) = if k.hit {
                ("✔", style::GOOD)
            } else {
                ("✖", style::BAD)
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(mark).color(color));
                ui.label(&k.text);
            });
        }
    });
}

fn strengths_ui(ui: &mut Ui, c: &Critique) {
    card(ui, |ui| {
        card_title(ui, "Strengths");
        if c.strengths.is_empty() {
            muted(ui, "None stood out yet.");
        }
        for x in &c.strengths {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("+").color(style::GOOD).strong());
                ui.label(x);
            });
        }
        ui.add_space(8.0);
        card_title(ui, "Gaps");
        if c.gaps.is_empty() {
            muted(ui, "No gaps found.");
        }
        for x in &c.gaps {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("−").color(style::BAD).strong());
                ui.label(x);
            });
        }
    });
}

fn reference_ui(s: &mut AppState, ui: &mut Ui, current: bool) {
    let shown = if current {
        s.practice.reference.clone()
    } else {
        s.saved_reference.clone()
    };
    card(ui, |ui| {
        card_title(ui, "Reference answer");
        match shown {
            Some(r) => {
                ui.add(egui::Label::new(r).selectable(true));
            }
            None => {
                let loading = s.practice.busy == Some(Busy::Reference);
                if loading {
                    ui.add(egui::Spinner::new());
                } else if ui.button("Show reference answer").clicked() {
                    s.push(Command::ShowReference);
                }
            }
        }
    });
}

fn next_ui(s: &mut AppState, ui: &mut Ui, last: bool) {
    let busy = s.practice.busy.is_some();
    if s.practice.finished.is_some() {
        ui.horizontal(|ui| {
            muted(ui, "Session complete.");
            if ui.add(primary("See progress")).clicked() {
                s.push(Command::Go(Screen::History));
            }
        });
        return;
    }
    ui.horizontal(|ui| {
        let label = if last {
            "Finish session"
        } else {
            "Next question ➡"
        };
        if ui.add_enabled(!busy, primary(label)).clicked() {
            s.push(Command::NextQuestion);
        }
        if !last
            && ui
                .add_enabled(!busy, egui::Button::new("End session"))
                .clicked()
        {
            s.push(Command::EndSession);
        }
    });
}
