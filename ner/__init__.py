"""Named-entity recognition with a char+word BiLSTM-CRF: ``from ner import load``."""

from ner.pipeline import Entity, Tagger, load

__all__ = ["Entity", "Tagger", "load"]
