"""Text classification (sentiment on sentence polarity by default): the task, its config and its recipe.

The recipe: texts -> word ids (a word-level tokenizer of the training split, lower-cased when
``data.lowercase``; ``<pad>`` = 0, ``<unk>`` = 1) -> length-bucketed batches -> ``SequenceClassifier``
-> cross-entropy; metrics accuracy and macro F1 on a seeded held-out split (90/10 by default), or
k-fold cross-validation (``seqlab train sentiment --folds 10``).

A BERT (``model.arch=bert``) reads WordPiece ids, ``[CLS] text [SEP]`` cut to ``data.max_length``:
the tokenizer of ``model.pretrained`` (an ``mlm`` run, whose encoder weights start the model and
whose sizes the config takes), or one trained on the training split (``data.vocab_size``). The
usual fine-tuning choices: ``model.pooling`` (``cls``, ``mean``, ``max``), ``model.freeze_encoder``,
``model.encoder_lr_scale`` (the encoder's learning rate as a share of ``fit.lr``), ``fit.warmup_steps``;
``model.pretrained_weights=false`` keeps the sizes and tokenizer but not the weights (the control
that shows what pre-training brings).

Data: ``data.path`` is a sentence-polarity folder (``rt-polarity.pos/.neg``; by default the shared
or bundled copy) or a user's CSV/TSV/JSONL file with named text and label columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
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
from seqlab.models.classifier import classify_texts
from seqlab.models.config import ClassifierConfig, MaskedLanguageModelConfig
from seqlab.models.factory import make_model
from seqlab.text import normalizers
from seqlab.text.factories import PAD, UNK, train_tokenizer, word_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training import distributed
from seqlab.training.config import FitConfig, from_dict
from seqlab.training.fit import Callback, History, fit
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER
from seqlab.training.tasks.pretrained import PretrainedSource, load_pretrained_source

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
    max_length: int = 128  # tokens kept per text ([CLS] and [SEP] included for a BERT)
    vocab_size: int = 8000  # the WordPiece vocabulary of a BERT without model.pretrained
    batch_size: int = 50  # examples per step (per process under torchrun)
    limit: int | None = None  # use only the first `limit` shuffled examples (tests, quick looks)

    def __post_init__(self) -> None:
        number(self.val_fraction, "data.val_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
        integer(self.folds, "data.folds", low=2)
        if self.fold is not None:
            integer(self.fold, "data.fold", low=0, high=self.folds - 1)
        for name in ("min_count", "max_length", "vocab_size", "batch_size"):
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

    def resolve(self, config: ClassificationRunConfig) -> ClassificationRunConfig:
        """With ``model.pretrained``: arch bert with the pretrained encoder's sizes and position table."""
        if config.model.pretrained is None:
            return config
        encoder, positions = pretrained_encoder(load_pretrained_source(config.model.pretrained))
        if config.data.max_length > positions:
            raise SeqlabError(f"data.max_length: {config.data.max_length} tokens, but the pretrained encoder has "
                              f"{positions} positions; use data.max_length={positions} or less")
        return replace(config, model=replace(
            config.model, arch="bert", embedding_dim=encoder.hidden_size, hidden_size=encoder.intermediate_size,
            num_layers=encoder.num_layers, nhead=encoder.num_heads, max_positions=positions))

    def check(self, config: ClassificationRunConfig) -> None:
        model = config.model
        if model.pretrained is not None and model.arch != "bert":
            raise SeqlabError(f"model.pretrained: gives a BERT encoder, but model.arch is {model.arch!r}; build the "
                              "config with load_run_config (or set model.arch=bert)")
        if model.arch == "bert" and config.data.max_length > (model.max_positions or config.data.max_length):
            raise SeqlabError(f"data.max_length: {config.data.max_length} tokens, more than the BERT's "
                              f"model.max_positions={model.max_positions}")

    def build_data(self, config: ClassificationRunConfig, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        data = config.data
        texts, labels, names = read_labelled_texts(data.path, data.text_column, data.label_column)
        train_idx, val_idx = split_indices(len(texts), data.val_fraction, data.split_seed, data.limit, data.fold,
                                           data.folds)
        if tokenizers is not None:
            tokenizer = tokenizers[TOKENIZER]
        elif config.model.pretrained is not None:  # the pretrained encoder's own WordPiece
            tokenizer = load_pretrained_source(config.model.pretrained).tokenizer
        elif config.model.arch == "bert":
            tokenizer = train_tokenizer("wordpiece", (texts[i] for i in train_idx), vocab_size=data.vocab_size,
                                        lowercase=data.lowercase)
        else:
            normalizer = normalizers.Lowercase() if data.lowercase else None
            tokenizer = word_tokenizer((texts[i] for i in train_idx), data.min_count, normalizer=normalizer)
        if config.model.arch == "bert" and tokenizers is None:
            tokenizer.enable_truncation(data.max_length)  # [CLS] text [SEP], the text cut to fit
        unk = special_token_id(tokenizer, (UNK, "[UNK]"))

        def dataset(indices: list[int]) -> ClassificationData:
            encodings = tokenizer.encode_batch([texts[i] for i in indices])
            ids = [e.ids[:data.max_length] or [unk] for e in encodings]  # an empty text reads as one <unk>
            return ClassificationData(ids, [labels[i] for i in indices])

        train_set, val_set = dataset(train_idx), dataset(val_idx)
        collate = partial(collate_classification, pad_id=special_token_id(tokenizer, (PAD, "[PAD]")))
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

    def build_model(self, config: ClassificationRunConfig, state: dict) -> nn.Module:
        if config.model.arch == "bert":
            return make_model(config.model, vocab_size=state["vocab_size"], num_classes=len(state["labels"]),
                              max_positions=config.model.max_positions or config.data.max_length)
        return make_model(config.model, vocab_size=state["vocab_size"], num_classes=len(state["labels"]))

    def initialize(self, model: nn.Module, config: ClassificationRunConfig, data: TaskData) -> None:
        if config.model.vectors is not None:
            table = vectors_for(data.tokenizers[TOKENIZER], config.model.vectors, model.embedding.weight.detach())
            model.load_vectors(table, freeze=config.model.freeze_vectors)
        if config.model.pretrained is not None and config.model.pretrained_weights:
            if self.resolve(config) != config:
                raise SeqlabError("model: the sizes differ from those of model.pretrained; build the config with "
                                  "load_run_config, which takes them from the pretrained run")
            source = load_pretrained_source(config.model.pretrained)
            load_encoder(model.bert, source)
            log.info("encoder weights from %s (%s)", source.path, Path(config.model.pretrained))

    def make_task(self, config: ClassificationRunConfig, state: dict) -> ClassificationTask:
        return ClassificationTask(len(state["labels"]), self.name)

    def fit_model(self, model: nn.Module, config: ClassificationRunConfig, data: TaskData, run_dir: Path | None,
                  callbacks: Sequence[Callback], resume: bool, checkpoint_meta: dict) -> History:
        """``fit``, with the BERT encoder's learning rate at ``model.encoder_lr_scale`` times the head's."""
        scales = {"bert.": config.model.encoder_lr_scale} if config.model.arch == "bert" else None
        return fit(model, self.make_task(config, data.state), data.train, data.val, config.fit, run_dir,
                   callbacks=callbacks, resume=resume, checkpoint_meta=checkpoint_meta, lr_scales=scales)

    def classify(self, run: LoadedRun, texts: Sequence[str]) -> list[tuple[str, float]]:
        return classify_texts(run.model, run.tokenizer, run.state["labels"], texts, run.config.data.max_length)


def special_token_id(tokenizer: Tokenizer, names: Sequence[str]) -> int:
    """The id of the first of ``names`` the tokenizer has (``<pad>`` of a word tokenizer, ``[PAD]`` of a WordPiece)."""
    for name in names:
        token_id = tokenizer.token_to_id(name)
        if token_id is not None:
            return token_id
    raise SeqlabError(f"tokenizer: expected one of the special tokens {', '.join(names)} in the vocabulary, "
                      "none is there")


def pretrained_encoder(source: PretrainedSource) -> tuple[MaskedLanguageModelConfig, int]:
    """The sizes of a pretrained BERT encoder and its number of positions (an ``mlm`` run's)."""
    source.require("mlm", "a BERT classifier")
    try:
        return from_dict(MaskedLanguageModelConfig, source.config["model"], "model."), int(source.state["block_size"])
    except (KeyError, TypeError, ValueError) as error:
        raise SeqlabError(f"model.pretrained: {source.path} does not describe a BERT encoder ({error})") from None


def load_encoder(encoder: nn.Module, source: PretrainedSource) -> None:
    """Copy the pretrained encoder's weights into ``encoder`` (a ``BertModel``): every tensor, same names and shapes.

    A source saved without the pooler (transformers' ``BertForMaskedLM``) leaves the classifier's pooler at its
    initialisation, as transformers' ``from_pretrained`` does.
    """
    weights = source.encoder_weights("bert.")
    own = encoder.state_dict()
    if not any(name.startswith("pooler.") for name in weights):
        own = {name: tensor for name, tensor in own.items() if not name.startswith("pooler.")}
    wrong = sorted(set(own) ^ set(weights)) or [k for k in own if own[k].shape != weights[k].shape]
    if wrong:
        raise SeqlabError(f"model.pretrained: {source.path}: its encoder does not fit this model "
                          f"({', '.join(wrong[:3])})")
    encoder.load_state_dict(weights, strict=len(own) == len(encoder.state_dict()))


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
           "load_encoder", "pretrained_encoder", "special_token_id", "vectors_for"]
