"""Model cards: a short Markdown summary written into every checkpoint directory.

The card is generated from the checkpoint's ``config.json`` alone (features, labels, data hashes,
metrics, command, versions), so it can be regenerated at any time without touching the weights:
``python scripts/write_cards.py ner/models/en ner/models/zh``.
"""

from __future__ import annotations

from typing import Any

from ner.config import CHAR_ENCODER_NAMES, comma_list
from ner.gazetteer import shipped_sources

_LANGUAGES = {"en": "English", "zh": "Chinese"}
_EXAMPLES = {"en": "Angela Merkel visited Paris.", "zh": "张三在北京大学工作。"}

# What the model's own design implies for each language, whatever data it was trained on.
_DESIGN_LIMITS = {
    "en": [
        "Tokenised by spaCy's rule-based English tokenizer, adjusted to CoNLL-2003 conventions; text tokenised "
        "very differently (URLs, hashtags, emoji, code) gets unreliable boundaries.",
        "Case is a feature (casing embedding and a character encoder that sees the original case): all-caps "
        "or all-lowercase text, such as headlines or chat, is tagged less accurately.",
        "Word vectors start from lower-cased GloVe 6B 50d rows kept inside the checkpoint: words seen in "
        "training are fine-tuned, the other GloVe words keep their GloVe vector (stored in int8), and words "
        "missing from both the training data and the carried GloVe rows share one unknown vector.",
    ],
    "zh": [
        "One token per character; features include jieba's segmentation and dictionary matches "
        "(jieba 0.42.1, pinned), so the same model with another jieba dictionary is a different model.",
        "Trained and scored on simplified Chinese; traditional characters, mixed-script text and "
        "Latin-script names inside Chinese text are outside what the data covers.",
    ],
}


def _inputs(features: dict[str, Any]) -> str:
    """The model's input features in words, e.g. "word embeddings, a character CNN and a casing feature"."""
    unit = "character" if features["lang"] == "zh" else "word"
    parts = [f"{unit} embeddings"]
    if features.get("char_encoder", "none") != "none":
        parts.append(f"a character {CHAR_ENCODER_NAMES[features['char_encoder']]}")
    if features.get("casing_dim"):
        parts.append("a casing feature")
    if features.get("bigram_dim"):
        parts.append("character bigrams")
    if features.get("softword_dim"):
        parts.append("jieba word-segmentation positions")
    if features.get("pos_dim"):
        parts.append("jieba parts of speech")
    if features.get("lexicon"):
        parts.append("jieba dictionary matches")
    if features.get("lexicon_dim"):
        parts.append("embeddings of the matched dictionary words (SoftLexicon)")
    if features.get("char_lm"):
        parts.append("the states of a character language model pretrained on raw text")
    if features.get("gazetteer"):
        parts.append(f"gazetteer matches ({features['gazetteer']})")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _scores_table(scores: dict[str, Any]) -> list[str]:
    rows = ["| type | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label, v in scores.get("per_type", {}).items():
        rows.append(f"| {label} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | {v['support']} |")
    support = sum(v["support"] for v in scores.get("per_type", {}).values())
    rows.append(
        f"| **all** (micro) | {scores['precision']:.4f} | {scores['recall']:.4f} | **{scores['f1']:.4f}** | {support} |"
    )
    return rows


def _describe_split(split: str, info: Any) -> str:
    if not isinstance(info, dict):
        return f"- {split}: {info}"
    sentences = f"{info['sentences']:,} sentences" if "sentences" in info else "sentences: unknown"
    if "path" in info:
        digest = f", sha256 `{info['sha256'][:16]}…`" if info.get("sha256") else ""
        return f"- {split}: `{info['path']}` ({sentences}{digest})"
    if "held_out_from_train" in info:
        share = f"{info['held_out_from_train']:.0%}"
        runs = f", in runs of {info['block']} consecutive sentences" if info.get("block", 1) > 1 else ""
        return f"- {split}: {share} of the training file held out{runs} (seed {info.get('seed')}, {sentences})"
    return f"- {split}: {info}"


def _texts_of(sentences: int) -> str:
    """Which served texts a model's tag scores without the memory tag (``model.alone_head_sentences``)."""
    if sentences <= 0:
        return "no text is"
    return "a text of one sentence is" if sentences == 1 else f"texts of up to {sentences} sentences are"


def model_card(config: dict[str, Any], name: str = "") -> str:
    """Markdown describing a checkpoint from its ``config.json`` contents."""
    features, model = config["features"], config["model"]
    metrics = config.get("metrics", {})
    data = config.get("data", {})
    lang = features["lang"]
    language = _LANGUAGES.get(lang, lang)
    types = sorted({label[2:] for label in config["labels"] if label != "O"})
    train_info = data.get("train", {}) if isinstance(data.get("train"), dict) else {}
    train_name = f"`{train_info['path']}`" if "path" in train_info else "its training file"
    model_ref = name or "PATH/TO/CHECKPOINT"
    lines = [
        f"# Model card: {name or 'NER model'}",
        "",
        f"Named-entity recogniser for {language} text: a BiLSTM-CRF over {_inputs(features)} that tags "
        f"{', '.join(types)} entities (BIOES tags, decoded with constrained Viterbi).",
        "",
        "## Intended use",
        "",
        f"Finding {', '.join(types)} mentions in {language} text resembling the training data ({train_name}), "
        "with character offsets and a per-entity probability, through `ner predict`, the Python API or the "
        "REST service:",
        "",
        "```bash",
        f'ner predict --model {model_ref} "{_EXAMPLES.get(lang, "...")}"',
        "```",
        "",
        "Not intended for decisions about the people it names without human review, nor as a source of "
        "truth on other domains without first scoring it there (`ner evaluate --report`).",
        "",
        "## Data",
        "",
    ]
    lines += [_describe_split(split, info) for split, info in data.items()] or ["- not recorded"]
    if "dev" in metrics:
        lines += [
            "",
            f"## Scores on the dev set (epoch {metrics.get('best_epoch')}, seqeval strict IOBES, entity level)",
            "",
        ]
        lines += _scores_table(metrics["dev"])
        lines += ["", "The checkpoint was chosen by this dev F1, so these scores are optimistic."]
    held_out = metrics.get("held_out", {})
    for split, scores in held_out.items():
        lines += ["", f"## Scores on held-out data: {split}", ""] + _scores_table(scores)
    lines += ["", "## Limitations", ""]
    limits = [
        f"Only {', '.join(types)}: other kinds of names (products, events, dates, amounts) are not found "
        "or are forced into these types.",
        f"Trained on one corpus ({train_name}); expect lower accuracy on other domains, genres and periods.",
    ]
    if not held_out:
        limits.append("No held-out score is recorded in this checkpoint: only the dev scores above, which chose it.")
    limits += _DESIGN_LIMITS.get(lang, [])
    limits.append(
        "Sentences longer than 250 tokens are cut into pieces before tagging; an entity across a cut is split."
    )
    lines += [f"- {item}" for item in limits]
    swap = f", pretrained swap {model['pretrained_swap']}" if model.get("pretrained_swap") else ""
    glove = features["pretrained"] == "glove-6b-50d" and "pretrained_max_words" in features
    carried = f", the {features['pretrained_max_words']:,} most frequent words carried" if glove else ""
    lexicon_words = f", lexicon words {features['lexicon_dim']}d" if features.get("lexicon_dim") else ""
    source = "jieba.cut's words" if features.get("pos_source") == "segmentation" else "jieba.posseg"
    pos = f"parts of speech {features['pos_dim']}d ({source}), " if features.get("pos_dim") else ""
    char_lm = (
        f", character language model states projected to {features['char_lm_dim']}d (frozen; pretrained by "
        f"`ner pretrain-lm`, carried in the checkpoint in float16)"
        if features.get("char_lm")
        else ""
    )
    gazetteer = (
        f", gazetteer `{features['gazetteer']}` (B/I/E/S flags per type, carried in the checkpoint)"
        if features.get("gazetteer")
        else ""
    )
    lines += [
        "",
        "## Architecture",
        "",
        f"- embeddings: word/character {features['word_dim']}d (pretrained: {features['pretrained']}{carried}), "
        f"char encoder {CHAR_ENCODER_NAMES[features['char_encoder']]}, casing {features['casing_dim']}d, "
        f"bigrams {features['bigram_dim']}d, softword {features['softword_dim']}d, "
        f"{pos}jieba lexicon {features['lexicon']}"
        f"{lexicon_words}{char_lm}"
        f"{gazetteer}",
        f"- BiLSTM {model['num_layers']} layer(s) × {model['hidden_size']} per direction, dropout {model['dropout']}"
        f"{' (locked)' if model.get('locked_dropout') else ''}, word dropout {model['word_dropout']}"
        f"{swap}; "
        "CRF (pytorch-crf) with BIOES-forbidden transitions pinned",
    ]
    if features.get("doc_memory"):
        attention = features.get("doc_memory_attention")
        segmented = features.get("doc_memory_key") == "segment"
        lines.append(
            f"- document memory: each token's tag scores also read the {'attention-weighted ' if attention else ''}"
            f"mean BiLSTM state of its word's {'' if features.get('doc_memory_self', True) else 'other '}occurrences"
            + (" (the word jieba segments it into, and its place there)" if segmented else "")
            + f" in up to {features['doc_memory']} neighbouring sentences of its document (one text)"
            + (f", with {attention}d queries and keys" if attention else "")
            + (
                f"; in training, {model['doc_memory_alone']:.0%} of the sentences (drawn each epoch) read a memory of"
                " their own sentence alone, as a one-sentence request does"
                if model.get("doc_memory_alone")
                else ""
            )
            + (
                f"; {_texts_of(model.get('alone_head_sentences', 1))} tagged by a second set of tag scores that"
                " reads no memory, fitted after training with the rest of the model frozen"
                if model.get("alone_head")
                else ""
            )
        )
    sources = shipped_sources(features["gazetteer"]) if features.get("gazetteer") else []
    if sources:
        lines.append(f"- gazetteer `{features['gazetteer']}`: " + " ".join(sources))
    if model.get("emit_hidden"):
        lines.append(f"- a tanh layer of {model['emit_hidden']} between the BiLSTM and the tag scores")
    training = config.get("train") if isinstance(config.get("train"), dict) else {}
    if training.get("lm_weight"):
        lines.append(
            f"- trained with a neighbour-word language model beside the CRF (weight {training['lm_weight']}, "
            f"{training.get('lm_vocab')} words; Rei 2017): training only, not part of the checkpoint"
        )
    if training.get("mention_replace"):
        lines.append(
            f"- trained with mention replacement: each epoch, {training['mention_replace']:.0%} of the training"
            " mentions replaced by other training mentions of their type (Dai & Adel 2020)"
            + (
                f", {training['mention_dictionary']:.0%} of those where the type has any by names of its kind from"
                " jieba's dictionary"
                if training.get("mention_dictionary")
                else ""
            )
        )
    teachers = comma_list(str(training.get("teachers") or ""))
    if teachers:
        lines.append(
            f"- distilled: trained on the gold tags (weight {1 - training.get('teacher_weight', 0.5):g}) and on the"
            f" tag-path distribution of {len(teachers)} trained model(s) (named as when this one was trained:"
            f" {', '.join(f'`{t}`' for t in teachers)};"
            f" weight {training.get('teacher_weight', 0.5):g})"
            + (", and on that distribution alone over the unlabelled text above" if "unlabelled" in data else "")
            + "; the teachers are not part of the checkpoint"
        )
    if training.get("average_epochs"):
        lines.append(
            f"- the weights are the mean of the weights at the ends of the last {training['average_epochs']} epochs"
        )
    elif training.get("ema_decay"):
        lines.append(
            f"- the weights are an exponential moving average of the training weights (decay {training['ema_decay']})"
        )
    if model.get("embedding_storage") == "float16":
        lines.append("- the embedding tables are stored in float16 in the checkpoint and read back as float32")
    fit = metrics.get("alone_head")
    if isinstance(fit, dict) and fit.get("epochs"):
        lines += [
            "",
            f"Dev F1 with every sentence tagged as a text of its own, as one-sentence requests are: "
            f"{fit['dev_f1_alone']:.4f}, through the tag scores without the memory (epoch {fit['best_epoch']} of "
            "their fit).",
        ]
    if "train_seconds" in metrics:
        lines += ["", f"Training time to this checkpoint: {metrics['train_seconds']:.0f} s of training epochs."]
    if config.get("command"):
        lines += ["", "## Trained with", "", "```bash", config["command"], "```"]
    versions = config.get("versions", {})
    if versions:
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    lines.append("")
    return "\n".join(lines)
