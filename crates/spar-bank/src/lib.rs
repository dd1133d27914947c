//! The question bank: loading and validating the TOML files under `question-bank/`, a tantivy
//! index over them, and the retrieval the coach grounds its critiques on.
//!
//! The bank is embedded in the binary at build time, so it works offline from the first run;
//! a folder with the same layout can replace it (`SPAR_BANK_DIR`).
//!
//! ```
//! use spar_bank::{Bank, Filters};
//! use spar_core::taxonomy::Kind;
//!
//! let bank = Bank::embedded().unwrap();
//! let hits = bank.search("stop double charges when the client retries", &Filters::default(), 3).unwrap();
//! assert!(!hits.is_empty());
//! let q = bank.get(&hits[0].question.id).unwrap();
//! assert!(q.key_points.len() >= 4);
//! let designs = bank.filtered(&Filters::kind(Kind::SystemDesign));
//! assert!(designs.len() >= 40);
//! ```

mod diagnostic;
mod index;
mod load;
mod retrieve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use spar_core::question::Question;
use spar_core::taxonomy::{Kind, Level, Region, Stack};
use spar_core::track::MockLoop;

pub use diagnostic::Diagnostic;
pub use index::{BankIndex, Filters};
pub use load::{MIN_FOLLOW_UPS, MIN_KEY_POINTS, MIN_SCENARIO_STEPS, REFERENCE_WORDS};
pub use retrieve::{Passage, PassageSource, sentences};

/// Errors of the bank crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("the question bank has {} problem(s); first: {}", .0.len(), .0[0])]
    Invalid(Vec<Diagnostic>),
    #[error("no question with id `{0}`")]
    NotFound(String),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

pub type Result<T> = std::result::Result<T, Error>;

/// One bank file: its path relative to the bank root, and its bytes.
#[derive(Debug, Clone)]
pub struct BankFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_bank.rs"));
}

/// The result of checking a set of bank files.
#[derive(Debug, Default)]
pub struct Validation {
    pub files: usize,
    pub questions: Vec<Question>,
    pub loops: Vec<MockLoop>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and checks every file; never fails, collects diagnostics instead.
pub fn validate(files: &[BankFile]) -> Validation {
    let mut v = Validation {
        files: files.len(),
        ..Validation::default()
    };
    let mut parsed: Vec<(String, Question)> = Vec::new();
    for f in files {
        let text = match std::str::from_utf8(&f.bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = f.bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                v.errors.push(Diagnostic {
                    file: f.path.clone(),
                    line,
                    column: 0,
                    field: String::new(),
                    message: format!("not valid UTF-8 (byte {})", e.valid_up_to()),
                });
                continue;
            }
        };
        if f.path == "loops.toml" {
            v.loops = load::parse_loops(&f.path, text, &mut v.errors);
        } else if let Some(q) = load::parse_question(&f.path, text, &mut v.errors) {
            v.warnings.extend(load::warnings(&f.path, &q));
            parsed.push((f.path.clone(), q));
        }
    }
    load::check_bank(&parsed, &v.loops, &mut v.errors);
    let mut seen = std::collections::HashSet::new();
    v.questions = parsed
        .into_iter()
        .map(|(_, q)| q)
        .filter(|q| seen.insert(q.id.clone()))
        .collect();
    v.questions
        .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    v
}

/// The files embedded in this binary at build time.
pub fn embedded_files() -> Vec<BankFile> {
    embedded::FILES
        .iter()
        .map(|(p, t)| BankFile {
            path: p.to_string(),
            bytes: t.as_bytes().to_vec(),
        })
        .collect()
}

/// Every `.toml` file under `dir` (one level of kind folders, plus `loops.toml`).
pub fn read_dir(dir: &Path) -> Result<Vec<BankFile>> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        err: source,
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let entry = entry.map_err(|e| io(&d, e))?;
            let path = entry.path();
            if path.is_dir() {
                if path
                    .strip_prefix(dir)
                    .map(|p| p.components().count())
                    .unwrap_or(0)
                    <= 1
                {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml") {
                let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(BankFile { path: rel, bytes });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Where a bank comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankSource {
    /// The bank compiled into the binary.
    Embedded,
    /// A folder with the bank layout.
    Dir(PathBuf),
}

impl BankSource {
    /// `SPAR_BANK_DIR` when set, else the embedded bank.
    pub fn from_env() -> Self {
        match std::env::var_os("SPAR_BANK_DIR") {
            Some(d) if !d.is_empty() => BankSource::Dir(PathBuf::from(d)),
            _ => BankSource::Embedded,
        }
    }

    pub fn files(&self) -> Result<Vec<BankFile>> {
        match self {
            BankSource::Embedded => Ok(embedded_files()),
            BankSource::Dir(d) => read_dir(d),
        }
    }
}

/// A validated, indexed question bank.
#[derive(Debug)]
pub struct Bank {
    questions: Vec<Question>,
    loops: Vec<MockLoop>,
    index: BankIndex,
    warnings: Vec<Diagnostic>,
}

/// A search result.
#[derive(Debug, Clone, Copy)]
pub struct SearchHit<'a> {
    pub question: &'a Question,
    pub score: f32,
}

/// Counts for `spar bank stats`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub total: usize,
    pub kinds: BTreeMap<String, usize>,
    pub regions: BTreeMap<String, usize>,
    pub stacks: BTreeMap<String, usize>,
    pub levels: BTreeMap<String, usize>,
}

impl Bank {
    /// The bank compiled into this binary.
    pub fn embedded() -> Result<Self> {
        Self::from_files(&embedded_files())
    }

    /// Loads `source`; any error in any file fails the load with every diagnostic.
    pub fn load(source: &BankSource) -> Result<Self> {
        Self::from_files(&source.files()?)
    }

    pub fn from_files(files: &[BankFile]) -> Result<Self> {
        let v = validate(files);
        if !v.errors.is_empty() {
            return Err(Error::Invalid(v.errors));
        }
        Self::from_questions(v.questions, v.loops, v.warnings)
    }

    /// Builds a bank from questions that are already valid (tests, benchmarks).
    pub fn from_questions(
        questions: Vec<Question>,
        loops: Vec<MockLoop>,
        warnings: Vec<Diagnostic>,
    ) -> Result<Self> {
        let index = BankIndex::build(&questions)?;
        Ok(Self {
            questions,
            loops,
            index,
            warnings,
        })
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn loops(&self) -> &[MockLoop] {
        &self.loops
    }

    pub fn find_loop(&self, id: &str) -> Option<&MockLoop> {
        self.loops.iter().find(|l| l.id.eq_ignore_ascii_case(id))
    }

    /// Non-fatal advice found while loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.questions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// Like [`Bank::get`], with an error that names the id.
    pub fn require(&self, id: &str) -> Result<&Question> {
        self.get(id).ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// Every question passing `filters`, in bank order.
    pub fn filtered(&self, filters: &Filters) -> Vec<&Question> {
        self.questions
            .iter()
            .filter(|q| filters.matches(q))
            .collect()
    }

    /// Ranked full-text search.
    pub fn search(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<SearchHit<'_>>> {
        Ok(self
            .index
            .search(query, filters, limit)?
            .into_iter()
            .filter_map(|(ord, score)| {
                self.questions
                    .get(ord)
                    .map(|question| SearchHit { question, score })
            })
            .collect())
    }

    /// The bank question closest to a free-text question (e.g. one typed by a user or taken
    /// from an eval item), optionally within a kind.
    pub fn nearest(&self, text: &str, kind: Option<Kind>) -> Option<SearchHit<'_>> {
        let filters = Filters {
            kind,
            ..Filters::default()
        };
        self.search(text, &filters, 1).ok()?.into_iter().next()
    }

    /// The index, for callers that need its analyzer.
    pub fn index(&self) -> &BankIndex {
        &self.index
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            total: self.questions.len(),
            kinds: Kind::ALL.iter().map(|k| (k.id().to_string(), 0)).collect(),
            regions: Region::ALL
                .iter()
                .map(|k| (k.id().to_string(), 0))
                .collect(),
            stacks: Stack::ALL.iter().map(|k| (k.id().to_string(), 0)).collect(),
            levels: Level::ALL.iter().map(|k| (k.id().to_string(), 0)).collect(),
        };
        for q in &self.questions {
            *s.kinds.entry(q.kind.id().into()).or_default() += 1;
            for r in &q.regions {
                *s.regions.entry(r.id().into()).or_default() += 1;
            }
            for x in &q.stacks {
                *s.stacks.entry(x.id().into()).or_default() += 1;
            }
            for l in &q.levels {
                *s.levels.entry(l.id().into()).or_default() += 1;
            }
        }
        s
    }
}
