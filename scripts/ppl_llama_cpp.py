#!/usr/bin/env python3
"""Perplexity of a GGUF model on given token ids, computed by llama.cpp (llama-cpp-python).

Usage: python3 scripts/ppl_llama_cpp.py --model FILE --ids ids.json [--threads 1]
Prints one JSON object: {"ppl": float, "n": int}. `spar bench ppl --vs-llama-cpp` calls it with
the same ids spar scores, so the two numbers compare the same text token for token.
"""
import argparse
import json
import math

import numpy as np
from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    ids = json.load(open(args.ids))
    llm = Llama(model_path=args.model, n_ctx=max(1024, len(ids) + 8), n_threads=args.threads,
                n_threads_batch=args.threads, n_batch=512, logits_all=True, verbose=False)
    llm.eval(ids)
    scores = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
    nll = 0.0
    for i in range(len(ids) - 1):
        row = scores[i]
        m = row.max()
        lse = m + math.log(np.exp(row - m).sum())
        nll -= row[ids[i + 1]] - lse
    n = len(ids) - 1
    print(json.dumps({"ppl": math.exp(nll / n), "n": n}))


if __name__ == "__main__":
    main()
