//! GGML block formats: dequantisation to f32 and conversion to the runtime formats.

use half::{bf16, f16};

use super::{BlockQ4, BlockQ5, BlockQ6, BlockQ8, QK};
use crate::gguf::GgmlType;

/// Weights in a runtime format.
#[derive(Debug, Clone, PartialEq)]
pub enum Runtime {
    Q4(Vec<BlockQ4>),
    Q5(Vec<BlockQ5>),
    Q6(Vec<BlockQ6>),
    Q8(Vec<BlockQ8>),
}

impl Runtime {
    /// Stacks matrices of the same format (rows of the first, then the second, …).
    pub fn concat(parts: &[&Runtime]) -> Option<Runtime> {
        let first = parts.first()?;
        Some(match first {
            Runtime::Q4(_) => Runtime::Q4(
                parts
                    .iter()
                    .map(|p| {
                        if let Runtime::Q4(b) = p {
                            Some(b.as_slice())
                        } else {
                            None
                        }
                    })
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
            Runtime::Q5(_) => Runtime::Q5(
                parts
                    .iter()
                    .map(|p| {
                        if let Runtime::Q5(b) = p {
                            Some(b.as_slice())
                        } else {
                            None
                        }
                    })
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
            Runtime::Q6(_) => Runtime::Q6(
                parts
                    .iter()
                    .map(|p| {
                        if let Runtime::Q6(b) = p {
                            Some(b.as_slice())
                        } else {
                            None
                        }
                    })
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
            Runtime::Q8(_) => Runtime::Q8(
                parts
                    .iter()
                    .map(|p| {
                        if let Runtime::Q8(b) = p {
                            Some(b.as_slice())
                        } else {
                            None
                        }
                    })
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
        })
    }
}

/// How a conversion went: `exact` is false when values were re-quantised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertStats {
    pub exact: bool,
}

fn h(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

fn h16(b: &[u8], at: usize) -> f16 {
    f16::from_le_bytes([b[at], b[at + 1]])
}

/// Whether the loader can read tensors of this type.
pub fn supported(ty: GgmlType) -> bool {
    !matches!(
        ty,
        GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q8_1 | GgmlType::Q8K
    )
}

/// The 6-bit scale and min of sub-block `j` of a K-quant super-block.
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Dequantises `bytes` of type `ty` into `out` (`out.len()` elements).
///
/// # Panics
/// If `bytes` is shorter than `out` needs or `ty` is unsupported; callers check both.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) {
    let bb = ty.block_bytes();
    let be = ty.block_elems();
    assert!(supported(ty), "unsupported type {ty}");
    assert!(bytes.len() >= out.len() / be * bb, "short tensor data");
    for (blk, y) in bytes.chunks_exact(bb).zip(out.chunks_exact_mut(be)) {
        match ty {
            GgmlType::F32 => y[0] = f32::from_le_bytes([blk[0], blk[1], blk[2], blk[3]]),
            GgmlType::F16 => y[0] = h(blk, 0),
            GgmlType::Bf16 => y[0] = bf16::from_le_bytes([blk[0], blk[1]]).to_f32(),
            GgmlType::Q4_0 => {
                let d = h(blk, 0);
                for j in 0..16 {
                    y[j] = d * ((blk[2 + j] & 15) as f32 - 8.0);
                    y[j + 16] = d * ((blk[2 + j] >> 4) as f32 - 8.0);
                }
            }
            GgmlType::Q4_1 => {
                let (d, m) = (h(blk, 0), h(blk, 2));
                for j in 0..16 {
                    y[j] = d * (blk[4 + j] & 15) as f32 + m;
                    y[j + 16] = d * (blk[4 + j] >> 4) as f32 + m;
                }
            }
            GgmlType::Q5_0 | GgmlType::Q5_1 => {
                let q5 = q5_values(ty, blk);
                let d = h(blk, 0);
                let (m, off) = if ty == GgmlType::Q5_0 {
                    (-16.0 * d, 0.0)
                } else {
                    (h(blk, 2), 0.0)
                };
                for j in 0..32 {
                    y[j] = d * (q5[j] as f32 - off) + m;
                }
            }
            GgmlType::Q8_0 => {
                let d = h(blk, 0);
                for j in 0..32 {
                    y[j] = d * blk[2 + j] as i8 as f32;
                }
            }
            GgmlType::Q4K | GgmlType::Q5K => {
                for (sub, (d, m, q)) in k_subblocks(ty, blk).into_iter().enumerate() {
                    for l in 0..32 {
                        y[sub * 32 + l] = d * q[l] as f32 - m;
                    }
                }
            }
            GgmlType::Q6K => q6k_dequantize(blk, y),
            GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q8_1 | GgmlType::Q8K => unreachable!(),
        }
    }
}

/// The 32 five-bit values of a `Q5_0`/`Q5_1` block, in element order.
fn q5_values(ty: GgmlType, blk: &[u8]) -> [u8; 32] {
    let base = if ty == GgmlType::Q5_0 { 2 } else { 4 };
    let qh = u32::from_le_bytes([blk[base], blk[base + 1], blk[base + 2], blk[base + 3]]);
    let qs = &blk[base + 4..base + 20];
    let mut out = [0u8; 32];
    for j in 0..16 {
        let h0 = (((qh >> j) << 4) & 0x10) as u8;
        let h1 = ((qh >> (j + 12)) & 0x10) as u8;
        out[j] = (qs[j] & 15) | h0;
        out[j + 16] = (qs[j] >> 4) | h1;
    }
    out
}

/// The eight 32-weight sub-blocks of a `Q4_K`/`Q5_K` super-block: `(scale, min, q[32])`,
/// meaning `x = scale·q − min`.
fn k_subblocks(ty: GgmlType, blk: &[u8]) -> [(f32, f32, [u8; 32]); 8] {
    let d = h(blk, 0);
    let dmin = h(blk, 2);
    let scales = &blk[4..16];
    let mut out = [(0f32, 0f32, [0u8; 32]); 8];
    let (qh, qs) = match ty {
        GgmlType::Q4K => (None, &blk[16..144]),
        _ => (Some(&blk[16..48]), &blk[48..176]),
    };
    for j in 0..4 {
        let (sc1, m1) = scale_min_k4(2 * j, scales);
        let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
        let q = &qs[32 * j..32 * j + 32];
        let mut lo = [0u8; 32];
        let mut hi = [0u8; 32];
        for l in 0..32 {
            lo[l] = q[l] & 15;
            hi[l] = q[l] >> 4;
            if let Some(qh) = qh {
                if qh[l] & (1 << (2 * j)) != 0 {
                    lo[l] += 16;
                }
                if qh[l] & (2 << (2 * j)) != 0 {
                    hi[l] += 16;
                }
            }
        }
        out[2 * j] = (d * sc1 as f32, dmin * m1 as f32, lo);
        out[2 * j + 1] = (d * sc2 as f32, dmin * m2 as f32, hi);
    }
    out
}

/// The 256 six-bit values (0..=63, meaning q − 32) of a `Q6_K` super-block and the scale of
/// each group of 16.
fn q6k_values(blk: &[u8]) -> ([u8; 256], [f32; 16]) {
    let ql = &blk[0..128];
    let qh = &blk[128..192];
    let sc = &blk[192..208];
    let d = h(blk, 208);
    let mut q = [0u8; 256];
    for half in 0..2 {
        let (ql, qh) = (&ql[64 * half..], &qh[32 * half..]);
        let q = &mut q[128 * half..];
        for l in 0..32 {
            q[l] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
            q[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
            q[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            q[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    let scales = std::array::from_fn(|i| d * (sc[i] as i8 as f32));
    (q, scales)
}

fn q6k_dequantize(blk: &[u8], y: &mut [f32]) {
    let ql = &blk[0..128];
    let qh = &blk[128..192];
    let sc = &blk[192..208];
    let d = h(blk, 208);
    for half in 0..2 {
        let (ql, qh, sc) = (&ql[64 * half..], &qh[32 * half..], &sc[8 * half..]);
        let y = &mut y[128 * half..];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            y[l] = d * (sc[is] as i8 as f32) * q1 as f32;
            y[l + 32] = d * (sc[is + 2] as i8 as f32) * q2 as f32;
            y[l + 64] = d * (sc[is + 4] as i8 as f32) * q3 as f32;
            y[l + 96] = d * (sc[is + 6] as i8 as f32) * q4 as f32;
        }
    }
}

fn pack_q4(q: &[u8; 32], d: f16, m: f16) -> BlockQ4 {
    let mut qs = [0u8; 16];
    for j in 0..16 {
        qs[j] = q[j] | (q[j + 16] << 4);
    }
    BlockQ4 { d, m, qs }
}

/// Converts a `rows × cols` weight matrix of GGML type `ty` into a runtime format.
/// `cols` must be a multiple of 32 (every quantised type guarantees it).
pub fn to_runtime(ty: GgmlType, bytes: &[u8], rows: usize, cols: usize) -> (Runtime, ConvertStats) {
    assert!(cols.is_multiple_of(QK) && supported(ty));
    let n_blocks = rows * cols / QK;
    let bb = ty.block_bytes();
    match ty {
        GgmlType::Q4_1 => {
            let blocks = bytes
                .chunks_exact(bb)
                .take(n_blocks)
                .map(|b| {
                    let mut qs = [0u8; 16];
                    qs.copy_from_slice(&b[4..20]);
                    BlockQ4 {
                        d: h16(b, 0),
                        m: h16(b, 2),
                        qs,
                    }
                })
                .collect();
            (Runtime::Q4(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q4_0 => {
            let blocks = bytes
                .chunks_exact(bb)
                .take(n_blocks)
                .map(|b| {
                    let d = h16(b, 0);
                    let mut qs = [0u8; 16];
                    qs.copy_from_slice(&b[2..18]);
                    BlockQ4 {
                        d,
                        m: f16::from_f32(-8.0 * d.to_f32()),
                        qs,
                    }
                })
                .collect();
            (Runtime::Q4(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q4K => {
            let mut blocks = Vec::with_capacity(n_blocks);
            for b in bytes.chunks_exact(bb).take(n_blocks / 8) {
                for (d, m, q) in k_subblocks(ty, b) {
                    blocks.push(pack_q4(&q, f16::from_f32(d), f16::from_f32(-m)));
                }
            }
            (Runtime::Q4(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q8_0 => {
            let blocks = bytes
                .chunks_exact(bb)
                .take(n_blocks)
                .map(|b| {
                    let d = h16(b, 0);
                    let mut qs = [0u8; 32];
                    for (o, v) in qs.iter_mut().zip(&b[2..34]) {
                        *o = (*v as i8 as i16 + 128) as u8;
                    }
                    BlockQ8 {
                        d,
                        m: f16::from_f32(-128.0 * d.to_f32()),
                        qs,
                    }
                })
                .collect();
            (Runtime::Q8(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            let blocks = bytes
                .chunks_exact(bb)
                .take(n_blocks)
                .map(|b| {
                    let d = h16(b, 0);
                    let m = if ty == GgmlType::Q5_0 {
                        f16::from_f32(-16.0 * d.to_f32())
                    } else {
                        h16(b, 2)
                    };
                    BlockQ5::from_values(&q5_values(ty, b), d, m)
                })
                .collect();
            (Runtime::Q5(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q5K => {
            let mut blocks = Vec::with_capacity(n_blocks);
            for b in bytes.chunks_exact(bb).take(n_blocks / 8) {
                for (d, m, q) in k_subblocks(ty, b) {
                    blocks.push(BlockQ5::from_values(
                        &q,
                        f16::from_f32(d),
                        f16::from_f32(-m),
                    ));
                }
            }
            (Runtime::Q5(blocks), ConvertStats { exact: true })
        }
        GgmlType::Q6K => {
            let mut blocks = Vec::with_capacity(n_blocks);
            for b in bytes.chunks_exact(bb).take(n_blocks / 8) {
                let (q, scales) = q6k_values(b);
                for j in 0..8 {
                    let mut qq = [0u8; 32];
                    qq.copy_from_slice(&q[32 * j..32 * j + 32]);
                    blocks.push(BlockQ6 {
                        d: [
                            f16::from_f32(scales[2 * j]),
                            f16::from_f32(scales[2 * j + 1]),
                        ],
                        q: qq,
                    });
                }
            }
            (Runtime::Q6(blocks), ConvertStats { exact: true })
        }
        _ => {
            // Re-quantise through f32, one super-block (or row chunk) at a time.
            let be = ty.block_elems();
            let chunk_elems = be.max(QK) * 8;
            let mut tmp = vec![0f32; chunk_elems];
            let mut blocks = Vec::with_capacity(n_blocks);
            let total = rows * cols;
            let mut done = 0;
            while done < total {
                let n = chunk_elems.min(total - done);
                let start = done / be * bb;
                let end = (done + n) / be * bb;
                dequantize(ty, &bytes[start..end], &mut tmp[..n]);
                for c in tmp[..n].chunks_exact(QK) {
                    blocks.push(BlockQ8::quantize(c));
                }
                done += n;
            }
            (Runtime::Q8(blocks), ConvertStats { exact: false })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes.
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    /// Random blocks with sane f16 scales (random bits would make NaNs).
    pub(crate) fn random_blocks(ty: GgmlType, n_blocks: usize, seed: u64) -> Vec<u8> {
        let mut b = noise(n_blocks * ty.block_bytes(), seed);
        let scale = |b: &mut [u8], at: usize, v: f32| {
            b[at..at + 2].copy_from_slice(&f16::from_f32(v).to_le_bytes())
        };
        for (i, blk) in b.chunks_exact_mut(ty.block_bytes()).enumerate() {
            let v = 0.01 + (i % 7) as f32 * 0.003;
            match ty {
                GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => scale(blk, 0, v),
                GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => {
                    scale(blk, 0, v);
                    scale(blk, 2, v * 0.5);
                }
                GgmlType::Q6K => scale(blk, 208, v * 0.1),
                GgmlType::F16 => scale(blk, 0, (i as f32 * 0.37).sin()),
                GgmlType::F32 => blk.copy_from_slice(&((i as f32 * 0.37).sin()).to_le_bytes()),
                _ => {}
            }
        }
        b
    }

    fn runtime_dequant(rt: &Runtime) -> Vec<f32> {
        let mut out = Vec::new();
        let mut tmp = [0f32; 32];
        match rt {
            Runtime::Q4(b) => b.iter().for_each(|b| {
                b.dequantize(&mut tmp);
                out.extend(tmp)
            }),
            Runtime::Q5(b) => b.iter().for_each(|b| {
                b.dequantize(&mut tmp);
                out.extend(tmp)
            }),
            Runtime::Q6(b) => b.iter().for_each(|b| {
                b.dequantize(&mut tmp);
                out.extend(tmp)
            }),
            Runtime::Q8(b) => b.iter().for_each(|b| {
                b.dequantize(&mut tmp);
                out.extend(tmp)
            }),
        }
        out
    }

    #[test]
    fn conversions_match_reference_dequantisation() {
        for ty in [
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q8_0,
            GgmlType::Q4K,
            GgmlType::Q5K,
            GgmlType::Q6K,
            GgmlType::F16,
            GgmlType::F32,
        ] {
            let cols = 512;
            let rows = 3;
            let n_blocks = rows * cols / ty.block_elems();
            let bytes = random_blocks(ty, n_blocks, ty.id() as u64);
            let mut reference = vec![0f32; rows * cols];
            dequantize(ty, &bytes, &mut reference);
            let (rt, stats) = to_runtime(ty, &bytes, rows, cols);
            let got = runtime_dequant(&rt);
            let amax = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
            let tol = if stats.exact {
                amax * 2e-3
            } else {
                amax / 100.0
            };
            for (i, (a, b)) in reference.iter().zip(&got).enumerate() {
                assert!(
                    (a - b).abs() <= tol,
                    "{ty} element {i}: {a} vs {b} (tol {tol})"
                );
            }
        }
    }
}
