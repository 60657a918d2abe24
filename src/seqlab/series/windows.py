"""Chronological splits and sliding windows: how a series becomes supervised examples.

A window starting at i reads L past steps and targets the next P:

    past    x[i : i + L]          (L, F + C)   scaled targets and their calendar covariates
    future  c[i + L : i + L + P]  (P, C)       covariates of the steps to forecast (known ahead)
    target  y[i + L : i + L + P]  (P, F)

Splits never shuffle: the training part is the earliest rows, then validation, then test,
so a model is always scored on a future it has not seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from seqlab.errors import SeqlabError


def chronological_split(n: int, *, val: int | float = 0, test: int | float = 0) -> tuple[slice, slice, slice]:
    """Slices (train, val, test) of ``n`` rows in time order; sizes as counts or fractions of n."""

    def count(size, name):
        rows = round(size * n) if isinstance(size, float) else int(size)
        if rows < 0:
            raise SeqlabError(f"{name}: expected a size >= 0, got {size}")
        return rows

    n_val, n_test = count(val, "val"), count(test, "test")
    n_train = n - n_val - n_test
    if n_train < 1:
        raise SeqlabError(f"split leaves no training rows: {n} rows, val {n_val}, test {n_test}")
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)


@dataclass(frozen=True)
class Windows:
    """Stacked windows as float32 tensors: past (N, L, F + C), future (N, P, C), target (N, P, F).

    ``anchor`` (N, F) is the last past value of each window's targets (scaled), for models that
    forecast the change from it.
    """

    past: torch.Tensor
    future: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return self.past.shape[0]

    @property
    def anchor(self) -> torch.Tensor:
        return self.past[:, -1, : self.target.shape[-1]]

    def batches(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None):
        """Yield dict batches ``{"past", "future", "target"}`` of at most ``batch_size`` windows."""
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            rows = order[start:start + batch_size]
            yield {"past": self.past[rows], "future": self.future[rows], "target": self.target[rows]}


def sliding_windows(values: np.ndarray, input_length: int, horizon: int, covariates: np.ndarray | None = None,
                    stride: int = 1) -> Windows:
    """Every window of ``input_length`` past steps and ``horizon`` targets in ``values`` (T, F).

    ``covariates`` (T, C), when given, are appended to the past features and returned for the
    future steps; they must be known ahead (calendar features are).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    T = values.shape[0]
    cov = np.zeros((T, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64)
    if cov.shape[0] != T:
        raise SeqlabError(f"covariates must have one row per step ({T}), got {cov.shape[0]}")
    if input_length < 1 or horizon < 1 or stride < 1:
        raise SeqlabError(f"input_length, horizon and stride must be >= 1, got {input_length}, {horizon}, {stride}")
    n = (T - input_length - horizon) // stride + 1
    if n < 1:
        raise SeqlabError(f"a series of {T} steps is too short for windows of {input_length} + {horizon}")
    starts = np.arange(n) * stride
    features = np.concatenate([values, cov], axis=-1)  # (T, F + C)
    past = np.stack([features[i:i + input_length] for i in starts])  # (N, L, F + C)
    future = np.stack([cov[i + input_length:i + input_length + horizon] for i in starts])  # (N, P, C)
    target = np.stack([values[i + input_length:i + input_length + horizon] for i in starts])  # (N, P, F)
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return Windows(as_tensor(past), as_tensor(future), as_tensor(target))


class WindowBatches:
    """Re-iterable shuffled batches of windows for ``fit``: each epoch's order comes from (seed, epoch) alone."""

    def __init__(self, windows: Windows, batch_size: int, seed: int):
        self.windows, self.batch_size, self.seed, self.epoch = windows, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.windows) / self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return self.windows.batches(self.batch_size, shuffle=True, generator=generator)
