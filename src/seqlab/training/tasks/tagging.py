"""Sequence labelling (named entities, WNUT-17 by default): the task, its config and its recipe.

The recipe: CoNLL sentences (``token<TAB>tag``) -> word ids (a word-level tokenizer of the training
split, lower-cased with digits mapped to 0; ``<pad>`` = 0, ``<unk>`` = 1) and character ids (a
character tokenizer of the training split, first ``max_word_chars`` characters of each token) ->
``BiLSTMCRFTagger`` -> CRF negative log-likelihood. The best epoch is chosen by entity F1 on dev
(``seqlab.metrics.tagging``: exact span matching); the test split is scored once, with the best
checkpoint, at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from seqlab.checks import integer, probability
from seqlab.data import BucketBatchSampler, TaggedSentence
from seqlab.data.loaders import load_wnut17
from seqlab.data.readers import read_conll_file
from seqlab.data.tagging import TaggedWordsData, collate_tagged_words, encode_words
from seqlab.errors import SeqlabError
from seqlab.metrics.tagging import entity_scores
from seqlab.models.config import TaggerConfig
from seqlab.models.factory import make_model
from seqlab.models.tagger import BiLSTMCRFTagger, entities, tag_tokens
from seqlab.text.factories import PAD, UNK, character_tokenizer, lowercase_digits_to_zero, word_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training.config import FitConfig
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER

CHAR_TOKENIZER = "char_tokenizer.json"
WNUT17_BEST = 40.78  # SpinningBytes' entity F1 on the WNUT-17 test set (Derczynski et al. 2017), percent
SPLITS = ("train", "dev", "test")


class TaggingTask:
    """CRF negative log-likelihood (mean per sentence); metrics loss and entity precision/recall/F1.

    Batches are dicts ``{"words" (B, T), "chars" (B, T, W), "lengths" (B,), "tags" (B, T)}``.
    ``word_dropout`` replaces each word by ``<unk>`` (id ``unk_id``) with that probability during
    training, so the model learns to lean on characters for unseen words.
    """

    def __init__(self, tags: Sequence[str], word_dropout: float = 0.0, unk_id: int = 1, name: str = "ner"):
        self.name = name
        self.tags = list(tags)
        self.word_dropout, self.unk_id = word_dropout, unk_id

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        words = batch["words"]
        if model.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words > 0), self.unk_id)
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


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaggingDataConfig:
    """Where the tagged sentences come from and how they are batched."""

    train: str | None = None  # CoNLL file (token<TAB>tag); None: WNUT-17 train
    dev: str | None = None  # None: WNUT-17 dev
    test: str | None = None  # None: WNUT-17 test (emerging.test.annotated)
    min_count: int = 1  # words seen fewer times in train become <unk>
    max_word_chars: int = 20  # characters kept per token
    batch_size: int = 16
    word_dropout: float = 0.05  # training-time probability of replacing a word by <unk>
    limit: int | None = None  # use only the first `limit` sentences of each split (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("min_count", "max_word_chars", "batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)
        probability(self.word_dropout, "data.word_dropout", one_allowed=False)
        if self.limit is not None:
            integer(self.limit, "data.limit", low=1)


@dataclass(frozen=True)
class TaggingRunConfig:
    """A tagging run: ``seqlab train ner --config ner_wnut17``."""

    task: str = "ner"
    data: TaggingDataConfig = field(default_factory=TaggingDataConfig)
    model: TaggerConfig = field(default_factory=TaggerConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=10, metric="f1", mode="max", lr=2e-3))


# -- data -----------------------------------------------------------------------------------------

def read_split(path: str | None, split: str, limit: int | None) -> list[TaggedSentence]:
    """The sentences of a CoNLL file (None: WNUT-17's ``split``), empty sentences dropped."""
    if path is None:
        sentences = load_wnut17(split)
    else:
        file = Path(path)
        if not file.is_file():
            raise SeqlabError(f"data.{split}: {file} does not exist (expected a token<TAB>tag CoNLL file)")
        sentences = read_conll_file(file)
    sentences = [s for s in sentences if s.tokens]
    return sentences[:limit] if limit is not None else sentences


def tag_order(tags: Iterable[str]) -> list[str]:
    """``O`` first, then by entity type, B- before I-."""
    return sorted(set(tags), key=lambda t: (t != "O", t[2:], t))


# -- recipe ---------------------------------------------------------------------------------------

class TaggingRecipe(Recipe):
    config_class = TaggingRunConfig
    abilities = frozenset({Ability.TAG})
    summary = "named entities (WNUT-17 or CoNLL files), BiLSTM-CRF with a character CNN; tags"

    def build_data(self, config: TaggingRunConfig, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        data = config.data
        splits = {name: read_split(getattr(data, name), name, data.limit) for name in SPLITS}
        if tokenizers is None:
            train_tokens = [t for s in splits["train"] for t in s.tokens]
            tokenizers = {TOKENIZER: word_tokenizer([" ".join(s.tokens) for s in splits["train"]], data.min_count,
                                                    normalizer=lowercase_digits_to_zero()),
                          CHAR_TOKENIZER: character_tokenizer("".join(train_tokens), specials=(PAD, UNK))}
        # the tag inventory is the schema of all splits (a tag type rare enough to miss a small train
        # split still needs an id to be scored)
        tags = tag_order(t for sentences in splits.values() for s in sentences for t in s.tags)
        index = {tag: i for i, tag in enumerate(tags)}
        words, chars = tokenizers[TOKENIZER], tokenizers[CHAR_TOKENIZER]

        def examples(name: str) -> TaggedWordsData:
            items = []
            for sentence in splits[name]:
                word_ids, char_ids = encode_words(sentence.tokens, words, chars, data.max_word_chars)
                items.append((word_ids, char_ids, torch.tensor([index[t] for t in sentence.tags])))
            return TaggedWordsData(items)

        train_set, dev_set, test_set = (examples(name) for name in SPLITS)

        def fixed(dataset: TaggedWordsData) -> DataLoader:
            return DataLoader(dataset, batch_sampler=BucketBatchSampler(dataset.lengths(), 64, shuffle=False),
                              collate_fn=collate_tagged_words)

        train = DataLoader(train_set, batch_sampler=BucketBatchSampler(train_set.lengths(), data.batch_size,
                                                                       seed=config.fit.seed),
                           collate_fn=collate_tagged_words)
        state = {"tags": tags, "vocab_size": words.vocab_size, "char_vocab_size": chars.vocab_size,
                 "unk_id": words.token_to_id(UNK)}
        return TaskData(train, fixed(dev_set), tokenizers, state, test=fixed(test_set))

    def build_model(self, config: TaggingRunConfig, state: dict) -> BiLSTMCRFTagger:
        return make_model(config.model, vocab_size=state["vocab_size"], char_vocab_size=state["char_vocab_size"],
                          tags=state["tags"])

    def make_task(self, config: TaggingRunConfig, state: dict) -> TaggingTask:
        return TaggingTask(state["tags"], config.data.word_dropout, state["unk_id"], self.name)

    def evaluate(self, model: nn.Module, config: TaggingRunConfig, data: TaskData) -> dict:
        """Loss and entity scores of the best weights on the test split, beside the shared task's best."""
        scores = self.make_task(config, data.state).evaluate(model, data.test)
        return {**scores, "wnut17_reference_f1": WNUT17_BEST}

    def tag(self, run: LoadedRun, text: str) -> list[tuple[str, str]]:
        tokens = text.split()
        predicted = tag_tokens(run.model, run.tokenizers[TOKENIZER], run.tokenizers[CHAR_TOKENIZER],
                               run.state["tags"], tokens, run.config.data.max_word_chars)
        return entities(tokens, predicted)


__all__ = ["CHAR_TOKENIZER", "TaggingDataConfig", "TaggingRecipe", "TaggingRunConfig", "TaggingTask", "read_split",
           "tag_order"]
