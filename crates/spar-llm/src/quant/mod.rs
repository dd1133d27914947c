//! Quantised weights and the CPU matrix kernels that use them.
//!
//! Every GGML weight type is converted at load into one of two runtime formats, both blocks of
//! 32 weights `x = d·q + m` with f16 `d` and `m`:
//!
//! - [`BlockQ4`]: 4-bit `q` (the exact byte layout of GGML `Q4_1`). `Q4_0`, `Q4_1` and `Q4_K`
//!   convert to it without loss (a `Q4_K` sub-block is a scale and a min over 32 weights).
//! - [`BlockQ8`]: 8-bit unsigned `q`. `Q8_0`, `Q5_0`, `Q5_1` and `Q5_K` convert exactly; `Q6_K`,
//!   `F16`, `BF16` and `F32` are re-quantised (8-bit affine per 32 weights).
//!
//! Activations are quantised per row to [`BlockA`] (signed 8-bit, f32 scale, with the block sum
//! kept for the `m` term), so one block's dot product is an integer dot of 32 `u8 × i8` pairs —
//! one `vpdpbusd` with AVX-512 VNNI, `vpmaddubsw` + `vpmaddwd` with AVX2.

pub mod convert;
mod kernels;
pub mod linear;
pub mod tiled;

use half::f16;

pub use convert::{ConvertStats, to_runtime};
pub use kernels::{Isa, isa};
pub use linear::QWeight;
pub use tiled::TileData;

/// Weights per block in both runtime formats.
pub const QK: usize = 32;

/// 32 four-bit weights: `x[j] = d·(qs[j] & 15) + m`, `x[j+16] = d·(qs[j] >> 4) + m`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct BlockQ4 {
    pub d: f16,
    pub m: f16,
    pub qs: [u8; 16],
}

/// 32 five-bit weights: `x[j] = d·q[j] + m`, `q[j] = (nibble) | (bit j of qh) << 4` (the
/// layout of GGML `Q5_1`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct BlockQ5 {
    pub d: f16,
    pub m: f16,
    pub qh: u32,
    pub qs: [u8; 16],
}

impl BlockQ5 {
    /// The 32 integer values.
    pub fn values(&self) -> [u8; 32] {
        let mut v = [0u8; 32];
        for j in 0..16 {
            v[j] = (self.qs[j] & 15) | ((((self.qh >> j) & 1) as u8) << 4);
            v[j + 16] = (self.qs[j] >> 4) | ((((self.qh >> (j + 16)) & 1) as u8) << 4);
        }
        v
    }

    pub fn from_values(v: &[u8; 32], d: f16, m: f16) -> Self {
        let mut qs = [0u8; 16];
        let mut qh = 0u32;
        for j in 0..16 {
            qs[j] = (v[j] & 15) | ((v[j + 16] & 15) << 4);
            qh |= (((v[j] >> 4) & 1) as u32) << j;
            qh |= (((v[j + 16] >> 4) & 1) as u32) << (j + 16);
        }
        Self { d, m, qh, qs }
    }

    pub fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (o, q) in out.iter_mut().zip(self.values()) {
            *o = d * q as f32 + m;
        }
    }
}

/// 32 six-bit weights with a scale per 16: `x[j] = d[j / 16]·(q[j] − 32)` (from `Q6_K`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct BlockQ6 {
    pub d: [f16; 2],
    pub q: [u8; 32],
}

impl BlockQ6 {
    pub fn dequantize(&self, out: &mut [f32]) {
        for (j, (o, q)) in out.iter_mut().zip(self.q).enumerate() {
            *o = self.d[j / 16].to_f32() * (q as f32 - 32.0);
        }
    }
}

/// 32 eight-bit weights: `x[j] = d·qs[j] + m`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct BlockQ8 {
    pub d: f16,
    pub m: f16,
    pub qs: [u8; 32],
}

/// 32 quantised activations: `a[j] ≈ d·qs[j]`; `s = d·Σqs` feeds the weight's `m` term.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(8))]
pub struct BlockA {
    pub d: f32,
    pub s: f32,
    /// `d·Σqs` over each half (16 values), for formats with a scale per 16 weights.
    pub sh: [f32; 2],
    pub qs: [i8; 32],
}

impl BlockA {
    pub const ZERO: BlockA = BlockA {
        d: 0.0,
        s: 0.0,
        sh: [0.0; 2],
        qs: [0; 32],
    };
}

/// Quantises one activation row (`x.len()` a multiple of 32) into `out`.
pub fn quantize_row_a(x: &[f32], out: &mut [BlockA]) {
    debug_assert_eq!(x.len(), out.len() * QK);
    for (chunk, b) in x.chunks_exact(QK).zip(out.iter_mut()) {
        let amax = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
        if amax == 0.0 {
            *b = BlockA::ZERO;
            continue;
        }
        let d = amax / 127.0;
        let id = 1.0 / d;
        let mut sum = [0i32; 2];
        for (i, (q, v)) in b.qs.iter_mut().zip(chunk).enumerate() {
            let r = (v * id).round() as i32;
            *q = r as i8;
            sum[i / 16] += r;
        }
        b.d = d;
        b.s = d * (sum[0] + sum[1]) as f32;
        b.sh = [d * sum[0] as f32, d * sum[1] as f32];
    }
}

impl BlockQ4 {
    /// The 32 weights as f32.
    pub fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for j in 0..16 {
            out[j] = d * (self.qs[j] & 15) as f32 + m;
            out[j + 16] = d * (self.qs[j] >> 4) as f32 + m;
        }
    }
}

impl BlockQ8 {
    pub fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (o, q) in out.iter_mut().zip(self.qs) {
            *o = d * q as f32 + m;
        }
    }

    /// 8-bit affine quantisation of 32 floats.
    pub fn quantize(x: &[f32]) -> Self {
        let (lo, hi) = x
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let m = f16::from_f32(lo);
        let mf = m.to_f32();
        let range = (hi - mf).max(0.0);
        let d = f16::from_f32(range / 255.0);
        let df = d.to_f32();
        let mut qs = [0u8; 32];
        if df > 0.0 {
            for (q, v) in qs.iter_mut().zip(x) {
                *q = ((v - mf) / df).round().clamp(0.0, 255.0) as u8;
            }
        }
        Self { d, m, qs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_are_compact() {
        assert_eq!(std::mem::size_of::<BlockQ4>(), 20);
        assert_eq!(std::mem::size_of::<BlockQ8>(), 36);
        assert_eq!(std::mem::size_of::<BlockA>(), 48);
    }

    #[test]
    fn activation_quantisation_is_close() {
        let x: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.173)
            .collect();
        let mut a = vec![BlockA::ZERO; 2];
        quantize_row_a(&x, &mut a);
        for (i, v) in x.iter().enumerate() {
            let b = &a[i / 32];
            let back = b.d * b.qs[i % 32] as f32;
            assert!((back - v).abs() <= b.d * 0.5 + 1e-6);
        }
        let s: i32 = a[0].qs.iter().map(|q| *q as i32).sum();
        assert!((a[0].s - a[0].d * s as f32).abs() < 1e-5);
    }

    #[test]
    fn q8_affine_round_trip() {
        let x: Vec<f32> = (0..32)
            .map(|i| (i as f32 * 0.7).sin() * 3.0 + 1.0)
            .collect();
        let b = BlockQ8::quantize(&x);
        let mut y = [0f32; 32];
        b.dequantize(&mut y);
        let step = b.d.to_f32();
        for (a, c) in x.iter().zip(y) {
            assert!((a - c).abs() <= step * 0.51 + 0.004, "{a} {c}");
        }
    }
}
