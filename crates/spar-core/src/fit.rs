//! Fitting a [`Calibration`] from labelled examples: L2-regularised logistic regression for the
//! dimension model (shared weights, one bias per dimension), ridge regression for the score, and
//! cut-points chosen to maximise quadratic weighted kappa. Deterministic: same data, same weights.

use std::collections::BTreeMap;

use crate::analysis::Analysis;
use crate::grade::{Calibration, DIM_FEATURES, SCORE_FEATURES, score_features};
use crate::metrics::{Confusion, qwk};
use crate::taxonomy::{Dimension, Level};

/// One labelled dimension decision.
#[derive(Debug, Clone)]
pub struct DimExample {
    pub dimension: Dimension,
    pub x: [f32; DIM_FEATURES],
    pub covered: bool,
}

/// One labelled answer.
#[derive(Debug, Clone)]
pub struct ScoreExample {
    pub score: u8,
    pub level: Level,
    /// Per applicable dimension: (dimension, features).
    pub dims: Vec<(Dimension, [f32; DIM_FEATURES])>,
    pub analysis: Analysis,
}

/// Fits the logistic dimension model — shared feature weights, one offset per dimension and a
/// global intercept — by Newton's method on the summed log-loss plus an L2 penalty: `l2` on each
/// dimension's offset (few examples each) and `l2 / 10` on the shared weights; the intercept is
/// free. Small data (a few thousand rows, a few dozen parameters), so each step solves the full
/// Hessian; steps are halved whenever the penalised loss would rise. Deterministic.
pub fn fit_dimensions(
    data: &[DimExample],
    l2: f32,
    iters: usize,
) -> (Vec<f32>, BTreeMap<Dimension, f32>, f32) {
    let dims: Vec<Dimension> = {
        let mut v: Vec<Dimension> = data.iter().map(|e| e.dimension).collect();
        v.sort();
        v.dedup();
        v
    };
    let nf = DIM_FEATURES;
    let n = nf + dims.len() + 1;
    let global = n - 1;
    let penalty: Vec<f64> = (0..n)
        .map(|i| {
            if i < nf {
                l2 as f64 / 10.0
            } else if i < global {
                l2 as f64
            } else {
                1e-6
            }
        })
        .collect();
    // Each row as its active parameter indices and values.
    let rows: Vec<(Vec<(usize, f64)>, f64)> = data
        .iter()
        .map(|e| {
            let mut phi: Vec<(usize, f64)> =
                e.x.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(i, v)| (i, *v as f64))
                    .collect();
            let d = dims.binary_search(&e.dimension).expect("dimension seen");
            phi.push((nf + d, 1.0));
            phi.push((global, 1.0));
            (phi, if e.covered { 1.0 } else { 0.0 })
        })
        .collect();
    let loss = |theta: &[f64]| -> f64 {
        let mut l = 0.0;
        for (phi, y) in &rows {
            let z: f64 = phi.iter().map(|(i, v)| theta[*i] * v).sum();
            // log(1 + e^z) − y·z, computed stably.
            l += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
        }
        l + theta
            .iter()
            .zip(&penalty)
            .map(|(t, p)| p * t * t)
            .sum::<f64>()
    };
    let mut theta = vec![0f64; n];
    let mut current = loss(&theta);
    for _ in 0..iters {
        let mut grad: Vec<f64> = theta
            .iter()
            .zip(&penalty)
            .map(|(t, p)| 2.0 * p * t)
            .collect();
        let mut hess = vec![0f64; n * n];
        for i in 0..n {
            hess[i * n + i] = 2.0 * penalty[i];
        }
        for (phi, y) in &rows {
            let z: f64 = phi.iter().map(|(i, v)| theta[*i] * v).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let w = p * (1.0 - p);
            for (i, vi) in phi {
                grad[*i] += (p - y) * vi;
                for (j, vj) in phi {
                    hess[i * n + j] += w * vi * vj;
                }
            }
        }
        let Some(step) = solve_spd(&hess, &grad, n) else {
            break;
        };
        let mut scale = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let next: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, s)| t - scale * s)
                .collect();
            let l = loss(&next);
            if l <= current {
                moved = current - l > 1e-10;
                theta = next;
                current = l;
                break;
            }
            scale /= 2.0;
        }
        if !moved {
            break;
        }
    }
    let w: Vec<f32> = theta[..nf].iter().map(|v| *v as f32).collect();
    let g = theta[global];
    let bias: BTreeMap<Dimension, f32> = dims
        .iter()
        .enumerate()
        .map(|(k, d)| (*d, (theta[nf + k] + g) as f32))
        .collect();
    (w, bias, g as f32)
}

/// Solves `a · x = b` for a symmetric positive definite `a` (n × n, row-major) by Cholesky
/// decomposition; `None` when `a` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0f64; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0f64; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

/// The threshold on P(covered) that maximises macro-F1 while keeping the false-criticism rate
/// (called missing, actually covered) at or under `max_false_criticism` when possible.
pub fn pick_threshold(probs: &[(f32, bool)], max_false_criticism: f64) -> f32 {
    let mut best = (f64::MIN, 0.5f32);
    for step in 10..=90 {
        let t = step as f32 / 100.0;
        let mut c = Confusion::default();
        for (p, y) in probs {
            c.add(*p >= t, *y);
        }
        let covered = c.tp + c.fn_;
        let false_crit = if covered == 0 {
            0.0
        } else {
            c.fn_ as f64 / covered as f64
        };
        let f1 = c.macro_f1().unwrap_or(0.0);
        let penalty = if false_crit > max_false_criticism {
            (false_crit - max_false_criticism) * 2.0
        } else {
            0.0
        };
        let objective = f1 - penalty;
        if objective > best.0 + 1e-9 {
            best = (objective, t);
        }
    }
    best.1
}

/// Ridge regression `y ≈ b + w·x`.
pub fn ridge(xs: &[[f32; SCORE_FEATURES]], ys: &[f32], l2: f64) -> (Vec<f32>, f32) {
    let p = SCORE_FEATURES + 1;
    let mut a = vec![vec![0f64; p]; p];
    let mut v = vec![0f64; p];
    for (x, y) in xs.iter().zip(ys) {
        let mut row = vec![1.0f64];
        row.extend(x.iter().map(|v| *v as f64));
        for i in 0..p {
            v[i] += row[i] * *y as f64;
            for j in 0..p {
                a[i][j] += row[i] * row[j];
            }
        }
    }
    for (i, r) in a.iter_mut().enumerate().skip(1) {
        r[i] += l2;
    }
    let sol = solve(a, v).unwrap_or_else(|| vec![0.0; p]);
    (sol[1..].iter().map(|x| *x as f32).collect(), sol[0] as f32)
}

/// Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col].clone();
        for r in 0..n {
            if r != col {
                let f = a[r][col] / pivot_row[col];
                for (x, p) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
                b[r] -= f * b[col];
            }
        }
    }
    Some((0..n).map(|i| b[i] / a[i][i]).collect())
}

/// Cut-points on a continuous score that maximise QWK against `labels` (coordinate ascent from
/// the midpoints 1.5…4.5).
pub fn fit_cutpoints(raw: &[f32], labels: &[u8]) -> [f32; 4] {
    let mut cuts = [1.5f32, 2.5, 3.5, 4.5];
    let score = |c: &[f32; 4]| {
        let pred: Vec<u8> = raw
            .iter()
            .map(|r| 1 + c.iter().filter(|x| *r >= **x).count() as u8)
            .collect();
        qwk(&pred, labels, 5).unwrap_or(-1.0)
    };
    let mut best = score(&cuts);
    for _ in 0..6 {
        for i in 0..4 {
            let lo = if i == 0 { 0.0 } else { cuts[i - 1] + 0.01 };
            let hi = if i == 3 { 6.0 } else { cuts[i + 1] - 0.01 };
            let mut t = lo;
            while t <= hi {
                let mut c = cuts;
                c[i] = t;
                let s = score(&c);
                if s > best + 1e-9 {
                    best = s;
                    cuts = c;
                }
                t += 0.02;
            }
        }
    }
    cuts
}

/// The false-criticism rate the decision threshold aims at when fitted: under the 10% target
/// with room to spare on unseen answers.
pub const FALSE_CRITICISM_AIM: f64 = 0.05;

/// Probabilities of the dimension model on answers it was not fitted on, for stacking.
#[derive(Debug, Clone)]
pub struct OutOfFold {
    /// P(covered) of every row of `dim_data`, in order.
    pub dims: Vec<f32>,
    /// P(covered) of every dimension of every row of `score_data`, in order.
    pub scores: Vec<Vec<f32>>,
}

/// Fits a calibration on `dim_data` and `score_data`. With `oof`, the decision threshold and the
/// score model are fitted on out-of-fold probabilities, which are as uncertain as the ones the
/// coach will see on new answers; without it, on the in-sample ones.
pub fn fit(
    dim_data: &[DimExample],
    score_data: &[ScoreExample],
    signals: &str,
    note: &str,
    oof: Option<&OutOfFold>,
) -> Calibration {
    let (w, bias_map, global) = fit_dimensions(dim_data, 1.0, 50);
    let mut cal = Calibration {
        signals: signals.to_string(),
        dim_weights: w,
        dim_bias: bias_map,
        bias: global,
        threshold: 0.5,
        score_weights: vec![0.0; SCORE_FEATURES],
        score_bias: 3.0,
        cutpoints: [1.5, 2.5, 3.5, 4.5],
        fitted_on: note.to_string(),
        injection_margin: 0.6,
    };
    let probs: Vec<(f32, bool)> = match oof {
        Some(o) => o
            .dims
            .iter()
            .zip(dim_data)
            .map(|(p, e)| (*p, e.covered))
            .collect(),
        None => dim_data
            .iter()
            .map(|e| (cal.p_covered(e.dimension, &e.x), e.covered))
            .collect(),
    };
    cal.threshold = pick_threshold(&probs, FALSE_CRITICISM_AIM);
    let xs: Vec<[f32; SCORE_FEATURES]> = score_data
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ps: Vec<f32> = match oof {
                Some(o) => o.scores[i].clone(),
                None => s.dims.iter().map(|(d, x)| cal.p_covered(*d, x)).collect(),
            };
            score_features(&s.analysis, &ps, cal.threshold, s.level)
        })
        .collect();
    let ys: Vec<f32> = score_data.iter().map(|s| s.score as f32).collect();
    let (sw, sb) = ridge(&xs, &ys, 0.5);
    cal.score_weights = sw;
    cal.score_bias = sb;
    let raw: Vec<f32> = xs.iter().map(|x| cal.raw_score(x)).collect();
    let labels: Vec<u8> = score_data.iter().map(|s| s.score).collect();
    cal.cutpoints = fit_cutpoints(&raw, &labels);
    cal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::sigmoid;

    #[test]
    fn logistic_regression_separates_a_clear_signal() {
        let mut data = Vec::new();
        for i in 0..200 {
            let mut x = [0f32; DIM_FEATURES];
            x[0] = (i % 10) as f32 / 10.0;
            data.push(DimExample {
                dimension: Dimension::Complexity,
                x,
                covered: i % 10 >= 5,
            });
        }
        let (w, b, _) = fit_dimensions(&data, 0.001, 50);
        assert!(w[0] > 3.0, "{w:?}");
        let p = |v: f32| {
            let mut x = [0f32; DIM_FEATURES];
            x[0] = v;
            sigmoid(b[&Dimension::Complexity] + w[0] * x[0])
        };
        assert!(p(0.9) > 0.8 && p(0.1) < 0.2);
    }

    /// With out-of-fold probabilities the threshold is chosen on them, not on the in-sample
    /// ones: here the in-sample model separates perfectly (any low threshold works), while the
    /// out-of-fold probabilities only separate between 0.5 and 0.6.
    #[test]
    fn stacked_threshold_comes_from_out_of_fold_probabilities() {
        use crate::analysis::{Reference, analyze};
        use crate::taxonomy::Kind;
        let reference = Reference {
            kind: Kind::Algorithm,
            level: Level::Mid,
            question: "Reverse a linked list",
            dimensions: vec![Dimension::Complexity],
            key_points: Vec::new(),
            reference_answer: "",
            scenario: None,
        };
        let mut dims = Vec::new();
        let mut scores = Vec::new();
        for i in 0..40 {
            let covered = i % 2 == 0;
            let mut x = [0f32; DIM_FEATURES];
            x[0] = if covered { 1.0 } else { 0.0 };
            dims.push(DimExample {
                dimension: Dimension::Complexity,
                x,
                covered,
            });
            scores.push(ScoreExample {
                score: if covered { 4 } else { 2 },
                level: Level::Mid,
                dims: vec![(Dimension::Complexity, x)],
                analysis: analyze("It runs in O(n) time.", &reference),
            });
        }
        let in_sample = fit(&dims, &scores, "t", "t", None);
        let oof = OutOfFold {
            dims: dims
                .iter()
                .map(|e| if e.covered { 0.6 } else { 0.5 })
                .collect(),
            scores: dims
                .iter()
                .map(|e| vec![if e.covered { 0.6 } else { 0.5 }])
                .collect(),
        };
        let stacked = fit(&dims, &scores, "t", "t", Some(&oof));
        assert!(
            (stacked.threshold - 0.51).abs() < 1e-6,
            "{}",
            stacked.threshold
        );
        assert!(in_sample.threshold < 0.5, "{}", in_sample.threshold);
        // The dimension model itself is the same either way.
        assert_eq!(stacked.dim_weights, in_sample.dim_weights);
    }

    #[test]
    fn ridge_recovers_a_line() {
        let xs: Vec<[f32; SCORE_FEATURES]> = (0..50)
            .map(|i| {
                let mut x = [0f32; SCORE_FEATURES];
                x[0] = i as f32 / 50.0;
                x[1] = ((i * 7) % 11) as f32 / 11.0;
                x
            })
            .collect();
        let ys: Vec<f32> = xs.iter().map(|x| 1.0 + 4.0 * x[0] - 2.0 * x[1]).collect();
        let (w, b) = ridge(&xs, &ys, 1e-6);
        assert!(
            (w[0] - 4.0).abs() < 1e-2 && (w[1] + 2.0).abs() < 1e-2 && (b - 1.0).abs() < 1e-2,
            "{w:?} {b}"
        );
    }

    #[test]
    fn cutpoints_improve_kappa() {
        // Raw scores systematically too high by 0.8.
        let labels: Vec<u8> = (0..100).map(|i| 1 + (i % 5) as u8).collect();
        let raw: Vec<f32> = labels.iter().map(|l| *l as f32 + 0.8).collect();
        let c = fit_cutpoints(&raw, &labels);
        let pred: Vec<u8> = raw
            .iter()
            .map(|r| 1 + c.iter().filter(|x| *r >= **x).count() as u8)
            .collect();
        assert!((qwk(&pred, &labels, 5).unwrap() - 1.0).abs() < 1e-9);
    }
}
