"""Dev F1 of the mean of a run's last K kept epochs, for each window K and each last epoch; the model
each window would select, and its F1 on held-out files.

    python scripts/average_sweep.py runs/zh-avg5-s1 --windows 1 3 5 8 \
        --held-out ../shared/data/msra/test.txt

Reads the epochs a run kept (``train.keep_epochs``: ``RUN/epochs/NNN``), rebuilds the run's dev set as
training drew it (its dev file, or the share held out of its training file with its seed and block),
and scores, for each window K and each epoch e, the mean of the weights of epochs max(1, e-K+1) .. e:
what ``train.average_epochs = K`` evaluates at epoch e (K = 1 is the weights alone). Each window then
selects as training does, the best dev F1 with the run's patience; that model is scored on every
``--held-out`` file. ``--from-epoch N`` scores epochs N and later only (selection then starts there);
``--held-out-every`` scores every (window, epoch) on the held-out files, to see how much they move
between neighbouring epochs. Prints one JSON line per (window, epoch) and one per window's selection.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ner import checkpoint
from ner.averaging import mean_state
from ner.conll import read_conll
from ner.evaluate import evaluate_sentences
from ner.stopping import select_epoch
from ner.train import EPOCHS_DIR, split_dev


def _dev_sentences(config: dict[str, Any]) -> list[Any]:
    """The run's dev sentences, as ``ner train`` drew them."""
    dev, train = config["data"]["dev"], config["data"]["train"]
    if "path" in dev:
        return read_conll(dev["path"]).sentences
    t = config["train"]
    return split_dev(read_conll(train["path"]).sentences, t["dev_fraction"], t["seed"], t["dev_block"])[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory whose epochs were kept")
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 3, 5, 8])
    parser.add_argument("--held-out", type=Path, nargs="*", default=[], help="files to score each selection on")
    parser.add_argument("--held-out-every", action="store_true", help="score every epoch on the held-out files")
    parser.add_argument("--from-epoch", type=int, default=1, help="score epochs from this one on")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    kept = sorted((args.run / EPOCHS_DIR).glob("[0-9][0-9][0-9]"))
    if not kept or min(args.windows) < 1:
        print(f"error: no kept epochs under {args.run / EPOCHS_DIR}, or a window below 1", file=sys.stderr)
        return 2
    model, featurizer, config = checkpoint.load(kept[0])
    states = {int(p.name): checkpoint.load(p)[0].state_dict() for p in kept}
    epochs = sorted(states)
    if epochs != list(range(1, len(epochs) + 1)):
        print(f"error: {args.run / EPOCHS_DIR} misses epochs: it has {epochs}", file=sys.stderr)
        return 2
    dev = _dev_sentences(config)
    held_out = {str(p): read_conll(p).sentences for p in args.held_out}

    def averaged(window: int, epoch: int) -> Any:
        model.load_state_dict(mean_state(model, [states[e] for e in range(max(1, epoch - window + 1), epoch + 1)]))
        return model

    for window in args.windows:
        scores, rows = {}, {}
        for epoch in (e for e in epochs if e >= args.from_epoch):
            scores[epoch] = evaluate_sentences(averaged(window, epoch), featurizer, dev, args.batch_size)["f1"]
            row: dict[str, Any] = {"window": window, "epoch": epoch, "dev_f1": scores[epoch]}
            if args.held_out_every:
                for path, sentences in held_out.items():
                    row[path] = evaluate_sentences(model, featurizer, sentences, args.batch_size)["f1"]
            rows[epoch] = row
            print(json.dumps(row), flush=True)
        if not scores:
            print(f"error: no kept epoch from {args.from_epoch} on", file=sys.stderr)
            return 2
        chosen = select_epoch(scores, config["train"]["patience"])
        line: dict[str, Any] = {"window": window, "selected_epoch": chosen, "dev_f1": scores[chosen]}
        if args.held_out_every:  # already scored on the held-out files
            line.update({path: rows[chosen][path] for path in held_out})
        elif held_out:
            averaged(window, chosen)
            for path, sentences in held_out.items():
                line[path] = evaluate_sentences(model, featurizer, sentences, args.batch_size)["f1"]
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
