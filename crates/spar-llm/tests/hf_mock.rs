//! Fetching from Hugging Face against a stand-in hub on 127.0.0.1.
//!
//! `registry::fetch` reaches Hugging Face through hf-hub's sync client, which honours
//! `HF_ENDPOINT` (where to ask) and `HF_HOME` (where its cache lives). These tests point both at
//! things they own: a small HTTP/1.1 server built on std that answers `resolve` requests the way
//! the hub answers them for an LFS file (a 302 carrying `x-repo-commit` and `x-linked-etag` to a
//! "CDN" that serves byte ranges), and a temporary folder. They prove that
//!
//! - a fetch downloads the file, verifies it against the pinned sha256, places it, and leaves it
//!   in hf-hub's cache layout under `HF_HOME/hub/models--owner--name/`;
//! - a later fetch is served from that cache (or from one written by the Python client) without
//!   a single request, also with the network unreachable and `HF_HUB_OFFLINE=1`;
//! - a source pinned to a commit asks the hub for that commit and is found in the cache under it;
//! - a download whose sha256 differs from the pin is rejected, naming the source, and leaves no
//!   partial file in the models folder;
//! - a damaged copy in the cache is downloaded again (replacing the cache blob) rather than
//!   failing every fetch, and offline it fails with an error naming the damaged cache file.
//!
//! Nothing here leaves the loopback interface.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use spar_llm::registry::{self, FetchOptions, FetchProgress, Registry, Status};
use spar_llm::{model::Arch, testing::write_tiny_model};

mod common;
use common::{leftovers, registry, sha};

const REPO: &str = "owner/name";
const FILE: &str = "x.gguf";
/// The commit `main` points at on the stand-in hub.
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

// ---------------------------------------------------------------------------------------------
// The stand-in hub
// ---------------------------------------------------------------------------------------------

/// One request the hub answered.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    range: Option<String>,
    status: u16,
}

/// A loopback HTTP/1.1 server serving one file of one repository, as the hub serves LFS files:
///
/// - `GET /{REPO}/resolve/{main|COMMIT}/{FILE}` → `302 Found` to `/cdn/{sha256}` with
///   `x-repo-commit`, `x-linked-etag` (the sha256, which hf-hub names the blob after) and
///   `x-linked-size`;
/// - `GET /cdn/{sha256}` → the bytes, honouring `Range: bytes=a-b` / `bytes=a-` with
///   `206 Partial Content` and `Content-Range`;
/// - anything else → `404`.
///
/// Every connection is answered once and closed. The accept loop lives until the test process
/// ends.
struct Hub {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hub {
    fn start(served: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(served);
        let log = Arc::clone(&seen);
        std::thread::Builder::new()
            .name("hub-accept".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (served, log) = (Arc::clone(&served), Arc::clone(&log));
                    // A broken connection is the client's business; the log shows what was
                    // served.
                    let _ = std::thread::Builder::new()
                        .name("hub-conn".into())
                        .spawn(move || answer(stream, port, &served, &log));
                }
            })
            .expect("spawn the hub's accept thread");
        Self { port, seen }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// An endpoint where nothing listens (the port was free a moment ago).
fn unreachable_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Other",
    }
}

fn answer(
    stream: TcpStream,
    port: u16,
    served: &[u8],
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let range = headers.get("range").cloned();
    let response = route(&method, &path, range.as_deref(), port, served);
    // Logged before answering, so a client that has its answer always finds it in the log.
    log.lock().unwrap().push(Seen {
        method,
        path,
        range,
        status: response.status,
    });
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body.len()
    ));
    let mut stream = stream;
    stream.write_all(out.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

fn route(method: &str, path: &str, range: Option<&str>, port: u16, served: &[u8]) -> Response {
    let not_found = Response {
        status: 404,
        headers: vec![("content-type", "text/plain".into())],
        body: b"Entry not found".to_vec(),
    };
    if method != "GET" {
        return not_found;
    }
    let oid = sha(served);
    if let Some(rest) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(REPO))
        .and_then(|p| p.strip_prefix("/resolve/"))
    {
        return match rest.split_once('/') {
            Some((rev, file)) if (rev == "main" || rev == COMMIT) && file == FILE => Response {
                status: 302,
                headers: vec![
                    ("location", format!("http://127.0.0.1:{port}/cdn/{oid}")),
                    ("x-repo-commit", COMMIT.into()),
                    ("x-linked-etag", format!("\"{oid}\"")),
                    ("x-linked-size", served.len().to_string()),
                    // The hub's own etag is that of the LFS pointer; hf-hub must prefer the
                    // linked one.
                    ("etag", "\"pointer-etag-not-the-blob\"".into()),
                ],
                body: Vec::new(),
            },
            _ => not_found,
        };
    }
    if path.strip_prefix("/cdn/") == Some(oid.as_str()) {
        let len = served.len();
        return match range {
            None => Response {
                status: 200,
                headers: vec![("accept-ranges", "bytes".into())],
                body: served.to_vec(),
            },
            Some(r) => match span(r, len) {
                Some((a, b)) => Response {
                    status: 206,
                    headers: vec![
                        ("accept-ranges", "bytes".into()),
                        ("content-range", format!("bytes {a}-{b}/{len}")),
                    ],
                    body: served[a..=b].to_vec(),
                },
                None => Response {
                    status: 416,
                    headers: vec![("content-range", format!("bytes */{len}"))],
                    body: Vec::new(),
                },
            },
        };
    }
    not_found
}

/// The inclusive byte span a `Range: bytes=a-b` or `bytes=a-` header asks of `len` bytes;
/// `None` when it cannot be satisfied (or is a form this stand-in does not speak).
fn span(range: &str, len: usize) -> Option<(usize, usize)> {
    let (a, b) = range.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = a.trim().parse().ok()?;
    let last = len.checked_sub(1)?;
    let end = match b.trim() {
        "" => last,
        b => b.parse::<usize>().ok()?.min(last),
    };
    (start <= end).then_some((start, end))
}

// ---------------------------------------------------------------------------------------------
// Environment, registry and helpers
// ---------------------------------------------------------------------------------------------

/// Serialises the tests of this file when they share a process (plain `cargo test`).
static ENV: Mutex<()> = Mutex::new(());

fn lock_env() -> MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|e| e.into_inner())
}

/// Points hf-hub at `endpoint` and at the cache `hf_home`, online, with no proxy in the way
/// (ureq would send even loopback requests through one, as it ignores `NO_PROXY`).
fn point_hf_at(endpoint: &str, hf_home: &Path) {
    // SAFETY: the caller holds ENV, so no other test thread touches the environment, and the
    // only other threads are stand-in hubs, which never read it (nextest also runs each test in
    // a process of its own).
    unsafe {
        std::env::set_var("HF_ENDPOINT", endpoint);
        std::env::set_var("HF_HOME", hf_home);
        std::env::remove_var("HF_HUB_OFFLINE");
        for proxy in [
            "ALL_PROXY",
            "all_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
        ] {
            std::env::remove_var(proxy);
        }
    }
}

/// A registry with one model `m` pinned to the size and sha256 of `good`, whose only source is
/// `REPO/FILE` on Hugging Face, at `revision` when given.
fn hf_registry(models: &Path, good: &[u8], revision: Option<&str>) -> Registry {
    let revision = revision
        .map(|r| format!(", revision = \"{r}\""))
        .unwrap_or_default();
    let source =
        format!("{{ kind = \"huggingface\", repo = \"{REPO}\", file = \"{FILE}\"{revision} }}");
    registry(models, good, &[source])
}

fn model_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::read(write_tiny_model(dir.path(), Arch::Qwen2).unwrap()).unwrap()
}

fn options(offline: bool) -> FetchOptions {
    FetchOptions {
        python: "/nonexistent/python3".into(),
        offline,
    }
}

/// Records the stages a fetch announces.
#[derive(Default)]
struct Stages(Vec<String>);

impl FetchProgress for Stages {
    fn stage(&mut self, message: &str) {
        self.0.push(message.to_string());
    }
    fn bytes(&mut self, _: u64, _: Option<u64>) {}
}

impl Stages {
    fn any(&self, prefix: &str) -> bool {
        self.0.iter().any(|s| s.starts_with(prefix))
    }
}

/// Fetches `m` (from `revision`, else `main`) into a fresh models folder and checks the placed
/// file is `good`, verified.
fn fetch_fresh(
    good: &[u8],
    revision: Option<&str>,
    opts: &FetchOptions,
) -> (tempfile::TempDir, Stages) {
    let models = tempfile::tempdir().unwrap();
    let reg = hf_registry(models.path(), good, revision);
    let mut stages = Stages::default();
    let placed = registry::fetch(&reg, "m", opts, &mut stages)
        .unwrap_or_else(|e| panic!("fetch failed: {e}\nstages: {:#?}", stages.0));
    assert_eq!(placed, models.path().join("m.gguf"));
    assert!(
        !placed.symlink_metadata().unwrap().file_type().is_symlink(),
        "the placed model is a file, not a link into the cache"
    );
    assert_eq!(std::fs::read(&placed).unwrap(), good);
    assert!(stages.any("verifying sha256"), "{:#?}", stages.0);
    assert_eq!(
        registry::status(&reg, reg.get("m").unwrap(), true, &mut Stages::default()),
        Status::Verified
    );
    assert!(
        leftovers(models.path()).is_empty(),
        "{:?}",
        leftovers(models.path())
    );
    (models, stages)
}

/// [`fetch_fresh`], asserting that `hub` was not asked anything: the cache answered.
fn fetch_without_requests(
    hub: &Hub,
    good: &[u8],
    revision: Option<&str>,
    opts: &FetchOptions,
) -> Stages {
    let before = hub.seen().len();
    let (_models, stages) = fetch_fresh(good, revision, opts);
    assert_eq!(hub.seen().len(), before, "{:#?}", hub.seen());
    stages
}

/// The hf-hub cache folder of `REPO` under `hf_home`.
fn repo_cache(hf_home: &Path) -> PathBuf {
    hf_home.join("hub").join("models--owner--name")
}

/// Writes the cache as the Python client (or an earlier fetch) leaves it for `main` at `COMMIT`:
/// `content` as the blob named after the sha256 of `named_after` (the etag the hub gave), a
/// relative symlink to it from the snapshot, and the ref. Returns the blob's path.
fn seed_cache(hf_home: &Path, named_after: &[u8], content: &[u8]) -> PathBuf {
    let cache = repo_cache(hf_home);
    std::fs::create_dir_all(cache.join("blobs")).unwrap();
    std::fs::create_dir_all(cache.join("refs")).unwrap();
    std::fs::create_dir_all(cache.join("snapshots").join(COMMIT)).unwrap();
    let blob = cache.join("blobs").join(sha(named_after));
    std::fs::write(&blob, content).unwrap();
    std::fs::write(cache.join("refs").join("main"), COMMIT).unwrap();
    std::os::unix::fs::symlink(
        Path::new("../../blobs").join(sha(named_after)),
        cache.join("snapshots").join(COMMIT).join(FILE),
    )
    .unwrap();
    blob
}

/// `good` with one byte changed: same size, so only the sha256 can tell.
fn damaged(good: &[u8]) -> Vec<u8> {
    let mut bad = good.to_vec();
    bad[good.len() / 2] ^= 0x5a;
    bad
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn fetch_from_hf_endpoint_verifies_and_caches() {
    let _env = lock_env();
    let good = model_bytes();
    let hub = Hub::start(good.clone());
    let hf_home = tempfile::tempdir().unwrap();
    point_hf_at(&hub.endpoint(), hf_home.path());

    let (_models, stages) = fetch_fresh(&good, None, &options(false));
    assert!(
        !stages.any("found x.gguf in the Hugging Face cache"),
        "{:#?}",
        stages.0
    );

    // hf-hub probed the file with `Range: bytes=0-0`, followed the redirect and downloaded the
    // bytes from the CDN with a ranged request; nothing it asked for was missing.
    let seen = hub.seen();
    assert_eq!(seen[0].path, format!("/{REPO}/resolve/main/{FILE}"));
    assert_eq!(seen[0].range.as_deref(), Some("bytes=0-0"), "{seen:#?}");
    let cdn = format!("/cdn/{}", sha(&good));
    assert!(
        seen.iter()
            .any(|s| s.path == cdn && s.range.as_deref() == Some("bytes=0-") && s.status == 206),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .all(|s| s.method == "GET" && matches!(s.status, 206 | 302)),
        "{seen:#?}"
    );

    // The cache has hf-hub's layout: the blob named after the linked etag, the snapshot of the
    // commit linking to it, and `refs/main` naming the commit.
    let cache = repo_cache(hf_home.path());
    let blob = cache.join("blobs").join(sha(&good));
    assert_eq!(std::fs::read(&blob).unwrap(), good);
    assert_eq!(
        std::fs::read_to_string(cache.join("refs").join("main")).unwrap(),
        COMMIT
    );
    let snapshot = cache.join("snapshots").join(COMMIT).join(FILE);
    assert!(
        snapshot
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::canonicalize(&snapshot).unwrap(),
        std::fs::canonicalize(&blob).unwrap()
    );

    // A second fetch, into another models folder, comes from that cache without a request.
    let stages = fetch_without_requests(&hub, &good, None, &options(false));
    assert!(
        stages.any("found x.gguf in the Hugging Face cache"),
        "{:#?}",
        stages.0
    );
}

#[test]
fn hf_cache_is_used_without_network() {
    let _env = lock_env();
    let good = model_bytes();
    // The cache as the Python client (or an earlier fetch) leaves it: the blob, a relative
    // symlink to it from the snapshot, and the ref.
    let hf_home = tempfile::tempdir().unwrap();
    let blob = seed_cache(hf_home.path(), &good, &good);

    // Online, with a hub that would answer: the cache is used and the hub never asked.
    let hub = Hub::start(good.clone());
    point_hf_at(&hub.endpoint(), hf_home.path());
    let (_models, stages) = fetch_fresh(&good, None, &options(false));
    assert!(
        stages.any("found x.gguf in the Hugging Face cache"),
        "{:#?}",
        stages.0
    );
    assert!(hub.seen().is_empty(), "{:#?}", hub.seen());

    // No network at all.
    point_hf_at(&unreachable_endpoint(), hf_home.path());
    fetch_fresh(&good, None, &options(false));

    // And offline as the user says it: HF_HUB_OFFLINE=1 sets `FetchOptions::offline`.
    // SAFETY: as in `point_hf_at`; ENV is held.
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let opts = FetchOptions {
        python: "/nonexistent/python3".into(),
        ..FetchOptions::default()
    };
    assert!(opts.offline);
    fetch_fresh(&good, None, &opts);
    assert!(hub.seen().is_empty(), "{:#?}", hub.seen());

    // The blob itself is untouched by all of that.
    assert_eq!(std::fs::read(&blob).unwrap(), good);
}

#[test]
fn a_corrupted_hf_download_is_rejected() {
    let _env = lock_env();
    let good = model_bytes();
    // Same size, one byte different: only the sha256 can tell.
    let hub = Hub::start(damaged(&good));
    let hf_home = tempfile::tempdir().unwrap();
    point_hf_at(&hub.endpoint(), hf_home.path());
    let models = tempfile::tempdir().unwrap();
    let reg = hf_registry(models.path(), &good, None);

    let err = registry::fetch(&reg, "m", &options(false), &mut Stages::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("huggingface owner/name/x.gguf"), "{err}");
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(err.contains("every source failed"), "{err}");
    assert!(!hub.seen().is_empty(), "the download was attempted");
    assert!(!models.path().join("m.gguf").exists(), "nothing placed");
    assert!(
        leftovers(models.path()).is_empty(),
        "{:?}",
        leftovers(models.path())
    );
    assert_eq!(
        std::fs::read_dir(models.path()).unwrap().count(),
        0,
        "the models folder is as empty as before"
    );
}

#[test]
fn a_pinned_revision_is_downloaded_and_then_found_in_the_cache() {
    let _env = lock_env();
    let good = model_bytes();
    let hub = Hub::start(good.clone());
    let hf_home = tempfile::tempdir().unwrap();
    point_hf_at(&hub.endpoint(), hf_home.path());

    fetch_fresh(&good, Some(COMMIT), &options(false));
    let seen = hub.seen();
    assert_eq!(
        seen[0].path,
        format!("/{REPO}/resolve/{COMMIT}/{FILE}"),
        "{seen:#?}"
    );
    let cache = repo_cache(hf_home.path());
    assert_eq!(
        std::fs::read_to_string(cache.join("refs").join(COMMIT)).unwrap(),
        COMMIT
    );
    assert!(!cache.join("refs").join("main").exists());

    // Pinned, the cache answers too; `main` is a different question and goes to the hub.
    fetch_without_requests(&hub, &good, Some(COMMIT), &options(true));
    let (_models, stages) = fetch_fresh(&good, None, &options(false));
    assert!(
        !stages.any("found x.gguf in the Hugging Face cache"),
        "{:#?}",
        stages.0
    );
    assert!(hub.seen().len() > seen.len());
}

#[test]
fn a_damaged_cache_copy_is_downloaded_again() {
    let _env = lock_env();
    let good = model_bytes();
    let bad = damaged(&good);
    // A blob named after the right etag whose bytes are wrong (a bad disk, or a bad download
    // hf-hub kept), and a hard link to it standing for a model placed from it earlier.
    let hf_home = tempfile::tempdir().unwrap();
    let blob = seed_cache(hf_home.path(), &good, &bad);
    let earlier = hf_home.path().join("placed-earlier.gguf");
    std::fs::hard_link(&blob, &earlier).unwrap();
    let hub = Hub::start(good.clone());
    point_hf_at(&hub.endpoint(), hf_home.path());

    let (models, stages) = fetch_fresh(&good, None, &options(false));
    assert!(
        stages.any("found x.gguf in the Hugging Face cache"),
        "{:#?}",
        stages.0
    );
    assert!(
        stages.any("the Hugging Face cache copy of x.gguf is damaged (sha256 mismatch"),
        "{:#?}",
        stages.0
    );
    let seen = hub.seen();
    assert_eq!(
        seen[0].path,
        format!("/{REPO}/resolve/main/{FILE}"),
        "{seen:#?}"
    );
    let cdn = format!("/cdn/{}", sha(&good));
    assert!(
        seen.iter().any(|s| s.path == cdn && s.status == 206),
        "the file was downloaded: {seen:#?}"
    );

    // hf-hub renamed the download over the blob, so the cache now holds the good bytes and the
    // snapshot still leads to them, while the earlier link kept the old inode: neither the
    // download nor the model placed from it changed a file someone else holds.
    assert_eq!(std::fs::read(&blob).unwrap(), good);
    let snapshot = repo_cache(hf_home.path())
        .join("snapshots")
        .join(COMMIT)
        .join(FILE);
    assert_eq!(std::fs::read(&snapshot).unwrap(), good);
    assert_eq!(std::fs::read(&earlier).unwrap(), bad);
    assert_eq!(
        std::fs::read(models.path().join("m.gguf")).unwrap(),
        good,
        "the placed model"
    );

    // The next fetch is served from the repaired cache without a request.
    let stages = fetch_without_requests(&hub, &good, None, &options(false));
    assert!(
        !stages.any("the Hugging Face cache copy"),
        "{:#?}",
        stages.0
    );
}

#[test]
fn a_damaged_cache_copy_offline_is_reported() {
    let _env = lock_env();
    let good = model_bytes();
    let bad = damaged(&good);
    let hf_home = tempfile::tempdir().unwrap();
    let blob = seed_cache(hf_home.path(), &good, &bad);
    let hub = Hub::start(good.clone());
    point_hf_at(&hub.endpoint(), hf_home.path());
    // SAFETY: as in `point_hf_at`; ENV is held.
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let opts = FetchOptions {
        python: "/nonexistent/python3".into(),
        ..FetchOptions::default()
    };
    assert!(opts.offline);
    let models = tempfile::tempdir().unwrap();
    let reg = hf_registry(models.path(), &good, None);

    let mut stages = Stages::default();
    let err = registry::fetch(&reg, "m", &opts, &mut stages)
        .unwrap_err()
        .to_string();
    assert!(err.contains("huggingface owner/name/x.gguf"), "{err}");
    assert!(
        err.contains("the Hugging Face cache copy of x.gguf is damaged (sha256 mismatch"),
        "{err}"
    );
    assert!(err.contains("HF_HUB_OFFLINE=1"), "{err}");
    // It names what to delete: the snapshot link and the blob behind it.
    let snapshot = repo_cache(hf_home.path())
        .join("snapshots")
        .join(COMMIT)
        .join(FILE);
    let blob_real = std::fs::canonicalize(&blob).unwrap();
    assert!(err.contains(&snapshot.display().to_string()), "{err}");
    assert!(err.contains(&blob_real.display().to_string()), "{err}");
    assert!(
        !stages.any("the Hugging Face cache copy"),
        "no download announced: {:#?}",
        stages.0
    );
    assert!(hub.seen().is_empty(), "{:#?}", hub.seen());

    // Nothing placed or half-placed, and the cache left as it was for the user to deal with.
    assert_eq!(
        std::fs::read_dir(models.path()).unwrap().count(),
        0,
        "the models folder is as empty as before: {:?}",
        leftovers(models.path())
    );
    assert_eq!(std::fs::read(&blob).unwrap(), bad);
    assert!(
        snapshot
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
