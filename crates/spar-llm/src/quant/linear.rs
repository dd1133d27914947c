//! A quantised weight matrix and `y = x·Wᵀ` on the CPU, as a candle custom op.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

use super::convert::Runtime;
use super::tiled::{TILE, TileData, pack};
use super::{BlockA, QK, quantize_row_a};

/// A `rows × cols` weight matrix (`rows` outputs, `cols` inputs) in interleaved tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct QWeight {
    pub rows: usize,
    pub cols: usize,
    pub tiles: TileData,
}

/// Below this many multiply-adds a matmul is not worth splitting across threads.
const PAR_MIN_WORK: usize = 1 << 20;

impl QWeight {
    /// Packs row-major blocks into tiles.
    pub fn new(rows: usize, cols: usize, data: Runtime) -> Self {
        let blocks = match &data {
            Runtime::Q4(b) => b.len(),
            Runtime::Q5(b) => b.len(),
            Runtime::Q6(b) => b.len(),
            Runtime::Q8(b) => b.len(),
        };
        assert_eq!(
            blocks * QK,
            rows * cols,
            "weight data does not match its shape"
        );
        Self {
            rows,
            cols,
            tiles: pack(&data, rows, cols),
        }
    }

    pub fn size_in_bytes(&self) -> usize {
        self.tiles.size_in_bytes()
    }

    pub fn format_name(&self) -> &'static str {
        self.tiles.format_name()
    }

    /// Row `r` as f32 (embedding lookup).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        self.tiles.row_into(r, self.cols, out)
    }

    /// `y[m × rows] = x[m × cols] · Wᵀ`, both row-major.
    pub fn matmul(&self, x: &[f32], m: usize, y: &mut [f32], threads: usize) {
        assert_eq!(x.len(), m * self.cols);
        assert_eq!(y.len(), m * self.rows);
        let nb = self.cols / QK;
        let mut act = vec![BlockA::ZERO; m * nb];
        for (xr, ar) in x.chunks_exact(self.cols).zip(act.chunks_exact_mut(nb)) {
            quantize_row_a(xr, ar);
        }
        let n_tiles = self.rows.div_ceil(TILE);
        let work = m * self.rows * self.cols;
        let threads = if work < PAR_MIN_WORK {
            1
        } else {
            threads.clamp(1, n_tiles)
        };
        let y_ptr = y.as_mut_ptr() as usize;
        let (tiles, act, rows) = (&self.tiles, act.as_slice(), self.rows);
        if threads == 1 {
            // SAFETY: one thread writes every column of y, which holds m × rows floats.
            unsafe { tiles.gemm(act, m, nb, rows, 0..n_tiles, y_ptr as *mut f32) };
            return;
        }
        let chunk = n_tiles.div_ceil(threads);
        std::thread::scope(|s| {
            for t in 1..threads {
                let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(n_tiles));
                if lo >= hi {
                    continue;
                }
                std::thread::Builder::new()
                    .name(format!("spar-matmul-{t}"))
                    // SAFETY: each thread writes only the columns of its own tiles.
                    .spawn_scoped(s, move || unsafe {
                        tiles.gemm(act, m, nb, rows, lo..hi, y_ptr as *mut f32)
                    })
                    .expect("spawn matmul worker");
            }
            // SAFETY: as above, tiles 0..chunk belong to this thread.
            unsafe { tiles.gemm(act, m, nb, rows, 0..chunk.min(n_tiles), y_ptr as *mut f32) };
        });
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

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("spar-qmatmul expects f32 input");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("spar-qmatmul expects a contiguous input");
        };
        let dims = layout.shape().dims();
        let k = *dims.last().unwrap_or(&0);
        if k != self.w.cols {
            candle_core::bail!(
                "spar-qmatmul: input has {k} columns, weight expects {}",
                self.w.cols
            );
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
    fn matmul_matches_f32_reference_with_threads() {
        for ty in [
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q8_0,
            GgmlType::Q4K,
            GgmlType::Q6K,
            GgmlType::F16,
        ] {
            let (rows, cols) = (200, 1024);
            let bytes = random_blocks(ty, rows * cols / ty.block_elems(), 9);
            let mut wf = vec![0f32; rows * cols];
            dequantize(ty, &bytes, &mut wf);
            let (rt, _) = to_runtime(ty, &bytes, rows, cols);
            let w = QWeight::new(rows, cols, rt);
            for m in [1usize, 5] {
                let x: Vec<f32> = (0..m * cols).map(|i| ((i as f32) * 0.013).cos()).collect();
                for threads in [1, 3] {
                    let mut y = vec![0f32; m * rows];
                    w.matmul(&x, m, &mut y, threads);
                    for r in 0..m {
                        for c in 0..rows {
                            let want: f32 =
                                (0..cols).map(|j| x[r * cols + j] * wf[c * cols + j]).sum();
                            let scale: f32 = (0..cols)
                                .map(|j| (x[r * cols + j] * wf[c * cols + j]).abs())
                                .sum();
                            let got = y[r * rows + c];
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
