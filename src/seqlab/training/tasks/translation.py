"""Machine translation English -> French on the Tatoeba pairs: the task, its config and its recipe.

The recipe, fixed so that figures are comparable between runs:

* data: ``fra-eng/fra.txt`` (167,130 pairs; the bundled first 40,000 when the full file is not
  here), U+00A0/U+202F mapped to spaces;
* filter: both sides at most ``max_words`` (10) whitespace-separated words;
* text: two word-level tokenizers (source and target, ``tokenizer.json`` and
  ``target_tokenizer.json``): lower-cased, punctuation split off, one id per word; words seen
  fewer than ``min_count`` times in the training split become ``<unk>``; the target tokenizer
  puts ``<bos>`` and ``<eos>`` around every sentence;
* split: by English sentence (``seqlab.data.parallel``): ``test_sources`` held out for BLEU,
  ``val_sources`` for the validation loss; no test sentence occurs in training;
* score: sacrebleu corpus BLEU (13a) of the hypotheses against the references, both as the
  target tokenizer's words (so BLEU is case-insensitive), greedy and beam search.

Loss: cross-entropy with label smoothing ε over the target tokens (padding ignored),

    L = -(1 - ε) log p(y_t | y_<t, x) - ε/V sum_v log p(v | y_<t, x)

Models: ``TransformerSeq2Seq`` (``arch: transformer``) or ``Seq2SeqAttention`` (``arch: gru``/``lstm``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.checks import integer, number
from seqlab.data import BucketBatchSampler, ParallelData, collate_parallel
from seqlab.data.parallel import read_parallel, split_parallel
from seqlab.errors import SeqlabError
from seqlab.generation.config import DecodingConfig
from seqlab.generation.generate import MAX_NEW_TOKENS
from seqlab.generation.text import translate_texts
from seqlab.metrics.translation import bleu
from seqlab.models.config import TranslatorConfig
from seqlab.models.factory import make_model
from seqlab.text import normalizers, pre_tokenizers
from seqlab.text.factories import PAD, UNK, special_id, word_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training.config import FitConfig
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER

log = logging.getLogger(__name__)

TARGET_TOKENIZER = "target_tokenizer.json"
WORD = r"\w+(?:[-']\w+)*'?|[^\w\s]"  # a word with its inner apostrophes and hyphens, or one punctuation mark


def sentence_normalizer() -> normalizers.Normalizer:
    """French typographic spaces (U+00A0, U+202F) to plain spaces, then lower case."""
    return normalizers.Sequence([normalizers.Replace("\u00a0", " "), normalizers.Replace("\u202f", " "),
                                 normalizers.Lowercase()])


def sentence_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Split on white space, then isolate words (with inner ' and -) and punctuation marks."""
    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(WORD, is_regex=True)])


def sentence_tokenizer(texts: Sequence[str], min_count: int, bos_eos: bool = False) -> Tokenizer:
    """A word-level tokenizer of one side of the pairs (``<bos>``/``<eos>`` around each target sentence)."""
    return word_tokenizer(texts, min_count, normalizer=sentence_normalizer(), pre_tokenizer=sentence_pre_tokenizer(),
                          bos_eos=bos_eos)


def words(tokenizer: Tokenizer, text: str) -> list[str]:
    """The words ``tokenizer`` sees in ``text`` (normalized and pre-tokenized, before the vocabulary).

    Example:
        >>> words(sentence_tokenizer(["x"], min_count=1), "Qu'est-ce que c'est ?")
        ["qu'est-ce", 'que', "c'est", '?']
    """
    text = tokenizer.normalizer.normalize_str(text) if tokenizer.normalizer is not None else text
    return [piece for piece, *_ in tokenizer.pre_tokenizer.pre_tokenize_str(text)]


class TranslationTask:
    """Label-smoothed cross-entropy per target token; evaluation reports loss and token accuracy.

    Batches are ``seqlab.data.Batch`` from ``collate_parallel``: ``inputs`` (B, S) source ids,
    ``lengths`` (B,), ``targets`` (B, T + 2) = BOS, target ids, EOS (padded with ``pad_id``).
    """

    def __init__(self, label_smoothing: float = 0.1, pad_id: int = 0, name: str = "translate"):
        self.name = name
        self.label_smoothing = label_smoothing
        self.pad_id = pad_id

    def _logits(self, model: nn.Module, batch):
        tgt_in, tgt_out = batch.targets[:, :-1], batch.targets[:, 1:]  # shift: predict token t+1 from <= t
        return model(batch.inputs, batch.lengths, tgt_in), tgt_out  # (B, T, V), (B, T)

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        logits, tgt_out = self._logits(model, batch)
        return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=self.pad_id,
                               label_smoothing=self.label_smoothing)

    def evaluate(self, model: nn.Module, batches: Iterable) -> dict[str, float]:
        total, correct, tokens = 0.0, 0, 0
        for batch in batches:
            logits, tgt_out = self._logits(model, batch)
            real = tgt_out != self.pad_id
            total += F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=self.pad_id,
                                     reduction="sum").item()
            correct += ((logits.argmax(-1) == tgt_out) & real).sum().item()
            tokens += real.sum().item()
        if tokens == 0:
            raise SeqlabError("evaluate: expected at least one target token, got none")
        return {"loss": total / tokens, "token_accuracy": correct / tokens}


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TranslationDataConfig:
    """The fixed filter, split and vocabulary of the English -> French recipe."""

    path: str | None = None  # a source<TAB>target file; None: Tatoeba fra-eng
    max_words: int = 10  # keep pairs whose two sides have at most this many whitespace words
    test_sources: int = 2000  # held-out English sentences scored by BLEU
    val_sources: int = 1000  # held-out English sentences for the validation loss
    split_seed: int = 0
    min_count: int = 2  # words seen fewer times in training become <unk>
    batch_size: int = 64
    limit: int | None = None  # keep only the first `limit` pairs of the file (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("max_words", "test_sources", "val_sources", "min_count", "batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)
        if self.limit is not None:
            integer(self.limit, "data.limit", low=1)


@dataclass(frozen=True)
class TranslationRunConfig:
    """A translation run: ``seqlab train translate --config translate_transformer``."""

    task: str = "translate"
    data: TranslationDataConfig = field(default_factory=TranslationDataConfig)
    model: TranslatorConfig = field(default_factory=TranslatorConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_seconds=1200, lr=1e-3, schedule="cosine",
                                                             warmup_steps=400, eval_every=500))
    label_smoothing: float = 0.1  # ε of the loss
    beam_size: int = 4  # beam width for the BLEU of beam search (and the default of `seqlab translate`)
    max_len: int = 30  # longest generated translation, in tokens

    def __post_init__(self) -> None:
        number(self.label_smoothing, "label_smoothing", low=0.0, high=1.0, high_open=True)
        integer(self.beam_size, "beam_size", low=1)
        integer(self.max_len, "max_len", low=1, high=MAX_NEW_TOKENS)


# -- recipe ---------------------------------------------------------------------------------------

class TranslationRecipe(Recipe):
    config_class = TranslationRunConfig
    abilities = frozenset({Ability.TRANSLATE})
    summary = "translation (English -> French, Tatoeba), GRU with attention or Transformer; translates"

    def build_data(self, config: TranslationRunConfig, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        data = config.data
        splits = split_parallel(read_parallel(data.path, data.limit), data.max_words, data.test_sources,
                                data.val_sources, data.split_seed)
        if tokenizers is None:
            tokenizers = {TOKENIZER: sentence_tokenizer([s for s, _ in splits.train], data.min_count),
                          TARGET_TOKENIZER: sentence_tokenizer([t for _, t in splits.train], data.min_count,
                                                               bos_eos=True)}
        source, target = tokenizers[TOKENIZER], tokenizers[TARGET_TOKENIZER]
        unk = special_id(source, UNK)

        def dataset(pairs) -> ParallelData:
            src = [e.ids or [unk] for e in source.encode_batch([s for s, _ in pairs])]
            return ParallelData(src, [e.ids for e in target.encode_batch([t for _, t in pairs])])

        train_set, val_set = dataset(splits.train), dataset(splits.val)
        collate = partial(collate_parallel, pad_id=special_id(target, PAD))
        train = DataLoader(train_set, batch_sampler=BucketBatchSampler(train_set.lengths(), data.batch_size,
                                                                       seed=config.fit.seed), collate_fn=collate)
        val = DataLoader(val_set, batch_sampler=BucketBatchSampler(val_set.lengths(), 128, shuffle=False),
                         collate_fn=collate)
        state = {"source_vocab_size": source.vocab_size, "target_vocab_size": target.vocab_size}
        return TaskData(train, val, tokenizers, state, test=splits.test,
                        extra={"train_pairs": len(splits.train), "test_sentences": len(splits.test)})

    def build_model(self, config: TranslationRunConfig, state: dict) -> nn.Module:
        return make_model(config.model, source_vocab_size=state["source_vocab_size"],
                          target_vocab_size=state["target_vocab_size"])

    def make_task(self, config: TranslationRunConfig, state: dict) -> TranslationTask:
        return TranslationTask(config.label_smoothing, pad_id=0, name=self.name)

    def evaluate(self, model: nn.Module, config: TranslationRunConfig, data: TaskData) -> dict:
        """BLEU on the held-out test sentences, greedy and with beam search, and twenty examples."""
        source, target = data.tokenizers[TOKENIZER], data.tokenizers[TARGET_TOKENIZER]
        sources = [s for s, _ in data.test]
        references = [" ".join(words(target, t)) for _, t in data.test]
        greedy = translate_texts(model, source, target, sources, config.max_len)
        beam = translate_texts(model, source, target, sources, config.max_len,
                               DecodingConfig(beam_size=config.beam_size))
        examples = [{"source": s, "reference": r, "greedy": g, "beam": b}
                    for s, r, g, b in list(zip(sources, references, greedy, beam, strict=True))[:20]]
        return {"bleu_greedy": bleu(greedy, references, pretokenized=True),
                "bleu_beam": bleu(beam, references, pretokenized=True), "beam_size": config.beam_size,
                "test_sentences": len(sources), "train_pairs": data.extra.get("train_pairs", 0), "examples": examples}

    def translate(self, run: LoadedRun, texts: Sequence[str], decoding: DecodingConfig | None = None) -> list[str]:
        decoding = decoding if decoding is not None else DecodingConfig(beam_size=run.config.beam_size)
        return translate_texts(run.model, run.tokenizers[TOKENIZER], run.tokenizers[TARGET_TOKENIZER], texts,
                               run.config.max_len, decoding)


__all__ = ["TARGET_TOKENIZER", "TranslationDataConfig", "TranslationRecipe", "TranslationRunConfig",
           "TranslationTask", "sentence_normalizer", "sentence_pre_tokenizer", "sentence_tokenizer", "words"]
