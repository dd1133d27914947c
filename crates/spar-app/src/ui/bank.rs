//! The question bank: full-text search (tantivy, BM25) with kind/level/region/stack filters,
//! and each question's rubric material.

use egui::{RichText, Ui};
use spar_core::question::Question;
use spar_core::taxonomy::{Kind, Level, Region, Stack};

use super::style;
use super::widgets::{self, card, card_title, muted, option_combo};
use crate::state::{AppState, Command};

pub fn bank_ui(s: &mut AppState, ui: &mut Ui) {
    ui.heading("Question bank");
    let Some(bank) = s.bank().cloned() else {
        ui.add(egui::Spinner::new());
        muted(ui, "Loading and indexing the bank…");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let search = egui::TextEdit::singleline(&mut s.bank_view.query)
            .hint_text("🔍 Search: e.g. retries and double charges")
            .desired_width(320.0);
        ui.add(search);
        let f = &mut s.bank_view.filters;
        option_combo(ui, "Kind", &mut f.kind, Kind::ALL, Kind::title);
        option_combo(ui, "Level", &mut f.level, Level::ALL, Level::label);
        option_combo(ui, "Region", &mut f.region, Region::ALL, Region::label);
        option_combo(ui, "Stack", &mut f.stack, Stack::ALL, Stack::label);
        if ui.button("Clear").clicked() {
            s.bank_view.query.clear();
            s.bank_view.filters = Default::default();
        }
    });
    // Searching the in-memory index takes well under a millisecond.
    s.search_bank();
    let n = s.bank_view.results.len();
    muted(
        ui,
        if s.bank_view.query.trim().is_empty() {
            format!("{n} question(s)")
        } else {
            if n >= crate::state::SEARCH_LIMIT {
                format!("the best {n} matches")
            } else {
                format!("{n} match(es), best first")
            }
        },
    );
    if let Some(e) = &s.bank_view.error {
        ui.label(RichText::new(e).color(style::BAD));
    }
    ui.add_space(4.0);
    egui::Panel::left("bank-results")
        .resizable(true)
        .default_size(360.0)
        .min_size(240.0)
        .show(ui, |ui| {
            // One line per question, so only the visible rows are laid out.
            let row_height = ui.spacing().interact_size.y.max(26.0);
            let n = s.bank_view.results.len();
            egui::ScrollArea::vertical()
                .auto_shrink([false; 2])
                .show_rows(ui, row_height, n, |ui, rows| {
                    for i in rows {
                        let Some(q) = s.bank_view.results.get(i).and_then(|id| bank.get(id)) else {
                            continue;
                        };
                        let selected = s.bank_view.selected.as_deref() == Some(q.id.as_str());
                        let r = ui
                            .add(
                                egui::Button::selectable(
                                    selected,
                                    RichText::new(&q.title).strong(),
                                )
                                .truncate()
                                .right_text(RichText::new(q.kind.title()).small().weak())
                                .min_size(egui::vec2(ui.available_width(), row_height)),
                            )
                            .on_hover_text(&q.title);
                        if r.clicked() {
                            s.push(Command::SelectQuestion(q.id.clone()));
                        }
                    }
                });
        });
    egui::CentralPanel::no_frame().show(ui, |ui| {
        let q = s.bank_view.selected.as_deref().and_then(|id| bank.get(id));
        match q {
            Some(q) => egui::ScrollArea::vertical().id_salt("question-detail").auto_shrink([false; 2]).show(ui, |ui| question_ui(ui, q)).inner,
            None => {
                ui.add_space(20.0);
                muted(ui, "Select a question to see its key points, follow-ups, pitfalls and reference answer.");
            }
        }
    });
}

fn question_ui(ui: &mut Ui, q: &Question) {
    ui.add_space(2.0);
    ui.label(RichText::new(&q.title).text_style(style::title()).strong());
    ui.horizontal_wrapped(|ui| {
        widgets::chip(ui, q.kind.title(), style::ACCENT);
        for l in &q.levels {
            widgets::tag(ui, l.label());
        }
        for r in &q.regions {
            widgets::tag(ui, r.label());
        }
        for st in &q.stacks {
            widgets::tag(ui, st.label());
        }
        ui.label(
            RichText::new(format!("{} · {} min", q.id, q.time_limit_s() / 60))
                .small()
                .weak(),
        );
    });
    ui.add_space(4.0);
    card(ui, |ui| {
        card_title(ui, "Prompt");
        ui.add(egui::Label::new(&q.prompt).selectable(true));
        if !q.topics.is_empty() {
            ui.label(
                RichText::new(format!("Topics: {}", q.topics.join(", ")))
                    .small()
                    .weak(),
            );
        }
    });
    if let Some(sc) = &q.scenario {
        ui.add_space(8.0);
        card(ui, |ui| {
            card_title(ui, "Incident scenario");
            ui.label(&sc.opening);
            for step in &sc.steps {
                ui.horizontal_wrapped(|ui| {
                    widgets::tag(ui, &format!("#{}", step.priority));
                    ui.label(RichText::new(&step.check).strong());
                    ui.label(RichText::new(format!("› {}", step.finding)).weak());
                });
            }
            egui::CollapsingHeader::new("Root cause (spoiler)")
                .id_salt("root-cause")
                .show(ui, |ui| {
                    ui.label(&sc.root_cause);
                });
        });
    }
    ui.add_space(8.0);
    card(ui, |ui| {
        card_title(ui, "Key points");
        for k in &q.key_points {
            ui.horizontal_wrapped(|ui| {
                widgets::tag(ui, k.dimension.label());
                ui.label(&k.text);
            });
        }
    });
    ui.add_space(8.0);
    card(ui, |ui| {
        card_title(ui, "Follow-ups");
        for f in &q.follow_ups {
            ui.horizontal_wrapped(|ui| {
                widgets::tag(ui, &format!("{} · {}", f.dimension.label(), f.when.id()));
                ui.label(&f.text);
            });
        }
    });
    if !q.pitfalls.is_empty() {
        ui.add_space(8.0);
        card(ui, |ui| {
            card_title(ui, "Pitfalls");
            for p in &q.pitfalls {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new("⚠").color(style::WARN));
                    ui.label(p);
                });
            }
        });
    }
    ui.add_space(8.0);
    card(ui, |ui| {
        egui::CollapsingHeader::new(
            RichText::new("Reference answer")
                .text_style(style::title())
                .strong(),
        )
        .id_salt("reference")
        .default_open(false)
        .show(ui, |ui| {
            ui.add(egui::Label::new(&q.reference_answer).selectable(true));
        });
    });
}
