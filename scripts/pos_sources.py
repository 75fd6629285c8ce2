"""Chinese parts of speech from jieba.posseg against those read off jieba.cut's words (``features.pos_source``).

    python scripts/pos_sources.py --data ../shared/data/msra/test.txt --passes 3

For each sentence of a CoNLL-style file (its tokens joined into the raw text), times jieba.cut, the parts of speech of
each source (``segmentation`` is timed with the jieba.cut it reads, as a featurizer that embeds softword already makes
it) and the share of characters whose id (tag and dictionary/HMM row) the two sources agree on. Prints one JSON line:
seconds per pass (the median of ``--passes``), characters per second and the agreement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from ner.conll import read_conll
from ner.lexicon import JiebaFeatures


def _median_seconds(texts: list[str], fn: Callable[[str], object], passes: int) -> float:
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a CoNLL-style file of Chinese characters")
    parser.add_argument("--limit", type=int, default=0, help="the first N sentences only (0: all)")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    sentences = read_conll(args.data).sentences
    texts = ["".join(s.tokens) for s in (sentences[: args.limit] if args.limit else sentences)]
    jieba = JiebaFeatures()
    jieba.load_pos_tagger()
    chars = sum(map(len, texts))
    seconds = {
        "cut": _median_seconds(texts, jieba.cut, args.passes),
        "posseg": _median_seconds(texts, jieba.pos_tags, args.passes),
        "segmentation": _median_seconds(texts, lambda t: jieba.pos_tags(t, jieba.cut(t)), args.passes),
    }
    same = sum(a == b for text in texts for a, b in zip(jieba.pos_tags(text), jieba.pos_tags(text, jieba.cut(text))))
    print(
        json.dumps(
            {
                "sentences": len(texts),
                "characters": chars,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
                "characters_per_second": {k: round(chars / v) for k, v in seconds.items()},
                "same_id": round(same / chars, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
