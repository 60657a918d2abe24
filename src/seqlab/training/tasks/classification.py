"""Text classification (sentiment on sentence polarity by default): the task, its config and its run.

The recipe: texts -> whitespace tokens -> word ids (vocabulary of the training split, ``<pad>`` = 0,
``<unk>`` = 1) -> length-bucketed batches -> ``SequenceClassifier`` -> cross-entropy; metrics
accuracy and macro F1 on a seeded held-out split (90/10 by default), or k-fold cross-validation.

Data: ``data.path`` is the ``sentence_polarity`` folder (``rt-polarity.pos/.neg``; by default
``$SEQLAB_DATA_DIR/sentence_polarity``) or a user's CSV/TSV/JSONL file with named text and label
columns.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.data import POLARITY_LABELS, BucketBatchSampler, ClassificationData, collate_classification
from seqlab.data.loaders import load_sentence_polarity
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.metrics.classification import accuracy, f1_score
from seqlab.models.classifier import SequenceClassifier
from seqlab.training import distributed
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.fit import BEST, Callback, History, fit

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"


class ClassificationTask:
    """Cross-entropy over K classes; evaluation reports loss, accuracy and macro F1.

    Batches are ``seqlab.data.Batch`` with ``inputs`` (B, T), ``lengths`` (B,) and ``targets`` (B,).
    """

    def __init__(self, labels: Sequence[str], name: str = "classify", tokenizer: str = "tokenizer.json"):
        self.name = name
        self.labels = list(labels)
        self.tokenizer = tokenizer

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
                "f1": f1_score(p, y, num_classes=len(self.labels))}

    def state(self) -> dict:
        return {"labels": self.labels, "tokenizer": self.tokenizer}


# -- vocabulary -------------------------------------------------------------------------------

class WordVocabulary:
    """Whitespace tokens -> ids: ``<pad>`` = 0, ``<unk>`` = 1, then words by descending count, ties by word.

    Saved as ``tokenizer.json`` in Hugging Face's shape (a WhitespaceSplit pre-tokenizer and a
    WordLevel model), so ``tokenizers.Tokenizer.from_file`` reads it too.
    """

    def __init__(self, words: Sequence[str]):
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        if self.words[:2] != [PAD, UNK]:
            raise SeqlabError(f"vocabulary: expected {PAD!r} and {UNK!r} as ids 0 and 1, got {self.words[:2]}")

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> WordVocabulary:
        counts = Counter(word for text in texts for word in text.split())
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        ids = [self.index.get(word, 1) for word in text.split()][:max_length]
        return ids or [1]  # an empty text becomes one <unk>, so every example has a length >= 1

    def to_json(self) -> dict:
        return {"version": "1.0", "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"},
                "model": {"type": "WordLevel", "vocab": self.index, "unk_token": UNK},
                "added_tokens": [{"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
                                  "normalized": False, "special": True} for i, token in enumerate((PAD, UNK))]}

    @classmethod
    def from_json(cls, data: dict) -> WordVocabulary:
        try:
            vocab = data["model"]["vocab"]
        except (KeyError, TypeError):
            raise SeqlabError("tokenizer.json: expected a WordLevel model with a vocab") from None
        return cls([w for w, _ in sorted(vocab.items(), key=lambda item: item[1])])


# -- config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassificationDataConfig:
    """Where the labelled texts come from and how they are split and batched."""

    path: str | None = None  # sentence_polarity folder or CSV/TSV/JSONL file; None: $SEQLAB_DATA_DIR/...
    text_column: str = "text"  # column (or JSON key) of the text in a user's file
    label_column: str = "label"  # column (or JSON key) of the label in a user's file
    val_fraction: float = 0.1  # held-out share of the seeded split
    split_seed: int = 0  # seeds the shuffle before the split (and the folds)
    folds: int = 10  # k of cross-validation (used by cross_validate)
    fold: int | None = None  # when set, validate on this fold of `folds` instead of val_fraction
    lowercase: bool = True  # lower-case every text before splitting (the polarity data already is)
    min_count: int = 1  # words seen fewer times in the training split become <unk>
    max_length: int = 128  # tokens kept per text
    batch_size: int = 50  # examples per step (per process under torchrun)
    limit: int | None = None  # use only the first `limit` shuffled examples (tests, quick looks)

    def __post_init__(self) -> None:
        if not 0.0 < self.val_fraction < 1.0:
            raise SeqlabError(f"data.val_fraction: expected a value in (0, 1), got {self.val_fraction}")
        if self.folds < 2:
            raise SeqlabError(f"data.folds: expected at least 2, got {self.folds}")
        if self.fold is not None and not 0 <= self.fold < self.folds:
            raise SeqlabError(f"data.fold: expected a value in [0, {self.folds}), got {self.fold}")
        for name in ("min_count", "max_length", "batch_size"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"data.{name}: expected a positive integer, got {getattr(self, name)}")


@dataclass(frozen=True)
class ClassifierModelConfig:
    """The ``SequenceClassifier``'s hyper-parameters (see its docstring)."""

    embedding_dim: int = 128
    encoder: Literal["lstm", "gru", "rnn", "transformer"] = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    nhead: int = 4  # transformer only
    pooling: Literal["max", "mean", "last"] = "max"
    dropout: float = 0.5
    vectors: str | None = None  # word2vec/GloVe file to initialise the embedding (seqlab.embeddings)
    freeze_vectors: bool = False
    layer_options: dict = field(default_factory=dict)  # extra recurrent-layer options (peephole, ...)


@dataclass(frozen=True)
class ClassificationConfig:
    """A classification run: ``seqlab train sentiment --config sentiment.yaml``."""

    task: Literal["sentiment", "classify"] = "sentiment"
    data: ClassificationDataConfig = field(default_factory=ClassificationDataConfig)
    model: ClassifierModelConfig = field(default_factory=ClassifierModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=10, metric="accuracy", mode="max"))


# -- data -------------------------------------------------------------------------------------

def read_labelled_texts(config: ClassificationDataConfig) -> tuple[list[str], list[int], list[str]]:
    """Texts, label ids and label names from the polarity folder or a user's CSV/TSV/JSONL file."""
    if config.path is None:
        texts, labels = load_sentence_polarity()
        return texts, labels, list(POLARITY_LABELS)
    path = Path(config.path)
    if path.is_dir():
        texts, labels = _polarity_folder(path)
        return texts, labels, list(POLARITY_LABELS)
    rows = _read_rows(path, config.text_column, config.label_column)
    names = sorted({label for _, label in rows})
    if len(names) < 2:
        raise SeqlabError(f"{path}: expected at least 2 distinct labels in column {config.label_column!r}, "
                          f"got {names}")
    index = {name: i for i, name in enumerate(names)}
    return [t for t, _ in rows], [index[label] for _, label in rows], names


def _polarity_folder(path: Path) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for label, name in enumerate(POLARITY_LABELS):
        file = path / f"rt-polarity.{name}"
        if not file.is_file():
            raise SeqlabError(f"{path}: expected the files rt-polarity.neg and rt-polarity.pos, {file.name} is missing")
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
    return texts, labels


def _read_rows(path: Path, text_column: str, label_column: str) -> list[tuple[str, str]]:
    if not path.is_file():
        raise SeqlabError(f"data.path: {path} does not exist")
    suffix = path.suffix.lower()
    rows: list[tuple[str, str]] = []
    if suffix == ".jsonl":
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SeqlabError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
            for key in (text_column, label_column):
                if not isinstance(record, dict) or key not in record:
                    raise SeqlabError(f"{path}, line {number}: expected a JSON object with key {key!r}")
            rows.append((str(record[text_column]), str(record[label_column])))
        return rows
    if suffix not in (".csv", ".tsv"):
        raise SeqlabError(f"data.path: expected a folder or a .csv, .tsv or .jsonl file, got {path.name}")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
        for key in (text_column, label_column):
            if reader.fieldnames is None or key not in reader.fieldnames:
                raise SeqlabError(f"{path}, line 1: expected a column named {key!r}, got {reader.fieldnames}")
        for row in reader:
            text, label = row.get(text_column), row.get(label_column)
            if text is None or label is None or not label.strip():
                raise SeqlabError(f"{path}, line {reader.line_num}: missing {text_column!r} or {label_column!r}")
            rows.append((text, label.strip()))
    return rows


def split_indices(n: int, config: ClassificationDataConfig) -> tuple[list[int], list[int]]:
    """Seeded shuffle, then the held-out part: the last ``val_fraction``, or fold ``fold`` of ``folds``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.split_seed)).tolist()
    if config.limit is not None:
        order = order[: config.limit]
        n = len(order)
    if config.fold is None:
        cut = n - max(1, round(n * config.val_fraction))
        return order[:cut], order[cut:]
    bounds = [round(n * k / config.folds) for k in range(config.folds + 1)]
    held = set(range(bounds[config.fold], bounds[config.fold + 1]))
    return [order[i] for i in range(n) if i not in held], [order[i] for i in sorted(held)]


@dataclass
class ClassificationLoaders:
    """Everything a classification run reads: loaders, vocabulary and label names."""

    train: DataLoader
    val: DataLoader
    vocabulary: WordVocabulary
    labels: list[str]


def build_data(config: ClassificationConfig, vocabulary: WordVocabulary | None = None,
               seed: int = 0) -> ClassificationLoaders:
    texts, labels, names = read_labelled_texts(config.data)
    if config.data.lowercase:
        texts = [text.lower() for text in texts]
    train_idx, val_idx = split_indices(len(texts), config.data)
    if vocabulary is None:
        vocabulary = WordVocabulary.build((texts[i] for i in train_idx), config.data.min_count)

    def dataset(indices):
        return ClassificationData([vocabulary.encode(texts[i], config.data.max_length) for i in indices],
                                   [labels[i] for i in indices])

    train_set, val_set = dataset(train_idx), dataset(val_idx)
    collate = partial(collate_classification, pad_id=0)
    if distributed.is_distributed():
        train = distributed.shard_loader(train_set, config.data.batch_size, shuffle=True, seed=seed,
                                         collate_fn=collate, drop_last=True)
    else:
        sampler = BucketBatchSampler(train_set.lengths(), config.data.batch_size, seed=seed)
        train = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate)
    val_sampler = BucketBatchSampler(val_set.lengths(), 256, shuffle=False)
    val = DataLoader(val_set, batch_sampler=val_sampler, collate_fn=collate)
    return ClassificationLoaders(train, val, vocabulary, names)


def build_model(config: ClassifierModelConfig, vocabulary: WordVocabulary, num_classes: int) -> SequenceClassifier:
    model = SequenceClassifier(len(vocabulary), num_classes, config.embedding_dim, config.encoder, config.hidden_size,
                               config.num_layers, config.bidirectional, config.nhead, pooling=config.pooling,
                               dropout=config.dropout, layer_options=config.layer_options)
    if config.vectors is not None:
        model.load_vectors(_vectors_for(vocabulary, config.vectors, model.embedding.weight.detach()),
                           freeze=config.freeze_vectors)
    return model


def _vectors_for(vocabulary: WordVocabulary, path: str, initial: torch.Tensor) -> torch.Tensor:
    """Rows of the embedding from a vector file; words the file lacks keep their random initialisation."""
    from seqlab.embeddings.formats import load_vectors

    vectors = load_vectors(path)
    if vectors.vector_size != initial.shape[1]:
        raise SeqlabError(f"model.vectors: {path} has {vectors.vector_size}-dimensional vectors, "
                          f"expected model.embedding_dim = {initial.shape[1]}")
    table = initial.clone()
    found = 0
    for i, word in enumerate(vocabulary.words):
        if word in vectors:
            table[i] = vectors[word]
            found += 1
    log.info("initialised %d of %d embedding rows from %s", found, len(vocabulary), path)
    return table


# -- runs -------------------------------------------------------------------------------------

@dataclass
class ClassificationResult:
    history: History
    best_metrics: dict
    parameters: int
    run_dir: Path | None


def train(config: ClassificationConfig, run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (),
          resume: bool = False) -> ClassificationResult:
    """Build the data and the model from ``config``, ``fit`` them, and save the run's files."""
    run_dir = Path(run_dir) if run_dir is not None else None
    torch.manual_seed(config.fit.seed)  # the model's initial weights
    data = build_data(config, seed=config.fit.seed)
    model = build_model(config.model, data.vocabulary, len(data.labels))
    if run_dir is not None and distributed.is_main_process():
        write_json_atomic(run_dir / "config.json", to_dict(config))
        write_json_atomic(run_dir / "tokenizer.json", data.vocabulary.to_json())
    task = ClassificationTask(data.labels, name=config.task)
    history = fit(model, task, data.train, data.val, config.fit, run_dir, callbacks=callbacks, resume=resume,
                  run_config=to_dict(config))
    return ClassificationResult(history, history.best_metrics, sum(p.numel() for p in model.parameters()), run_dir)


def cross_validate(config: ClassificationConfig, run_dir: str | Path | None,
                   callbacks_for=None) -> dict:
    """k-fold cross-validation: one run per fold (in ``run_dir/fold-<k>``), the best accuracy of each.

    ``callbacks_for(k)`` gives each fold's callbacks. Returns the per-fold accuracies, mean and
    standard deviation.
    """
    run_dir = Path(run_dir) if run_dir is not None else None
    scores = []
    for k in range(config.data.folds):
        fold_config = replace(config, data=replace(config.data, fold=k))
        result = train(fold_config, run_dir / f"fold-{k}" if run_dir is not None else None,
                       callbacks=callbacks_for(k) if callbacks_for else ())
        scores.append(result.best_metrics["accuracy"])
        log.info("fold %d: accuracy %.4f", k, scores[-1])
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / max(1, len(scores) - 1))
    summary = {"folds": config.data.folds, "accuracies": scores, "mean": mean, "std": std}
    if run_dir is not None:
        write_json_atomic(run_dir / "cross_validation.json", summary)
    return summary


@dataclass
class LoadedClassifier:
    """A trained classifier with what it needs to read new text."""

    model: SequenceClassifier
    vocabulary: WordVocabulary
    labels: list[str]
    config: ClassificationConfig

    @torch.no_grad()
    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """The most probable label of each text and its probability."""
        self.model.eval()
        results = []
        for text in texts:
            text = text.lower() if self.config.data.lowercase else text
            ids = torch.tensor([self.vocabulary.encode(text, self.config.data.max_length)])
            probs = self.model(ids, torch.tensor([ids.shape[1]])).softmax(-1)[0]
            k = int(probs.argmax())
            results.append((self.labels[k], float(probs[k])))
        return results


def load(run_dir: str | Path, config: ClassificationConfig) -> LoadedClassifier:
    """The best checkpoint of a classification run (weights from safetensors, vocabulary from JSON)."""
    from seqlab.training.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    checkpoint = load_checkpoint(run_dir / BEST)
    vocabulary = WordVocabulary.from_json(json.loads((run_dir / "tokenizer.json").read_text(encoding="utf-8")))
    labels = checkpoint.meta["task"]["labels"]
    model = build_model(replace(config.model, vectors=None), vocabulary, len(labels))
    model.load_state_dict(checkpoint.model_state())
    model.eval()
    return LoadedClassifier(model, vocabulary, labels, config)


def evaluate_run(run_dir: str | Path, config: ClassificationConfig) -> dict[str, float]:
    """The best checkpoint's loss, accuracy and F1 on the run's validation split."""
    loaded = load(run_dir, config)
    data = build_data(config, vocabulary=loaded.vocabulary)
    with torch.no_grad():
        return ClassificationTask(loaded.labels).evaluate(loaded.model, data.val)


Config = ClassificationConfig  # the recipe's config (seqlab.training.tasks.RECIPES)

__all__ = [
    "ClassificationConfig",
    "ClassificationDataConfig",
    "ClassificationLoaders",
    "ClassificationTask",
    "ClassifierModelConfig",
    "Config",
    "LoadedClassifier",
    "WordVocabulary",
    "build_data",
    "build_model",
    "cross_validate",
    "evaluate_run",
    "load",
    "read_labelled_texts",
    "split_indices",
    "train",
]
