//! `spar bank …`

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use spar_bank::{Filters, validate};
use spar_core::question::Question;
use spar_core::taxonomy::{Kind, Level, Region, Stack};

use crate::Cli;

#[derive(Subcommand)]
pub enum BankCmd {
    /// Check every bank file; print each problem as file:line: field: message.
    Validate,
    /// Full-text search with filters.
    Search {
        /// Free text, e.g. "rate limiter".
        query: String,
        #[command(flatten)]
        filters: FilterArgs,
        /// How many results to show.
        #[arg(long, short = 'n', default_value_t = 10)]
        limit: usize,
    },
    /// Show one question with its key points, follow-ups and reference answer.
    Show { id: String },
    /// Counts per kind, region, stack and level.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// List questions matching filters.
    List {
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Print every rubric dimension and what it takes to cover it.
    Dimensions,
}

#[derive(Args, Debug, Default)]
pub struct FilterArgs {
    #[arg(long)]
    pub kind: Option<Kind>,
    #[arg(long)]
    pub level: Option<Level>,
    #[arg(long)]
    pub region: Option<Region>,
    #[arg(long)]
    pub stack: Option<Stack>,
    #[arg(long)]
    pub topic: Option<String>,
}

impl FilterArgs {
    pub fn filters(&self) -> Filters {
        Filters {
            kind: self.kind,
            level: self.level,
            region: self.region,
            stack: self.stack,
            topic: self.topic.clone(),
        }
    }
}

/// Output goes through a locked stdout and `?`, so a closed pipe (`spar bank list | head`)
/// ends the command quietly instead of panicking inside `println!`.
pub fn run(cli: &Cli, cmd: &BankCmd) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        BankCmd::Validate => {
            let source = cli.bank_source();
            let files = source.files()?;
            let v = validate(&files);
            for w in &v.warnings {
                writeln!(out, "warning: {w}")?;
            }
            for e in &v.errors {
                writeln!(out, "error: {e}")?;
            }
            if v.errors.is_empty() {
                writeln!(
                    out,
                    "ok: {} files, {} questions, {} loops, {} warning(s)",
                    v.files,
                    v.questions.len(),
                    v.loops.len(),
                    v.warnings.len()
                )?;
                Ok(ExitCode::SUCCESS)
            } else {
                writeln!(out, "{} error(s) in {} files", v.errors.len(), v.files)?;
                Ok(ExitCode::FAILURE)
            }
        }
        BankCmd::Search {
            query,
            filters,
            limit,
        } => {
            let bank = cli.load_bank()?;
            let hits = bank.search(query, &filters.filters(), *limit)?;
            if hits.is_empty() {
                writeln!(out, "no question matches")?;
            }
            for h in hits {
                writeln!(
                    out,
                    "{:>6.2}  {:<40} {}",
                    h.score, h.question.id, h.question.title
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BankCmd::Show { id } => {
            let bank = cli.load_bank()?;
            write!(out, "{}", render_question(bank.require(id)?))?;
            Ok(ExitCode::SUCCESS)
        }
        BankCmd::Stats { json } => {
            let bank = cli.load_bank()?;
            let s = bank.stats();
            if *json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            } else {
                writeln!(out, "total: {}", s.total)?;
                for (name, map) in [
                    ("kinds", &s.kinds),
                    ("levels", &s.levels),
                    ("regions", &s.regions),
                    ("stacks", &s.stacks),
                ] {
                    let row: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
                    writeln!(out, "{name:<8} {}", row.join(" · "))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BankCmd::List { filters } => {
            let bank = cli.load_bank()?;
            for q in bank.filtered(&filters.filters()) {
                writeln!(out, "{:<40} {}", q.id, q.title)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BankCmd::Dimensions => {
            for k in Kind::ALL {
                writeln!(out, "{} ({})", k.title(), k.id())?;
                for d in k.dimensions() {
                    writeln!(out, "  {:<15} {}", d.id(), d.criterion())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A question as plain text for the terminal.
pub fn render_question(q: &Question) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let list = |v: Vec<&str>| {
        if v.is_empty() {
            "any".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(s, "{} — {}\n", q.id, q.title);
    let _ = writeln!(
        s,
        "kind: {}   levels: {}",
        q.kind,
        list(q.levels.iter().map(|l| l.id()).collect())
    );
    let _ = writeln!(
        s,
        "regions: {}   stacks: {}   topics: {}",
        list(q.regions.iter().map(|r| r.id()).collect()),
        list(q.stacks.iter().map(|r| r.id()).collect()),
        q.topics.join(", ")
    );
    let _ = writeln!(s, "\n{}\n", q.prompt);
    let _ = writeln!(s, "Key points:");
    for k in &q.key_points {
        let _ = writeln!(s, "  [{}] {}", k.dimension, k.text);
    }
    let _ = writeln!(s, "\nFollow-ups:");
    for f in &q.follow_ups {
        let _ = writeln!(s, "  [{} · {}] {}", f.dimension, f.when.id(), f.text);
    }
    let _ = writeln!(s, "\nPitfalls:");
    for p in &q.pitfalls {
        let _ = writeln!(s, "  - {p}");
    }
    if let Some(sc) = &q.scenario {
        let _ = writeln!(s, "\nDrill opening: {}", sc.opening);
        for st in &sc.steps {
            let _ = writeln!(s, "  ({}) {} → {}", st.priority, st.check, st.finding);
        }
    }
    let _ = writeln!(s, "\nReference answer:\n{}", q.reference_answer);
    s
}
