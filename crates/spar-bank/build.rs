//! Embeds every file of `question-bank/` so the binary works offline from the first run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && depth == 0 {
            collect(&p, depth + 1, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            println!("cargo:rerun-if-changed={}", p.display());
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest
        .join("../../question-bank")
        .canonicalize()
        .expect("question-bank/ exists");
    let mut files = Vec::new();
    collect(&root, 0, &mut files);
    files.sort();
    let mut src = String::from("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            src,
            "    ({rel:?}, include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_bank.rs");
    std::fs::write(out, src).unwrap();
}
