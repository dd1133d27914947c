//! Frame-time bookkeeping: how long each call of the app's `ui` took, as a rolling window
//! (last, p95, max) plus the worst frame seen while the model was generating. The budget is
//! 50 ms: nothing slow may run on the UI thread.

use std::collections::VecDeque;
use std::time::Duration;

/// The longest a frame may take while the model generates.
pub const BUDGET_MS: f32 = 50.0;

/// Rolling frame statistics.
#[derive(Debug, Clone)]
pub struct FrameStats {
    recent: VecDeque<f32>,
    capacity: usize,
    total: u64,
    generating_frames: u64,
    generating_max_ms: f32,
    generating_over_budget: u64,
}

impl Default for FrameStats {
    fn default() -> Self {
        Self::new(240)
    }
}

impl FrameStats {
    /// Keeps the last `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Self {
            recent: VecDeque::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
            total: 0,
            generating_frames: 0,
            generating_max_ms: 0.0,
            generating_over_budget: 0,
        }
    }

    /// Records one frame's `ui` time; `generating` when the model was producing text.
    pub fn record(&mut self, took: Duration, generating: bool) {
        let ms = took.as_secs_f32() * 1e3;
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(ms);
        self.total += 1;
        if generating {
            self.generating_frames += 1;
            self.generating_max_ms = self.generating_max_ms.max(ms);
            if ms > BUDGET_MS {
                self.generating_over_budget += 1;
            }
        }
    }

    /// Frames recorded since start.
    pub fn frames(&self) -> u64 {
        self.total
    }

    pub fn last_ms(&self) -> f32 {
        self.recent.back().copied().unwrap_or(0.0)
    }

    /// The slowest frame in the window.
    pub fn max_ms(&self) -> f32 {
        self.recent.iter().copied().fold(0.0, f32::max)
    }

    /// The 95th percentile of the window (nearest rank).
    pub fn p95_ms(&self) -> f32 {
        if self.recent.is_empty() {
            return 0.0;
        }
        let mut v: Vec<f32> = self.recent.iter().copied().collect();
        v.sort_by(f32::total_cmp);
        let rank = ((v.len() as f32) * 0.95).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }

    /// Frames recorded while the model generated.
    pub fn generating_frames(&self) -> u64 {
        self.generating_frames
    }

    /// The slowest frame while the model generated (since start).
    pub fn generating_max_ms(&self) -> Option<f32> {
        (self.generating_frames > 0).then_some(self.generating_max_ms)
    }

    /// Frames over [`BUDGET_MS`] while the model generated.
    pub fn generating_over_budget(&self) -> u64 {
        self.generating_over_budget
    }

    /// One line for the status bar.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "ui {:.1} ms · p95 {:.1} · max {:.1}",
            self.last_ms(),
            self.p95_ms(),
            self.max_ms()
        );
        if let Some(g) = self.generating_max_ms() {
            s.push_str(&format!(" · while generating max {g:.1}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f32) -> Duration {
        Duration::from_secs_f32(v / 1e3)
    }

    #[test]
    fn window_percentile_and_generation_max() {
        let mut f = FrameStats::new(100);
        for i in 1..=100 {
            f.record(ms(i as f32), false);
        }
        assert!((f.p95_ms() - 95.0).abs() < 0.01, "{}", f.p95_ms());
        assert!((f.max_ms() - 100.0).abs() < 0.01);
        assert_eq!(f.generating_max_ms(), None);
        f.record(ms(3.0), true);
        f.record(ms(60.0), true);
        assert!((f.generating_max_ms().unwrap() - 60.0).abs() < 0.01);
        assert_eq!(f.generating_over_budget(), 1);
        assert_eq!(f.frames(), 102);
        // The window drops the oldest frames.
        assert!((f.max_ms() - 100.0).abs() < 0.01);
        for _ in 0..100 {
            f.record(ms(1.0), false);
        }
        assert!((f.max_ms() - 1.0).abs() < 0.01);
    }
}
