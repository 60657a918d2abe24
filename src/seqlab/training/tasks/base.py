"""What ``fit`` needs from a task: a training loss, evaluation metrics, and the state a checkpoint keeps.

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
        name: the task's name in configs and run folders ("sentiment", "char_lm", ...).

    Methods:
        loss(model, batch): the scalar training loss of one batch (mean over its examples), with
            the graph attached so that ``fit`` can call ``backward()``.
        evaluate(model, batches): metrics over a whole loader, computed in eval mode without
            gradients (``fit`` sets both); must include ``"loss"``, in the same units as ``loss``.
        state(): JSON-able facts a checkpoint needs to be used alone later (label names, the
            tokenizer's file, the vocabulary size).
    """

    name: str

    def loss(self, model: nn.Module, batch: Any) -> torch.Tensor: ...

    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]: ...

    def state(self) -> dict: ...


__all__ = ["Task"]
