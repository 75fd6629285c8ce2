"""Training: data → vocabularies → model → epochs with dev evaluation → best checkpoint.

One table row per epoch (loss, dev P/R/F1, seconds, lr; :mod:`ner.progress`), also appended to
``OUT/metrics.jsonl``; a learning curve and per-type chart are drawn into ``OUT`` at the end.
The best checkpoint (by dev entity F1) is saved atomically to ``OUT/model``; training stops early
after ``train.patience`` epochs without improvement. With ``train.average_epochs`` the model evaluated
and saved is the mean of the last epochs' weights (:mod:`ner.averaging`); with ``train.keep_epochs``
each epoch's own weights are also saved, to ``OUT/epochs/NNN``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import platform
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ner import checkpoint
from ner.alone_head import fit_and_score
from ner.augment import MentionReplacer
from ner.averaging import EpochAverage
from ner.charlm import lm_weights, load_char_lm
from ner.config import Config
from ner.conll import read_conll
from ner.distill import SoftTargets, check_teacher_splits, collate_targets, teacher_marginals
from ner.distributed import current_world, in_process_group
from ner.evaluate import evaluate_sentences
from ner.features import Encoded, Featurizer, bigram_keys, memory_windows, pack_sentences, word_key
from ner.model import BiLstmCrf
from ner.objective import TrainingObjective
from ner.progress import TrainingMonitor
from ner.schedule import LearningRate
from ner.stopping import EarlyStopping
from ner.tags import Scheme, bioes_labels
from ner.types import Sentence
from ner.unlabelled import PLACEHOLDER, read_unlabelled
from ner.vectors import load_vectors
from ner.word2vec import train_text_vectors

logger = logging.getLogger(__name__)

EPOCHS_DIR = "epochs"  # under the run's output: each epoch's weights when train.keep_epochs is on


@dataclass
class TrainResult:
    """What a training run produced."""

    checkpoint: Path
    best_epoch: int
    dev: dict[str, Any]
    epochs_run: int
    seconds: float
    train_sentences_per_second: float


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_dev(
    sentences: Sequence[Sentence], fraction: float, seed: int, block: int = 1
) -> tuple[list[Sentence], list[Sentence]]:
    """A seeded random ``(train, dev)`` split with about ``fraction`` of the sentences going to dev, in
    runs of ``block`` consecutive sentences (the last run may be shorter): whole blocks are drawn until
    dev holds ``fraction`` of the sentences. Corpora kept in document order put a document's sentences
    together, and a dev sentence whose neighbours are in train is easier than new text; blocks of about a
    document keep most of dev unseen. ``block = 1`` draws single sentences."""
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    order = list(range(math.ceil(len(sentences) / block)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, int(len(sentences) * fraction))
    dev_idx: set[int] = set()
    for b in order:
        if len(dev_idx) >= n_dev:
            break
        dev_idx.update(range(b * block, min((b + 1) * block, len(sentences))))
    train = [s for i, s in enumerate(sentences) if i not in dev_idx]
    dev = [s for i, s in enumerate(sentences) if i in dev_idx]
    return train, dev


def _pretrained(
    config: Config, featurizer_words: set[str], token_lists: Sequence[Sequence[str]]
) -> tuple[list[str], dict[str, Any]]:
    """Pretrained lookup keys to add to the vocabulary, and key → vector."""
    if config.features.pretrained == "none":
        return [], {}
    if config.features.pretrained == "train-text":
        keys = [[word_key(tok, config.features) for tok in s] for s in token_lists]
        return [], train_text_vectors(keys, config.features.word_dim, config.train.seed)
    if config.features.pretrained == "glove-6b-50d":
        from ner.glove import load_glove

        words, vectors = load_glove()
    else:
        words, vectors = load_vectors(config.features.pretrained)
        if vectors.shape[1] != config.features.word_dim:
            raise ValueError(
                f"features.pretrained = {config.features.pretrained!r}: its vectors have {vectors.shape[1]} "
                f"components, features.word_dim is {config.features.word_dim}"
            )
    table: dict[str, Any] = {}
    keys: list[str] = []
    for rank, (word, vec) in enumerate(zip(words, vectors)):
        key = word_key(word, config.features)
        if key in table:
            continue  # a more frequent word already claimed this key
        if rank < config.features.pretrained_max_words or key in featurizer_words:
            table[key] = vec
            keys.append(key)
    return keys, table


def _init_embeddings(
    embedding: torch.nn.Embedding, items: Sequence[str], table: dict[str, Any], rescale: bool = False
) -> int:
    """Copy pretrained vectors into an embedding (row i is ``items[i]``); the other rows get a small
    uniform init and row 0 (padding) zeros. ``rescale``: vectors scaled to that init's spread (for
    vectors of arbitrary scale, such as word2vec's). Returns how many rows were pretrained."""
    weight = embedding.weight
    scale = math.sqrt(3.0 / weight.shape[1])
    rows = [(i, table[key]) for i, key in enumerate(items) if i > 0 and key in table]
    with torch.no_grad():
        weight.uniform_(-scale, scale)
        weight[0].zero_()
        if rows:
            vectors = torch.from_numpy(np.stack([vec for _, vec in rows])).to(weight.dtype)
            if rescale:
                vectors = vectors * (scale / math.sqrt(3.0)) / vectors.std().clamp_min(1e-8)
            weight[torch.tensor([i for i, _ in rows])] = vectors
    return len(rows)


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length sentences (less padding, still random order): each sentence
    its own window of :func:`_window_batches`."""
    return _window_batches([[i] for i in range(len(lengths))], lengths, batch_size, rng)


def _window_batches(
    windows: Sequence[Sequence[int]], lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Batches for a model with a document memory: whole memory ``windows`` (lists of sentence indices)
    packed into batches of at most ``batch_size`` sentences (a larger window is a batch of its own), so that
    every occurrence of a word in a window is in the batch that reads it. Windows are shuffled, then
    sorted by their longest sentence within pools of 50 batches' worth, so that windows of similar length go
    together (less padding), and the batches come in a random order."""
    order = list(range(len(windows)))
    rng.shuffle(order)
    pool = 50
    batches: list[list[int]] = []
    for k in range(0, len(order), pool * batch_size):
        chunk = sorted(order[k : k + pool * batch_size], key=lambda w: max(lengths[i] for i in windows[w]))
        start = len(batches)
        for w in chunk:
            if len(batches) > start and len(batches[-1]) + len(windows[w]) <= batch_size:
                batches[-1].extend(windows[w])
            else:
                batches.append(list(windows[w]))
    rng.shuffle(batches)
    return batches


def _replaced_examples(
    replacer: MentionReplacer,
    sentences: Sequence[Sentence],
    examples: Sequence[tuple[Encoded, list[int]]],
    featurizer: Featurizer,
    label_ids: dict[str, int],
    windows: Sequence[Sequence[int]],
    rng: random.Random,
) -> tuple[list[tuple[Encoded, list[int]]], set[int]]:
    """One epoch's training examples with mentions replaced (``train.mention_replace``), re-encoded where
    they changed, and the indices of those that changed. A name is replaced the same way throughout a memory
    window (each sentence alone without a document memory), so that its repeated mentions stay repeated for the
    memory to join. Examples past ``sentences`` (``train.unlabelled``'s, without gold tags) stay as they are."""
    out = list(examples)
    changed: set[int] = set()
    for window in windows:
        chosen: dict = {}
        for i in window:
            if i >= len(sentences):
                continue
            new = replacer.replace(sentences[i], rng, chosen)
            if new is not sentences[i]:
                out[i] = (featurizer.encode(new.tokens), [label_ids[tag] for tag in new.tags])
                changed.add(i)
    return out, changed


def _memory_owners(windows: Sequence[Sequence[int]], alone: float, rng: random.Random) -> list[int]:
    """Whose document memory each training sentence reads in one epoch: its window's (the window's number),
    or, with probability ``alone`` drawn afresh for each sentence, its own alone (a number past the windows'),
    as a text of one sentence is tagged when served (``model.doc_memory_alone``)."""
    owners = [0] * sum(len(window) for window in windows)
    for w, window in enumerate(windows):
        for i in window:
            owners[i] = len(windows) + i if alone and rng.random() < alone else w
    return owners


def _optimizer(model: torch.nn.Module, config: Config) -> torch.optim.Optimizer:
    """The optimiser of ``model``'s trainable parameters (the tagger, or the whole training objective)."""
    t = config.train
    params = [p for p in model.parameters() if p.requires_grad]  # frozen tables stay out
    if t.optimizer == "sgd":
        return torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
    cls = torch.optim.Adam if t.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=t.lr, weight_decay=t.weight_decay)


def _freeze_pretrained(model: BiLstmCrf, config: Config) -> None:
    """Stop training the tables that start from pretrained vectors: the word table (GloVe, or the
    train-text vectors) and, with train-text vectors, the bigram table (``Config`` checks there are some)."""
    model.word_embed.weight.requires_grad_(False)
    if config.features.pretrained == "train-text" and model.bigram_embed is not None:
        model.bigram_embed.weight.requires_grad_(False)


def _load_data(
    config: Config, train_path: str | Path, dev_path: str | Path | None, scheme: Scheme | None
) -> tuple[list[Sentence], list[Sentence], int]:
    """Training sequences (packed for document context if configured), dev sentences, and the
    number of training sentences before packing."""
    t = config.train
    train_sents = read_conll(train_path, scheme).sentences
    if dev_path is not None:
        dev_sents = read_conll(dev_path, scheme).sentences
    else:
        train_sents, dev_sents = split_dev(train_sents, t.dev_fraction, t.seed, t.dev_block)
    if t.max_train_sentences:
        train_sents = train_sents[: t.max_train_sentences]
    if not train_sents:
        raise ValueError(f"{train_path}: no training sentences")
    return pack_sentences(train_sents, config.features.context_tokens), dev_sents, len(train_sents)


def _train_epoch(
    model: torch.nn.Module,
    tagger: BiLstmCrf,
    featurizer: Featurizer,
    examples: Sequence[tuple[Encoded, list[int]]],
    batches: Sequence[list[int]],
    optimizer: torch.optim.Optimizer,
    rate: LearningRate,
    averaged: torch.optim.swa_utils.AveragedModel | None,
    clip: float,
    progress: bool | None,
    desc: str,
    windows: Sequence[int] | None = None,
    soft: Sequence[SoftTargets] | None = None,
    gold: Sequence[bool] | None = None,
    taught: Sequence[bool] | None = None,
) -> float:
    """One pass over ``batches`` of example indices; returns the summed loss per sequence. ``model`` has
    the ``loss(batch)`` to minimise (the training objective, or its DDP wrapper); ``rate`` sets the learning rate
    of each update; ``averaged`` follows ``tagger``'s weights; ``windows``: each example's document-memory window,
    if the tagger has one; ``soft``: each example's teacher marginals, with ``train.teachers``; ``gold``: whether
    each example has gold tags (``train.unlabelled``; all of them when ``None``); ``taught``: whether each example's
    ``soft`` targets are its own (``False``: rewritten by mention replacement, it learns its gold tags alone)."""
    model.train()
    total_loss = 0.0
    bar = tqdm(batches, desc=desc, unit="batch", disable=(not progress) if progress is not None else None, leave=False)
    for idx in bar:
        owners = [windows[i] for i in idx] if windows is not None else None
        batch = featurizer.collate([examples[i][0] for i in idx], [examples[i][1] for i in idx], owners)
        if soft is not None:
            batch.soft_unary, batch.soft_pairwise = collate_targets([soft[i] for i in idx], batch.mask.shape[1])
        if gold is not None:
            batch.gold = torch.tensor([gold[i] for i in idx])
        if taught is not None:
            batch.taught = torch.tensor([taught[i] for i in idx])
        optimizer.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        rate.after_update()
        if averaged is not None:
            averaged.update_parameters(tagger)
        total_loss += loss.item() * len(idx)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return total_loss


@in_process_group  # under torchrun (WORLD_SIZE > 1): DDP over gloo, see ner/distributed.py
def train(
    config: Config,
    train_path: str | Path,
    out_dir: str | Path,
    dev_path: str | Path | None = None,
    scheme: Scheme | None = None,
    progress: bool | None = None,
    command: str = "",
    overwrite: bool = False,
) -> TrainResult:
    """Train a tagger and save its best checkpoint to ``out_dir/model``.

    Args:
        config: the full configuration.
        train_path: training file (any supported format and scheme).
        out_dir: output directory; holds ``model/`` and ``metrics.jsonl``.
        dev_path: development file; when ``None``, ``config.train.dev_fraction`` of train is held out.
        scheme: tag scheme of the data files; detected when ``None``.
        progress: show a progress bar (``None``: only on a terminal).
        command: the command line that started the run, recorded in the checkpoint.
        overwrite: allow replacing a checkpoint already in ``out_dir`` (otherwise refuse to start, so an
            earlier good model is never replaced by the first epochs of a new run).
    """
    t = config.train
    world = current_world()
    torch.manual_seed(t.seed)
    rng = random.Random(t.seed)
    if t.threads:
        torch.set_num_threads(t.threads)
    out = Path(out_dir)
    if not overwrite and world.is_main:
        try:  # also finds the previous checkpoint moved aside by an interrupted save
            existing = checkpoint.resolve(out)
        except checkpoint.CheckpointError:
            pass
        else:
            raise ValueError(f"{existing} already holds a checkpoint: choose another output or overwrite")

    train_sents, dev_sents, n_train = _load_data(config, train_path, dev_path, scheme)
    types = sorted({tag[2:] for s in train_sents for tag in s.tags if tag != "O"})
    if not types:
        raise ValueError(f"{train_path}: no entities in the training data")
    labels = bioes_labels(types)
    label_ids = {label: i for i, label in enumerate(labels)}

    token_lists = [s.tokens for s in train_sents]
    train_keys = {word_key(tok, config.features) for s in token_lists for tok in s}
    pretrained_keys, table = _pretrained(config, train_keys, token_lists)
    featurizer = Featurizer.build(config.features, token_lists, pretrained_keys)
    # model.alone_head is fitted after training (ner/alone_head.py): until then, every window reads the memory
    model = BiLstmCrf.for_featurizer(featurizer, dataclasses.replace(config.model, alone_head=False), labels)
    self_trained = config.features.pretrained == "train-text"
    trained_words = featurizer.words.items[: len(featurizer.words) - featurizer.fixed_words]
    found = _init_embeddings(model.word_embed, trained_words, table, rescale=self_trained)
    if featurizer.fixed_words:  # pretrained words unseen in training: their vectors, fixed and in int8
        fixed = featurizer.words.items[len(trained_words) :]
        model.set_fixed_words(torch.from_numpy(np.stack([table[key] for key in fixed])))
    if config.model.pretrained_swap:
        found_rows = torch.tensor([i > 0 and key in table for i, key in enumerate(trained_words)])
        model.set_original_words(model.word_embed.weight.detach(), found_rows)  # as initialised: pretrained rows
    if self_trained and model.bigram_embed is not None and featurizer.bigrams is not None:
        bigram_table = train_text_vectors([bigram_keys(s) for s in token_lists], config.features.bigram_dim, t.seed)
        _init_embeddings(model.bigram_embed, featurizer.bigrams.items, bigram_table, rescale=True)
    if config.features.char_lm:  # frozen; the featurizer has read its vocabulary from the same file
        model.set_char_lm(lm_weights(load_char_lm(config.features.char_lm)[1]))
    if t.freeze_pretrained:
        _freeze_pretrained(model, config)
    logger.info(
        "%d train / %d dev sentences, %d labels, %d words (%d trained from pretrained vectors, %d fixed "
        "pretrained), %d parameters",
        n_train,
        len(dev_sents),
        len(labels),
        len(featurizer.words),
        found,
        featurizer.fixed_words,
        sum(p.numel() for p in model.parameters()),
    )
    teachers = t.teacher_list
    objective = TrainingObjective.for_tagger(
        model, t.lm_weight, t.lm_vocab, t.teacher_weight if teachers else 0.0, t.adversarial
    )
    net = world.wrap(objective, t.seed)  # the objective itself in one process
    examples = [(featurizer.encode(s.tokens), [label_ids[tag] for tag in s.tags]) for s in train_sents]
    # train.unlabelled: sentences without gold tags, after the labelled ones; the vocabularies stay the labelled data's.
    # Packed for document context as the labelled ones are (each line is a document of its own).
    unlabelled_sents = (
        read_unlabelled(t.unlabelled, config.features.lang, max(s.doc_id for s in train_sents) + 1)
        if t.unlabelled
        else []
    )
    unlabelled = pack_sentences(unlabelled_sents, config.features.context_tokens)
    examples += [(featurizer.encode(s.tokens), [label_ids[PLACEHOLDER]] * len(s.tokens)) for s in unlabelled]
    gold = [True] * len(train_sents) + [False] * len(unlabelled)
    train_record = {"path": str(train_path), "sha256": file_sha256(train_path), "sentences": n_train}
    dev_record = (
        {"path": str(dev_path), "sha256": file_sha256(dev_path), "sentences": len(dev_sents)}
        if dev_path is not None
        else {"held_out_from_train": t.dev_fraction, "seed": t.seed, "block": t.dev_block, "sentences": len(dev_sents)}
    )
    soft = None
    if teachers:
        check_teacher_splits(teachers, train_record["sha256"], dev_record)
        teacher_started = time.perf_counter()
        soft = teacher_marginals(teachers, train_sents + unlabelled, labels, t.eval_batch_size)
        logger.info(
            "marginals of %d teacher(s) over %d labelled and %d unlabelled sequences in %.0f s",
            len(teachers),
            len(train_sents),
            len(unlabelled),
            time.perf_counter() - teacher_started,
        )
    optimizer = _optimizer(objective, config)
    # The averaged copy is what gets evaluated and saved; buffers (the CRF masks) are constants.
    averaged = (
        torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(t.ema_decay), use_buffers=False
        )
        if t.ema_decay
        else None
    )
    epoch_average = EpochAverage(model, t.average_epochs) if t.average_epochs else None
    rate = LearningRate(optimizer, t.lr_decay, t.warmup)

    extra_base = {
        "command": command,
        "train": {k: v for k, v in config.to_dict()["train"].items()},
        "data": {"train": train_record, "dev": dev_record},
        "versions": {
            "ner": _version("ner-service"),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    if unlabelled:
        extra_base["data"]["unlabelled"] = {
            "path": t.unlabelled,
            "sha256": file_sha256(t.unlabelled),
            "sentences": len(unlabelled_sents),
        }
    if world.distributed:
        extra_base["distributed"] = {"world_size": world.size, "global_batch_size": t.batch_size * world.size}
    metrics_path = out / "metrics.jsonl"
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        metrics_path.write_text("")  # one run per file
    stopping = EarlyStopping(t.patience)
    best_dev: dict[str, Any] = {}
    started = time.perf_counter()
    train_seconds = 0.0
    epoch = 0
    lengths = [len(s) for s in token_lists] + [len(s.tokens) for s in unlabelled]
    windows = memory_windows([s.doc_id for s in train_sents + unlabelled], config.features.doc_memory)
    replacer = None
    if t.mention_replace:
        replacer = MentionReplacer(
            train_sents, t.mention_replace, t.mention_dictionary, dictionary_groups=t.dictionary_groups
        )
        for label, words in sorted(replacer.dictionary.items()):
            logger.info("mention replacement: %s also drawn from %d dictionary words", label, len(words))
    none = SoftTargets(np.zeros((0, len(labels)), np.float32), np.zeros((0, len(labels), len(labels)), np.float16))
    replace_rng = random.Random(f"mention-replace-{t.seed}")  # apart from `rng`, which then draws as without it
    monitor = TrainingMonitor(t.epochs, progress)
    for epoch in range(1, t.epochs + 1):
        epoch_start = time.perf_counter()
        epoch_examples, epoch_soft, taught = examples, soft, None
        if replacer is not None:
            epoch_examples, changed = _replaced_examples(
                replacer, train_sents, examples, featurizer, label_ids, windows, replace_rng
            )
            lengths = [len(tags) for _, tags in epoch_examples]
            if soft is not None:  # the teachers' marginals are for the sentences as written
                taught = [i not in changed for i in range(len(epoch_examples))]
                epoch_soft = [soft[i] if ok else none for i, ok in enumerate(taught)]
        window_of = None
        if config.features.doc_memory:
            epoch_batches = _window_batches(windows, lengths, t.batch_size, rng)
            window_of = _memory_owners(windows, config.model.doc_memory_alone, rng)
        else:
            epoch_batches = _batches(lengths, t.batch_size, rng)
        batches = world.shard(epoch_batches)  # all of them in one process
        bar = progress if world.is_main else False
        total_loss = _train_epoch(
            net,
            model,
            featurizer,
            epoch_examples,
            batches,
            optimizer,
            rate,
            averaged,
            t.clip,
            bar,
            f"epoch {epoch}",  # type: ignore[arg-type]
            window_of,
            epoch_soft,
            gold if unlabelled else None,
            taught,
        )
        total_loss = world.sum(total_loss)
        if epoch_average is not None and world.is_main:  # only rank 0 evaluates it
            epoch_average.update(model)
        rate.after_epoch()
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        if not world.is_main:  # rank 0 evaluates, logs and saves; the others wait for its stop decision
            if world.broadcast_flag(False):
                break
            continue
        best_model: BiLstmCrf = model
        if averaged is not None:
            best_model = averaged.module  # type: ignore[assignment]
        elif epoch_average is not None:
            best_model = epoch_average.module  # type: ignore[assignment]
        dev = evaluate_sentences(best_model, featurizer, dev_sents, t.eval_batch_size)
        improved = stopping.update(epoch, dev["f1"])
        record = {
            "epoch": epoch,
            "loss": total_loss / len(examples),
            "dev_precision": dev["precision"],
            "dev_recall": dev["recall"],
            "dev_f1": dev["f1"],
            "train_seconds": epoch_seconds,
            "sentences_per_second": n_train / epoch_seconds,
            "lr": optimizer.param_groups[0]["lr"],
            "best": improved,
        }
        if best_model is not model:  # what the average is worth: the weights as they are, on the same dev
            record["dev_f1_unaveraged"] = evaluate_sentences(model, featurizer, dev_sents, t.eval_batch_size)["f1"]
        with open(metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if t.keep_epochs:  # the weights as they are, not the average: to average or compare afterwards
            metrics = {"epoch": epoch, "train_seconds": train_seconds}
            checkpoint.save(model, featurizer, out / EPOCHS_DIR / f"{epoch:03d}", {**extra_base, "metrics": metrics})
        monitor.epoch(record)
        if improved:
            best_dev = dev
            metrics = {"best_epoch": epoch, "dev": dev, "train_seconds": train_seconds}
            checkpoint.save(best_model, featurizer, out / checkpoint.MODEL_DIR, {**extra_base, "metrics": metrics})
        elif stopping.should_stop:
            logger.info("no better dev F1 for %d epochs: stopping", t.patience)
            world.broadcast_flag(True)
            break
        world.broadcast_flag(False)
    if config.model.alone_head and config.features.doc_memory and world.is_main and best_dev:
        # the labelled examples only: the head learns gold tags, not the unlabelled text's placeholders
        best_dev = _fit_alone_head(out, examples[: len(train_sents)], dev_sents, extra_base, config)
    total = time.perf_counter() - started
    monitor.close(out)  # learning curve and per-type chart next to metrics.jsonl
    return TrainResult(
        checkpoint=out / checkpoint.MODEL_DIR,
        best_epoch=stopping.best_epoch,
        dev=best_dev,
        epochs_run=epoch,
        seconds=total,
        train_sentences_per_second=n_train * epoch / max(train_seconds, 1e-9),
    )


def _fit_alone_head(
    out: Path,
    examples: Sequence[tuple[Encoded, list[int]]],
    dev_sents: Sequence[Sentence],
    extra_base: dict[str, Any],
    config: Config,
) -> dict[str, Any]:
    """Fit the best checkpoint's tag scores without the memory (``model.alone_head``) and save it again with
    them; returns its dev scores within documents, which its windows of few sentences now read."""
    path = out / checkpoint.MODEL_DIR
    model, featurizer, saved = checkpoint.load(path)
    metrics = fit_and_score(model, featurizer, examples, dev_sents, saved["metrics"], config.train)
    checkpoint.save(model, featurizer, path, {**extra_base, "metrics": metrics})
    return metrics["dev"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
