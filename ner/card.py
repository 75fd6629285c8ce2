"""Model cards: a short Markdown summary written into every checkpoint directory."""

from __future__ import annotations

from typing import Any


def _scores_table(scores: dict[str, Any]) -> list[str]:
    rows = ["| type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, v in scores.get("per_type", {}).items():
        rows.append(f"| {label} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | {v['support']} |")
    rows.append(f"| **all** | {scores['precision']:.4f} | {scores['recall']:.4f} | **{scores['f1']:.4f}** | |")
    return rows


def model_card(config: dict[str, Any], name: str = "") -> str:
    """Markdown describing a checkpoint from its ``config.json`` contents."""
    features, model = config["features"], config["model"]
    metrics = config.get("metrics", {})
    data = config.get("data", {})
    types = sorted({label[2:] for label in config["labels"] if label != "O"})
    lines = [
        f"# Model card: {name or 'NER model'}",
        "",
        f"Char+word BiLSTM-CRF, language `{features['lang']}`, entity types {', '.join(types)}, BIOES tags.",
        "",
        "## Architecture",
        "",
        f"- word/character embeddings {features['word_dim']}d (pretrained: {features['pretrained']}); "
        f"char encoder: {features['char_encoder']}; casing {features['casing_dim']}d; "
        f"bigrams {features['bigram_dim']}d; softword {features['softword_dim']}d; "
        f"jieba lexicon: {features['lexicon']}",
        f"- BiLSTM {model['num_layers']} layer(s) × {model['hidden_size']} per direction, dropout {model['dropout']}, "
        f"word dropout {model['word_dropout']}; CRF with BIOES-forbidden transitions pinned",
        "",
        "## Data",
        "",
    ]
    for split, info in data.items():
        lines.append(f"- {split}: {info}")
    if "dev" in metrics:
        lines += ["", f"## Dev scores (epoch {metrics.get('best_epoch')}, seqeval strict IOBES)", ""]
        lines += _scores_table(metrics["dev"])
    for split, scores in metrics.get("held_out", {}).items():
        lines += ["", f"## Held-out scores: {split}", ""] + _scores_table(scores)
    if "train_seconds" in metrics:
        lines += ["", f"Training time to this checkpoint: {metrics['train_seconds']:.0f} s of training epochs."]
    if config.get("command"):
        lines += ["", "## Trained with", "", "```bash", config["command"], "```"]
    lines += ["", f"Versions: {config.get('versions', {})}", ""]
    return "\n".join(lines)
