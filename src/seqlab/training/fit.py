"""``fit``: the training loop shared by every task.

One optimiser step, with A = ``accumulation`` micro-batches b_1..b_A:

    g = grad( sum_a loss(b_a) / A )           # gradients summed over micro-batches
    g = clip(g)                               # by global norm and/or by value
    lr_s = lr * factor(s)                     # the schedule (seqlab.training.optim)
    theta = optimizer_step(theta, g, lr_s)    # AdamW or SGD, no decay on biases and norms

Every ``eval_every`` steps (or at each epoch's end) the task evaluates the validation batches; the
checkpoint with the best ``metric`` is kept, the last one is written for ``resume``, and training
stops early after ``patience`` evaluations without improvement.

Exact resumption: the order of each epoch comes from the RNG state at the epoch's start (saved),
and the checkpoint records how many batches of the epoch were used. Resuming restores the weights,
the optimiser, the schedule, replays the epoch's order from its saved RNG state, skips the used
batches, then restores the RNG state of the moment of the checkpoint. The losses that follow are
those of the uninterrupted run. A finished run resumed with a larger budget (more steps, epochs
or seconds) goes on as if the budget had been larger from the start; a schedule whose shape
depends on the budget (cosine) is stretched from that point on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.nn.modes import eval_mode
from seqlab.plots.curves import run_curves_figure
from seqlab.training import distributed
from seqlab.training.checkpoint import (
    load_checkpoint,
    load_model_state,
    restore_optimizer,
    restore_rng,
    save_checkpoint,
)
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.optim import Schedule, make_optimizer
from seqlab.training.run_folder import BEST, CURVES, HISTORY, LAST, METRICS
from seqlab.training.task import Task

log = logging.getLogger(__name__)


class StopTraining(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a callback to end training cleanly after the current step."""


@dataclass(frozen=True)
class Plan:
    """What ``on_train_begin`` learns: the budgets and where the run starts (for progress and ETA)."""

    total_steps: int | None  # the step the step/epoch budget ends at (None: only a time budget)
    start_step: int  # 0, or the step a resumed run continues from
    max_seconds: float | None  # the time budget
    seconds: float  # seconds already spent (a resumed run)
    steps_per_epoch: int | None


class Callback:
    """Hooks into ``fit`` (and the runner's phases); subclass and override what you need (the CLI's
    progress display is one)."""

    def on_phase(self, name: str) -> None:
        """The runner starts a phase: "preparing the data", "training", "evaluating the best weights", ..."""

    def on_train_begin(self, plan: Plan) -> None:
        """Called once, before the first step."""

    def on_step(self, step: int, info: dict) -> None:
        """After each optimiser step; ``info`` holds ``loss``, ``lr``, ``epoch``, ``seconds``."""

    def on_evaluate_begin(self, step: int) -> None:
        """Before each evaluation (which may take a while)."""

    def on_evaluate(self, step: int, metrics: dict) -> None:
        """After each evaluation; ``metrics`` as returned by the task."""

    def on_train_end(self, history: History) -> None:
        """Once, after the last step."""


@dataclass
class History:
    """What a run did: every step's training loss, the periodic records, and the best evaluation.

    ``records`` are the rows of ``metrics.jsonl``: ``{"step", "epoch", "seconds", "lr", "train_loss"}``
    every ``log_every`` steps and ``{"step", ..., "val_<metric>": ...}`` at each evaluation.
    """

    losses: list[float] = field(default_factory=list)  # training loss of steps 1, 2, ...
    records: list[dict] = field(default_factory=list)
    best_step: int | None = None
    best_metrics: dict = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    stop_reason: str = ""

    @property
    def evaluations(self) -> list[dict]:
        return [r for r in self.records if any(k.startswith("val_") for k in r)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> History:
        if not isinstance(data, dict):
            raise SeqlabError(f"history: expected a JSON object, got {type(data).__name__}")
        try:
            return cls(**data)
        except TypeError as error:
            raise SeqlabError(f"history: not a seqlab history ({error})") from None


@dataclass
class _Position:
    """Where the run is: optimiser steps done, epoch, micro-batches of the epoch consumed, seconds spent."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    seconds: float = 0.0
    bad_evaluations: int = 0


def fit(model: nn.Module, task: Task, train: Iterable, val: Iterable | None, config: FitConfig,
        run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (), resume: bool = False,
        checkpoint_meta: dict | None = None, lr_scales: Mapping[str, float] | None = None) -> History:
    """Train ``model`` on ``task`` over the ``train`` batches; evaluate on ``val``; save into ``run_dir``.

    Args:
        model: any ``nn.Module`` the task knows how to call.
        task: a ``seqlab.training.Task`` (loss, evaluate).
        train: re-iterable batches, one pass per epoch (e.g. a ``DataLoader``). If it (or its
            ``sampler``/``dataset``) has ``set_epoch(e)``, it is called before each epoch.
        val: validation batches, or None (no evaluation, no early stopping).
        config: a ``FitConfig``; at least one of ``max_steps``, ``epochs``, ``max_seconds``.
        run_dir: folder for ``checkpoints/``, ``metrics.jsonl``, ``history.json`` and
            ``curves.png`` (``seqlab.training.run_folder``); None keeps nothing on disk.
        callbacks: ``Callback`` objects (progress, custom stopping).
        resume: continue from ``run_dir/checkpoints/last.safetensors``.
        checkpoint_meta: what every checkpoint carries besides the training state, so that it is
            enough to rebuild and use the model later (the runner gives the task, the resolved
            config, the task's state and the tokenizers).
        lr_scales: parameter-name prefix -> factor of the learning rate (e.g. ``{"bert.": 0.1}``:
            a pretrained encoder learns ten times slower than its new head); see ``make_optimizer``.

    Returns:
        The ``History``; the model holds the weights of the last step (the best ones are in
        ``run_dir/checkpoints/best.safetensors``).
    """
    return _Trainer(model, task, train, val, config, run_dir, callbacks, checkpoint_meta or {}, lr_scales).run(resume)


class _Trainer:
    """The state of one ``fit`` call: the model, the optimiser, the schedule, the position, the history."""

    def __init__(self, model: nn.Module, task: Task, train: Iterable, val: Iterable | None, config: FitConfig,
                 run_dir: str | Path | None, callbacks: Sequence[Callback], checkpoint_meta: dict,
                 lr_scales: Mapping[str, float] | None = None):
        if config.max_steps is None and config.epochs is None and config.max_seconds is None:
            raise SeqlabError("fit: expected a budget, set at least one of fit.max_steps, fit.epochs, "
                              "fit.max_seconds")
        if val is None and (config.patience is not None or config.schedule == "plateau"):
            raise SeqlabError("fit: early stopping and the plateau schedule need validation batches, got val=None")
        self.model, self.task, self.train_batches, self.val, self.config = model, task, train, val, config
        self.callbacks = list(callbacks)
        self.device = _device(config.device)
        model.to(self.device)
        self.trainable = _wrap_distributed(model, self.device)
        self.optimizer = make_optimizer(model, config, lr_scales)
        self.steps_per_epoch = _steps_per_epoch(train, config.accumulation)
        self.total = _total_steps(config, self.steps_per_epoch)
        self.schedule = Schedule(config, self.total)
        self.history, self.pos = History(), _Position()
        self.epoch_rng: torch.Tensor | None = None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.writes = self.run_dir is not None and distributed.is_main_process()  # rank 0 writes the run
        self.meta = {**checkpoint_meta, "fit": to_dict(config)}
        self.started = 0.0
        self.metrics_log: _MetricsLog | None = None

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, resume: bool) -> History:
        checkpoint = self._resume() if resume else None
        if checkpoint is None:
            seed_everything(self.config.seed)
        self.metrics_log = _MetricsLog(self.run_dir if self.writes else None, self.history.records)
        try:
            plan = Plan(self.total, self.pos.step, self.config.max_seconds, self.pos.seconds, self.steps_per_epoch)
            for callback in self.callbacks:
                callback.on_train_begin(plan)
            self.started = time.perf_counter() - self.pos.seconds
            self.trainable.train()
            stop = bool(self._budget_spent())
            if stop and checkpoint is not None:  # a finished run resumed: it ends with the random state it saved
                restore_rng(checkpoint)
            while not stop:
                _set_epoch(self.train_batches, self.pos.epoch)
                if checkpoint is not None:  # resuming: replay this epoch's order up to where the run stopped
                    torch.set_rng_state(self.epoch_rng)
                    batches = iter(self.train_batches)
                    for _ in range(self.pos.batches_in_epoch):
                        next(batches)
                    restore_rng(checkpoint)
                    checkpoint = None
                else:
                    self.epoch_rng = torch.get_rng_state()
                    batches = iter(self.train_batches)
                stop = self._run_epoch(batches)
                if not stop:
                    self.pos.epoch += 1
                    self.pos.batches_in_epoch = 0
                    stop = bool(self._budget_spent())
            self.history.steps = self.pos.step
            self.history.seconds = self.pos.seconds = time.perf_counter() - self.started
            self.history.stop_reason = self.history.stop_reason or self._budget_spent()
            evaluations = self.history.evaluations
            if self.val is not None and (not evaluations or evaluations[-1]["step"] != self.pos.step):
                self._evaluate()
            if self.writes:
                self._save(LAST, full=True)
                if self.history.best_step is None:  # no validation: the last weights are the ones to keep
                    self._save(BEST, full=False)
                write_json_atomic(self.run_dir / HISTORY, self.history.to_dict())
                if self.config.plots:
                    _plot(self.history, self.run_dir / CURVES)
        finally:
            self.metrics_log.close()
        for callback in self.callbacks:
            callback.on_train_end(self.history)
        return self.history

    def _run_epoch(self, batches: Iterator) -> bool:
        """Train over the rest of one epoch; True when a budget or early stopping ends the run."""
        config, pos = self.config, self.pos
        self.optimizer.zero_grad(set_to_none=True)
        micro, loss_sum = 0, 0.0
        for batch in batches:
            pos.batches_in_epoch += 1
            micro += 1
            sync = micro == config.accumulation
            with self._no_sync(skip=not sync):
                loss = self.task.loss(self.trainable, to_device(batch, self.device))
                value = loss.item()
                if not math.isfinite(value):
                    raise SeqlabError(f"training diverged: loss {value} at step {pos.step + 1}; "
                                      "try a smaller fit.lr or set fit.clip_norm")
                (loss / config.accumulation).backward()
            loss_sum += value
            if not sync:
                continue
            lr = self.schedule.apply(self.optimizer, pos.step + 1, time.perf_counter() - self.started)
            if config.clip_value is not None:
                torch.nn.utils.clip_grad_value_(self.model.parameters(), config.clip_value)
            if config.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_norm)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            pos.step += 1
            pos.seconds = time.perf_counter() - self.started
            step_loss = loss_sum / config.accumulation
            micro, loss_sum = 0, 0.0
            self.history.losses.append(step_loss)
            if pos.step % config.log_every == 0:
                window = self.history.losses[-config.log_every:]
                self.metrics_log.write({"step": pos.step, "epoch": pos.epoch, "seconds": round(pos.seconds, 3),
                                        "lr": lr, "train_loss": sum(window) / len(window)})
            stop = False
            try:
                info = {"loss": step_loss, "lr": lr, "epoch": pos.epoch, "seconds": pos.seconds}
                for callback in self.callbacks:
                    callback.on_step(pos.step, info)
            except StopTraining as reason:
                self.history.stop_reason = str(reason) or "stopped by a callback"
                stop = True
            end_of_epoch = self.steps_per_epoch is not None and \
                pos.batches_in_epoch // config.accumulation >= self.steps_per_epoch
            evaluate_now = self.val is not None and (pos.step % config.eval_every == 0 if config.eval_every
                                                     else end_of_epoch)
            if evaluate_now:
                stop = self._evaluate() or stop
                self.trainable.train()
            stop = stop or bool(self._budget_spent())
            checkpoint_now = pos.step % config.checkpoint_every == 0 if config.checkpoint_every else evaluate_now
            if self.writes and checkpoint_now and not stop:
                self._save(LAST, full=True)
            if stop:
                return True
        return False

    def _evaluate(self) -> bool:
        """Evaluate, record, keep the best checkpoint; True when early stopping ends the run."""
        config, pos, history = self.config, self.pos, self.history
        for callback in self.callbacks:
            callback.on_evaluate_begin(pos.step)
        with eval_mode(self.model), torch.no_grad():
            metrics = {k: float(v) for k, v in self.task.evaluate(
                self.model, (to_device(b, self.device) for b in self.val)).items()}
        if config.metric not in metrics:
            raise SeqlabError(f"fit.metric: the task {self.task.name!r} reports {', '.join(metrics)}, "
                              f"got {config.metric!r}")
        record = {"step": pos.step, "epoch": pos.epoch, "seconds": round(time.perf_counter() - self.started, 3),
                  **{f"val_{k}": v for k, v in metrics.items()}}
        self.metrics_log.write(record)
        log.info("step %d: %s", pos.step, ", ".join(f"val {k} {v:.4f}" for k, v in metrics.items()))
        value = metrics[config.metric]
        best = history.best_metrics.get(config.metric)
        improved = best is None or (value < best if config.mode == "min" else value > best)
        self.schedule.observe(value, config.mode)
        if improved:
            history.best_step, history.best_metrics = pos.step, dict(metrics)
            pos.bad_evaluations = 0
            if self.writes:
                self._save(BEST, full=False)
        else:
            pos.bad_evaluations += 1
        for callback in self.callbacks:
            callback.on_evaluate(pos.step, metrics)
        if config.patience is not None and pos.bad_evaluations >= config.patience:
            history.stop_reason = f"early stopping: no better {config.metric} in {config.patience} evaluations"
            return True
        return False

    # -- checkpoints ---------------------------------------------------------------------------------
    def _save(self, name: str, full: bool) -> None:
        metrics = _last_evaluation(self.history) if full else self.history.best_metrics
        meta = {**self.meta, "step": self.pos.step, "metrics": metrics}
        if full:
            meta.update(position=dataclasses.asdict(self.pos), schedule=self.schedule.state_dict(),
                        history=self.history.to_dict())
        extra = {"rng.epoch_start": self.epoch_rng} if full and self.epoch_rng is not None else {}
        save_checkpoint(self.run_dir / name, self.model, meta, optimizer=self.optimizer if full else None,
                        rng=full, extra=extra)

    def _resume(self):
        """Load the last checkpoint into the model, optimiser, schedule, history and position."""
        if self.run_dir is None:
            raise SeqlabError("fit: resume=True needs the run_dir of the interrupted run")
        checkpoint = load_checkpoint(self.run_dir / LAST)
        load_model_state(self.model, checkpoint)
        restore_optimizer(self.optimizer, checkpoint)
        try:
            self.schedule.load_state_dict(checkpoint.field("schedule", dict))
            self.history = History.from_dict(checkpoint.field("history", dict))
            self.pos = _Position(**checkpoint.field("position", dict))
        except (KeyError, TypeError) as error:
            raise SeqlabError(f"{checkpoint.path}: the training state is not a seqlab one ({error})") from None
        if "rng.epoch_start" not in checkpoint.tensors:
            raise SeqlabError(f"{checkpoint.path}: holds no epoch state; it cannot be resumed exactly")
        self.epoch_rng = checkpoint.tensors["rng.epoch_start"]
        self.history.stop_reason = ""  # a finished run resumed with a larger budget goes on
        log.info("resuming %s at step %d (epoch %d, batch %d)", self.run_dir, self.pos.step, self.pos.epoch,
                 self.pos.batches_in_epoch)
        return checkpoint

    # -- budgets ------------------------------------------------------------------------------------
    def _budget_spent(self) -> str:
        """Why the run must stop now ('' while it may go on)."""
        config, pos = self.config, self.pos
        if config.max_steps is not None and pos.step >= config.max_steps:
            return f"max_steps={config.max_steps} reached"
        if config.epochs is not None and (pos.epoch >= config.epochs or (
                self.steps_per_epoch is not None and pos.step >= config.epochs * self.steps_per_epoch)):
            return f"epochs={config.epochs} done"
        if config.max_seconds is not None and time.perf_counter() - self.started >= config.max_seconds:
            return f"max_seconds={config.max_seconds:g} spent"
        return ""

    def _no_sync(self, skip: bool):
        """DDP's ``no_sync`` for the micro-batches before the last of an accumulated step."""
        return self.trainable.no_sync() if skip and hasattr(self.trainable, "no_sync") else nullcontext()


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor inside (dicts, lists, tuples, named tuples, dataclasses) on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: to_device(getattr(batch, f.name), device)
                                             for f in dataclasses.fields(batch) if f.init})
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    return batch


# -- helpers ----------------------------------------------------------------------------------------

def _device(name: str) -> torch.device:
    try:
        device = torch.device(distributed.local_device(name))
    except RuntimeError:
        raise SeqlabError(f"fit.device: expected cpu, cuda or cuda:<index>, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SeqlabError(f"fit.device: {name!r} asked for, but torch sees no CUDA device; use cpu")
    return device


def _wrap_distributed(model: nn.Module, device: torch.device) -> nn.Module:
    if not distributed.is_distributed():
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def _steps_per_epoch(train: Iterable, accumulation: int) -> int | None:
    """Optimiser steps in one epoch (None for data without a length); an epoch without a step is an error."""
    try:
        batches = len(train)  # type: ignore[arg-type]
    except TypeError:
        return None
    if batches // accumulation == 0:
        raise SeqlabError(f"fit: an epoch of the training data has {batches} batch(es), fewer than "
                          f"fit.accumulation={accumulation} micro-batches per step, so training could never take a "
                          "step; use more data, a smaller data.batch_size or a smaller fit.accumulation")
    return batches // accumulation


def _total_steps(config: FitConfig, steps_per_epoch: int | None) -> int | None:
    candidates = []
    if config.max_steps is not None:
        candidates.append(config.max_steps)
    if config.epochs is not None and steps_per_epoch is not None:
        candidates.append(config.epochs * steps_per_epoch)
    return min(candidates) if candidates else None


def _set_epoch(train: Iterable, epoch: int) -> None:
    for owner in (train, getattr(train, "sampler", None), getattr(train, "batch_sampler", None),
                  getattr(train, "dataset", None)):
        if owner is not None and hasattr(owner, "set_epoch"):
            owner.set_epoch(epoch)


def _last_evaluation(history: History) -> dict:
    evaluations = history.evaluations
    return {k[4:]: v for k, v in evaluations[-1].items() if k.startswith("val_")} if evaluations else {}


class _MetricsLog:
    """``metrics.jsonl`` (one JSON object per line) and TensorBoard scalars when it is installed.

    The records also go into ``history`` (the log's ``records`` list is the history's).
    """

    def __init__(self, run_dir: Path | None, records: list[dict]):
        self.records = records
        self.path = run_dir / METRICS if run_dir is not None else None
        self.handle = None
        self.writer = None
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a resumed run rewrites the log up to its checkpoint: lines written after it are dropped
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in records)
        self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # TensorBoard is optional
            return
        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def write(self, record: dict) -> None:
        self.records.append(record)
        if self.path is None:
            return
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()
        if self.writer is not None:
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.writer is not None:
            self.writer.close()


def _plot(history: History, path: Path) -> None:
    try:
        run_curves_figure(history, path)
    except Exception as error:  # a figure must never cost the run
        log.warning("could not draw the learning curves: %s", error)


__all__ = ["Callback", "History", "Plan", "StopTraining", "fit", "seed_everything", "to_device"]
