"""Language modelling: next-token cross-entropy on a text, character- or BPE-level, recurrent or GPT.

The recipe (nanoGPT's ``shakespeare_char`` set-up): the first 90% of the text trains, the last 10%
validates; the training stream is cut into blocks of T + 1 tokens (inputs, and targets shifted by
one) starting at a fresh random offset each epoch; validation covers every block of its stream.

    loss = -(1/N) sum_t ln p(x_{t+1} | x_<=t)     nats per token
    perplexity = exp(loss);  bits per character = loss * (tokens / characters) / ln 2

The tokenizer: ``char`` (one id per distinct character of the text, in code-point order: nanoGPT's
``stoi``) or ``bpe`` (byte-level BPE trained on the training part). The text is encoded line by
line, as BPE's merges were learned: a newline never merges with the next line's text.

A corpus of several documents (a folder of ``*.txt`` files, or named corpora such as ``gutenberg``:
``seqlab.data.documents``) is split document by document, each one's first 90% training and its
last 10% validation, the parts joined with a blank line between documents.

``model.pretrained=RUN`` continues another ``lm`` run's model (GPT or recurrent) on this text: its
architecture, tokenizer and context window come from that run, and its weights start the model
(``model.pretrained_weights=false``: the same model and tokenizer from random weights, the control).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from seqlab.checks import integer, number
from seqlab.data import IGNORE_INDEX, LanguageModelData, collate_language_model, split_fraction
from seqlab.data.datasets import RandomOffsetBlocks
from seqlab.data.documents import check_corpus, read_documents
from seqlab.errors import SeqlabError
from seqlab.generation.config import DecodingConfig
from seqlab.generation.generate import MAX_NEW_TOKENS
from seqlab.generation.text import generate_text
from seqlab.metrics.language import bits_per_char, perplexity
from seqlab.models.config import LanguageModelConfig
from seqlab.models.factory import make_model
from seqlab.text.factories import character_tokenizer, train_tokenizer
from seqlab.text.tokenizer import Tokenizer
from seqlab.training import distributed
from seqlab.training.config import FitConfig, from_dict
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import TOKENIZER
from seqlab.training.tasks.pretrained import PretrainedSource, load_pretrained_source

log = logging.getLogger(__name__)


class LanguageModelTask:
    """Mean cross-entropy per predicted token; evaluation adds perplexity and bits per character.

    Batches are ``seqlab.data.Batch`` with ``inputs`` and ``targets`` (B, T), targets padded with
    ``IGNORE_INDEX``. ``chars_per_token`` converts nats per token into bits per character.
    """

    def __init__(self, name: str = "lm", chars_per_token: float = 1.0):
        self.name = name
        self.chars_per_token = chars_per_token

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        logits = _logits(model(batch.inputs))  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORE_INDEX)

    def evaluate(self, model: nn.Module, batches: Iterable) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in batches:
            logits = _logits(model(batch.inputs))
            total += F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORE_INDEX,
                                     reduction="sum").item()
            count += int((batch.targets != IGNORE_INDEX).sum())
        if count == 0:
            raise SeqlabError("evaluate: expected at least one validation token, got none")
        loss = total / count
        return {"loss": loss, "perplexity": perplexity(loss),
                "bits_per_char": bits_per_char(loss / self.chars_per_token)}


def _logits(output) -> torch.Tensor:
    """A recurrent LM returns (logits, state); a GPT returns logits."""
    return output[0] if isinstance(output, tuple) else output


# -- config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LanguageModelDataConfig:
    """The text, its tokenizer, the split and the blocks."""

    path: str | None = None  # a text file or a folder of *.txt files; None: the named data.corpus
    corpus: tuple[str, ...] = ("tinyshakespeare",)  # named corpora (seqlab.data.documents.CORPORA)
    encoding: Literal["utf-8", "latin-1"] = "utf-8"  # of the files of data.path (the named corpora know theirs)
    tokenizer: Literal["char", "bpe"] = "char"
    vocab_size: int = 512  # BPE only: bytes + merges
    train_fraction: float = 0.9  # nanoGPT's split: first 90% train, last 10% validation
    block_size: int = 128  # T, tokens predicted per training example
    batch_size: int = 64  # B, blocks per step (per process under torchrun)
    val_batch_size: int = 128
    limit: int | None = None  # use only the first `limit` characters of the text (tests, quick looks)

    def __post_init__(self) -> None:
        check_corpus(self.corpus)
        for name in ("vocab_size", "block_size", "batch_size", "val_batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)
        if self.limit is not None:
            integer(self.limit, "data.limit", low=1)
        number(self.train_fraction, "data.train_fraction", low=0.0, high=1.0, low_open=True, high_open=True)


@dataclass(frozen=True)
class SampleConfig:
    """The sample written at the end of a run (and the defaults of ``seqlab generate``)."""

    prompt: str = "\n"
    length: int = 300  # new tokens
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.prompt:
            raise SeqlabError("sample.prompt: expected at least one character, got an empty prompt")
        integer(self.length, "sample.length", low=0, high=MAX_NEW_TOKENS)
        integer(self.seed, "sample.seed")
        self.decoding  # noqa: B018 (validates temperature, top_k, top_p)

    @property
    def decoding(self) -> DecodingConfig:
        try:
            return DecodingConfig(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)
        except SeqlabError as error:
            raise SeqlabError(f"sample.{error}") from None


@dataclass(frozen=True)
class LanguageModelRunConfig:
    """A language-model run: ``seqlab train lm --config char_lstm``."""

    task: Literal["lm"] = "lm"
    data: LanguageModelDataConfig = field(default_factory=LanguageModelDataConfig)
    model: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_steps=2000, schedule="cosine", warmup_steps=100,
                                                             lr=3e-3, eval_every=250))
    sample: SampleConfig = field(default_factory=SampleConfig)


# -- data -------------------------------------------------------------------------------------

DOCUMENT_SEPARATOR = "\n\n"  # between the documents of a corpus


def corpus_documents(config: LanguageModelDataConfig) -> list[str]:
    """The texts of the corpus's documents, in order, cut to ``data.limit`` characters in all."""
    texts, room = [], config.limit
    for document in read_documents(config.path, config.corpus, config.encoding):
        text = document.text if room is None else document.text[:room]
        if text:
            texts.append(text)
        if room is not None:
            room -= len(text)
            if room <= 0:
                break
    if not texts:
        raise SeqlabError(f"{config.path or '+'.join(config.corpus)}: expected text, the documents are empty")
    return texts


def read_corpus(config: LanguageModelDataConfig) -> str:
    """The whole text (the documents joined by a blank line; Tiny Shakespeare by default), cut to ``data.limit``."""
    return DOCUMENT_SEPARATOR.join(corpus_documents(config))


def split_corpus(config: LanguageModelDataConfig) -> tuple[str, str]:
    """The training and validation texts: each document's first ``train_fraction`` and the rest."""
    parts = [split_fraction(text, config.train_fraction) for text in corpus_documents(config)]
    return DOCUMENT_SEPARATOR.join(p[0] for p in parts), DOCUMENT_SEPARATOR.join(p[1] for p in parts)


def encode_stream(tokenizer: Tokenizer, text: str) -> torch.Tensor:
    """The ids of ``text``, encoded line by line (a newline never merges with the next line)."""
    lines = text.splitlines(keepends=True)
    return torch.tensor([i for encoding in tokenizer.encode_batch(lines) for i in encoding.ids], dtype=torch.long)


class LanguageModelRecipe(Recipe):
    config_class = LanguageModelRunConfig
    abilities = frozenset({Ability.GENERATE, Ability.EXPORT})
    summary = "language model (character or BPE; LSTM, GRU, RNN or GPT) on a text; samples"

    def resolve(self, config: LanguageModelRunConfig) -> LanguageModelRunConfig:
        """With ``model.pretrained``: the pretrained run's model, tokenizer kind and (for a GPT) context window."""
        if config.model.pretrained is None:
            return config
        source = pretrained_language_model(load_pretrained_source(config.model.pretrained))
        model = replace(source.model, pretrained=config.model.pretrained,
                        pretrained_weights=config.model.pretrained_weights, dropout=config.model.dropout)
        data = replace(config.data, tokenizer=source.data.tokenizer, vocab_size=source.data.vocab_size)
        if model.arch == "gpt":  # the position table (or the window the model was trained to read)
            data = replace(data, block_size=source.data.block_size)
        return replace(config, model=model, data=data)

    def build_data(self, config: LanguageModelRunConfig, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        data = config.data
        text = read_corpus(data)
        train_text, val_text = split_corpus(data)
        if tokenizers is not None:
            tokenizer = tokenizers[TOKENIZER]
        elif config.model.pretrained is not None:  # the pretrained model's own ids
            tokenizer = load_pretrained_source(config.model.pretrained).tokenizer
        elif data.tokenizer == "char":  # the alphabet of the whole text (nanoGPT's)
            tokenizer = character_tokenizer(text)
        else:  # BPE merges from the training part only
            tokenizer = train_tokenizer("bpe", train_text.splitlines(keepends=True), vocab_size=data.vocab_size,
                                        specials=())
        _check_prompt(tokenizer, config.sample.prompt)
        try:
            train_ids, val_ids = encode_stream(tokenizer, train_text), encode_stream(tokenizer, val_text)
        except SeqlabError as error:  # a saved run's tokenizer meets a text that changed since
            raise SeqlabError(f"{data.path or 'text'}: {error}; the run's tokenizer was made from the text as it was "
                              "when the run started") from None
        T, B = data.block_size, data.batch_size
        if len(val_ids) < T + 1:
            raise SeqlabError(f"text: the validation part has {len(val_ids)} tokens, fewer than data.block_size + 1 = "
                              f"{T + 1}; use a longer text or a smaller data.block_size")
        blocks = RandomOffsetBlocks(train_ids, T, config.fit.seed)
        if len(blocks) < B * distributed.world_size():
            raise SeqlabError(f"text: the training part ({len(train_text):,} characters, {len(train_ids):,} tokens) "
                              f"makes {len(blocks)} blocks of data.block_size={T}, fewer than one batch of "
                              f"data.batch_size={B}; use a longer text, a smaller block_size or a smaller batch_size")
        collate = partial(collate_language_model, pad_id=0)
        train = distributed.shard_loader(blocks, B, shuffle=True, seed=config.fit.seed, collate_fn=collate,
                                         drop_last=True)
        val = DataLoader(LanguageModelData(val_ids, T), batch_size=data.val_batch_size, collate_fn=collate)
        state = {"vocab_size": tokenizer.vocab_size, "block_size": T, "chars_per_token": len(val_text) / len(val_ids)}
        log.info("%s tokenizer: %d ids; %d training and %d validation tokens", data.tokenizer, tokenizer.vocab_size,
                 len(train_ids), len(val_ids))
        return TaskData(train, val, {TOKENIZER: tokenizer}, state,
                        extra={"train_tokens": len(train_ids), "val_tokens": len(val_ids)})

    def build_model(self, config: LanguageModelRunConfig, state: dict) -> nn.Module:
        return make_model(config.model, vocab_size=state["vocab_size"], block_size=state["block_size"])

    def initialize(self, model: nn.Module, config: LanguageModelRunConfig, data: TaskData) -> None:
        if config.model.pretrained is None or not config.model.pretrained_weights:
            return
        if self.resolve(config) != config:
            raise SeqlabError("model: differs from the model of model.pretrained; build the config with "
                              "load_run_config, which takes it from the pretrained run")
        source = load_pretrained_source(config.model.pretrained)
        own = model.state_dict()
        wrong = sorted(set(own) ^ set(source.weights)) or [k for k in own if own[k].shape != source.weights[k].shape]
        if wrong:
            raise SeqlabError(f"model.pretrained: {source.path}: its weights do not fit this model "
                              f"({', '.join(wrong[:3])})")
        model.load_state_dict(source.weights)
        log.info("weights from %s", source.path)

    def make_task(self, config: LanguageModelRunConfig, state: dict) -> LanguageModelTask:
        return LanguageModelTask(self.name, state["chars_per_token"])

    def sample(self, run: LoadedRun) -> str:
        sample = run.config.sample
        return self.generate(run, sample.prompt, sample.length, sample.decoding, sample.seed)

    def generate(self, run: LoadedRun, prompt: str, max_new_tokens: int, decoding: DecodingConfig,
                 seed: int = 0) -> str:
        _check_prompt(run.tokenizer, prompt)
        return generate_text(run.model, run.tokenizer, prompt, max_new_tokens, decoding, seed)


def pretrained_language_model(source: PretrainedSource) -> LanguageModelRunConfig:
    """The config of the ``lm`` run ``source`` comes from (its model, tokenizer kind and block size)."""
    source.require("lm", "a language model")
    try:
        return from_dict(LanguageModelRunConfig, source.config)
    except SeqlabError as error:
        raise SeqlabError(f"model.pretrained: {source.path}: its config does not read ({error})") from None


def _check_prompt(tokenizer: Tokenizer, prompt: str) -> None:
    """A prompt the tokenizer cannot read fails now, in one line, not after training."""
    try:
        tokenizer.encode(prompt, add_special_tokens=False)
    except SeqlabError as error:
        raise SeqlabError(f"prompt {prompt!r}: {error}") from None


__all__ = ["LanguageModelDataConfig", "LanguageModelRecipe", "LanguageModelRunConfig", "LanguageModelTask",
           "SampleConfig", "corpus_documents", "encode_stream", "pretrained_language_model", "read_corpus",
           "split_corpus"]
