#!/usr/bin/env python3
"""Produce golden tokenizer + greedy-decoding fixtures from llama.cpp.

Uses llama-cpp-python (see scripts/README-golden.md for the exact, pinned build)
to record, for one GGUF model:

  * token ids for a fixed multilingual / code / whitespace / emoji corpus,
  * bos/eos ids and the model's add_bos/add_eos metadata,
  * the prompt ids and first N greedy (argmax) token ids for a ChatML prompt,
    with EOS ignored so exactly N tokens are always produced.

spar's tests load the JSON and assert that spar's tokenizer and transformer
produce the same ids.

Usage:
  python3 scripts/golden_llama_cpp.py --model "$(spar models dir)"/SmolLM2-135M-Instruct.Q4_1.gguf \
      --out crates/spar-llm/tests/fixtures/llama_cpp_smollm2.json
"""

import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np

import llama_cpp
from llama_cpp import Llama

SEED = 1234
N_CTX = 2048
N_GREEDY = 16

CHATML_SPECIAL = (
    "<|im_start|>system\nYou are an interviewer.<|im_end|>\n"
    "<|im_start|>user\nHi<|im_end|>\n"
    "<|im_start|>assistant\n"
)

GREEDY_PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nWhat is a hash map? Answer in one sentence.<|im_end|>\n"
    "<|im_start|>assistant\n"
)

# (name, text, special). Everything except the ChatML entry is tokenized with
# special=False, i.e. "<|im_start|>"-like text would be split as plain text.
CORPUS = [
    ("english_prose",
     "The quick brown fox jumps over the lazy dog. Interviews are stressful, "
     "but preparation helps: practise out loud, time yourself, and ask "
     "clarifying questions before you start coding.",
     False),
    ("english_single_word", "Hello", False),
    ("english_leading_space", " Hello world", False),
    ("python_code",
     "def fib(n: int) -> int:\n"
     "    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"
     "    a, b = 0, 1\n"
     "    for _ in range(n):\n"
     "        a, b = b, a + b\n"
     "    return a\n"
     "\n"
     "if __name__ == \"__main__\":\n"
     "    print(fib(10))  # 55\n",
     False),
    ("rust_code",
     "use std::collections::HashMap;\n"
     "\n"
     "fn main() {\n"
     "    let mut counts: HashMap<&str, usize> = HashMap::new();\n"
     "    for w in \"a b a\".split_whitespace() {\n"
     "        *counts.entry(w).or_insert(0) += 1;\n"
     "    }\n"
     "    println!(\"{:?}\", counts);\n"
     "}\n",
     False),
    ("sql_code",
     "SELECT u.id, COUNT(*) AS n_orders\n"
     "FROM users u\n"
     "  JOIN orders o ON o.user_id = u.id\n"
     "WHERE o.created_at >= '2026-01-01'\n"
     "GROUP BY u.id\n"
     "HAVING COUNT(*) > 3\n"
     "ORDER BY n_orders DESC;",
     False),
    ("numbers_int", "12345", False),
    ("numbers_float", "3.14159", False),
    ("numbers_grouped", "1,000,000", False),
    ("numbers_date", "2026-11-28", False),
    ("numbers_latency", "p99=5s", False),
    ("numbers_mixed",
     "Throughput rose from 12345 to 1,000,000 req/s on 2026-11-28 while p99=5s "
     "and pi stayed 3.14159.",
     False),
    ("japanese", "こんにちは、世界。今日は面接の練習をしましょう。", False),
    ("korean", "안녕하세요. 오늘은 시스템 설계 면접을 준비합니다.", False),
    ("chinese", "你好，世界！我们来讨论一下哈希表的实现。", False),
    ("portuguese",
     "A informação não está disponível; as soluções e as opções de ação "
     "serão avaliadas na próxima reunião.",
     False),
    ("vietnamese",
     "Tiếng Việt có đầy đủ dấu: ă â đ ê ô ơ ư; Xin chào, tôi muốn luyện tập "
     "phỏng vấn kỹ thuật hôm nay.",
     False),
    ("emoji_basic", "Great job! 😀🎉👍🏽", False),
    ("emoji_zwj", "Family: 👨‍👩‍👧‍👦 and coder: 👩🏽‍💻 and 🏳️‍🌈", False),
    ("emoji_flags", "Flags: 🇯🇵 🇰🇷 🇨🇳 🇧🇷 🇻🇳 🇺🇸", False),
    ("whitespace_double_spaces", "two  spaces  between   words", False),
    ("whitespace_tabs", "col1\tcol2\t\tcol3\n\tindented with tab", False),
    ("whitespace_newlines", "para one\n\n\npara two\n\n\n\nend", False),
    ("whitespace_trailing", "trailing spaces   \nnext line  ", False),
    ("whitespace_only", " \t \n  \n", False),
    ("whitespace_leading", "   leading spaces", False),
    ("contractions",
     "I'd've done it, but don't worry: IT'S fine, we'll see, they're here, "
     "you've got it, he's done, I'm OK.",
     False),
    ("long_word_repeated",
     " ".join(["pneumonoultramicroscopicsilicovolcanoconiosis"] * 6),
     False),
    ("long_word_concatenated", "supercalifragilisticexpialidocious" * 4, False),
    ("chatml_special", CHATML_SPECIAL, True),
    ("chatml_as_text", CHATML_SPECIAL, False),
]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def piece(llm, tok):
    """Raw bytes of one token's piece (special tokens rendered)."""
    return llm.detokenize([tok], special=True)


def last_logits(llm):
    """Logits of the last evaluated token, as float32 numpy array."""
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()


def greedy(llm, prompt_ids, n):
    """Greedy (argmax) decode of exactly n tokens, never stopping at EOS."""
    llm.reset()
    llm.eval(prompt_ids)
    out = []
    for _ in range(n):
        logits = last_logits(llm)
        tok = int(np.argmax(logits))  # first max on ties, like llama.cpp's greedy sampler
        out.append(tok)
        llm.eval([tok])
    return out


def greedy_via_generate(llm, prompt_ids, n):
    """Cross-check with llama-cpp-python's sampler chain (top_k=1, temp=0)."""
    out = []
    for tok in llm.generate(prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0,
                            repeat_penalty=1.0, reset=True):
        out.append(int(tok))
        if len(out) >= n:
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="path to a .gguf model")
    ap.add_argument("--out", required=True, help="JSON fixture to write")
    ap.add_argument("--n-greedy", type=int, default=N_GREEDY)
    args = ap.parse_args()

    llm = Llama(
        model_path=args.model,
        n_ctx=N_CTX,
        n_batch=512,
        n_threads=1,
        n_threads_batch=1,
        seed=SEED,
        verbose=False,
    )
    vocab = llm._model.vocab
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
    add_eos = bool(llama_cpp.llama_vocab_get_add_eos(vocab))
    eos_id = int(llm.token_eos())

    tokens = []
    for name, text, special in CORPUS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        tokens.append({"name": name, "text": text, "special": special,
                       "ids": [int(i) for i in ids]})

    # Prompt for greedy decoding: special=True, no BOS/EOS added (add_bos=False);
    # the model's own add_bos flag is recorded above in "add_bos".
    prompt_ids = [int(i) for i in llm.tokenize(GREEDY_PROMPT.encode("utf-8"),
                                                add_bos=False, special=True)]
    ids = greedy(llm, prompt_ids, args.n_greedy)
    ids_gen = greedy_via_generate(llm, prompt_ids, args.n_greedy)
    if ids != ids_gen:
        print(f"WARNING: argmax loop {ids} != generate() {ids_gen}", file=sys.stderr)
    eog = [i for i, t in enumerate(ids) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    text_bytes = llm.detokenize(ids, special=True)

    fixture = {
        "model_file": os.path.basename(args.model),
        "model_sha256": sha256_file(args.model),
        "llama_cpp_python_version": llama_cpp.__version__,
        "n_vocab": int(llm.n_vocab()),
        "bos_id": int(llm.token_bos()),
        "eos_id": eos_id,
        "add_bos": add_bos,
        "add_eos": add_eos,
        "tokenize_call": "llm.tokenize(text.encode('utf-8'), add_bos=False, special=<special>)",
        "tokens": tokens,
        "greedy": {
            "prompt": GREEDY_PROMPT,
            "prompt_add_bos": False,
            "prompt_special": True,
            "prompt_ids": prompt_ids,
            "n_requested": args.n_greedy,
            "ids": ids,
            "n_generated": len(ids),
            "ignore_eos": True,
            "eog_positions": eog,
            "text": text_bytes.decode("utf-8", errors="replace"),
            "pieces": [piece(llm, t).decode("utf-8", errors="replace") for t in ids],
            "generate_cross_check_equal": ids == ids_gen,
            "sampling": {
                "method": "argmax of last-position logits after llm.eval (== top_k=1, temperature=0)",
                "repeat_penalty": 1.0,
                "n_ctx": N_CTX,
                "n_batch": 512,
                "n_threads": 1,
                "n_threads_batch": 1,
                "seed": SEED,
            },
        },
    }
    text = json.dumps(fixture, ensure_ascii=False, indent=1)
    # keep integer arrays (token ids) on one line for readable diffs
    text = re.sub(r"\[(?:\s*-?\d+\s*,)*\s*-?\d+\s*\]",
                  lambda m: "[" + ", ".join(re.findall(r"-?\d+", m.group(0))) + "]", text)
    assert json.loads(text) == fixture, "compact formatting changed the data"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {args.out}: {len(tokens)} token cases; greedy {ids} -> "
          f"{fixture['greedy']['text']!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
