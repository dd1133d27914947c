//! `spar bench llm` (inference speed and memory, optionally side by side with llama.cpp) and
//! `spar bench coach` (pushback and critique latency).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use spar_bank::Bank;
use spar_coach::{Calibrations, Coach};
use spar_core::taxonomy::Level;
use spar_llm::{Cancel, Llm, Message, NoSink, Params};

use crate::models_cmd::{RunArgs, resolve};
use crate::practice_cmd::model_label;

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Load time, prompt and decode speed, follow-up time to first token, peak memory.
    Llm(LlmBench),
    /// Latency of the coach: first pushback token and full critique.
    Coach {
        #[command(flatten)]
        run: RunArgs,
        /// Answers to time.
        #[arg(long, default_value_t = 5)]
        n: usize,
    },
    /// Perplexity on a fixed text (the bank's reference answers), optionally next to llama.cpp on
    /// the same token ids — shows what spar's weight formats cost in accuracy.
    Ppl {
        #[command(flatten)]
        run: RunArgs,
        /// Tokens of text to score.
        #[arg(long, default_value_t = 1024)]
        tokens: usize,
        #[arg(long)]
        vs_llama_cpp: bool,
    },
    /// One measurement in this process (used by `bench llm`; prints JSON).
    #[command(hide = true)]
    LlmOnce {
        #[command(flatten)]
        run: RunArgs,
        #[arg(long)]
        prompt_ids_out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct LlmBench {
    #[command(flatten)]
    pub run: RunArgs,
    /// Runs per side (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also run llama.cpp (llama-cpp-python) on the same file, prompt and threads, interleaved.
    #[arg(long)]
    pub vs_llama_cpp: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// One side's measurements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sample {
    pub load_s: f64,
    pub prompt_tok_s: f64,
    pub decode_tok_s: f64,
    #[serde(default)]
    pub followup_ttft_ms: Option<f64>,
    pub peak_rss_bytes: u64,
    #[serde(default)]
    pub n_prompt: usize,
    #[serde(default)]
    pub n_gen: usize,
}

const PROMPT_TOKENS: usize = 256;
const GEN_TOKENS: usize = 64;

/// A fixed English text long enough for a 256-token prompt.
const BENCH_TEXT: &str = "A backend service receives requests from mobile and web clients, validates them, reads and writes \
records in a relational database, publishes events to a message queue and calls two internal services over HTTP. \
During a sale the traffic grows ten times within minutes. The team has to keep the p99 latency under three hundred \
milliseconds, avoid charging a customer twice when the client retries, and keep the inventory counts correct even \
when a downstream service times out. Engineers discuss caching the product catalogue, adding idempotency keys to \
the payment endpoint, moving email sending to a background worker, and putting circuit breakers around the \
recommendation service. They also plan dashboards for error rates and saturation, alerts on queue depth, and a \
runbook for rolling back a bad deploy. ";

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn once(run: &RunArgs, prompt_ids_out: Option<&Path>) -> anyhow::Result<Sample> {
    let path = resolve(run.model.as_deref())?;
    let opts = run.load_options()?;
    let t0 = Instant::now();
    let llm = Arc::new(Llm::load(&path, &opts)?);
    let load_s = t0.elapsed().as_secs_f64();
    let mut ids = llm.tokenizer.encode(&BENCH_TEXT.repeat(4), false)?;
    ids.truncate(PROMPT_TOKENS);
    if let Some(p) = prompt_ids_out {
        std::fs::write(p, serde_json::to_string(&ids)?)?;
    }
    let mut s = llm.new_session();
    let params = Params {
        max_tokens: GEN_TOKENS,
        ignore_eos: true,
        ..Params::greedy(GEN_TOKENS)
    };
    let g = s.generate(&ids, &params, &mut NoSink, &Cancel::new())?;
    let prompt_tok_s = ids.len() as f64 / (g.prompt_ms / 1000.0);
    let decode_tok_s = g.decode_tok_per_s();
    // A follow-up turn in a running conversation: only the new turn is processed.
    let mut chat = llm.new_session();
    let mut msgs = vec![
        Message::system("You are a senior backend interviewer. Ask one short follow-up question."),
        Message::user(BENCH_TEXT),
    ];
    let first = chat.chat(&msgs, &Params::greedy(24), &mut NoSink, &Cancel::new())?;
    msgs.push(Message::assistant(first.text));
    msgs.push(Message::user(
        "I would add an idempotency key per payment and store it with a unique index.",
    ));
    let second = chat.chat(&msgs, &Params::greedy(8), &mut NoSink, &Cancel::new())?;
    Ok(Sample {
        load_s,
        prompt_tok_s,
        decode_tok_s,
        followup_ttft_ms: Some(second.first_token_ms),
        peak_rss_bytes: peak_rss(),
        n_prompt: ids.len(),
        n_gen: g.tokens.len(),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn summarize(samples: &[Sample]) -> Sample {
    let pick = |f: &dyn Fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
    Sample {
        load_s: pick(&|s| s.load_s),
        prompt_tok_s: pick(&|s| s.prompt_tok_s),
        decode_tok_s: pick(&|s| s.decode_tok_s),
        followup_ttft_ms: samples
            .iter()
            .any(|s| s.followup_ttft_ms.is_some())
            .then(|| pick(&|s| s.followup_ttft_ms.unwrap_or(0.0))),
        peak_rss_bytes: pick(&|s| s.peak_rss_bytes as f64) as u64,
        n_prompt: samples.first().map(|s| s.n_prompt).unwrap_or(0),
        n_gen: samples.first().map(|s| s.n_gen).unwrap_or(0),
    }
}

fn llama_script() -> PathBuf {
    if let Ok(p) = std::env::var("SPAR_LLAMA_BENCH") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from("scripts/bench_llama_cpp.py");
    if here.is_file() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench_llama_cpp.py")
}

fn child_json<T: for<'de> Deserialize<'de>>(mut cmd: Command, what: &str) -> anyhow::Result<T> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("parsing {what} output: {line}"))
}

fn llm_bench(b: &LlmBench) -> anyhow::Result<ExitCode> {
    let path = resolve(b.run.model.as_deref())?;
    let threads = b
        .run
        .threads
        .unwrap_or_else(spar_llm::threads::default_threads);
    let exe = std::env::current_exe()?;
    let ids_file = std::env::temp_dir().join(format!("spar-bench-ids-{}.json", std::process::id()));
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let python = std::env::var("SPAR_LLAMA_PYTHON").unwrap_or_else(|_| "python3".into());
    for r in 0..b.runs.max(1) {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "llm-once", "--model"])
            .arg(&path)
            .args(["--threads", &threads.to_string(), "--device", &b.run.device])
            .arg("--prompt-ids-out")
            .arg(&ids_file);
        let s: Sample = child_json(cmd, "spar")?;
        eprintln!(
            "run {}: spar       pp {:>7.1} tok/s  tg {:>6.1} tok/s  rss {:>5.0} MB",
            r + 1,
            s.prompt_tok_s,
            s.decode_tok_s,
            s.peak_rss_bytes as f64 / 1e6
        );
        ours.push(s);
        if b.vs_llama_cpp {
            let mut cmd = Command::new(&python);
            cmd.arg(llama_script())
                .arg("--model")
                .arg(&path)
                .args(["--threads", &threads.to_string()])
                .arg("--prompt-ids")
                .arg(&ids_file)
                .args(["--gen-tokens", &GEN_TOKENS.to_string(), "--json"]);
            let s: Sample = child_json(cmd, "llama.cpp (llama-cpp-python)")?;
            eprintln!(
                "run {}: llama.cpp  pp {:>7.1} tok/s  tg {:>6.1} tok/s  rss {:>5.0} MB",
                r + 1,
                s.prompt_tok_s,
                s.decode_tok_s,
                s.peak_rss_bytes as f64 / 1e6
            );
            theirs.push(s);
        }
    }
    let _ = std::fs::remove_file(&ids_file);
    let o = summarize(&ours);
    let t = (!theirs.is_empty()).then(|| summarize(&theirs));
    if b.json {
        println!(
            "{}",
            serde_json::json!({ "model": path, "threads": threads, "spar": o, "llama_cpp": t })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "model {} · {} thread(s) · {}-token prompt, {} generated · median of {}",
        path.display(),
        threads,
        o.n_prompt,
        o.n_gen,
        b.runs
    );
    println!(
        "{:<26} {:>12} {:>12} {:>8}",
        "", "spar", "llama.cpp", "ratio"
    );
    let row = |name: &str, a: f64, b: Option<f64>, unit: &str| match b {
        Some(b) if b > 0.0 => {
            println!("{name:<26} {a:>10.1}{unit} {b:>10.1}{unit} {:>7.2}×", a / b)
        }
        _ => println!("{name:<26} {a:>10.1}{unit} {:>12} {:>8}", "–", ""),
    };
    row("load (s)", o.load_s, t.as_ref().map(|t| t.load_s), "  ");
    row(
        "prompt (tok/s)",
        o.prompt_tok_s,
        t.as_ref().map(|t| t.prompt_tok_s),
        "  ",
    );
    row(
        "decode (tok/s)",
        o.decode_tok_s,
        t.as_ref().map(|t| t.decode_tok_s),
        "  ",
    );
    row(
        "peak RSS (MB)",
        o.peak_rss_bytes as f64 / 1e6,
        t.as_ref().map(|t| t.peak_rss_bytes as f64 / 1e6),
        "  ",
    );
    if let Some(f) = o.followup_ttft_ms {
        println!("{:<26} {:>10.0}ms", "follow-up first token", f);
    }
    Ok(ExitCode::SUCCESS)
}

/// Sample answers for the coach benchmark: (question id, answer).
const COACH_SAMPLES: &[(&str, &str)] = &[
    (
        "sd-url-shortener",
        "I'd put an API behind a load balancer, store mappings in Postgres keyed by a base62 code from a counter, and cache hot codes in Redis. Reads dominate, maybe 100 to 1.",
    ),
    (
        "api-idempotent-payments",
        "The client sends an Idempotency-Key header. We store the key with the request hash and the response in a table with a unique index, inside the same transaction as the charge, and replay the stored response on a retry.",
    ),
    (
        "prod-db-cpu-100",
        "First I check pg_stat_activity for the longest running queries and what changed recently. If a new deploy lines up, I roll it back. Then I look at pg_stat_statements.",
    ),
    (
        "beh-conflict-with-colleague",
        "A colleague and I disagreed about using Kafka for a small internal queue. I set up a call, we wrote down the requirements together, and we picked SQS. Delivery went fine.",
    ),
    (
        "alg-lru-cache",
        "Use a hash map from key to node in a doubly linked list. Get moves the node to the front, put inserts at the front and evicts the tail when full. Both are O(1).",
    ),
    (
        "ms-saga-choreography-vs-orchestration",
        "Orchestration has a central coordinator that calls each service and runs compensations; choreography uses events. I'd start with orchestration for payments because it is easier to trace.",
    ),
];

fn coach_bench(run: &RunArgs, n: usize) -> anyhow::Result<ExitCode> {
    let path = resolve(run.model.as_deref())?;
    let llm = Arc::new(Llm::load(&path, &run.load_options()?)?);
    let bank = Arc::new(Bank::embedded()?);
    let coach = Coach::new(
        bank.clone(),
        Some((llm, model_label(run))),
        &Calibrations::embedded(),
    );
    let (mut cold, mut warm, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for (qid, answer) in COACH_SAMPLES.iter().cycle().take(n.max(1)) {
        let q = bank.require(qid)?;
        let asked = coach.resolve(&q.prompt, q.kind, Level::Mid, Some(qid));
        let transcript = [(true, answer.to_string())];
        let first_token = |coach: &Coach| -> anyhow::Result<f64> {
            let t0 = Instant::now();
            let a = coach.assess_fast(&asked, answer);
            let mut first: Option<f64> = None;
            let mut sink = |_: &str| {
                first.get_or_insert(t0.elapsed().as_secs_f64() * 1e3);
            };
            coach.pushback(&asked, &transcript, &a, &[], &[], &mut sink, &Cancel::new())?;
            Ok(first.unwrap_or(0.0))
        };
        // Cold: nothing of this answer was seen before it was submitted.
        let c = first_token(&coach)?;
        // Typed: the coach read the answer while it was typed (all but the last sentence).
        let typed = answer
            .rsplit_once(". ")
            .map(|(head, _)| head)
            .unwrap_or(answer);
        coach.warm(&asked, &[(true, typed.to_string())], &Cancel::new())?;
        let w = first_token(&coach)?;
        let t1 = Instant::now();
        let a = coach.assess(&asked, answer)?;
        coach.critique(&asked, answer, &a, &Cancel::new())?;
        let crit = t1.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "{qid:<40} first pushback token: cold {c:>6.0} ms, read-while-typing {w:>6.0} ms · full critique {crit:>6.0} ms"
        );
        cold.push(c);
        warm.push(w);
        full.push(crit);
    }
    println!(
        "model {} · median first pushback token {:.0} ms read-while-typing ({:.0} ms cold; target ≤ 1500) · median full critique {:.0} ms (target ≤ 10000)",
        path.display(),
        median(&mut warm),
        median(&mut cold),
        median(&mut full)
    );
    Ok(ExitCode::SUCCESS)
}

fn ppl_bench(run: &RunArgs, n: usize, vs: bool) -> anyhow::Result<ExitCode> {
    let path = resolve(run.model.as_deref())?;
    let llm = Arc::new(Llm::load(&path, &run.load_options()?)?);
    let bank = Bank::embedded()?;
    let text: String = bank
        .questions()
        .iter()
        .step_by(7)
        .map(|q| q.reference_answer.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut ids = llm.tokenizer.encode(&text, false)?;
    ids.truncate(n.max(16));
    let lp = llm.new_session().token_logprobs(&ids)?;
    let ppl = (-lp.iter().map(|x| *x as f64).sum::<f64>() / lp.len() as f64).exp();
    println!(
        "spar       perplexity {ppl:.4} over {} tokens ({})",
        lp.len(),
        path.display()
    );
    if !llm.info.requantized.is_empty() {
        println!("re-quantised tensors: {}", llm.info.requantized.join(", "));
    }
    if vs {
        let ids_file =
            std::env::temp_dir().join(format!("spar-ppl-ids-{}.json", std::process::id()));
        std::fs::write(&ids_file, serde_json::to_string(&ids)?)?;
        let python = std::env::var("SPAR_LLAMA_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = llama_script().with_file_name("ppl_llama_cpp.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg("--model")
            .arg(&path)
            .arg("--ids")
            .arg(&ids_file);
        #[derive(Deserialize)]
        struct Out {
            ppl: f64,
        }
        let o: Out = child_json(cmd, "llama.cpp perplexity")?;
        let _ = std::fs::remove_file(&ids_file);
        println!(
            "llama.cpp  perplexity {:.4} on the same tokens · ratio {:.4}",
            o.ppl,
            ppl / o.ppl
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn bench(cmd: &BenchCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCmd::Llm(b) => llm_bench(b),
        BenchCmd::Coach { run, n } => coach_bench(run, *n),
        BenchCmd::Ppl {
            run,
            tokens,
            vs_llama_cpp,
        } => ppl_bench(run, *tokens, *vs_llama_cpp),
        BenchCmd::LlmOnce {
            run,
            prompt_ids_out,
        } => {
            let s = once(run, prompt_ids_out.as_deref())?;
            println!("{}", serde_json::to_string(&s)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
