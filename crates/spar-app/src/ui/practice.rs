//! Practice: the question, a countdown, the conversation with the interviewer (streamed),
//! and the answer editor. Ctrl+Enter submits, Esc stops the interviewer.

use std::collections::HashSet;

use egui::{Color32, CornerRadius, Margin, RichText, Ui};
use spar_coach::store::now_ms;
use spar_core::session::{Item, Phase, Speaker, TurnKind};

use super::style;
use super::widgets::{self, card, chip, muted, primary};
use crate::state::{AppState, Busy, Command, Screen};

pub fn practice_ui(s: &mut AppState, ui: &mut Ui) {
    let Some(session) = s.practice.session.clone() else {
        if let Some(b) = s.practice.busy {
            ui.add_space(40.0);
            ui.vertical_centered(|ui| {
                ui.add(egui::Spinner::new().size(28.0));
                ui.label(b.label());
            });
        } else {
            empty_ui(s, ui);
        }
        return;
    };
    let Some(item) = session.current().cloned() else {
        empty_ui(s, ui);
        return;
    };
    let index = session.items.len() - 1;
    header_ui(
        s,
        ui,
        &item,
        index,
        session.settings.questions as usize,
        session.settings.pressure,
    );
    ui.add_space(8.0);
    egui::Panel::bottom("answer-panel")
        .frame(egui::Frame::new().inner_margin(Margin {
            left: 0,
            right: 0,
            top: 10,
            bottom: 0,
        }))
        .show_separator_line(false)
        .show(ui, |ui| bottom_ui(s, ui, &item, index));
    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .stick_to_bottom(true)
        .show(ui, |ui| transcript_ui(s, ui, &item));
}

fn empty_ui(s: &mut AppState, ui: &mut Ui) {
    ui.heading("Practice");
    muted(ui, "No session is running.");
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(s.bank().is_some(), primary("▶ Start practice"))
            .clicked()
        {
            s.push(Command::StartTrack);
        }
        if s.resumable().is_some() && ui.button("Resume session").clicked() {
            s.push(Command::Resume);
        }
        if ui.button("Choose a track…").clicked() {
            s.push(Command::Go(Screen::Home));
        }
    });
}

fn header_ui(
    s: &mut AppState,
    ui: &mut Ui,
    item: &Item,
    index: usize,
    total: usize,
    pressure: bool,
) {
    let title = s
        .bank()
        .and_then(|b| b.get(&item.question_id))
        .map(|q| q.title.clone())
        .unwrap_or_else(|| item.question_id.clone());
    card(ui, |ui| {
        ui.horizontal(|ui| {
            chip(
                ui,
                &format!("Question {}/{}", index + 1, total.max(index + 1)),
                style::ACCENT,
            );
            widgets::tag(ui, item.kind.title());
            widgets::tag(ui, item.level.label());
            if item.is_drill() {
                chip(ui, "incident drill", style::WARN);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                timer_ui(ui, item, pressure)
            });
        });
        ui.add_space(4.0);
        ui.label(RichText::new(title).text_style(style::title()).strong());
        egui::ScrollArea::vertical()
            .id_salt("prompt")
            .max_height(160.0)
            .show(ui, |ui| {
                ui.add(egui::Label::new(item.prompt()).selectable(true));
            });
        if let Some(n) = &s.practice.note {
            ui.label(RichText::new(format!("This round: {n}")).italics().weak());
        }
    });
}

fn timer_ui(ui: &mut Ui, item: &Item, pressure: bool) {
    if item.critique.is_some() {
        if let Some(sec) = item.answer_seconds {
            ui.label(
                RichText::new(format!(
                    "first answer after {}",
                    widgets::fmt_clock(sec as i64)
                ))
                .weak(),
            );
        }
        return;
    }
    let elapsed = now_ms().saturating_sub(item.started_ms) / 1000;
    let left = item.time_limit_s as i64 - elapsed as i64;
    let (text, color) = if left < 0 {
        (
            format!("⏰ time is up {}", widgets::fmt_clock(left)),
            style::BAD,
        )
    } else if left < 60 {
        (format!("⏱ {}", widgets::fmt_clock(left)), style::WARN)
    } else {
        (
            format!("⏱ {}", widgets::fmt_clock(left)),
            ui.visuals().text_color(),
        )
    };
    let size = if pressure { 22.0 } else { 15.0 };
    ui.label(RichText::new(text).size(size).color(color).monospace())
        .on_hover_text(if pressure {
            "Pressure mode: answer within the time limit"
        } else {
            "Time limit for this question"
        });
}

fn bubble_ui(ui: &mut Ui, who: &str, who_color: Color32, fill: Color32, add: impl FnOnce(&mut Ui)) {
    egui::Frame::new()
        .fill(fill)
        .corner_radius(CornerRadius::same(10))
        .inner_margin(Margin::symmetric(12, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(who).small().strong().color(who_color));
            add(ui);
        });
    ui.add_space(6.0);
}

fn fills(ui: &Ui) -> (Color32, Color32) {
    let v = ui.visuals();
    let interviewer = if v.dark_mode {
        Color32::from_rgb(0x22, 0x2c, 0x3d)
    } else {
        Color32::from_rgb(0xe7, 0xef, 0xfd)
    };
    (interviewer, style::card_fill(v))
}

fn transcript_ui(s: &mut AppState, ui: &mut Ui, item: &Item) {
    let (interviewer_fill, you_fill) = fills(ui);
    let mut notices = HashSet::new();
    for t in item.turns.iter().skip(1) {
        match (t.speaker, t.kind) {
            (Speaker::Candidate, _) => bubble_ui(ui, "You", style::GOOD, you_fill, |ui| {
                ui.add(egui::Label::new(&t.text).selectable(true));
            }),
            (Speaker::Interviewer, TurnKind::Finding) => bubble_ui(
                ui,
                "🔎 What you find",
                style::WARN,
                interviewer_fill,
                |ui| {
                    ui.add(egui::Label::new(&t.text).selectable(true));
                },
            ),
            (Speaker::Interviewer, _) => {
                let mut who = "Interviewer".to_string();
                if let Some(d) = t.dimension {
                    who.push_str(&format!(" · probing {}", d.label().to_lowercase()));
                }
                if t.source.as_deref() == Some("bank") || t.source.as_deref() == Some("template") {
                    who.push_str(" · from the question bank");
                }
                bubble_ui(ui, &who, style::ACCENT, interviewer_fill, |ui| {
                    ui.add(egui::Label::new(&t.text).selectable(true));
                });
            }
            (Speaker::Coach, _) => {
                if notices.insert(t.text.clone()) {
                    ui.label(
                        RichText::new(format!("ℹ {}", t.text))
                            .small()
                            .italics()
                            .weak(),
                    );
                    ui.add_space(4.0);
                }
            }
        }
    }
    if s.practice.stopped && s.practice.busy.is_none() {
        ui.label(
            RichText::new(
                "⏹ You stopped the interviewer: the question bank's follow-up stands in.",
            )
            .small()
            .italics()
            .weak(),
        );
        ui.add_space(4.0);
    }
    if let Some(a) = &s.practice.pending_answer {
        let a = a.clone();
        bubble_ui(ui, "You", style::GOOD, you_fill, |ui| {
            ui.label(a);
        });
    }
    if let Some(b) = s.practice.busy {
        let streaming = s.practice.streaming.clone();
        let stopped = s.practice.stopped;
        bubble_ui(
            ui,
            if b == Busy::Interviewer {
                "Interviewer"
            } else {
                "Coach"
            },
            style::ACCENT,
            interviewer_fill,
            |ui| {
                if !streaming.is_empty() {
                    ui.label(streaming);
                }
                ui.horizontal(|ui| {
                    ui.add(egui::Spinner::new().size(14.0));
                    ui.label(RichText::new(if stopped { "Stopping…" } else { b.label() }).weak());
                    if b.generates() && !stopped && ui.button("⏹ Stop (Esc)").clicked() {
                        s.push(Command::Stop);
                    }
                });
            },
        );
    }
}

fn bottom_ui(s: &mut AppState, ui: &mut Ui, item: &Item, index: usize) {
    if let Some(mean) = s.practice.finished {
        card(ui, |ui| {
            ui.label(
                RichText::new("Session complete")
                    .text_style(style::title())
                    .strong(),
            );
            match mean {
                Some(m) => ui.label(format!(
                    "Mean score {m:.1}/5 over {} question(s).",
                    index + 1
                )),
                None => ui.label("No question was critiqued."),
            };
            ui.horizontal(|ui| {
                if ui.add(primary("See progress")).clicked() {
                    s.push(Command::Go(Screen::History));
                }
                if ui.button("Home").clicked() {
                    s.push(Command::Go(Screen::Home));
                }
            });
        });
        return;
    }
    let busy = s.practice.busy.is_some();
    match item.phase() {
        Phase::Answer | Phase::FollowUpAnswer(_) | Phase::DrillMove(_) => {
            editor_ui(s, ui, item, busy)
        }
        Phase::InterviewerTurn => {
            if !busy {
                card(ui, |ui| {
                    ui.label("The interviewer's turn was interrupted. Get the critique of what you said so far.");
                    if ui.add(primary("Critique now")).clicked() {
                        s.push(Command::CritiqueNow);
                    }
                });
            }
        }
        Phase::Done => {
            if !busy {
                ui.horizontal(|ui| {
                    if ui.add(primary("View scorecard")).clicked() {
                        s.push(Command::OpenScorecard {
                            session: s
                                .practice
                                .session
                                .as_ref()
                                .map(|x| x.id.clone())
                                .unwrap_or_default(),
                            item: index,
                        });
                    }
                    if ui.button("Next question ➡").clicked() {
                        s.push(Command::NextQuestion);
                    }
                    if ui.button("End session").clicked() {
                        s.push(Command::EndSession);
                    }
                });
            }
        }
    }
    if let Some(e) = &s.practice.error {
        ui.label(RichText::new(e).color(style::BAD).small());
    }
}

fn editor_ui(s: &mut AppState, ui: &mut Ui, item: &Item, busy: bool) {
    let submit_keys = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
    if submit_keys && !busy {
        s.push(Command::Submit);
    }
    let hint = match item.phase() {
        Phase::Answer if item.is_drill() => {
            "What do you check first, and why? (Ctrl+Enter to send)"
        }
        Phase::Answer => {
            "Type your answer… think out loud, structure it, be concrete. (Ctrl+Enter to submit)"
        }
        Phase::DrillMove(_) => "Your next move: what do you check or do now? (Ctrl+Enter to send)",
        _ => "Answer the follow-up… (Ctrl+Enter to submit)",
    };
    let rows = if item.phase() == Phase::Answer { 8 } else { 5 };
    let edit = egui::TextEdit::multiline(&mut s.practice.draft)
        .hint_text(hint)
        .desired_rows(rows)
        .desired_width(f32::INFINITY)
        .lock_focus(true);
    let r = ui.add_enabled(!busy, edit);
    if !busy && std::mem::take(&mut s.practice.focus_editor) {
        r.request_focus();
    }
    ui.horizontal(|ui| {
        let can_send = !busy && !s.practice.draft.trim().is_empty();
        if ui
            .add_enabled(can_send, primary("Submit"))
            .on_hover_text("Ctrl+Enter")
            .clicked()
        {
            s.push(Command::Submit);
        }
        let said = !item.candidate_text().trim().is_empty();
        if ui
            .add_enabled(!busy && said, egui::Button::new("Critique now"))
            .on_hover_text("Skip the remaining follow-ups and grade what you have said")
            .on_disabled_hover_text("Submit an answer first")
            .clicked()
        {
            s.push(Command::CritiqueNow);
        }
        if ui
            .add_enabled(!busy, egui::Button::new("End session"))
            .clicked()
        {
            s.push(Command::EndSession);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let words = s.practice.draft.split_whitespace().count();
            ui.label(RichText::new(format!("{words} words")).small().weak());
            if !s.practice.has_model {
                ui.label(RichText::new("No model: bank follow-ups").small().weak())
                    .on_hover_text(
                        "Load a model on the Models screen for model-written follow-ups",
                    );
            }
        });
    });
}
