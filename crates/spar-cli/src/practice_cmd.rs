//! `spar practice`, `spar critique`, `spar history`, `spar export`: the terminal face of the coach.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use spar_bank::Bank;
use spar_coach::{Calibrations, Coach, Event, Practice, Store, export};
use spar_core::critique::{Coverage, Critique};
use spar_core::select::{dimension_stats, weakest};
use spar_core::session::{Phase, Settings};
use spar_core::taxonomy::{Kind, Level, Region, Stack};
use spar_core::track::Track;
use spar_llm::Cancel;

use crate::models_cmd::{RunArgs, load_for_practice};

#[derive(Args, Debug, Clone)]
pub struct PracticeArgs {
    #[arg(long)]
    pub kind: Option<Kind>,
    #[arg(long)]
    pub level: Option<Level>,
    #[arg(long)]
    pub region: Option<Region>,
    #[arg(long)]
    pub stack: Option<Stack>,
    /// A regional mock loop: us, korea, japan, brazil, vietnam, china.
    #[arg(long = "loop", value_name = "NAME")]
    pub loop_id: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Practise without a model (the bank's follow-ups; deterministic grading).
    #[arg(long)]
    pub no_model: bool,
    /// Follow-up questions before each critique.
    #[arg(long, default_value_t = 2)]
    pub follow_ups: u8,
    /// Questions in the session (a loop uses its own round count).
    #[arg(long, default_value_t = 3)]
    pub questions: u8,
    /// Show the countdown at every prompt and warn when time is up.
    #[arg(long)]
    pub pressure: bool,
    /// Minutes per question (default: by kind).
    #[arg(long)]
    pub minutes: Option<u32>,
    /// Continue the most recent unfinished session.
    #[arg(long)]
    pub resume: bool,
}

pub fn build_coach(run: &RunArgs, no_model: bool, bank: Arc<Bank>) -> anyhow::Result<Arc<Coach>> {
    let llm = if no_model {
        None
    } else {
        load_for_practice(run, true)?
    };
    let id = llm.as_ref().map(|_| model_label(run));
    let llm = llm.zip(id);
    let cals = Calibrations::embedded();
    let coach = crate::models_cmd::attach_grader(Coach::new(bank, llm, &cals), run, &cals)?;
    Ok(Arc::new(coach))
}

/// The registry id (or file stem) of the model `run` selects.
pub fn model_label(run: &RunArgs) -> String {
    match &run.model {
        Some(m) if m.ends_with(".gguf") => PathBuf::from(m)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| m.clone()),
        Some(m) => m.clone(),
        None => crate::models_cmd::registry()
            .map(|r| r.default)
            .unwrap_or_default(),
    }
}

fn fmt_time(s: i64) -> String {
    let sign = if s < 0 { "-" } else { "" };
    let s = s.abs();
    format!("{sign}{}:{:02}", s / 60, s % 60)
}

/// Reads one line; bytes that are not UTF-8 (binary pasted into the terminal) become U+FFFD
/// instead of ending the session with an error.
fn read_line_lossy(input: &mut dyn BufRead, line: &mut String) -> std::io::Result<usize> {
    let mut bytes = Vec::new();
    let n = input.read_until(b'\n', &mut bytes)?;
    line.push_str(&String::from_utf8_lossy(&bytes));
    Ok(n)
}

/// Reads a multi-line answer: ends at an empty line (after some text), a line with a single
/// `.`, or end of input. `:done` asks for the critique now, `:quit` leaves.
fn read_answer(
    input: &mut dyn BufRead,
    deadline: Option<(u64, u32)>,
    pressure: bool,
    on_line: &mut dyn FnMut(&str),
) -> anyhow::Result<Option<String>> {
    let mut lines: Vec<String> = Vec::new();
    loop {
        let prompt = match deadline {
            Some((start, limit)) if pressure => {
                let left = limit as i64
                    - (spar_coach::store::now_ms().saturating_sub(start) / 1000) as i64;
                if left < 0 {
                    format!("[time is up {}] > ", fmt_time(left))
                } else {
                    format!("[{} left] > ", fmt_time(left))
                }
            }
            _ => "> ".to_string(),
        };
        if std::io::stdin().is_terminal() {
            print!("{prompt}");
            std::io::stdout().flush()?;
        }
        let mut line = String::new();
        if read_line_lossy(input, &mut line)? == 0 {
            return Ok(if lines.is_empty() {
                None
            } else {
                Some(lines.join("\n"))
            });
        }
        let t = line.trim_end_matches(['\n', '\r']);
        match t.trim() {
            ":quit" | ":q" => return Ok(None),
            ":done" => return Ok(Some(":done".into())),
            "." => return Ok(Some(lines.join("\n"))),
            "" if !lines.is_empty() => return Ok(Some(lines.join("\n"))),
            "" => continue,
            _ => {
                lines.push(t.to_string());
                on_line(&lines.join("\n"));
            }
        }
    }
}

/// Prints a critique scorecard for the terminal.
pub fn print_critique(c: &Critique) {
    println!("\n──────── critique ────────");
    println!("Score: {}/5 — {}", c.score, c.anchor);
    if !c.summary.is_empty() {
        println!("\n{}", c.summary);
    }
    println!();
    for d in &c.dimensions {
        let mark = match d.coverage {
            Coverage::Covered => "✔",
            Coverage::Partial => "~",
            Coverage::Missing => "✘",
        };
        match &d.evidence {
            Some(e) => println!("  {mark} {:<22} “{}”", d.dimension.label(), clip(e, 90)),
            None => println!(
                "  {mark} {:<22} {}",
                d.dimension.label(),
                d.coverage.label()
            ),
        }
    }
    if !c.strengths.is_empty() {
        println!("\nStrengths:");
        for s in &c.strengths {
            println!("  + {s}");
        }
    }
    if !c.gaps.is_empty() {
        println!("\nGaps:");
        for s in &c.gaps {
            println!("  - {s}");
        }
    }
    let missed: Vec<&str> = c
        .key_points
        .iter()
        .filter(|k| !k.hit)
        .map(|k| k.text.as_str())
        .collect();
    if !missed.is_empty() {
        println!("\nKey points you did not make:");
        for k in missed.iter().take(5) {
            println!("  · {k}");
        }
    }
    if !c.improved_passage.is_empty() {
        println!("\n{}", c.improved_passage);
    }
    if !c.flags.injection.is_empty() {
        println!("\n(Text addressed to the grader was ignored.)");
    }
}

fn clip(s: &str, n: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn print_event(e: &Event) {
    match e {
        Event::Question {
            index,
            total,
            title,
            prompt,
            kind,
            level,
            time_limit_s,
            note,
            ..
        } => {
            println!(
                "\n════════ Question {}/{} · {} · {} ════════",
                index + 1,
                total,
                kind.title(),
                level.id()
            );
            println!("{title}   (time: {})", fmt_time(*time_limit_s as i64));
            if let Some(n) = note {
                println!("({n})");
            }
            println!("\n{prompt}\n");
            println!(
                "Type your answer; finish with an empty line. `:done` for the critique now, `:quit` to stop."
            );
        }
        Event::Token(t) => {
            print!("{t}");
            let _ = std::io::stdout().flush();
        }
        Event::FollowUp { .. } => println!("\n"),
        Event::Finding(f) => println!("\nInterviewer: {f}\n"),
        Event::Notice(n) => println!("\n[{n}]"),
        Event::Critique(c) => print_critique(c),
        Event::Finished { mean_score } => match mean_score {
            Some(m) => println!(
                "\nSession complete. Mean score {m:.1}/5. `spar history` shows your progress."
            ),
            None => println!("\nSession complete."),
        },
    }
}

pub fn practice(bank: Arc<Bank>, a: &PracticeArgs) -> anyhow::Result<ExitCode> {
    let coach = build_coach(&a.run, a.no_model, bank)?;
    let store = Store::open_default();
    let mut p = if a.resume {
        match store.unfinished()? {
            Some(s) => {
                println!("Resuming session {} ({}).", s.id, s.track.describe());
                Practice::resume(coach, store, s)?
            }
            None => bail!("there is no unfinished session to resume"),
        }
    } else {
        let track = Track {
            kind: a.kind,
            level: a.level,
            region: a.region,
            stack: a.stack,
            loop_id: a.loop_id.clone(),
        };
        if let Some(l) = &a.loop_id
            && p_loop_missing(&coach, l)
        {
            let names: Vec<String> = coach.bank.loops().iter().map(|l| l.id.clone()).collect();
            bail!("unknown loop `{l}` (available: {})", names.join(", "));
        }
        let settings = Settings {
            follow_ups: a.follow_ups,
            pressure: a.pressure,
            questions: a.questions.max(1),
            time_limit_s: a.minutes.map(|m| m * 60),
            ..Settings::default()
        };
        Practice::start(coach, store, track, settings)?
    };
    if !p.coach.has_model() {
        println!(
            "[No model loaded: follow-ups come from the question bank and grading is deterministic.]"
        );
    }
    println!(
        "Session {} — saved after every turn in {}",
        p.session.id,
        p.store.dir().display()
    );
    let cancel = Cancel::new();
    crate::install_ctrlc(&cancel);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        match p.phase() {
            None => match p.next_question()? {
                Some(e @ Event::Finished { .. }) => {
                    print_event(&e);
                    return Ok(ExitCode::SUCCESS);
                }
                Some(e) => print_event(&e),
                None => {
                    println!("No question matches this track.");
                    return Ok(ExitCode::FAILURE);
                }
            },
            Some(Phase::InterviewerTurn) => {
                // A resumed session stopped before the interviewer replied: critique it.
                cancel.reset();
                p.critique(&mut |e| print_event(&e), &cancel)?;
                if !after_critique(&mut p, &mut input)? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Some(Phase::Done) => unreachable!("phase() hides done items"),
            Some(Phase::Answer | Phase::FollowUpAnswer(_) | Phase::DrillMove(_)) => {
                let item = p.session.current().expect("an open item");
                let deadline = Some((item.started_ms, item.time_limit_s));
                // While the candidate types, the model reads along: each finished line is processed
                // into the cache on a background thread, cancelled when the answer is submitted.
                let mut warm: Option<(Cancel, std::thread::JoinHandle<()>)> = None;
                let mut on_line = |partial: &str| {
                    if let Some((c, h)) = warm.take() {
                        c.cancel();
                        let _ = h.join();
                    }
                    if let Some(plan) = p.warm_plan(partial) {
                        let c = Cancel::new();
                        let c2 = c.clone();
                        if let Ok(h) =
                            std::thread::Builder::new()
                                .name("spar-warm".into())
                                .spawn(move || {
                                    let _ = plan.run(&c2);
                                })
                        {
                            warm = Some((c, h));
                        }
                    }
                };
                let read = read_answer(
                    &mut input,
                    deadline,
                    p.session.settings.pressure,
                    &mut on_line,
                );
                if let Some((c, h)) = warm.take() {
                    c.cancel();
                    let _ = h.join();
                }
                let Some(answer) = read? else {
                    println!(
                        "\nStopped. The session is saved; `spar practice --resume` continues it."
                    );
                    return Ok(ExitCode::SUCCESS);
                };
                cancel.reset();
                if answer == ":done" {
                    if p.session
                        .current()
                        .is_some_and(|i| i.candidate_text().trim().is_empty())
                    {
                        println!("Answer something first — even a first step.");
                        continue;
                    }
                    p.critique(&mut |e| print_event(&e), &cancel)?;
                } else {
                    print!("\nInterviewer: ");
                    if let Err(e) = p.submit(&answer, &mut |e| print_event(&e), &cancel) {
                        // A full disk or a read-only folder: give the words back before stopping.
                        eprintln!(
                            "\nYour last answer may not have been saved; here it is:\n\n{answer}\n"
                        );
                        return Err(e.into());
                    }
                }
                if p.session.current().is_some_and(|i| i.critique.is_some())
                    && !after_critique(&mut p, &mut input)?
                {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
}

fn p_loop_missing(coach: &Coach, id: &str) -> bool {
    coach.bank.find_loop(id).is_none()
}

/// After a critique: offer the reference answer; returns false to stop.
fn after_critique(p: &mut Practice, input: &mut dyn BufRead) -> anyhow::Result<bool> {
    loop {
        if std::io::stdin().is_terminal() {
            print!("\n[r] reference answer · [enter] next question · [q] quit > ");
            std::io::stdout().flush()?;
        }
        let mut line = String::new();
        if read_line_lossy(input, &mut line)? == 0 {
            return Ok(false);
        }
        match line.trim() {
            "r" | "R" => {
                if let Some(r) = p.reference()? {
                    println!("\n──────── reference answer ────────\n{r}");
                }
            }
            "q" | "Q" | ":quit" => {
                println!("Saved. `spar practice --resume` continues this session.");
                return Ok(false);
            }
            _ => return Ok(true),
        }
    }
}

#[derive(Args, Debug)]
pub struct CritiqueArgs {
    /// Bank question id.
    #[arg(long)]
    pub question: String,
    /// File with the answer (`-` for stdin).
    #[arg(long)]
    pub answer_file: PathBuf,
    #[arg(long, default_value = "mid")]
    pub level: Level,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long)]
    pub no_model: bool,
}

pub fn critique(bank: Arc<Bank>, a: &CritiqueArgs) -> anyhow::Result<ExitCode> {
    let q = bank.require(&a.question)?.clone();
    let answer = if a.answer_file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        let bytes = std::fs::read(&a.answer_file)
            .with_context(|| format!("reading {}", a.answer_file.display()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let llm = if a.no_model {
        None
    } else {
        load_for_practice(&a.run, false)?
    };
    let cals = Calibrations::embedded();
    let coach = Coach::new(bank, llm.map(|l| (l, model_label(&a.run))), &cals);
    let coach = crate::models_cmd::attach_grader(coach, &a.run, &cals)?;
    let asked = coach.resolve(&q.prompt, q.kind, a.level, Some(&q.id));
    let assessment = coach.assess(&asked, &answer)?;
    let c = coach.critique(&asked, &answer, &assessment, &Cancel::new())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!("{} — {}", q.id, q.title);
        print_critique(&c);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a locked stdout so `spar history | head` ends quietly (see `main`).
pub fn history() -> anyhow::Result<ExitCode> {
    let store = Store::open_default();
    let (sessions, quarantined) = store.list()?;
    let mut out = std::io::stdout().lock();
    for q in &quarantined {
        eprintln!(
            "note: {} could not be read ({}); moved to {}",
            q.file.display(),
            q.reason,
            q.moved_to.display()
        );
    }
    if sessions.is_empty() {
        writeln!(out, "No sessions yet. Start one with `spar practice`.")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<34} {:<28} {:>5} {:>7}  status",
        "SESSION", "TRACK", "ITEMS", "SCORE"
    )?;
    for s in &sessions {
        let score = s
            .mean_score()
            .map(|m| format!("{m:.1}"))
            .unwrap_or_else(|| "–".into());
        let status = if s.is_complete() {
            "done"
        } else {
            "unfinished"
        };
        writeln!(
            out,
            "{:<34} {:<28} {:>5} {:>7}  {status}",
            s.id,
            clip(&s.track.describe(), 28),
            s.items.len(),
            score
        )?;
    }
    let stats = dimension_stats(&sessions, spar_coach::store::now_ms());
    let weak = weakest(&stats, 1, 5);
    if !weak.is_empty() {
        writeln!(
            out,
            "\nWeakest dimensions (recency-weighted share covered):"
        )?;
        for d in weak {
            let s = stats
                .iter()
                .find(|s| s.dimension == d)
                .expect("stat exists");
            writeln!(
                out,
                "  {:<22} {:>4.0}%  over {} attempts",
                d.label(),
                s.rate * 100.0,
                s.attempts
            )?;
        }
        writeln!(
            out,
            "\nPractise them: `spar practice --kind <kind>` picks questions that probe your weakest dimensions first."
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    pub session: String,
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Write to a file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn export(bank: Arc<Bank>, a: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_default();
    let s = store.load(&a.session)?;
    let text = match a.format.as_str() {
        "md" | "markdown" => {
            export::session_md(&s, |id| bank.get(id).map(|q| q.reference_answer.clone()))
        }
        "json" => serde_json::to_string_pretty(&s)?,
        other => bail!("unknown format `{other}` (md, json)"),
    };
    match &a.out {
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            spar_coach::store::write_atomic(dir, p, text.as_bytes())?;
            println!("wrote {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
