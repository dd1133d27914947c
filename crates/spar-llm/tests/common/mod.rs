//! Helpers shared by the fetch tests (`fetch.rs`, `hf_mock.rs`).

use std::path::Path;

use sha2::{Digest, Sha256};
use spar_llm::registry::Registry;

/// Lower-case hex sha256 of `bytes`.
pub fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A registry with one model `m` whose pinned size and sha256 are those of `good`, fetched from
/// `sources` (TOML inline tables).
pub fn registry(models: &Path, good: &[u8], sources: &[String]) -> Registry {
    let text = format!(
        "default = \"m\"\n[[model]]\nid = \"m\"\nname = \"M\"\narchitecture = \"qwen2\"\nfile = \"m.gguf\"\nsize = {}\nsha256 = \"{}\"\nlicense = \"x\"\nram_mb = 1\nsources = [{}]\n",
        good.len(),
        sha(good),
        sources.join(", ")
    );
    Registry::from_text(&text, Path::new("test-registry.toml"), models).unwrap()
}

/// Temporary and partial files in the models folder.
pub fn leftovers(models: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(models) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial") || n.ends_with(".tmp") || n.contains(".tmp-"))
        .collect()
}
