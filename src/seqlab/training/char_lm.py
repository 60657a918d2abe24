"""Train a character-level recurrent language model on a text, nanoGPT-style batches.

This is the main job of ``seqlab demo``: Tiny Shakespeare, 90%/10% split, random blocks of
T + 1 characters (inputs and the targets shifted by one), AdamW, gradient clipping, a fixed
validation estimate, and a sample at the end.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from seqlab.data.corpora import split_fraction
from seqlab.errors import SeqlabError
from seqlab.files import write_atomic, write_json_atomic, write_text_atomic
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.text.characters import CharacterVocabulary

log = logging.getLogger(__name__)


@dataclass
class CharLMConfig:
    """Hyper-parameters of a character language model run."""

    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    embedding_dim: int = 64  # E, width of the character embeddings
    hidden_size: int = 256  # H, width of the recurrent state
    num_layers: int = 2  # L, stacked recurrent layers
    dropout: float = 0.1  # on embeddings, between layers and before the head
    block_size: int = 64  # T, characters per training sequence
    batch_size: int = 32  # B, sequences per step
    learning_rate: float = 3e-3  # AdamW step size, cosine-decayed to a tenth
    weight_decay: float = 0.01  # AdamW decay on matrices only
    grad_clip: float = 1.0  # max global gradient norm
    max_steps: int = 5000  # upper bound on optimisation steps
    max_seconds: float | None = 120.0  # wall-clock budget for training (None = no budget)
    eval_every: int = 100  # steps between validation estimates
    eval_batches: int = 20  # batches in each estimate (fixed, seeded)
    train_fraction: float = 0.9  # nanoGPT's split: first 90% train, last 10% validation
    sample_length: int = 300  # characters sampled at the end
    temperature: float = 0.8  # sampling temperature
    seed: int = 1337  # seeds batches, initialisation and sampling
    layer_options: dict = field(default_factory=dict)  # extra LSTM/GRU options (peephole, ...)

    def validate(self) -> None:
        for name in ("embedding_dim", "hidden_size", "num_layers", "block_size", "batch_size", "max_steps",
                     "eval_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.cell not in ("rnn", "lstm", "gru"):
            raise SeqlabError(f"cell: expected one of rnn, lstm, gru, got {self.cell!r}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise SeqlabError(f"max_seconds: expected a positive number, got {self.max_seconds}")
        if self.learning_rate <= 0:
            raise SeqlabError(f"learning_rate: expected a positive number, got {self.learning_rate}")


@dataclass
class CharLMResult:
    """What a run produced: the losses over time, the sample, and where it was saved."""

    history: list[dict]
    best_val_loss: float
    final_val_loss: float
    uniform_loss: float
    steps: int
    seconds: float
    sample: str
    run_dir: Path | None
    parameters: int


def _batch(data: torch.Tensor, block: int, batch: int, generator: torch.Generator):
    starts = torch.randint(len(data) - block - 1, (batch,), generator=generator)
    window = torch.stack([data[s : s + block + 1] for s in starts.tolist()])  # (B, T+1)
    return window[:, :-1], window[:, 1:]


@torch.no_grad()
def estimate_loss(model: RecurrentLanguageModel, data: torch.Tensor, config: CharLMConfig) -> float:
    """Mean cross-entropy (nats per character) over a fixed, seeded set of blocks."""
    generator = torch.Generator().manual_seed(config.seed + 1)
    was_training = model.training
    model.eval()
    losses = []
    for _ in range(config.eval_batches):
        x, y = _batch(data, config.block_size, config.batch_size, generator)
        logits, _ = model(x)
        losses.append(F.cross_entropy(logits.flatten(0, 1), y.flatten()).item())
    model.train(was_training)
    return sum(losses) / len(losses)


def train_char_lm(text: str, config: CharLMConfig, run_dir: Path | None = None,
                  on_step: Callable[[int, dict], None] | None = None) -> CharLMResult:
    """Train a character LM on ``text`` and, if ``run_dir`` is given, save what it did there.

    ``on_step(step, info)`` is called after every optimisation step (for progress bars);
    ``info`` holds the training loss and, at evaluation steps, the validation loss.
    """
    config.validate()
    torch.manual_seed(config.seed)
    vocab = CharacterVocabulary.from_text(text)
    train_text, val_text = split_fraction(text, config.train_fraction)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    if min(len(train_ids), len(val_ids)) <= config.block_size + 1:
        raise SeqlabError(f"text: too short for block_size={config.block_size} after the split")

    model = RecurrentLanguageModel(len(vocab), config.embedding_dim, config.hidden_size, config.num_layers,
                                   cell=config.cell, dropout=config.dropout, layer_options=config.layer_options)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[dict] = []
    best = math.inf
    step = 0
    val_loss = estimate_loss(model, val_ids, config)
    history.append({"step": 0, "seconds": 0.0, "val_loss": val_loss})
    start = time.perf_counter()  # the budget is for training: the evaluations at the ends are outside it
    model.train()
    while step < config.max_steps:
        elapsed = time.perf_counter() - start
        if config.max_seconds and elapsed >= config.max_seconds:
            break
        # cosine decay over the budget actually in force (steps or seconds, whichever is tighter)
        progress = step / config.max_steps
        if config.max_seconds:
            progress = max(progress, elapsed / config.max_seconds)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
        x, y = _batch(train_ids, config.block_size, config.batch_size, generator)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        info = {"step": step, "train_loss": loss.item()}
        if step % config.eval_every == 0:
            info["val_loss"] = estimate_loss(model, val_ids, config)
            info["seconds"] = round(time.perf_counter() - start, 2)
            history.append(info)
            best = min(best, info["val_loss"])
            log.info("step %d: train %.4f, val %.4f", step, info["train_loss"], info["val_loss"])
        if on_step is not None:
            on_step(step, info)
    seconds = time.perf_counter() - start
    final_val = estimate_loss(model, val_ids, config)
    if not history or history[-1]["step"] != step:
        history.append({"step": step, "seconds": round(seconds, 2), "val_loss": final_val})
    best = min(best, final_val)

    prompt = vocab.encode("\n").unsqueeze(0)
    ids = model.generate(prompt, config.sample_length, temperature=config.temperature,
                         generator=torch.Generator().manual_seed(config.seed))
    sample = vocab.decode(ids[0, 1:].tolist())
    result = CharLMResult(history=history, best_val_loss=best, final_val_loss=final_val,
                          uniform_loss=math.log(len(vocab)), steps=step, seconds=seconds, sample=sample,
                          run_dir=run_dir, parameters=sum(p.numel() for p in model.parameters()))
    if run_dir is not None:
        save_run(run_dir, model, vocab, config, result)
    return result


def save_run(run_dir: Path, model, vocab: CharacterVocabulary, config: CharLMConfig, result: CharLMResult) -> None:
    """config.json, vocabulary.json, model.safetensors, history.json, sample.txt, summary.json."""
    from safetensors.torch import save as save_bytes

    write_json_atomic(run_dir / "config.json", {"task": "char_lm", **asdict(config)})
    write_json_atomic(run_dir / "vocabulary.json", vocab.to_dict())
    tensors = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    write_atomic(run_dir / "model.safetensors", save_bytes(tensors))
    write_json_atomic(run_dir / "history.json", result.history)
    write_text_atomic(run_dir / "sample.txt", result.sample)
    summary = {key: getattr(result, key) for key in ("best_val_loss", "final_val_loss", "uniform_loss", "steps",
                                                      "seconds", "parameters")}
    write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")


__all__ = ["CharLMConfig", "CharLMResult", "estimate_loss", "train_char_lm"]
