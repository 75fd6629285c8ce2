"""What each inference optimisation buys: the current code path against the one it replaced, per stage.

``python -m bench.ablations [--en FILE] [--batch 256]`` times each stage on CoNLL-2003 dev sentences
(median of passes, this process's torch threads) and prints a Markdown table. The replaced paths are
still in the code (training uses them) or are re-stated here in a few lines; each row checks that both
paths give the same result before timing them. Dynamic int8 quantisation of the LSTM is measured too,
with its dev F1 beside the float model's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bench.corpora import load_texts
from ner.config import CHAR_ENCODER_NAMES
from ner.conll import read_conll
from ner.crf import ConstrainedCRF
from ner.evaluate import evaluate_sentences
from ner.model import bilstm_padded, lstm_packed
from ner.pipeline import Tagger, _length_batches
from ner.tokenize import _english_pipeline, _sentences

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def timed(run: Callable[[], Any], passes: int) -> float:
    run()
    times = []
    for _ in range(passes):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def logsumexp_forward_backward(crf: ConstrainedCRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The forward-backward before: a logsumexp over (B, K, K) per step, in float32. Returns log Z."""
    trans, b = crf.transitions, emissions.shape[0]
    alpha = crf.start_transitions + emissions[:, 0]
    for i in range(1, emissions.shape[1]):
        step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, i]
        alpha = torch.where(mask[:, i].unsqueeze(1), step, alpha)
    beta = crf.end_transitions.expand(b, -1)
    for i in range(emissions.shape[1] - 2, -1, -1):
        step = torch.logsumexp(trans + (emissions[:, i + 1] + beta).unsqueeze(1), dim=2)
        beta = torch.where(mask[:, i + 1].unsqueeze(1), step, crf.end_transitions.expand(b, -1))
    return torch.logsumexp(alpha + crf.end_transitions, dim=1)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ablations", description=__doc__.split("\n\n")[0])
    p.add_argument("--en", type=Path, default=DATA / "conll2003" / "dev.txt")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = load_texts(args.en, "en")
    tagger = Tagger.load("en")
    model = tagger.model.eval()
    rows: list[tuple[str, str, float, str, float, str]] = []

    # Tokenising: a memory zone per call (cold vocabulary each time) against a warm, bounded vocabulary.
    nlp = _english_pipeline()

    def zoned() -> list:
        out = []
        for text in corpus.texts:
            with nlp.memory_zone():
                out.append(_sentences(text, nlp(text)))
        return out

    assert zoned() == [tagger.tokenize(t) for t in corpus.texts]
    rows.append(
        (
            "tokenise",
            "spaCy memory zone per call",
            timed(zoned, args.passes),
            "warm vocabulary, rebuilt past 30k words",
            timed(lambda: [tagger.tokenize(t) for t in corpus.texts], args.passes),
            "same tokens",
        )
    )

    sentences = [[t.text for s in tagger.tokenize(x) for t in s] for x in corpus.texts]
    batches = [b for _, _, b in _length_batches(tagger.featurizer, sentences, args.batch)]
    with torch.inference_mode():
        reps = [model.represent(b) for b in batches]

        # Characters: every occurrence encoded against each distinct token once.
        def every() -> list:
            return [model.char_encoder(b.chars[b.char_index]) for b in batches]

        def distinct() -> list:
            return [model._char_features(b) for b in batches]

        same = all(torch.allclose(a, c, atol=1e-5) for a, c in zip(every(), distinct()))
        encoder = f"char {CHAR_ENCODER_NAMES[model.features.char_encoder]}"
        rows.append(
            (
                encoder,
                "every token occurrence",
                timed(every, args.passes),
                "each distinct token once",
                timed(distinct, args.passes),
                f"same vectors: {same}",
            )
        )

        # BiLSTM: packed sequences against two unidirectional runs over the padded batch.
        def packed() -> list:
            return [lstm_packed(model.lstm, x, b.mask) for x, b in zip(reps, batches)]

        def padded() -> list:
            return [bilstm_padded(model.lstm, x, b.mask) for x, b in zip(reps, batches)]

        diff = max(((a - c).abs().max().item() for a, c in zip(packed(), padded())), default=0.0)
        rows.append(
            (
                "word BiLSTM",
                "packed sequence",
                timed(packed, args.passes),
                "padded, each direction apart",
                timed(padded, args.passes),
                f"max abs diff {diff:.1e}",
            )
        )

        # Length bucketing: batches of similar lengths against batches in input order.
        unsorted = [
            tagger.featurizer.collate([tagger.featurizer.encode(s) for s in sentences[k : k + args.batch]])
            for k in range(0, len(sentences), args.batch)
        ]
        rows.append(
            (
                "whole network",
                "batches in input order",
                timed(lambda: [model.emissions(b) for b in unsorted], args.passes),
                "batches sorted by length",
                timed(lambda: [model.emissions(b) for b in batches], args.passes),
                f"padding {_padding(unsorted):.0%} → {_padding(batches):.0%}",
            )
        )

        # Forward-backward: logsumexp over (B, K, K) per step against scaled matrix products.
        ems = [model.emissions(b) for b in batches]
        lz_old = [logsumexp_forward_backward(model.crf, e, b.mask) for e, b in zip(ems, batches)]
        lz_new = [model.crf.posteriors(e, b.mask).log_z for e, b in zip(ems, batches)]
        diff = max((a.double() - c).abs().max().item() for a, c in zip(lz_old, lz_new))
        rows.append(
            (
                "forward-backward",
                "logsumexp per step, float32",
                timed(
                    lambda: [logsumexp_forward_backward(model.crf, e, b.mask) for e, b in zip(ems, batches)],
                    args.passes,
                ),
                "matrix products, float64",
                timed(lambda: [model.crf.posteriors(e, b.mask) for e, b in zip(ems, batches)], args.passes),
                f"log Z max diff {diff:.1e}",
            )
        )

        # Dynamic int8 quantisation of the LSTM, as NER_QUANTIZE serves it (packed path: no float weights).
        quantised = model.quantized()
        gold = read_conll(args.en).sentences
        f1_float = evaluate_sentences(model, tagger.featurizer, gold, args.batch)["f1"]
        f1_int8 = evaluate_sentences(quantised, tagger.featurizer, gold, args.batch)["f1"]
        rows.append(
            (
                "word BiLSTM, int8",
                "float32, padded",
                timed(padded, args.passes),
                "dynamic int8, packed",
                timed(lambda: [lstm_packed(quantised.lstm, x, b.mask) for x, b in zip(reps, batches)], args.passes),
                f"dev F1 {f1_float:.4f} → {f1_int8:.4f}",
            )
        )

    rows.append(_training_row(tagger, args))

    print(
        f"Stage timings on {corpus.name} ({len(corpus.texts)} sentences), batch {args.batch}, "
        f"{torch.get_num_threads()} torch threads, median of {args.passes} passes\n"
    )
    print("| stage | before | s | after | s | speed-up | check |")
    print("|---|---|---:|---|---:|---:|---|")
    for stage, before, t0, after, t1, check in rows:
        print(f"| {stage} | {before} | {t0:.3f} | {after} | {t1:.3f} | {t0 / t1:.2f}× | {check} |")


def _training_row(tagger: Tagger, args: argparse.Namespace) -> tuple[str, str, float, str, float, str]:
    """Forward and backward of training batches (16 sentences, CoNLL train if present, else the input)."""
    model, featurizer = tagger.model, tagger.featurizer
    train = args.en.with_name("train.txt")
    sentences = read_conll(train if train.exists() else args.en).sentences[:1600]
    ids = {label: i for i, label in enumerate(model.labels)}
    batches = [
        featurizer.collate(
            [featurizer.encode(s.tokens) for s in sentences[k : k + 16]],
            [[ids[t] for t in s.tags] for s in sentences[k : k + 16]],
        )
        for k in range(0, len(sentences), 16)
    ]

    def steps(padded: bool) -> None:
        model.train()
        for b in batches:
            x = model.dropout(model.represent(b))
            h = bilstm_padded(model.lstm, x, b.mask) if padded else lstm_packed(model.lstm, x, b.mask)
            model.loss(b, states=h).backward()  # the model's own head: memory and emission layer included
            model.zero_grad()
        model.eval()

    before, after = timed(lambda: steps(False), args.passes), timed(lambda: steps(True), args.passes)
    return (
        "training step, BiLSTM",
        "packed sequence",
        before,
        "padded, each direction apart",
        after,
        f"{len(sentences)} sentences, batches of 16, forward + backward",
    )


def _padding(batches: list) -> float:
    real = sum(int(b.mask.sum()) for b in batches)
    return 1 - real / sum(b.mask.numel() for b in batches)


if __name__ == "__main__":
    main()
