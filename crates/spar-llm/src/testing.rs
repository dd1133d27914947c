//! Tiny random-weight GGUF models for hermetic tests: every supported architecture, a real
//! byte-level BPE vocabulary, weights in several quantised types. Generated text is gibberish
//! but deterministic, which is what tests of loading, caching and streaming need.

use half::f16;

use crate::gguf::write::{TensorData, to_bytes};
use crate::gguf::{GgmlType, Value};
use crate::model::Arch;

/// Shape of a tiny model.
#[derive(Debug, Clone, Copy)]
pub struct TinySpec {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ff: usize,
    pub ctx: usize,
    pub seed: u64,
}

impl TinySpec {
    pub fn new(arch: Arch) -> Self {
        Self {
            arch,
            n_layer: 2,
            n_embd: 64,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 128,
            ctx: 512,
            seed: 7,
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| f16::from_f32(*x).to_le_bytes())
        .collect()
}

/// GGML `Q8_0` quantisation.
pub fn quantize_q8_0(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() / 32 * 34);
    for c in v.chunks_exact(32) {
        let amax = c.iter().fold(0f32, |m, x| m.max(x.abs()));
        let d = amax / 127.0;
        out.extend(f16::from_f32(d).to_le_bytes());
        for x in c {
            let q = if d > 0.0 { (x / d).round() as i8 } else { 0 };
            out.push(q as u8);
        }
    }
    out
}

/// GGML `Q4_0` quantisation.
pub fn quantize_q4_0(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() / 32 * 18);
    for c in v.chunks_exact(32) {
        let max = c
            .iter()
            .fold(0f32, |m, x| if x.abs() > m.abs() { *x } else { m });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_le_bytes());
        for j in 0..16 {
            let q0 = ((c[j] * id + 8.5) as i32).clamp(0, 15) as u8;
            let q1 = ((c[j + 16] * id + 8.5) as i32).clamp(0, 15) as u8;
            out.push(q0 | (q1 << 4));
        }
    }
    out
}

/// The toy vocabulary: 256 byte tokens, merges for common English fragments, chat tokens.
pub fn toy_vocab() -> (Vec<String>, Vec<i32>, Vec<String>) {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable =
            (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap()
        } else {
            n += 1;
            char::from_u32(255 + n).unwrap()
        };
    }
    let mut tokens: Vec<String> = table.iter().map(|c| c.to_string()).collect();
    let mut types = vec![1; 256];
    let merge_list = [
        "Ġ t", "h e", "Ġt he", "i n", "e r", "Ġ a", "o n", "r e", "Ġ s", "e d", "Ġ w", "a t",
        "o r", "e n", "Ġ c", "Ġ i", "i s", "Ġ Y", "Ġ N", "Ġ o", "Ġc a", "Ġca c", "h e", "Ġcac he",
        "Ġ r", "Ġr e", "Ġre t", "r y", "Ġret ry",
    ];
    let mut merges = Vec::new();
    for m in merge_list {
        let merged = m.replace(' ', "");
        if tokens.contains(&merged) {
            continue;
        }
        tokens.push(merged);
        types.push(1);
        merges.push(m.to_string());
    }
    for s in ["Ġes", "Ġo"] {
        if !tokens.iter().any(|t| t == s) {
            tokens.push(s.to_string());
            types.push(1);
        }
    }
    for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
        tokens.push(s.to_string());
        types.push(3);
    }
    (tokens, types, merges)
}

/// Serialises a tiny model of `spec` as GGUF bytes.
pub fn tiny_model(spec: &TinySpec) -> Vec<u8> {
    let (tokens, types, merges) = toy_vocab();
    let vocab = tokens.len();
    let eos = (vocab - 1) as u32; // <|im_end|>
    let a = spec.arch.id();
    let hd = spec.n_embd / spec.n_head;
    let mut meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(a.into())),
        ("general.name".into(), Value::String(format!("tiny-{a}"))),
        (format!("{a}.block_count"), Value::U32(spec.n_layer as u32)),
        (format!("{a}.context_length"), Value::U32(spec.ctx as u32)),
        (
            format!("{a}.embedding_length"),
            Value::U32(spec.n_embd as u32),
        ),
        (
            format!("{a}.feed_forward_length"),
            Value::U32(spec.n_ff as u32),
        ),
        (
            format!("{a}.attention.head_count"),
            Value::U32(spec.n_head as u32),
        ),
        (
            format!("{a}.attention.head_count_kv"),
            Value::U32(spec.n_head_kv as u32),
        ),
        (
            format!("{a}.attention.layer_norm_rms_epsilon"),
            Value::F32(1e-5),
        ),
        (format!("{a}.rope.freq_base"), Value::F32(10000.0)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        (
            "tokenizer.ggml.pre".into(),
            Value::String(
                if spec.arch == Arch::Llama {
                    "smollm"
                } else {
                    "qwen2"
                }
                .into(),
            ),
        ),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(types.iter().map(|t| Value::I32(*t)).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            Value::Array(merges.iter().map(|t| Value::String(t.clone())).collect()),
        ),
        (
            "tokenizer.ggml.bos_token_id".into(),
            Value::U32((vocab - 3) as u32),
        ),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(eos)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
    ];
    if spec.arch == Arch::Qwen3 {
        meta.push((format!("{a}.attention.key_length"), Value::U32(hd as u32)));
    }
    let mut rng = Rng(spec.seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let mut tensors = Vec::new();
    let e = spec.n_embd;
    let q_rows = spec.n_head * hd;
    let kv_rows = spec.n_head_kv * hd;
    fn mat(
        tensors: &mut Vec<TensorData>,
        name: String,
        rows: usize,
        cols: usize,
        ty: GgmlType,
        rng: &mut Rng,
    ) {
        let v = rng.vec(rows * cols, 0.5 / (cols as f32).sqrt() * 3.0);
        let bytes = match ty {
            GgmlType::Q8_0 => quantize_q8_0(&v),
            GgmlType::Q4_0 => quantize_q4_0(&v),
            GgmlType::F16 => f16_bytes(&v),
            _ => f32_bytes(&v),
        };
        tensors.push(TensorData {
            name,
            dims: vec![cols as u64, rows as u64],
            ty,
            bytes,
        });
    }
    mat(
        &mut tensors,
        "token_embd.weight".into(),
        vocab.next_multiple_of(32),
        e,
        GgmlType::Q8_0,
        &mut rng,
    );
    for i in 0..spec.n_layer {
        let p = |s: &str| format!("blk.{i}.{s}");
        if spec.arch == Arch::Phi3 {
            mat(
                &mut tensors,
                p("attn_qkv.weight"),
                q_rows + 2 * kv_rows,
                e,
                GgmlType::Q8_0,
                &mut rng,
            );
            mat(
                &mut tensors,
                p("ffn_up.weight"),
                2 * spec.n_ff,
                e,
                GgmlType::Q4_0,
                &mut rng,
            );
        } else {
            mat(
                &mut tensors,
                p("attn_q.weight"),
                q_rows,
                e,
                GgmlType::Q8_0,
                &mut rng,
            );
            mat(
                &mut tensors,
                p("attn_k.weight"),
                kv_rows,
                e,
                GgmlType::Q8_0,
                &mut rng,
            );
            mat(
                &mut tensors,
                p("attn_v.weight"),
                kv_rows,
                e,
                if i == 0 {
                    GgmlType::F16
                } else {
                    GgmlType::Q8_0
                },
                &mut rng,
            );
            mat(
                &mut tensors,
                p("ffn_gate.weight"),
                spec.n_ff,
                e,
                GgmlType::Q4_0,
                &mut rng,
            );
            mat(
                &mut tensors,
                p("ffn_up.weight"),
                spec.n_ff,
                e,
                GgmlType::Q4_0,
                &mut rng,
            );
        }
        mat(
            &mut tensors,
            p("attn_output.weight"),
            e,
            q_rows,
            GgmlType::Q8_0,
            &mut rng,
        );
        mat(
            &mut tensors,
            p("ffn_down.weight"),
            e,
            spec.n_ff,
            GgmlType::Q4_0,
            &mut rng,
        );
        let norm = |name: String, n: usize, rng: &mut Rng| TensorData {
            name,
            dims: vec![n as u64],
            ty: GgmlType::F32,
            bytes: f32_bytes(&(0..n).map(|_| 1.0 + rng.next() * 0.1).collect::<Vec<_>>()),
        };
        tensors.push(norm(p("attn_norm.weight"), e, &mut rng));
        tensors.push(norm(p("ffn_norm.weight"), e, &mut rng));
        if spec.arch == Arch::Qwen2 {
            for (n, rows) in [
                ("attn_q.bias", q_rows),
                ("attn_k.bias", kv_rows),
                ("attn_v.bias", kv_rows),
            ] {
                tensors.push(TensorData {
                    name: p(n),
                    dims: vec![rows as u64],
                    ty: GgmlType::F32,
                    bytes: f32_bytes(&rng.vec(rows, 0.1)),
                });
            }
        }
        if spec.arch == Arch::Qwen3 {
            tensors.push(norm(p("attn_q_norm.weight"), hd, &mut rng));
            tensors.push(norm(p("attn_k_norm.weight"), hd, &mut rng));
        }
    }
    tensors.push(TensorData {
        name: "output_norm.weight".into(),
        dims: vec![e as u64],
        ty: GgmlType::F32,
        bytes: f32_bytes(&vec![1.0; e]),
    });
    if spec.arch != Arch::Llama {
        // llama ties the output to the embedding; the others get their own head.
        mat(
            &mut tensors,
            "output.weight".into(),
            vocab.next_multiple_of(32),
            e,
            GgmlType::Q8_0,
            &mut rng,
        );
    }
    to_bytes(&meta, &tensors)
}

/// Writes a tiny model of `arch` to `dir/tiny-<arch>.gguf` and returns its path.
pub fn write_tiny_model(dir: &std::path::Path, arch: Arch) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(format!("tiny-{}.gguf", arch.id()));
    std::fs::write(&path, tiny_model(&TinySpec::new(arch)))?;
    Ok(path)
}
