"""Text classification (sentiment on sentence polarity by default): the task, its config and its recipe.

The recipe: texts -> word ids (a word-level tokenizer of the training split, lower-cased when
``data.lowercase``; ``<pad>`` = 0, ``<unk>`` = 1) -> length-bucketed batches -> ``SequenceClassifier``
-> cross-entropy; metrics accuracy and macro F1 on a seeded held-out split (90/10 by default), or
k-fold cross-validation (``seqlab train sentiment --folds 10``).

Data: ``data.path`` is a sentence-polarity folder (``rt-polarity.pos/.neg``; by default the shared
or bundled copy) or a user's CSV/TSV/JSONL file with named text and label columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.checks import integer, number
from seqlab.data import BucketBatchSampler, ClassificationData, collate_classification
from seqlab.data.labelled import read_labelled_texts, split_indices
from seqlab.embeddings.formats import load_vectors
from seqlab.errors import SeqlabError
from seqlab.metrics.classification import accuracy, f1_score
from seqlab.models.classifier import SequenceClassifier, classify_texts
from seqlab.models.config import ClassifierConfig
from seqlab.models.factory import make_model
from seqlab.text import normalizers
from seqlab.text.factories import PAD, UNK, special_id, word_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training import distributed
from seqlab.training.config import FitConfig
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER

log = logging.getLogger(__name__)


class ClassificationTask:
    """Cross-entropy over K classes; evaluation reports loss, accuracy and macro F1.

    Batches are ``seqlab.data.Batch`` with ``inputs`` (B, T), ``lengths`` (B,) and ``targets`` (B,).
    """

    def __init__(self, num_classes: int, name: str = "classify"):
        self.name = name
        self.num_classes = num_classes

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        return F.cross_entropy(model(batch.inputs, batch.lengths), batch.targets)

    def evaluate(self, model: nn.Module, batches: Iterable) -> dict[str, float]:
        total_loss, predicted, actual = 0.0, [], []
        for batch in batches:
            logits = model(batch.inputs, batch.lengths)  # (B, K)
            total_loss += F.cross_entropy(logits, batch.targets, reduction="sum").item()
            predicted.append(logits.argmax(-1).cpu())
            actual.append(batch.targets.cpu())
        if not predicted:
            raise SeqlabError("evaluate: expected at least one validation batch, got none")
        p, y = torch.cat(predicted), torch.cat(actual)
        return {"loss": total_loss / len(y), "accuracy": accuracy(p, y),
                "f1": f1_score(p, y, num_classes=self.num_classes)}


# -- config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassificationDataConfig:
    """Where the labelled texts come from and how they are split and batched."""

    path: str | None = None  # sentence_polarity folder or CSV/TSV/JSONL file; None: the polarity data
    text_column: str = "text"  # column (or JSON key) of the text in a user's file
    label_column: str = "label"  # column (or JSON key) of the label in a user's file
    val_fraction: float = 0.1  # held-out share of the seeded split
    split_seed: int = 0  # seeds the shuffle before the split (and the folds)
    folds: int = 10  # k of cross-validation (used by --folds)
    fold: int | None = None  # when set, validate on this fold of `folds` instead of val_fraction
    lowercase: bool = True  # the tokenizer lower-cases every text (the polarity data already is)
    min_count: int = 1  # words seen fewer times in the training split become <unk>
    max_length: int = 128  # tokens kept per text
    batch_size: int = 50  # examples per step (per process under torchrun)
    limit: int | None = None  # use only the first `limit` shuffled examples (tests, quick looks)

    def __post_init__(self) -> None:
        number(self.val_fraction, "data.val_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
        integer(self.folds, "data.folds", low=2)
        if self.fold is not None:
            integer(self.fold, "data.fold", low=0, high=self.folds - 1)
        for name in ("min_count", "max_length", "batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)
        if self.limit is not None:
            integer(self.limit, "data.limit", low=2)


@dataclass(frozen=True)
class ClassificationRunConfig:
    """A classification run: ``seqlab train sentiment --config sentiment``."""

    task: Literal["sentiment", "classify"] = "sentiment"
    data: ClassificationDataConfig = field(default_factory=ClassificationDataConfig)
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=10, metric="accuracy", mode="max"))


# -- recipe -----------------------------------------------------------------------------------

class ClassificationRecipe(Recipe):
    config_class = ClassificationRunConfig
    abilities = frozenset({Ability.CLASSIFY, Ability.EXPORT, Ability.CROSS_VALIDATE})
    summary = "text classification (sentence polarity, or a CSV/TSV/JSONL file); classifies"

    def build_data(self, config: ClassificationRunConfig, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        data = config.data
        texts, labels, names = read_labelled_texts(data.path, data.text_column, data.label_column)
        train_idx, val_idx = split_indices(len(texts), data.val_fraction, data.split_seed, data.limit, data.fold,
                                           data.folds)
        if tokenizers is not None:
            tokenizer = tokenizers[TOKENIZER]
        else:
            normalizer = normalizers.Lowercase() if data.lowercase else None
            tokenizer = word_tokenizer((texts[i] for i in train_idx), data.min_count, normalizer=normalizer)
        unk = special_id(tokenizer, UNK)

        def dataset(indices: list[int]) -> ClassificationData:
            encodings = tokenizer.encode_batch([texts[i] for i in indices])
            ids = [e.ids[:data.max_length] or [unk] for e in encodings]  # an empty text reads as one <unk>
            return ClassificationData(ids, [labels[i] for i in indices])

        train_set, val_set = dataset(train_idx), dataset(val_idx)
        collate = partial(collate_classification, pad_id=special_id(tokenizer, PAD))
        if distributed.is_distributed():
            train = distributed.shard_loader(train_set, data.batch_size, shuffle=True, seed=config.fit.seed,
                                             collate_fn=collate, drop_last=True)
        else:
            sampler = BucketBatchSampler(train_set.lengths(), data.batch_size, seed=config.fit.seed)
            train = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate)
        val = DataLoader(val_set, batch_sampler=BucketBatchSampler(val_set.lengths(), 256, shuffle=False),
                         collate_fn=collate)
        state = {"labels": names, "vocab_size": tokenizer.vocab_size}
        return TaskData(train, val, {TOKENIZER: tokenizer}, state,
                        extra={"train_examples": len(train_set), "val_examples": len(val_set)})

    def build_model(self, config: ClassificationRunConfig, state: dict) -> SequenceClassifier:
        return make_model(config.model, vocab_size=state["vocab_size"], num_classes=len(state["labels"]))

    def initialize(self, model: SequenceClassifier, config: ClassificationRunConfig, data: TaskData) -> None:
        if config.model.vectors is not None:
            table = vectors_for(data.tokenizers[TOKENIZER], config.model.vectors, model.embedding.weight.detach())
            model.load_vectors(table, freeze=config.model.freeze_vectors)

    def make_task(self, config: ClassificationRunConfig, state: dict) -> ClassificationTask:
        return ClassificationTask(len(state["labels"]), self.name)

    def classify(self, run: LoadedRun, texts: Sequence[str]) -> list[tuple[str, float]]:
        return classify_texts(run.model, run.tokenizer, run.state["labels"], texts, run.config.data.max_length)


def vectors_for(tokenizer: Tokenizer, path: str, initial: torch.Tensor) -> torch.Tensor:
    """Rows of the embedding from a vector file; words the file lacks keep their random initialisation."""
    vectors = load_vectors(path)
    if vectors.vector_size != initial.shape[1]:
        raise SeqlabError(f"model.vectors: {path} has {vectors.vector_size}-dimensional vectors, "
                          f"expected model.embedding_dim = {initial.shape[1]}")
    table = initial.clone()
    found = 0
    for word, i in tokenizer.get_vocab().items():
        if word in vectors:
            table[i] = vectors[word]
            found += 1
    log.info("initialised %d of %d embedding rows from %s", found, tokenizer.vocab_size, path)
    return table


__all__ = ["ClassificationDataConfig", "ClassificationRecipe", "ClassificationRunConfig", "ClassificationTask",
           "vectors_for"]
