//! Scoring predictions against labels and writing the report (JSON, Markdown, PNG chart).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use spar_core::metrics::{Confusion, percentile, qwk, spearman};
use spar_core::taxonomy::{Dimension, Kind};

use crate::item::EvalItem;
use crate::png::Canvas;

/// The first follow-up the coach would ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedPushback {
    pub dimension: Dimension,
    pub text: String,
}

/// One prediction line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub id: String,
    pub score: u8,
    pub covered: Vec<Dimension>,
    pub missing: Vec<Dimension>,
    pub na: Vec<Dimension>,
    pub pushback: PredictedPushback,
    pub critique: String,
    pub latency_ms: u64,
}

/// Metrics over a set of items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub items: usize,
    pub qwk: Option<f64>,
    pub spearman: Option<f64>,
    pub exact_accuracy: f64,
    pub mean_abs_error: f64,
    /// Macro over both classes and every dimension.
    pub dimension_macro_f1: Option<f64>,
    /// Claimed missing (or n/a), labelled covered.
    pub false_criticism_rate: Option<f64>,
    pub pushback_targeting: Option<f64>,
    pub injection_items: usize,
    /// Injection items scored above their label.
    pub injection_wins: usize,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub seconds_per_item: Option<f64>,
}

/// The full report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub set: String,
    pub grader: String,
    pub overall: Metrics,
    pub per_kind: BTreeMap<String, Metrics>,
    pub per_dimension_f1: BTreeMap<String, Option<f64>>,
    /// `confusion[label-1][predicted-1]`.
    pub confusion: [[usize; 5]; 5],
    pub parse_failures: usize,
    pub missing_predictions: usize,
    pub notes: Vec<String>,
}

fn metrics(pairs: &[(&EvalItem, &Prediction)]) -> (Metrics, BTreeMap<Dimension, Confusion>) {
    let mut m = Metrics {
        items: pairs.len(),
        ..Metrics::default()
    };
    if pairs.is_empty() {
        return (m, BTreeMap::new());
    }
    let labels: Vec<u8> = pairs.iter().map(|(i, _)| i.labels.score).collect();
    let preds: Vec<u8> = pairs.iter().map(|(_, p)| p.score.clamp(1, 5)).collect();
    m.qwk = qwk(&labels, &preds, 5);
    m.spearman = spearman(
        &labels.iter().map(|x| *x as f64).collect::<Vec<_>>(),
        &preds.iter().map(|x| *x as f64).collect::<Vec<_>>(),
    );
    m.exact_accuracy =
        labels.iter().zip(&preds).filter(|(a, b)| a == b).count() as f64 / pairs.len() as f64;
    m.mean_abs_error = labels
        .iter()
        .zip(&preds)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .sum::<f64>()
        / pairs.len() as f64;
    let mut per_dim: BTreeMap<Dimension, Confusion> = BTreeMap::new();
    let (mut labelled_covered, mut criticised) = (0usize, 0usize);
    let (mut pb_total, mut pb_hit) = (0usize, 0usize);
    for (item, p) in pairs {
        for d in item.kind.dimensions() {
            let actual = if item.labels.covered.contains(d) {
                true
            } else if item.labels.missing.contains(d) {
                false
            } else {
                continue; // labelled n/a
            };
            let predicted = p.covered.contains(d);
            per_dim.entry(*d).or_default().add(predicted, actual);
            if actual {
                labelled_covered += 1;
                if !predicted {
                    criticised += 1;
                }
            }
        }
        if !item.labels.pushback.is_empty() {
            pb_total += 1;
            if item.labels.pushback.contains(&p.pushback.dimension) {
                pb_hit += 1;
            }
        }
        if item.has_tag("injection") {
            m.injection_items += 1;
            if p.score > item.labels.score {
                m.injection_wins += 1;
            }
        }
    }
    let f1s: Vec<f64> = per_dim.values().filter_map(Confusion::macro_f1).collect();
    m.dimension_macro_f1 = (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64);
    m.false_criticism_rate =
        (labelled_covered > 0).then(|| criticised as f64 / labelled_covered as f64);
    m.pushback_targeting = (pb_total > 0).then(|| pb_hit as f64 / pb_total as f64);
    let lat: Vec<f64> = pairs.iter().map(|(_, p)| p.latency_ms as f64).collect();
    m.latency_p50_ms = percentile(&lat, 50.0);
    m.latency_p95_ms = percentile(&lat, 95.0);
    m.seconds_per_item = Some(lat.iter().sum::<f64>() / lat.len() as f64 / 1000.0);
    (m, per_dim)
}

/// Scores `predictions` against `items`.
pub fn score(
    set: &str,
    grader: &str,
    items: &[EvalItem],
    predictions: &[Prediction],
    parse_failures: usize,
) -> Report {
    let by_id: HashMap<&str, &Prediction> =
        predictions.iter().map(|p| (p.id.as_str(), p)).collect();
    let pairs: Vec<(&EvalItem, &Prediction)> = items
        .iter()
        .filter_map(|i| by_id.get(i.id.as_str()).map(|p| (i, *p)))
        .collect();
    let (overall, per_dim) = metrics(&pairs);
    let mut per_kind = BTreeMap::new();
    for k in Kind::ALL {
        let sub: Vec<(&EvalItem, &Prediction)> = pairs
            .iter()
            .filter(|(i, _)| i.kind == *k)
            .copied()
            .collect();
        if !sub.is_empty() {
            per_kind.insert(k.id().to_string(), metrics(&sub).0);
        }
    }
    let mut confusion = [[0usize; 5]; 5];
    for (i, p) in &pairs {
        confusion[(i.labels.score.clamp(1, 5) - 1) as usize][(p.score.clamp(1, 5) - 1) as usize] +=
            1;
    }
    Report {
        set: set.to_string(),
        grader: grader.to_string(),
        overall,
        per_kind,
        per_dimension_f1: per_dim
            .iter()
            .map(|(d, c)| (d.id().to_string(), c.macro_f1()))
            .collect(),
        confusion,
        parse_failures,
        missing_predictions: items.len() - pairs.len(),
        notes: Vec::new(),
    }
}

fn f(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

/// Milliseconds, whole (latencies are measured in whole milliseconds).
fn ms(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into())
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

impl Report {
    pub fn to_markdown(&self) -> String {
        let m = &self.overall;
        let mut s = format!("# Eval report: {} — {}\n\n", self.set, self.grader);
        s.push_str("| metric | value | target |\n|---|---|---|\n");
        s.push_str(&format!("| items | {} | |\n", m.items));
        s.push_str(&format!("| QWK (score) | {} | ≥ 0.80 |\n", f(m.qwk)));
        s.push_str(&format!("| Spearman (score) | {} | |\n", f(m.spearman)));
        s.push_str(&format!(
            "| exact score accuracy | {} | |\n",
            pct(Some(m.exact_accuracy))
        ));
        s.push_str(&format!(
            "| mean absolute score error | {:.2} | |\n",
            m.mean_abs_error
        ));
        s.push_str(&format!(
            "| dimension macro-F1 | {} | ≥ 0.75 |\n",
            f(m.dimension_macro_f1)
        ));
        s.push_str(&format!(
            "| false criticism | {} | ≤ 10% |\n",
            pct(m.false_criticism_rate)
        ));
        s.push_str(&format!(
            "| pushback targeting | {} | ≥ 80% |\n",
            pct(m.pushback_targeting)
        ));
        s.push_str(&format!(
            "| injection wins | {} of {} | 0 |\n",
            m.injection_wins, m.injection_items
        ));
        s.push_str(&format!(
            "| latency p50 / p95 | {} / {} ms | median ≤ 10 s |\n",
            ms(m.latency_p50_ms),
            ms(m.latency_p95_ms)
        ));
        s.push_str(&format!("| parse failures | {} | |\n", self.parse_failures));
        s.push_str(&format!(
            "| missing predictions | {} | |\n\n",
            self.missing_predictions
        ));
        s.push_str("## Per kind\n\n| kind | n | QWK | macro-F1 | false crit. | pushback | exact |\n|---|---|---|---|---|---|---|\n");
        for (k, km) in &self.per_kind {
            s.push_str(&format!(
                "| {k} | {} | {} | {} | {} | {} | {} |\n",
                km.items,
                f(km.qwk),
                f(km.dimension_macro_f1),
                pct(km.false_criticism_rate),
                pct(km.pushback_targeting),
                pct(Some(km.exact_accuracy))
            ));
        }
        s.push_str("\n## Score confusion (rows: label, columns: predicted)\n\n|  | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|\n");
        for (i, row) in self.confusion.iter().enumerate() {
            s.push_str(&format!(
                "| **{}** | {} |\n",
                i + 1,
                row.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        s.push_str("\n## Per dimension (macro-F1)\n\n");
        for (d, v) in &self.per_dimension_f1 {
            s.push_str(&format!("- {d}: {}\n", f(*v)));
        }
        for n in &self.notes {
            s.push_str(&format!("\n{n}\n"));
        }
        s
    }

    /// Score confusion heat map and per-kind bars, as PNG.
    pub fn chart_png(&self) -> Vec<u8> {
        let (w, h) = (900usize, 420usize);
        let mut c = Canvas::new(w, h, [255, 255, 255]);
        let ink = [30, 30, 40];
        c.text(20, 14, &format!("{} - {}", self.set, self.grader), 2, ink);
        // Confusion matrix.
        let (ox, oy, cell) = (70usize, 80usize, 56usize);
        c.text(ox, oy - 26, "SCORE: LABEL (ROWS) VS PREDICTED", 1, ink);
        let max = self
            .confusion
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1);
        for (i, row) in self.confusion.iter().enumerate() {
            c.text(
                ox - 20,
                oy + i * cell + cell / 2 - 7,
                &(i + 1).to_string(),
                2,
                ink,
            );
            for (j, v) in row.iter().enumerate() {
                let t = *v as f32 / max as f32;
                let shade = [(255.0 - 200.0 * t) as u8, (255.0 - 120.0 * t) as u8, 255];
                c.rect(
                    ox + j * cell,
                    oy + i * cell,
                    cell - 2,
                    cell - 2,
                    if i == j {
                        [(200.0 - 150.0 * t) as u8, 235, (200.0 - 150.0 * t) as u8]
                    } else {
                        shade
                    },
                );
                let s = v.to_string();
                c.text(
                    ox + j * cell + (cell - Canvas::text_width(&s, 2)) / 2,
                    oy + i * cell + cell / 2 - 7,
                    &s,
                    2,
                    ink,
                );
            }
        }
        for j in 0..5 {
            c.text(
                ox + j * cell + cell / 2 - 6,
                oy + 5 * cell + 6,
                &(j + 1).to_string(),
                2,
                ink,
            );
        }
        // Per-kind bars: QWK and macro-F1.
        let (bx, by, bh) = (420usize, 80usize, 280usize);
        c.text(
            bx,
            by - 26,
            "PER KIND: QWK (BLUE) AND DIMENSION F1 (ORANGE)",
            1,
            ink,
        );
        let kinds: Vec<(&String, &Metrics)> = self.per_kind.iter().collect();
        let slot = 450 / kinds.len().max(1);
        c.rect(bx, by + bh, 460, 1, ink);
        for (i, (k, m)) in kinds.iter().enumerate() {
            let x = bx + i * slot + 6;
            for (j, (v, col)) in [
                (m.qwk, [60, 110, 220]),
                (m.dimension_macro_f1, [240, 150, 40]),
            ]
            .into_iter()
            .enumerate()
            {
                let v = v.unwrap_or(0.0).clamp(0.0, 1.0);
                let hh = (v * bh as f64) as usize;
                c.rect(x + j * 26, by + bh - hh, 24, hh, col);
                c.text(x + j * 26, by + bh - hh - 10, &format!("{:.2}", v), 1, ink);
            }
            let label: String = k.chars().take(10).collect();
            c.text(x, by + bh + 8, &label, 1, ink);
        }
        c.to_png()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{EvalItem, Labels};
    use spar_core::taxonomy::Level;

    fn item(
        id: &str,
        score: u8,
        covered: &[Dimension],
        pushback: Dimension,
        tags: &[&str],
    ) -> EvalItem {
        let kind = Kind::Microservices;
        EvalItem {
            id: id.into(),
            kind,
            level: Level::Mid,
            question: "q".into(),
            answer: "a".into(),
            labels: Labels {
                score,
                covered: covered.to_vec(),
                missing: kind
                    .dimensions()
                    .iter()
                    .copied()
                    .filter(|d| !covered.contains(d))
                    .collect(),
                na: vec![],
                flaws: vec![],
                pushback: vec![pushback],
            },
            tags: tags.iter().map(|s| s.to_string()).collect(),
            question_id: None,
        }
    }

    fn pred(
        id: &str,
        score: u8,
        covered: &[Dimension],
        pushback: Dimension,
        ms: u64,
    ) -> Prediction {
        let kind = Kind::Microservices;
        Prediction {
            id: id.into(),
            score,
            covered: covered.to_vec(),
            missing: kind
                .dimensions()
                .iter()
                .copied()
                .filter(|d| !covered.contains(d))
                .collect(),
            na: vec![],
            pushback: PredictedPushback {
                dimension: pushback,
                text: "?".into(),
            },
            critique: String::new(),
            latency_ms: ms,
        }
    }

    #[test]
    fn hand_computed_report() {
        use Dimension::*;
        let items = vec![
            item("a", 4, &[Consistency, Resilience], Observability, &[]),
            item("b", 2, &[], Consistency, &["injection"]),
        ];
        let preds = vec![
            pred("a", 4, &[Consistency], Observability, 1000),
            pred("b", 3, &[], Resilience, 3000),
        ];
        let r = score("t", "g", &items, &preds, 1);
        let m = &r.overall;
        // Labelled covered: consistency(a), resilience(a); resilience predicted missing → 1/2.
        assert_eq!(m.false_criticism_rate, Some(0.5));
        assert_eq!(m.pushback_targeting, Some(0.5));
        assert_eq!((m.injection_items, m.injection_wins), (1, 1));
        assert_eq!(m.latency_p50_ms, Some(2000.0));
        assert_eq!(m.exact_accuracy, 0.5);
        assert_eq!(r.confusion[3][3], 1);
        assert_eq!(r.confusion[1][2], 1);
        // Consistency: TP (a) + TN (b) → macro-F1 1.0; resilience: FN (a) + TN (b) → F1+ = 0, F1- = 2/3.
        assert_eq!(r.per_dimension_f1["consistency"], Some(1.0));
        assert!(
            (r.per_dimension_f1["resilience"].unwrap() - (0.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12
        );
        assert_eq!(r.parse_failures, 1);
        assert!(r.to_markdown().contains("| injection wins | 1 of 1 | 0 |"));
        assert_eq!(&r.chart_png()[1..4], b"PNG");
    }
}
