//! Settings: data folder, practice timers, appearance, the interviewer's language (and the CJK
//! font it needs), and the frame-time figures.

use std::path::PathBuf;

use egui::{RichText, Ui};

use super::style;
use super::widgets::{self, card, card_title, muted};
use crate::frames::BUDGET_MS;
use crate::prefs::{Language, Prefs, Theme};
use crate::state::{AppState, Command, FontStatus, data_root};

pub fn settings_ui(s: &mut AppState, ui: &mut Ui) {
    ui.heading("Settings");
    ui.add_space(6.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .show(ui, |ui| {
            widgets::two_columns(ui, |ui, i| {
                if i == 0 {
                    data_ui(s, ui);
                    ui.add_space(10.0);
                    timers_ui(s, ui);
                } else {
                    appearance_ui(s, ui);
                    ui.add_space(10.0);
                    language_ui(s, ui);
                    ui.add_space(10.0);
                    performance_ui(s, ui);
                }
            });
        });
}

fn data_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Data folder");
        muted(
            ui,
            "Sessions are saved here after every turn, one JSON file each; the terminal (`spar practice`) uses the same folder.",
        );
        let default = spar_coach::store::data_dir();
        ui.label(RichText::new(format!("Default: {}", default.display())).small());
        ui.label(
            RichText::new(format!("In use: {}", data_root(&s.store).display()))
                .small()
                .strong(),
        );
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut s.data_dir_edit)
                    .hint_text("Folder for sessions and exports")
                    .desired_width(ui.available_width() - 150.0),
            );
            if ui.button("Apply").clicked() {
                let d = PathBuf::from(s.data_dir_edit.trim());
                let dir = (d != default && !s.data_dir_edit.trim().is_empty()).then_some(d);
                s.push(Command::SetDataDir(dir));
            }
            if s.prefs.data_dir.is_some() && ui.button("Use default").clicked() {
                s.push(Command::SetDataDir(None));
            }
        });
    });
}

fn timers_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Practice");
        let p = &mut s.prefs;
        egui::Grid::new("timers")
            .num_columns(2)
            .spacing([12.0, 10.0])
            .show(ui, |ui| {
                ui.label("Follow-ups per question");
                ui.add(egui::Slider::new(&mut p.follow_ups, 0..=5).text("follow-ups"));
                ui.end_row();
                ui.label("Questions per session");
                ui.add(egui::Slider::new(&mut p.questions, 1..=10).text("questions"));
                ui.end_row();
                ui.label("Pressure mode");
                ui.checkbox(&mut p.pressure, "Big countdown, warn when time is up");
                ui.end_row();
                ui.label("Time per question");
                ui.horizontal(|ui| {
                    let mut fixed = p.minutes.is_some();
                    if ui.checkbox(&mut fixed, "Fixed").changed() {
                        p.minutes = fixed.then_some(10);
                    }
                    if let Some(m) = p.minutes.as_mut() {
                        ui.add(egui::DragValue::new(m).range(1..=90).suffix(" min"));
                    } else {
                        ui.label(RichText::new("by kind (5–35 min)").weak());
                    }
                });
                ui.end_row();
            });
        muted(ui, "A mock loop always runs its own number of rounds.");
    });
}

fn appearance_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Appearance");
        let p = &mut s.prefs;
        ui.horizontal(|ui| {
            ui.label("Theme");
            ui.selectable_value(&mut p.theme, Theme::Dark, "🌙 Dark");
            ui.selectable_value(&mut p.theme, Theme::Light, "☀ Light");
        });
        ui.horizontal(|ui| {
            ui.label("Text size");
            let mut size = p.font_size();
            if ui
                .add(
                    egui::Slider::new(&mut size, Prefs::MIN_FONT..=Prefs::MAX_FONT)
                        .step_by(0.5)
                        .suffix(" pt"),
                )
                .changed()
            {
                p.font_size = size;
            }
        });
    });
}

fn language_ui(s: &mut AppState, ui: &mut Ui) {
    let cjk = matches!(s.cjk, FontStatus::Found(_));
    card(ui, |ui| {
        card_title(ui, "Interviewer language");
        let name = |l: Language| {
            // Native names only where they can be drawn (egui's own font is Latin-only).
            let drawable = cjk || l.native().chars().all(|c| (c as u32) < 0x250);
            if l.name() != l.native() && drawable {
                format!("{} · {}", l.name(), l.native())
            } else {
                l.name().to_string()
            }
        };
        let shown = name(s.prefs.language);
        egui::ComboBox::from_label("Answer language")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for l in Language::ALL {
                    ui.selectable_value(&mut s.prefs.language, *l, name(*l));
                }
            });
        muted(
            ui,
            "The model writes its follow-ups and critique summaries in this language; questions, rubrics and the deterministic grading stay in English. Applies to the next session.",
        );
        ui.add_space(4.0);
        match &s.cjk {
            FontStatus::Found(p) => {
                ui.label(
                    RichText::new(format!("✔ CJK font: {}", p.display()))
                        .small()
                        .color(style::GOOD),
                );
                ui.label("日本語 · 한국어 · 中文");
            }
            FontStatus::Missing => {
                ui.label(RichText::new("✖ No CJK font found: Japanese, Korean and Chinese text would show as boxes.").small().color(style::BAD));
                muted(
                    ui,
                    "Install one (Debian/Ubuntu: `sudo apt install fonts-noto-cjk`) or point SPAR_CJK_FONT at a .ttf/.ttc/.otf file, then restart.",
                );
            }
            FontStatus::Unknown => {
                ui.horizontal(|ui| {
                    ui.add(egui::Spinner::new().size(12.0));
                    muted(ui, "Looking for a CJK font…");
                });
            }
        }
        if s.prefs.language.needs_cjk() && !cjk {
            ui.label(
                RichText::new("This language needs a CJK font to display.").color(style::WARN),
            );
        }
    });
}

fn performance_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Performance");
        let f = &s.frames;
        egui::Grid::new("frames")
            .num_columns(2)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                ui.label("Frame (ui code), last");
                ui.label(format!("{:.2} ms", f.last_ms()));
                ui.end_row();
                ui.label("p95 / max, last 240 frames");
                ui.label(format!("{:.2} / {:.2} ms", f.p95_ms(), f.max_ms()));
                ui.end_row();
                ui.label("Max while the model generates");
                ui.label(match f.generating_max_ms() {
                    Some(m) => format!(
                        "{m:.2} ms over {} frames (budget {BUDGET_MS:.0} ms, {} over)",
                        f.generating_frames(),
                        f.generating_over_budget()
                    ),
                    None => "no generation yet".into(),
                });
                ui.end_row();
            });
    });
}
