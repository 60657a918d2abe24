"""Optimisers (AdamW, SGD) with weight decay kept off biases and norms, and learning-rate schedules.

A schedule gives the learning rate of optimiser step s = 1, 2, ... as ``lr * factor(s)``:

* constant: ``factor(s) = w(s)``, with the linear warmup ``w(s) = min(1, s / warmup)`` (1 without warmup);
* cosine (Loshchilov & Hutter 2017): after warmup,
  ``factor(s) = r + (1 - r) * (1 + cos(pi * p)) / 2`` with ``p = (s - warmup) / (total - warmup)``
  and ``r = min_lr_ratio``; with a time budget ``p`` is the larger of that and the fraction of
  ``max_seconds`` spent, so the decay ends with whichever budget ends the run;
* noam (Vaswani et al. 2017, eq. 3): ``d^-0.5 * min(s^-0.5, s * warmup^-1.5)``, rescaled here so that
  the peak at ``s = warmup`` is ``lr``: ``factor(s) = min(s / warmup, sqrt(warmup / s))``;
* step: ``factor(s) = w(s) * gamma ** floor(s / step_size)``;
* plateau: ``factor = gamma ** cuts``, one more cut whenever the validation metric has not improved
  for ``plateau_patience`` evaluations (like ``torch.optim.lr_scheduler.ReduceLROnPlateau``).

A parameter group may carry an ``lr_scale`` (``make_optimizer``'s ``lr_scales``): its rate is then
``lr * factor(s) * lr_scale``, e.g. a pretrained encoder fine-tuned at a tenth of its new head's rate.

The schedule's state is plain JSON (only plateau has any), so checkpoints carry it without pickle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.training.config import FitConfig

NO_DECAY_MODULES = (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.modules.batchnorm._NormBase, nn.RMSNorm)


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups: matrices (decayed) and biases, norm gains and other vectors (not decayed).

    A parameter escapes decay when it has fewer than 2 dimensions, when its name ends in ``bias``,
    or when it belongs to a normalisation layer. Shared (tied) parameters appear once.
    """
    no_decay_ids = set()
    for module in model.modules():
        if isinstance(module, NO_DECAY_MODULES):
            no_decay_ids.update(id(p) for p in module.parameters(recurse=False))
    decay, no_decay = [], []
    for name, param in model.named_parameters():  # named_parameters skips duplicates of tied weights
        if not param.requires_grad:
            continue
        if param.dim() < 2 or name.endswith("bias") or id(param) in no_decay_ids:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def scaled_groups(model: nn.Module, weight_decay: float, lr_scales: Mapping[str, float]) -> list[dict]:
    """``decay_groups`` split further by learning-rate scale: a parameter whose name starts with a prefix of
    ``lr_scales`` gets that prefix's ``lr_scale`` (the longest prefix wins), the others 1; empty groups are dropped."""
    prefixes = sorted(lr_scales, key=len, reverse=True)
    names = {id(p): name for name, p in model.named_parameters()}

    def scale(param: nn.Parameter) -> float:
        name = names[id(param)]
        return next((float(lr_scales[prefix]) for prefix in prefixes if name.startswith(prefix)), 1.0)

    groups = []
    for group in decay_groups(model, weight_decay):
        for value in sorted({scale(p) for p in group["params"]}, reverse=True):
            params = [p for p in group["params"] if scale(p) == value]
            groups.append({"params": params, "weight_decay": group["weight_decay"], "lr_scale": value})
    return groups


def make_optimizer(model: nn.Module, config: FitConfig, lr_scales: Mapping[str, float] | None = None
                   ) -> torch.optim.Optimizer:
    """AdamW or SGD (with momentum) over ``decay_groups``; the schedule sets the lr of each step.

    ``lr_scales`` maps parameter-name prefixes to factors of the learning rate (``scaled_groups``).
    """
    for prefix, value in (lr_scales or {}).items():
        if not value > 0:
            raise SeqlabError(f"lr_scales[{prefix!r}]: expected a positive factor of the learning rate, got {value}")
    groups = scaled_groups(model, config.weight_decay, lr_scales) if lr_scales else \
        decay_groups(model, config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    raise SeqlabError(f"fit.optimizer: expected 'adamw' or 'sgd', got {config.optimizer!r}")


class Schedule:
    """The learning-rate factor of each optimiser step (see the module docstring for the formulas).

    Args:
        config: the schedule fields of a ``FitConfig``.
        total_steps: the last step of the run (cosine needs it; None for the others).
    """

    def __init__(self, config: FitConfig, total_steps: int | None = None):
        if config.schedule == "cosine" and not total_steps and config.max_seconds is None:
            raise SeqlabError("fit.schedule=cosine needs the run's length: set fit.max_steps, fit.max_seconds, or "
                              "fit.epochs with a training loader that has a length")
        self.config = config
        self.total_steps = total_steps
        self.cuts = 0  # plateau schedule: how many times the lr was cut
        self.best: float | None = None
        self.bad_evaluations = 0

    def warmup(self, step: int) -> float:
        w = self.config.warmup_steps
        return min(1.0, step / w) if w else 1.0

    def factor(self, step: int, seconds: float = 0.0) -> float:
        """The factor of optimiser step ``step`` taken after ``seconds`` of training."""
        c = self.config
        if c.schedule == "constant":
            return self.warmup(step)
        if c.schedule == "cosine":
            if step <= c.warmup_steps:
                return self.warmup(step)
            p = 0.0 if not self.total_steps else (step - c.warmup_steps) / max(1, self.total_steps - c.warmup_steps)
            if c.max_seconds is not None:
                p = max(p, seconds / c.max_seconds)
            p = min(1.0, p)
            return c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))
        if c.schedule == "noam":
            s = max(step, 1)
            return min(s / c.warmup_steps, math.sqrt(c.warmup_steps / s))
        if c.schedule == "step":
            return self.warmup(step) * c.gamma ** (step // c.step_size)
        if c.schedule == "plateau":
            return self.warmup(step) * c.gamma**self.cuts
        raise SeqlabError(f"fit.schedule: unknown schedule {c.schedule!r}")

    def apply(self, optimizer: torch.optim.Optimizer, step: int, seconds: float = 0.0) -> float:
        """Set the learning rate of every group for optimiser step ``step`` (times the group's ``lr_scale``);
        returns the unscaled rate."""
        lr = self.config.lr * self.factor(step, seconds)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        return lr

    def observe(self, value: float, mode: str) -> None:
        """Feed one evaluation of the selection metric (only the plateau schedule listens)."""
        if self.config.schedule != "plateau":
            return
        improved = self.best is None or (value < self.best if mode == "min" else value > self.best)
        if improved:
            self.best, self.bad_evaluations = value, 0
            return
        self.bad_evaluations += 1
        if self.bad_evaluations >= self.config.plateau_patience:
            self.cuts += 1
            self.bad_evaluations = 0

    def state_dict(self) -> dict:
        return {"cuts": self.cuts, "best": self.best, "bad_evaluations": self.bad_evaluations}

    def load_state_dict(self, state: dict) -> None:
        self.cuts, self.best, self.bad_evaluations = state["cuts"], state["best"], state["bad_evaluations"]


__all__ = ["Schedule", "decay_groups", "make_optimizer", "scaled_groups"]
