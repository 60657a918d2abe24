"""Machine translation English -> French on the Tatoeba pairs: the task, its config and its run.

The recipe, fixed so that figures are comparable between runs:

* data: ``fra-eng/fra.txt`` (167,130 pairs), U+00A0/U+202F mapped to spaces;
* filter: both sides at most ``max_words`` (10) whitespace-separated words;
* text: lower-cased, punctuation split off (``pretokenize``), one id per word; words seen fewer
  than ``min_count`` times in the training split become ``<unk>``;
* split: the distinct English sentences are shuffled with ``split_seed``; ``test_sources``
  (2,000) of them are the test set and ``val_sources`` (1,000) the validation set, each scored
  against its first French translation; every pair of the remaining sentences is training data.
  No English sentence of the test set occurs in training;
* score: sacrebleu corpus BLEU (13a) of the hypotheses against the references, both in the
  pre-tokenised lower-case form above (so BLEU is case-insensitive), greedy and beam search.

Loss: cross-entropy with label smoothing ε over the target tokens (padding ignored),

    L = -(1 - ε) log p(y_t | y_<t, x) - ε/V sum_v log p(v | y_<t, x)

Models: ``seqlab.models.TransformerSeq2Seq`` ("transformer") or ``Seq2SeqAttention`` ("gru").
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.data import BucketBatchSampler, ParallelData, collate_parallel
from seqlab.data.loaders import load_fra_eng
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.metrics.translation import bleu
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.fit import BEST, Callback, History, fit

log = logging.getLogger(__name__)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
_TOKEN = re.compile(r"\w+(?:[-']\w+)*'?|[^\w\s]", re.UNICODE)


def pretokenize(text: str) -> list[str]:
    """Lower-case words (with their inner apostrophes and hyphens) and punctuation marks.

    Example:
        >>> pretokenize("Qu'est-ce que c'est ?")
        ["qu'est-ce", 'que', "c'est", '?']
    """
    return _TOKEN.findall(text.lower().replace("\u00a0", " ").replace("\u202f", " "))


class Vocabulary:
    """Words -> ids: ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3, then by count (ties by word)."""

    def __init__(self, words: Sequence[str]):
        self.words = list(words)
        if self.words[:4] != [PAD, UNK, BOS, EOS]:
            raise SeqlabError(f"vocabulary: expected {[PAD, UNK, BOS, EOS]} first, got {self.words[:4]}")
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int) -> Vocabulary:
        counts = Counter(w for sentence in sentences for w in sentence)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, BOS, EOS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.index.get(w, 1) for w in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[i] for i in ids if i > 3 or i == 1]


# -- task -----------------------------------------------------------------------------------------

class TranslationTask:
    """Label-smoothed cross-entropy per target token; evaluation reports loss, perplexity-free token accuracy.

    Batches are ``seqlab.data.Batch`` from ``collate_parallel``: ``inputs`` (B, S) source ids,
    ``lengths`` (B,), ``targets`` (B, T + 2) = BOS, target ids, EOS (padded with 0).
    """

    name = "translate"

    def __init__(self, label_smoothing: float = 0.1, pad_id: int = 0):
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

    def state(self) -> dict:
        return {"vocabulary": "vocabulary.json", "label_smoothing": self.label_smoothing}


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TranslationDataConfig:
    """The fixed filter, split and vocabulary of the English -> French recipe."""

    path: str | None = None  # a source<TAB>target file; None: $SEQLAB_DATA_DIR/fra-eng/fra.txt
    max_words: int = 10  # keep pairs whose two sides have at most this many whitespace words
    test_sources: int = 2000  # held-out English sentences scored by BLEU
    val_sources: int = 1000  # held-out English sentences for the validation loss
    split_seed: int = 0
    min_count: int = 2  # words seen fewer times in training become <unk>
    batch_size: int = 64
    limit: int | None = None  # keep only the first `limit` pairs of the file (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("max_words", "test_sources", "val_sources", "min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"data.{name}: expected a positive integer, got {getattr(self, name)}")


@dataclass(frozen=True)
class TranslationModelConfig:
    """Which model and its size."""

    kind: Literal["transformer", "gru"] = "transformer"
    d_model: int = 256  # transformer width E (gru: embedding size)
    nhead: int = 4
    num_layers: int = 3  # encoder and decoder layers
    dim_feedforward: int = 1024
    hidden_size: int = 256  # gru: H
    attention: Literal["additive", "general", "dot"] = "additive"  # gru only
    dropout: float = 0.1
    label_smoothing: float = 0.1


@dataclass(frozen=True)
class TranslationConfig:
    """A translation run: ``seqlab train translate --config translate_transformer.yaml``."""

    task: str = "translate"
    data: TranslationDataConfig = field(default_factory=TranslationDataConfig)
    model: TranslationModelConfig = field(default_factory=TranslationModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_seconds=1200, lr=1e-3, schedule="cosine",
                                                             warmup_steps=400, eval_every=500))
    beam_size: int = 4  # beam width for the BLEU of beam search
    max_len: int = 30  # longest generated translation, in tokens


# -- data -----------------------------------------------------------------------------------------

@dataclass
class TranslationSplits:
    """Pre-tokenised (source, target) pairs of the three splits."""

    train: list[tuple[list[str], list[str]]]
    val: list[tuple[list[str], list[str]]]
    test: list[tuple[list[str], list[str]]]


def split_pairs(pairs: Sequence[tuple[str, str]], config: TranslationDataConfig) -> TranslationSplits:
    """Filter by length, then split by English sentence (see the module docstring)."""
    kept = [(s, t) for s, t in pairs if len(s.split()) <= config.max_words and len(t.split()) <= config.max_words]
    by_source: dict[str, list[str]] = {}
    for source, target in kept:
        by_source.setdefault(source, []).append(target)
    sources = list(by_source)
    order = torch.randperm(len(sources), generator=torch.Generator().manual_seed(config.split_seed)).tolist()
    if len(order) <= config.test_sources + config.val_sources:
        raise SeqlabError(f"data: {len(order)} distinct source sentences after the filter, need more than "
                          f"test_sources + val_sources = {config.test_sources + config.val_sources}")
    test_ids = order[: config.test_sources]
    val_ids = order[config.test_sources: config.test_sources + config.val_sources]
    train_ids = order[config.test_sources + config.val_sources:]

    def first(ids):
        return [(pretokenize(sources[i]), pretokenize(by_source[sources[i]][0])) for i in ids]

    train = [(pretokenize(sources[i]), pretokenize(t)) for i in sorted(train_ids) for t in by_source[sources[i]]]
    return TranslationSplits(train, first(val_ids), first(test_ids))


def read_pairs(config: TranslationDataConfig) -> list[tuple[str, str]]:
    if config.path is None:
        pairs = load_fra_eng(max_pairs=config.limit)
    else:
        from seqlab.data.loaders import parse_parallel

        path = Path(config.path)
        if not path.is_file():
            raise SeqlabError(f"data.path: {path} does not exist")
        with open(path, encoding="utf-8") as handle:
            try:
                pairs = parse_parallel(handle)
            except SeqlabError as error:
                raise SeqlabError(f"{path}: {error}") from None
        pairs = pairs[: config.limit] if config.limit is not None else pairs
    return pairs


@dataclass
class TranslationData:
    train: DataLoader
    val: DataLoader
    splits: TranslationSplits
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary


def _dataset(pairs, src_vocab: Vocabulary, tgt_vocab: Vocabulary) -> ParallelData:
    return ParallelData([src_vocab.encode(s) or [1] for s, _ in pairs],
                        [[2, *tgt_vocab.encode(t), 3] for _, t in pairs])


def build_data(config: TranslationConfig, vocabularies: tuple[Vocabulary, Vocabulary] | None = None,
               seed: int = 0) -> TranslationData:
    splits = split_pairs(read_pairs(config.data), config.data)
    if vocabularies is None:
        vocabularies = (Vocabulary.build((s for s, _ in splits.train), config.data.min_count),
                        Vocabulary.build((t for _, t in splits.train), config.data.min_count))
    src_vocab, tgt_vocab = vocabularies
    train_set = _dataset(splits.train, src_vocab, tgt_vocab)
    val_set = _dataset(splits.val, src_vocab, tgt_vocab)
    collate = partial(collate_parallel, pad_id=0)
    train = DataLoader(train_set, batch_sampler=BucketBatchSampler(train_set.lengths(), config.data.batch_size,
                                                                   seed=seed), collate_fn=collate)
    val = DataLoader(val_set, batch_sampler=BucketBatchSampler(val_set.lengths(), 128, shuffle=False),
                     collate_fn=collate)
    return TranslationData(train, val, splits, src_vocab, tgt_vocab)


def build_model(config: TranslationModelConfig, source_size: int, target_size: int) -> nn.Module:
    if config.kind == "transformer":
        return TransformerSeq2Seq(source_size, target_size, d_model=config.d_model, nhead=config.nhead,
                                  num_encoder_layers=config.num_layers, num_decoder_layers=config.num_layers,
                                  dim_feedforward=config.dim_feedforward, dropout=config.dropout, norm_first=True)
    return Seq2SeqAttention(source_size, target_size, embedding_dim=config.d_model, hidden_size=config.hidden_size,
                            num_layers=1, cell="gru", attention=config.attention, dropout=config.dropout)


# -- translating and scoring ------------------------------------------------------------------------

@torch.no_grad()
def translate_tokens(model: nn.Module, sources: Sequence[list[str]], src_vocab: Vocabulary, tgt_vocab: Vocabulary,
                     beam_size: int = 1, max_len: int = 30, batch_size: int = 64) -> list[list[str]]:
    """Pre-tokenised sources -> target tokens, greedy (beam_size 1) or by beam search, in input order."""
    model.eval()
    out: list[list[str] | None] = [None] * len(sources)
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))  # similar lengths batch together
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        ids = [src_vocab.encode(sources[i]) or [1] for i in rows]
        lengths = torch.tensor([len(x) for x in ids])
        src = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
        for b, x in enumerate(ids):
            src[b, : len(x)] = torch.tensor(x)
        results = model.translate(src, lengths, bos_id=2, eos_id=3, max_len=max_len, beam_size=beam_size)
        for i, result in zip(rows, results, strict=True):
            out[i] = tgt_vocab.decode(result)
    return out  # type: ignore[return-value]


def bleu_of(model: nn.Module, pairs, src_vocab: Vocabulary, tgt_vocab: Vocabulary, beam_size: int = 1,
            max_len: int = 30) -> tuple[float, list[str]]:
    """Corpus BLEU of the model's translations of ``pairs`` and the hypotheses themselves."""
    hypotheses = [" ".join(h) for h in translate_tokens(model, [s for s, _ in pairs], src_vocab, tgt_vocab,
                                                        beam_size, max_len)]
    return bleu(hypotheses, [" ".join(t) for _, t in pairs], pretokenized=True), hypotheses


# -- runs -----------------------------------------------------------------------------------------

@dataclass
class TranslationResult:
    history: History
    best_metrics: dict
    test_metrics: dict
    parameters: int
    run_dir: Path | None


def _vocab_json(data: TranslationData) -> dict:
    return {"source": data.source_vocabulary.words, "target": data.target_vocabulary.words}


def train(config: TranslationConfig, run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (),
          resume: bool = False) -> TranslationResult:
    """Build data and model, ``fit`` (best validation loss kept), then BLEU on the test set, greedy and beam."""
    run_dir = Path(run_dir) if run_dir is not None else None
    torch.manual_seed(config.fit.seed)
    data = build_data(config, seed=config.fit.seed)
    model = build_model(config.model, len(data.source_vocabulary), len(data.target_vocabulary))
    if run_dir is not None:
        write_json_atomic(run_dir / "config.json", to_dict(config))
        write_json_atomic(run_dir / "vocabulary.json", _vocab_json(data))
    task = TranslationTask(config.model.label_smoothing)
    history = fit(model, task, data.train, data.val, config.fit, run_dir, callbacks=callbacks, resume=resume,
                  run_config=to_dict(config))
    if run_dir is not None:
        from seqlab.training.checkpoint import load_checkpoint

        model.load_state_dict(load_checkpoint(run_dir / BEST).model_state())
    test = score_test(model, data, config)
    if run_dir is not None:
        write_json_atomic(run_dir / "test_metrics.json", {k: v for k, v in test.items() if k != "examples"})
        write_json_atomic(run_dir / "test_examples.json", test["examples"])
    return TranslationResult(history, history.best_metrics, test, sum(p.numel() for p in model.parameters()), run_dir)


def score_test(model: nn.Module, data: TranslationData, config: TranslationConfig) -> dict:
    """BLEU on the held-out test pairs, greedy and with beam search, plus a few examples."""
    src, tgt = data.source_vocabulary, data.target_vocabulary
    greedy, hypotheses = bleu_of(model, data.splits.test, src, tgt, 1, config.max_len)
    beam, _ = bleu_of(model, data.splits.test, src, tgt, config.beam_size, config.max_len)
    examples = [{"source": " ".join(s), "reference": " ".join(t), "greedy": h}
                for (s, t), h in list(zip(data.splits.test, hypotheses))[:20]]
    return {"bleu_greedy": greedy, "bleu_beam": beam, "beam_size": config.beam_size,
            "test_sentences": len(data.splits.test), "train_pairs": len(data.splits.train), "examples": examples}


@dataclass
class LoadedTranslator:
    model: nn.Module
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary
    config: TranslationConfig

    def translate(self, texts: Sequence[str], beam_size: int | None = None) -> list[str]:
        beam = self.config.beam_size if beam_size is None else beam_size
        out = translate_tokens(self.model, [pretokenize(t) for t in texts], self.source_vocabulary,
                               self.target_vocabulary, beam, self.config.max_len)
        return [" ".join(tokens) for tokens in out]


def load(run_dir: str | Path, config: TranslationConfig) -> LoadedTranslator:
    """The best checkpoint of a translation run (safetensors weights, JSON vocabularies)."""
    from seqlab.training.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    path = run_dir / "vocabulary.json"
    if not path.is_file():
        raise SeqlabError(f"{run_dir}: expected a translation run folder with vocabulary.json")
    words = json.loads(path.read_text(encoding="utf-8"))
    src, tgt = Vocabulary(words["source"]), Vocabulary(words["target"])
    model = build_model(config.model, len(src), len(tgt))
    model.load_state_dict(load_checkpoint(run_dir / BEST).model_state())
    return LoadedTranslator(model.eval(), src, tgt, config)


def evaluate_run(run_dir: str | Path, config: TranslationConfig) -> dict[str, float]:
    """The best checkpoint's BLEU on the test set (greedy and beam)."""
    loaded = load(run_dir, config)
    data = build_data(config, vocabularies=(loaded.source_vocabulary, loaded.target_vocabulary))
    return {k: v for k, v in score_test(loaded.model, data, config).items() if k != "examples"}


Config = TranslationConfig

__all__ = ["Config", "LoadedTranslator", "TranslationConfig", "TranslationTask", "Vocabulary", "bleu_of",
           "evaluate_run", "load", "pretokenize", "split_pairs", "train"]
