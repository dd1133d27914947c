//! `spar eval`: run the coach over a labelled set and score it; `spar eval fit`: fit the
//! calibration on the calibration split.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use spar_bank::Bank;
use spar_coach::{Calibrations, Coach};
use spar_eval::{fit, run};
use spar_llm::Cancel;

use crate::models_cmd::{RunArgs, load_for_practice};
use crate::practice_cmd::model_label;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub cmd: Option<EvalCmd>,
    /// The labelled JSONL file.
    #[arg(long)]
    pub set: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Deterministic analyzers only.
    #[arg(long)]
    pub no_model: bool,
    /// Output folder (predictions.jsonl, report.json, report.md, report.png).
    #[arg(long, default_value = "eval-out")]
    pub out: PathBuf,
    /// Only the first N items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print counts per kind, score and tag instead of running.
    #[arg(long)]
    pub stats: bool,
    /// Use this calibration file instead of the embedded one.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum EvalCmd {
    /// Fit the coach's calibration on a labelled split and write it as JSON.
    Fit {
        #[arg(long)]
        set: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        #[arg(long)]
        no_model: bool,
        /// Output file (default: crates/spar-coach/data/calibration-<signals>.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn load_set(
    path: &PathBuf,
) -> anyhow::Result<(Vec<spar_eval::EvalItem>, Vec<spar_eval::item::BadLine>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let (items, bad) = spar_eval::parse(&text);
    for b in &bad {
        eprintln!("{}:{}: skipped: {}", path.display(), b.line, b.reason);
    }
    Ok((items, bad))
}

fn bar(total: usize) -> ProgressBar {
    let b = ProgressBar::new(total as u64);
    b.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

fn coach(
    bank: Arc<Bank>,
    run: &RunArgs,
    no_model: bool,
    cals: &Calibrations,
) -> anyhow::Result<Coach> {
    let llm = if no_model {
        None
    } else {
        load_for_practice(run, false)?
    };
    let coach = Coach::new(bank, llm.map(|l| (l, model_label(run))), cals);
    crate::models_cmd::attach_grader(coach, run, cals)
}

pub fn eval(bank: Arc<Bank>, a: &EvalArgs) -> anyhow::Result<ExitCode> {
    if let Some(EvalCmd::Fit {
        set,
        run,
        no_model,
        out,
    }) = &a.cmd
    {
        let (items, _) = load_set(set)?;
        let coach = coach(bank, run, *no_model, &Calibrations::default())?;
        let signals = if *no_model {
            "deterministic".to_string()
        } else {
            model_label(run)
        };
        let b = bar(items.len());
        let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
        let file = fit::fit_calibration(&coach, &items, &signals, !*no_model, &mut |n, total| {
            b.set_position(n as u64);
            if quiet && (n % 20 == 0 || n == total) {
                eprintln!("fit: {n}/{total}");
            }
        })?;
        b.finish_and_clear();
        let out = out.clone().unwrap_or_else(|| {
            PathBuf::from(format!("crates/spar-coach/data/calibration-{signals}.json"))
        });
        let text = serde_json::to_string_pretty(&file)?;
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        spar_coach::store::write_atomic(dir, &out, text.as_bytes())?;
        println!(
            "wrote {} (threshold {:.2}, cut-points {:?})",
            out.display(),
            file.calibration.threshold,
            file.calibration.cutpoints
        );
        return Ok(ExitCode::SUCCESS);
    }
    let set = a.set.clone().context("--set FILE is required")?;
    let (mut items, bad) = load_set(&set)?;
    if a.stats {
        use std::collections::BTreeMap;
        let mut per: BTreeMap<String, BTreeMap<u8, usize>> = BTreeMap::new();
        let mut tags: BTreeMap<String, usize> = BTreeMap::new();
        for i in &items {
            *per.entry(i.kind.id().into())
                .or_default()
                .entry(i.labels.score)
                .or_default() += 1;
            for t in &i.tags {
                *tags.entry(t.clone()).or_default() += 1;
            }
        }
        println!("{} items, {} invalid lines", items.len(), bad.len());
        for (k, s) in per {
            println!("  {k:<15} {:>3}  scores {s:?}", s.values().sum::<usize>());
        }
        println!("  tags: {tags:?}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = a.limit {
        items.truncate(n);
    }
    let mut cals = Calibrations::embedded();
    if let Some(p) = &a.calibration {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let f: spar_coach::CalibrationFile =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
        let key = if a.no_model {
            "deterministic".to_string()
        } else {
            model_label(&a.run)
        };
        cals.insert(&key, f);
    }
    let coach = coach(bank, &a.run, a.no_model, &cals)?;
    let grader = match (coach.model_id(), coach.judge_id()) {
        (Some(m), Some(j)) => format!(
            "{m} + grader {j} (signals: {})",
            coach.calibration().signals
        ),
        (Some(m), None) => format!("{m} (signals: {})", coach.calibration().signals),
        (None, _) => "no model (deterministic analyzers)".into(),
    };
    eprintln!(
        "eval: {} items from {} — {grader}",
        items.len(),
        set.display()
    );
    let b = bar(items.len());
    let cancel = Cancel::new();
    crate::install_ctrlc(&cancel);
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let preds = run::run(
        &coach,
        &items,
        &a.out,
        &mut |n, total, p| {
            b.set_position(n as u64);
            b.set_message(format!("{} → {}", p.id, p.score));
            if quiet && (n % 20 == 0 || n == total) {
                eprintln!("eval: {n}/{total} ({} ms for {})", p.latency_ms, p.id);
            }
        },
        &cancel,
    )?;
    b.finish_and_clear();
    let set_name = set
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = spar_eval::score(&set_name, &grader, &items, &preds, bad.len());
    let dir = &a.out;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("report.md"), report.to_markdown())?;
    std::fs::write(dir.join("report.png"), report.chart_png())?;
    print!(
        "{}",
        report
            .to_markdown()
            .split("## Per dimension")
            .next()
            .unwrap_or("")
    );
    println!(
        "\nwrote {}/report.md, report.json, report.png, predictions.jsonl",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
