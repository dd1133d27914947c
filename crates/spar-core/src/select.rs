//! Which question comes next: unseen questions first, aimed at the user's weakest dimensions;
//! once everything has been seen, spaced repetition — low scores come back soon, high scores
//! after weeks — again weighted by weakness.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::critique::Coverage;
use crate::question::Question;
use crate::session::Session;
use crate::taxonomy::Dimension;

const DAY_MS: f64 = 86_400_000.0;
/// Half-life of old evidence about a dimension.
const HALF_LIFE_DAYS: f64 = 21.0;

/// How a user does on one dimension across past sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionStat {
    pub dimension: Dimension,
    /// Times the dimension was graded.
    pub attempts: usize,
    /// Recency-weighted share covered (partial counts half).
    pub rate: f64,
    /// (time, covered share) points, oldest first, for a trend chart.
    pub trend: Vec<(u64, f64)>,
}

/// Per-dimension statistics over `sessions` as of `now_ms`.
pub fn dimension_stats(sessions: &[Session], now_ms: u64) -> Vec<DimensionStat> {
    /// (attempts, weighted covered, total weight, points)
    type Acc = (usize, f64, f64, Vec<(u64, f64)>);
    let mut acc: BTreeMap<Dimension, Acc> = BTreeMap::new();
    for s in sessions {
        for item in &s.items {
            let Some(c) = &item.critique else { continue };
            let at = item
                .turns
                .last()
                .map(|t| t.at_ms)
                .unwrap_or(item.started_ms);
            let age_days = now_ms.saturating_sub(at) as f64 / DAY_MS;
            let w = 0.5f64.powf(age_days / HALF_LIFE_DAYS);
            for f in &c.dimensions {
                let v = match f.coverage {
                    Coverage::Covered => 1.0,
                    Coverage::Partial => 0.5,
                    Coverage::Missing => 0.0,
                };
                let e = acc.entry(f.dimension).or_default();
                e.0 += 1;
                e.1 += w * v;
                e.2 += w;
                e.3.push((at, v));
            }
        }
    }
    acc.into_iter()
        .map(|(dimension, (attempts, num, den, mut points))| {
            points.sort_by_key(|p| p.0);
            // Running mean for a smoother trend line.
            let mut trend = Vec::with_capacity(points.len());
            let mut sum = 0.0;
            for (i, (t, v)) in points.iter().enumerate() {
                sum += v;
                trend.push((*t, sum / (i + 1) as f64));
            }
            DimensionStat {
                dimension,
                attempts,
                rate: if den > 0.0 { num / den } else { 0.0 },
                trend,
            }
        })
        .collect()
}

/// The weakest dimensions first (at least `min_attempts` attempts).
pub fn weakest(stats: &[DimensionStat], min_attempts: usize, n: usize) -> Vec<Dimension> {
    let mut v: Vec<&DimensionStat> = stats
        .iter()
        .filter(|s| s.attempts >= min_attempts)
        .collect();
    v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    v.into_iter().take(n).map(|s| s.dimension).collect()
}

/// Days until a question should come back after scoring `score`.
fn interval_days(score: u8) -> f64 {
    match score {
        0..=2 => 1.0,
        3 => 3.0,
        4 => 10.0,
        _ => 30.0,
    }
}

/// Picks the next question among `candidates`. `exclude` holds ids already used in the
/// current session.
pub fn next<'q>(
    candidates: &[&'q Question],
    history: &[Session],
    exclude: &[String],
    now_ms: u64,
    salt: u64,
) -> Option<&'q Question> {
    let stats = dimension_stats(history, now_ms);
    let weakness: HashMap<Dimension, f64> =
        stats.iter().map(|s| (s.dimension, 1.0 - s.rate)).collect();
    let mut last: HashMap<&str, (u64, u8)> = HashMap::new();
    for s in history {
        for i in &s.items {
            if let Some(c) = &i.critique {
                let e = last.entry(i.question_id.as_str()).or_insert((0, 0));
                if i.started_ms >= e.0 {
                    *e = (i.started_ms, c.score);
                }
            }
        }
    }
    let pool: Vec<&&Question> = candidates
        .iter()
        .filter(|q| !exclude.contains(&q.id))
        .collect();
    let focus = |q: &Question| -> f64 {
        let w: f64 = q
            .dimensions
            .iter()
            .map(|d| weakness.get(d).copied().unwrap_or(0.5))
            .sum();
        w / q.dimensions.len().max(1) as f64
    };
    // A stable per-question jitter so equal candidates rotate with the salt.
    let jitter = |q: &Question| -> f64 {
        let mut h: u64 = salt ^ 0x9E37_79B9_7F4A_7C15;
        for b in q.id.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
        }
        (h % 1000) as f64 / 1e5
    };
    let unseen: Vec<&&Question> = pool
        .iter()
        .copied()
        .filter(|q| !last.contains_key(q.id.as_str()))
        .collect();
    if !unseen.is_empty() {
        return unseen
            .into_iter()
            .max_by(|a, b| (focus(a) + jitter(a)).total_cmp(&(focus(b) + jitter(b))))
            .copied();
    }
    pool.into_iter()
        .max_by(|a, b| {
            let due = |q: &Question| {
                let (t, score) = last[q.id.as_str()];
                let days = now_ms.saturating_sub(t) as f64 / DAY_MS;
                days / interval_days(score) + focus(q) + jitter(q)
            };
            due(a).total_cmp(&due(b))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::critique::{Critique, DimensionFinding, anchor};
    use crate::session::{Item, Settings};
    use crate::taxonomy::{Kind, Level};
    use crate::track::Track;

    fn question(id: &str, dims: &[Dimension]) -> Question {
        Question {
            id: id.into(),
            kind: Kind::Algorithm,
            title: id.into(),
            prompt: "p".into(),
            levels: vec![Level::Mid],
            regions: vec![],
            stacks: vec![],
            topics: vec![],
            dimensions: dims.to_vec(),
            key_points: vec![],
            reference_answer: String::new(),
            follow_ups: vec![],
            pitfalls: vec![],
            scenario: None,
            time_limit_s: None,
        }
    }

    fn done(id: &str, score: u8, dims: &[(Dimension, Coverage)], at: u64) -> Session {
        let mut s = Session::new(
            format!("s-{id}-{at}"),
            Track::default(),
            Settings::default(),
            at,
        );
        let mut item = Item::new(id, Kind::Algorithm, Level::Mid, "p", 60, at);
        item.critique = Some(Critique {
            kind: Kind::Algorithm,
            level: Level::Mid,
            question_id: Some(id.into()),
            score,
            anchor: anchor(score, Level::Mid),
            dimensions: dims
                .iter()
                .map(|(d, c)| DimensionFinding {
                    dimension: *d,
                    coverage: *c,
                    confidence: 0.5,
                    evidence: None,
                    note: String::new(),
                })
                .collect(),
            not_applicable: vec![],
            key_points: vec![],
            strengths: vec![],
            gaps: vec![],
            improved_passage: String::new(),
            summary: String::new(),
            flags: Default::default(),
            graded_by: "test".into(),
        });
        s.items.push(item);
        s
    }

    #[test]
    fn unseen_first_then_weakest_dimensions() {
        use Dimension::*;
        let a = question("a", &[Complexity]);
        let b = question("b", &[Testing]);
        let c = question("c", &[Complexity]);
        let history = vec![
            done("a", 2, &[(Complexity, Coverage::Covered)], 0),
            done("x", 2, &[(Testing, Coverage::Missing)], 0),
        ];
        let pick = next(&[&a, &b, &c], &history, &[], DAY_MS as u64, 1).unwrap();
        assert_eq!(pick.id, "b", "unseen, and testing is the weak dimension");
        let pick = next(&[&a, &c], &history, &[], DAY_MS as u64, 1).unwrap();
        assert_eq!(pick.id, "c", "unseen beats seen");
    }

    #[test]
    fn spaced_repetition_brings_low_scores_back_first() {
        use Dimension::*;
        let a = question("a", &[Complexity]);
        let b = question("b", &[Complexity]);
        let history = vec![
            done("a", 5, &[(Complexity, Coverage::Covered)], 0),
            done("b", 2, &[(Complexity, Coverage::Covered)], 0),
        ];
        let pick = next(&[&a, &b], &history, &[], 2 * DAY_MS as u64, 7).unwrap();
        assert_eq!(pick.id, "b");
    }

    #[test]
    fn stats_and_weakest() {
        use Dimension::*;
        let history = vec![
            done(
                "a",
                3,
                &[
                    (Complexity, Coverage::Covered),
                    (Testing, Coverage::Missing),
                ],
                0,
            ),
            done(
                "b",
                3,
                &[
                    (Complexity, Coverage::Partial),
                    (Testing, Coverage::Missing),
                ],
                1000,
            ),
        ];
        let stats = dimension_stats(&history, 2000);
        assert_eq!(weakest(&stats, 1, 1), vec![Testing]);
        let c = stats.iter().find(|s| s.dimension == Complexity).unwrap();
        assert!((c.rate - 0.75).abs() < 1e-3);
        assert_eq!(c.trend.len(), 2);
    }
}
