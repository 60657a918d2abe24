"""Hidden-state trajectories: h_t projected on its first two principal components, one point per step."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.plots._figure import new_figure, save_png


def pca_2d(states) -> tuple[np.ndarray, np.ndarray]:
    """Project (T, H) states on their top two principal components.

    With X the states centred on their mean and X = U S V^T its SVD, the coordinates are
    X V[:, :2] = U[:, :2] S[:2]; the second value returned is the fraction of the variance
    each component explains, S_k^2 / sum S^2.
    """
    X = np.asarray(states.detach().cpu() if hasattr(states, "detach") else states, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise SeqlabError(f"states: expected shape (T, H) with T >= 2, got {X.shape}")
    X = X - X.mean(axis=0)
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    k = min(2, len(S))
    coords = U[:, :k] * S[:k]
    if k == 1:
        coords = np.concatenate([coords, np.zeros_like(coords)], axis=1)
    total = float((S**2).sum()) or 1.0
    return coords, (S[:2] ** 2) / total


def state_trajectories_figure(trajectories: Mapping[str, object], path: str | os.PathLike, *,
                              tokens: Sequence[str] | None = None, title: str = "Hidden-state trajectories (PCA)",
                              label_every: int = 1) -> None:
    """One panel per trajectory (label -> (T, H) states), each on its own two principal components."""
    figure = new_figure(width=5.0 * len(trajectories), height=4.5)
    panels = figure.subplots(1, len(trajectories), squeeze=False)[0]
    for axes, (label, states) in zip(panels, trajectories.items()):
        coords, explained = pca_2d(states)
        steps = np.arange(len(coords))
        axes.plot(coords[:, 0], coords[:, 1], color="0.7", linewidth=0.8, zorder=1)
        points = axes.scatter(coords[:, 0], coords[:, 1], c=steps, cmap="viridis", s=14, zorder=2)
        if tokens is not None:
            for t in range(0, len(coords), max(1, label_every)):
                axes.annotate(repr(tokens[t])[1:-1], coords[t], fontsize="x-small", xytext=(2, 2),
                              textcoords="offset points")
        axes.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
        axes.set_ylabel(f"PC 2 ({explained[1] if len(explained) > 1 else 0:.0%})")
        axes.set_title(label, fontsize="medium")
        figure.colorbar(points, ax=axes, label="step t")
    figure.suptitle(title)
    save_png(figure, path)
