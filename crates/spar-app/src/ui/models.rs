//! Models, LM Studio style: the registry with size, RAM and whether it fits this machine,
//! download with progress and cancel, verify, delete, import a local GGUF, pick the active
//! model, the device and the threads.

use egui::{RichText, Ui};
use spar_llm::registry::{ModelEntry, Status};

use super::style;
use super::widgets::{self, card, card_title, muted, primary};
use crate::state::{AppState, Command};
use crate::worker::IMPORT_ID;

pub fn models_ui(s: &mut AppState, ui: &mut Ui) {
    ui.heading("Models");
    muted(
        ui,
        format!(
            "Local GGUF models in {}. Only Download uses the network; practice never does.",
            s.registry.dir.display()
        ),
    );
    if let Some(e) = &s.registry_error {
        ui.label(
            RichText::new(format!("The model registry could not be read: {e}")).color(style::BAD),
        );
    }
    ui.add_space(6.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .show(ui, |ui| {
            active_ui(s, ui);
            ui.add_space(10.0);
            registry_ui(s, ui);
            ui.add_space(10.0);
            widgets::two_columns(ui, |ui, i| {
                if i == 0 {
                    import_ui(s, ui)
                } else {
                    runtime_ui(s, ui)
                }
            });
        });
}

fn active_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Interviewer model");
        if let Some(id) = &s.model.loading {
            ui.horizontal(|ui| {
                ui.add(egui::Spinner::new());
                ui.label(format!(
                    "Loading {id} on {} with {} thread(s)…",
                    s.prefs.device,
                    s.threads()
                ));
            });
        } else if let (Some(id), Some(llm)) = (&s.model.id, &s.model.llm) {
            let i = &llm.info;
            ui.horizontal(|ui| {
                widgets::dot(ui, style::GOOD);
                ui.label(RichText::new(i.name.clone().unwrap_or_else(|| id.clone())).strong());
                widgets::tag(ui, id);
            });
            muted(
                ui,
                format!(
                    "{} · {:.2}B parameters · context {} · {} thread(s) · chat template {}{}",
                    i.architecture,
                    i.params as f64 / 1e9,
                    i.context,
                    i.threads,
                    i.chat_template,
                    s.model
                        .load_seconds
                        .map(|t| format!(" · loaded in {t:.1} s"))
                        .unwrap_or_default()
                ),
            );
        } else {
            ui.label(RichText::new("No model loaded: follow-ups come from the question bank and grading is deterministic.").weak());
        }
        if let Some(e) = &s.model.error {
            ui.label(RichText::new(e).color(style::BAD));
        }
    });
}

fn fits(entry: &ModelEntry, ram: Option<u64>) -> (&'static str, egui::Color32, String) {
    match ram {
        None => ("?", egui::Color32::GRAY, "Total memory unknown".into()),
        Some(t) if entry.ram_mb * 10 <= t * 6 => (
            "✔ fits",
            style::GOOD,
            format!("needs {} MB of {} MB", entry.ram_mb, t),
        ),
        Some(t) if entry.ram_mb <= t => (
            "tight",
            style::WARN,
            format!("needs {} MB of {} MB: close other apps", entry.ram_mb, t),
        ),
        Some(t) => (
            "✖ too big",
            style::BAD,
            format!("needs {} MB, this machine has {} MB", entry.ram_mb, t),
        ),
    }
}

fn registry_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Available models");
        let ram = s.models.ram_mb;
        muted(
            ui,
            match ram {
                Some(r) => format!("This machine has {:.1} GB of memory.", r as f64 / 1024.0),
                None => "This machine's memory is unknown.".into(),
            },
        );
        let models = s.registry.models.clone();
        egui::Grid::new("models")
            .num_columns(6)
            .striped(true)
            .spacing([14.0, 10.0])
            .show(ui, |ui| {
                for h in ["Model", "Size", "RAM", "Fits", "Status", ""] {
                    ui.label(RichText::new(h).weak());
                }
                ui.end_row();
                for m in &models {
                    ui.vertical(|ui| {
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(&m.name).strong());
                            if m.id == s.registry.default {
                                widgets::chip(ui, "recommended", style::ACCENT);
                            }
                        });
                        ui.label(
                            RichText::new(format!(
                                "{} · {} · {} · {}",
                                m.id, m.params, m.quant, m.license
                            ))
                            .small()
                            .weak(),
                        );
                        if !m.description.is_empty() {
                            ui.set_max_width(380.0);
                            ui.add(egui::Label::new(RichText::new(&m.description).small()).wrap());
                        }
                    });
                    ui.label(widgets::fmt_bytes(m.size));
                    ui.label(format!("{:.1} GB", m.ram_mb as f64 / 1024.0));
                    let (text, color, why) = fits(m, ram);
                    widgets::chip(ui, text, color).on_hover_text(why);
                    status_ui(s, ui, m);
                    actions_ui(s, ui, m);
                    ui.end_row();
                }
            });
    });
}

fn status_ui(s: &AppState, ui: &mut Ui, m: &ModelEntry) {
    let status = s
        .models
        .statuses
        .get(&m.id)
        .cloned()
        .unwrap_or(Status::Missing);
    let loaded = s.model.id.as_deref() == Some(m.id.as_str()) && s.model.llm.is_some();
    ui.vertical(|ui| {
        match &status {
            Status::Missing => widgets::tag(ui, "not downloaded"),
            Status::Present => widgets::chip(ui, "downloaded", style::ACCENT),
            Status::Verified => widgets::chip(ui, "✔ verified", style::GOOD),
            Status::Corrupt(why) => widgets::chip(ui, "damaged", style::BAD).on_hover_text(why),
        };
        if loaded {
            widgets::chip(ui, "in use", style::GOOD);
        }
        match s.models.results.get(&m.id) {
            Some(Err(e)) => {
                ui.set_max_width(260.0);
                ui.add(egui::Label::new(RichText::new(e).small().color(style::BAD)).wrap());
            }
            Some(Ok(msg)) => {
                ui.set_max_width(260.0);
                ui.add(egui::Label::new(RichText::new(msg).small().weak()).wrap());
            }
            None => {}
        }
    });
}

fn actions_ui(s: &mut AppState, ui: &mut Ui, m: &ModelEntry) {
    let status = s
        .models
        .statuses
        .get(&m.id)
        .cloned()
        .unwrap_or(Status::Missing);
    ui.vertical(|ui| {
        if let Some(op) = s.models.ops.get(&m.id) {
            let bar = match op.fraction() {
                Some(f) => egui::ProgressBar::new(f).show_percentage(),
                None => egui::ProgressBar::new(0.0).animate(true),
            };
            ui.add(bar.desired_width(220.0));
            let bytes = match op.total {
                Some(t) if t > 1000 => format!(
                    " · {} of {}",
                    widgets::fmt_bytes(op.done),
                    widgets::fmt_bytes(t)
                ),
                _ => String::new(),
            };
            ui.label(RichText::new(format!("{}{bytes}", op.stage)).small().weak());
            if ui
                .button(format!("Cancel {}", op.op.label().to_lowercase()))
                .clicked()
            {
                s.push(Command::CancelModelOp(m.id.clone()));
            }
            return;
        }
        ui.horizontal(|ui| match status {
            Status::Missing => {
                if ui
                    .add(primary("⬇ Download"))
                    .on_hover_text(format!(
                        "{} from {}",
                        widgets::fmt_bytes(m.size),
                        sources(m)
                    ))
                    .clicked()
                {
                    s.push(Command::Fetch(m.id.clone()));
                }
            }
            Status::Corrupt(_) => {
                if ui.button("⬇ Download again").clicked() {
                    s.push(Command::Fetch(m.id.clone()));
                }
                if ui.button("🗑 Delete").clicked() {
                    s.push(Command::Remove(m.id.clone()));
                }
            }
            Status::Present | Status::Verified => {
                let active = s.model.id.as_deref() == Some(m.id.as_str())
                    || s.model.loading.as_deref() == Some(m.id.as_str());
                if active {
                    ui.add_enabled(false, egui::Button::new("Active"));
                } else if ui
                    .add(primary("Use"))
                    .on_hover_text("Load it as the interviewer (in the background)")
                    .clicked()
                {
                    s.push(Command::Activate(m.id.clone()));
                }
                if ui
                    .button("Verify")
                    .on_hover_text("Re-hash the file against its pinned sha256")
                    .clicked()
                {
                    s.push(Command::Verify(m.id.clone()));
                }
                if ui.button("🗑 Delete").clicked() {
                    s.push(Command::Remove(m.id.clone()));
                }
            }
        });
    });
}

fn sources(m: &ModelEntry) -> String {
    m.sources
        .iter()
        .map(|x| x.describe())
        .collect::<Vec<_>>()
        .join(", then ")
}

fn import_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Import a local GGUF");
        muted(
            ui,
            "A file you already have: it is checked, hashed and copied into the models folder.",
        );
        let busy = s.models.ops.contains_key(IMPORT_ID);
        ui.horizontal(|ui| {
            ui.add_enabled(
                !busy,
                egui::TextEdit::singleline(&mut s.models.import_path)
                    .hint_text("/path/to/model.gguf")
                    .desired_width(ui.available_width() - 90.0),
            );
            if ui
                .add_enabled(
                    !busy && !s.models.import_path.trim().is_empty(),
                    egui::Button::new("Import"),
                )
                .clicked()
            {
                s.push(Command::Import);
            }
        });
        if let Some(op) = s.models.ops.get(IMPORT_ID) {
            ui.add(egui::ProgressBar::new(op.fraction().unwrap_or(0.0)).text(op.stage.clone()));
            if ui.button("Cancel import").clicked() {
                s.push(Command::CancelModelOp(IMPORT_ID.into()));
            }
        }
        match s.models.results.get(IMPORT_ID) {
            Some(Ok(m)) => {
                ui.label(RichText::new(m).color(style::GOOD));
            }
            Some(Err(e)) => {
                ui.add(egui::Label::new(RichText::new(e).color(style::BAD)).wrap());
            }
            None => {}
        }
    });
}

fn runtime_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, "Runtime");
        let max_threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(8)
            .max(s.launch_threads);
        egui::Grid::new("runtime")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                ui.label("Device");
                egui::ComboBox::from_id_salt("device")
                    .selected_text(s.prefs.device.clone())
                    .show_ui(ui, |ui| {
                        for d in ["cpu", "cuda", "metal"] {
                            ui.selectable_value(&mut s.prefs.device, d.to_string(), d);
                        }
                    });
                ui.end_row();
                ui.label("CPU threads");
                let mut t = s.threads();
                if ui
                    .add(egui::Slider::new(&mut t, 1..=max_threads).text("threads"))
                    .changed()
                {
                    s.prefs.threads = t;
                }
                ui.end_row();
            });
        muted(
            ui,
            "CUDA and Metal need a build with `--features cuda` / `metal`.",
        );
        let wanted = (s.prefs.device.clone(), s.threads());
        let pending = s.model.runtime.as_ref().is_some_and(|r| *r != wanted);
        let label = if pending {
            "Apply & reload"
        } else {
            "Reload model"
        };
        let can = s.model.loading.is_none() && s.wanted_model().is_some();
        if ui.add_enabled(can, egui::Button::new(label)).clicked() {
            s.push(Command::ReloadModel);
        }
    });
}
