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
those of the uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.training import distributed
from seqlab.training.checkpoint import load_checkpoint, restore_optimizer, restore_rng, save_checkpoint
from seqlab.training.config import FitConfig, to_dict
from seqlab.training.optim import Schedule, make_optimizer
from seqlab.training.tasks.base import Task

log = logging.getLogger(__name__)

LAST = "checkpoints/last.safetensors"
BEST = "checkpoints/best.safetensors"


class StopTraining(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a callback to end training cleanly after the current step."""


class Callback:
    """Hooks into ``fit``; subclass and override what you need (the CLI's progress bar is one)."""

    def on_train_begin(self, total_steps: int | None, start_step: int) -> None:
        """Called once; ``total_steps`` is None when only a time budget bounds the run."""

    def on_step(self, step: int, info: dict) -> None:
        """After each optimiser step; ``info`` holds ``loss``, ``lr``, ``epoch``."""

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
        return cls(**data)


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
        run_config: dict | None = None) -> History:
    """Train ``model`` on ``task`` over the ``train`` batches; evaluate on ``val``; save into ``run_dir``.

    Args:
        model: any ``nn.Module`` the task knows how to call.
        task: a ``seqlab.training.tasks.Task`` (loss, evaluate, state).
        train: re-iterable batches, one pass per epoch (e.g. a ``DataLoader``). If it (or its
            ``sampler``/``dataset``) has ``set_epoch(e)``, it is called before each epoch.
        val: validation batches, or None (no evaluation, no early stopping).
        config: a ``FitConfig``; at least one of ``max_steps``, ``epochs``, ``max_seconds``.
        run_dir: folder for ``checkpoints/``, ``metrics.jsonl``, ``history.json`` and
            ``curves.png``; None keeps nothing on disk.
        callbacks: ``Callback`` objects (progress bars, custom stopping).
        resume: continue from ``run_dir/checkpoints/last.safetensors``.
        run_config: the resolved configuration of the whole run (model, data, ...), stored in the
            checkpoints so that they are enough to rebuild the model later.

    Returns:
        The ``History``; the model holds the weights of the last step (the best ones are in
        ``run_dir/checkpoints/best.safetensors``).
    """
    if config.max_steps is None and config.epochs is None and config.max_seconds is None:
        raise SeqlabError("fit: expected a budget, set at least one of fit.max_steps, fit.epochs, fit.max_seconds")
    if val is None and (config.patience is not None or config.schedule == "plateau"):
        raise SeqlabError("fit: early stopping and the plateau schedule need validation batches, got val=None")
    run_dir = Path(run_dir) if run_dir is not None else None
    main = distributed.is_main_process()
    try:
        device = torch.device(distributed.local_device(config.device))
    except RuntimeError:
        raise SeqlabError(f"fit.device: expected cpu, cuda or cuda:<index>, got {config.device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SeqlabError(f"fit.device: {config.device!r} asked for, but torch sees no CUDA device; use cpu")
    model.to(device)
    trainable = _wrap_distributed(model, device)
    optimizer = make_optimizer(model, config)
    steps_per_epoch = _steps_per_epoch(train, config.accumulation)
    total = _total_steps(config, steps_per_epoch)
    schedule = Schedule(config, total)
    history, pos = History(), _Position()
    epoch_rng: torch.Tensor | None = None
    checkpoint = None
    if resume:
        if run_dir is None:
            raise SeqlabError("fit: resume=True needs the run_dir of the interrupted run")
        checkpoint = load_checkpoint(run_dir / LAST)
        model.load_state_dict(checkpoint.model_state())
        restore_optimizer(optimizer, checkpoint)
        schedule.load_state_dict(checkpoint.meta["schedule"])
        history = History.from_dict(checkpoint.meta["history"])
        pos = _Position(**checkpoint.meta["position"])
        epoch_rng = checkpoint.tensors["rng.epoch_start"]
        log.info("resuming %s at step %d (epoch %d, batch %d)", run_dir, pos.step, pos.epoch, pos.batches_in_epoch)
    else:
        seed_everything(config.seed)
    metrics_log = _MetricsLog(run_dir if main else None, history.records)
    meta_base = {"config": run_config if run_config is not None else {}, "fit": to_dict(config),
                 "task": {"name": task.name, **task.state()}}

    def save(path: str, full: bool) -> None:
        meta = {**meta_base, "step": pos.step, "metrics": history.best_metrics if not full else _last_eval(history),
                "position": dataclasses.asdict(pos), "schedule": schedule.state_dict(), "history": history.to_dict()}
        extra = {"rng.epoch_start": epoch_rng} if full and epoch_rng is not None else {}
        save_checkpoint(run_dir / path, model, meta, optimizer=optimizer if full else None, rng=full, extra=extra)

    try:
        for callback in callbacks:
            callback.on_train_begin(total, pos.step)
        started = time.perf_counter() - pos.seconds
        trainable.train()
        stop = _budget_spent(config, pos, steps_per_epoch, started)
        while not stop:
            _set_epoch(train, pos.epoch)
            if checkpoint is not None:  # resuming: replay this epoch's order up to where the run stopped
                torch.set_rng_state(epoch_rng)
                batches = iter(train)
                for _ in range(pos.batches_in_epoch):
                    next(batches)
                restore_rng(checkpoint)
                checkpoint = None
            else:
                epoch_rng = torch.get_rng_state()
                batches = iter(train)
            stop = _run_epoch(trainable, model, task, batches, val, optimizer, schedule, config, pos, history, device,
                              started, callbacks, metrics_log, save if (run_dir is not None and main) else None,
                              steps_per_epoch)
            if not stop:
                pos.epoch += 1
                pos.batches_in_epoch = 0
                stop = _budget_spent(config, pos, steps_per_epoch, started)
        history.steps = pos.step
        history.seconds = pos.seconds = time.perf_counter() - started
        history.stop_reason = history.stop_reason or _stop_reason(config, pos, steps_per_epoch, started)
        if val is not None and (not history.evaluations or history.evaluations[-1]["step"] != pos.step):
            _evaluate(model, task, val, device, config, pos, history, schedule, callbacks, metrics_log,
                      save if (run_dir is not None and main) else None, started)
        if run_dir is not None and main:
            save(LAST, full=True)
            if history.best_step is None:  # no validation: the last weights are the ones to keep
                save(BEST, full=False)
            write_json_atomic(run_dir / "history.json", history.to_dict())
            if config.plots:
                _plot(history, run_dir)
    finally:
        metrics_log.close()
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def _run_epoch(trainable, model, task, batches: Iterator, val, optimizer, schedule, config: FitConfig,
               pos: _Position, history: History, device, started: float, callbacks, metrics_log, save,
               steps_per_epoch) -> bool:
    """Train over the rest of one epoch; True when a budget or early stopping ends the run."""
    optimizer.zero_grad(set_to_none=True)
    micro, loss_sum = 0, 0.0
    for batch in batches:
        pos.batches_in_epoch += 1
        micro += 1
        sync = micro == config.accumulation
        with _no_sync(trainable, skip=not sync):
            loss = task.loss(trainable, to_device(batch, device))
            if not torch.isfinite(loss):
                raise SeqlabError(f"training diverged: loss {loss.item()} at step {pos.step + 1}; "
                                  "try a smaller fit.lr or set fit.clip_norm")
            (loss / config.accumulation).backward()
        loss_sum += loss.item()
        if not sync:
            continue
        lr = schedule.apply(optimizer, pos.step + 1)
        if config.clip_value is not None:
            torch.nn.utils.clip_grad_value_(model.parameters(), config.clip_value)
        if config.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        pos.step += 1
        pos.seconds = time.perf_counter() - started
        step_loss = loss_sum / config.accumulation
        micro, loss_sum = 0, 0.0
        history.losses.append(step_loss)
        info = {"loss": step_loss, "lr": lr, "epoch": pos.epoch}
        if pos.step % config.log_every == 0:
            window = history.losses[-config.log_every:]
            metrics_log.write({"step": pos.step, "epoch": pos.epoch, "seconds": round(pos.seconds, 3), "lr": lr,
                               "train_loss": sum(window) / len(window)})
        stop = False
        try:
            for callback in callbacks:
                callback.on_step(pos.step, info)
        except StopTraining as reason:
            history.stop_reason = str(reason) or "stopped by a callback"
            stop = True
        end_of_epoch = steps_per_epoch is not None and pos.batches_in_epoch // config.accumulation >= steps_per_epoch
        evaluate_now = val is not None and (pos.step % config.eval_every == 0 if config.eval_every else end_of_epoch)
        if evaluate_now:
            stop = stop | _evaluate(model, task, val, device, config, pos, history, schedule, callbacks, metrics_log,
                             save, started)
            trainable.train()
        stop = stop or _budget_spent(config, pos, steps_per_epoch, started)
        checkpoint_now = pos.step % config.checkpoint_every == 0 if config.checkpoint_every else evaluate_now
        if save is not None and checkpoint_now and not stop:
            save(LAST, full=True)
        if stop:
            return True
    return False


def _evaluate(model, task, val, device, config: FitConfig, pos: _Position, history: History, schedule,
              callbacks, metrics_log, save, started) -> bool:
    """Evaluate, record, keep the best checkpoint; True when early stopping ends the run."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        metrics = {k: float(v) for k, v in task.evaluate(model, (to_device(b, device) for b in val)).items()}
    model.train(was_training)
    if config.metric not in metrics:
        raise SeqlabError(f"fit.metric: the task {task.name!r} reports {', '.join(metrics)}, got {config.metric!r}")
    record = {"step": pos.step, "epoch": pos.epoch, "seconds": round(time.perf_counter() - started, 3),
              **{f"val_{k}": v for k, v in metrics.items()}}
    metrics_log.write(record)
    log.info("step %d: %s", pos.step, ", ".join(f"val {k} {v:.4f}" for k, v in metrics.items()))
    value = metrics[config.metric]
    best = history.best_metrics.get(config.metric)
    improved = best is None or (value < best if config.mode == "min" else value > best)
    schedule.observe(value, config.mode)
    if improved:
        history.best_step, history.best_metrics = pos.step, dict(metrics)
        pos.bad_evaluations = 0
        if save is not None:
            save(BEST, full=False)
    else:
        pos.bad_evaluations += 1
    for callback in callbacks:
        callback.on_evaluate(pos.step, metrics)
    if config.patience is not None and pos.bad_evaluations >= config.patience:
        history.stop_reason = f"early stopping: no better {config.metric} in {config.patience} evaluations"
        return True
    return False


# -- helpers ----------------------------------------------------------------------------------

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


def _wrap_distributed(model: nn.Module, device: torch.device) -> nn.Module:
    if not distributed.is_distributed():
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class _no_sync:  # noqa: N801 (used like a function)
    """DDP's ``no_sync`` for the micro-batches before the last of an accumulated step."""

    def __init__(self, model: nn.Module, skip: bool):
        self.context = model.no_sync() if skip and hasattr(model, "no_sync") else None

    def __enter__(self):
        return self.context.__enter__() if self.context is not None else None

    def __exit__(self, *exc):
        return self.context.__exit__(*exc) if self.context is not None else False


def _steps_per_epoch(train: Iterable, accumulation: int) -> int | None:
    try:
        return len(train) // accumulation  # type: ignore[arg-type]
    except TypeError:
        return None


def _total_steps(config: FitConfig, steps_per_epoch: int | None) -> int | None:
    candidates = []
    if config.max_steps is not None:
        candidates.append(config.max_steps)
    if config.epochs is not None and steps_per_epoch is not None:
        candidates.append(config.epochs * steps_per_epoch)
    return min(candidates) if candidates else None


def _budget_spent(config: FitConfig, pos: _Position, steps_per_epoch, started: float) -> bool:
    return bool(_stop_reason(config, pos, steps_per_epoch, started))


def _stop_reason(config: FitConfig, pos: _Position, steps_per_epoch, started: float) -> str:
    if config.max_steps is not None and pos.step >= config.max_steps:
        return f"max_steps={config.max_steps} reached"
    if config.epochs is not None and pos.epoch >= config.epochs:
        return f"epochs={config.epochs} done"
    if config.epochs is not None and steps_per_epoch is not None and pos.step >= config.epochs * steps_per_epoch:
        return f"epochs={config.epochs} done"
    if config.max_seconds is not None and time.perf_counter() - started >= config.max_seconds:
        return f"max_seconds={config.max_seconds:g} spent"
    return ""


def _set_epoch(train: Iterable, epoch: int) -> None:
    for owner in (train, getattr(train, "sampler", None), getattr(train, "batch_sampler", None),
                  getattr(train, "dataset", None)):
        if owner is not None and hasattr(owner, "set_epoch"):
            owner.set_epoch(epoch)


def _last_eval(history: History) -> dict:
    evaluations = history.evaluations
    return {k[4:]: v for k, v in evaluations[-1].items() if k.startswith("val_")} if evaluations else {}


class _MetricsLog:
    """``metrics.jsonl`` (one JSON object per line) and TensorBoard scalars when it is installed.

    The records also go into ``history`` (the log's ``records`` list is the history's).
    """

    def __init__(self, run_dir: Path | None, records: list[dict]):
        self.records = records
        self.path = run_dir / "metrics.jsonl" if run_dir is not None else None
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


def _plot(history: History, run_dir: Path) -> None:
    from seqlab.training.curves import plot_learning_curves

    try:
        plot_learning_curves(history, run_dir / "curves.png")
    except Exception as error:  # a figure must never cost the run
        log.warning("could not draw the learning curves: %s", error)


__all__ = ["BEST", "LAST", "Callback", "History", "StopTraining", "fit", "seed_everything", "to_device"]
