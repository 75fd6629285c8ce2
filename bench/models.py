"""Two checkpoints' CPU tagging speed on the same texts, interleaved: a candidate against a reference.

    python -m bench.models --reference en --candidate runs/en/model --data ../shared/data/conll2003/dev.txt

Both go through the public ``Tagger.predict`` (tokenising, features, Viterbi, spans), over the file's
sentences and over its documents (which a model trained with document context reads together), with
``bench.inprocess.compare``'s warm-up and median of interleaved passes. Prints a Markdown table with
the candidate's slowdown (reference speed / candidate speed; 1.5 means 1.5× slower).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench.corpora import load_documents, load_texts
from bench.inprocess import compare, ours
from ner.pipeline import Tagger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="model name or checkpoint directory")
    parser.add_argument("--candidate", required=True, help="model name or checkpoint directory")
    parser.add_argument("--data", required=True, type=Path, help="CoNLL-style file whose text is tagged")
    parser.add_argument("--lang", default="en", choices=["en", "zh"])
    parser.add_argument("--limit", type=int, default=None, help="first N sentences only")
    parser.add_argument("--batches", default="1,64", help="texts per call, e.g. 1,64")
    parser.add_argument("--passes", type=int, default=3, help="timed passes (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the service's default is 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    taggers = {"reference": Tagger.load(args.reference), "candidate": Tagger.load(args.candidate)}
    systems = {name: (lambda texts, batch, t=t: ours(t, texts, batch)) for name, t in taggers.items()}
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    for corpus in (load_texts(args.data, args.lang, args.limit), load_documents(args.data, args.lang, args.limit)):
        speeds = {(s.system, s.batch): s for s in compare(systems, corpus, batches, args.passes)}
        for batch in batches:
            ref, cand = speeds["reference", batch], speeds["candidate", batch]
            rows.append(
                {
                    "texts": corpus.name,
                    "batch": batch,
                    "reference_tokens_per_s": ref.tokens_per_s,
                    "candidate_tokens_per_s": cand.tokens_per_s,
                    "slowdown": ref.tokens_per_s / cand.tokens_per_s,
                }
            )
    print(f"reference: {args.reference}; candidate: {args.candidate}; {args.threads} torch thread(s)\n")
    print("| texts | batch | reference tokens/s | candidate tokens/s | candidate slowdown |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['texts']} | {r['batch']} | {r['reference_tokens_per_s']:,.0f} | {r['candidate_tokens_per_s']:,.0f} "
            f"| {r['slowdown']:.2f}× |"
        )
    if args.out:
        args.out.write_text(
            json.dumps({"reference": args.reference, "candidate": args.candidate, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
