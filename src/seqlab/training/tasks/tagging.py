"""Sequence labelling (named entities, WNUT-17 by default): the task, its config and its run.

The recipe: CoNLL sentences (``token<TAB>tag``) -> word ids (lower-cased, digits mapped to 0,
vocabulary of the training split; ``<pad>`` = 0, ``<unk>`` = 1) and character ids (first
``max_word_chars`` characters of each token) -> ``BiLSTMCRFTagger`` -> CRF negative
log-likelihood. The best epoch is chosen by entity F1 on dev; the test split is scored once,
with the best checkpoint, at the end.

Entity-level F1 with exact span matching (the WNUT-17 and CoNLL measure): a predicted entity
counts only if its type, first and last token all equal a gold entity's.

    precision = |pred ∩ gold| / |pred|,  recall = |pred ∩ gold| / |gold|,  F1 = 2PR / (P + R)

Spans are read as conlleval does: an entity starts at B-x, or at I-x that does not continue an
entity of type x, and runs over the following I-x.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from seqlab.data import BucketBatchSampler, TaggedSentence, pad_sequences
from seqlab.data.loaders import load_wnut17, parse_conll
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.models.tagger import BiLSTMCRFTagger
from seqlab.nn.crf import bio_constraints
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.fit import BEST, Callback, History, fit

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"
WNUT17_BEST = 40.78  # SpinningBytes' entity F1 on the WNUT-17 test set (Derczynski et al. 2017), percent


# -- entity spans and F1 -------------------------------------------------------------------------

def bio_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """Entities of a BIO sequence as (first, last, type), conlleval's reading of stray I- tags.

    Example:
        >>> sorted(bio_spans(["B-per", "I-per", "O", "I-loc", "B-loc"]))
        [(0, 1, 'per'), (3, 3, 'loc'), (4, 4, 'loc')]
    """
    spans, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and kind == label
        if start is not None and not continues:
            spans.add((start, i - 1, kind))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, label
    return spans


def entity_scores(gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]) -> dict[str, float]:
    """Exact-span precision, recall and F1 (fractions) over sentences of BIO tags."""
    hits = n_gold = n_pred = 0
    for g, p in zip(gold, predicted, strict=True):
        g_spans, p_spans = bio_spans(g), bio_spans(p)
        hits += len(g_spans & p_spans)
        n_gold += len(g_spans)
        n_pred += len(p_spans)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# -- vocabulary -----------------------------------------------------------------------------------

def normalize_word(token: str) -> str:
    """The word-embedding key of a token: lower-cased, every digit replaced by 0."""
    return re.sub(r"\d", "0", token.lower())


@dataclass
class TaggingVocabulary:
    """Word, character and tag ids of a tagging run; ``<pad>`` = 0 and ``<unk>`` = 1 for words and characters."""

    words: list[str]
    chars: list[str]
    tags: list[str]

    def __post_init__(self):
        self.word_index = {w: i for i, w in enumerate(self.words)}
        self.char_index = {c: i for i, c in enumerate(self.chars)}
        self.tag_index = {t: i for i, t in enumerate(self.tags)}

    @classmethod
    def build(cls, sentences: Sequence[TaggedSentence], min_count: int = 1,
              tags: Iterable[str] = ()) -> TaggingVocabulary:
        """Words and characters of ``sentences`` (the training split); tags of them plus ``tags``."""
        words = Counter(normalize_word(t) for s in sentences for t in s.tokens)
        chars = Counter(c for s in sentences for t in s.tokens for c in t)
        kept = sorted((w for w, c in words.items() if c >= min_count), key=lambda w: (-words[w], w))
        labels = sorted({t for s in sentences for t in s.tags} | set(tags), key=lambda t: (t != "O", t[2:], t))
        return cls([PAD, UNK, *kept], [PAD, UNK, *sorted(chars)], labels)

    def encode(self, tokens: Sequence[str], max_word_chars: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Word ids (T,) and character ids (T, max_word_chars) of one sentence."""
        words = torch.tensor([self.word_index.get(normalize_word(t), 1) for t in tokens], dtype=torch.long)
        chars = torch.zeros(len(tokens), max_word_chars, dtype=torch.long)
        for i, token in enumerate(tokens):
            ids = [self.char_index.get(c, 1) for c in token[:max_word_chars]] or [1]
            chars[i, : len(ids)] = torch.tensor(ids)
        return words, chars

    def encode_tags(self, tags: Sequence[str], where: str = "tags") -> torch.Tensor:
        unknown = [t for t in tags if t not in self.tag_index]
        if unknown:
            raise SeqlabError(f"{where}: tag {unknown[0]!r} is not among the training tags {self.tags}")
        return torch.tensor([self.tag_index[t] for t in tags], dtype=torch.long)

    def to_json(self) -> dict:
        return {"words": self.words, "chars": self.chars, "tags": self.tags}

    @classmethod
    def from_json(cls, data: dict) -> TaggingVocabulary:
        try:
            return cls(list(data["words"]), list(data["chars"]), list(data["tags"]))
        except (KeyError, TypeError):
            raise SeqlabError("vocabulary.json: expected keys words, chars and tags") from None


# -- task -----------------------------------------------------------------------------------------

class TaggingTask:
    """CRF negative log-likelihood (mean per sentence); metrics loss and entity precision/recall/F1.

    Batches are dicts ``{"words" (B, T), "chars" (B, T, W), "lengths" (B,), "tags" (B, T)}``.
    ``word_dropout`` replaces each word by ``<unk>`` with that probability during training, so the
    model learns to lean on characters for unseen words.
    """

    name = "ner"

    def __init__(self, tags: Sequence[str], word_dropout: float = 0.0):
        self.tags = list(tags)
        self.word_dropout = word_dropout

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        words = batch["words"]
        if model.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words > 0), 1)
        return model.nll(words, batch["lengths"], batch["tags"], batch["chars"]).mean()

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        total, count, gold, predicted = 0.0, 0, [], []
        for batch in batches:
            total += model.nll(batch["words"], batch["lengths"], batch["tags"], batch["chars"]).sum().item()
            paths = model.decode(batch["words"], batch["lengths"], batch["chars"])
            for b, path in enumerate(paths):
                gold.append([self.tags[i] for i in batch["tags"][b, : len(path)].tolist()])
                predicted.append([self.tags[i] for i in path])
            count += len(paths)
        if count == 0:
            raise SeqlabError("evaluate: expected at least one batch, got none")
        return {"loss": total / count, **entity_scores(gold, predicted)}

    def state(self) -> dict:
        return {"tags": self.tags, "vocabulary": "vocabulary.json"}


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaggingDataConfig:
    """Where the tagged sentences come from and how they are batched."""

    train: str | None = None  # CoNLL file (token<TAB>tag); None: WNUT-17 train in $SEQLAB_DATA_DIR
    dev: str | None = None  # None: WNUT-17 dev
    test: str | None = None  # None: WNUT-17 test (emerging.test.annotated)
    min_count: int = 1  # words seen fewer times in train become <unk>
    max_word_chars: int = 20  # characters kept per token
    batch_size: int = 16
    word_dropout: float = 0.05  # training-time probability of replacing a word by <unk>
    limit: int | None = None  # use only the first `limit` sentences of each split (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("min_count", "max_word_chars", "batch_size"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"data.{name}: expected a positive integer, got {getattr(self, name)}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise SeqlabError(f"data.word_dropout: expected a probability in [0, 1), got {self.word_dropout}")


@dataclass(frozen=True)
class TaggerModelConfig:
    """The ``BiLSTMCRFTagger``'s hyper-parameters (see its docstring)."""

    embedding_dim: int = 100
    char_dim: int = 25
    char_filters: int = 50  # 0 disables the character CNN
    char_width: int = 3
    hidden_size: int = 100
    num_layers: int = 1
    dropout: float = 0.5
    constrained: bool = True  # forbid invalid BIO transitions in the CRF


@dataclass(frozen=True)
class TaggingConfig:
    """A tagging run: ``seqlab train ner --config ner_wnut17.yaml``."""

    task: str = "ner"
    data: TaggingDataConfig = field(default_factory=TaggingDataConfig)
    model: TaggerModelConfig = field(default_factory=TaggerModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=10, metric="f1", mode="max", lr=2e-3))


# -- data -----------------------------------------------------------------------------------------

def read_split(path: str | None, split: str, limit: int | None) -> list[TaggedSentence]:
    if path is None:
        sentences = load_wnut17(split)
    else:
        file = Path(path)
        if not file.is_file():
            raise SeqlabError(f"data.{split}: {file} does not exist")
        with open(file, encoding="utf-8") as handle:
            try:
                sentences = parse_conll(handle)
            except SeqlabError as error:
                raise SeqlabError(f"{file}: {error}") from None
    sentences = [s for s in sentences if s.tokens]
    return sentences[:limit] if limit is not None else sentences


def collate_tagged(examples: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> dict:
    """(words (T,), chars (T, W), tags (T,)) examples -> a padded dict batch."""
    words, lengths, _ = pad_sequences([w for w, _, _ in examples], 0)
    chars, _, _ = pad_sequences([c for _, c, _ in examples], 0)
    tags, _, _ = pad_sequences([t for _, _, t in examples], 0)  # padding is masked by lengths in the CRF
    return {"words": words, "chars": chars, "lengths": lengths, "tags": tags}


class _Examples(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def lengths(self):
        return [len(w) for w, _, _ in self.items]


@dataclass
class TaggingLoaders:
    train: DataLoader
    dev: DataLoader
    test: DataLoader
    vocabulary: TaggingVocabulary


def build_data(config: TaggingConfig, vocabulary: TaggingVocabulary | None = None, seed: int = 0) -> TaggingLoaders:
    data = config.data
    splits = {name: read_split(getattr(data, name), name, data.limit) for name in ("train", "dev", "test")}
    if vocabulary is None:
        # the tag inventory is the schema of all splits (a tag type rare enough to miss a small train
        # split still needs an id to be scored); words and characters come from train only
        schema = {t for sentences in splits.values() for s in sentences for t in s.tags}
        vocabulary = TaggingVocabulary.build(splits["train"], data.min_count, schema)

    def examples(name):
        items = []
        for i, sentence in enumerate(splits[name]):
            words, chars = vocabulary.encode(sentence.tokens, data.max_word_chars)
            items.append((words, chars, vocabulary.encode_tags(sentence.tags, f"{name} sentence {i + 1}")))
        return _Examples(items)

    train_set, dev_set, test_set = examples("train"), examples("dev"), examples("test")
    train = DataLoader(train_set, batch_sampler=BucketBatchSampler(train_set.lengths(), data.batch_size, seed=seed),
                       collate_fn=collate_tagged)

    def fixed(dataset):
        return DataLoader(dataset, batch_sampler=BucketBatchSampler(dataset.lengths(), 64, shuffle=False),
                          collate_fn=collate_tagged)

    return TaggingLoaders(train, fixed(dev_set), fixed(test_set), vocabulary)


def build_model(config: TaggerModelConfig, vocabulary: TaggingVocabulary) -> BiLSTMCRFTagger:
    allowed, starts = bio_constraints(vocabulary.tags) if config.constrained else (None, None)
    return BiLSTMCRFTagger(len(vocabulary.words), len(vocabulary.tags),
                           char_vocab_size=len(vocabulary.chars) if config.char_filters else 0,
                           embedding_dim=config.embedding_dim, char_dim=config.char_dim,
                           char_filters=config.char_filters or 1, char_width=config.char_width,
                           hidden_size=config.hidden_size, num_layers=config.num_layers, dropout=config.dropout,
                           allowed=allowed, allowed_start=starts)


# -- runs -----------------------------------------------------------------------------------------

@dataclass
class TaggingResult:
    history: History
    best_metrics: dict
    test_metrics: dict
    parameters: int
    run_dir: Path | None


def train(config: TaggingConfig, run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (),
          resume: bool = False) -> TaggingResult:
    """Build data and model, ``fit`` with dev-F1 selection, then score the best checkpoint on test."""
    run_dir = Path(run_dir) if run_dir is not None else None
    torch.manual_seed(config.fit.seed)
    data = build_data(config, seed=config.fit.seed)
    model = build_model(config.model, data.vocabulary)
    if run_dir is not None:
        write_json_atomic(run_dir / "config.json", to_dict(config))
        write_json_atomic(run_dir / "vocabulary.json", data.vocabulary.to_json())
    task = TaggingTask(data.vocabulary.tags, config.data.word_dropout)
    history = fit(model, task, data.train, data.dev, config.fit, run_dir, callbacks=callbacks, resume=resume,
                  run_config=to_dict(config))
    if run_dir is not None:
        from seqlab.training.checkpoint import load_checkpoint

        model.load_state_dict(load_checkpoint(run_dir / BEST).model_state())
    model.eval()
    with torch.no_grad():
        test = task.evaluate(model, data.test)
    if run_dir is not None:
        write_json_atomic(run_dir / "test_metrics.json", {**test, "best_dev": history.best_metrics,
                                                          "wnut17_reference_f1": WNUT17_BEST})
    return TaggingResult(history, history.best_metrics, test, sum(p.numel() for p in model.parameters()), run_dir)


@dataclass
class LoadedTagger:
    """A trained tagger with its vocabulary, ready to tag whitespace-tokenised text."""

    model: BiLSTMCRFTagger
    vocabulary: TaggingVocabulary
    config: TaggingConfig

    @torch.no_grad()
    def tag(self, tokens: Sequence[str]) -> list[str]:
        if not tokens:
            return []
        words, chars = self.vocabulary.encode(tokens, self.config.data.max_word_chars)
        path = self.model.eval().decode(words[None], torch.tensor([len(tokens)]), chars[None])[0]
        return [self.vocabulary.tags[i] for i in path]

    def entities(self, text: str) -> list[tuple[str, str]]:
        """(entity text, type) of every entity found in ``text`` (split on whitespace)."""
        tokens = text.split()
        return [(" ".join(tokens[a:b + 1]), kind) for a, b, kind in sorted(bio_spans(self.tag(tokens)))]


def load(run_dir: str | Path, config: TaggingConfig) -> LoadedTagger:
    from seqlab.training.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    vocabulary = TaggingVocabulary.from_json(json.loads((run_dir / "vocabulary.json").read_text(encoding="utf-8")))
    model = build_model(config.model, vocabulary)
    model.load_state_dict(load_checkpoint(run_dir / BEST).model_state())
    return LoadedTagger(model.eval(), vocabulary, config)


def evaluate_run(run_dir: str | Path, config: TaggingConfig) -> dict[str, float]:
    """The best checkpoint's loss and entity scores on the test split."""
    loaded = load(run_dir, config)
    data = build_data(config, vocabulary=loaded.vocabulary)
    with torch.no_grad():
        return TaggingTask(loaded.vocabulary.tags).evaluate(loaded.model, data.test)


Config = TaggingConfig

__all__ = ["Config", "LoadedTagger", "TaggingConfig", "TaggingTask", "TaggingVocabulary", "bio_spans",
           "entity_scores", "evaluate_run", "load", "train"]
