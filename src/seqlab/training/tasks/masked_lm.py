"""BERT pre-training (``seqlab train mlm``): masked-language modelling, optionally with a sentence-pair task.

The recipe (Devlin et al. 2019, with RoBERTa's dynamic masking, Liu et al. 2019):

    documents -> sentences (seqlab.data.documents) -> WordPiece ids (a tokenizer trained here on the
    training part) -> chunks of consecutive sentences packed to data.block_size -> [CLS] A [SEP] (B [SEP])
    -> masks drawn anew for every batch (15%; 80% [MASK], 10% random, 10% kept) -> BertForPreTraining

    loss = L_MLM + L_pair,   L_MLM = -(1/|C|) sum_{t in C} ln p(x_t | x~)   (C: the masked positions)

``data.pair_task``: ``none`` (RoBERTa: MLM only), ``nsp`` (BERT's next-sentence prediction) or
``sop`` (ALBERT's sentence-order prediction, Lan et al. 2020); see ``seqlab.data.pretraining``.

Held out: the last ``data.val_fraction`` of each document's sentences, packed the same way and
masked the same way at every evaluation (a fixed seed), so evaluations compare. The evaluation
reports the masked-token accuracy, the MLM loss and perplexity over masked tokens, and the pair
task's loss and accuracy. A run's sample is the model's top guesses at the ``[MASK]`` of a few
sentences (``sample.texts``).

A run's encoder and tokenizer start a classifier: ``seqlab train sentiment model.pretrained=RUN``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.checks import integer, number
from seqlab.data.batching import IGNORE_INDEX
from seqlab.data.documents import check_corpus, read_documents, split_sentences
from seqlab.data.pretraining import MaskedBatches, SentencePairs, collate_pretraining, cut_sentences, pack_sentences
from seqlab.errors import SeqlabError
from seqlab.models.bert import BertForPreTraining, fill_mask
from seqlab.models.config import MaskedLanguageModelConfig
from seqlab.models.factory import make_model
from seqlab.text.factories import BERT_SPECIALS, special_id, train_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training import distributed
from seqlab.training.config import FitConfig
from seqlab.training.recipe import LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER

log = logging.getLogger(__name__)

CLS, SEP, MASK, PAD = "[CLS]", "[SEP]", "[MASK]", "[PAD]"


class MaskedLanguageModelTask:
    """Cross-entropy over the masked positions, plus the pair task's when the batches carry its labels.

    Batches are ``seqlab.data.pretraining.PretrainingBatch``. ``evaluate`` sums over every masked
    token of the validation batches (not a mean of batch means) and reports ``loss`` (MLM + pair),
    ``mlm_loss``, ``mlm_perplexity``, ``mlm_accuracy`` (the share of masked tokens whose most probable
    token is the original) and, with a pair task, ``pair_loss`` and ``pair_accuracy``.
    """

    def __init__(self, name: str = "mlm"):
        self.name = name

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        chosen = batch.labels != IGNORE_INDEX  # (B, T)
        mlm_logits, pair_logits = model(batch.inputs, batch.lengths, batch.token_type_ids, predict_at=chosen)
        # (N, V) at the N masked positions; a batch without any (tiny batches) contributes no MLM loss
        loss = F.cross_entropy(mlm_logits, batch.labels[chosen]) if len(mlm_logits) else mlm_logits.sum()
        if pair_logits is not None and batch.pair_labels is not None:
            loss = loss + F.cross_entropy(pair_logits, batch.pair_labels)  # (B, 2)
        return loss

    def evaluate(self, model: nn.Module, batches: Iterable) -> dict[str, float]:
        mlm_total, mlm_right, masked = 0.0, 0, 0
        pair_total, pair_right, pairs = 0.0, 0, 0
        for batch in batches:
            chosen = batch.labels != IGNORE_INDEX
            targets = batch.labels[chosen]  # (N,)
            mlm_logits, pair_logits = model(batch.inputs, batch.lengths, batch.token_type_ids, predict_at=chosen)
            mlm_total += F.cross_entropy(mlm_logits, targets, reduction="sum").item()
            mlm_right += int((mlm_logits.argmax(-1) == targets).sum())
            masked += len(targets)
            if pair_logits is not None and batch.pair_labels is not None:
                pair_total += F.cross_entropy(pair_logits, batch.pair_labels, reduction="sum").item()
                pair_right += int((pair_logits.argmax(-1) == batch.pair_labels).sum())
                pairs += len(batch.pair_labels)
        if masked == 0:
            raise SeqlabError("evaluate: expected at least one masked validation token, got none")
        mlm_loss = mlm_total / masked
        metrics = {"loss": mlm_loss, "mlm_loss": mlm_loss, "mlm_perplexity": math.exp(min(mlm_loss, 700.0)),
                   "mlm_accuracy": mlm_right / masked}
        if pairs:
            metrics.update(pair_loss=pair_total / pairs, pair_accuracy=pair_right / pairs)
            metrics["loss"] = mlm_loss + metrics["pair_loss"]
        return metrics


# -- config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MaskedLanguageModelDataConfig:
    """The unlabelled text, its tokenizer, the packing, the pair task, the masks and the held-out part."""

    path: str | None = None  # a text file or a folder of *.txt files; None: the named data.corpus
    corpus: tuple[str, ...] = ("gutenberg", "timemachine")  # named corpora (seqlab.data.documents.CORPORA)
    encoding: Literal["utf-8", "latin-1"] = "utf-8"  # of the files of data.path (the named corpora know theirs)
    vocab_size: int = 8000  # WordPiece vocabulary, the 5 special tokens included
    lowercase: bool = True  # an uncased tokenizer (BERT-base-uncased's choice)
    block_size: int = 128  # T: tokens per example, [CLS] and [SEP] included (the position table's size)
    pair_task: Literal["none", "nsp", "sop"] = "none"  # none: RoBERTa; nsp: BERT; sop: ALBERT
    mlm_probability: float = 0.15  # share of the maskable tokens chosen
    short_seq_prob: float = 0.1  # share of examples packed to a random shorter length (BERT's 0.1)
    val_fraction: float = 0.05  # the last sentences of every document are held out
    batch_size: int = 64  # examples per step (per process under torchrun)
    val_batch_size: int = 128
    seed: int = 0  # seeds the packing, the pairs of every epoch and the masks of every batch
    limit: int | None = None  # only the first `limit` characters of each document (tests, quick looks)

    def __post_init__(self) -> None:
        check_corpus(self.corpus)
        integer(self.vocab_size, "data.vocab_size", low=len(BERT_SPECIALS) + 1)
        integer(self.block_size, "data.block_size", low=5)
        for name in ("batch_size", "val_batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)
        number(self.mlm_probability, "data.mlm_probability", low=0.0, high=1.0, low_open=True, high_open=True)
        number(self.short_seq_prob, "data.short_seq_prob", low=0.0, high=1.0)
        number(self.val_fraction, "data.val_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
        integer(self.seed, "data.seed")
        if self.limit is not None:
            integer(self.limit, "data.limit", low=1)


@dataclass(frozen=True)
class FillMaskConfig:
    """The sample of a run: the model's most probable tokens at the [MASK] of each text."""

    texts: tuple[str, ...] = (
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
        "must be in want of a [MASK].",
        "The Time Traveller held in his hand a glittering metallic [MASK].",
        "She could not help [MASK] at the thought of it.",
    )
    top_k: int = 5

    def __post_init__(self) -> None:
        integer(self.top_k, "sample.top_k", low=1)
        for text in self.texts:
            if MASK not in text:
                raise SeqlabError(f"sample.texts: expected a {MASK} in every text, got {text!r}")


@dataclass(frozen=True)
class MaskedLanguageModelRunConfig:
    """A BERT pre-training run: ``seqlab train mlm --config bert_mlm``."""

    task: Literal["mlm"] = "mlm"
    data: MaskedLanguageModelDataConfig = field(default_factory=MaskedLanguageModelDataConfig)
    model: MaskedLanguageModelConfig = field(default_factory=MaskedLanguageModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_steps=2000, lr=1e-3, schedule="cosine",
                                                             warmup_steps=100, weight_decay=0.01, eval_every=250))
    sample: FillMaskConfig = field(default_factory=FillMaskConfig)


# -- data -------------------------------------------------------------------------------------

def document_sentences(config: MaskedLanguageModelDataConfig) -> tuple[list[list[str]], list[list[str]], list[str]]:
    """Each document's training and held-out sentences (the last ``val_fraction`` of them), and the names."""
    train, held_out, names = [], [], []
    for document in read_documents(config.path, config.corpus, config.encoding):
        text = document.text[: config.limit] if config.limit is not None else document.text
        sentences = split_sentences(text)
        if not sentences:
            continue
        cut = len(sentences) - round(len(sentences) * config.val_fraction) if len(sentences) > 1 else 1
        train.append(sentences[:cut])
        held_out.append(sentences[cut:])
        names.append(document.name)
    if not names:
        raise SeqlabError(f"{config.path or '+'.join(config.corpus)}: expected text, the documents are empty")
    return train, held_out, names


def encode_documents(tokenizer: Tokenizer, documents: list[list[str]], budget: int) -> list[list[list[int]]]:
    """Each document's sentences as WordPiece ids (no special tokens), the longer ones cut to ``budget``."""
    return [cut_sentences((e.ids for e in tokenizer.encode_batch(sentences, add_special_tokens=False)), budget)
            for sentences in documents]


class MaskedLanguageModelRecipe(Recipe):
    config_class = MaskedLanguageModelRunConfig
    abilities = frozenset()
    summary = "BERT pre-training: masked-language model (+ nsp or sop) on unlabelled text; fills [MASK]"

    def build_data(self, config: MaskedLanguageModelRunConfig, tokenizers: dict[str, Tokenizer] | None = None
                   ) -> TaskData:
        data = config.data
        train_text, val_text, names = document_sentences(data)
        if tokenizers is not None:
            tokenizer = tokenizers[TOKENIZER]
        else:  # WordPiece on the training sentences only
            tokenizer = train_tokenizer("wordpiece", (s for sentences in train_text for s in sentences),
                                        vocab_size=data.vocab_size, lowercase=data.lowercase)
        ids = {name: special_id(tokenizer, name) for name in BERT_SPECIALS}
        pair = data.pair_task != "none"
        budget = data.block_size - (3 if pair else 2)  # room for [CLS] A [SEP] (B [SEP])
        train_docs, val_docs = encode_documents(tokenizer, train_text, budget), encode_documents(tokenizer, val_text,
                                                                                                   budget)
        least = 2 if pair else 1
        train_chunks = pack_sentences(train_docs, budget, data.short_seq_prob, data.seed, min_tokens=least)
        val_chunks = pack_sentences(val_docs, budget, data.short_seq_prob, data.seed + 1, min_tokens=least)
        B = data.batch_size
        if len(train_chunks) < B * distributed.world_size():
            raise SeqlabError(f"text: the training part makes {len(train_chunks)} examples of at most "
                              f"data.block_size={data.block_size} tokens, fewer than one batch of data.batch_size={B}; "
                              "use more text or a smaller batch_size or block_size")
        if not val_chunks:
            raise SeqlabError("text: the held-out part is empty; use more text or a larger data.val_fraction")
        train_set = SentencePairs(train_chunks, train_docs, ids[CLS], ids[SEP], data.pair_task, data.seed)
        val_set = SentencePairs(val_chunks, val_docs, ids[CLS], ids[SEP], data.pair_task, data.seed + 1)
        collate = partial(collate_pretraining, pad_id=ids[PAD])
        masking = {"vocab_size": tokenizer.vocab_size, "mask_id": ids[MASK], "special_ids": sorted(ids.values()),
                   "mlm_probability": data.mlm_probability}
        train = MaskedBatches(distributed.shard_loader(train_set, B, shuffle=True, seed=config.fit.seed,
                                                       collate_fn=collate, drop_last=True), **masking, seed=data.seed)
        val = MaskedBatches(DataLoader(val_set, batch_size=data.val_batch_size, collate_fn=collate), **masking,
                            seed=data.seed + 1)
        train_tokens = sum(len(s) for d in train_docs for s in d)
        val_tokens = sum(len(s) for d in val_docs for s in d)
        log.info("%d documents: %d training examples (%d tokens), %d held out (%d tokens); WordPiece %d ids",
                 len(names), len(train_set), train_tokens, len(val_set), val_tokens, tokenizer.vocab_size)
        state = {"vocab_size": tokenizer.vocab_size, "block_size": data.block_size, "pair_task": data.pair_task}
        return TaskData(train, val, {TOKENIZER: tokenizer}, state,
                        extra={"documents": len(names), "train_examples": len(train_set),
                               "val_examples": len(val_set), "train_tokens": train_tokens, "val_tokens": val_tokens})

    def build_model(self, config: MaskedLanguageModelRunConfig, state: dict) -> BertForPreTraining:
        return make_model(config.model, vocab_size=state["vocab_size"], block_size=state["block_size"],
                          pair_head=state["pair_task"] != "none")

    def make_task(self, config: MaskedLanguageModelRunConfig, state: dict) -> MaskedLanguageModelTask:
        return MaskedLanguageModelTask(self.name)

    def sample(self, run: LoadedRun) -> str:
        lines = []
        for text in run.config.sample.texts:
            lines.append(text)
            length = len(run.tokenizer.encode(text).ids)
            if length > run.state["block_size"]:
                lines.append(f"  ({length} tokens: longer than the model's {run.state['block_size']} positions)")
                continue
            for position, guesses in enumerate(fill_mask(run.model, run.tokenizer, text, run.config.sample.top_k)):
                shown = ", ".join(f"{token} {p:.3f}" for token, p in guesses)
                lines.append(f"  [MASK] {position + 1}: {shown}")
        return "\n".join(lines) + "\n"


__all__ = ["FillMaskConfig", "MaskedLanguageModelDataConfig", "MaskedLanguageModelRecipe",
           "MaskedLanguageModelRunConfig", "MaskedLanguageModelTask", "document_sentences", "encode_documents"]
