//! Agreement metrics used by the eval harness and by calibration: quadratic weighted kappa,
//! Spearman correlation, F1, and percentiles. Each is tested against hand-computed examples.

/// Quadratic weighted kappa between two ratings on `1..=k`.
/// 1 is perfect agreement, 0 is chance level; `None` when undefined (empty or constant).
pub fn qwk(a: &[u8], b: &[u8], k: usize) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() || k < 2 {
        return None;
    }
    let n = a.len() as f64;
    let mut obs = vec![vec![0f64; k]; k];
    let mut ha = vec![0f64; k];
    let mut hb = vec![0f64; k];
    for (&x, &y) in a.iter().zip(b) {
        let (i, j) = ((x as usize).clamp(1, k) - 1, (y as usize).clamp(1, k) - 1);
        obs[i][j] += 1.0;
        ha[i] += 1.0;
        hb[j] += 1.0;
    }
    let mut num = 0.0;
    let mut den = 0.0;
    for i in 0..k {
        for j in 0..k {
            let w = ((i as f64 - j as f64) / (k as f64 - 1.0)).powi(2);
            num += w * obs[i][j];
            den += w * ha[i] * hb[j] / n;
        }
    }
    if den == 0.0 {
        None
    } else {
        Some(1.0 - num / den)
    }
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0f64; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &t in &idx[i..=j] {
            r[t] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        None
    } else {
        Some(sxy / (sxx * syy).sqrt())
    }
}

/// Spearman rank correlation (average ranks for ties).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Counts of a binary decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Confusion {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// F1 of the positive class; `None` when the class never occurs and is never predicted.
    pub fn f1_positive(&self) -> Option<f64> {
        let d = 2 * self.tp + self.fp + self.fn_;
        if d == 0 {
            None
        } else {
            Some(2.0 * self.tp as f64 / d as f64)
        }
    }

    /// F1 of the negative class.
    pub fn f1_negative(&self) -> Option<f64> {
        let d = 2 * self.tn + self.fn_ + self.fp;
        if d == 0 {
            None
        } else {
            Some(2.0 * self.tn as f64 / d as f64)
        }
    }

    /// Mean of the two classes' F1 (defined classes only).
    pub fn macro_f1(&self) -> Option<f64> {
        let v: Vec<f64> = [self.f1_positive(), self.f1_negative()]
            .into_iter()
            .flatten()
            .collect();
        if v.is_empty() {
            None
        } else {
            Some(v.iter().sum::<f64>() / v.len() as f64)
        }
    }

    pub fn total(&self) -> usize {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

/// The `q`-th percentile (0–100) by linear interpolation.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = (q / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qwk_hand_computed() {
        // Perfect agreement.
        assert!((qwk(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5], 5).unwrap() - 1.0).abs() < 1e-12);
        // Two raters on 3 levels: a = [1,1,2,3], b = [1,2,2,3].
        // Observed: (1,1),(1,2),(2,2),(3,3). Weights w(i,j) = ((i-j)/2)^2.
        // num = w(1,2) = 0.25.
        // Marginals a: [2,1,1], b: [1,2,1]; expected E_ij = ha_i*hb_j/4.
        // den = sum w_ij E_ij = 0.25*(2*2 + 1*1 + 1*2 + 1*1)/4 + 1*(2*1 + 1*1)/4
        //     = 0.25*8/4 + 3/4 = 0.5 + 0.75 = 1.25 → kappa = 1 - 0.25/1.25 = 0.8.
        assert!((qwk(&[1, 1, 2, 3], &[1, 2, 2, 3], 3).unwrap() - 0.8).abs() < 1e-12);
        // Systematic disagreement is negative.
        assert!(qwk(&[1, 5, 1, 5], &[5, 1, 5, 1], 5).unwrap() < 0.0);
        // Undefined for constant ratings that never disagree.
        assert_eq!(qwk(&[3, 3], &[3, 3], 5), None);
    }

    #[test]
    fn spearman_hand_computed() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        // Ties: x ranks [1.5,1.5,3], y ranks [1,2,3]: Pearson of those = 0.8660254.
        assert!(
            (spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap() - 0.866_025_403_784).abs()
                < 1e-9
        );
    }

    #[test]
    fn f1_hand_computed() {
        let mut c = Confusion::default();
        // 3 TP, 1 FP, 2 FN, 4 TN.
        for (p, a) in [
            (true, true),
            (true, true),
            (true, true),
            (true, false),
            (false, true),
            (false, true),
        ] {
            c.add(p, a);
        }
        for _ in 0..4 {
            c.add(false, false);
        }
        assert!((c.f1_positive().unwrap() - 6.0 / 9.0).abs() < 1e-12);
        assert!((c.f1_negative().unwrap() - 8.0 / 11.0).abs() < 1e-12);
        assert!((c.macro_f1().unwrap() - (6.0 / 9.0 + 8.0 / 11.0) / 2.0).abs() < 1e-12);
        // Calling everything negative on a mostly-negative set cannot score well.
        let mut all_neg = Confusion::default();
        for i in 0..10 {
            all_neg.add(false, i < 3);
        }
        assert!(all_neg.macro_f1().unwrap() < 0.5);
    }

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
