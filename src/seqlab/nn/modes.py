"""Train and eval mode as a context: ``with eval_mode(model):`` runs in eval mode and restores the mode after.

Dropout and zoneout behave differently in training and evaluation; code that evaluates or
generates in the middle of training must not leave the model in the wrong mode, even when it
raises. This is the one place that switches and restores.

Example:
    >>> from torch import nn
    >>> model = nn.Dropout(0.5).train()
    >>> with eval_mode(model):
    ...     model.training
    False
    >>> model.training
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` (and every submodule) in eval mode for the block, then back to the mode it was in."""
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


__all__ = ["eval_mode"]
