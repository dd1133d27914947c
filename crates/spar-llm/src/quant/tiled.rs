//! Interleaved weight tiles and the matrix kernels over them.
//!
//! A tile holds 16 output rows × 32 inputs. Within a tile, the bytes of one group of 4 inputs
//! for all 16 rows sit next to each other (16 × 4 = 64 bytes): one 512-bit load, one
//! `vpdpbusd` against the 4 matching activation bytes broadcast to every lane, and each of the
//! 16 lanes accumulates the dot product of one output row — no horizontal sums. Per-row scales
//! (`d`) and offsets (`m`, times the activation block sum) are applied once per tile as 16-wide
//! vectors. Decode streams each tile once; prompt processing reuses every loaded tile for up to
//! four activation rows.
//!
//! Formats: 4-bit (`Q4_0`, `Q4_1`, `Q4_K`), 5-bit (`Q5_0`, `Q5_1`, `Q5_K`; the fifth bit in
//! bit masks expanded with `vpmovm2b`), 6-bit (`Q6_K`, a scale per 16 inputs, two bit planes),
//! 8-bit (everything else). All but the 8-bit re-quantisation are exact.

use half::f16;

use super::BlockQ6;
use super::convert::Runtime;
use super::kernels::{Isa, isa};
use super::{BlockA, QK};

/// Output rows per tile.
pub const TILE: usize = 16;

/// 16 rows × 32 four-bit weights.
#[derive(Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct TileQ4 {
    /// Group g (inputs 8g..8g+8), row r, byte j: low nibble input 8g+j, high nibble 8g+4+j.
    pub qs: [u8; 256],
    pub d: [f16; TILE],
    pub m: [f16; TILE],
}

/// 16 rows × 32 five-bit weights: [`TileQ4`] plus the fifth bits.
#[derive(Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct TileQ5 {
    pub qs: [u8; 256],
    /// `hi[2g + h]`, bit `4r + j`: the fifth bit of input 8g + 4h + j of row r.
    pub hi: [u64; 8],
    pub d: [f16; TILE],
    pub m: [f16; TILE],
}

/// 16 rows × 32 six-bit weights `x = d[half]·(q − 32)`, a scale per row and half-block.
#[derive(Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct TileQ6 {
    /// Low four bits, laid out as in [`TileQ4`].
    pub qs: [u8; 256],
    /// `hi[4g + 2h + p]`, bit `4r + j`: bit `4 + p` of input 8g + 4h + j of row r.
    pub hi: [u64; 16],
    /// `d[0]` for inputs 0..16, `d[1]` for 16..32.
    pub d: [[f16; TILE]; 2],
}

/// 16 rows × 32 eight-bit weights.
#[derive(Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct TileQ8 {
    /// Quad q (inputs 4q..4q+4), row r, byte j: input 4q+j.
    pub qs: [u8; 512],
    pub d: [f16; TILE],
    pub m: [f16; TILE],
}

impl std::fmt::Debug for TileQ4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TileQ4")
    }
}
impl std::fmt::Debug for TileQ5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TileQ5")
    }
}
impl std::fmt::Debug for TileQ6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TileQ6")
    }
}
impl std::fmt::Debug for TileQ8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TileQ8")
    }
}

/// Tiles of one matrix, `tiles[t * blocks + b]` for row tile `t` and input block `b`.
#[derive(Debug, Clone, PartialEq)]
pub enum TileData {
    Q4(Vec<TileQ4>),
    Q5(Vec<TileQ5>),
    Q6(Vec<TileQ6>),
    Q8(Vec<TileQ8>),
}

/// The integer weight (0..=255) of row `r`, input `k` of a block, and the row's (d, m).
trait Tile: Copy + Send + Sync + 'static {
    fn q(&self, r: usize, k: usize) -> u8;
    /// (d, m) of row r at input k.
    fn dm(&self, r: usize, k: usize) -> (f32, f32);
}

impl Tile for TileQ4 {
    fn q(&self, r: usize, k: usize) -> u8 {
        let (g, rem) = (k / 8, k % 8);
        let b = self.qs[g * 64 + r * 4 + rem % 4];
        if rem < 4 { b & 15 } else { b >> 4 }
    }
    fn dm(&self, r: usize, _k: usize) -> (f32, f32) {
        (self.d[r].to_f32(), self.m[r].to_f32())
    }
}

impl Tile for TileQ5 {
    fn q(&self, r: usize, k: usize) -> u8 {
        let (g, rem) = (k / 8, k % 8);
        let b = self.qs[g * 64 + r * 4 + rem % 4];
        let lo = if rem < 4 { b & 15 } else { b >> 4 };
        let h = (self.hi[2 * g + rem / 4] >> (r * 4 + rem % 4)) & 1;
        lo | ((h as u8) << 4)
    }
    fn dm(&self, r: usize, _k: usize) -> (f32, f32) {
        (self.d[r].to_f32(), self.m[r].to_f32())
    }
}

impl Tile for TileQ6 {
    fn q(&self, r: usize, k: usize) -> u8 {
        let (g, rem) = (k / 8, k % 8);
        let b = self.qs[g * 64 + r * 4 + rem % 4];
        let lo = if rem < 4 { b & 15 } else { b >> 4 };
        let base = 4 * g + 2 * (rem / 4);
        let bit = r * 4 + rem % 4;
        let h0 = (self.hi[base] >> bit) & 1;
        let h1 = (self.hi[base + 1] >> bit) & 1;
        lo | ((h0 as u8) << 4) | ((h1 as u8) << 5)
    }
    fn dm(&self, r: usize, k: usize) -> (f32, f32) {
        let d = self.d[k / 16][r].to_f32();
        (d, -32.0 * d)
    }
}

impl Tile for TileQ8 {
    fn q(&self, r: usize, k: usize) -> u8 {
        self.qs[(k / 4) * 64 + r * 4 + k % 4]
    }
    fn dm(&self, r: usize, _k: usize) -> (f32, f32) {
        (self.d[r].to_f32(), self.m[r].to_f32())
    }
}

/// Packs row-major blocks (`rows × blocks`) into tiles; rows are padded to a multiple of 16
/// with zero weights.
pub fn pack(rt: &Runtime, rows: usize, cols: usize) -> TileData {
    let nb = cols / QK;
    let n_tiles = rows.div_ceil(TILE);
    match rt {
        Runtime::Q4(blocks) => {
            let mut out = vec![
                TileQ4 {
                    qs: [0; 256],
                    d: [f16::ZERO; TILE],
                    m: [f16::ZERO; TILE]
                };
                n_tiles * nb
            ];
            for r in 0..rows {
                for b in 0..nb {
                    let src = &blocks[r * nb + b];
                    let t = &mut out[(r / TILE) * nb + b];
                    let rr = r % TILE;
                    t.d[rr] = src.d;
                    t.m[rr] = src.m;
                    let q = |k: usize| {
                        if k < 16 {
                            src.qs[k] & 15
                        } else {
                            src.qs[k - 16] >> 4
                        }
                    };
                    for g in 0..4 {
                        for j in 0..4 {
                            t.qs[g * 64 + rr * 4 + j] = q(8 * g + j) | (q(8 * g + 4 + j) << 4);
                        }
                    }
                }
            }
            TileData::Q4(out)
        }
        Runtime::Q5(blocks) => {
            let mut out = vec![
                TileQ5 {
                    qs: [0; 256],
                    hi: [0; 8],
                    d: [f16::ZERO; TILE],
                    m: [f16::ZERO; TILE]
                };
                n_tiles * nb
            ];
            for r in 0..rows {
                for b in 0..nb {
                    let src = &blocks[r * nb + b];
                    let t = &mut out[(r / TILE) * nb + b];
                    let rr = r % TILE;
                    t.d[rr] = src.d;
                    t.m[rr] = src.m;
                    let v = src.values();
                    for g in 0..4 {
                        for j in 0..4 {
                            let (a, c) = (v[8 * g + j], v[8 * g + 4 + j]);
                            t.qs[g * 64 + rr * 4 + j] = (a & 15) | ((c & 15) << 4);
                            t.hi[2 * g] |= ((a >> 4) as u64 & 1) << (rr * 4 + j);
                            t.hi[2 * g + 1] |= ((c >> 4) as u64 & 1) << (rr * 4 + j);
                        }
                    }
                }
            }
            TileData::Q5(out)
        }
        Runtime::Q6(blocks) => {
            let mut out = vec![
                TileQ6 {
                    qs: [0; 256],
                    hi: [0; 16],
                    d: [[f16::ZERO; TILE]; 2]
                };
                n_tiles * nb
            ];
            for r in 0..rows {
                for b in 0..nb {
                    let src: &BlockQ6 = &blocks[r * nb + b];
                    let t = &mut out[(r / TILE) * nb + b];
                    let rr = r % TILE;
                    t.d[0][rr] = src.d[0];
                    t.d[1][rr] = src.d[1];
                    let v = &src.q;
                    for g in 0..4 {
                        for j in 0..4 {
                            let (a, c) = (v[8 * g + j], v[8 * g + 4 + j]);
                            t.qs[g * 64 + rr * 4 + j] = (a & 15) | ((c & 15) << 4);
                            for (h, x) in [(0, a), (1, c)] {
                                t.hi[4 * g + 2 * h] |= ((x >> 4) as u64 & 1) << (rr * 4 + j);
                                t.hi[4 * g + 2 * h + 1] |= ((x >> 5) as u64 & 1) << (rr * 4 + j);
                            }
                        }
                    }
                }
            }
            TileData::Q6(out)
        }
        Runtime::Q8(blocks) => {
            let mut out = vec![
                TileQ8 {
                    qs: [0; 512],
                    d: [f16::ZERO; TILE],
                    m: [f16::ZERO; TILE]
                };
                n_tiles * nb
            ];
            for r in 0..rows {
                for b in 0..nb {
                    let src = &blocks[r * nb + b];
                    let t = &mut out[(r / TILE) * nb + b];
                    let rr = r % TILE;
                    t.d[rr] = src.d;
                    t.m[rr] = src.m;
                    for k in 0..32 {
                        t.qs[(k / 4) * 64 + rr * 4 + k % 4] = src.qs[k];
                    }
                }
            }
            TileData::Q8(out)
        }
    }
}

impl TileData {
    pub fn size_in_bytes(&self) -> usize {
        match self {
            TileData::Q4(v) => std::mem::size_of_val(v.as_slice()),
            TileData::Q5(v) => std::mem::size_of_val(v.as_slice()),
            TileData::Q6(v) => std::mem::size_of_val(v.as_slice()),
            TileData::Q8(v) => std::mem::size_of_val(v.as_slice()),
        }
    }

    pub fn format_name(&self) -> &'static str {
        match self {
            TileData::Q4(_) => "q4",
            TileData::Q5(_) => "q5",
            TileData::Q6(_) => "q6",
            TileData::Q8(_) => "q8",
        }
    }

    /// Row `r` as f32.
    pub fn row_into(&self, r: usize, cols: usize, out: &mut [f32]) {
        fn go<T: Tile>(tiles: &[T], r: usize, nb: usize, out: &mut [f32]) {
            let (t, rr) = (r / TILE, r % TILE);
            for b in 0..nb {
                let tile = &tiles[t * nb + b];
                for k in 0..QK {
                    let (d, m) = tile.dm(rr, k);
                    out[b * QK + k] = d * tile.q(rr, k) as f32 + m;
                }
            }
        }
        let nb = cols / QK;
        match self {
            TileData::Q4(v) => go(v, r, nb, out),
            TileData::Q5(v) => go(v, r, nb, out),
            TileData::Q6(v) => go(v, r, nb, out),
            TileData::Q8(v) => go(v, r, nb, out),
        }
    }

    /// `y[m × rows] = act[m × blocks] · Wᵀ` for row tiles `tiles` (a sub-range for threads).
    /// `y` is written through a raw pointer: callers give each thread disjoint tile ranges.
    ///
    /// # Safety
    /// `y` must point to `m * rows` writable floats, and no other thread may write the columns
    /// of the tiles in `tiles`.
    pub unsafe fn gemm(
        &self,
        act: &[BlockA],
        m: usize,
        nb: usize,
        rows: usize,
        tiles: std::ops::Range<usize>,
        y: *mut f32,
    ) {
        let isa = isa();
        unsafe {
            match self {
                TileData::Q4(v) => run(isa, v, act, m, nb, rows, tiles, y),
                TileData::Q5(v) => run(isa, v, act, m, nb, rows, tiles, y),
                TileData::Q6(v) => run(isa, v, act, m, nb, rows, tiles, y),
                TileData::Q8(v) => run(isa, v, act, m, nb, rows, tiles, y),
            }
        }
    }
}

/// Dispatches a tile format to the best kernel.
#[allow(clippy::too_many_arguments)]
unsafe fn run<T: Tile + SimdTile>(
    isa: Isa,
    tiles: &[T],
    act: &[BlockA],
    m: usize,
    nb: usize,
    rows: usize,
    range: std::ops::Range<usize>,
    y: *mut f32,
) {
    let mut out = [[0f32; TILE]; 4];
    for t in range {
        let row_tiles = &tiles[t * nb..(t + 1) * nb];
        let valid = (rows - t * TILE).min(TILE);
        let mut r0 = 0;
        while r0 < m {
            let mt = (m - r0).min(4);
            let acts: [&[BlockA]; 4] = std::array::from_fn(|i| {
                let row = r0 + i.min(mt - 1);
                &act[row * nb..(row + 1) * nb]
            });
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni => unsafe { T::vnni(row_tiles, &acts, mt, &mut out) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { T::avx2(row_tiles, &acts, mt, &mut out) },
                _ => scalar(row_tiles, &acts, mt, &mut out),
            }
            for (i, o) in out.iter().enumerate().take(mt) {
                // SAFETY: the caller owns columns t*16.. of every row of y.
                let dst = unsafe { y.add((r0 + i) * rows + t * TILE) };
                unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), dst, valid) };
            }
            r0 += mt;
        }
    }
}

fn scalar<T: Tile>(tiles: &[T], acts: &[&[BlockA]; 4], mt: usize, out: &mut [[f32; TILE]; 4]) {
    for (i, o) in out.iter_mut().enumerate().take(mt) {
        *o = [0.0; TILE];
        for (b, tile) in tiles.iter().enumerate() {
            let a = &acts[i][b];
            for (r, v) in o.iter_mut().enumerate() {
                for half in 0..2 {
                    let mut s = 0i32;
                    for k in 16 * half..16 * half + 16 {
                        s += tile.q(r, k) as i32 * a.qs[k] as i32;
                    }
                    let (d, m) = tile.dm(r, 16 * half);
                    *v += d * a.d * s as f32 + m * a.sh[half];
                }
            }
        }
    }
}

/// SIMD kernels of a tile format.
trait SimdTile: Sized {
    #[cfg(target_arch = "x86_64")]
    unsafe fn vnni(tiles: &[Self], acts: &[&[BlockA]; 4], mt: usize, out: &mut [[f32; TILE]; 4]);
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2(tiles: &[Self], acts: &[&[BlockA]; 4], mt: usize, out: &mut [[f32; TILE]; 4]);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::*;

    /// The 4 activation bytes at `off`, in every 32-bit lane.
    #[inline(always)]
    unsafe fn bcast4_512(a: &BlockA, off: usize) -> __m512i {
        unsafe {
            _mm512_set1_epi32(std::ptr::read_unaligned(
                a.qs.as_ptr().add(off) as *const i32
            ))
        }
    }

    #[inline(always)]
    unsafe fn bcast4_256(a: &BlockA, off: usize) -> __m256i {
        unsafe {
            _mm256_set1_epi32(std::ptr::read_unaligned(
                a.qs.as_ptr().add(off) as *const i32
            ))
        }
    }

    /// Applies one block's integer sums: acc += isum·d·da + m·sa.
    #[inline(always)]
    unsafe fn finish_512(acc: __m512, isum: __m512i, d: __m512, m: __m512, a: &BlockA) -> __m512 {
        unsafe {
            let acc = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(isum),
                _mm512_mul_ps(d, _mm512_set1_ps(a.d)),
                acc,
            );
            _mm512_fmadd_ps(m, _mm512_set1_ps(a.s), acc)
        }
    }

    #[inline(always)]
    unsafe fn load_dm_512(d: &[f16; TILE], m: &[f16; TILE]) -> (__m512, __m512) {
        unsafe {
            (
                _mm512_cvtph_ps(_mm256_loadu_si256(d.as_ptr() as *const __m256i)),
                _mm512_cvtph_ps(_mm256_loadu_si256(m.as_ptr() as *const __m256i)),
            )
        }
    }

    /// The kernel body shared by all formats: `weights(tile, g)` yields the two 64-byte weight
    /// vectors of input group g (inputs 8g..8g+4 and 8g+4..8g+8).
    #[inline(always)]
    unsafe fn vnni_body<T>(
        tiles: &[T],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
        dm: impl Fn(&T) -> (&[f16; TILE], &[f16; TILE]),
        weights: impl Fn(&T, usize) -> (__m512i, __m512i),
    ) {
        unsafe {
            let mut acc = [_mm512_setzero_ps(); 4];
            for (b, tile) in tiles.iter().enumerate() {
                let (dd, mm) = dm(tile);
                let (d, m) = load_dm_512(dd, mm);
                let mut isum_e = [_mm512_setzero_si512(); 4];
                let mut isum_o = [_mm512_setzero_si512(); 4];
                for g in 0..4 {
                    let (we, wo) = weights(tile, g);
                    for i in 0..4 {
                        if i < mt {
                            let a = acts[i].get_unchecked(b);
                            isum_e[i] = _mm512_dpbusd_epi32(isum_e[i], we, bcast4_512(a, 8 * g));
                            isum_o[i] =
                                _mm512_dpbusd_epi32(isum_o[i], wo, bcast4_512(a, 8 * g + 4));
                        }
                    }
                }
                for i in 0..4 {
                    if i < mt {
                        let a = acts[i].get_unchecked(b);
                        acc[i] =
                            finish_512(acc[i], _mm512_add_epi32(isum_e[i], isum_o[i]), d, m, a);
                    }
                }
            }
            for i in 0..mt {
                _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
            }
        }
    }

    #[inline(always)]
    unsafe fn nibbles_512(p: *const u8) -> (__m512i, __m512i) {
        unsafe {
            let w = _mm512_loadu_si512(p as *const _);
            let mask = _mm512_set1_epi8(15);
            (
                _mm512_and_si512(w, mask),
                _mm512_and_si512(_mm512_srli_epi16(w, 4), mask),
            )
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vl,fma,f16c")]
    unsafe fn q4_vnni(
        tiles: &[TileQ4],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            vnni_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g| nibbles_512(t.qs.as_ptr().add(g * 64)),
            )
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vl,fma,f16c")]
    unsafe fn q5_vnni(
        tiles: &[TileQ5],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            vnni_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g| {
                    let (lo, hi) = nibbles_512(t.qs.as_ptr().add(g * 64));
                    let sixteen = _mm512_set1_epi8(16);
                    let he = _mm512_and_si512(_mm512_movm_epi8(t.hi[2 * g]), sixteen);
                    let ho = _mm512_and_si512(_mm512_movm_epi8(t.hi[2 * g + 1]), sixteen);
                    (_mm512_or_si512(lo, he), _mm512_or_si512(hi, ho))
                },
            )
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vl,fma,f16c")]
    unsafe fn q8_vnni(
        tiles: &[TileQ8],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            vnni_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g| {
                    (
                        _mm512_loadu_si512(t.qs.as_ptr().add(2 * g * 64) as *const _),
                        _mm512_loadu_si512(t.qs.as_ptr().add((2 * g + 1) * 64) as *const _),
                    )
                },
            )
        }
    }

    /// AVX2: each 64-byte group is two halves of 8 rows. `vpmaddubsw` saturates at i16, so
    /// 8-bit weights are shifted to signed (`q - 128`, the shift folded into `m`) and multiplied
    /// with the sign trick.
    #[inline(always)]
    unsafe fn avx2_body<T>(
        tiles: &[T],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
        dm: impl Fn(&T) -> (&[f16; TILE], &[f16; TILE]),
        weights: impl Fn(&T, usize, usize) -> (__m256i, __m256i),
        signed: bool,
    ) {
        unsafe {
            let ones = _mm256_set1_epi16(1);
            for half in 0..2 {
                let mut acc = [_mm256_setzero_ps(); 4];
                for (b, tile) in tiles.iter().enumerate() {
                    let (dd, mm) = dm(tile);
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(
                        dd.as_ptr().add(half * 8) as *const __m128i
                    ));
                    let mut m = _mm256_cvtph_ps(_mm_loadu_si128(
                        mm.as_ptr().add(half * 8) as *const __m128i
                    ));
                    if signed {
                        m = _mm256_fmadd_ps(d, _mm256_set1_ps(128.0), m);
                    }
                    let mut isum = [_mm256_setzero_si256(); 4];
                    for g in 0..4 {
                        let (we, wo) = weights(tile, g, half);
                        for i in 0..4 {
                            if i < mt {
                                let a = acts[i].get_unchecked(b);
                                let (ae, ao) = (bcast4_256(a, 8 * g), bcast4_256(a, 8 * g + 4));
                                let (pe, po) = if signed {
                                    (
                                        _mm256_maddubs_epi16(
                                            _mm256_sign_epi8(we, we),
                                            _mm256_sign_epi8(ae, we),
                                        ),
                                        _mm256_maddubs_epi16(
                                            _mm256_sign_epi8(wo, wo),
                                            _mm256_sign_epi8(ao, wo),
                                        ),
                                    )
                                } else {
                                    (_mm256_maddubs_epi16(we, ae), _mm256_maddubs_epi16(wo, ao))
                                };
                                let s = _mm256_add_epi32(
                                    _mm256_madd_epi16(pe, ones),
                                    _mm256_madd_epi16(po, ones),
                                );
                                isum[i] = _mm256_add_epi32(isum[i], s);
                            }
                        }
                    }
                    for i in 0..4 {
                        if i < mt {
                            let a = acts[i].get_unchecked(b);
                            let f = _mm256_cvtepi32_ps(isum[i]);
                            acc[i] =
                                _mm256_fmadd_ps(f, _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[i]);
                            acc[i] = _mm256_fmadd_ps(m, _mm256_set1_ps(a.s), acc[i]);
                        }
                    }
                }
                for i in 0..mt {
                    _mm256_storeu_ps(out[i].as_mut_ptr().add(half * 8), acc[i]);
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn nibbles_256(p: *const u8) -> (__m256i, __m256i) {
        unsafe {
            let w = _mm256_loadu_si256(p as *const __m256i);
            let mask = _mm256_set1_epi8(15);
            (
                _mm256_and_si256(w, mask),
                _mm256_and_si256(_mm256_srli_epi16(w, 4), mask),
            )
        }
    }

    /// 32 bits → 32 bytes of 0x10 where the bit is set.
    #[inline(always)]
    unsafe fn bits_to_16s(bits: u32) -> __m256i {
        unsafe {
            let shuf = _mm256_setr_epi8(
                0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3,
                3, 3, 3, 3,
            );
            let v = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
            let sel = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
            let on = _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
            _mm256_and_si256(on, _mm256_set1_epi8(16))
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4_avx2(
        tiles: &[TileQ4],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            avx2_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g, h| nibbles_256(t.qs.as_ptr().add(g * 64 + h * 32)),
                false,
            )
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q5_avx2(
        tiles: &[TileQ5],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            avx2_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g, h| {
                    let (lo, hi) = nibbles_256(t.qs.as_ptr().add(g * 64 + h * 32));
                    let he = bits_to_16s((t.hi[2 * g] >> (32 * h)) as u32);
                    let ho = bits_to_16s((t.hi[2 * g + 1] >> (32 * h)) as u32);
                    (_mm256_or_si256(lo, he), _mm256_or_si256(hi, ho))
                },
                false,
            )
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_avx2(
        tiles: &[TileQ8],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            avx2_body(
                tiles,
                acts,
                mt,
                out,
                |t| (&t.d, &t.m),
                |t, g, h| {
                    let flip = _mm256_set1_epi8(-128);
                    let e = _mm256_loadu_si256(
                        t.qs.as_ptr().add(2 * g * 64 + h * 32) as *const __m256i
                    );
                    let o = _mm256_loadu_si256(
                        t.qs.as_ptr().add((2 * g + 1) * 64 + h * 32) as *const __m256i
                    );
                    (_mm256_xor_si256(e, flip), _mm256_xor_si256(o, flip))
                },
                true,
            )
        }
    }

    impl SimdTile for TileQ4 {
        unsafe fn vnni(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q4_vnni(t, a, mt, o) }
        }
        unsafe fn avx2(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q4_avx2(t, a, mt, o) }
        }
    }
    impl SimdTile for TileQ5 {
        unsafe fn vnni(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q5_vnni(t, a, mt, o) }
        }
        unsafe fn avx2(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q5_avx2(t, a, mt, o) }
        }
    }
    /// Six-bit tiles: two scale vectors per block (one per 16 inputs), so the integer sums of
    /// the two halves are kept apart; the −32 offset uses the activation's half sums.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vl,fma,f16c")]
    unsafe fn q6_vnni(
        tiles: &[TileQ6],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            let (b16, b32) = (_mm512_set1_epi8(16), _mm512_set1_epi8(32));
            let mut acc = [_mm512_setzero_ps(); 4];
            for (b, t) in tiles.iter().enumerate() {
                let d0 = _mm512_cvtph_ps(_mm256_loadu_si256(t.d[0].as_ptr() as *const __m256i));
                let d1 = _mm512_cvtph_ps(_mm256_loadu_si256(t.d[1].as_ptr() as *const __m256i));
                let mut isum = [[_mm512_setzero_si512(); 2]; 4];
                for g in 0..4 {
                    let (lo, hi) = nibbles_512(t.qs.as_ptr().add(g * 64));
                    let plane = |k: usize| {
                        _mm512_or_si512(
                            _mm512_and_si512(_mm512_movm_epi8(t.hi[k]), b16),
                            _mm512_and_si512(_mm512_movm_epi8(t.hi[k + 1]), b32),
                        )
                    };
                    let we = _mm512_or_si512(lo, plane(4 * g));
                    let wo = _mm512_or_si512(hi, plane(4 * g + 2));
                    let half = g / 2;
                    for i in 0..4 {
                        if i < mt {
                            let a = acts[i].get_unchecked(b);
                            isum[i][half] =
                                _mm512_dpbusd_epi32(isum[i][half], we, bcast4_512(a, 8 * g));
                            isum[i][half] =
                                _mm512_dpbusd_epi32(isum[i][half], wo, bcast4_512(a, 8 * g + 4));
                        }
                    }
                }
                for i in 0..4 {
                    if i < mt {
                        let a = acts[i].get_unchecked(b);
                        let da = _mm512_set1_ps(a.d);
                        acc[i] = _mm512_fmadd_ps(
                            _mm512_cvtepi32_ps(isum[i][0]),
                            _mm512_mul_ps(d0, da),
                            acc[i],
                        );
                        acc[i] = _mm512_fmadd_ps(
                            _mm512_cvtepi32_ps(isum[i][1]),
                            _mm512_mul_ps(d1, da),
                            acc[i],
                        );
                        acc[i] = _mm512_fmadd_ps(d0, _mm512_set1_ps(-32.0 * a.sh[0]), acc[i]);
                        acc[i] = _mm512_fmadd_ps(d1, _mm512_set1_ps(-32.0 * a.sh[1]), acc[i]);
                    }
                }
            }
            for i in 0..mt {
                _mm512_storeu_ps(out[i].as_mut_ptr(), acc[i]);
            }
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q6_avx2(
        tiles: &[TileQ6],
        acts: &[&[BlockA]; 4],
        mt: usize,
        out: &mut [[f32; TILE]; 4],
    ) {
        unsafe {
            let ones = _mm256_set1_epi16(1);
            for half_rows in 0..2 {
                let mut acc = [_mm256_setzero_ps(); 4];
                for (b, t) in tiles.iter().enumerate() {
                    let load = |d: &[f16; TILE]| {
                        _mm256_cvtph_ps(_mm_loadu_si128(
                            d.as_ptr().add(half_rows * 8) as *const __m128i
                        ))
                    };
                    let (d0, d1) = (load(&t.d[0]), load(&t.d[1]));
                    let mut isum = [[_mm256_setzero_si256(); 2]; 4];
                    for g in 0..4 {
                        let (lo, hi) = nibbles_256(t.qs.as_ptr().add(g * 64 + half_rows * 32));
                        let plane = |k: usize| {
                            let b0 = bits_to_16s((t.hi[k] >> (32 * half_rows)) as u32);
                            let b1 = _mm256_slli_epi16(
                                bits_to_16s((t.hi[k + 1] >> (32 * half_rows)) as u32),
                                1,
                            );
                            _mm256_or_si256(b0, b1)
                        };
                        let we = _mm256_or_si256(lo, plane(4 * g));
                        let wo = _mm256_or_si256(hi, plane(4 * g + 2));
                        let h = g / 2;
                        for i in 0..4 {
                            if i < mt {
                                let a = acts[i].get_unchecked(b);
                                let pe = _mm256_maddubs_epi16(we, bcast4_256(a, 8 * g));
                                let po = _mm256_maddubs_epi16(wo, bcast4_256(a, 8 * g + 4));
                                let s = _mm256_add_epi32(
                                    _mm256_madd_epi16(pe, ones),
                                    _mm256_madd_epi16(po, ones),
                                );
                                isum[i][h] = _mm256_add_epi32(isum[i][h], s);
                            }
                        }
                    }
                    for i in 0..4 {
                        if i < mt {
                            let a = acts[i].get_unchecked(b);
                            let da = _mm256_set1_ps(a.d);
                            acc[i] = _mm256_fmadd_ps(
                                _mm256_cvtepi32_ps(isum[i][0]),
                                _mm256_mul_ps(d0, da),
                                acc[i],
                            );
                            acc[i] = _mm256_fmadd_ps(
                                _mm256_cvtepi32_ps(isum[i][1]),
                                _mm256_mul_ps(d1, da),
                                acc[i],
                            );
                            acc[i] = _mm256_fmadd_ps(d0, _mm256_set1_ps(-32.0 * a.sh[0]), acc[i]);
                            acc[i] = _mm256_fmadd_ps(d1, _mm256_set1_ps(-32.0 * a.sh[1]), acc[i]);
                        }
                    }
                }
                for i in 0..mt {
                    _mm256_storeu_ps(out[i].as_mut_ptr().add(half_rows * 8), acc[i]);
                }
            }
        }
    }

    impl SimdTile for TileQ6 {
        unsafe fn vnni(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q6_vnni(t, a, mt, o) }
        }
        unsafe fn avx2(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q6_avx2(t, a, mt, o) }
        }
    }

    impl SimdTile for TileQ8 {
        unsafe fn vnni(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q8_vnni(t, a, mt, o) }
        }
        unsafe fn avx2(t: &[Self], a: &[&[BlockA]; 4], mt: usize, o: &mut [[f32; TILE]; 4]) {
            unsafe { q8_avx2(t, a, mt, o) }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl<T> SimdTile for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgmlType;
    use crate::quant::convert::{dequantize, tests::random_blocks, to_runtime};
    use crate::quant::quantize_row_a;

    /// (value, Σ|terms|) of the float reference.
    fn reference(w: &[f32], x: &[f32], rows: usize, cols: usize, m: usize) -> Vec<(f32, f32)> {
        let mut y = vec![(0f32, 0f32); m * rows];
        for i in 0..m {
            for r in 0..rows {
                let terms = (0..cols).map(|k| x[i * cols + k] * w[r * cols + k]);
                y[i * rows + r] = (terms.clone().sum(), terms.map(f32::abs).sum());
            }
        }
        y
    }

    #[test]
    fn every_format_and_isa_matches_the_float_reference() {
        let isas: Vec<Isa> = [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni]
            .into_iter()
            .filter(|i| *i as u8 <= isa() as u8)
            .collect();
        for ty in [
            GgmlType::Q4_1,
            GgmlType::Q4K,
            GgmlType::Q5_0,
            GgmlType::Q5K,
            GgmlType::Q8_0,
            GgmlType::Q6K,
            GgmlType::F16,
        ] {
            let (rows, cols) = (37, 256);
            let bytes = random_blocks(ty, rows * cols / ty.block_elems(), 3);
            let mut wf = vec![0f32; rows * cols];
            dequantize(ty, &bytes, &mut wf);
            let (rt, _) = to_runtime(ty, &bytes, rows, cols);
            let tiles = pack(&rt, rows, cols);
            // Row extraction round-trips.
            let mut row = vec![0f32; cols];
            tiles.row_into(rows - 1, cols, &mut row);
            let amax = wf.iter().fold(0f32, |a, v| a.max(v.abs()));
            for k in 0..cols {
                assert!(
                    (row[k] - wf[(rows - 1) * cols + k]).abs() <= amax / 60.0,
                    "{ty} row_into"
                );
            }
            for m in [1usize, 3, 6] {
                let x: Vec<f32> = (0..m * cols)
                    .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.11)
                    .collect();
                let nb = cols / QK;
                let mut act = vec![BlockA::ZERO; m * nb];
                for (xr, ar) in x.chunks_exact(cols).zip(act.chunks_exact_mut(nb)) {
                    quantize_row_a(xr, ar);
                }
                let want = reference(&wf, &x, rows, cols, m);
                for isa in &isas {
                    let mut y = vec![f32::NAN; m * rows];
                    let n_tiles = rows.div_ceil(TILE);
                    unsafe {
                        match &tiles {
                            TileData::Q4(v) => {
                                run(*isa, v, &act, m, nb, rows, 0..n_tiles, y.as_mut_ptr())
                            }
                            TileData::Q5(v) => {
                                run(*isa, v, &act, m, nb, rows, 0..n_tiles, y.as_mut_ptr())
                            }
                            TileData::Q6(v) => {
                                run(*isa, v, &act, m, nb, rows, 0..n_tiles, y.as_mut_ptr())
                            }
                            TileData::Q8(v) => {
                                run(*isa, v, &act, m, nb, rows, 0..n_tiles, y.as_mut_ptr())
                            }
                        }
                    }
                    for (i, ((a, scale), b)) in want.iter().zip(&y).enumerate() {
                        let tol = 0.02 * scale + 1e-3;
                        assert!((a - b).abs() <= tol, "{ty} {isa:?} m={m} [{i}]: {a} vs {b}");
                    }
                }
            }
        }
    }
}
