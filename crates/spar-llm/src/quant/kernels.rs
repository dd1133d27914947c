//! Which instruction set the kernels use, chosen once at run time.

use std::sync::OnceLock;

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
        let avx2 = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c");
        let vnni = avx2
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
            && is_x86_feature_detected!("avx512vl");
        if vnni && forced != "avx2" {
            return Isa::Avx512Vnni;
        }
        if avx2 {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}
