//! Property tests (bounded fuzzing) of the tokenizer builder: a vocabulary, merges, token types,
//! special ids and pre-tokenizer read from an untrusted model file build a tokenizer or fail
//! with an error — and whatever text is then encoded, nothing panics.
//!
//! Longer run: `PROPTEST_CASES=50000 cargo nextest run -p spar-llm --test fuzz_tokenizer`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use spar_llm::gguf::{Gguf, Value};
use spar_llm::testing::toy_vocab;
use spar_llm::tokenizer::{StreamDecoder, Tokenizer};

const PRES: [&str; 8] = [
    "default",
    "gpt2",
    "smollm",
    "llama3",
    "llama-bpe",
    "qwen2",
    "",
    "no-such-pre",
];

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn header(meta: Vec<(&str, Value)>) -> Gguf {
    let metadata: BTreeMap<String, Value> =
        meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Gguf {
        path: PathBuf::from("fuzz.gguf"),
        version: 3,
        metadata,
        tensors: Vec::new(),
        file_len: 0,
    }
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

/// Text with the pieces that stress a BPE: specials, byte-level markers, digits, CJK, emoji,
/// invalid-looking sequences, control characters and long runs.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<|im_start|>".to_string()),
        Just("<|im_end|>".to_string()),
        Just("<|endoftext|>".to_string()),
        Just("<|".to_string()),
        Just("Ġ".to_string()),
        Just("ĊĠĠ".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{200b}".to_string()),
        Just("\r\n\t ".to_string()),
        Just("123456789".to_string()),
        Just("日本語の한국어中文".to_string()),
        Just("🦀👩‍👩‍👧".to_string()),
        Just("'s'T're".to_string()),
        "[a-z ]{0,12}",
        ".{0,8}",
        any::<char>().prop_map(|c| c.to_string().repeat(40)),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zĠĊ]{1,4}",
        1 => Just(String::new()),
        1 => Just("<|im_start|>".to_string()),
        1 => Just("<|im_end|>".to_string()),
        1 => ".{1,6}",
    ]
}

fn merge() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ("[a-zĠ]{1,3}", "[a-zĠ]{1,3}").prop_map(|(a, b)| format!("{a} {b}")),
        1 => Just(String::new()),
        1 => Just(" ".to_string()),
        1 => "[a-z]{1,4}",
        1 => ".{0,8}",
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Hostile vocabularies: empty or duplicate tokens, random types, merges that do not parse
    /// or name missing tokens, special ids out of range, unknown pre-tokenizers.
    #[test]
    fn hostile_vocabularies_build_or_fail_cleanly(
        extra in prop::collection::vec(token(), 0..40),
        types in prop::collection::vec(prop_oneof![Just(1i32), Just(2), Just(3), Just(4), Just(5), Just(6), any::<i32>()], 0..40),
        merges in prop::collection::vec(merge(), 0..40),
        pre in prop::sample::select(PRES.to_vec()),
        with_bytes in any::<bool>(),
        bos in any::<u64>(),
        eos in prop_oneof![Just(0u64), Just(255), any::<u64>()],
        mismatch in any::<bool>(),
        input in text(),
    ) {
        let (mut tokens, mut ty, base_merges) = if with_bytes { toy_vocab() } else { (Vec::new(), Vec::new(), Vec::new()) };
        tokens.extend(extra.iter().cloned());
        ty.extend(extra.iter().enumerate().map(|(i, _)| *types.get(i).unwrap_or(&1)));
        if mismatch {
            ty.push(1);
        }
        let mut all_merges = base_merges;
        all_merges.extend(merges);
        let g = header(vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String(pre.into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            ("tokenizer.ggml.token_type", Value::Array(ty.iter().map(|t| Value::I32(*t)).collect())),
            ("tokenizer.ggml.merges", strings(&all_merges)),
            ("tokenizer.ggml.bos_token_id", Value::U64(bos)),
            ("tokenizer.ggml.eos_token_id", Value::U64(eos)),
            ("tokenizer.ggml.eot_token_id", Value::U64(bos ^ eos)),
        ]);
        match Tokenizer::from_gguf(&g) {
            Ok(t) => {
                for special in [false, true] {
                    let ids = t.encode(&input, special).unwrap();
                    prop_assert!(ids.iter().all(|i| (*i as usize) < t.vocab_size().max(1)), "ids within the vocabulary");
                    let _ = t.decode(&ids, special);
                }
                for id in [0u32, 1, 255, 256, u32::MAX, bos as u32, eos as u32] {
                    let _ = t.token_bytes(id, true);
                    let _ = t.token_text(id);
                    let _ = t.is_control(id);
                }
                prop_assert!(t.bos.is_none_or(|b| (b as usize) < t.vocab_size()));
                prop_assert!(t.eos.is_none_or(|b| (b as usize) < t.vocab_size()));
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.gguf"), "the error names the file: {}", e),
        }
    }

    /// With a byte-level vocabulary (whatever merges come on top), every string survives an
    /// encode/decode round trip, special-looking text included: user text never turns into
    /// control tokens.
    #[test]
    fn byte_level_vocabularies_round_trip(
        extra_merges in prop::collection::vec(("[a-zĠ]{1,3}", "[a-zĠ]{1,3}"), 0..30),
        pre in prop::sample::select(vec!["gpt2", "smollm", "llama3", "qwen2"]),
        input in text(),
    ) {
        let (mut tokens, mut types, mut merges) = toy_vocab();
        for (a, b) in extra_merges {
            let m = format!("{a}{b}");
            if !tokens.contains(&m) {
                tokens.push(m);
                types.push(1);
            }
            merges.push(format!("{a} {b}"));
        }
        let g = header(vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String(pre.into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            ("tokenizer.ggml.token_type", Value::Array(types.iter().map(|t| Value::I32(*t)).collect())),
            ("tokenizer.ggml.merges", strings(&merges)),
        ]);
        let t = Tokenizer::from_gguf(&g).unwrap();
        let ids = t.encode(&input, false).unwrap();
        prop_assert_eq!(t.decode(&ids, false), input.clone());
        let control: Vec<u32> = ids.iter().copied().filter(|i| t.is_control(*i)).collect();
        prop_assert!(control.is_empty(), "user text became control tokens {:?}", control);
    }

    /// Streaming decode: valid UTF-8 cut anywhere comes out whole; arbitrary bytes never panic
    /// and never hold back more than one incomplete character.
    #[test]
    fn stream_decoder_reassembles_any_split(s in ".{0,64}", cuts in prop::collection::vec(any::<usize>(), 0..8), junk in prop::collection::vec(any::<u8>(), 0..64)) {
        let bytes = s.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let mut d = StreamDecoder::default();
        let mut out = String::new();
        for w in points.windows(2) {
            out.push_str(&d.push(&bytes[w[0]..w[1]]));
        }
        out.push_str(&d.finish());
        prop_assert_eq!(out, s);
        let mut d = StreamDecoder::default();
        for b in junk.chunks(3) {
            let _ = d.push(b);
        }
        let _ = d.finish();
    }
}

#[test]
fn missing_or_mistyped_tokenizer_metadata_is_an_error() {
    let (tokens, types, merges) = toy_vocab();
    let base = || {
        vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            (
                "tokenizer.ggml.token_type",
                Value::Array(types.iter().map(|t| Value::I32(*t)).collect()),
            ),
            ("tokenizer.ggml.merges", strings(&merges)),
        ]
    };
    type Meta = Vec<(&'static str, Value)>;
    let cases: Vec<(&str, Meta, &str)> = vec![
        (
            "no model",
            base()
                .into_iter()
                .filter(|(k, _)| *k != "tokenizer.ggml.model")
                .collect(),
            "not supported",
        ),
        (
            "no tokens",
            base()
                .into_iter()
                .filter(|(k, _)| *k != "tokenizer.ggml.tokens")
                .collect(),
            "tokenizer.ggml.tokens",
        ),
        (
            "no merges",
            base()
                .into_iter()
                .filter(|(k, _)| *k != "tokenizer.ggml.merges")
                .collect(),
            "tokenizer.ggml.merges",
        ),
        (
            "nested tokens",
            base()
                .into_iter()
                .map(|(k, v)| {
                    if k == "tokenizer.ggml.tokens" {
                        (k, Value::Array(vec![Value::Array(vec![])]))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "array of strings",
        ),
        (
            "types are strings",
            base()
                .into_iter()
                .map(|(k, v)| {
                    if k == "tokenizer.ggml.token_type" {
                        (k, Value::Array(vec![Value::String("x".into()); 3]))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "token types",
        ),
    ];
    for (name, meta, expect) in cases {
        let err = Tokenizer::from_gguf(&header(meta))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{name}: {err}");
        assert!(err.contains("fuzz.gguf"), "{name}: names the file: {err}");
    }
}

#[test]
fn a_huge_vocabulary_of_one_long_word_stays_fast() {
    // One 200k-byte word of a character whose merges chain: the heap-based BPE stays near-linear.
    let (tokens, types, merges) = toy_vocab();
    let g = header(vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        (
            "tokenizer.ggml.token_type",
            Value::Array(types.iter().map(|t| Value::I32(*t)).collect()),
        ),
        ("tokenizer.ggml.merges", strings(&merges)),
    ]);
    let t = Tokenizer::from_gguf(&g).unwrap();
    let word = "cacheretry".repeat(20_000);
    let t0 = std::time::Instant::now();
    let ids = t.encode(&word, false).unwrap();
    assert_eq!(t.decode(&ids, false), word);
    assert!(t0.elapsed().as_secs() < 20, "took {:?}", t0.elapsed());
}
