"""Gradient flow through time as pictures: ||dL/dh_t|| against t, and Jacobian-norm decay, on log axes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from seqlab.plots._figure import new_figure, save_png


def _positive(values: Sequence[float]) -> np.ndarray:
    """Values for a log axis: zeros (a gradient that underflowed) become gaps, not -inf."""
    array = np.asarray(values, dtype=float)
    return np.where(array > 0, array, np.nan)


def plot_curves_log(curves: Mapping[str, Sequence[float]], path: str | os.PathLike, *, title: str,
                    ylabel: str, xlabel: str = "time step t", styles: Mapping[str, dict] | None = None) -> None:
    """One line per label, y on a log scale, x the time step; ``styles`` maps a label to line options."""
    figure = new_figure()
    axes = figure.add_subplot()
    for label, values in curves.items():
        options = {"linewidth": 1.6} | dict((styles or {}).get(label, {}))
        axes.plot(np.arange(len(values)), _positive(values), label=label, **options)
    axes.set_yscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small")
    save_png(figure, path)


def gradient_norms_figure(curves: Mapping[str, Sequence[float]], path: str | os.PathLike, *,
                          loss: str = "last") -> None:
    """||dL/dh_t|| against t for several cells on one figure (log scale)."""
    where = "the last step" if loss == "last" else "every step" if loss == "every" else "a custom loss"
    plot_curves_log(curves, path, title=f"Gradient flow through time (loss at {where})",
                    ylabel="||dL/dh_t||  (mean over the batch)")


def jacobian_decay_figure(curves: Mapping[str, Sequence[float]], path: str | os.PathLike) -> None:
    """||ds_T/ds_t||_2 = ||prod_k ds_k/ds_{k-1}||_2 against t for several cells (log scale)."""
    plot_curves_log(curves, path, title="Jacobian products through time",
                    ylabel="||ds_T / ds_t||_2  (mean over the batch)")
