//! Small pieces the screens share: cards, chips, score badges, combo boxes, formatting.

use egui::{Color32, CornerRadius, Margin, RichText, Ui};
use spar_core::critique::Coverage;

use super::style;

/// A rounded panel with a title line.
pub fn card<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> egui::InnerResponse<R> {
    let v = ui.visuals();
    egui::Frame::new()
        .fill(style::card_fill(v))
        .stroke(v.widgets.noninteractive.bg_stroke)
        .corner_radius(CornerRadius::same(10))
        .inner_margin(Margin::same(14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui)
        })
}

/// A card's title.
pub fn card_title(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).text_style(style::title()).strong());
}

/// Secondary text.
pub fn muted(ui: &mut Ui, text: impl Into<String>) -> egui::Response {
    ui.label(RichText::new(text.into()).weak())
}

/// A small coloured tag (never wraps, never stretches).
pub fn chip(ui: &mut Ui, text: &str, color: Color32) -> egui::Response {
    let label = egui::Label::new(RichText::new(text).color(color).small().strong()).extend();
    framed(ui, color.gamma_multiply(0.22), egui::Stroke::NONE, label)
}

/// A neutral tag.
pub fn tag(ui: &mut Ui, text: &str) -> egui::Response {
    let c = ui.visuals().text_color();
    let stroke = ui.visuals().widgets.noninteractive.bg_stroke;
    let label = egui::Label::new(RichText::new(text).color(c).small()).extend();
    framed(ui, ui.visuals().faint_bg_color, stroke, label)
}

fn framed(ui: &mut Ui, fill: Color32, stroke: egui::Stroke, label: egui::Label) -> egui::Response {
    // A horizontal scope keeps the frame at its content's height inside grid cells.
    ui.horizontal(|ui| {
        egui::Frame::new()
            .fill(fill)
            .stroke(stroke)
            .corner_radius(CornerRadius::same(8))
            .inner_margin(Margin::symmetric(7, 2))
            .show(ui, |ui| ui.add(label))
            .inner
    })
    .inner
}

/// A horizontal bar filled to `fraction`, with `text` after it.
pub fn meter(ui: &mut Ui, fraction: f32, color: Color32, text: &str) {
    ui.horizontal(|ui| {
        let h = ui.text_style_height(&egui::TextStyle::Small) * 0.7;
        let (rect, _) = ui.allocate_exact_size(egui::vec2(120.0, h), egui::Sense::hover());
        let r = CornerRadius::same((h / 2.0) as u8);
        ui.painter()
            .rect_filled(rect, r, ui.visuals().extreme_bg_color);
        let fill = rect.with_max_x(rect.min.x + rect.width() * fraction.clamp(0.0, 1.0));
        if fill.width() > 0.5 {
            ui.painter().rect_filled(fill, r, color);
        }
        ui.label(RichText::new(text).small().weak());
    });
}

/// Two side-by-side columns laid out top-down and unjustified; `add` gets each column's `Ui`
/// and its index.
pub fn two_columns(ui: &mut Ui, mut add: impl FnMut(&mut Ui, usize)) {
    ui.columns(2, |cols| {
        for (i, col) in cols.iter_mut().enumerate() {
            col.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| add(ui, i));
        }
    });
}

/// "1 try", "3 tries".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A small filled circle (status light).
pub fn dot(ui: &mut Ui, color: Color32) {
    let size = ui.text_style_height(&egui::TextStyle::Small);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), size * 0.32, color);
}

/// A big round score.
pub fn score_badge(ui: &mut Ui, score: u8, size: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    let c = style::score_color(score);
    ui.painter()
        .circle_filled(rect.center(), size / 2.0, c.gamma_multiply(0.25));
    ui.painter()
        .circle_stroke(rect.center(), size / 2.0 - 1.0, egui::Stroke::new(2.0, c));
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        format!("{score}"),
        egui::FontId::proportional(size * 0.5),
        c,
    );
}

pub fn coverage_color(c: Coverage) -> Color32 {
    match c {
        Coverage::Covered => style::GOOD,
        Coverage::Partial => style::WARN,
        Coverage::Missing => style::BAD,
    }
}

pub fn coverage_chip(ui: &mut Ui, c: Coverage) -> egui::Response {
    let text = match c {
        Coverage::Covered => "✔ covered",
        Coverage::Partial => "~ partial",
        Coverage::Missing => "✖ missing",
    };
    chip(ui, text, coverage_color(c))
}

/// A filled accent button for the main action of a view.
pub fn primary(text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(RichText::new(text.into()).color(Color32::WHITE).strong()).fill(style::ACCENT)
}

/// A combo box over an optional value, "Any" meaning `None`.
pub fn option_combo<T: Copy + PartialEq>(
    ui: &mut Ui,
    label: &str,
    value: &mut Option<T>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> bool {
    let before = *value;
    let shown = value.map(&name).unwrap_or("Any");
    ui.horizontal(|ui| {
        let l = ui.label(label);
        let r = egui::ComboBox::from_id_salt(label)
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(value, None, "Any");
                for t in all {
                    ui.selectable_value(value, Some(*t), name(*t));
                }
            });
        r.response.labelled_by(l.id);
    });
    before != *value
}

/// `12.3 MB`, `1.1 GB`.
pub fn fmt_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.0} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.0} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// `m:ss`, negative past the limit.
pub fn fmt_clock(s: i64) -> String {
    let sign = if s < 0 { "-" } else { "" };
    let s = s.abs();
    format!("{sign}{}:{:02}", s / 60, s % 60)
}

/// `2025-03-07 14:05` (UTC) from milliseconds since the epoch.
pub fn fmt_date(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// `2025-03-07` from milliseconds since the epoch.
pub fn fmt_day(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / 86_400_000) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day) — Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(491_400_064), "491 MB");
        assert_eq!(fmt_bytes(1_117_320_768), "1.12 GB");
        assert_eq!(fmt_clock(-75), "-1:15");
        assert_eq!(fmt_clock(600), "10:00");
        assert_eq!(fmt_date(0), "1970-01-01 00:00");
        assert_eq!(fmt_date(1_709_820_300_000), "2024-03-07 14:05");
        assert_eq!(fmt_day(951_782_400_000), "2000-02-29");
    }
}
