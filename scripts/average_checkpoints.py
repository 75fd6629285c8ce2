"""Average checkpoints of one run into one model (the epochs kept with ``train.keep_epochs``).

    python scripts/average_checkpoints.py runs/zh/epochs/01{0,1,2,3,4} --out runs/zh/avg-10-14
    ner evaluate --model runs/zh/avg-10-14 --data ../shared/data/msra/test.txt --json

The parameters are averaged; the constants (CRF transition masks, fixed pretrained rows) must be equal
and are kept. The new checkpoint has the first one's config, plus ``averaged_from`` (the paths). Prints
one JSON line: the output and the checkpoints averaged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ner import checkpoint
from ner.averaging import average_checkpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint directories of one model")
    parser.add_argument("--out", required=True, type=Path, help="where to write the averaged checkpoint")
    args = parser.parse_args(argv)
    try:
        model, featurizer, config = average_checkpoints(args.checkpoints)
    except (ValueError, checkpoint.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    extra = {k: v for k, v in config.items() if k not in ("format_version", "features", "model", "labels", "scheme")}
    extra["averaged_from"] = [str(p) for p in args.checkpoints]
    checkpoint.save(model, featurizer, args.out, extra)
    print(json.dumps({"out": str(args.out), "averaged": len(args.checkpoints)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
