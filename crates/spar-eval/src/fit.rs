//! Fitting the coach's calibration on a labelled split (`spar eval fit`).

use std::collections::BTreeMap;

use spar_coach::{CalibrationFile, Coach, PushbackPriors};
use spar_core::fit::{DimExample, ScoreExample, fit};
use spar_core::grade::{Verdict, dim_features, grade};
use spar_core::metrics::qwk;
use spar_core::pushback::choose;
use spar_core::taxonomy::{Dimension, Kind};

use crate::Result;
use crate::item::EvalItem;

/// Below this AUC the model's yes/no checks are not used.
pub const MIN_LLM_AUC: f64 = 0.6;

/// Fits weights, threshold, cut-points and pushback priors on `items`. `with_model` adds the
/// model's checklist probabilities as features (the coach must have a model loaded).
pub fn fit_calibration(
    coach: &Coach,
    items: &[EvalItem],
    signals: &str,
    with_model: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CalibrationFile> {
    let mut dim_data = Vec::new();
    let mut score_data = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let asked = coach.resolve(
            &item.question,
            item.kind,
            item.level,
            item.question_id.as_deref(),
        );
        let (analysis, models) = coach.signals(&asked, &item.answer, with_model)?;
        let mut dims = Vec::new();
        for d in &analysis.dims {
            let m = models.get(&d.dimension).copied().unwrap_or_default();
            let x = dim_features(&analysis, d, &m, item.level);
            let covered = if item.labels.covered.contains(&d.dimension) {
                Some(true)
            } else if item.labels.missing.contains(&d.dimension) {
                Some(false)
            } else {
                None
            };
            if let Some(covered) = covered {
                dim_data.push(DimExample {
                    dimension: d.dimension,
                    x,
                    covered,
                });
            }
            dims.push((d.dimension, x));
        }
        score_data.push(ScoreExample {
            score: item.labels.score,
            level: item.level,
            dims,
            analysis,
        });
        progress(n + 1, items.len());
    }
    // How much the model's yes/no checks know on their own: AUC of P(yes) against the labels.
    let llm = spar_core::grade::DIM_FEATURE_NAMES
        .iter()
        .position(|n| *n == "llm_yes")
        .expect("feature exists");
    let llm_auc = {
        let pos: Vec<f32> = dim_data
            .iter()
            .filter(|e| e.covered && e.x[llm + 1] > 0.0)
            .map(|e| e.x[llm])
            .collect();
        let neg: Vec<f32> = dim_data
            .iter()
            .filter(|e| !e.covered && e.x[llm + 1] > 0.0)
            .map(|e| e.x[llm])
            .collect();
        (!pos.is_empty() && !neg.is_empty()).then(|| {
            let wins: f64 = pos
                .iter()
                .map(|a| {
                    neg.iter()
                        .map(|b| {
                            if a > b {
                                1.0
                            } else if a == b {
                                0.5
                            } else {
                                0.0
                            }
                        })
                        .sum::<f64>()
                })
                .sum();
            wins / (pos.len() * neg.len()) as f64
        })
    };
    // A model whose checks rank covered answers no better than missing ones adds noise and
    // seconds: fit without its signal, and the coach will not ask it.
    let informative = llm_auc.is_some_and(|a| a >= MIN_LLM_AUC);
    let signals_used = if with_model && !informative {
        for e in &mut dim_data {
            e.x[llm] = 0.0;
            e.x[llm + 1] = 0.0;
        }
        for s in &mut score_data {
            for (_, x) in &mut s.dims {
                x[llm] = 0.0;
                x[llm + 1] = 0.0;
            }
        }
        "deterministic".to_string()
    } else {
        signals.to_string()
    };
    let note = format!(
        "{} items of the calibration split; signals: {signals_used}{}",
        items.len(),
        llm_auc
            .map(|a| format!(" (model checks of {signals}: AUC {a:.2})"))
            .unwrap_or_default()
    );
    let cal = fit(&dim_data, &score_data, &signals_used, &note);

    // Pushback priors: how often a missing dimension is among those labelled for the follow-up.
    let mut counts: BTreeMap<Kind, BTreeMap<Dimension, (f32, f32)>> = BTreeMap::new();
    for item in items {
        for d in &item.labels.missing {
            let e = counts
                .entry(item.kind)
                .or_default()
                .entry(*d)
                .or_insert((0.0, 0.0));
            e.1 += 1.0;
            if item.labels.pushback.contains(d) {
                e.0 += 1.0;
            }
        }
    }
    let weights = counts
        .into_iter()
        .map(|(k, m)| {
            (
                k,
                m.into_iter()
                    .map(|(d, (hit, n))| (d, (hit + 1.0) / (n + 2.0)))
                    .collect(),
            )
        })
        .collect();
    // How strongly the grader's certainty should weigh against the priors: the exponent that
    // targets best on this split.
    let mut priors = PushbackPriors {
        weights,
        sharpness: 2.0,
    };
    let mut best = (-1.0f64, 2.0f32);
    for sharpness in [0.5f32, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0] {
        priors.sharpness = sharpness;
        let mut hits = 0usize;
        let mut total = 0usize;
        for (item, s) in items.iter().zip(&score_data) {
            if item.labels.pushback.is_empty() {
                continue;
            }
            total += 1;
            let pool: Vec<Dimension> = s.dims.iter().map(|(d, _)| *d).collect();
            let p = |d: Dimension| {
                s.dims
                    .iter()
                    .find(|x| x.0 == d)
                    .map(|(d, x)| cal.p_covered(*d, x))
                    .unwrap_or(0.0)
            };
            let nothing = s.analysis.flags.empty || s.analysis.flags.off_topic;
            if item.labels.pushback.contains(&choose(
                item.kind,
                &pool,
                &p,
                cal.threshold,
                nothing,
                &priors,
            )) {
                hits += 1;
            }
        }
        let rate = hits as f64 / total.max(1) as f64;
        if rate > best.0 + 1e-9 {
            best = (rate, sharpness);
        }
    }
    priors.sharpness = best.1;

    // In-sample agreement, for the record.
    let preds: Vec<u8> = score_data
        .iter()
        .map(|s| {
            let Verdict { score, .. } = grade(&s.analysis, &BTreeMap::new(), s.level, &cal);
            score
        })
        .collect();
    let labels: Vec<u8> = score_data.iter().map(|s| s.score).collect();
    let fit_report = serde_json::json!({
        "llm_yes_auc": llm_auc,
        "items": items.len(),
        "dimension_examples": dim_data.len(),
        "in_sample_qwk_deterministic_path": qwk(&labels, &preds, 5),
        "in_sample_pushback_targeting": best.0,
    });
    Ok(CalibrationFile {
        calibration: cal,
        pushback: priors,
        fit_report,
    })
}
