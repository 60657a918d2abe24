"""Learning curves: test loss against optimisation step for several runs, with the baseline to beat."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from seqlab.plots._figure import new_figure, save_png


def learning_curves_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike,
                           *, baseline: float | None = None, title: str = "Learning curves",
                           ylabel: str = "test loss", log_y: bool = True) -> None:
    """One line per run (label -> (steps, losses)) and a dashed horizontal line at ``baseline``."""
    figure = new_figure()
    axes = figure.add_subplot()
    for label, (steps, losses) in curves.items():
        axes.plot(list(steps), list(losses), label=label, linewidth=1.6, marker="o", markersize=2.5)
    if baseline is not None:
        axes.axhline(baseline, color="black", linestyle="--", linewidth=1.0,
                     label=f"memoryless baseline {baseline:.3f}")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel("optimisation step")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    save_png(figure, path)
