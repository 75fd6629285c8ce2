"""A character language model pretrained on raw text, whose states become token features.

Contextual string embeddings after Akbik et al. (2018): two LSTMs over a sentence's characters, one
reading forward and one backward, each trained to predict the next (previous) character on unlabelled
text (:mod:`ner.pretrain_lm`, ``ner pretrain-lm``). A tagger with ``features.char_lm`` reads, for every
token, the forward state at its last character and the backward state at its first: each has read the
whole sentence on its side of the token. The language model stays frozen in the tagger; only a projection
of its states is learnt.

A pretrained language model is one safetensors file: its weights (the prediction heads included, so that
pretraining can go on) and, in the metadata, its :class:`CharLMSpec` as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import safetensors.torch
import torch
from torch import nn

from ner.padding import reverse_index
from ner.shipped import PRETRAINED, resolve_shipped
from ner.vocab import Vocab

# What joins a sentence's tokens into the text the language model reads: Chinese tokens are characters of
# text written without spaces; English tokens were separated by white space.
SEPARATORS = {"en": " ", "zh": ""}
BOUNDARY = "</s>"  # what the forward model predicts after a sentence's last character (the backward: before its first)
SPEC_KEY = "char_lm"
# Language models shipped with the library, named by features.char_lm = "NAME" (the file charlm-NAME.safetensors)
SHIPPED = PRETRAINED


@dataclass(frozen=True)
class CharLMSpec:
    """The shape and the character vocabulary of a pretrained character language model."""

    chars: Vocab  # sorted by frequency (ids 0 and 1 are padding and unknown), BOUNDARY among them
    embed_dim: int
    hidden_size: int  # per direction
    separator: str  # between tokens, in the text the model reads

    def to_json(self) -> dict[str, object]:
        return {
            "chars": list(self.chars.items),
            "embed_dim": self.embed_dim,
            "hidden_size": self.hidden_size,
            "separator": self.separator,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CharLMSpec:
        """Raises ``ValueError`` (or ``KeyError``/``TypeError``) on a malformed record."""
        chars = data["chars"]
        if not isinstance(chars, list) or BOUNDARY not in chars:
            raise ValueError(f"a character language model's vocabulary must be a list holding {BOUNDARY}")
        spec = cls(Vocab(chars), int(data["embed_dim"]), int(data["hidden_size"]), str(data["separator"]))
        if spec.embed_dim <= 0 or spec.hidden_size <= 0:
            raise ValueError("a character language model needs positive embed_dim and hidden_size")
        return spec

    def encode(self, tokens: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """The character ids of ``tokens`` joined by the separator, and each token's first and last
        character's position among them."""
        firsts, lasts, pos = [], [], 0
        for i, token in enumerate(tokens):
            if i:
                pos += len(self.separator)
            firsts.append(pos)
            pos += len(token)
            lasts.append(pos - 1)
        return self.chars.lookup(self.separator.join(tokens)), firsts, lasts


class CharLM(nn.Module):
    """Character embeddings → a forward and a backward LSTM; no prediction heads (see :mod:`ner.pretrain_lm`)."""

    def __init__(self, num_chars: int, embed_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_chars, embed_dim, padding_idx=0)
        self.forward_lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.backward_lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.hidden_size = hidden_size

    @classmethod
    def for_spec(cls, spec: CharLMSpec) -> CharLM:
        return cls(len(spec.chars), spec.embed_dim, spec.hidden_size)

    def states(self, chars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward and the backward states at each character, each (B, S, H), of right-padded character
        ids ``chars`` (B, S) (0 is padding): the forward state at s has read characters 0..s, the backward
        state at s has read s to the row's end. Padding never reaches a real position."""
        mask = chars != 0
        x = self.embed(chars)
        forward = self.forward_lstm(x)[0]
        if bool(mask.all()):  # no padding: reversing is a flip
            return forward, self.backward_lstm(x.flip(1))[0].flip(1)
        rev = reverse_index(mask).unsqueeze(2)
        backward = self.backward_lstm(x.gather(1, rev.expand(-1, -1, x.shape[2])))[0]
        return forward, backward.gather(1, rev.expand(-1, -1, backward.shape[2]))

    def token_states(self, chars: torch.Tensor, firsts: torch.Tensor, lasts: torch.Tensor) -> torch.Tensor:
        """Each token's forward state at its last character beside its backward state at its first, (B, T, 2H);
        ``firsts``, ``lasts``: (B, T) positions in ``chars`` (B, S) (anything at padding tokens)."""
        forward, backward = self.states(chars)
        h = self.hidden_size
        return torch.cat(
            [
                forward.gather(1, lasts.unsqueeze(2).expand(-1, -1, h)),
                backward.gather(1, firsts.unsqueeze(2).expand(-1, -1, h)),
            ],
            dim=2,
        )


def save_char_lm(path: str | Path, spec: CharLMSpec, state: dict[str, torch.Tensor]) -> Path:
    """Write a pretrained language model's ``state`` (its :class:`CharLM` weights under ``lm.``, anything
    else, such as the prediction heads, beside them) and ``spec`` to one safetensors file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    safetensors.torch.save_file(tensors, tmp, metadata={SPEC_KEY: json.dumps(spec.to_json(), ensure_ascii=False)})
    os.chmod(tmp, 0o644)  # read by other users (a service), whatever the umask
    tmp.replace(path)
    return path


def resolve_char_lm(name_or_path: str | Path) -> Path:
    """The file of ``features.char_lm``: a path, or the name of a language model shipped with the library (NAME for
    ``charlm-NAME.safetensors`` in :data:`SHIPPED`). Raises ``ValueError`` naming both places, and the shipped names,
    when neither holds one."""
    return resolve_shipped(name_or_path, "charlm", ".safetensors", "character language model", "features.char_lm")


def load_char_lm(name_or_path: str | Path, weights: bool = True) -> tuple[CharLMSpec, dict[str, torch.Tensor]]:
    """The spec and the whole state of a file of :func:`save_char_lm` (or a shipped name, :func:`resolve_char_lm`);
    with ``weights`` off, the spec and no tensors (no tensor is read). Raises ``ValueError`` naming the file when it
    is not one."""
    path = resolve_char_lm(name_or_path)
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()} if weights else {}
        spec = CharLMSpec.from_json(json.loads(metadata[SPEC_KEY]))
    except (KeyError, TypeError, ValueError, OSError, safetensors.SafetensorError) as e:
        raise ValueError(f"{path}: not a character language model of `ner pretrain-lm` ({e})") from None
    return spec, state


def serving_copy(source: str | Path, target: str | Path) -> Path:
    """Write the language model of ``source`` without its prediction heads, in float16, to ``target``: what a
    tagger reads (:func:`lm_weights`), a third of the pretraining file's size."""
    spec, state = load_char_lm(source)
    return save_char_lm(target, spec, {k: v.to(torch.float16) for k, v in state.items() if k.startswith("lm.")})


def lm_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The :class:`CharLM` part of a pretraining state (the keys under ``lm.``), rounded to float16 and back:
    a tagger stores its frozen language model in float16, so it trains on what it will be served with."""
    return {k[len("lm.") :]: v.to(torch.float16).to(torch.float32) for k, v in state.items() if k.startswith("lm.")}
