//! Generation: a loaded model with its tokenizer and chat template, sessions that keep their
//! KV cache between calls, streaming sinks, cancellation, sampling and choice scoring.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use serde::{Deserialize, Serialize};

use crate::chat::{ChatTemplate, Message, Role};
use crate::gguf::{Gguf, Value};
use crate::model::{Cache, Config, LoadOptions, Logits, Model, log_softmax};
use crate::tokenizer::{StreamDecoder, Tokenizer};
use crate::{Error, Result};

/// Sampling settings. `temperature == 0` is greedy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    pub max_tokens: usize,
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    pub seed: u64,
    /// Keep generating past end-of-turn tokens (benchmarks).
    pub ignore_eos: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 42,
            ignore_eos: false,
        }
    }
}

impl Params {
    pub fn greedy(max_tokens: usize) -> Self {
        Self {
            max_tokens,
            ..Self::default()
        }
    }

    fn sampling(&self) -> Sampling {
        if self.temperature <= 0.0 {
            return Sampling::ArgMax;
        }
        let temperature = self.temperature;
        match (self.top_k, self.top_p) {
            (None, None) => Sampling::All { temperature },
            (Some(k), None) => Sampling::TopK { k, temperature },
            (None, Some(p)) => Sampling::TopP { p, temperature },
            (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
        }
    }
}

/// Receives generated text as it is produced.
pub trait TokenSink {
    /// A piece of text (one or more tokens' worth; never splits a UTF-8 character).
    fn text(&mut self, piece: &str);
}

impl<F: FnMut(&str)> TokenSink for F {
    fn text(&mut self, piece: &str) {
        self(piece)
    }
}

/// Discards output.
pub struct NoSink;

impl TokenSink for NoSink {
    fn text(&mut self, _: &str) {}
}

/// A flag another thread sets to stop generation at the next token.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst)
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfTurn,
    MaxTokens,
    Cancelled,
    ContextFull,
}

/// The result of a generation call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    pub text: String,
    pub tokens: Vec<u32>,
    pub stop: StopReason,
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV entries were reused from earlier calls.
    pub reused_tokens: usize,
    pub prompt_ms: f64,
    /// From the call to the first generated token.
    pub first_token_ms: f64,
    pub decode_ms: f64,
    /// Set when the conversation had to be shortened to fit the context window.
    pub notice: Option<String>,
}

impl Generation {
    pub fn decode_tok_per_s(&self) -> f64 {
        let n = self.tokens.len().saturating_sub(1);
        if self.decode_ms > 0.0 {
            n as f64 * 1000.0 / self.decode_ms
        } else {
            0.0
        }
    }
}

/// Facts about a loaded model, for display and benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub architecture: String,
    pub name: Option<String>,
    pub params: u64,
    pub file_bytes: u64,
    pub weight_bytes: usize,
    pub context: usize,
    pub tokenizer: String,
    pub chat_template: &'static str,
    pub requantized: Vec<String>,
    pub threads: usize,
}

/// A loaded model: weights, tokenizer and chat template. Share it between sessions with `Arc`.
#[derive(Debug)]
pub struct Llm {
    pub model: Model,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub info: ModelInfo,
}

impl Llm {
    /// Loads a GGUF file.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Self> {
        let g = Gguf::open(path)?;
        // Check what the model is before reading gigabytes.
        Config::from_gguf(&g)?;
        let tokenizer = Tokenizer::for_model(&g)?;
        let model = Model::load(&g, opts)?;
        if model.config.vocab < tokenizer.vocab_size() {
            return Err(Error::Gguf {
                path: path.to_path_buf(),
                message: format!(
                    "the tokenizer has {} tokens but the embedding only {}",
                    tokenizer.vocab_size(),
                    model.config.vocab
                ),
            });
        }
        let text = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i)).unwrap_or_default();
        let template = ChatTemplate::new(
            g.get("tokenizer.chat_template").and_then(Value::as_str),
            text(tokenizer.bos),
            text(tokenizer.eos),
        )
        // The template is the file's content: say which file it came from.
        .map_err(|e| match e {
            Error::Template(m) => Error::Template(format!("{}: {m}", path.display())),
            e => e,
        })?;
        let info = ModelInfo {
            path: path.to_path_buf(),
            architecture: model.config.arch.id().to_string(),
            name: g
                .get("general.name")
                .and_then(Value::as_str)
                .map(str::to_string),
            params: model.config.params(),
            file_bytes: g.file_len,
            weight_bytes: model.weight_bytes(),
            context: model.max_ctx,
            tokenizer: tokenizer.kind.clone(),
            chat_template: if template.is_fallback {
                "chatml (fallback)"
            } else {
                "from model"
            },
            requantized: model.requantized.clone(),
            threads: model.threads,
        };
        Ok(Self {
            model,
            tokenizer,
            template,
            info,
        })
    }

    /// Token ids of a chat prompt ending with the assistant's turn opening.
    pub fn chat_tokens(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.template.encode(&self.tokenizer, messages, true)
    }

    pub fn new_session(self: &Arc<Self>) -> Session {
        Session {
            llm: Arc::clone(self),
            cache: self.model.new_cache(),
            history: Vec::new(),
        }
    }
}

/// One conversation's state: the KV cache and the tokens it holds. A new call reuses the
/// longest cached prefix of its prompt and processes only the rest.
#[derive(Debug)]
pub struct Session {
    llm: Arc<Llm>,
    cache: Cache,
    history: Vec<u32>,
}

/// Prompt tokens processed per forward pass (bounds the attention scratch memory).
const PROMPT_CHUNK: usize = 256;

impl Session {
    pub fn llm(&self) -> &Arc<Llm> {
        &self.llm
    }

    /// Tokens currently in the KV cache.
    pub fn cached_tokens(&self) -> usize {
        self.history.len()
    }

    pub fn reset(&mut self) {
        self.cache.clear();
        self.history.clear();
    }

    /// Brings the cache to exactly `prompt` and returns the logits after its last token and
    /// how many tokens were reused.
    fn prefill(&mut self, prompt: &[u32], cancel: &Cancel) -> Result<(Tensor, usize)> {
        self.prefill_chunked(prompt, cancel, PROMPT_CHUNK)
    }

    /// Processes `prompt` into the cache ahead of time (for example while the user is still
    /// typing), in small chunks so that `cancel` takes effect quickly. A later call whose prompt
    /// starts with these tokens only processes the rest. Returns the tokens now cached.
    pub fn warm(&mut self, prompt: &[u32], cancel: &Cancel) -> Result<usize> {
        if prompt.len() < 2 {
            return Ok(self.history.len());
        }
        match self.prefill_chunked(prompt, cancel, 32) {
            Ok(_) | Err(Error::Cancelled) => Ok(self.history.len()),
            Err(e) => Err(e),
        }
    }

    fn prefill_chunked(
        &mut self,
        prompt: &[u32],
        cancel: &Cancel,
        chunk: usize,
    ) -> Result<(Tensor, usize)> {
        if prompt.is_empty() {
            return Err(Error::Generation("empty prompt".into()));
        }
        let max = self.llm.model.max_ctx;
        if prompt.len() > max {
            return Err(Error::ContextFull {
                needed: prompt.len(),
                max,
            });
        }
        let common = self
            .history
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        // Keep at least one token to process so that we get fresh logits.
        let reuse = common.min(prompt.len() - 1);
        self.cache.truncate(reuse);
        self.history.truncate(reuse);
        let mut logits = None;
        for chunk in prompt[reuse..].chunks(chunk) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            logits = Some(
                self.llm
                    .model
                    .forward(chunk, &mut self.cache, Logits::Last)?,
            );
            self.history.extend_from_slice(chunk);
        }
        Ok((logits.expect("at least one chunk"), reuse))
    }

    /// Generates a continuation of `prompt` (token ids), streaming text into `sink`.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        params: &Params,
        sink: &mut dyn TokenSink,
        cancel: &Cancel,
    ) -> Result<Generation> {
        let t0 = Instant::now();
        let (mut logits, reused) = match self.prefill(prompt, cancel) {
            Ok(r) => r,
            Err(Error::Cancelled) => {
                return Ok(Generation {
                    text: String::new(),
                    tokens: Vec::new(),
                    stop: StopReason::Cancelled,
                    prompt_tokens: prompt.len(),
                    reused_tokens: 0,
                    prompt_ms: t0.elapsed().as_secs_f64() * 1e3,
                    first_token_ms: 0.0,
                    decode_ms: 0.0,
                    notice: None,
                });
            }
            Err(e) => return Err(e),
        };
        let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut sampler = LogitsProcessor::from_sampling(params.seed, params.sampling());
        let tok = &self.llm.tokenizer;
        let mut decoder = StreamDecoder::default();
        let mut text = String::new();
        let mut tokens: Vec<u32> = Vec::new();
        let mut first_token_ms = 0.0;
        let t_decode = Instant::now();
        let mut stop = StopReason::MaxTokens;
        for i in 0..params.max_tokens {
            if cancel.is_cancelled() {
                stop = StopReason::Cancelled;
                break;
            }
            let logits_f = logits.to_dtype(DType::F32)?;
            let logits_f = if params.repeat_penalty != 1.0 {
                let start = self.history.len().saturating_sub(params.repeat_last_n);
                let mut recent: Vec<u32> = self.history[start..].to_vec();
                recent.extend(&tokens);
                candle_transformers::utils::apply_repeat_penalty(
                    &logits_f,
                    params.repeat_penalty,
                    &recent,
                )?
            } else {
                logits_f
            };
            let next = sampler.sample(&logits_f)?;
            if i == 0 {
                first_token_ms = t0.elapsed().as_secs_f64() * 1e3;
            }
            if !params.ignore_eos && (tok.eot.contains(&next) || tok.eos == Some(next)) {
                stop = StopReason::EndOfTurn;
                break;
            }
            tokens.push(next);
            let piece = decoder.push(&tok.token_bytes(next, false));
            if !piece.is_empty() {
                sink.text(&piece);
                text.push_str(&piece);
            }
            if i + 1 == params.max_tokens {
                break;
            }
            if self.history.len() + 1 > self.llm.model.max_ctx {
                stop = StopReason::ContextFull;
                break;
            }
            logits = self
                .llm
                .model
                .forward(&[next], &mut self.cache, Logits::Last)?;
            self.history.push(next);
        }
        let rest = decoder.finish();
        if !rest.is_empty() {
            sink.text(&rest);
            text.push_str(&rest);
        }
        Ok(Generation {
            text,
            tokens,
            stop,
            prompt_tokens: prompt.len(),
            reused_tokens: reused,
            prompt_ms,
            first_token_ms,
            decode_ms: t_decode.elapsed().as_secs_f64() * 1e3,
            notice: None,
        })
    }

    /// Chats: fits `messages` into the context (dropping the oldest turns, then shortening
    /// the longest message, with a notice), then generates the assistant's reply.
    pub fn chat(
        &mut self,
        messages: &[Message],
        params: &Params,
        sink: &mut dyn TokenSink,
        cancel: &Cancel,
    ) -> Result<Generation> {
        let budget = self
            .llm
            .model
            .max_ctx
            .saturating_sub(params.max_tokens)
            .max(64);
        let (prompt, notice) = fit_to_context(&self.llm, messages, budget)?;
        let mut g = self.generate(&prompt, params, sink, cancel)?;
        g.notice = notice;
        Ok(g)
    }

    /// Probabilities of each candidate continuation after `prompt` (e.g. `[" Yes", " No"]`),
    /// normalised over the candidates. Uses the cache: a shared prefix is computed once.
    pub fn score_choices(&mut self, prompt: &[u32], choices: &[Vec<u32>]) -> Result<Vec<f32>> {
        if choices.is_empty() || choices.iter().any(Vec::is_empty) {
            return Err(Error::Generation(
                "every choice needs at least one token".into(),
            ));
        }
        let cancel = Cancel::new();
        let (logits, _) = self.prefill(prompt, &cancel)?;
        let first = log_softmax(&logits)?;
        let base = self.history.len();
        let mut logps = Vec::with_capacity(choices.len());
        for choice in choices {
            let mut lp = *first.get(choice[0] as usize).unwrap_or(&f32::NEG_INFINITY);
            if choice.len() > 1 {
                let all = self.llm.model.forward(
                    &choice[..choice.len() - 1],
                    &mut self.cache,
                    Logits::All,
                )?;
                for (i, t) in choice.iter().enumerate().skip(1) {
                    let row = log_softmax(&all.get(i - 1)?)?;
                    lp += row.get(*t as usize).copied().unwrap_or(f32::NEG_INFINITY);
                }
                self.cache.truncate(base);
            }
            logps.push(lp);
        }
        let m = logps.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = logps.iter().map(|l| (l - m).exp()).collect();
        let z: f32 = exp.iter().sum();
        Ok(exp
            .into_iter()
            .map(|e| e / z.max(f32::MIN_POSITIVE))
            .collect())
    }

    /// Log-probability of every token of `text` given the ones before it (perplexity).
    pub fn token_logprobs(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.reset();
        let mut out = Vec::with_capacity(tokens.len());
        for chunk_start in (0..tokens.len().saturating_sub(1)).step_by(PROMPT_CHUNK) {
            let end = (chunk_start + PROMPT_CHUNK).min(tokens.len() - 1);
            let all =
                self.llm
                    .model
                    .forward(&tokens[chunk_start..end], &mut self.cache, Logits::All)?;
            for i in 0..end - chunk_start {
                let row = log_softmax(&all.get(i)?)?;
                out.push(row[tokens[chunk_start + i + 1] as usize]);
            }
        }
        self.history.clear();
        self.cache.clear();
        Ok(out)
    }
}

/// Shortens a conversation to fit `budget` tokens. Keeps system messages and the last message;
/// drops the oldest others first, then cuts the middle out of the longest message.
pub fn fit_to_context(
    llm: &Llm,
    messages: &[Message],
    budget: usize,
) -> Result<(Vec<u32>, Option<String>)> {
    let mut msgs: Vec<Message> = messages.to_vec();
    let mut dropped = 0;
    let mut cut_chars = 0usize;
    loop {
        let ids = llm.chat_tokens(&msgs)?;
        if ids.len() <= budget {
            let notice = match (dropped, cut_chars) {
                (0, 0) => None,
                (d, 0) => Some(format!(
                    "The conversation was too long for the model's context: {d} earlier message(s) were left out."
                )),
                (0, c) => Some(format!(
                    "The text was too long for the model's context: {c} characters from its middle were left out."
                )),
                (d, c) => Some(format!(
                    "The conversation was too long for the model's context: {d} earlier message(s) and {c} characters were left out."
                )),
            };
            return Ok((ids, notice));
        }
        let droppable = msgs
            .iter()
            .enumerate()
            .position(|(i, m)| m.role != Role::System && i + 1 < msgs.len());
        if let Some(i) = droppable {
            msgs.remove(i);
            dropped += 1;
            continue;
        }
        // Shorten the longest message proportionally to the overflow.
        let (idx, len) = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (i, m.content.chars().count()))
            .max_by_key(|(_, n)| *n)
            .unwrap_or((0, 0));
        if len < 64 {
            return Err(Error::ContextFull {
                needed: ids.len(),
                max: budget,
            });
        }
        let over = ids.len() - budget;
        let ratio = len as f64 / ids.len().max(1) as f64;
        let remove = ((over as f64 * ratio * 1.2) as usize + 32).min(len - 32);
        let chars: Vec<char> = msgs[idx].content.chars().collect();
        let keep_head = (len - remove) / 2;
        let keep_tail = len - remove - keep_head;
        let marker = format!("\n[… {remove} characters omitted …]\n");
        let head: String = chars[..keep_head].iter().collect();
        let tail: String = chars[len - keep_tail..].iter().collect();
        msgs[idx].content = format!("{head}{marker}{tail}");
        cut_chars += remove;
    }
}
