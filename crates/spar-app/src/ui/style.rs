//! The look: text sizes from the font-size preference, spacing, rounded widgets and a few
//! semantic colours shared by the screens.

use egui::{Color32, CornerRadius, FontFamily, FontId, TextStyle, Visuals};

/// The accent (buttons that start things, selection).
pub const ACCENT: Color32 = Color32::from_rgb(0x4f, 0x8c, 0xff);
pub const GOOD: Color32 = Color32::from_rgb(0x3f, 0xb9, 0x6b);
pub const WARN: Color32 = Color32::from_rgb(0xe0, 0xa1, 0x2b);
pub const BAD: Color32 = Color32::from_rgb(0xe0, 0x55, 0x55);

/// The text style of card titles.
pub fn title() -> TextStyle {
    TextStyle::Name("title".into())
}

/// Applies text sizes and widget styling for body text of `size` points to both themes.
pub fn apply(ctx: &egui::Context, size: f32) {
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(size * 1.55, FontFamily::Proportional),
            ),
            (title(), FontId::new(size * 1.2, FontFamily::Proportional)),
            (TextStyle::Body, FontId::new(size, FontFamily::Proportional)),
            (
                TextStyle::Monospace,
                FontId::new(size * 0.92, FontFamily::Monospace),
            ),
            (
                TextStyle::Button,
                FontId::new(size, FontFamily::Proportional),
            ),
            (
                TextStyle::Small,
                FontId::new(size * 0.8, FontFamily::Proportional),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 7.0);
        style.spacing.button_padding = egui::vec2(10.0, 5.0);
        style.spacing.interact_size.y = (size + 9.0).max(22.0);
        tune(&mut style.visuals);
    });
}

fn tune(v: &mut Visuals) {
    let r = CornerRadius::same(6);
    for w in [
        &mut v.widgets.noninteractive,
        &mut v.widgets.inactive,
        &mut v.widgets.hovered,
        &mut v.widgets.active,
        &mut v.widgets.open,
    ] {
        w.corner_radius = r;
    }
    v.window_corner_radius = CornerRadius::same(10);
    v.selection.bg_fill = ACCENT.gamma_multiply(if v.dark_mode { 0.55 } else { 0.35 });
    v.hyperlink_color = ACCENT;
    if v.dark_mode {
        v.panel_fill = Color32::from_rgb(0x1b, 0x1d, 0x22);
        v.window_fill = Color32::from_rgb(0x22, 0x25, 0x2b);
        v.faint_bg_color = Color32::from_rgb(0x24, 0x27, 0x2e);
        v.extreme_bg_color = Color32::from_rgb(0x13, 0x14, 0x18);
    } else {
        v.panel_fill = Color32::from_rgb(0xf4, 0xf5, 0xf7);
        v.window_fill = Color32::WHITE;
        v.faint_bg_color = Color32::from_rgb(0xfb, 0xfb, 0xfc);
        v.extreme_bg_color = Color32::WHITE;
    }
}

/// Card background: a step lighter (dark) or white (light) than the panel.
pub fn card_fill(v: &Visuals) -> Color32 {
    if v.dark_mode {
        Color32::from_rgb(0x25, 0x28, 0x30)
    } else {
        Color32::WHITE
    }
}

/// The navigation bar's background.
pub fn nav_fill(v: &Visuals) -> Color32 {
    if v.dark_mode {
        Color32::from_rgb(0x15, 0x17, 0x1b)
    } else {
        Color32::from_rgb(0xe9, 0xeb, 0xef)
    }
}

/// A colour for a 1–5 score.
pub fn score_color(score: u8) -> Color32 {
    match score {
        0..=2 => BAD,
        3 => WARN,
        _ => GOOD,
    }
}
