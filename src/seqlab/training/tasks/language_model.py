"""Language modelling: next-token cross-entropy on a text, character- or BPE-level, recurrent or GPT.

The recipe (nanoGPT's ``shakespeare_char`` set-up): the first 90% of the text trains, the last 10%
validates; the training stream is cut into blocks of T + 1 tokens (inputs, and targets shifted by
one) starting at a fresh random offset each epoch; validation covers every block of its stream.

    loss = -(1/N) sum_t ln p(x_{t+1} | x_<=t)     nats per token
    perplexity = exp(loss);  bits per character = loss * (tokens / characters) / ln 2

The tokenizer: ``char`` (one id per distinct character, sorted: ``seqlab.text.CharacterVocabulary``)
or ``bpe`` (byte-level BPE trained on the training part: ``seqlab.text.Tokenizer``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from seqlab.data import IGNORE_INDEX, LanguageModelData, collate_language_model, load_tiny_shakespeare, split_fraction
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.metrics.language import bits_per_char, perplexity
from seqlab.text.characters import CharacterVocabulary
from seqlab.training import distributed
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.fit import BEST, Callback, History, fit

log = logging.getLogger(__name__)


class LanguageModelTask:
    """Next-token cross-entropy; evaluation adds perplexity and bits per character.

    Args:
        chars_per_token: characters per token of the validation text (1 for a character model),
            to turn nats per token into bits per character.
    """

    def __init__(self, name: str = "lm", chars_per_token: float = 1.0, tokenizer: str = "tokenizer.json"):
        self.name = name
        self.chars_per_token = chars_per_token
        self.tokenizer = tokenizer

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

    def state(self) -> dict:
        return {"tokenizer": self.tokenizer, "chars_per_token": self.chars_per_token}


def _logits(output) -> torch.Tensor:
    """A recurrent LM returns (logits, state); a GPT returns logits."""
    return output[0] if isinstance(output, tuple) else output


# -- config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LanguageModelDataConfig:
    """The text, its tokenizer, the split and the blocks."""

    path: str | None = None  # a UTF-8 text file; None: the bundled Tiny Shakespeare
    tokenizer: Literal["char", "bpe"] = "char"
    vocab_size: int = 512  # BPE only: bytes + merges + specials
    train_fraction: float = 0.9  # nanoGPT's split: first 90% train, last 10% validation
    block_size: int = 128  # T, tokens predicted per training example
    batch_size: int = 64  # B, blocks per step (per process under torchrun)
    val_batch_size: int = 128
    limit: int | None = None  # use only the first `limit` characters of the text (tests, quick looks)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "batch_size", "val_batch_size"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"data.{name}: expected a positive integer, got {getattr(self, name)}")
        if not 0.0 < self.train_fraction < 1.0:
            raise SeqlabError(f"data.train_fraction: expected a value in (0, 1), got {self.train_fraction}")


@dataclass(frozen=True)
class LanguageModelModelConfig:
    """``arch`` lstm/gru/rnn: ``RecurrentLanguageModel``; gpt: ``GPT`` (n_layer blocks of width n_embd)."""

    arch: Literal["lstm", "gru", "rnn", "gpt"] = "lstm"
    embedding_dim: int = 128  # E of a recurrent model
    hidden_size: int = 512  # H of a recurrent model
    num_layers: int = 2  # L recurrent layers
    n_layer: int = 4  # GPT blocks
    n_head: int = 4  # GPT heads
    n_embd: int = 128  # GPT width
    positions: Literal["learned", "sinusoidal", "rope"] = "learned"  # GPT positions
    dropout: float = 0.1
    tie_weights: bool = False  # recurrent: needs embedding_dim == hidden_size; GPT always ties
    layer_options: dict = field(default_factory=dict)  # extra recurrent-layer options (peephole, engine, ...)


@dataclass(frozen=True)
class SampleConfig:
    """The sample written at the end of a run (and the defaults of ``seqlab generate``)."""

    prompt: str = "\n"
    length: int = 300
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class LanguageModelConfig:
    """A language-model run: ``seqlab train lm --config char_lstm.yaml``."""

    task: Literal["lm"] = "lm"
    data: LanguageModelDataConfig = field(default_factory=LanguageModelDataConfig)
    model: LanguageModelModelConfig = field(default_factory=LanguageModelModelConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_steps=2000, schedule="cosine", warmup_steps=100,
                                                             lr=3e-3, eval_every=250))
    sample: SampleConfig = field(default_factory=SampleConfig)


# -- tokenizers -------------------------------------------------------------------------------

class TextCodec:
    """One interface over the character vocabulary and the BPE ``Tokenizer``: encode, decode, save, load."""

    def __init__(self, kind: str, impl):
        self.kind, self.impl = kind, impl

    @classmethod
    def train(cls, kind: str, text: str, vocab_size: int) -> TextCodec:
        if kind == "char":
            return cls(kind, CharacterVocabulary.from_text(text))
        from seqlab.text.tokenizer import Tokenizer
        from seqlab.text.trainers import BpeTrainer

        tokenizer = Tokenizer.byte_level_bpe()
        tokenizer.train_from_iterator(text.splitlines(keepends=True), BpeTrainer(vocab_size=vocab_size))
        return cls(kind, tokenizer)

    def __len__(self) -> int:
        return len(self.impl) if self.kind == "char" else self.impl.vocab_size

    def encode(self, text: str) -> torch.Tensor:
        if self.kind == "char":
            return self.impl.encode(text)
        # line by line, as the merges were learned: a newline never merges with the next line's text
        ids = [i for line in text.splitlines(keepends=True) for i in self.impl.encode(line).ids]
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids) -> str:
        return self.impl.decode([int(i) for i in ids])

    def save(self, path: Path) -> None:
        if self.kind == "char":
            write_json_atomic(path, self.impl.to_dict())
        else:
            self.impl.save(path)

    @classmethod
    def load(cls, path: Path) -> TextCodec:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("type") == "characters":
            return cls("char", CharacterVocabulary.from_dict(data))
        from seqlab.text.tokenizer import Tokenizer

        return cls("bpe", Tokenizer.from_file(path))


# -- data -------------------------------------------------------------------------------------

class RandomOffsetBlocks(Dataset):
    """Blocks of T + 1 tokens of a stream, all shifted by one random offset in [0, T) per epoch.

    ``len`` is fixed (room is kept for the largest offset), so samplers see the same size every
    epoch; ``set_epoch(e)`` draws the offset of epoch e from ``(seed, e)`` alone.
    """

    def __init__(self, stream: torch.Tensor, block_size: int, seed: int = 0):
        if len(stream) < 2 * block_size + 1:
            raise SeqlabError(f"text: expected at least {2 * block_size + 1} training tokens for "
                              f"block_size={block_size}, got {len(stream)}")
        self.stream, self.block_size, self.seed = stream, block_size, seed
        self.offset = 0
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self.offset = int(torch.randint(self.block_size, (1,), generator=generator))

    def __len__(self) -> int:
        return (len(self.stream) - 1 - self.block_size) // self.block_size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.offset + index * self.block_size
        block = self.stream[start: start + self.block_size + 1]  # (T + 1,)
        return block[:-1], block[1:]


@dataclass
class LanguageModelLoaders:
    train: DataLoader
    val: DataLoader
    codec: TextCodec
    chars_per_token: float


def read_text(config: LanguageModelDataConfig) -> str:
    if config.path is None:
        text = load_tiny_shakespeare()
    else:
        path = Path(config.path)
        if not path.is_file():
            raise SeqlabError(f"data.path: {path} does not exist (expected a UTF-8 text file)")
        text = path.read_text(encoding="utf-8")
    return text[: config.limit] if config.limit is not None else text


def build_data(config: LanguageModelConfig, codec: TextCodec | None = None, seed: int = 0) -> LanguageModelLoaders:
    text = read_text(config.data)
    train_text, val_text = split_fraction(text, config.data.train_fraction)
    if codec is None:  # characters: the alphabet of the whole text (nanoGPT's); BPE merges: training part only
        codec = TextCodec.train(config.data.tokenizer, text if config.data.tokenizer == "char" else train_text,
                                config.data.vocab_size)
    train_ids, val_ids = codec.encode(train_text), codec.encode(val_text)
    T = config.data.block_size
    if len(val_ids) < T + 1:
        raise SeqlabError(f"text: the validation part has {len(val_ids)} tokens, fewer than block_size + 1 = {T + 1}")
    collate = partial(collate_language_model, pad_id=0)
    train = distributed.shard_loader(RandomOffsetBlocks(train_ids, T, seed), config.data.batch_size, shuffle=True,
                                     seed=seed, collate_fn=collate, drop_last=True)
    val = DataLoader(LanguageModelData(val_ids, T), batch_size=config.data.val_batch_size, collate_fn=collate)
    chars_per_token = len(val_text) / len(val_ids)
    log.info("%s tokenizer: %d ids; %d training and %d validation tokens", codec.kind, len(codec), len(train_ids),
             len(val_ids))
    return LanguageModelLoaders(train, val, codec, chars_per_token)


def build_model(config: LanguageModelModelConfig, vocab_size: int, block_size: int) -> nn.Module:
    if config.arch == "gpt":
        from seqlab.models.gpt import GPT, GPTConfig

        return GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=config.n_layer,
                             n_head=config.n_head, n_embd=config.n_embd, dropout=config.dropout,
                             positions=config.positions))
    from seqlab.models.rnn_lm import RecurrentLanguageModel

    return RecurrentLanguageModel(vocab_size, config.embedding_dim, config.hidden_size, config.num_layers,
                                  cell=config.arch, dropout=config.dropout, tie_weights=config.tie_weights,
                                  layer_options=config.layer_options)


# -- runs -------------------------------------------------------------------------------------

@dataclass
class LanguageModelResult:
    history: History
    best_metrics: dict
    parameters: int
    sample: str
    run_dir: Path | None


def train(config: LanguageModelConfig, run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (),
          resume: bool = False) -> LanguageModelResult:
    """Tokenize, ``fit``, then sample from the best weights; the run folder gets the sample too."""
    run_dir = Path(run_dir) if run_dir is not None else None
    data = build_data(config, seed=config.fit.seed)
    torch.manual_seed(config.fit.seed)  # the model's initial weights
    model = build_model(config.model, len(data.codec), config.data.block_size)
    main = distributed.is_main_process()
    if run_dir is not None and main:
        write_json_atomic(run_dir / "config.json", to_dict(config))
        data.codec.save(run_dir / "tokenizer.json")
    task = LanguageModelTask(chars_per_token=data.chars_per_token)
    history = fit(model, task, data.train, data.val, config.fit, run_dir, callbacks=callbacks, resume=resume,
                  run_config=to_dict(config))
    sample = ""
    if run_dir is not None and main:
        loaded = load(run_dir, config)
        sample = loaded.generate(config.sample.prompt, config.sample.length, config.sample.temperature,
                                 config.sample.top_k, config.sample.top_p, config.sample.seed)
        write_text_atomic(run_dir / "sample.txt", sample)
    return LanguageModelResult(history, history.best_metrics, sum(p.numel() for p in model.parameters()), sample,
                               run_dir)


@dataclass
class LoadedLanguageModel:
    model: nn.Module
    codec: TextCodec
    config: LanguageModelConfig

    def generate(self, prompt: str, length: int, temperature: float = 0.8, top_k: int | None = None,
                 top_p: float | None = None, seed: int = 0) -> str:
        """``prompt`` continued by ``length`` sampled tokens (temperature, top-k, top-p)."""
        ids = self.codec.encode(prompt)
        if len(ids) == 0:
            raise SeqlabError("prompt: expected at least one character, got an empty prompt")
        generator = torch.Generator().manual_seed(seed)
        prompt_ids = ids[None, -self.config.data.block_size:]  # (1, T0)
        if self.config.model.arch == "gpt":
            out = self._generate_gpt(prompt_ids, length, temperature, top_k, top_p, generator)
        else:
            out = self.model.generate(prompt_ids, length, temperature=temperature, top_k=top_k, top_p=top_p,
                                      generator=generator)
        return prompt + self.codec.decode(out[0, prompt_ids.shape[1]:].tolist())

    def _generate_gpt(self, prompt, length, temperature, top_k, top_p, generator) -> torch.Tensor:
        """Sample past the context window by sliding it (the GPT's cache stops at ``block_size``)."""
        from seqlab.generation.sampling import sample_next

        tokens = prompt
        window = self.config.data.block_size
        self.model.eval()
        with torch.no_grad():
            for _ in range(length):
                logits = self.model(tokens[:, -window:])[:, -1]  # (1, V)
                tokens = torch.cat([tokens, sample_next(logits, temperature, top_k, top_p, generator)], dim=1)
        return tokens


def load(run_dir: str | Path, config: LanguageModelConfig) -> LoadedLanguageModel:
    from seqlab.training.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    codec = TextCodec.load(run_dir / "tokenizer.json")
    model = build_model(config.model, len(codec), config.data.block_size)
    model.load_state_dict(load_checkpoint(run_dir / BEST).model_state())
    model.eval()
    return LoadedLanguageModel(model, codec, config)


def evaluate_run(run_dir: str | Path, config: LanguageModelConfig) -> dict[str, float]:
    """The best checkpoint's loss, perplexity and bits per character on the run's validation part."""
    loaded = load(run_dir, config)
    data = build_data(config, codec=loaded.codec)
    with torch.no_grad():
        return LanguageModelTask(chars_per_token=data.chars_per_token).evaluate(loaded.model, data.val)


Config = LanguageModelConfig  # the recipe's config (seqlab.training.tasks.RECIPES)

__all__ = [
    "Config",
    "LanguageModelConfig",
    "LanguageModelDataConfig",
    "LanguageModelModelConfig",
    "LanguageModelTask",
    "LoadedLanguageModel",
    "RandomOffsetBlocks",
    "SampleConfig",
    "TextCodec",
    "build_data",
    "build_model",
    "evaluate_run",
    "load",
    "read_text",
    "train",
]
