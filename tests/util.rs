//! Helpers for the end-to-end tests: run the `spar` binary in an isolated data and models folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch environment: its own data folder and models folder.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn models(&self) -> PathBuf {
        self.dir.path().join("models")
    }

    /// A `spar` command with this environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_spar"));
        c.args(args)
            .env("SPAR_DATA_DIR", self.data())
            .env("SPAR_MODELS_DIR", self.models())
            .env("SPAR_NO_FETCH", "1")
            .env("HF_HUB_OFFLINE", "1")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("RAYON_NUM_THREADS", "1");
        c
    }

    /// Runs and returns the output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spar runs")
    }

    /// Runs with `stdin` fed to the process.
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn spar");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("spar finishes")
    }

    pub fn sessions(&self) -> Vec<PathBuf> {
        let dir = self.data().join("sessions");
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies the repository's question bank into `to` so a test can break it.
pub fn copy_bank(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../question-bank");
    for entry in walk(&from) {
        let rel = entry.strip_prefix(&from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &dest).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    out
}
