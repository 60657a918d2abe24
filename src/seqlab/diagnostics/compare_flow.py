"""Gradient flow of several cells on the same inputs, and the figure the demo shows.

Example:
    >>> import pathlib, tempfile
    >>> summary = gradient_flow_figure(pathlib.Path(tempfile.mkdtemp()) / "flow.png", seed=0)
    >>> summary["cells"]["rnn_tanh"]["grad_ratio"] < 1e-3     # the vanilla RNN's gradient vanishes
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from seqlab.diagnostics.gradient_flow import gradient_flow
from seqlab.diagnostics.jacobians import jacobian_norms, recurrent_weight_spectra
from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM, RNN
from seqlab.plots.gradients import gradient_norms_figure, jacobian_decay_figure

# name -> (layer class, constructor options); the remedies are options on the same layers
CELLS: dict[str, tuple[type, dict]] = {
    "rnn_tanh": (RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, {"nonlinearity": "relu"}),
    "rnn_tanh_orthogonal": (RNN, {"nonlinearity": "tanh", "init": "xavier_orthogonal"}),
    "irnn": (RNN, {"nonlinearity": "relu", "init": "identity"}),
    "lstm": (LSTM, {}),
    "lstm_forget_bias_1": (LSTM, {"forget_bias": 1.0}),
    "lstm_forget_bias_3": (LSTM, {"forget_bias": 3.0}),
    "lstm_peephole": (LSTM, {"peephole": True}),
    "lstm_coupled": (LSTM, {"coupled": True}),
    "lstm_layer_norm": (LSTM, {"layer_norm": "whole"}),
    "gru": (GRU, {}),
    "gru_cho": (GRU, {"reset_after": False}),
}
DEMO_CELLS = ("rnn_tanh", "rnn_tanh_orthogonal", "lstm", "lstm_forget_bias_1", "gru")


def build_cell(name: str, input_size: int, hidden_size: int, num_layers: int = 1, **options):
    """The recurrent layer called ``name`` in ``CELLS``."""
    if name not in CELLS:
        raise SeqlabError(f"cell: expected one of {', '.join(CELLS)}, got {name!r}")
    cls, defaults = CELLS[name]
    return cls(input_size, hidden_size, num_layers, **(defaults | options))


@dataclass
class FlowComparison:
    """Per-cell curves over t = 0..T-1 (layer 0) and the numbers that summarise them."""

    grad_h: dict[str, list[float]]
    jacobian: dict[str, list[float]]
    summary: dict


def _horizon(norms: list[float], threshold: float = 1e-3) -> int:
    """How many steps back from the end the gradient stays above ``threshold`` of its last value."""
    last = norms[-1]
    for back, value in enumerate(reversed(norms)):
        if not value > threshold * last:
            return back
    return len(norms)


def compare_gradient_flow(cells=DEMO_CELLS, *, T: int = 100, hidden_size: int = 32, input_size: int = 4,
                          batch_size: int = 8, loss: str = "last", seed: int = 0,
                          with_jacobians: bool = True) -> FlowComparison:
    """Run ``gradient_flow`` (and ``jacobian_norms``) for freshly initialised cells on one input.

    Every cell sees the same seeded inputs x_t ~ N(0, 1), (T, B, I), and is built after
    ``torch.manual_seed(seed)``, so the comparison is reproducible. The cells run in float64 so
    that a vanishing gradient is measured down to 1e-300 rather than flushed to zero at 1e-38.
    """
    if T < 2:
        raise SeqlabError(f"T: expected at least 2 steps, got {T}")
    inputs = torch.randn(T, batch_size, input_size, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
    grad_h, jacobian, summary = {}, {}, {}
    for name in cells:
        torch.manual_seed(seed)
        layer = build_cell(name, input_size, hidden_size, dtype=torch.float64)
        flow = gradient_flow(layer, inputs, loss=loss, seed=seed)
        norms = flow.grad_h[0, 0].tolist()
        grad_h[name] = norms
        spectra = recurrent_weight_spectra(layer)[0, 0]
        entry = {"grad_ratio": norms[0] / norms[-1], "horizon_1e-3": _horizon(norms),
                 "spectral_radius_w_hh": {gate: s["spectral_radius"] for gate, s in spectra.items()},
                 "largest_singular_value_w_hh": {gate: s["singular_values"][0] for gate, s in spectra.items()}}
        if flow.grad_c:
            entry["grad_ratio_c"] = float(flow.grad_c[0, 0][0] / flow.grad_c[0, 0][-1])
        if with_jacobians:
            jacobian[name] = jacobian_norms(layer, inputs)[0, 0].tolist()
            entry["jacobian_norm_t0"] = jacobian[name][0]
        summary[name] = entry
    return FlowComparison(grad_h=grad_h, jacobian=jacobian, summary=summary)


def flow_figures(comparison: FlowComparison, folder: str | os.PathLike, loss: str = "last") -> dict[str, str]:
    """Write gradient_norms.png and (if computed) jacobian_norms.png into ``folder``."""
    folder = os.fspath(folder)
    paths = {"gradient_norms": os.path.join(folder, "gradient_norms.png")}
    gradient_norms_figure(comparison.grad_h, paths["gradient_norms"], loss=loss)
    if comparison.jacobian:
        paths["jacobian_norms"] = os.path.join(folder, "jacobian_norms.png")
        jacobian_decay_figure(comparison.jacobian, paths["jacobian_norms"])
    return paths


def gradient_flow_figure(path: str | os.PathLike, *, seed: int = 0, T: int = 100, hidden_size: int = 32,
                         cells=DEMO_CELLS) -> dict:
    """RNN vs LSTM vs GRU at initialisation: ||dL/dh_t|| for t = 0..T-1 on one log-scale figure.

    Takes a few seconds on a CPU. Returns a JSON-ready summary: per cell the ratio
    ||dL/dh_0|| / ||dL/dh_{T-1}|| (how much of the last step's gradient reaches the first), the
    number of steps back before it falls under 1e-3 of its last value, and the recurrent
    weights' spectral radius per gate.
    """
    comparison = compare_gradient_flow(cells, T=T, hidden_size=hidden_size, seed=seed, with_jacobians=False)
    gradient_norms_figure(comparison.grad_h, path, loss="last")
    return {"path": os.fspath(path), "T": T, "hidden_size": hidden_size, "seed": seed,
            "cells": _json_ready(comparison.summary)}


def _json_ready(value):
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
