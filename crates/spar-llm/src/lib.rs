//! Local inference for spar: quantised GGUF language models run with candle, on the CPU by
//! default (spar's own int8/int4 kernels) and on CUDA or Metal by cargo feature.
//!
//! This crate knows nothing of interviews. It owns:
//! - [`gguf`]: a defensive GGUF reader (hostile files give errors, not panics);
//! - [`tokenizer`]: byte-level BPE built from GGUF metadata, matching llama.cpp's ids;
//! - [`chat`]: chat templates from the model (minijinja), ChatML fallback;
//! - [`model`]: the transformer (`llama`, `qwen2`, `qwen3`, `phi3`);
//! - [`engine`]: sessions with KV-cache reuse, streaming, cancellation, sampling, scoring;
//! - [`registry`]: the model registry, fetching (Hugging Face, PyPI, local) and the models dir.
//!
//! ```no_run
//! use std::sync::Arc;
//! use spar_llm::{Cancel, Llm, LoadOptions, Message, Params};
//!
//! let llm = Arc::new(Llm::load("model.gguf".as_ref(), &LoadOptions::default())?);
//! let mut session = llm.new_session();
//! let reply = session.chat(
//!     &[Message::user("Say hello")],
//!     &Params::greedy(32),
//!     &mut |piece: &str| print!("{piece}"),
//!     &Cancel::new(),
//! )?;
//! println!("\n{} tokens", reply.tokens.len());
//! # Ok::<(), spar_llm::Error>(())
//! ```

pub mod chat;
pub mod engine;
pub mod gguf;
pub mod model;
pub mod quant;
pub mod registry;
pub mod testing;
pub mod threads;
pub mod tokenizer;

use std::path::{Path, PathBuf};

pub use candle_core::Device;
pub use chat::{ChatTemplate, Message, Role};
pub use engine::{
    Cancel, Generation, Llm, ModelInfo, NoSink, Params, Session, StopReason, TokenSink,
};
pub use model::LoadOptions;

/// Errors of the inference crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{}: {message}", path.display())]
    Gguf { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("generation: {0}")]
    Generation(String),
    #[error("the prompt needs {needed} tokens but the context holds {max}")]
    ContextFull { needed: usize, max: usize },
    #[error("cancelled")]
    Cancelled,
    #[error("model registry {}: {message}", path.display())]
    Registry { path: PathBuf, message: String },
    #[error("{0}")]
    Fetch(String),
    #[error("unknown model `{0}` (see `spar models list`)")]
    UnknownModel(String),
    #[error("device: {0}")]
    Device(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            err: source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A device by name: `cpu`, `cuda[:N]` (feature `cuda`), `metal` (feature `metal`).
pub fn device(name: &str) -> Result<Device> {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "cpu" => Ok(Device::Cpu),
        s if s.starts_with("cuda") => {
            let ordinal = s
                .strip_prefix("cuda")
                .and_then(|r| r.strip_prefix(':'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if cfg!(feature = "cuda") {
                Device::new_cuda(ordinal)
                    .map_err(|e| Error::Device(format!("cannot open CUDA device {ordinal}: {e}")))
            } else {
                Err(Error::Device(
                    "this build has no CUDA support (rebuild with `--features cuda`)".into(),
                ))
            }
        }
        "metal" => {
            if cfg!(feature = "metal") {
                Device::new_metal(0)
                    .map_err(|e| Error::Device(format!("cannot open the Metal device: {e}")))
            } else {
                Err(Error::Device(
                    "this build has no Metal support (rebuild with `--features metal`)".into(),
                ))
            }
        }
        other => Err(Error::Device(format!(
            "unknown device `{other}` (cpu, cuda, cuda:N, metal)"
        ))),
    }
}
