r"""Gradient clipping that reports what it did.

* by norm (Pascanu, Mikolov & Bengio 2013): with g the concatenation of every parameter's
  gradient, g <- g * min(1, tau / ||g||_2): the direction is kept, the length capped at tau;
* by value: each component g_i <- clamp(g_i, -tau, tau): the direction may change.

``ClipStats`` accumulates, over a run, the fraction of steps that were clipped and the global
gradient norm before and after, so a run can say whether clipping did anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from seqlab.errors import SeqlabError

MODES = ("norm", "value")


def _global_norm(grads: list[torch.Tensor]) -> float:
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))) if grads \
        else 0.0


@torch.no_grad()
def clip_gradients(parameters: Iterable[torch.nn.Parameter], mode: str, threshold: float) -> tuple[float, float, bool]:
    """Clip the gradients of ``parameters`` in place by ``mode`` ("norm" or "value") at ``threshold``.

    Returns:
        (||g||_2 before, ||g||_2 after, whether anything was changed).
    """
    if mode not in MODES:
        raise SeqlabError(f"clip mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if not threshold > 0:
        raise SeqlabError(f"clip threshold: expected a positive number, got {threshold}")
    grads = [p.grad for p in parameters if p.grad is not None]
    before = _global_norm(grads)
    if mode == "norm":
        clipped = before > threshold
        if clipped:
            for g in grads:
                g.mul_(threshold / before)  # g <- g * tau / ||g||
    else:
        clipped = any(bool((g.abs() > threshold).any()) for g in grads)
        for g in grads:
            g.clamp_(-threshold, threshold)  # g_i <- clamp(g_i, -tau, tau)
    return before, _global_norm(grads), clipped


@dataclass
class ClipStats:
    """Norms before and after clipping at every step of a run (mode "none": norms only, never clipped)."""

    mode: str
    threshold: float
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    clipped: list[bool] = field(default_factory=list)

    def clip(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Clip (mode "norm" or "value") or, with mode "none", only measure the norm."""
        if self.mode == "none":
            before = _global_norm([p.grad for p in parameters if p.grad is not None])
            after, clipped = before, False
        else:
            before, after, clipped = clip_gradients(parameters, self.mode, self.threshold)
        self.before.append(before)
        self.after.append(after)
        self.clipped.append(clipped)

    def summary(self) -> dict:
        steps = len(self.clipped)
        if steps == 0:
            return {"mode": self.mode, "threshold": self.threshold, "steps": 0}
        return {"mode": self.mode, "threshold": self.threshold, "steps": steps,
                "fraction_clipped": sum(self.clipped) / steps,
                "norm_before_mean": sum(self.before) / steps, "norm_before_max": max(self.before),
                "norm_after_mean": sum(self.after) / steps, "norm_after_max": max(self.after)}
