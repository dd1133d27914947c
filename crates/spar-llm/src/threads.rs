//! How many CPU threads inference uses.
//!
//! The default is one thread per physical core, estimated as half the logical CPUs, capped at
//! 8, and at least 1 — so a 2-vCPU machine uses 1 thread. On small shared machines a single
//! thread is the stable choice: a spinning pool collapses when anything else runs. Override
//! with `--threads N` or `SPAR_THREADS=N`.

use std::sync::OnceLock;

/// The default thread count (see the module docs).
pub fn default_threads() -> usize {
    if let Some(n) = std::env::var("SPAR_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    let logical = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (logical / 2).clamp(1, 8)
}

static CONFIGURED: OnceLock<usize> = OnceLock::new();

/// Sets the thread count for candle's own CPU ops (rayon) to `n`. Call once, early, before any
/// other thread exists; later calls keep the first value and return it.
pub fn init(n: usize) -> usize {
    *CONFIGURED.get_or_init(|| {
        let n = n.max(1);
        // SAFETY: called at start-up before other threads read the environment.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
        // candle and rayon's lazily built global pool both read this variable.
        n
    })
}
