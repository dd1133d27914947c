//! Block dot products: one weight row against 1 or 4 quantised activation rows.
//! Scalar reference code, AVX2 and AVX-512 VNNI (256-bit) variants, chosen once at run time.

use std::sync::OnceLock;

use super::{BlockA, BlockQ4, BlockQ8};

/// The instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    Avx2,
    Avx512Vnni,
}

/// The best instruction set this CPU supports (`SPAR_ISA=scalar|avx2` forces a lower one).
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let forced = std::env::var("SPAR_ISA").unwrap_or_default();
        detect(&forced)
    })
}

#[allow(unreachable_code)]
fn detect(forced: &str) -> Isa {
    if forced == "scalar" {
        return Isa::Scalar;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        let vnni = avx2 && is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl");
        if vnni && forced != "avx2" {
            return Isa::Avx512Vnni;
        }
        if avx2 {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// A weight block type the kernels understand.
pub trait WeightBlock: Copy + Send + Sync + 'static {
    fn dot(isa: Isa, w: &[Self], a: &[BlockA]) -> f32;
    fn dot4(isa: Isa, w: &[Self], a: [&[BlockA]; 4]) -> [f32; 4];
    fn dequantize_into(&self, out: &mut [f32]);
}

impl WeightBlock for BlockQ4 {
    #[inline]
    fn dot(isa: Isa, w: &[Self], a: &[BlockA]) -> f32 {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => unsafe { x86::q4_dot::<true>(w, a) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::q4_dot::<false>(w, a) },
            _ => scalar::q4_dot(w, a),
        }
    }

    #[inline]
    fn dot4(isa: Isa, w: &[Self], a: [&[BlockA]; 4]) -> [f32; 4] {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => unsafe { x86::q4_dot4::<true>(w, a) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::q4_dot4::<false>(w, a) },
            _ => a.map(|a| scalar::q4_dot(w, a)),
        }
    }

    fn dequantize_into(&self, out: &mut [f32]) {
        self.dequantize(out)
    }
}

impl WeightBlock for BlockQ8 {
    #[inline]
    fn dot(isa: Isa, w: &[Self], a: &[BlockA]) -> f32 {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => unsafe { x86::q8_dot_vnni(w, a) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::q8_dot_avx2(w, a) },
            _ => scalar::q8_dot(w, a),
        }
    }

    #[inline]
    fn dot4(isa: Isa, w: &[Self], a: [&[BlockA]; 4]) -> [f32; 4] {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => unsafe { x86::q8_dot4_vnni(w, a) },
            _ => a.map(|a| Self::dot(isa, w, a)),
        }
    }

    fn dequantize_into(&self, out: &mut [f32]) {
        self.dequantize(out)
    }
}

pub(crate) mod scalar {
    use super::*;

    pub fn q4_dot(w: &[BlockQ4], a: &[BlockA]) -> f32 {
        let mut acc = 0f32;
        for (w, a) in w.iter().zip(a) {
            let mut s = 0i32;
            for j in 0..16 {
                s += (w.qs[j] & 15) as i32 * a.qs[j] as i32;
                s += (w.qs[j] >> 4) as i32 * a.qs[j + 16] as i32;
            }
            acc += w.d.to_f32() * a.d * s as f32 + w.m.to_f32() * a.s;
        }
        acc
    }

    pub fn q8_dot(w: &[BlockQ8], a: &[BlockA]) -> f32 {
        let mut acc = 0f32;
        for (w, a) in w.iter().zip(a) {
            let s: i32 = w.qs.iter().zip(a.qs).map(|(x, y)| *x as i32 * y as i32).sum();
            acc += w.d.to_f32() * a.d * s as f32 + w.m.to_f32() * a.s;
        }
        acc
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::*;

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        unsafe {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
    }

    /// 32 unsigned nibbles of a Q4 block, in element order.
    #[inline(always)]
    unsafe fn unpack_q4(qs: &[u8; 16]) -> __m256i {
        unsafe {
            let bytes = _mm_loadu_si128(qs.as_ptr() as *const __m128i);
            let mask = _mm_set1_epi8(15);
            let lo = _mm_and_si128(bytes, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
            _mm256_set_m128i(hi, lo)
        }
    }

    /// Σ u8·i8 over 32 pairs into 8 i32 lanes. The AVX2 path saturates at i16, which no pair of
    /// a nibble (≤ 15) and an i8 can reach; 8-bit weights use `q8_dot_avx2` instead.
    #[inline(always)]
    unsafe fn dot_u8i8<const VNNI: bool>(w: __m256i, a: __m256i) -> __m256i {
        unsafe {
        if VNNI {
            _mm256_dpbusd_avx_epi32_compat(w, a)
        } else {
            let p = _mm256_maddubs_epi16(w, a);
            _mm256_madd_epi16(p, _mm256_set1_epi16(1))
        }
    }
    }

    #[inline(always)]
    unsafe fn _mm256_dpbusd_avx_epi32_compat(w: __m256i, a: __m256i) -> __m256i {
        unsafe {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, a)
    }
    }

    #[inline(always)]
    unsafe fn load_a(a: &BlockA) -> __m256i {
        unsafe { _mm256_loadu_si256(a.qs.as_ptr() as *const __m256i) }
    }

    #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
    pub(super) unsafe fn q4_dot_vnni_impl(w: &[BlockQ4], a: &[BlockA]) -> f32 {
        unsafe { q4_dot_body::<true>(w, a) }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q4_dot_avx2_impl(w: &[BlockQ4], a: &[BlockA]) -> f32 {
        unsafe { q4_dot_body::<false>(w, a) }
    }

    pub(super) unsafe fn q4_dot<const VNNI: bool>(w: &[BlockQ4], a: &[BlockA]) -> f32 {
        unsafe { if VNNI { q4_dot_vnni_impl(w, a) } else { q4_dot_avx2_impl(w, a) } }
    }

    #[inline(always)]
    unsafe fn q4_dot_body<const VNNI: bool>(w: &[BlockQ4], a: &[BlockA]) -> f32 {
        unsafe {
            let mut acc = _mm256_setzero_ps();
            let mut mins = 0f32;
            for (w, a) in w.iter().zip(a) {
                let wv = unpack_q4(&w.qs);
                let dot = dot_u8i8::<VNNI>(wv, load_a(a));
                let scale = _mm256_set1_ps(w.d.to_f32() * a.d);
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc);
                mins += w.m.to_f32() * a.s;
            }
            hsum(acc) + mins
        }
    }

    #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
    unsafe fn q4_dot4_vnni_impl(w: &[BlockQ4], a: [&[BlockA]; 4]) -> [f32; 4] {
        unsafe { q4_dot4_body::<true>(w, a) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn q4_dot4_avx2_impl(w: &[BlockQ4], a: [&[BlockA]; 4]) -> [f32; 4] {
        unsafe { q4_dot4_body::<false>(w, a) }
    }

    pub(super) unsafe fn q4_dot4<const VNNI: bool>(w: &[BlockQ4], a: [&[BlockA]; 4]) -> [f32; 4] {
        unsafe { if VNNI { q4_dot4_vnni_impl(w, a) } else { q4_dot4_avx2_impl(w, a) } }
    }

    #[inline(always)]
    unsafe fn q4_dot4_body<const VNNI: bool>(w: &[BlockQ4], a: [&[BlockA]; 4]) -> [f32; 4] {
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut mins = [0f32; 4];
            for (b, w) in w.iter().enumerate() {
                let wv = unpack_q4(&w.qs);
                let d = w.d.to_f32();
                let m = w.m.to_f32();
                for r in 0..4 {
                    let ab = a[r].get_unchecked(b);
                    let dot = dot_u8i8::<VNNI>(wv, load_a(ab));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * ab.d), acc[r]);
                    mins[r] += m * ab.s;
                }
            }
            [hsum(acc[0]) + mins[0], hsum(acc[1]) + mins[1], hsum(acc[2]) + mins[2], hsum(acc[3]) + mins[3]]
        }
    }

    #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
    pub(super) unsafe fn q8_dot_vnni(w: &[BlockQ8], a: &[BlockA]) -> f32 {
        unsafe {
            let mut acc = _mm256_setzero_ps();
            let mut mins = 0f32;
            for (w, a) in w.iter().zip(a) {
                let wv = _mm256_loadu_si256(w.qs.as_ptr() as *const __m256i);
                let dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, load_a(a));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(w.d.to_f32() * a.d), acc);
                mins += w.m.to_f32() * a.s;
            }
            hsum(acc) + mins
        }
    }

    #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
    pub(super) unsafe fn q8_dot4_vnni(w: &[BlockQ8], a: [&[BlockA]; 4]) -> [f32; 4] {
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut mins = [0f32; 4];
            for (b, w) in w.iter().enumerate() {
                let wv = _mm256_loadu_si256(w.qs.as_ptr() as *const __m256i);
                let d = w.d.to_f32();
                let m = w.m.to_f32();
                for r in 0..4 {
                    let ab = a[r].get_unchecked(b);
                    let dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, load_a(ab));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * ab.d), acc[r]);
                    mins[r] += m * ab.s;
                }
            }
            [hsum(acc[0]) + mins[0], hsum(acc[1]) + mins[1], hsum(acc[2]) + mins[2], hsum(acc[3]) + mins[3]]
        }
    }

    /// 8-bit weights with AVX2: `q − 128` as i8 and the sign trick keep `vpmaddubsw` from
    /// saturating; the 128·d shift moves into the `m` term.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q8_dot_avx2(w: &[BlockQ8], a: &[BlockA]) -> f32 {
        unsafe {
            let mut acc = _mm256_setzero_ps();
            let mut mins = 0f32;
            let flip = _mm256_set1_epi8(-128);
            for (w, a) in w.iter().zip(a) {
                let wu = _mm256_loadu_si256(w.qs.as_ptr() as *const __m256i);
                let ws = _mm256_xor_si256(wu, flip);
                let av = load_a(a);
                let p = _mm256_maddubs_epi16(_mm256_sign_epi8(ws, ws), _mm256_sign_epi8(av, ws));
                let dot = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
                let d = w.d.to_f32();
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * a.d), acc);
                mins += (w.m.to_f32() + 128.0 * d) * a.s;
            }
            hsum(acc) + mins
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{BlockQ8, quantize_row_a};
    use half::f16;

    fn weights_q4(n: usize, seed: u32) -> Vec<BlockQ4> {
        (0..n)
            .map(|i| {
                let mut qs = [0u8; 16];
                for (j, q) in qs.iter_mut().enumerate() {
                    *q = ((i as u32 * 31 + j as u32 * 7 + seed) % 256) as u8;
                }
                BlockQ4 { d: f16::from_f32(0.01 + i as f32 * 1e-3), m: f16::from_f32(-0.07), qs }
            })
            .collect()
    }

    fn weights_q8(n: usize, seed: u32) -> Vec<BlockQ8> {
        (0..n)
            .map(|i| {
                let mut qs = [0u8; 32];
                for (j, q) in qs.iter_mut().enumerate() {
                    *q = ((i as u32 * 97 + j as u32 * 13 + seed) % 256) as u8;
                }
                BlockQ8 { d: f16::from_f32(0.002), m: f16::from_f32(-0.25), qs }
            })
            .collect()
    }

    fn acts(n: usize, seed: f32) -> Vec<BlockA> {
        let x: Vec<f32> = (0..n * 32).map(|i| ((i as f32 + seed) * 0.37).sin() * 2.0).collect();
        let mut a = vec![BlockA::ZERO; n];
        quantize_row_a(&x, &mut a);
        a
    }

    #[test]
    fn simd_kernels_match_scalar() {
        let isas: Vec<Isa> = [Isa::Avx2, Isa::Avx512Vnni].into_iter().filter(|i| *i as u8 <= isa() as u8).collect();
        let n = 37;
        let w4 = weights_q4(n, 3);
        let w8 = weights_q8(n, 5);
        let a: Vec<Vec<BlockA>> = (0..4).map(|r| acts(n, r as f32 * 10.0)).collect();
        let rows = [a[0].as_slice(), a[1].as_slice(), a[2].as_slice(), a[3].as_slice()];
        for isa in isas {
            for r in 0..4 {
                let want4 = scalar::q4_dot(&w4, &a[r]);
                let want8 = scalar::q8_dot(&w8, &a[r]);
                let got4 = BlockQ4::dot(isa, &w4, &a[r]);
                let got8 = BlockQ8::dot(isa, &w8, &a[r]);
                assert!((want4 - got4).abs() <= 1e-3 * want4.abs().max(1.0), "{isa:?} q4 {want4} {got4}");
                assert!((want8 - got8).abs() <= 1e-3 * want8.abs().max(1.0), "{isa:?} q8 {want8} {got8}");
                assert!((BlockQ4::dot4(isa, &w4, rows)[r] - want4).abs() <= 1e-3 * want4.abs().max(1.0));
                assert!((BlockQ8::dot4(isa, &w8, rows)[r] - want8).abs() <= 1e-3 * want8.abs().max(1.0));
            }
        }
    }

    #[test]
    fn scalar_matches_float_reference() {
        let w = weights_q4(4, 1);
        let a = acts(4, 0.5);
        let mut wf = vec![0f32; 128];
        for (b, o) in w.iter().zip(wf.chunks_exact_mut(32)) {
            b.dequantize(o);
        }
        let af: Vec<f32> = a.iter().flat_map(|b| b.qs.map(|q| q as f32 * b.d)).collect();
        let want: f32 = wf.iter().zip(&af).map(|(x, y)| x * y).sum();
        let got = scalar::q4_dot(&w, &a);
        assert!((want - got).abs() < 1e-3 * want.abs().max(1.0), "{want} {got}");
    }
}
