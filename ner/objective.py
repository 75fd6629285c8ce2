"""What training minimises: the tagger's CRF loss, plus an optional neighbour-word language model and an optional
adversarial reading of the same batch (``train.adversarial``, :meth:`TrainingObjective.loss`).

The language-modelling objective follows Rei (2017), "Semi-supervised Multitask Learning for Sequence
Labeling": the forward half of the word BiLSTM's state at token t predicts token t+1, the backward half
predicts token t-1, each through a small tanh layer and a softmax over the most frequent training words.
Predicting the neighbours asks the BiLSTM to model every word of the training text, not only the
entities, which is extra signal from the same data. The heads live here, outside the tagger: they are
trained alongside it, never used for tagging, and never saved in a checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ner.distill import soft_nll
from ner.features import Batch
from ner.model import BiLstmCrf

BOUNDARY = 0  # target class "no neighbour": before the first token, after the last (word id 0 is padding)
UNKNOWN = 1  # target class of the words outside the predicted vocabulary (word id 1 is <unk>)
IGNORE = -100  # padding positions: no target
LM_HIDDEN = 50  # the tanh layer between a state and its softmax, as in Rei (2017)


def neighbour_targets(words: torch.Tensor, mask: torch.Tensor, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each token's next and previous word as target classes, both (B, T).

    ``words`` (B, T) are word ids, whose vocabulary ranks training words by frequency, so the ids below
    ``vocab_size`` are the most frequent words: they are their own class, the rest :data:`UNKNOWN`. The
    last token's next word and the first token's previous one are :data:`BOUNDARY`; padding is
    :data:`IGNORE`.
    """
    ids = torch.where(words < vocab_size, words, torch.full_like(words, UNKNOWN)).masked_fill(~mask, IGNORE)
    rows = torch.arange(words.shape[0], device=words.device)
    following = torch.full_like(ids, IGNORE)
    following[:, :-1] = ids[:, 1:]
    following[rows, mask.sum(dim=1) - 1] = BOUNDARY
    preceding = torch.full_like(ids, IGNORE)
    preceding[:, 1:] = ids[:, :-1]
    preceding[:, 0] = BOUNDARY
    return following, preceding.masked_fill(~mask, IGNORE)


class NeighbourWordLM(nn.Module):
    """Two heads over the BiLSTM states: forward half → next word, backward half → previous word."""

    def __init__(self, state_size: int, vocab_size: int, dropout: float) -> None:
        """``state_size``: both directions together; ``vocab_size``: the word ids predicted as themselves."""
        super().__init__()
        if state_size % 2 or vocab_size < 2:
            raise ValueError("need an even state size (two directions) and at least the two special classes")
        self.vocab_size = vocab_size
        self.dropout = nn.Dropout(dropout)

        def head() -> nn.Module:
            return nn.Sequential(nn.Linear(state_size // 2, LM_HIDDEN), nn.Tanh(), nn.Linear(LM_HIDDEN, vocab_size))

        self.next_word = head()
        self.previous_word = head()

    def forward(self, states: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of both neighbours, summed over tokens, mean per sentence (the CRF
        loss's scale). ``states`` (B, T, H) from :meth:`BiLstmCrf.encode`; ``words`` the batch's word ids
        before word dropout."""
        following, preceding = neighbour_targets(words, mask, self.vocab_size)
        half = states.shape[2] // 2
        h = self.dropout(states)
        loss = F.cross_entropy(self.next_word(h[..., :half]).flatten(0, 1), following.flatten(), reduction="sum")
        loss = loss + F.cross_entropy(
            self.previous_word(h[..., half:]).flatten(0, 1), preceding.flatten(), reduction="sum"
        )
        return loss / states.shape[0]


class TrainingObjective(nn.Module):
    """The tagger with what training adds to it: ``loss(batch)`` is the CRF loss, plus ``lm_weight`` times
    the :class:`NeighbourWordLM` loss when there is one. With soft targets in the batch (``train.teachers``),
    the CRF loss is ``1 - teacher_weight`` times that of the gold tags plus ``teacher_weight`` times the
    cross-entropy against the teachers' path distribution (:func:`ner.distill.soft_nll`); a row without gold tags
    (``batch.gold`` False: ``train.unlabelled``) has that cross-entropy alone, and a row the teachers never saw
    (``batch.taught`` False: rewritten by ``train.mention_replace``) the gold tags' loss alone. With
    ``adversarial`` (in training mode), the loss is the mean of the batch's and of the batch with its token
    features moved the worst way (:meth:`loss`)."""

    def __init__(
        self,
        tagger: BiLstmCrf,
        lm: NeighbourWordLM | None = None,
        lm_weight: float = 0.0,
        teacher_weight: float = 0.0,
        adversarial: float = 0.0,
    ) -> None:
        super().__init__()
        self.tagger = tagger
        self.lm = lm
        self.lm_weight = lm_weight
        self.teacher_weight = teacher_weight
        self.adversarial = adversarial

    @classmethod
    def for_tagger(
        cls, tagger: BiLstmCrf, lm_weight: float, lm_vocab: int, teacher_weight: float = 0.0, adversarial: float = 0.0
    ) -> TrainingObjective:
        """The objective for ``tagger``: the CRF loss alone when ``lm_weight`` is 0; else with a language
        model over the ``lm_vocab`` most frequent training words (at most the trained rows)."""
        if not lm_weight:
            return cls(tagger, teacher_weight=teacher_weight, adversarial=adversarial)
        vocab = min(lm_vocab, tagger.word_embed.num_embeddings)
        lm = NeighbourWordLM(2 * tagger.config.hidden_size, vocab, tagger.config.dropout)
        return cls(tagger, lm, lm_weight, teacher_weight, adversarial)

    def loss(self, batch: Batch) -> torch.Tensor:
        """The training loss of one batch (with tags).

        With ``adversarial`` ε in training (Miyato et al. 2017's fast gradient method): each sentence's token
        features x (T tokens of D numbers, from :meth:`BiLstmCrf.represent`) are also read as
        ``x + ε √T g / ‖g‖``, where g is the loss gradient with respect to x, so that a token moves by ε on
        average; the loss is the mean of the two readings' (a mean, not Miyato's sum, so that the gradient's
        scale, and with it SGD's step, stays that of the loss alone; ε = 0 is training without it). Both
        readings share x, so the character encoder and the embeddings run once, and the perturbation is a
        constant: the gradient flows back through x."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with tags")
        inputs = self.tagger.represent(batch)  # shape: (batch_size, seq_length, features)
        loss = self._loss(batch, inputs)
        if self.adversarial and self.training:
            (grad,) = torch.autograd.grad(loss, inputs, retain_graph=True)
            norm = grad.flatten(1).norm(dim=1).clamp(min=1e-12)  # shape: (batch_size,)
            scale = self.adversarial * batch.mask.sum(dim=1).float().sqrt() / norm  # shape: (batch_size,)
            loss = 0.5 * (loss + self._loss(batch, inputs + grad * scale.view(-1, 1, 1)))
        return loss

    def _loss(self, batch: Batch, inputs: torch.Tensor) -> torch.Tensor:
        """The loss of ``batch`` read through the token features ``inputs``."""
        assert batch.tags is not None
        states = self.tagger.encode(batch, inputs)
        emissions = self.tagger.emissions(batch, states)
        unary, pairwise = batch.soft_unary, batch.soft_pairwise
        if unary is not None and pairwise is not None and (self.teacher_weight or batch.gold is not None):
            gold = -self.tagger.crf(emissions, batch.tags, mask=batch.mask, reduction="none")  # (B,)
            soft = soft_nll(self.tagger.crf, emissions, batch.mask, unary, pairwise, reduction="none")
            both = (1.0 - self.teacher_weight) * gold + self.teacher_weight * soft
            # rows without gold tags (train.unlabelled) learn the teachers' distribution alone, at full weight
            rows = both if batch.gold is None else torch.where(batch.gold, both, soft)
            if batch.taught is not None:  # rows rewritten by mention replacement: their gold tags alone
                rows = torch.where(batch.taught, rows, gold)
            loss = rows.mean()
        else:
            loss = self.tagger.crf.nll(emissions, batch.tags, batch.mask)
        if self.lm is not None:
            loss = loss + self.lm_weight * self.lm(states, batch.words, batch.mask)
        return loss
