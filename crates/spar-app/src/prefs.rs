//! What the app remembers between runs: appearance, language, practice timers, the data folder
//! override and the model choice. Persisted by eframe (`persistence`); every field has a
//! default, so a preferences file from an older or newer version still loads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use spar_core::session::Settings;
use spar_core::taxonomy::{Kind, Level, Region, Stack};
use spar_core::track::Track;

/// Light or dark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

/// The language the interviewer model speaks (model-written text only; the bank is English).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    #[default]
    English,
    Japanese,
    Korean,
    Chinese,
    Portuguese,
    Vietnamese,
    Spanish,
}

impl Language {
    pub const ALL: &'static [Language] = &[
        Language::English,
        Language::Japanese,
        Language::Korean,
        Language::Chinese,
        Language::Portuguese,
        Language::Vietnamese,
        Language::Spanish,
    ];

    /// The English name, as the coach's prompts use it.
    pub fn name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Japanese => "Japanese",
            Language::Korean => "Korean",
            Language::Chinese => "Chinese",
            Language::Portuguese => "Portuguese",
            Language::Vietnamese => "Vietnamese",
            Language::Spanish => "Spanish",
        }
    }

    /// The name in the language itself.
    pub fn native(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Japanese => "日本語",
            Language::Korean => "한국어",
            Language::Chinese => "中文",
            Language::Portuguese => "Português",
            Language::Vietnamese => "Tiếng Việt",
            Language::Spanish => "Español",
        }
    }

    /// What `CoachOptions::language` gets: `None` for English (the prompts' own language).
    pub fn coach_language(self) -> Option<&'static str> {
        match self {
            Language::English => None,
            other => Some(other.name()),
        }
    }

    /// Whether text in this language needs a CJK font.
    pub fn needs_cjk(self) -> bool {
        matches!(
            self,
            Language::Japanese | Language::Korean | Language::Chinese
        )
    }
}

/// The track picked on the home screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackChoice {
    pub kind: Option<Kind>,
    pub level: Option<Level>,
    pub region: Option<Region>,
    pub stack: Option<Stack>,
}

impl TrackChoice {
    pub fn track(&self) -> Track {
        Track {
            kind: self.kind,
            level: self.level,
            region: self.region,
            stack: self.stack,
            loop_id: None,
        }
    }
}

/// Persisted preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub theme: Theme,
    /// Body text size in points.
    pub font_size: f32,
    pub language: Language,
    /// Overrides the data folder (`SPAR_DATA_DIR`, else the platform data folder).
    pub data_dir: Option<PathBuf>,
    /// Follow-up questions before each critique.
    pub follow_ups: u8,
    /// Questions per session (a mock loop uses its own round count).
    pub questions: u8,
    /// Show the countdown prominently and warn when time is up.
    pub pressure: bool,
    /// Minutes per question, overriding the kind's default.
    pub minutes: Option<u32>,
    /// Registry id (or .gguf path) of the interviewer model.
    pub active_model: Option<String>,
    /// `cpu`, `cuda`, `cuda:N` or `metal`.
    pub device: String,
    /// CPU threads for inference; 0 uses the launch default.
    pub threads: usize,
    pub track: TrackChoice,
}

impl Default for Prefs {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            theme: Theme::Dark,
            font_size: 15.0,
            language: Language::English,
            data_dir: None,
            follow_ups: s.follow_ups,
            questions: s.questions,
            pressure: false,
            minutes: None,
            active_model: None,
            device: "cpu".into(),
            threads: 0,
            track: TrackChoice::default(),
        }
    }
}

impl Prefs {
    pub const MIN_FONT: f32 = 11.0;
    pub const MAX_FONT: f32 = 24.0;

    /// Session settings from the timer preferences.
    pub fn settings(&self) -> Settings {
        Settings {
            follow_ups: self.follow_ups.min(5),
            pressure: self.pressure,
            questions: self.questions.clamp(1, 20),
            time_limit_s: self.minutes.map(|m| m.max(1) * 60),
            ..Settings::default()
        }
    }

    /// The font size clamped to a usable range (a hand-edited file may hold anything).
    pub fn font_size(&self) -> f32 {
        if self.font_size.is_finite() {
            self.font_size.clamp(Self::MIN_FONT, Self::MAX_FONT)
        } else {
            15.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_defaults() {
        let p: Prefs = serde_json::from_str(r#"{"theme":"Light","questions":5}"#).unwrap();
        assert_eq!(p.theme, Theme::Light);
        assert_eq!(p.questions, 5);
        assert_eq!(p.follow_ups, Settings::default().follow_ups);
        assert_eq!(p.device, "cpu");
    }

    #[test]
    fn settings_follow_the_timers() {
        let p = Prefs {
            minutes: Some(7),
            pressure: true,
            follow_ups: 1,
            questions: 0,
            ..Prefs::default()
        };
        let s = p.settings();
        assert_eq!(s.time_limit_s, Some(420));
        assert!(s.pressure);
        assert_eq!(s.follow_ups, 1);
        assert_eq!(s.questions, 1, "at least one question");
    }

    #[test]
    fn english_is_the_prompts_own_language() {
        assert_eq!(Language::English.coach_language(), None);
        assert_eq!(Language::Japanese.coach_language(), Some("Japanese"));
        assert!(Language::Korean.needs_cjk());
        assert!(!Language::Vietnamese.needs_cjk());
    }
}
