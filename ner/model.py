"""The tagger network: token features → BiLSTM → emissions → constrained CRF.

Ids in, ids out: no strings and no I/O here. Shape letters used in comments: B batch size,
T tokens per sentence (padded), L characters per token (padded), D feature size, H LSTM output
size (both directions), K number of tags.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ner.charlm import CharLM, CharLMSpec
from ner.config import FeatureConfig, ModelConfig
from ner.crf import ConstrainedCRF, Posteriors
from ner.features import CASINGS, Batch, Featurizer
from ner.lexicon import LEXICON_POSITIONS, LEXICON_SIZE, POS_SIZE, SOFTWORD_TAGS
from ner.padding import reverse_index
from ner.tags import allowed_transitions


class LockedDropout(nn.Module):
    """Dropout with one mask per sentence, shared by all its tokens (Gal & Ghahramani 2016): a feature
    dropped for one token is dropped for the whole sequence, so the BiLSTM cannot lean on its neighbours."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (B, T, D); unchanged outside training."""
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p)
        return x * mask / (1 - self.p)


class CharCNN(nn.Module):
    """Character embeddings → 1-D convolution (width 3) → max over each token's characters."""

    def __init__(self, num_chars: int, char_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(char_dim, hidden, kernel_size=3, padding=1)
        self.output_dim = hidden

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, length = chars.shape
        flat = chars.view(b * t, length)
        # shape: (B*T, D, L): Conv1d wants channels before positions
        x = self.dropout(self.embed(flat)).transpose(1, 2)
        x = self.conv(x)
        # Padding characters must never win the max.
        x = x.masked_fill((flat == 0).unsqueeze(1), float("-inf"))
        x = x.max(dim=2).values
        # Padding tokens have no characters at all: give them zeros instead of -inf.
        x = x.masked_fill(torch.isinf(x), 0.0)
        return x.view(b, t, -1)  # (B, T, hidden)


class CharBiLSTM(nn.Module):
    """Character embeddings → BiLSTM over each token → final states of both directions."""

    def __init__(self, num_chars: int, char_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(char_dim, hidden // 2, batch_first=True, bidirectional=True)
        self.output_dim = hidden // 2 * 2

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, length = chars.shape
        flat = chars.view(b * t, length)
        lengths = (flat != 0).sum(dim=1)
        out = torch.zeros(b * t, self.output_dim, device=chars.device)
        real = lengths > 0
        if real.any():
            x = self.dropout(self.embed(flat[real]))  # (N, L, D)
            packed = pack_padded_sequence(x, lengths[real].cpu(), batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)  # h: (2, N, hidden/2)
            out[real] = torch.cat([h[0], h[1]], dim=1)
        return out.view(b, t, -1)  # (B, T, hidden)


CHAR_ENCODERS = {"cnn": CharCNN, "lstm": CharBiLSTM}


def lstm_packed(lstm: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A batch-first ``lstm`` over a right-padded batch through a packed sequence, padded back to (B, T, H)."""
    packed = pack_padded_sequence(x, mask.sum(dim=1).cpu(), batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]


def bilstm_padded(lstm: nn.LSTM, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The outputs of a batch-first bidirectional ``lstm`` on a right-padded batch, without packing.

    Gives what ``pack_padded_sequence`` → ``lstm`` → ``pad_packed_sequence`` gives (to float rounding, and
    with the same dropout between layers while training), but runs each direction as one unidirectional
    LSTM over the padded tensor, which on CPU is faster: the input projection is computed for all steps at
    once (measured in docs/PERFORMANCE.md: about 1.8× at inference, 1.5× for a training step). The forward
    direction never sees the padding that follows a row's tokens; the backward direction runs forward over
    each row reversed in place (padding stays at the end), and its outputs are reversed back. Padding
    positions come out as zeros. x: (B, T, D), mask: (B, T) bool.
    """
    if not (lstm.bidirectional and lstm.batch_first) or lstm.proj_size:
        raise ValueError("bilstm_padded needs a batch-first bidirectional LSTM without projections")
    if bool(mask.all()):  # no padding (always so for one sentence): one call, both directions
        return lstm(x)[0]
    b, t, _ = x.shape
    rev = reverse_index(mask).unsqueeze(2)  # (B, T, 1)
    zeros = x.new_zeros(1, b, lstm.hidden_size)
    for layer in range(lstm.num_layers):
        if layer and lstm.training and lstm.dropout:
            x = nn.functional.dropout(x, lstm.dropout, training=True)
        outputs = []
        for suffix in ("", "_reverse"):
            params = [getattr(lstm, f"{name}_l{layer}{suffix}") for name in ("weight_ih", "weight_hh")]
            if lstm.bias:
                params += [getattr(lstm, f"{name}_l{layer}{suffix}") for name in ("bias_ih", "bias_hh")]
            inp = x if not suffix else x.gather(1, rev.expand(-1, -1, x.shape[2]))
            out = torch.lstm(inp, (zeros, zeros), params, lstm.bias, 1, 0.0, False, False, True)[0]  # (B, T, H/2)
            outputs.append(out if not suffix else out.gather(1, rev.expand(-1, -1, out.shape[2])))
        x = torch.cat(outputs, dim=2) * mask.unsqueeze(2)
    return x


def document_memory(states: torch.Tensor, groups: torch.Tensor, include_self: bool = True) -> torch.Tensor:
    """The mean of ``states`` over each token's group, (B, T, H): for every token, the average BiLSTM state
    of all the batch's tokens in its group (the occurrences of one word in one document window, itself
    included unless ``include_self`` is off: then the mean of the other occurrences, zeros for a word that
    occurs once); zeros at padding (group 0). ``states``: (B, T, H); ``groups``: (B, T) long."""
    flat = states.reshape(-1, states.shape[-1])
    index = groups.reshape(-1)
    size = int(index.max()) + 1 if index.numel() else 1
    sums = flat.new_zeros(size, flat.shape[1]).index_add_(0, index, flat)
    counts = flat.new_zeros(size).index_add_(0, index, flat.new_ones(index.shape[0]))
    own = 0.0 if include_self else 1.0  # the token's own state, taken out of its group's sum
    n = counts[index] - own  # (N,) how many states each token's mean is over
    memory = (sums[index] - own * flat) / n.clamp_min(1).unsqueeze(1)
    return (memory * ((n > 0) & (index > 0)).unsqueeze(1)).view_as(states)  # zeros: nothing to average, padding


def attended_memory(
    states: torch.Tensor,
    groups: torch.Tensor,
    queries: torch.Tensor,
    keys: torch.Tensor,
    include_self: bool = True,
) -> torch.Tensor:
    """Like :func:`document_memory`, but each token's memory weighs its group's states by attention, (B, T, H):
    token i reads ``sum_j softmax_j(q_i . k_j / sqrt(d)) states_j`` over the j in its group (itself
    included unless ``include_self`` is off), as the document memory of Luo et al. (2020) attends over the
    occurrences of a word. Equal queries or keys give :func:`document_memory`'s mean. ``queries``,
    ``keys``: (B, T, d). Only pairs within one group are scored: the groups of each size n are stacked
    and scored as one batch of (n × n) matrices, so the cost is the sum of the squared group sizes, never
    (B T)², and no (pairs × d) or (pairs × H) tensor is ever gathered."""
    hidden, dim = states.shape[-1], queries.shape[-1]
    index = groups.reshape(-1)
    pos = (index > 0).nonzero().squeeze(1)  # real tokens: padding (group 0) reads and gives nothing
    out = states.new_zeros(index.shape[0], hidden)
    if pos.numel() == 0:
        return out.view_as(states)
    g = index[pos]
    by_group = torch.argsort(g, stable=True)  # each group's tokens together
    size = torch.bincount(g)[g[by_group]]  # the size of each token's group, in that order
    by_size = torch.argsort(size, stable=True)  # and the groups of one size together
    sizes, runs = torch.unique_consecutive(size[by_size], return_counts=True)
    rows = pos[by_group[by_size]]  # gathered once in this order: each size's groups are then one slice
    flat = states.reshape(-1, hidden)[rows]
    q = queries.reshape(-1, dim)[rows] / dim**0.5
    k = keys.reshape(-1, dim)[rows]
    pieces = []
    begin = 0
    for n, run in zip(sizes.tolist(), runs.tolist()):
        span = slice(begin, begin + run)
        begin += run
        if n == 1:  # a word seen once in its window reads itself (a softmax over one), or nothing: zeros
            pieces.append(flat[span] if include_self else flat.new_zeros(run, hidden))
            continue
        scores = q[span].view(-1, n, dim) @ k[span].view(-1, n, dim).transpose(1, 2)  # (groups, n, n)
        if not include_self:
            scores = scores.masked_fill(torch.eye(n, dtype=torch.bool, device=scores.device), float("-inf"))
        pieces.append((torch.softmax(scores, dim=-1) @ flat[span].view(-1, n, hidden)).reshape(run, hidden))
    out[rows] = torch.cat(pieces)  # indexing assignment: several times faster than index_copy on the CPU
    return out.view_as(states)


class DocumentMemory(nn.Module):
    """Each token's document memory from the BiLSTM states of its group (``features.doc_memory``): the mean
    (:func:`document_memory`) or, with ``features.doc_memory_attention = d``, attention with d-dimensional
    queries and keys (:func:`attended_memory`). The query projection starts at zero, so an attending memory
    starts as the mean and learns from there."""

    def __init__(self, hidden: int, attention_dim: int = 0, include_self: bool = True) -> None:
        super().__init__()
        self.include_self = include_self
        self.query: nn.Linear | None = None
        self.key: nn.Linear | None = None
        if attention_dim:
            self.query = nn.Linear(hidden, attention_dim, bias=False)
            self.key = nn.Linear(hidden, attention_dim, bias=False)
            nn.init.zeros_(self.query.weight)

    def forward(self, states: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        """``states``: (B, T, H); ``groups``: (B, T) long, 0 at padding. Returns (B, T, H)."""
        return self.read(states, groups, self.attention_inputs(states))

    def attention_inputs(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The queries and keys of ``states`` (B, T, H), each (B, T, d); ``None`` for the mean memory."""
        if self.query is None or self.key is None:
            return None
        return self.query(states), self.key(states)

    def read(
        self, values: torch.Tensor, groups: torch.Tensor, attention: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """Each token's memory of ``values`` (B, T, V) over its group, (B, T, V), weighted by ``attention``
        (:meth:`attention_inputs` of the states) or evenly. The memory is a weighted mean, linear in the
        values: the memory of a linear map of the states is that map of their memory, which lets tagging
        read the memory's tag scores (V = K) instead of the states themselves (V = H)."""
        if attention is None:
            return document_memory(values, groups, self.include_self)
        return attended_memory(values, groups, *attention, self.include_self)


class BiLstmCrf(nn.Module):
    """Char + word BiLSTM-CRF over BIOES labels."""

    def __init__(
        self,
        features: FeatureConfig,
        config: ModelConfig,
        labels: Sequence[str],
        num_words: int,
        num_chars: int = 0,
        num_bigrams: int = 0,
        num_fixed_words: int = 0,
        num_lexicon_words: int = 0,
        char_lm: CharLMSpec | None = None,
        gazetteer_flags: int = 0,
    ) -> None:
        """``num_fixed_words``: how many of the ``num_words`` word ids (the last ones) look up fixed
        pretrained vectors, stored in int8 (:meth:`set_fixed_words`), instead of rows of ``word_embed``.
        ``num_lexicon_words``: rows of the SoftLexicon word table (``features.lexicon_dim``).
        ``char_lm``: the shape of the pretrained character language model (``features.char_lm``), whose
        weights :meth:`set_char_lm` gives. ``gazetteer_flags``: flags per token of ``features.gazetteer``
        (4 per type)."""
        super().__init__()
        if not 0 <= num_fixed_words < num_words:
            raise ValueError(f"num_fixed_words must lie in [0, {num_words}), got {num_fixed_words}")
        self.features = features
        self.config = config
        self.labels = list(labels)
        self.word_embed = nn.Embedding(num_words - num_fixed_words, features.word_dim, padding_idx=0)
        self.num_fixed_words = num_fixed_words
        if num_fixed_words:  # registered only when used: checkpoints without them load as before
            self.register_buffer("fixed_words", torch.zeros(num_fixed_words, features.word_dim, dtype=torch.int8))
            self.register_buffer("fixed_words_scale", torch.zeros(num_fixed_words, 1))
        # The trained rows' pretrained vectors, for model.pretrained_swap (training only: never saved).
        self.register_buffer("original_words", None, persistent=False)
        self.register_buffer("original_words_found", None, persistent=False)
        dim = features.word_dim
        self.char_encoder: nn.Module | None = None
        if features.char_encoder != "none":
            encoder_cls = CHAR_ENCODERS[features.char_encoder]
            self.char_encoder = encoder_cls(num_chars, features.char_dim, features.char_hidden, config.dropout)
            dim += self.char_encoder.output_dim
        self.casing_embed = (
            nn.Embedding(len(CASINGS), features.casing_dim, padding_idx=0) if features.casing_dim else None
        )
        dim += features.casing_dim
        self.bigram_embed = (
            nn.Embedding(num_bigrams, features.bigram_dim, padding_idx=0) if features.bigram_dim else None
        )
        dim += features.bigram_dim
        self.softword_embed = (
            nn.Embedding(len(SOFTWORD_TAGS), features.softword_dim, padding_idx=0) if features.softword_dim else None
        )
        dim += features.softword_dim
        self.pos_embed = nn.Embedding(POS_SIZE, features.pos_dim, padding_idx=0) if features.pos_dim else None
        dim += features.pos_dim
        dim += LEXICON_SIZE if features.lexicon else 0
        self.lexicon_embed = (
            nn.Embedding(num_lexicon_words, features.lexicon_dim, padding_idx=0) if features.lexicon_dim else None
        )
        dim += len(LEXICON_POSITIONS) * features.lexicon_dim
        if features.gazetteer and not gazetteer_flags:
            raise ValueError("features.gazetteer needs the gazetteer's number of flags")
        self.gazetteer_flags = gazetteer_flags if features.gazetteer else 0
        dim += self.gazetteer_flags
        self.char_lm: CharLM | None = None
        self.char_lm_proj: nn.Linear | None = None
        if features.char_lm:
            if char_lm is None:
                raise ValueError("features.char_lm needs the language model's shape")
            self.char_lm = CharLM.for_spec(char_lm).requires_grad_(False)
            self.char_lm_proj = nn.Linear(2 * char_lm.hidden_size, features.char_lm_dim)
            dim += features.char_lm_dim
        self.dropout = LockedDropout(config.dropout) if config.locked_dropout else nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            dim,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        # With a document memory the tag scores read each token's state and its word's memory side by side.
        self.memory: DocumentMemory | None = None
        if features.doc_memory:
            self.memory = DocumentMemory(
                2 * config.hidden_size, features.doc_memory_attention, features.doc_memory_self
            )
        emit_in = (4 if features.doc_memory else 2) * config.hidden_size
        # model.emit_hidden: a tanh layer between the states and the tag scores (Lample et al. 2016)
        self.emit_hidden = nn.Linear(emit_in, config.emit_hidden) if config.emit_hidden else None
        self.emit = nn.Linear(config.emit_hidden or emit_in, len(self.labels))
        # model.alone_head: tag scores of the states without the memory, for memory windows of few sentences
        alone = config.alone_head and self.memory is not None
        self.emit_alone = nn.Linear(2 * config.hidden_size, len(self.labels)) if alone else None
        self.crf = ConstrainedCRF(*allowed_transitions(self.labels))

    @classmethod
    def for_featurizer(cls, featurizer: Featurizer, config: ModelConfig, labels: Sequence[str]) -> BiLstmCrf:
        """A model whose embedding tables match the featurizer's vocabularies."""
        return cls(
            featurizer.config,
            config,
            labels,
            num_words=len(featurizer.words),
            num_chars=len(featurizer.chars) if featurizer.chars else 0,
            num_bigrams=len(featurizer.bigrams) if featurizer.bigrams else 0,
            num_fixed_words=featurizer.fixed_words,
            num_lexicon_words=len(featurizer.lexicon_words) if featurizer.lexicon_words else 0,
            char_lm=featurizer.char_lm,
            gazetteer_flags=featurizer.gazetteer.size if featurizer.gazetteer else 0,
        )

    def set_char_lm(self, weights: dict[str, torch.Tensor]) -> None:
        """Load the pretrained character language model's weights (:func:`ner.charlm.lm_weights`); they stay frozen."""
        if self.char_lm is None:
            raise ValueError("this model has no character language model (features.char_lm)")
        self.char_lm.load_state_dict(weights, strict=True)
        self.char_lm.requires_grad_(False)

    def set_fixed_words(self, vectors: torch.Tensor) -> None:
        """Store the fixed pretrained vectors, (num_fixed_words, word_dim), as int8 with one scale per row
        (the row's largest magnitude maps to 127): a quarter of float32's size, within 0.4% of each
        row's largest value."""
        if vectors.shape != (self.num_fixed_words, self.features.word_dim):
            raise ValueError(f"expected fixed vectors of shape {(self.num_fixed_words, self.features.word_dim)}")
        scale = vectors.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127.0
        self.fixed_words.copy_(torch.round(vectors / scale).to(torch.int8))
        self.fixed_words_scale.copy_(scale)

    def set_original_words(self, vectors: torch.Tensor, has_vector: torch.Tensor) -> None:
        """Keep the pretrained vectors the trained rows started from, (trained rows, word_dim), with
        ``has_vector`` (trained rows,) bool marking rows that had one, for ``model.pretrained_swap``. Held
        in a buffer that checkpoints leave out: only training reads it."""
        rows = self.word_embed.num_embeddings
        if vectors.shape != (rows, self.features.word_dim) or has_vector.shape != (rows,):
            raise ValueError(f"expected original vectors for the {rows} trained rows")
        self.original_words = vectors.to(self.word_embed.weight.dtype).clone()
        self.original_words_found = has_vector.to(torch.bool).clone()

    def word_vectors(self, words: torch.Tensor) -> torch.Tensor:
        """The vector of each word id, (..., word_dim): a trained row of ``word_embed``, or for the last
        ``num_fixed_words`` ids their fixed pretrained vector (no gradient reaches those). While training
        with ``model.pretrained_swap``, that share of the trained rows' occurrences read the pretrained
        vector the row started from instead (see :meth:`set_original_words`)."""
        trained_rows = self.word_embed.num_embeddings
        in_table = words.clamp(max=trained_rows - 1) if self.num_fixed_words else words
        trained = self.word_embed(in_table)
        if self.training and self.config.pretrained_swap and self.original_words is not None:
            swap = torch.rand(words.shape, device=words.device) < self.config.pretrained_swap
            swap &= self.original_words_found[in_table] & (words < trained_rows)
            trained = torch.where(swap.unsqueeze(-1), self.original_words[in_table], trained)
        if not self.num_fixed_words:
            return trained
        rows = (words - trained_rows).clamp(min=0)
        fixed = self.fixed_words[rows].to(trained.dtype) * self.fixed_words_scale[rows]
        return torch.where((words >= trained_rows).unsqueeze(-1), fixed, trained)

    def represent(self, batch: Batch) -> torch.Tensor:
        """Concatenated token features, (B, T, D)."""
        words = batch.words
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & batch.mask, 1)  # 1 is <unk>
        parts = [self.word_vectors(words)]
        if self.char_encoder is not None:
            parts.append(self._char_features(batch))
        if self.casing_embed is not None:
            parts.append(self.casing_embed(batch.casing))
        if self.bigram_embed is not None:
            parts.append(self.bigram_embed(batch.bigrams))
        if self.softword_embed is not None:
            parts.append(self.softword_embed(batch.softword))
        if self.pos_embed is not None:
            parts.append(self.pos_embed(batch.pos))
        if self.features.lexicon:
            parts.append(batch.lexicon)
        if self.lexicon_embed is not None:
            parts.append(self._lexicon_features(batch))
        if self.gazetteer_flags:
            parts.append(batch.gazetteer)
        if self.char_lm is not None:
            parts.append(self._char_lm_features(batch))
        return torch.cat(parts, dim=-1)

    def _char_lm_features(self, batch: Batch) -> torch.Tensor:
        """The projected states of the frozen character language model at each token, (B, T, char_lm_dim)."""
        assert self.char_lm is not None and self.char_lm_proj is not None
        assert batch.lm_chars is not None and batch.lm_firsts is not None and batch.lm_lasts is not None
        with torch.no_grad():
            states = self.char_lm.token_states(batch.lm_chars, batch.lm_firsts, batch.lm_lasts)
        return self.char_lm_proj(states)

    def _lexicon_features(self, batch: Batch) -> torch.Tensor:
        """SoftLexicon: per token, the weighted sum of its matched words' embeddings in each position
        set (B, M, E), concatenated, (B, T, 3 * lexicon_dim); zeros for a set without words."""
        assert self.lexicon_embed is not None
        assert batch.lexicon_ids is not None and batch.lexicon_bags is not None and batch.lexicon_weights is not None
        b, t = batch.words.shape
        sets, dim = len(LEXICON_POSITIONS), self.lexicon_embed.embedding_dim
        vectors = self.lexicon_embed(batch.lexicon_ids) * batch.lexicon_weights.unsqueeze(-1)
        bags = vectors.new_zeros(b * t * sets, dim).index_add_(0, batch.lexicon_bags, vectors)
        return bags.view(b, t, sets * dim)

    def _char_features(self, batch: Batch) -> torch.Tensor:
        """Character-encoder output per token, (B, T, char hidden)."""
        assert self.char_encoder is not None and batch.chars is not None and batch.char_index is not None
        if self.training:
            # Every occurrence of a token gets its own dropout mask, as if each were spelled out.
            return self.char_encoder(batch.chars[batch.char_index])
        # Inference is deterministic: encode each distinct token once and copy its vector to every occurrence.
        return self.char_encoder(batch.chars.unsqueeze(0))[0][batch.char_index]

    def encode(self, batch: Batch, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """The word BiLSTM's states, (B, T, H): the forward direction's first, then the backward's;
        zeros at padding. Padding never influences real tokens. ``inputs``: the token features (B, T, D) to
        read instead of :meth:`represent`'s (adversarial training moves them)."""
        x = self.dropout(self.represent(batch) if inputs is None else inputs)  # (B, T, D)
        if type(self.lstm) is nn.LSTM:
            return bilstm_padded(self.lstm, x, batch.mask)
        return lstm_packed(self.lstm, x, batch.mask)  # int8-quantised: no float weights to run per direction

    def emissions(
        self, batch: Batch, states: torch.Tensor | None = None, memory: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-token tag scores, (B, T, K), from the BiLSTM ``states`` of ``batch`` (encoded here if not given)
        and, with ``features.doc_memory``, each token's document ``memory`` (B, T, H): by default
        :class:`DocumentMemory` over the batch's ``word_groups``; given by callers whose windows span batches."""
        h = self.encode(batch) if states is None else states
        if self.memory is not None:
            if memory is None:
                if batch.word_groups is None:
                    raise ValueError("this model reads a document memory: its batches need word_groups")
                memory = self.memory(h, batch.word_groups)
            h = torch.cat([h, memory], dim=-1)
        x = self.dropout(h)
        if self.emit_hidden is not None:
            x = torch.tanh(self.emit_hidden(x))
        return self.emit(x)

    def alone_emissions(self, states: torch.Tensor) -> torch.Tensor:
        """With ``model.alone_head``: the tag scores of the BiLSTM ``states`` (B, T, H) without any memory,
        (B, T, K), with which a memory window of few sentences (``model.alone_head_sentences``; by default a
        served text of one or two sentences) is tagged."""
        if self.emit_alone is None:
            raise ValueError("this model has no tag scores without its memory (model.alone_head)")
        return self.emit_alone(self.dropout(states))

    def split_emissions(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """For a document-memory model without ``emit_hidden``, outside training: the tag scores of the
        ``states`` (B, T, H) alone, (B, T, K), and the values (B, T, K) whose memory
        (:meth:`DocumentMemory.read`) adds the rest, so that ``emissions(batch, states, memory)`` equals
        ``own + memory.read(values, ...)`` (up to float rounding). The memory then moves K numbers a token
        instead of H. ``None`` where the scores are not linear in the memory (a tanh layer, or dropout)."""
        if self.memory is None or self.emit_hidden is not None or self.training:
            return None
        hidden = states.shape[-1]
        own = nn.functional.linear(states, self.emit.weight[:, :hidden], self.emit.bias)  # (B, T, K)
        values = nn.functional.linear(states, self.emit.weight[:, hidden:])  # (B, T, K)
        return own, values

    def quantized(self) -> BiLstmCrf:
        """A copy for CPU inference with the word BiLSTM's weights in int8 (PyTorch dynamic quantisation).

        About 1.5× faster LSTM at a small accuracy cost (measured in docs/PERFORMANCE.md); the copy cannot
        be trained or saved as a checkpoint.
        """
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            # torch 2.13 marks eager-mode quantisation deprecated in favour of torchao; it still works here.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            copy = quantize_dynamic(nn.Sequential(self), {nn.LSTM}, dtype=torch.qint8)[0]
        return copy.eval()

    def loss(self, batch: Batch, states: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags per sentence (``states``: as for :meth:`emissions`)."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with tags")
        return self.crf.nll(self.emissions(batch, states), batch.tags, batch.mask)

    @torch.inference_mode()
    def decode_with_posteriors(self, batch: Batch) -> tuple[torch.Tensor, Posteriors]:
        """Best tag-id paths, (B, T) with zeros beyond each sentence, and the forward-backward
        posteriors that score their spans."""
        emissions = self.emissions(batch)  # (B, T, K)
        return self.crf.viterbi_paths(emissions, batch.mask), self.crf.posteriors(emissions, batch.mask)
