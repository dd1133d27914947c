//! The decoder-only transformer behind every supported GGUF architecture (`llama`, `qwen2`,
//! `qwen3`, `phi3`): RMSNorm, rotary attention with grouped KV heads and a KV cache, SwiGLU.
//!
//! On the CPU, matrices use spar's own quantised kernels ([`crate::quant`]); on CUDA and Metal
//! they use candle's `QMatMul`. Everything else is candle tensor ops, so the same code runs on
//! every device.

use std::fs::File;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{D, DType, Device, Module, Tensor};

use crate::gguf::{GgmlType, Gguf, TensorInfo};
use crate::quant::convert::Runtime;
use crate::quant::convert::{self, supported};
use crate::quant::linear::QMatMulOp;
use crate::quant::{QWeight, to_runtime};
use crate::{Error, Result};

/// A supported `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Phi3,
}

impl Arch {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "phi3" => Arch::Phi3,
            _ => return None,
        })
    }

    pub fn id(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
        }
    }

    pub const SUPPORTED: &'static str = "llama, qwen2, qwen3, phi3";
}

/// Hyper-parameters read from GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub rope_theta: f32,
    pub rms_eps: f32,
    /// The context length the model was trained for.
    pub train_ctx: usize,
    pub vocab: usize,
}

impl Config {
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let name = g.architecture()?;
        let arch = Arch::parse(name).ok_or_else(|| Error::Gguf {
            path: g.path.clone(),
            message: format!(
                "unsupported architecture `{name}` (supported: {}); Gemma-3 is not offered until candle's implementation is usable",
                Arch::SUPPORTED
            ),
        })?;
        let key = |k: &str| format!("{name}.{k}");
        let n_embd = g.u64(&key("embedding_length"))? as usize;
        let n_head = g.u64(&key("attention.head_count"))? as usize;
        let n_head_kv = g
            .get(&key("attention.head_count_kv"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
            .unwrap_or(n_head);
        let head_dim = g
            .get(&key("attention.key_length"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
            .unwrap_or(n_embd / n_head.max(1));
        let vocab = g
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .or_else(|| {
                g.tensor("token_embd.weight")
                    .and_then(|t| t.dims.get(1))
                    .map(|d| *d as usize)
            })
            .unwrap_or(0);
        let c = Config {
            arch,
            n_layer: g.u64(&key("block_count"))? as usize,
            n_embd,
            n_ff: g.u64(&key("feed_forward_length"))? as usize,
            n_head,
            n_head_kv,
            head_dim,
            rope_theta: g
                .get(&key("rope.freq_base"))
                .and_then(|v| v.as_f64())
                .unwrap_or(10_000.0) as f32,
            rms_eps: g
                .get(&key("attention.layer_norm_rms_epsilon"))
                .and_then(|v| v.as_f64())
                .unwrap_or(1e-6) as f32,
            train_ctx: g
                .get(&key("context_length"))
                .and_then(|v| v.as_u64())
                .unwrap_or(2048) as usize,
            vocab,
        };
        let bad = |m: String| Error::Gguf {
            path: g.path.clone(),
            message: m,
        };
        if c.n_layer == 0 || c.n_layer > 512 || c.n_embd == 0 || c.n_head == 0 || c.n_head_kv == 0 {
            return Err(bad(format!("implausible model shape: {c:?}")));
        }
        if !c.n_head.is_multiple_of(c.n_head_kv)
            || !c.head_dim.is_multiple_of(2)
            || c.head_dim > 1024
        {
            return Err(bad(format!(
                "unsupported attention shape: {} heads, {} KV heads, head dim {}",
                c.n_head, c.n_head_kv, c.head_dim
            )));
        }
        if g.get(&key("rope.scaling.type"))
            .and_then(|v| v.as_str())
            .is_some_and(|s| s != "none" && s != "linear")
            || g.tensor("rope_factors_long.weight").is_some()
        {
            return Err(bad(
                "rope scaling (long-context variants) is not supported".into()
            ));
        }
        Ok(c)
    }

    /// Rough parameter count (for display).
    pub fn params(&self) -> u64 {
        let attn = self.n_embd * self.head_dim * (self.n_head * 2 + self.n_head_kv * 2);
        let ffn = 3 * self.n_embd * self.n_ff;
        ((attn + ffn) * self.n_layer + self.vocab * self.n_embd) as u64
    }
}

/// A matrix on its device.
#[derive(Debug, Clone)]
pub enum Linear {
    /// spar's CPU kernels.
    Cpu(Arc<QWeight>),
    /// candle's quantised matmul (CUDA, Metal).
    Candle(QMatMul),
}

impl Linear {
    fn forward(&self, x: &Tensor, threads: usize) -> Result<Tensor> {
        Ok(match self {
            Linear::Cpu(w) => {
                let x = x.contiguous()?;
                x.apply_op1_no_bwd(&QMatMulOp { w, threads })?
            }
            Linear::Candle(m) => m.forward(x)?,
        })
    }

    fn size_in_bytes(&self) -> usize {
        match self {
            Linear::Cpu(w) => w.size_in_bytes(),
            Linear::Candle(QMatMul::QTensor(q)) => q.storage_size_in_bytes(),
            Linear::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => {
                t.elem_count() * t.dtype().size_in_bytes()
            }
        }
    }
}

/// A projection with an optional bias, possibly fused from several (q|k|v, gate|up).
#[derive(Debug, Clone)]
struct Proj {
    w: Linear,
    bias: Option<Tensor>,
}

impl Proj {
    fn forward(&self, x: &Tensor, threads: usize) -> Result<Tensor> {
        let y = self.w.forward(x, threads)?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

#[derive(Debug)]
struct Layer {
    attn_norm: Tensor,
    /// Fused q|k|v when the three share a format, else separate.
    qkv: Vec<Proj>,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    wo: Proj,
    ffn_norm: Tensor,
    /// Fused gate|up, or [gate, up].
    gate_up: Vec<Proj>,
    down: Proj,
}

/// The KV cache of one layer: `(n_head_kv, capacity, head_dim)`, the first `len` positions used.
#[derive(Debug)]
struct LayerCache {
    k: Tensor,
    v: Tensor,
}

/// Per-conversation state: the KV cache and how many positions it holds.
#[derive(Debug, Default)]
pub struct Cache {
    layers: Vec<LayerCache>,
    capacity: usize,
    len: usize,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything after the first `len` positions (prefix reuse).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn size_in_bytes(&self) -> usize {
        self.layers.iter().map(|l| 2 * l.k.elem_count() * 4).sum()
    }
}

/// What logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Only for the last input position: `(vocab)`.
    Last,
    /// For every input position: `(tokens, vocab)`.
    All,
}

/// Loaded weights of a transformer.
#[derive(Debug)]
pub struct Model {
    pub config: Config,
    device: Device,
    embed: Embedding,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    /// The longest context this instance supports (rope tables are sized for it).
    pub max_ctx: usize,
    pub threads: usize,
    weight_bytes: usize,
    /// Tensors whose values were re-quantised at load (not bit-exact with the file).
    pub requantized: Vec<String>,
}

/// Load options.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    /// Context window to allocate for (clamped to the model's trained context).
    pub max_ctx: usize,
    pub threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            max_ctx: 4096,
            threads: 1,
        }
    }
}

fn candle_dtype(t: GgmlType) -> GgmlDType {
    match t {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::F16 => GgmlDType::F16,
        GgmlType::Bf16 => GgmlDType::BF16,
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q8_1 => GgmlDType::Q8_1,
        GgmlType::Q2K => GgmlDType::Q2K,
        GgmlType::Q3K => GgmlDType::Q3K,
        GgmlType::Q4K => GgmlDType::Q4K,
        GgmlType::Q5K => GgmlDType::Q5K,
        GgmlType::Q6K => GgmlDType::Q6K,
        GgmlType::Q8K => GgmlDType::Q8K,
    }
}

struct Loader<'a> {
    g: &'a Gguf,
    file: File,
    opts: &'a LoadOptions,
    requantized: Vec<String>,
}

impl Loader<'_> {
    fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.g.tensor(name).ok_or_else(|| Error::Gguf {
            path: self.g.path.clone(),
            message: format!("tensor `{name}` is missing"),
        })
    }

    fn bad(&self, message: String) -> Error {
        Error::Gguf {
            path: self.g.path.clone(),
            message,
        }
    }

    fn raw(&self, t: &TensorInfo) -> Result<Vec<u8>> {
        if !supported(t.ty) {
            return Err(self.bad(format!(
                "tensor `{}` has type {} which spar cannot load yet (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)",
                t.name, t.ty
            )));
        }
        self.g.read_tensor(&self.file, t)
    }

    /// A 1-D f32 vector (norm weights, biases) of the expected length.
    fn vector(&self, name: &str, len: usize) -> Result<Tensor> {
        let t = self.info(name)?;
        if t.elems() != len as u64 {
            return Err(self.bad(format!(
                "tensor `{name}` has {} elements, expected {len}",
                t.elems()
            )));
        }
        let bytes = self.raw(t)?;
        let mut v = vec![0f32; len];
        convert::dequantize(t.ty, &bytes, &mut v);
        Ok(Tensor::from_vec(v, len, &self.opts.device)?)
    }

    fn optional_vector(&self, name: &str, len: usize) -> Result<Option<Tensor>> {
        if self.g.tensor(name).is_some() {
            self.vector(name, len).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A `rows × cols` matrix; `permute_heads` reorders rows of rotary projections from the
    /// interleaved to the half-split rope layout (`Some(head_dim)`).
    fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        permute_heads: Option<usize>,
    ) -> Result<Mat> {
        let t = self.info(name)?.clone();
        if t.dims.len() != 2 || t.dims[0] as usize != cols || t.dims[1] as usize != rows {
            return Err(self.bad(format!(
                "tensor `{name}` has shape {:?}, expected [{cols}, {rows}]",
                t.dims
            )));
        }
        let mut bytes = self.raw(&t)?;
        if let Some(hd) = permute_heads {
            bytes = permute_rope_rows(&bytes, rows, cols, t.ty, hd);
        }
        if self.opts.device.is_cpu() {
            let (rt, stats) = to_runtime(t.ty, &bytes, rows, cols);
            if !stats.exact {
                self.requantized.push(format!("{name} ({})", t.ty));
            }
            Ok(Mat::Cpu { rt, rows, cols })
        } else {
            let storage = QStorage::from_data(
                std::borrow::Cow::Owned(bytes),
                &self.opts.device,
                candle_dtype(t.ty),
            )?;
            let q = QTensor::new(storage, (rows, cols))?;
            Ok(Mat::Candle(QMatMul::from_arc(Arc::new(q))?))
        }
    }

    /// The token embedding: raw file bytes on the CPU (rows are dequantised on lookup), so it
    /// costs no more memory than in the file.
    fn embedding(&mut self, rows: usize, cols: usize) -> Result<Embedding> {
        let t = self.info("token_embd.weight")?.clone();
        if self.opts.device.is_cpu() {
            if t.dims.len() != 2 || t.dims[0] as usize != cols || t.dims[1] as usize != rows {
                return Err(self.bad(format!(
                    "token_embd.weight has shape {:?}, expected [{cols}, {rows}]",
                    t.dims
                )));
            }
            let bytes = self.raw(&t)?;
            let row_bytes = cols / t.ty.block_elems() * t.ty.block_bytes();
            Ok(Embedding::Raw {
                ty: t.ty,
                bytes,
                row_bytes,
                cols,
            })
        } else {
            match self.matrix("token_embd.weight", rows, cols, None)? {
                Mat::Candle(m) => Ok(Embedding::Candle(m)),
                Mat::Cpu { .. } => unreachable!("non-CPU devices load candle tensors"),
            }
        }
    }

    fn proj(
        &mut self,
        w: &str,
        b: Option<&str>,
        rows: usize,
        cols: usize,
        permute: Option<usize>,
    ) -> Result<PendingProj> {
        let bias = match b {
            Some(b) => {
                let v = self.optional_vector(b, rows)?;
                match (v, permute) {
                    (Some(v), Some(hd)) => Some(permute_bias(&v, hd)?),
                    (v, _) => v,
                }
            }
            None => None,
        };
        Ok(PendingProj {
            w: self.matrix(w, rows, cols, permute)?,
            bias,
        })
    }
}

/// Interleaved rope rotates pairs (2i, 2i+1); half-split rope rotates (i, i + d/2). Moving
/// row 2i to i and 2i+1 to d/2 + i inside each head makes one behave as the other, and since
/// q and k move together, attention scores are unchanged.
fn permute_rope_rows(
    bytes: &[u8],
    rows: usize,
    cols: usize,
    ty: GgmlType,
    head_dim: usize,
) -> Vec<u8> {
    let row_bytes = cols / ty.block_elems() * ty.block_bytes();
    let mut out = vec![0u8; bytes.len()];
    for r in 0..rows {
        let (head, i) = (r / head_dim, r % head_dim);
        let dst = head * head_dim
            + if i % 2 == 0 {
                i / 2
            } else {
                head_dim / 2 + i / 2
            };
        out[dst * row_bytes..(dst + 1) * row_bytes]
            .copy_from_slice(&bytes[r * row_bytes..(r + 1) * row_bytes]);
    }
    out
}

fn permute_bias(b: &Tensor, head_dim: usize) -> Result<Tensor> {
    let v = b.to_vec1::<f32>()?;
    let mut out = vec![0f32; v.len()];
    for (r, x) in v.iter().enumerate() {
        let (head, i) = (r / head_dim, r % head_dim);
        out[head * head_dim
            + if i % 2 == 0 {
                i / 2
            } else {
                head_dim / 2 + i / 2
            }] = *x;
    }
    Ok(Tensor::from_vec(out, v.len(), b.device())?)
}

/// A matrix as loaded, before it is packed (CPU) or wrapped (other devices).
enum Mat {
    Cpu {
        rt: Runtime,
        rows: usize,
        cols: usize,
    },
    Candle(QMatMul),
}

impl Mat {
    fn finish(self) -> Linear {
        match self {
            Mat::Cpu { rt, rows, cols } => Linear::Cpu(Arc::new(QWeight::new(rows, cols, rt))),
            Mat::Candle(m) => Linear::Candle(m),
        }
    }
}

struct PendingProj {
    w: Mat,
    bias: Option<Tensor>,
}

impl PendingProj {
    fn finish(self) -> Proj {
        Proj {
            w: self.w.finish(),
            bias: self.bias,
        }
    }
}

/// Fuses projections that read the same input (q|k|v, gate|up) into one matrix when they share
/// a CPU format: one pass over the activations instead of three.
fn fuse(parts: Vec<PendingProj>) -> Vec<Proj> {
    let rts: Option<Vec<(&Runtime, usize, usize)>> = parts
        .iter()
        .map(|p| match &p.w {
            Mat::Cpu { rt, rows, cols } => Some((rt, *rows, *cols)),
            Mat::Candle(_) => None,
        })
        .collect();
    let fused = rts.and_then(|v| {
        let cols = v[0].2;
        if v.iter().any(|x| x.2 != cols) {
            return None;
        }
        let rows: usize = v.iter().map(|x| x.1).sum();
        let rt = Runtime::concat(&v.iter().map(|x| x.0).collect::<Vec<_>>())?;
        Some((rt, rows, cols))
    });
    let Some((rt, rows, cols)) = fused else {
        return parts.into_iter().map(PendingProj::finish).collect();
    };
    let bias = if parts.iter().all(|p| p.bias.is_none()) {
        None
    } else {
        let bs: candle_core::Result<Vec<Tensor>> = parts
            .iter()
            .map(|p| match (&p.bias, &p.w) {
                (Some(b), _) => Ok(b.clone()),
                (None, Mat::Cpu { rows, .. }) => Tensor::zeros(*rows, DType::F32, &Device::Cpu),
                (None, Mat::Candle(_)) => unreachable!("fused parts are CPU matrices"),
            })
            .collect();
        match bs.and_then(|b| Tensor::cat(&b, 0)) {
            Ok(b) => Some(b),
            Err(_) => return parts.into_iter().map(PendingProj::finish).collect(),
        }
    };
    vec![Proj {
        w: Mat::Cpu { rt, rows, cols }.finish(),
        bias,
    }]
}

/// The token embedding.
#[derive(Debug)]
enum Embedding {
    /// File bytes; a row is dequantised on lookup.
    Raw {
        ty: GgmlType,
        bytes: Vec<u8>,
        row_bytes: usize,
        cols: usize,
    },
    /// Shared with a tied output matrix.
    Tied(Arc<QWeight>),
    Candle(QMatMul),
}

impl Embedding {
    fn size_in_bytes(&self) -> usize {
        match self {
            Embedding::Raw { bytes, .. } => bytes.len(),
            Embedding::Tied(_) => 0,
            Embedding::Candle(QMatMul::QTensor(q)) => q.storage_size_in_bytes(),
            Embedding::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => {
                t.elem_count() * t.dtype().size_in_bytes()
            }
        }
    }

    fn rows(&self) -> usize {
        match self {
            Embedding::Raw {
                bytes, row_bytes, ..
            } => bytes.len() / row_bytes.max(&1),
            Embedding::Tied(w) => w.rows,
            Embedding::Candle(_) => usize::MAX,
        }
    }
}

impl Model {
    /// Loads the weights of an opened GGUF file.
    pub fn load(g: &Gguf, opts: &LoadOptions) -> Result<Self> {
        let config = Config::from_gguf(g)?;
        let file = File::open(&g.path).map_err(|e| Error::io(&g.path, e))?;
        let mut l = Loader {
            g,
            file,
            opts,
            requantized: Vec::new(),
        };
        let c = &config;
        let (e, hd) = (c.n_embd, c.head_dim);
        let (q_rows, kv_rows) = (c.n_head * hd, c.n_head_kv * hd);
        // llama GGUFs store q/k for interleaved rope; permute them to the half-split layout.
        let permute = (c.arch == Arch::Llama).then_some(hd);
        let embed_info = l.info("token_embd.weight")?.clone();
        if embed_info.dims.len() != 2 || embed_info.dims[0] as usize != e {
            return Err(l.bad(format!(
                "token_embd.weight has shape {:?}, expected [{e}, vocab]",
                embed_info.dims
            )));
        }
        let vocab = embed_info.dims[1] as usize;
        // A model without `output.weight` ties its output to the embedding: one copy serves both.
        let (embed, output) = if g.tensor("output.weight").is_some() {
            (
                l.embedding(vocab, e)?,
                l.matrix("output.weight", vocab, e, None)?.finish(),
            )
        } else {
            match l.matrix("token_embd.weight", vocab, e, None)?.finish() {
                Linear::Cpu(w) => (Embedding::Tied(w.clone()), Linear::Cpu(w)),
                Linear::Candle(m) => (Embedding::Candle(m.clone()), Linear::Candle(m)),
            }
        };
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let p = |s: &str| format!("blk.{i}.{s}");
            let qkv = if c.arch == Arch::Phi3 {
                vec![
                    l.proj(
                        &p("attn_qkv.weight"),
                        Some(&p("attn_qkv.bias")),
                        q_rows + 2 * kv_rows,
                        e,
                        None,
                    )?
                    .finish(),
                ]
            } else {
                let q = l.proj(
                    &p("attn_q.weight"),
                    Some(&p("attn_q.bias")),
                    q_rows,
                    e,
                    permute,
                )?;
                let k = l.proj(
                    &p("attn_k.weight"),
                    Some(&p("attn_k.bias")),
                    kv_rows,
                    e,
                    permute,
                )?;
                let v = l.proj(
                    &p("attn_v.weight"),
                    Some(&p("attn_v.bias")),
                    kv_rows,
                    e,
                    None,
                )?;
                fuse(vec![q, k, v])
            };
            let gate_up = if c.arch == Arch::Phi3 {
                vec![
                    l.proj(&p("ffn_up.weight"), None, 2 * c.n_ff, e, None)?
                        .finish(),
                ]
            } else {
                let gate = l.proj(&p("ffn_gate.weight"), None, c.n_ff, e, None)?;
                let up = l.proj(&p("ffn_up.weight"), None, c.n_ff, e, None)?;
                fuse(vec![gate, up])
            };
            layers.push(Layer {
                attn_norm: l.vector(&p("attn_norm.weight"), e)?,
                qkv,
                q_norm: l.optional_vector(&p("attn_q_norm.weight"), hd)?,
                k_norm: l.optional_vector(&p("attn_k_norm.weight"), hd)?,
                wo: l
                    .proj(
                        &p("attn_output.weight"),
                        Some(&p("attn_output.bias")),
                        e,
                        q_rows,
                        None,
                    )?
                    .finish(),
                ffn_norm: l.vector(&p("ffn_norm.weight"), e)?,
                gate_up,
                down: l
                    .proj(&p("ffn_down.weight"), None, e, c.n_ff, None)?
                    .finish(),
            });
        }
        let norm = l.vector("output_norm.weight", e)?;
        let max_ctx = opts.max_ctx.clamp(16, c.train_ctx.max(16));
        let (cos, sin) = rope_tables(c.rope_theta, hd, max_ctx, &opts.device)?;
        let mut weight_bytes = embed.size_in_bytes() + output.size_in_bytes();
        for layer in &layers {
            for p in layer
                .qkv
                .iter()
                .chain(&layer.gate_up)
                .chain([&layer.wo, &layer.down])
            {
                weight_bytes += p.w.size_in_bytes();
            }
        }
        let requantized = l.requantized;
        Ok(Self {
            config: Config { vocab, ..config },
            device: opts.device.clone(),
            embed,
            layers,
            norm,
            output,
            cos,
            sin,
            max_ctx,
            threads: opts.threads.max(1),
            weight_bytes,
            requantized,
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Bytes held by matrix weights.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    fn embed_tokens(&self, tokens: &[u32]) -> Result<Tensor> {
        let e = self.config.n_embd;
        if let Some(t) = tokens.iter().find(|t| **t as usize >= self.embed.rows()) {
            return Err(Error::Generation(format!(
                "token id {t} is outside the vocabulary ({})",
                self.embed.rows()
            )));
        }
        match &self.embed {
            Embedding::Raw {
                ty,
                bytes,
                row_bytes,
                cols,
            } => {
                let mut out = vec![0f32; tokens.len() * e];
                for (t, row) in tokens.iter().zip(out.chunks_exact_mut(e)) {
                    let start = *t as usize * row_bytes;
                    convert::dequantize(*ty, &bytes[start..start + row_bytes], &mut row[..*cols]);
                }
                Ok(Tensor::from_vec(out, (tokens.len(), e), &self.device)?)
            }
            Embedding::Tied(w) => {
                let mut out = vec![0f32; tokens.len() * e];
                for (t, row) in tokens.iter().zip(out.chunks_exact_mut(e)) {
                    w.row_into(*t as usize, row);
                }
                Ok(Tensor::from_vec(out, (tokens.len(), e), &self.device)?)
            }
            Embedding::Candle(m) => {
                let ids = Tensor::new(tokens, &self.device)?;
                Ok(m.embedding(&ids)?.to_dtype(DType::F32)?)
            }
        }
    }

    /// Runs `tokens` at positions `cache.len()..`, appending to the cache.
    pub fn forward(&self, tokens: &[u32], cache: &mut Cache, logits: Logits) -> Result<Tensor> {
        let l = tokens.len();
        if l == 0 {
            return Err(Error::Generation("forward with no tokens".into()));
        }
        let pos = cache.len;
        if pos + l > self.max_ctx {
            return Err(Error::ContextFull {
                needed: pos + l,
                max: self.max_ctx,
            });
        }
        self.reserve(cache, pos + l)?;
        let c = &self.config;
        let (h, hkv, hd) = (c.n_head, c.n_head_kv, c.head_dim);
        let group = h / hkv;
        let mut x = self.embed_tokens(tokens)?;
        let cos = self.cos.narrow(0, pos, l)?;
        let sin = self.sin.narrow(0, pos, l)?;
        let mask = if l > 1 {
            Some(causal_mask(l, pos, group, &self.device)?)
        } else {
            None
        };
        let scale = 1.0 / (hd as f64).sqrt();
        for (layer, lc) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let residual = x.clone();
            let xn = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let (q, k, v) = match layer.qkv.as_slice() {
                [fused] => {
                    let y = fused.forward(&xn, self.threads)?;
                    (
                        y.narrow(1, 0, h * hd)?,
                        y.narrow(1, h * hd, hkv * hd)?,
                        y.narrow(1, (h + hkv) * hd, hkv * hd)?,
                    )
                }
                [q, k, v] => (
                    q.forward(&xn, self.threads)?,
                    k.forward(&xn, self.threads)?,
                    v.forward(&xn, self.threads)?,
                ),
                _ => unreachable!("qkv is fused or three projections"),
            };
            let mut q = q.reshape((1, l, h, hd))?;
            let mut k = k.reshape((1, l, hkv, hd))?;
            if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
                q = candle_nn::ops::rms_norm(&q.contiguous()?, qn, c.rms_eps)?;
                k = candle_nn::ops::rms_norm(&k.contiguous()?, kn, c.rms_eps)?;
            }
            let q = candle_nn::rotary_emb::rope_thd(&q.contiguous()?, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_thd(&k.contiguous()?, &cos, &sin)?;
            // (1, l, heads, hd) → (heads, l, hd)
            let q = q.squeeze(0)?.transpose(0, 1)?.contiguous()?;
            let k = k.squeeze(0)?.transpose(0, 1)?.contiguous()?;
            let v = v.reshape((l, hkv, hd))?.transpose(0, 1)?.contiguous()?;
            lc.k.slice_set(&k, 1, pos)?;
            lc.v.slice_set(&v, 1, pos)?;
            let t = pos + l;
            let keys = lc.k.narrow(1, 0, t)?;
            let values = lc.v.narrow(1, 0, t)?;
            // Grouped heads share one KV head: (hkv, group·l, hd) against (hkv, t, hd).
            let qg = q.reshape((hkv, group * l, hd))?;
            let mut att = (qg.matmul(&keys.t()?)? * scale)?;
            if let Some(m) = &mask {
                att = att.broadcast_add(m)?;
            }
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&values.contiguous()?)?; // (hkv, group·l, hd)
            let y = y
                .reshape((h, l, hd))?
                .transpose(0, 1)?
                .reshape((l, h * hd))?;
            let y = layer.wo.forward(&y, self.threads)?;
            x = (y + residual)?;
            let residual = x.clone();
            let xn = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let (gate, up) = match layer.gate_up.as_slice() {
                [fused] => {
                    let y = fused.forward(&xn, self.threads)?;
                    (y.narrow(1, 0, c.n_ff)?, y.narrow(1, c.n_ff, c.n_ff)?)
                }
                [g, u] => (g.forward(&xn, self.threads)?, u.forward(&xn, self.threads)?),
                _ => unreachable!("gate/up is fused or two projections"),
            };
            let act = (candle_nn::ops::silu(&gate.contiguous()?)? * up)?;
            let y = layer.down.forward(&act, self.threads)?;
            x = (y + residual)?;
        }
        cache.len = pos + l;
        let x = match logits {
            Logits::Last => x.narrow(0, l - 1, 1)?,
            Logits::All => x,
        };
        let x = candle_nn::ops::rms_norm(&x, &self.norm, c.rms_eps)?;
        let out = self.output.forward(&x, self.threads)?;
        Ok(match logits {
            Logits::Last => out.squeeze(0)?,
            Logits::All => out,
        })
    }

    /// A fresh, empty cache for this model.
    pub fn new_cache(&self) -> Cache {
        Cache::default()
    }

    /// Grows the cache so that it holds at least `needed` positions (in steps of 256).
    fn reserve(&self, cache: &mut Cache, needed: usize) -> Result<()> {
        if cache.capacity >= needed && cache.layers.len() == self.layers.len() {
            return Ok(());
        }
        let c = &self.config;
        let cap = needed
            .next_multiple_of(256)
            .max(cache.capacity * 2)
            .min(self.max_ctx.next_multiple_of(256));
        let mut layers = Vec::with_capacity(self.layers.len());
        for i in 0..self.layers.len() {
            let k = Tensor::zeros((c.n_head_kv, cap, c.head_dim), DType::F32, &self.device)?;
            let v = Tensor::zeros((c.n_head_kv, cap, c.head_dim), DType::F32, &self.device)?;
            if let Some(old) = cache.layers.get(i).filter(|_| cache.len > 0) {
                k.slice_set(&old.k.narrow(1, 0, cache.len)?.contiguous()?, 1, 0)?;
                v.slice_set(&old.v.narrow(1, 0, cache.len)?.contiguous()?, 1, 0)?;
            }
            layers.push(LayerCache { k, v });
        }
        cache.layers = layers;
        cache.capacity = cap;
        Ok(())
    }
}

fn rope_tables(
    theta: f32,
    head_dim: usize,
    ctx: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / theta.powf(2.0 * i as f32 / head_dim as f32))
        .collect();
    let mut cos = Vec::with_capacity(ctx * half);
    let mut sin = Vec::with_capacity(ctx * half);
    for p in 0..ctx {
        for f in &inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok((
        Tensor::from_vec(cos, (ctx, half), device)?,
        Tensor::from_vec(sin, (ctx, half), device)?,
    ))
}

/// `(group·l, pos + l)` additive mask: query row `g·l + i` (position `pos + i`) sees keys
/// `0..=pos + i`.
fn causal_mask(l: usize, pos: usize, group: usize, device: &Device) -> Result<Tensor> {
    let t = pos + l;
    let mut m = vec![0f32; group * l * t];
    for g in 0..group {
        for i in 0..l {
            let row = &mut m[(g * l + i) * t..(g * l + i + 1) * t];
            for v in row.iter_mut().skip(pos + i + 1) {
                *v = f32::NEG_INFINITY;
            }
        }
    }
    Ok(Tensor::from_vec(m, (group * l, t), device)?)
}

/// Log-softmax of a logits vector.
pub fn log_softmax(logits: &Tensor) -> Result<Vec<f32>> {
    Ok(candle_nn::ops::log_softmax(&logits.to_dtype(DType::F32)?, D::Minus1)?.to_vec1::<f32>()?)
}
