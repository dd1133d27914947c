//! Fitting the coach's calibration on a labelled split (`spar eval fit`).

use std::collections::BTreeMap;

use spar_coach::{CalibrationFile, Coach, PushbackPriors};
use spar_core::fit::{
    DimExample, FALSE_CRITICISM_AIM, OutOfFold, ScoreExample, fit, pick_threshold,
};
use spar_core::grade::{Calibration, DIM_FEATURES, Verdict, dim_features, grade};
use spar_core::metrics::qwk;
use spar_core::pushback::{Candidate, Labeller, RankExample, choose, fit_ranker, probe_rates};

use crate::Result;
use crate::item::EvalItem;

/// Folds for cross-fitting and cross-validation.
const FOLDS: usize = 5;
/// Partitions the ranker's penalty is cross-validated over.
const CV_REPEATS: usize = 3;
/// Gradient steps for the pushback ranker.
const RANK_ITERS: usize = 1500;

/// `x` without the model's signals: what the deterministic grade sees.
fn deterministic(x: &[f32; DIM_FEATURES], llm: usize) -> [f32; DIM_FEATURES] {
    let mut x = *x;
    x[llm] = 0.0;
    x[llm + 1] = 0.0;
    x
}

/// Calibrations fitted on all items but one fold each (items assigned to folds round-robin;
/// without the model's signals unless `keep_llm`), and what each gives the items it did not see.
fn cross_fit(
    dim_data: &[DimExample],
    item_of: &[usize],
    score_data: &[ScoreExample],
    llm: usize,
    keep_llm: bool,
) -> (Vec<Calibration>, Vec<usize>, OutOfFold) {
    let strip = |x: &[f32; DIM_FEATURES]| if keep_llm { *x } else { deterministic(x, llm) };
    let fold_of: Vec<usize> = (0..score_data.len()).map(|i| i % FOLDS).collect();
    let folds: Vec<Calibration> = (0..FOLDS)
        .map(|k| {
            let dims: Vec<DimExample> = dim_data
                .iter()
                .zip(item_of)
                .filter(|(_, i)| fold_of[**i] != k)
                .map(|(e, _)| DimExample {
                    x: strip(&e.x),
                    ..e.clone()
                })
                .collect();
            let scores: Vec<ScoreExample> = score_data
                .iter()
                .enumerate()
                .filter(|(i, _)| fold_of[*i] != k)
                .map(|(_, s)| ScoreExample {
                    dims: s.dims.iter().map(|(d, x)| (*d, strip(x))).collect(),
                    ..s.clone()
                })
                .collect();
            fit(&dims, &scores, "cross-fit", "cross-fit fold", None)
        })
        .collect();
    let oof = OutOfFold {
        dims: dim_data
            .iter()
            .zip(item_of)
            .map(|(e, i)| folds[fold_of[*i]].p_covered(e.dimension, &strip(&e.x)))
            .collect(),
        scores: score_data
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.dims
                    .iter()
                    .map(|(d, x)| folds[fold_of[i]].p_covered(*d, &strip(x)))
                    .collect()
            })
            .collect(),
    };
    (folds, fold_of, oof)
}

/// Area under the ROC curve of `(score, positive)` pairs (ties count half); `None` without
/// both classes.
fn auc(pairs: impl Iterator<Item = (f32, bool)>) -> Option<f64> {
    let (pos, neg): (Vec<_>, Vec<_>) = pairs.partition(|(_, positive)| *positive);
    (!pos.is_empty() && !neg.is_empty()).then(|| {
        let wins: f64 = pos
            .iter()
            .map(|(a, _)| {
                neg.iter()
                    .map(|(b, _)| {
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
}

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
    let mut item_of = Vec::new();
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
                item_of.push(n);
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
    let llm_auc = auc(dim_data
        .iter()
        .filter(|e| e.x[llm + 1] > 0.0)
        .map(|e| (e.x[llm], e.covered)));
    // A model whose checks rank covered answers no better than missing ones adds noise and
    // seconds: fit without its signal, and the coach will not ask it.
    let informative = llm_auc.is_some_and(|a| a >= MIN_LLM_AUC);
    let signals_used = if with_model && !informative {
        for e in &mut dim_data {
            e.x = deterministic(&e.x, llm);
        }
        for s in &mut score_data {
            for (_, x) in &mut s.dims {
                *x = deterministic(x, llm);
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
    // The threshold and the score model are fitted on cross-fitted probabilities (stacking):
    // in-sample ones are surer than the coach will be on new answers. Targeting reads the
    // deterministic grade, so its cross-fit is always needed; a model's signals get their own.
    let keep_llm = signals_used != "deterministic";
    let (folds, fold_of, det_oof) = cross_fit(&dim_data, &item_of, &score_data, llm, false);
    let model_oof = keep_llm.then(|| cross_fit(&dim_data, &item_of, &score_data, llm, true).2);
    let oof = model_oof.as_ref().unwrap_or(&det_oof);
    let cal = fit(&dim_data, &score_data, &signals_used, &note, Some(oof));

    // Pushback priors: how often a missing dimension is among those labelled for the follow-up.
    let weights = probe_rates(
        items
            .iter()
            .map(|i| (i.kind, &i.labels.missing[..], &i.labels.pushback[..])),
    );
    // The hand rule's exponent and the ranker are chosen on cross-fitted probabilities of the
    // deterministic grade (what targeting reads at run time), against the deterministic
    // calibration's threshold.
    let threshold = if keep_llm {
        pick_threshold(
            &det_oof
                .dims
                .iter()
                .zip(&dim_data)
                .map(|(p, e)| (*p, e.covered))
                .collect::<Vec<_>>(),
            FALSE_CRITICISM_AIM,
        )
    } else {
        cal.threshold
    };
    // Each labelled item as a ranking example, and whether nothing was said (the hand rule's
    // special case).
    let (examples, nothing_said): (Vec<RankExample>, Vec<bool>) = items
        .iter()
        .zip(&score_data)
        .enumerate()
        .filter(|(_, (item, _))| !item.labels.pushback.is_empty())
        .map(|(i, (item, s))| {
            let fold = &folds[fold_of[i]];
            let example = RankExample {
                kind: item.kind,
                candidates: s
                    .dims
                    .iter()
                    .map(|(d, x)| {
                        let x = deterministic(x, llm);
                        Candidate {
                            dimension: *d,
                            p: fold.p_covered(*d, &x),
                            x,
                        }
                    })
                    .collect(),
                threshold,
                targets: item.labels.pushback.clone(),
                missing: item.labels.missing.clone(),
            };
            (
                example,
                s.analysis.flags.empty || s.analysis.flags.off_topic,
            )
        })
        .unzip();
    let rate = |priors: &PushbackPriors, set: &[usize]| {
        let hits = set
            .iter()
            .filter(|i| {
                let e = &examples[**i];
                e.targets.contains(&choose(
                    e.kind,
                    &e.candidates,
                    e.threshold,
                    nothing_said[**i],
                    priors,
                ))
            })
            .count();
        hits as f64 / set.len().max(1) as f64
    };
    let all: Vec<usize> = (0..examples.len()).collect();
    let mut priors = PushbackPriors {
        weights,
        sharpness: 2.0,
        ranker: None,
    };
    let mut best = (-1.0f64, 2.0f32);
    for sharpness in [0.5f32, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0] {
        priors.sharpness = sharpness;
        let r = rate(&priors, &all);
        if r > best.0 + 1e-9 {
            best = (r, sharpness);
        }
    }
    priors.sharpness = best.1;
    // The ranker's penalty by 5-fold cross-validation over the examples, repeated over
    // `CV_REPEATS` different partitions (one partition's verdict between penalties is mostly
    // noise); it replaces the rule only if it targets better out of fold.
    let cv = |l2: f32| {
        let mut hits = 0.0;
        for (rep, k) in (0..CV_REPEATS).flat_map(|r| (0..FOLDS).map(move |k| (r, k))) {
            let fold = |i: usize| (i + i / FOLDS * rep) % FOLDS;
            let train: Vec<RankExample> = examples
                .iter()
                .enumerate()
                .filter(|(i, _)| fold(*i) != k)
                .map(|(_, e)| e.clone())
                .collect();
            let test: Vec<usize> = all.iter().copied().filter(|i| fold(*i) == k).collect();
            let p = PushbackPriors {
                ranker: Some(fit_ranker(
                    &train,
                    l2,
                    RANK_ITERS,
                    Some(Labeller::fit(&train)),
                )),
                ..priors.clone()
            };
            hits += rate(&p, &test) * test.len() as f64;
        }
        hits / (CV_REPEATS * all.len()).max(1) as f64
    };
    let mut ranked = (-1.0f64, 0.1f32);
    for l2 in [0.03f32, 0.1, 0.3, 1.0, 3.0] {
        let r = cv(l2);
        if r > ranked.0 + 1e-9 {
            ranked = (r, l2);
        }
    }
    let rule_rate = best.0;
    if ranked.0 > rule_rate {
        priors.ranker = Some(fit_ranker(
            &examples,
            ranked.1,
            RANK_ITERS,
            Some(Labeller::fit(&examples)),
        ));
    }

    // In-sample agreement, for the record.
    let preds: Vec<u8> = score_data
        .iter()
        .map(|s| {
            let Verdict { score, .. } = grade(&s.analysis, &BTreeMap::new(), s.level, &cal);
            score
        })
        .collect();
    let labels: Vec<u8> = score_data.iter().map(|s| s.score).collect();
    // Out of fold: every item graded by the fold calibration that did not see it. This is
    // what to expect on answers like these that the coach has never seen.
    let oof_preds: Vec<u8> = score_data
        .iter()
        .enumerate()
        .map(|(i, s)| grade(&s.analysis, &BTreeMap::new(), s.level, &folds[fold_of[i]]).score)
        .collect();
    let oof_exact = labels
        .iter()
        .zip(&oof_preds)
        .filter(|(a, b)| a == b)
        .count() as f64
        / labels.len().max(1) as f64;
    let oof_auc = auc(det_oof
        .dims
        .iter()
        .zip(&dim_data)
        .map(|(p, e)| (*p, e.covered)));
    let fit_report = serde_json::json!({
        "llm_yes_auc": llm_auc,
        "items": items.len(),
        "dimension_examples": dim_data.len(),
        "in_sample_qwk_deterministic_path": qwk(&labels, &preds, 5),
        "cross_fitted_qwk_deterministic_path": qwk(&labels, &oof_preds, 5),
        "cross_fitted_exact_deterministic_path": oof_exact,
        "cross_fitted_dimension_auc": oof_auc,
        "pushback_targeting_rule_cross_fitted": rule_rate,
        "pushback_targeting_ranker_cv": ranked.0,
        "pushback_ranker_l2": ranked.1,
        "pushback_uses_ranker": priors.ranker.is_some(),
    });
    Ok(CalibrationFile {
        calibration: cal,
        pushback: priors,
        fit_report,
    })
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_counts_pairs_and_halves_ties() {
        // Positives 0.9, 0.5; negatives 0.5, 0.1: of 4 pairs, 3 won and 1 tied → 3.5 / 4.
        let pairs = [(0.9, true), (0.5, true), (0.5, false), (0.1, false)];
        assert_eq!(auc(pairs.into_iter()), Some(0.875));
        // Perfectly reversed.
        assert_eq!(auc([(0.1, true), (0.9, false)].into_iter()), Some(0.0));
        // One class only.
        assert_eq!(auc([(0.3, true)].into_iter()), None);
    }
}
