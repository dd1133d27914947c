//! A quantised weight matrix and `y = x·Wᵀ` on the CPU, as a candle custom op.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

use super::convert::Runtime;
use super::kernels::{Isa, WeightBlock, isa};
use super::{BlockA, BlockQ4, BlockQ8, QK, quantize_row_a};

/// A `rows × cols` weight matrix (`rows` outputs, `cols` inputs) in a runtime format.
#[derive(Debug, Clone, PartialEq)]
pub struct QWeight {
    pub rows: usize,
    pub cols: usize,
    pub data: Runtime,
}

/// Below this many multiply-adds a matmul is not worth splitting across threads.
const PAR_MIN_WORK: usize = 1 << 20;

impl QWeight {
    pub fn new(rows: usize, cols: usize, data: Runtime) -> Self {
        let blocks = match &data {
            Runtime::Q4(b) => b.len(),
            Runtime::Q8(b) => b.len(),
        };
        assert_eq!(blocks * QK, rows * cols, "weight data does not match its shape");
        Self { rows, cols, data }
    }

    pub fn size_in_bytes(&self) -> usize {
        match &self.data {
            Runtime::Q4(b) => std::mem::size_of_val(b.as_slice()),
            Runtime::Q8(b) => std::mem::size_of_val(b.as_slice()),
        }
    }

    pub fn format_name(&self) -> &'static str {
        match &self.data {
            Runtime::Q4(_) => "q4",
            Runtime::Q8(_) => "q8",
        }
    }

    /// Stacks matrices with the same format and column count (e.g. q, k, v) into one.
    pub fn concat(parts: &[&QWeight]) -> Option<QWeight> {
        let cols = parts.first()?.cols;
        if parts.iter().any(|p| p.cols != cols) {
            return None;
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let data = match &parts[0].data {
            Runtime::Q4(_) => {
                let mut v = Vec::new();
                for p in parts {
                    let Runtime::Q4(b) = &p.data else { return None };
                    v.extend_from_slice(b);
                }
                Runtime::Q4(v)
            }
            Runtime::Q8(_) => {
                let mut v = Vec::new();
                for p in parts {
                    let Runtime::Q8(b) = &p.data else { return None };
                    v.extend_from_slice(b);
                }
                Runtime::Q8(v)
            }
        };
        Some(QWeight { rows, cols, data })
    }

    /// Row `r` as f32 (embedding lookup).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let bpr = self.cols / QK;
        match &self.data {
            Runtime::Q4(b) => b[r * bpr..(r + 1) * bpr]
                .iter()
                .zip(out.chunks_exact_mut(QK))
                .for_each(|(b, o)| b.dequantize_into(o)),
            Runtime::Q8(b) => b[r * bpr..(r + 1) * bpr]
                .iter()
                .zip(out.chunks_exact_mut(QK))
                .for_each(|(b, o)| b.dequantize_into(o)),
        }
    }

    /// `y[m × rows] = x[m × cols] · Wᵀ`, both row-major.
    pub fn matmul(&self, x: &[f32], m: usize, y: &mut [f32], threads: usize) {
        assert_eq!(x.len(), m * self.cols);
        assert_eq!(y.len(), m * self.rows);
        let bpr = self.cols / QK;
        let mut act = vec![BlockA::ZERO; m * bpr];
        for (xr, ar) in x.chunks_exact(self.cols).zip(act.chunks_exact_mut(bpr)) {
            quantize_row_a(xr, ar);
        }
        let isa = isa();
        match &self.data {
            Runtime::Q4(w) => run::<BlockQ4>(isa, w, bpr, &act, m, self.rows, y, threads),
            Runtime::Q8(w) => run::<BlockQ8>(isa, w, bpr, &act, m, self.rows, y, threads),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run<B: WeightBlock>(
    isa: Isa,
    w: &[B],
    bpr: usize,
    act: &[BlockA],
    m: usize,
    n: usize,
    y: &mut [f32],
    threads: usize,
) {
    let work = m * n * bpr * QK;
    let threads = if work < PAR_MIN_WORK { 1 } else { threads.max(1) };
    if threads == 1 {
        rows_range::<B>(isa, w, bpr, act, m, n, 0, n, y.as_mut_ptr() as usize);
        return;
    }
    // Each thread owns a disjoint range of output columns; rows of y interleave them, so the
    // threads write through a raw pointer to disjoint elements.
    let chunk = n.div_ceil(threads).next_multiple_of(4);
    let y_ptr = y.as_mut_ptr() as usize;
    std::thread::scope(|s| {
        for t in 1..threads {
            let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(n));
            if lo >= hi {
                continue;
            }
            std::thread::Builder::new()
                .name(format!("spar-matmul-{t}"))
                .spawn_scoped(s, move || rows_range::<B>(isa, w, bpr, act, m, n, lo, hi, y_ptr))
                .expect("spawn matmul worker");
        }
        rows_range::<B>(isa, w, bpr, act, m, n, 0, chunk.min(n), y_ptr);
    });
}

/// Output columns `lo..hi` (weight rows) for every activation row.
#[allow(clippy::too_many_arguments)]
fn rows_range<B: WeightBlock>(
    isa: Isa,
    w: &[B],
    bpr: usize,
    act: &[BlockA],
    m: usize,
    n: usize,
    lo: usize,
    hi: usize,
    y_ptr: usize,
) {
    let y = y_ptr as *mut f32;
    // Tile: a few weight rows stay in L1 while groups of 4 activation rows stream past.
    const TILE: usize = 16;
    let mut c0 = lo;
    while c0 < hi {
        let c1 = (c0 + TILE).min(hi);
        let mut r = 0;
        while r + 4 <= m {
            let a = [
                &act[r * bpr..(r + 1) * bpr],
                &act[(r + 1) * bpr..(r + 2) * bpr],
                &act[(r + 2) * bpr..(r + 3) * bpr],
                &act[(r + 3) * bpr..(r + 4) * bpr],
            ];
            for c in c0..c1 {
                let out = B::dot4(isa, &w[c * bpr..(c + 1) * bpr], a);
                for (i, v) in out.into_iter().enumerate() {
                    // SAFETY: (r + i, c) is inside y and column c belongs to this thread only.
                    unsafe { *y.add((r + i) * n + c) = v };
                }
            }
            r += 4;
        }
        while r < m {
            let a = &act[r * bpr..(r + 1) * bpr];
            for c in c0..c1 {
                let v = B::dot(isa, &w[c * bpr..(c + 1) * bpr], a);
                // SAFETY: as above.
                unsafe { *y.add(r * n + c) = v };
            }
            r += 1;
        }
        c0 = c1;
    }
}

/// `x · Wᵀ` as a candle op over an f32 CPU tensor `[..., cols]` → `[..., rows]`.
pub struct QMatMulOp<'a> {
    pub w: &'a QWeight,
    pub threads: usize,
}

impl CustomOp1 for QMatMulOp<'_> {
    fn name(&self) -> &'static str {
        "spar-qmatmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("spar-qmatmul expects f32 input");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("spar-qmatmul expects a contiguous input");
        };
        let dims = layout.shape().dims();
        let k = *dims.last().unwrap_or(&0);
        if k != self.w.cols {
            candle_core::bail!("spar-qmatmul: input has {k} columns, weight expects {}", self.w.cols);
        }
        let x = &data[start..end];
        let m = x.len() / k.max(1);
        let mut y = vec![0f32; m * self.w.rows];
        self.w.matmul(x, m, &mut y, self.threads);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("rank ≥ 1") = self.w.rows;
        Ok((CpuStorage::F32(y), Shape::from(out_dims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgmlType;
    use crate::quant::convert::{dequantize, tests::random_blocks, to_runtime};

    #[test]
    fn matmul_matches_f32_reference() {
        for ty in [GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4K, GgmlType::Q6K] {
            let (rows, cols) = (40, 256);
            let bytes = random_blocks(ty, rows * cols / ty.block_elems(), 9);
            let mut wf = vec![0f32; rows * cols];
            dequantize(ty, &bytes, &mut wf);
            let (rt, _) = to_runtime(ty, &bytes, rows, cols);
            let w = QWeight::new(rows, cols, rt);
            for m in [1usize, 3, 4, 9] {
                let x: Vec<f32> = (0..m * cols).map(|i| ((i as f32) * 0.013).cos()).collect();
                for threads in [1, 3] {
                    let mut y = vec![0f32; m * rows];
                    w.matmul(&x, m, &mut y, threads);
                    for r in 0..m {
                        for c in 0..rows {
                            let want: f32 = (0..cols).map(|j| x[r * cols + j] * wf[c * cols + j]).sum();
                            let got = y[r * rows + c];
                            let scale: f32 = (0..cols).map(|j| (x[r * cols + j] * wf[c * cols + j]).abs()).sum();
                            assert!(
                                (want - got).abs() <= 0.02 * scale.max(1e-3),
                                "{ty} m={m} t={threads} [{r},{c}] {want} vs {got}"
                            );
                        }
                    }
                }
            }
        }
    }
}
