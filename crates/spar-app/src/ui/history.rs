//! History and progress: every session (the terminal's too), the per-dimension trend as a
//! chart, the weakest dimensions and a button to practise them.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use spar_core::select::DimensionStat;
use spar_core::session::Session;
use spar_core::taxonomy::Kind;

use super::style;
use super::widgets::{self, card, card_title, muted, option_combo, primary};
use crate::state::{AppState, Command};

const PALETTE: [egui::Color32; 6] = [
    egui::Color32::from_rgb(0x4f, 0x8c, 0xff),
    egui::Color32::from_rgb(0xe0, 0x55, 0x55),
    egui::Color32::from_rgb(0x3f, 0xb9, 0x6b),
    egui::Color32::from_rgb(0xe0, 0xa1, 0x2b),
    egui::Color32::from_rgb(0xa3, 0x6b, 0xf0),
    egui::Color32::from_rgb(0x2b, 0xc0, 0xc9),
];

pub fn history_ui(s: &mut AppState, ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.heading("History & progress");
        if s.history.loading {
            ui.add(egui::Spinner::new());
        } else if ui.button("⟳ Refresh").clicked() {
            s.push(Command::RefreshHistory);
        }
    });
    muted(
        ui,
        format!(
            "Sessions from the app and the terminal, read from {}",
            s.store.dir().display()
        ),
    );
    if let Some(e) = &s.history.error {
        ui.label(RichText::new(e).color(style::BAD));
    }
    ui.add_space(6.0);
    if s.history.loaded && s.history.sessions.is_empty() {
        card(ui, |ui| {
            card_title(ui, "No sessions yet");
            muted(
                ui,
                "Start one from Home, or in the terminal with `spar practice`.",
            );
        });
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .show(ui, |ui| {
            progress_ui(s, ui);
            ui.add_space(10.0);
            widgets::two_columns(ui, |ui, i| {
                if i == 0 {
                    sessions_ui(s, ui)
                } else {
                    detail_ui(s, ui)
                }
            });
        });
}

/// The dimensions to chart: the chosen kind's, else the weakest five with data.
fn charted<'a>(
    stats: &'a [DimensionStat],
    weakest: &[spar_core::taxonomy::Dimension],
    kind: Option<Kind>,
) -> Vec<&'a DimensionStat> {
    match kind {
        Some(k) => stats
            .iter()
            .filter(|st| k.has_dimension(st.dimension))
            .collect(),
        None => {
            let mut v: Vec<&DimensionStat> = weakest
                .iter()
                .filter_map(|d| stats.iter().find(|st| st.dimension == *d))
                .collect();
            let mut rest: Vec<&DimensionStat> = stats
                .iter()
                .filter(|st| !weakest.contains(&st.dimension))
                .collect();
            rest.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            v.extend(rest);
            v.truncate(5);
            v
        }
    }
}

fn progress_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        ui.horizontal(|ui| {
            card_title(ui, "Coverage by dimension over time");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                option_combo(
                    ui,
                    "Chart",
                    &mut s.history.chart_kind,
                    Kind::ALL,
                    Kind::title,
                );
            });
        });
        let lines = charted(&s.history.stats, &s.history.weakest, s.history.chart_kind);
        if lines.is_empty() {
            muted(ui, "The chart fills in as questions are critiqued.");
            return;
        }
        muted(
            ui,
            "Running share of attempts where a dimension was covered (partial counts half); each point is a critiqued question.",
        );
        // Room on the right for the legend, so it does not cover the newest points.
        let xs = s
            .history
            .overall
            .iter()
            .map(|p| p.0)
            .chain(lines.iter().flat_map(|st| st.trend.iter().map(|p| p.0)));
        let (lo, hi) = xs.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let span = (hi.saturating_sub(lo) as f64 / 86_400_000.0).max(1.0);
        let plot = Plot::new("trend")
            .height(240.0)
            .include_x(hi as f64 / 86_400_000.0 + span * 0.35)
            .include_x(lo.min(hi) as f64 / 86_400_000.0 - span * 0.03)
            .legend(Legend::default())
            .include_y(0.0)
            .include_y(1.0)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_boxed_zoom(false)
            .y_axis_formatter(|m, _| format!("{:.0}%", m.value * 100.0))
            .x_axis_formatter(|m, _| widgets::fmt_day((m.value.max(0.0) * 86_400_000.0) as u64));
        let day = |t: &u64| *t as f64 / 86_400_000.0;
        let overall: Vec<[f64; 2]> = s
            .history
            .overall
            .iter()
            .map(|(t, v)| [day(t), *v])
            .collect();
        let text_color = ui.visuals().strong_text_color();
        plot.show(ui, |p| {
            if s.history.chart_kind.is_none() && !overall.is_empty() {
                let name = "All dimensions";
                p.line(
                    Line::new(name, PlotPoints::new(overall.clone()))
                        .color(text_color)
                        .width(3.0),
                );
                p.points(
                    Points::new(name, PlotPoints::new(overall))
                        .color(text_color)
                        .radius(4.0),
                );
            }
            for (i, st) in lines.iter().enumerate() {
                let pts: Vec<[f64; 2]> = st.trend.iter().map(|(t, v)| [day(t), *v]).collect();
                let color = PALETTE[i % PALETTE.len()];
                let name = st.dimension.label();
                p.line(
                    Line::new(name, PlotPoints::new(pts.clone()))
                        .color(color)
                        .width(2.0),
                );
                p.points(
                    Points::new(name, PlotPoints::new(pts))
                        .color(color)
                        .radius(3.5),
                );
            }
        });
        ui.add_space(6.0);
        weakest_ui(s, ui);
    });
}

fn weakest_ui(s: &mut AppState, ui: &mut Ui) {
    if s.history.weakest.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Weakest:").strong());
        for d in s.history.weakest.clone() {
            let rate = s
                .history
                .stats
                .iter()
                .find(|x| x.dimension == d)
                .map(|x| x.rate)
                .unwrap_or(0.0);
            widgets::chip(
                ui,
                &format!("{} {:.0}%", d.label(), rate * 100.0),
                style::score_color(1 + (rate * 4.0).round() as u8),
            );
        }
        if ui
            .add_enabled(
                s.practice.busy.is_none() && s.bank().is_some(),
                primary("Practise these"),
            )
            .clicked()
        {
            s.push(Command::DrillWeakSpots);
        }
    });
}

fn status_text(x: &Session) -> &'static str {
    if x.is_complete() {
        "done"
    } else {
        "unfinished"
    }
}

fn sessions_ui(s: &mut AppState, ui: &mut Ui) {
    card(ui, |ui| {
        card_title(ui, &format!("Sessions ({})", s.history.sessions.len()));
        let rows: Vec<(String, String, String, Option<f32>, &'static str)> = s
            .history
            .sessions
            .iter()
            .map(|x| {
                (
                    x.id.clone(),
                    widgets::fmt_date(x.updated_ms),
                    x.track.describe(),
                    x.mean_score(),
                    status_text(x),
                )
            })
            .collect();
        if s.history.selected.is_none()
            && let Some((id, ..)) = rows.first()
        {
            s.push(Command::SelectSession(id.clone()));
        }
        egui::Grid::new("sessions")
            .num_columns(3)
            .striped(true)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for (id, date, track, score, status) in rows {
                    let selected = s.history.selected.as_deref() == Some(id.as_str());
                    let text = RichText::new(format!("{date}   {track}"));
                    if ui
                        .add(
                            egui::Button::selectable(selected, text)
                                .right_text("")
                                .min_size(egui::vec2(300.0, 0.0)),
                        )
                        .clicked()
                    {
                        s.push(Command::SelectSession(id.clone()));
                    }
                    match score {
                        Some(m) => widgets::chip(
                            ui,
                            &format!("{m:.1}"),
                            style::score_color(m.round() as u8),
                        ),
                        None => widgets::chip(ui, "–", ui.visuals().weak_text_color()),
                    };
                    ui.label(RichText::new(status).small().weak());
                    ui.end_row();
                }
            });
    });
}

fn detail_ui(s: &mut AppState, ui: &mut Ui) {
    let Some(session) = s
        .history
        .selected
        .as_deref()
        .and_then(|id| s.saved_session(id))
        .cloned()
    else {
        card(ui, |ui| muted(ui, "Select a session to see its questions."));
        return;
    };
    card(ui, |ui| {
        card_title(ui, &session.track.describe());
        muted(
            ui,
            format!(
                "{} · started {} · {}",
                session.id,
                widgets::fmt_date(session.created_ms),
                session
                    .model
                    .as_deref()
                    .map(|m| format!("interviewer {m}"))
                    .unwrap_or_else(|| "no model".into())
            ),
        );
        ui.add_space(4.0);
        for (i, item) in session.items.iter().enumerate() {
            let title = s
                .bank()
                .and_then(|b| b.get(&item.question_id))
                .map(|q| q.title.clone())
                .unwrap_or_else(|| item.question_id.clone());
            let detail = format!(
                "{} · {} · {} turn(s)",
                item.kind.title(),
                item.level.label(),
                item.turns.len()
            );
            let score = item.critique.as_ref().map(|c| c.score);
            egui::Sides::new().shrink_left().show(
                ui,
                |ui| {
                    match score {
                        Some(sc) => widgets::score_badge(ui, sc, 26.0),
                        None => {
                            widgets::tag(ui, "open");
                        }
                    }
                    ui.vertical(|ui| {
                        ui.add(
                            egui::Label::new(RichText::new(format!("{}. {title}", i + 1)).strong())
                                .wrap(),
                        );
                        ui.label(RichText::new(detail).small().weak());
                    });
                },
                |ui| {
                    if score.is_some() && ui.button(format!("Scorecard {}", i + 1)).clicked() {
                        s.push(Command::OpenScorecard {
                            session: session.id.clone(),
                            item: i,
                        });
                    }
                },
            );
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui
                .button("⬇ Export session")
                .on_hover_text("Markdown in the data folder's exports/")
                .clicked()
            {
                s.push(Command::ExportSession(session.id.clone()));
            }
            let open = s
                .practice
                .session
                .as_ref()
                .is_some_and(|p| p.id == session.id)
                && s.practice.finished.is_none();
            if !session.is_complete()
                && !open
                && s.history
                    .unfinished
                    .as_ref()
                    .is_some_and(|u| u.id == session.id)
                && ui.button("Resume").clicked()
            {
                s.push(Command::Resume);
            }
        });
    });
}
