//! Tokenizers: byte-level BPE built from GGUF metadata (no tokenizer.json needed), with the
//! pre-tokenizer chosen by `tokenizer.ggml.pre` exactly as llama.cpp does, special tokens
//! registered, and bos/eos from metadata. A `tokenizer.json` beside the model is used instead
//! when present.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use fancy_regex::Regex;

use crate::gguf::{Gguf, Value};
use crate::{Error, Result};

/// GGUF token types.
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
    pub const BYTE: i32 = 6;
}

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regex cascade for a `tokenizer.ggml.pre` value. Each regex splits every piece the
/// previous one produced; text between matches stays a piece of its own.
fn pre_regexes(pre: &str) -> Option<Vec<&'static str>> {
    Some(match pre {
        "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" => vec![GPT2],
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            vec![r"\p{N}", GPT2]
        }
        "llama3" | "llama-bpe" | "llama-v3" | "falcon3" | "pixtral" | "dbrx" | "smaug-bpe" => {
            vec![LLAMA3]
        }
        "qwen2" | "stablelm2" | "hunyuan" | "deepseek-r1-qwen" | "qwen35" => vec![QWEN2],
        _ => return None,
    })
}

/// GPT-2's reversible map from bytes to printable characters.
fn byte_encoder() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable =
            (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap_or('?')
        } else {
            n += 1;
            char::from_u32(255 + n).unwrap_or('?')
        };
    }
    table
}

/// A byte-level BPE tokenizer.
pub struct Bpe {
    tokens: Vec<String>,
    types: Vec<i32>,
    ids: HashMap<String, u32>,
    /// (left, right) → (rank, merged)
    merges: HashMap<(u32, u32), (u32, u32)>,
    regexes: Vec<Regex>,
    /// Control and user-defined tokens, longest first.
    specials: Vec<(String, u32, i32)>,
    encoder: [char; 256],
    decoder: HashMap<char, u8>,
    ignore_merges: bool,
    cache: Mutex<HashMap<String, Vec<u32>>>,
}

/// A loaded tokenizer with the model's special ids.
pub struct Tokenizer {
    inner: Inner,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    /// End-of-turn tokens (e.g. `<|im_end|>`, `<|eot_id|>`); generation stops on these and eos.
    pub eot: Vec<u32>,
    pub add_bos: bool,
    /// `tokenizer.ggml.pre`, or "tokenizer.json".
    pub kind: String,
}

enum Inner {
    Bpe(Box<Bpe>),
    Hf(Box<tokenizers::Tokenizer>),
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind)
            .field("vocab", &self.vocab_size())
            .finish()
    }
}

fn strings(g: &Gguf, key: &str) -> Result<Vec<String>> {
    let arr = g
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| g.missing(key, "an array of strings"))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| g.missing(key, "an array of strings"))
        })
        .collect()
}

impl Tokenizer {
    /// The tokenizer for a model: `tokenizer.json` beside the file if present, else GGUF metadata.
    pub fn for_model(g: &Gguf) -> Result<Self> {
        let beside = g.path.with_file_name("tokenizer.json");
        let mut t = Self::from_gguf(g)?;
        if beside.is_file() {
            let hf = tokenizers::Tokenizer::from_file(&beside)
                .map_err(|e| Error::Tokenizer(format!("{}: {e}", beside.display())))?;
            t.inner = Inner::Hf(Box::new(hf));
            t.kind = "tokenizer.json".into();
        }
        Ok(t)
    }

    /// Builds a BPE tokenizer from GGUF metadata alone.
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let model = g
            .get("tokenizer.ggml.model")
            .and_then(Value::as_str)
            .unwrap_or("");
        if model != "gpt2" {
            return Err(Error::Tokenizer(format!(
                "{}: tokenizer model `{model}` is not supported (only byte-level BPE, `gpt2`)",
                g.path.display()
            )));
        }
        let pre = g
            .get("tokenizer.ggml.pre")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let tokens = strings(g, "tokenizer.ggml.tokens")?;
        let merges = strings(g, "tokenizer.ggml.merges")?;
        let types: Vec<i32> = match g.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
            Some(a) => a.iter().map(|v| v.as_i64().unwrap_or(1) as i32).collect(),
            None => vec![token_type::NORMAL; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(Error::Tokenizer(format!(
                "{}: {} token types for {} tokens",
                g.path.display(),
                types.len(),
                tokens.len()
            )));
        }
        let n_tokens = tokens.len();
        let id = |key: &str| {
            g.get(key)
                .and_then(Value::as_u64)
                .map(|v| v as u32)
                .filter(|v| (*v as usize) < n_tokens)
        };
        let bpe = Bpe::new(tokens, types, &merges, &pre)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", g.path.display())))?;
        let bos = id("tokenizer.ggml.bos_token_id");
        let eos = id("tokenizer.ggml.eos_token_id");
        let mut eot: Vec<u32> = [
            "<|im_end|>",
            "<|eot_id|>",
            "<|end|>",
            "<|endoftext|>",
            "<end_of_turn>",
        ]
        .iter()
        .filter_map(|s| bpe.ids.get(*s).copied())
        .collect();
        if let Some(e) = id("tokenizer.ggml.eot_token_id") {
            eot.push(e);
        }
        eot.extend(eos);
        eot.sort_unstable();
        eot.dedup();
        let add_bos = g
            .get("tokenizer.ggml.add_bos_token")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            inner: Inner::Bpe(Box::new(bpe)),
            bos,
            eos,
            eot,
            add_bos,
            kind: pre,
        })
    }

    pub fn vocab_size(&self) -> usize {
        match &self.inner {
            Inner::Bpe(b) => b.tokens.len(),
            Inner::Hf(t) => t.get_vocab_size(true),
        }
    }

    /// Token ids for `text`. With `special`, control tokens written as text (`<|im_start|>`)
    /// become their ids; without, they are ordinary text — use that for untrusted input.
    pub fn encode(&self, text: &str, special: bool) -> Result<Vec<u32>> {
        match &self.inner {
            Inner::Bpe(b) => Ok(b.encode(text, special)),
            Inner::Hf(t) => {
                if special {
                    t.encode(text, false)
                        .map(|e| e.get_ids().to_vec())
                        .map_err(|e| Error::Tokenizer(e.to_string()))
                } else {
                    // tokenizers always matches added tokens; break them up so they stay text.
                    let mut safe = String::with_capacity(text.len());
                    let mut rest = text;
                    while let Some(i) = rest.find("<|") {
                        safe.push_str(&rest[..i]);
                        safe.push_str("<\u{200b}|");
                        rest = &rest[i + 2..];
                    }
                    safe.push_str(rest);
                    t.encode(safe, false)
                        .map(|e| e.get_ids().to_vec())
                        .map_err(|e| Error::Tokenizer(e.to_string()))
                }
            }
        }
    }

    /// The bytes a token stands for (control tokens: their text when `special`, else nothing).
    pub fn token_bytes(&self, id: u32, special: bool) -> Vec<u8> {
        match &self.inner {
            Inner::Bpe(b) => b.token_bytes(id, special),
            Inner::Hf(t) => t
                .decode(&[id], !special)
                .map(String::into_bytes)
                .unwrap_or_default(),
        }
    }

    /// Decodes ids to text (invalid UTF-8 replaced), skipping control tokens unless `special`.
    pub fn decode(&self, ids: &[u32], special: bool) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|i| self.token_bytes(*i, special))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The id of a token written exactly as `text`, if the vocabulary has one.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        match &self.inner {
            Inner::Bpe(b) => b.ids.get(text).copied(),
            Inner::Hf(t) => t.token_to_id(text),
        }
    }

    /// Whether a token is a control token (never shown to the user).
    pub fn is_control(&self, id: u32) -> bool {
        match &self.inner {
            Inner::Bpe(b) => b
                .types
                .get(id as usize)
                .is_some_and(|t| *t == token_type::CONTROL),
            Inner::Hf(t) => t
                .get_added_vocabulary()
                .is_special_token(&t.id_to_token(id).unwrap_or_default()),
        }
    }

    pub fn token_text(&self, id: u32) -> Option<String> {
        match &self.inner {
            Inner::Bpe(b) => b.tokens.get(id as usize).cloned(),
            Inner::Hf(t) => t.id_to_token(id),
        }
    }

    /// Loads a standalone `tokenizer.json` (e.g. for embedding models).
    pub fn from_json(path: &Path) -> Result<tokenizers::Tokenizer> {
        tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
    }
}

impl Bpe {
    /// Builds the tokenizer; `merges` are "left right" strings in rank order.
    pub fn new(
        tokens: Vec<String>,
        types: Vec<i32>,
        merges: &[String],
        pre: &str,
    ) -> std::result::Result<Self, String> {
        let regexes = pre_regexes(pre)
            .ok_or_else(|| format!("pre-tokenizer `{pre}` is not supported"))?
            .into_iter()
            .map(|r| Regex::new(r).map_err(|e| e.to_string()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let ids: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let Some((a, b)) = m.split_once(' ') else {
                continue;
            };
            let (Some(&ia), Some(&ib)) = (ids.get(a), ids.get(b)) else {
                continue;
            };
            let Some(&im) = ids.get(&format!("{a}{b}")) else {
                continue;
            };
            merge_map.entry((ia, ib)).or_insert((rank as u32, im));
        }
        let mut specials: Vec<(String, u32, i32)> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (t, ty))| {
                (**ty == token_type::CONTROL || **ty == token_type::USER_DEFINED) && !t.is_empty()
            })
            .map(|(i, (t, ty))| (t.clone(), i as u32, *ty))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let encoder = byte_encoder();
        let decoder = encoder
            .iter()
            .enumerate()
            .map(|(b, c)| (*c, b as u8))
            .collect();
        Ok(Self {
            tokens,
            types,
            ids,
            merges: merge_map,
            regexes,
            specials,
            encoder,
            decoder,
            ignore_merges: matches!(pre, "llama3" | "llama-bpe" | "llama-v3"),
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn encode(&self, text: &str, special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        for (piece, id) in self.partition(text, special) {
            match id {
                Some(id) => out.push(id),
                None => {
                    for word in self.pre_split(piece) {
                        self.encode_word(word, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Splits text around special tokens. User-defined tokens always match; control tokens
    /// only when `special`.
    fn partition<'t>(&self, text: &'t str, special: bool) -> Vec<(&'t str, Option<u32>)> {
        let mut hits: Vec<(usize, usize, u32)> = Vec::new();
        for (s, id, ty) in &self.specials {
            if !special && *ty == token_type::CONTROL {
                continue;
            }
            let mut from = 0;
            while let Some(i) = text[from..].find(s.as_str()) {
                hits.push((from + i, s.len(), *id));
                from += i + s.len();
            }
        }
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = Vec::new();
        let mut pos = 0;
        for (start, len, id) in hits {
            if start < pos {
                continue;
            }
            if start > pos {
                out.push((&text[pos..start], None));
            }
            out.push((&text[start..start + len], Some(id)));
            pos = start + len;
        }
        if pos < text.len() {
            out.push((&text[pos..], None));
        }
        out
    }

    /// Applies the regex cascade.
    fn pre_split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut pieces = vec![text];
        for re in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for p in pieces {
                let mut last = 0;
                let mut at = 0;
                while at < p.len() {
                    let Ok(Some(m)) = re.find_from_pos(p, at) else {
                        break;
                    };
                    if m.start() > last {
                        next.push(&p[last..m.start()]);
                    }
                    if m.end() > m.start() {
                        next.push(m.as_str());
                        last = m.end();
                        at = m.end();
                    } else {
                        // An empty match: step one character forward.
                        at = m.end() + p[m.end()..].chars().next().map_or(1, char::len_utf8);
                    }
                }
                if last < p.len() {
                    next.push(&p[last..]);
                }
            }
            pieces = next;
        }
        pieces
    }

    fn encode_word(&self, word: &str, out: &mut Vec<u32>) {
        let mapped: String = word.bytes().map(|b| self.encoder[b as usize]).collect();
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&mapped).cloned()) {
            out.extend(hit);
            return;
        }
        let ids = self.bpe(&mapped);
        if let Ok(mut c) = self.cache.lock() {
            if c.len() > 50_000 {
                c.clear();
            }
            if mapped.len() < 256 {
                c.insert(mapped, ids.clone());
            }
        }
        out.extend(ids);
    }

    /// Merges by rank with a heap over a linked list: O(n log n) even for a 100k-character word.
    fn bpe(&self, mapped: &str) -> Vec<u32> {
        if self.ignore_merges
            && let Some(&id) = self.ids.get(mapped)
        {
            return vec![id];
        }
        let mut sym: Vec<u32> = Vec::with_capacity(mapped.len());
        for c in mapped.chars() {
            let mut buf = [0u8; 4];
            match self.ids.get(c.encode_utf8(&mut buf) as &str) {
                Some(&id) => sym.push(id),
                None => {
                    // Every byte character is in a byte-level vocabulary; if one is missing,
                    // fall back to the unknown token or skip.
                    if let Some(unk) = self.types.iter().position(|t| *t == token_type::UNKNOWN) {
                        sym.push(unk as u32);
                    }
                }
            }
        }
        let n = sym.len();
        if n < 2 {
            return sym;
        }
        let mut prev: Vec<isize> = (0..n as isize).map(|i| i - 1).collect();
        let mut next: Vec<usize> = (1..=n).collect();
        let mut alive = vec![true; n];
        let mut heap: BinaryHeap<Reverse<(u32, usize, u32, u32)>> = BinaryHeap::new();
        let push = |heap: &mut BinaryHeap<_>, i: usize, a: u32, b: u32| {
            if let Some(&(rank, _)) = self.merges.get(&(a, b)) {
                heap.push(Reverse((rank, i, a, b)));
            }
        };
        for i in 0..n - 1 {
            push(&mut heap, i, sym[i], sym[i + 1]);
        }
        while let Some(Reverse((_, i, a, b))) = heap.pop() {
            let j = next[i];
            if !alive[i] || j >= n || !alive[j] || sym[i] != a || sym[j] != b {
                continue;
            }
            let merged = self.merges[&(a, b)].1;
            sym[i] = merged;
            alive[j] = false;
            next[i] = next[j];
            if next[j] < n {
                prev[next[j]] = i as isize;
            }
            if prev[i] >= 0 {
                let p = prev[i] as usize;
                push(&mut heap, p, sym[p], merged);
            }
            if next[i] < n {
                push(&mut heap, i, merged, sym[next[i]]);
            }
        }
        (0..n).filter(|i| alive[*i]).map(|i| sym[i]).collect()
    }

    fn token_bytes(&self, id: u32, special: bool) -> Vec<u8> {
        let Some(t) = self.tokens.get(id as usize) else {
            return Vec::new();
        };
        match self
            .types
            .get(id as usize)
            .copied()
            .unwrap_or(token_type::NORMAL)
        {
            token_type::CONTROL | token_type::UNKNOWN | token_type::UNUSED => {
                if special {
                    t.as_bytes().to_vec()
                } else {
                    Vec::new()
                }
            }
            token_type::USER_DEFINED => t.as_bytes().to_vec(),
            _ => t
                .chars()
                .map(|c| self.decoder.get(&c).copied().unwrap_or(b'?'))
                .collect(),
        }
    }
}

/// Turns a stream of token byte pieces into text, holding back incomplete UTF-8 sequences.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// Adds bytes and returns whatever is complete text now.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let s = s.to_string();
                self.pending.clear();
                s
            }
            Err(e) => {
                let valid = e.valid_up_to();
                // An invalid (not merely incomplete) sequence is replaced, not held forever.
                if e.error_len().is_some() || self.pending.len() - valid > 4 {
                    let s = String::from_utf8_lossy(&self.pending).into_owned();
                    self.pending.clear();
                    return s;
                }
                let s = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                self.pending.drain(..valid);
                s
            }
        }
    }

    /// Whatever is left (replacement characters for a cut sequence).
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A toy vocabulary: all byte characters, a few merges, two control tokens.
    pub(crate) fn toy() -> (Vec<String>, Vec<i32>, Vec<String>) {
        let enc = byte_encoder();
        let mut tokens: Vec<String> = enc.iter().map(|c| c.to_string()).collect();
        let mut types = vec![token_type::NORMAL; 256];
        let merges: Vec<String> = [
            "h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "r l", "Ġwo rl", "Ġworl d",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for m in &merges {
            tokens.push(m.replace(' ', ""));
            types.push(token_type::NORMAL);
        }
        for s in ["<|im_start|>", "<|im_end|>"] {
            tokens.push(s.into());
            types.push(token_type::CONTROL);
        }
        (tokens, types, merges)
    }

    fn toy_bpe(pre: &str) -> Bpe {
        let (t, ty, m) = toy();
        Bpe::new(t, ty, &m, pre).unwrap()
    }

    #[test]
    fn merges_apply_by_rank() {
        let b = toy_bpe("gpt2");
        let ids = b.encode("hello world", false);
        let text: Vec<&str> = ids.iter().map(|i| b.tokens[*i as usize].as_str()).collect();
        assert_eq!(text, vec!["hello", "Ġworld"]);
        let back: Vec<u8> = ids.iter().flat_map(|i| b.token_bytes(*i, false)).collect();
        assert_eq!(back, b"hello world");
    }

    #[test]
    fn control_tokens_only_when_special() {
        let b = toy_bpe("gpt2");
        let with = b.encode("<|im_start|>hello", true);
        assert_eq!(with[0], b.ids["<|im_start|>"]);
        let without = b.encode("<|im_start|>hello", false);
        assert!(
            !without.contains(&b.ids["<|im_start|>"]),
            "untrusted text never becomes a control token"
        );
    }

    #[test]
    fn smollm_splits_digits() {
        let b = toy_bpe("smollm");
        assert_eq!(b.pre_split("abc 123"), vec!["abc", " ", "1", "2", "3"]);
        let q = toy_bpe("qwen2");
        assert_eq!(
            q.pre_split("x=12;\n\n  y"),
            vec!["x", "=", "1", "2", ";\n\n", " ", " y"]
        );
        let l = toy_bpe("llama3");
        assert_eq!(l.pre_split("12345"), vec!["123", "45"]);
    }

    #[test]
    fn long_words_are_linear_enough() {
        let b = toy_bpe("gpt2");
        let word = "hel".repeat(40_000);
        let ids = b.encode(&word, false);
        let back: Vec<u8> = ids.iter().flat_map(|i| b.token_bytes(*i, false)).collect();
        assert_eq!(back, word.as_bytes());
    }

    #[test]
    fn round_trip_arbitrary_unicode() {
        let b = toy_bpe("qwen2");
        for s in [
            "日本語のテキスト",
            "한국어",
            "Olá, ação!",
            "Tiếng Việt",
            "🦀🚀 emoji",
            "\u{0}\u{7f}",
        ] {
            let ids = b.encode(s, false);
            let back: Vec<u8> = ids.iter().flat_map(|i| b.token_bytes(*i, false)).collect();
            assert_eq!(back, s.as_bytes());
        }
    }

    #[test]
    fn stream_decoder_holds_partial_utf8() {
        let mut d = StreamDecoder::default();
        let bytes = "é日".as_bytes();
        assert_eq!(d.push(&bytes[..1]), "");
        assert_eq!(d.push(&bytes[1..3]), "é");
        assert_eq!(d.push(&bytes[3..]), "日");
        assert_eq!(d.push(&[0xff]), "\u{fffd}");
        assert_eq!(d.finish(), "");
    }
}
