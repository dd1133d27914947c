//! Running the coach over an eval set: critique and first pushback for every item, written to
//! `predictions.jsonl` one line at a time so an interrupted run resumes where it stopped.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use spar_coach::Coach;
use spar_llm::{Cancel, NoSink};

use crate::item::EvalItem;
use crate::report::{PredictedPushback, Prediction};
use crate::{Error, Result};

/// Predictions already in `path` (a resumed run).
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                err: e,
            });
        }
    };
    let mut out = Vec::new();
    for line in BufReader::new(f).split(b'\n') {
        let line = line.map_err(|e| Error::Io {
            path: path.to_path_buf(),
            err: e,
        })?;
        // A line cut by a crash (possibly inside a character) is ignored; its item runs again.
        if let Ok(p) = serde_json::from_slice::<Prediction>(&line) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Per-item grader internals, written to `debug.jsonl` beside the predictions for analysis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Debug {
    pub id: String,
    pub p_covered: Vec<(spar_core::taxonomy::Dimension, f32)>,
    /// The dimension model's inputs, in the order of `spar_core::grade::DIM_FEATURE_NAMES`.
    pub features: Vec<(spar_core::taxonomy::Dimension, Vec<f32>)>,
    pub llm_yes: Vec<(spar_core::taxonomy::Dimension, f32)>,
    pub raw_score: f32,
    pub bank_match: Option<String>,
    pub match_confidence: f32,
    pub flags: spar_core::analysis::Flags,
}

/// Predicts one item.
pub fn predict(coach: &Coach, item: &EvalItem, cancel: &Cancel) -> Result<Prediction> {
    predict_debug(coach, item, cancel).map(|(p, _)| p)
}

/// Predicts one item, with the grader's internals.
pub fn predict_debug(
    coach: &Coach,
    item: &EvalItem,
    cancel: &Cancel,
) -> Result<(Prediction, Debug)> {
    let t0 = Instant::now();
    let asked = coach.resolve(
        &item.question,
        item.kind,
        item.level,
        item.question_id.as_deref(),
    );
    let a = coach.assess(&asked, &item.answer)?;
    let c = coach.critique(&asked, &item.answer, &a, cancel)?;
    let fast = coach.assess_fast(&asked, &item.answer);
    let pb = coach.pushback(
        &asked,
        &[(true, item.answer.clone())],
        &fast,
        &[],
        &[],
        &mut NoSink,
        cancel,
    )?;
    let covered = c.covered();
    let na = c.not_applicable.clone();
    let missing = item
        .kind
        .dimensions()
        .iter()
        .copied()
        .filter(|d| !covered.contains(d) && !na.contains(d))
        .collect();
    let mut critique = c.summary.clone();
    for g in &c.gaps {
        critique.push_str("\n- ");
        critique.push_str(g);
    }
    let debug = Debug {
        id: item.id.clone(),
        p_covered: a.verdict.p_covered.clone(),
        features: a
            .analysis
            .dims
            .iter()
            .map(|d| (d.dimension, a.features(d.dimension, asked.level).to_vec()))
            .collect(),
        llm_yes: a
            .models
            .iter()
            .filter_map(|(d, m)| m.llm_yes.map(|p| (*d, p)))
            .collect(),
        raw_score: a.verdict.raw_score,
        bank_match: asked.question.as_ref().map(|q| q.id.clone()),
        match_confidence: asked.confidence,
        flags: a.analysis.flags.clone(),
    };
    let prediction = Prediction {
        id: item.id.clone(),
        score: c.score,
        covered,
        missing,
        na,
        pushback: PredictedPushback {
            dimension: pb.dimension,
            text: pb.text,
        },
        critique,
        latency_ms: t0.elapsed().as_millis() as u64,
    };
    Ok((prediction, debug))
}

/// Runs every item not yet in `out/predictions.jsonl`, appending as it goes; `progress` is
/// called after each item with (done, total). Returns all predictions for `items`.
pub fn run(
    coach: &Coach,
    items: &[EvalItem],
    out: &Path,
    progress: &mut dyn FnMut(usize, usize, &Prediction),
    cancel: &Cancel,
) -> Result<Vec<Prediction>> {
    std::fs::create_dir_all(out).map_err(|e| Error::Io {
        path: out.to_path_buf(),
        err: e,
    })?;
    let path = out.join("predictions.jsonl");
    let wanted: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let mut preds: Vec<Prediction> = read_predictions(&path)?
        .into_iter()
        .filter(|p| wanted.contains(p.id.as_str()))
        .collect();
    let done: HashSet<String> = preds.iter().map(|p| p.id.clone()).collect();
    // Rewrite the file with only the kept, complete lines (beside it, then renamed over it, so a
    // crash here loses nothing), then append.
    {
        let tmp = out.join(".predictions.jsonl.tmp");
        let io = |e| Error::Io {
            path: tmp.clone(),
            err: e,
        };
        let mut f = File::create(&tmp).map_err(io)?;
        for p in &preds {
            writeln!(
                f,
                "{}",
                serde_json::to_string(p).expect("prediction serialises")
            )
            .map_err(io)?;
        }
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::Io {
            path: path.clone(),
            err: e,
        })?;
    }
    let mut f = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| Error::Io {
            path: path.clone(),
            err: e,
        })?;
    let dpath = out.join("debug.jsonl");
    let mut dbg = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&dpath)
        .map_err(|e| Error::Io {
            path: dpath.clone(),
            err: e,
        })?;
    let total = items.len();
    let mut n = preds.len();
    for item in items.iter().filter(|i| !done.contains(&i.id)) {
        if cancel.is_cancelled() {
            break;
        }
        let (p, d) = predict_debug(coach, item, cancel)?;
        writeln!(
            dbg,
            "{}",
            serde_json::to_string(&d).expect("debug serialises")
        )
        .map_err(|e| Error::Io {
            path: dpath.clone(),
            err: e,
        })?;
        writeln!(
            f,
            "{}",
            serde_json::to_string(&p).expect("prediction serialises")
        )
        .map_err(|e| Error::Io {
            path: path.clone(),
            err: e,
        })?;
        f.flush().map_err(|e| Error::Io {
            path: path.clone(),
            err: e,
        })?;
        n += 1;
        progress(n, total, &p);
        preds.push(p);
    }
    Ok(preds)
}
