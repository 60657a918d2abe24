"""Train a recurrent cell on the adding problem or the copy-memory task and compare it with the
memoryless baseline (see ``seqlab.diagnostics.tasks``).

Example:
    >>> config = LongMemoryConfig(task="adding", cell="lstm", T=20, steps=50)
    >>> result = run_long_memory(config)
    >>> result.baseline                     # Var(a + b) for a, b ~ U(0, 1)
    0.16666666666666666
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.diagnostics.clipping import MODES, ClipStats
from seqlab.diagnostics.compare_flow import CELLS, build_cell
from seqlab.diagnostics.gradient_flow import gradient_flow
from seqlab.diagnostics.tasks import (
    COPY_ALPHABET,
    COPY_LENGTH,
    adding_baseline,
    adding_batch,
    copy_baseline,
    copy_batch,
)
from seqlab.errors import SeqlabError
from seqlab.nn.modes import eval_mode

log = logging.getLogger(__name__)
TASKS = ("adding", "copy")


class LastStepRegressor(nn.Module):
    """y_hat = w . h_T + b: a recurrent layer read out at the last step (adding problem)."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, **options):
        super().__init__()
        self.rnn = build_cell(cell, input_size, hidden_size, batch_first=True, **options)
        self.head = nn.Linear(self.rnn.state_sizes[0], 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        h = self.rnn(inputs)[0]  # (B, T, H)
        return self.head(h[:, -1]).squeeze(-1)  # (B,)


class StepClassifier(nn.Module):
    """p(y_t | x_{<=t}) = softmax(W h_t + b) from one-hot inputs (copy memory)."""

    def __init__(self, cell: str, vocab_size: int, num_classes: int, hidden_size: int, **options):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = build_cell(cell, vocab_size, hidden_size, batch_first=True, **options)
        self.head = nn.Linear(self.rnn.state_sizes[0], num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        return self.head(self.rnn(x)[0])  # (B, T, K)


@dataclass
class LongMemoryConfig:
    """One run of a long-dependency experiment."""

    task: str = "adding"  # "adding" or "copy"
    cell: str = "lstm"  # a name of seqlab.diagnostics.CELLS (rnn_tanh, lstm, gru, ...)
    T: int = 100  # sequence length (copy: T + 20 steps)
    hidden_size: int = 64  # H
    batch_size: int = 64  # B
    steps: int = 1000  # optimisation steps (at most)
    max_seconds: float = 0.0  # wall-clock budget, 0 = none
    lr: float = 3e-3  # Adam step size
    clip: str | None = "norm"  # "norm", "value" or None
    clip_threshold: float = 1.0  # tau of the clipping
    eval_every: int = 50  # steps between test evaluations
    test_size: int = 512  # fixed test sequences (seeded apart from training)
    seed: int = 0  # seeds data, initialisation and test set
    layer_options: dict = field(default_factory=dict)  # extra options of the layer (init, forget_bias, ...)

    def validate(self) -> None:
        if self.task not in TASKS:
            raise SeqlabError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        if self.cell not in CELLS:
            raise SeqlabError(f"cell: expected one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("T", "hidden_size", "batch_size", "steps", "eval_every", "test_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise SeqlabError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if self.task == "adding" and self.T < 2:
            raise SeqlabError(f"T: the adding problem needs T >= 2, got {self.T}")
        if self.clip is not None and self.clip not in MODES:
            raise SeqlabError(f"clip: expected one of norm, value or none, got {self.clip!r}")
        if not self.lr > 0 or not self.clip_threshold > 0 or self.max_seconds < 0:
            raise SeqlabError("lr and clip_threshold must be positive and max_seconds >= 0, got "
                              f"{self.lr}, {self.clip_threshold}, {self.max_seconds}")


@dataclass
class LongMemoryResult:
    """A run's learning curve against its baseline."""

    config: dict
    baseline: float  # loss of the memoryless predictor, computed from the task's definition
    test_baseline: float  # the same predictor scored on this run's test set
    history: list[dict]  # {"step", "train_loss", "test_loss", ["test_accuracy"], "seconds"}
    final_test_loss: float
    best_test_loss: float
    steps: int
    seconds: float
    parameters: int
    clipping: dict
    grad_norms_start: list[float] = field(default_factory=list)  # ||dL/dh_t|| before training, t = 0..T-1
    grad_norms_end: list[float] = field(default_factory=list)  # and after: what training did to the flow

    @property
    def ratio_to_baseline(self) -> float:
        """final test loss / baseline: 1 means no memory was learnt, 0 a perfect solution."""
        return self.final_test_loss / self.baseline

    def to_dict(self) -> dict:
        return asdict(self) | {"ratio_to_baseline": self.ratio_to_baseline}


def build_model(config: LongMemoryConfig) -> nn.Module:
    options = dict(config.layer_options)
    if config.task == "adding":
        return LastStepRegressor(config.cell, 2, config.hidden_size, **options)
    return StepClassifier(config.cell, COPY_ALPHABET + 2, COPY_ALPHABET + 1, config.hidden_size, **options)


def _batch(config: LongMemoryConfig, size: int, generator: torch.Generator):
    return (adding_batch if config.task == "adding" else copy_batch)(size, config.T, generator)


def _loss(config: LongMemoryConfig, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if config.task == "adding":
        return F.mse_loss(output, targets)
    return F.cross_entropy(output.flatten(0, 1), targets.flatten())  # mean over B * (T + 20) steps


def _flow(model: nn.Module, config: LongMemoryConfig, test) -> list[float]:
    """||dL/dh_t|| of the task's own loss on (up to) 64 test sequences."""
    inputs, targets = test[0][:64], test[1][:64]
    with eval_mode(model):
        flow = gradient_flow(model, inputs, loss_fn=lambda output: _loss(config, output, targets))
    return next(iter(flow.grad_h.values())).tolist()


@torch.no_grad()
def _evaluate(model: nn.Module, config: LongMemoryConfig, test) -> dict:
    inputs, targets = test
    with eval_mode(model):
        output = model(inputs)
    scores = {"test_loss": float(_loss(config, output, targets))}
    if config.task == "copy":
        recalled = output[:, -COPY_LENGTH:].argmax(-1) == targets[:, -COPY_LENGTH:]
        scores["test_accuracy"] = float(recalled.float().mean())  # over the 10 recalled symbols
    return scores


def memoryless_test_loss(config: LongMemoryConfig, targets: torch.Tensor) -> float:
    """The memoryless predictor scored on the test targets: a check of the closed-form baseline."""
    if config.task == "adding":
        return float(F.mse_loss(torch.ones_like(targets), targets))  # predict E[y] = 1
    T_total = targets.shape[1]
    logits = torch.full((*targets.shape, COPY_ALPHABET + 1), -math.inf)
    logits[:, : T_total - COPY_LENGTH, 0] = 0.0  # certain blank while nothing is to be recalled
    logits[:, T_total - COPY_LENGTH :, 1:] = 0.0  # uniform over the 8 symbols afterwards
    return float(F.cross_entropy(logits.flatten(0, 1), targets.flatten()))


def run_long_memory(config: LongMemoryConfig,
                    on_step: Callable[[int, dict], None] | None = None) -> LongMemoryResult:
    """Train ``config.cell`` on ``config.task`` with Adam, evaluating on a fixed test set.

    Reproducible: the training batches, the initial weights and the test set are all seeded
    from ``config.seed`` (the test set with a different stream from training).
    """
    config.validate()
    torch.manual_seed(config.seed)
    model = build_model(config)
    test = _batch(config, config.test_size, torch.Generator().manual_seed(config.seed + 10_000))
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    baseline = adding_baseline() if config.task == "adding" else copy_baseline(config.T)
    clip = ClipStats(config.clip or "none", config.clip_threshold)
    history = [{"step": 0, "seconds": 0.0, **_evaluate(model, config, test)}]
    grad_norms_start = _flow(model, config, test)
    start = time.perf_counter()
    step, losses = 0, []
    model.train()
    while step < config.steps:
        if config.max_seconds and time.perf_counter() - start >= config.max_seconds:
            break
        inputs, targets = _batch(config, config.batch_size, generator)
        loss = _loss(config, model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip.clip(model.parameters())
        optimizer.step()
        step += 1
        losses.append(loss.item())
        if step % config.eval_every == 0 or step == config.steps:
            entry = {"step": step, "train_loss": sum(losses) / len(losses), "seconds": time.perf_counter() - start,
                     **_evaluate(model, config, test)}
            losses = []
            history.append(entry)
            log.info("%s %s step %d: test %.4f (baseline %.4f)", config.task, config.cell, step,
                     entry["test_loss"], baseline)
            if on_step is not None:
                on_step(step, entry)
    if history[-1]["step"] != step:
        history.append({"step": step, "seconds": time.perf_counter() - start, **_evaluate(model, config, test)})
    test_losses = [entry["test_loss"] for entry in history]
    return LongMemoryResult(
        config=asdict(config), baseline=baseline, test_baseline=memoryless_test_loss(config, test[1]),
        history=history, final_test_loss=test_losses[-1], best_test_loss=min(test_losses), steps=step,
        seconds=time.perf_counter() - start, parameters=sum(p.numel() for p in model.parameters()),
        clipping=clip.summary(), grad_norms_start=grad_norms_start, grad_norms_end=_flow(model, config, test))
