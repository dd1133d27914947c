//! `spar`: the command line face of spar. With no subcommand it opens the desktop app, or the
//! terminal practice when no display is available.

mod bank_cmd;
mod bench_cmd;
mod eval_cmd;
mod models_cmd;
mod practice_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use spar_bank::{Bank, BankSource};

#[derive(Parser)]
#[command(
    name = "spar",
    version,
    about = "A local-first interview coach for backend developers"
)]
struct Cli {
    /// Use the question bank in DIR instead of the embedded one (also: SPAR_BANK_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    bank: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Browse, search and validate the question bank.
    #[command(subcommand)]
    Bank(bank_cmd::BankCmd),
    /// Download, import, verify and remove local models.
    #[command(subcommand)]
    Models(models_cmd::ModelsCmd),
    /// Run one prompt through a local model, streaming the reply.
    Generate(models_cmd::GenerateArgs),
    /// A practice session in the terminal.
    Practice(practice_cmd::PracticeArgs),
    /// Critique one answer to a bank question (scriptable; --json).
    Critique(practice_cmd::CritiqueArgs),
    /// Past sessions, scores and your weakest dimensions.
    History,
    /// A session as Markdown (or JSON).
    Export(practice_cmd::ExportArgs),
    /// Measure critique quality on a labelled eval set.
    Eval(eval_cmd::EvalArgs),
    /// Benchmarks: `bench llm`, `bench coach`.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCmd),
    /// Open the desktop app.
    App(practice_cmd::PracticeArgs),
}

impl Cli {
    fn bank_source(&self) -> BankSource {
        match &self.bank {
            Some(d) => BankSource::Dir(d.clone()),
            None => BankSource::from_env(),
        }
    }

    fn load_bank(&self) -> anyhow::Result<Bank> {
        let source = self.bank_source();
        Bank::load(&source).map_err(|e| match e {
            spar_bank::Error::Invalid(diags) => {
                let list: Vec<String> = diags.iter().take(20).map(|d| format!("  {d}")).collect();
                anyhow::anyhow!(
                    "the question bank is invalid ({} problem(s)); run `spar bank validate`:\n{}",
                    diags.len(),
                    list.join("\n")
                )
            }
            other => other.into(),
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Bank(cmd)) => bank_cmd::run(&cli, cmd),
        Some(Command::Models(cmd)) => models_cmd::run(cmd),
        Some(Command::Generate(a)) => models_cmd::generate(a),
        Some(Command::Practice(a)) => cli
            .load_bank()
            .and_then(|b| practice_cmd::practice(Arc::new(b), a)),
        Some(Command::Critique(a)) => cli
            .load_bank()
            .and_then(|b| practice_cmd::critique(Arc::new(b), a)),
        Some(Command::History) => practice_cmd::history(),
        Some(Command::Export(a)) => cli
            .load_bank()
            .and_then(|b| practice_cmd::export(Arc::new(b), a)),
        Some(Command::Eval(a)) => cli.load_bank().and_then(|b| eval_cmd::eval(Arc::new(b), a)),
        Some(Command::Bench(b)) => bench_cmd::bench(b),
        Some(Command::App(a)) => launch_app(&cli, a, true),
        None => launch_app(&cli, &Defaults::parse_from(["spar"]).practice, false),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`spar bank list | head`): nothing is wrong, stop quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Ctrl-C cancels the running generation instead of killing the process; a second Ctrl-C
/// within two seconds exits.
pub fn install_ctrlc(cancel: &spar_llm::Cancel) {
    use std::sync::Mutex;
    use std::time::Instant;
    static TARGET: Mutex<Option<(spar_llm::Cancel, Option<Instant>)>> = Mutex::new(None);
    let first = {
        let mut t = TARGET.lock().unwrap_or_else(|e| e.into_inner());
        let first = t.is_none();
        *t = Some((cancel.clone(), None));
        first
    };
    if first {
        let _ = ctrlc::set_handler(|| {
            let mut t = TARGET.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((c, last)) = t.as_mut() {
                if last.is_some_and(|l| l.elapsed().as_secs_f32() < 2.0) {
                    std::process::exit(130);
                }
                *last = Some(Instant::now());
                c.cancel();
            }
        });
    }
}

/// Default practice options for the bare `spar` command.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    practice: practice_cmd::PracticeArgs,
}

/// Opens the desktop app, or the terminal practice when there is no display (saying so).
fn launch_app(
    cli: &Cli,
    a: &practice_cmd::PracticeArgs,
    explicit: bool,
) -> anyhow::Result<ExitCode> {
    if spar_app::display_available() {
        let threads = spar_llm::threads::init(
            a.run
                .threads
                .unwrap_or_else(spar_llm::threads::default_threads),
        );
        let opts = spar_app::LaunchOptions {
            bank: cli.bank_source(),
            threads,
            model: a.run.model.clone(),
        };
        spar_app::run(opts).map_err(|e| anyhow::anyhow!("the desktop app failed: {e}"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if explicit {
        anyhow::bail!(
            "no display is available (DISPLAY/WAYLAND_DISPLAY unset); use `spar practice` in the terminal"
        );
    }
    eprintln!(
        "No display found: starting the terminal practice instead (`spar --help` lists every command)."
    );
    let bank = Arc::new(cli.load_bank()?);
    practice_cmd::practice(bank, a)
}
