#!/usr/bin/env python3
"""Baseline llama.cpp CPU throughput for a GGUF model (via llama-cpp-python).

Measures, in one process:
  load_s         seconds to construct Llama(...) (model load + context creation)
  prompt_tok_s   prompt-processing tokens/s for one n_prompt-token llm.eval()
  decode_tok_s   tokens/s for n_gen single-token llm.eval() calls, greedy argmax,
                 EOS ignored (always exactly n_gen tokens)
  peak_rss_bytes ru_maxrss of this process (KB on Linux) * 1024

The low-level API (llm.eval + argmax over the last logits) is used so the
timings contain no sampler/detokenizer/stop-string overhead.

Usage:
  python3 scripts/bench_llama_cpp.py --model "$(spar models dir)"/SmolLM2-135M-Instruct.Q4_1.gguf \
      --threads 1 --prompt-tokens 256 --gen-tokens 64 --json
  # optional: --prompt-ids ids.json  (a JSON list of token ids, or an object
  #            with a "prompt_ids"/"ids" list); truncated to --prompt-tokens.
"""

import argparse
import json
import resource
import sys
import time

import numpy as np

import llama_cpp
from llama_cpp import Llama

PARAGRAPH = (
    "Distributed systems trade consistency, availability and latency against "
    "each other. A careful engineer measures before optimising, writes down the "
    "failure modes of every dependency, and keeps the request path short. "
    "Caches help until they become the source of truth by accident; queues "
    "smooth bursts but hide overload until the backlog is hours deep. "
)


def load_prompt_ids(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("prompt_ids") or data.get("ids") or data["greedy"]["prompt_ids"]
    return [int(t) for t in data]


def last_logits(llm):
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--prompt-ids", help="JSON file with the prompt token ids")
    ap.add_argument("--n-ctx", type=int, default=1024)
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    args = ap.parse_args()

    t0 = time.perf_counter()
    llm = Llama(
        model_path=args.model,
        n_ctx=args.n_ctx,
        n_batch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=1234,
        verbose=False,
    )
    load_s = time.perf_counter() - t0

    if args.prompt_ids:
        prompt = load_prompt_ids(args.prompt_ids)
    else:
        reps, prompt = 1, []
        while len(prompt) < args.prompt_tokens:
            reps *= 2
            prompt = llm.tokenize((PARAGRAPH * reps).encode("utf-8"),
                                  add_bos=False, special=False)
    prompt = prompt[: args.prompt_tokens]
    if len(prompt) + args.gen_tokens > args.n_ctx:
        sys.exit("prompt + gen tokens exceed n_ctx")

    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    logits = last_logits(llm)
    prompt_s = time.perf_counter() - t0

    gen = []
    t0 = time.perf_counter()
    for _ in range(args.gen_tokens):
        tok = int(np.argmax(logits))  # greedy; EOS is not special-cased
        gen.append(tok)
        llm.eval([tok])
        logits = last_logits(llm)
    decode_s = time.perf_counter() - t0

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "load_s": round(load_s, 4),
        "prompt_tok_s": round(len(prompt) / prompt_s, 2),
        "decode_tok_s": round(len(gen) / decode_s, 2),
        "peak_rss_bytes": int(peak_rss),
        "threads": args.threads,
        "n_prompt": len(prompt),
        "n_gen": len(gen),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>15}: {v}")
        print(f"{'llama_cpp':>15}: {llama_cpp.__version__}")


if __name__ == "__main__":
    main()
