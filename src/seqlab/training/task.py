"""What ``fit`` needs from a task: a training loss and evaluation metrics.

A task knows what a batch holds; a model only takes tensors (``forward(inputs, lengths=None)``).
So the task is the one place where a batch is unpacked, the model called and the loss computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Task(Protocol):
    """The contract between ``seqlab.training.fit`` and a task (classification, language model, ...).

    Attributes:
        name: the task's name in configs and run folders ("sentiment", "lm", ...).

    Methods:
        loss(model, batch): the scalar training loss of one batch (mean over its examples), with
            the graph attached so that ``fit`` can call ``backward()``.
        evaluate(model, batches): metrics over a whole loader, computed in eval mode without
            gradients (``fit`` sets both); must include ``"loss"``, in the same units as ``loss``.
    """

    name: str

    def loss(self, model: nn.Module, batch: Any) -> torch.Tensor: ...

    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]: ...


__all__ = ["Task"]
