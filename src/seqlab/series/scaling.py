"""Scaling fitted on the training part only, so nothing about the future leaks into the model.

    z = (g(y) - mu) / sigma,      g = log when ``log=True`` (for multiplicative series), else identity

mu and sigma are per column, from the training rows alone ("standard"); "minmax" uses
mu = min and sigma = max - min. The inverse is y = g^{-1}(sigma * z + mu). Every step is
monotone increasing, so quantiles and interval bounds map through the inverse unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqlab.errors import SeqlabError

KINDS = ("standard", "minmax", "none")


@dataclass(frozen=True)
class Scaler:
    """Per-column affine scaling (after an optional log) with statistics of the training rows.

    Example:
        >>> scaler = Scaler.fit(np.array([[1.0], [3.0]]))
        >>> scaler.transform(np.array([[3.0]])).item()
        1.0
    """

    center: tuple[float, ...]
    scale: tuple[float, ...]
    log: bool = False
    kind: str = "standard"

    @classmethod
    def fit(cls, train: np.ndarray, kind: str = "standard", log: bool = False) -> Scaler:
        """Statistics of ``train`` (T, F): the rows the model is trained on, never later ones."""
        if kind not in KINDS:
            raise SeqlabError(f"scaling: expected one of {', '.join(KINDS)}, got {kind!r}")
        values = np.asarray(train, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] < 2:
            raise SeqlabError(f"scaling needs (T, F) training values with T >= 2, got shape {values.shape}")
        if log and np.any(values <= 0):
            raise SeqlabError("log scaling needs positive values; the training part has values <= 0")
        g = np.log(values) if log else values
        if kind == "standard":
            center, scale = g.mean(axis=0), g.std(axis=0)
        elif kind == "minmax":
            center, scale = g.min(axis=0), g.max(axis=0) - g.min(axis=0)
        else:
            center, scale = np.zeros(g.shape[1]), np.ones(g.shape[1])
        scale = np.where(scale > 0, scale, 1.0)  # a constant column is only centred
        return cls(tuple(map(float, center)), tuple(map(float, scale)), log, kind)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """z = (g(y) - mu) / sigma, column by column over the last axis."""
        values = np.asarray(values, dtype=np.float64)
        if self.log and np.any(values <= 0):
            raise SeqlabError("log scaling needs positive values; got values <= 0")
        g = np.log(values) if self.log else values
        return (g - np.asarray(self.center)) / np.asarray(self.scale)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """y = g^{-1}(sigma * z + mu)."""
        g = np.asarray(scaled, dtype=np.float64) * np.asarray(self.scale) + np.asarray(self.center)
        return np.exp(g) if self.log else g

    def state(self) -> dict:
        return {"center": list(self.center), "scale": list(self.scale), "log": self.log, "kind": self.kind}

    @classmethod
    def from_state(cls, state: dict) -> Scaler:
        return cls(tuple(state["center"]), tuple(state["scale"]), bool(state["log"]), state["kind"])
