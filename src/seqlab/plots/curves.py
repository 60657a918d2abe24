"""Learning curves: a run's training and validation curves; several runs' test losses against a baseline."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from seqlab.plots._figure import new_figure, save_png


def learning_curves_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike,
                           *, baseline: float | None = None, baseline_label: str = "memoryless baseline",
                           title: str = "Learning curves", ylabel: str = "test loss", log_y: bool = True) -> None:
    """One line per run (label -> (steps, losses)) and a dashed horizontal line at ``baseline``."""
    figure = new_figure()
    axes = figure.add_subplot()
    for label, (steps, losses) in curves.items():
        axes.plot(list(steps), list(losses), label=label, linewidth=1.6, marker="o", markersize=2.5)
    if baseline is not None:
        axes.axhline(baseline, color="black", linestyle="--", linewidth=1.0,
                     label=f"{baseline_label} {baseline:.3f}")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel("optimisation step")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    save_png(figure, path)


def run_curves_figure(history, path: str | os.PathLike) -> None:
    """One run's curves (anything with ``losses`` per step and ``evaluations`` records, as
    ``seqlab.training.History``).

    Left: the training loss of every step (thin) and its running mean; validation loss on top.
    Right: the other validation metrics (accuracy, perplexity, ...), if any.
    """
    evaluations = history.evaluations
    others = sorted({k for r in evaluations for k in r if k.startswith("val_") and k != "val_loss"})
    figure = new_figure(11 if others else 6, 4)
    axes = figure.subplots(1, 2 if others else 1, squeeze=False)[0]
    steps = range(1, len(history.losses) + 1)
    axes[0].plot(steps, history.losses, lw=0.5, alpha=0.4, color="C0", label="train (per step)")
    window = max(1, len(history.losses) // 50)
    if window > 1:
        windows = [history.losses[max(0, i - window + 1): i + 1] for i in range(len(history.losses))]
        axes[0].plot(steps, [sum(w) / len(w) for w in windows], color="C0", label=f"train (mean of {window})")
    if evaluations:
        axes[0].plot([r["step"] for r in evaluations], [r["val_loss"] for r in evaluations], "o-", color="C1",
                     label="validation")
    axes[0].set(xlabel="step", ylabel="loss", title="loss")
    axes[0].legend()
    for i, key in enumerate(others):
        axes[1].plot([r["step"] for r in evaluations], [r[key] for r in evaluations], "o-", color=f"C{i + 2}",
                     label=key[4:])
    if others:
        axes[1].set(xlabel="step", title="validation metrics")
        axes[1].legend()
    save_png(figure, path, dpi=100)
