"""The long-dependency experiment: several cells on one task, a learning-curve figure and a summary.

Example:
    >>> import pathlib, tempfile
    >>> from seqlab.diagnostics.long_memory import LongMemoryConfig
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> summary = run_experiment("adding", ["rnn_tanh", "lstm"], LongMemoryConfig(T=20, steps=40), tmp)
    >>> sorted(summary["cells"])
    ['lstm', 'rnn_tanh']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from seqlab.diagnostics.long_memory import LongMemoryConfig, LongMemoryResult, run_long_memory
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.plots.curves import learning_curves_figure
from seqlab.plots.gradients import plot_curves_log

LOSS_NAMES = {"adding": "mean squared error", "copy": "cross-entropy per step (nats)"}


def verdict(ratio: float) -> str:
    """Words for final test loss / baseline."""
    if ratio < 0.1:
        return "far below the baseline"
    if ratio < 0.9:
        return "below the baseline"
    if ratio <= 1.1:
        return "at the baseline"
    return "above the baseline"


def run_experiment(task: str, cells: Sequence[str], config: LongMemoryConfig, run_dir: str | os.PathLike,
                   on_step: Callable[[str, int, dict], None] | None = None) -> dict:
    """Train every cell in ``cells`` on ``task`` with ``config``'s other settings, same seed for all.

    Writes into ``run_dir``: ``results.json`` (configs, learning curves, gradient norms),
    ``summary.json``, ``summary.md``, ``learning_curves.png`` and ``gradient_flow.png`` (||dL/dh_t||
    of the task's loss per cell, at initialisation and after training). Returns the summary.
    """
    if not cells:
        raise SeqlabError("cells: expected at least one cell name")
    run_dir = Path(run_dir)
    results: dict[str, LongMemoryResult] = {}
    for cell in cells:
        cell_config = dataclasses.replace(config, task=task, cell=cell)
        callback = None if on_step is None else (lambda step, entry, cell=cell: on_step(cell, step, entry))
        results[cell] = run_long_memory(cell_config, on_step=callback)
    first = next(iter(results.values()))
    summary = {
        "task": task, "T": config.T, "seed": config.seed, "loss": LOSS_NAMES[task], "baseline": first.baseline,
        "test_baseline": first.test_baseline,
        "cells": {cell: {"final_test_loss": r.final_test_loss, "best_test_loss": r.best_test_loss,
                         "ratio_to_baseline": r.ratio_to_baseline, "verdict": verdict(r.ratio_to_baseline),
                         "steps": r.steps, "seconds": round(r.seconds, 1), "parameters": r.parameters,
                         "seconds_per_step": r.seconds / max(r.steps, 1), "clipping": r.clipping,
                         "grad_ratio_start": _ratio(r.grad_norms_start), "grad_ratio_end": _ratio(r.grad_norms_end),
                         **({"final_test_accuracy": r.history[-1]["test_accuracy"]} if task == "copy" else {})}
                  for cell, r in results.items()},
    }
    write_json_atomic(run_dir / "results.json", {cell: r.to_dict() for cell, r in results.items()})
    write_json_atomic(run_dir / "summary.json", summary)
    write_text_atomic(run_dir / "summary.md", summary_markdown(summary, config))
    curves = {cell: ([e["step"] for e in r.history], [e["test_loss"] for e in r.history])
              for cell, r in results.items()}
    learning_curves_figure(curves, run_dir / "learning_curves.png", baseline=first.baseline,
                           title=f"{task} problem, T = {config.T}", ylabel=f"test {LOSS_NAMES[task]}")
    flows, styles = {}, {}
    for index, (cell, r) in enumerate(results.items()):
        color = f"C{index}"  # one colour per cell: dashed at initialisation, solid once trained
        flows[f"{cell}, initial"], styles[f"{cell}, initial"] = r.grad_norms_start, {"color": color, "linestyle": "--"}
        flows[f"{cell}, trained"], styles[f"{cell}, trained"] = r.grad_norms_end, {"color": color}
    plot_curves_log(flows, run_dir / "gradient_flow.png", title=f"||dL/dh_t|| of the {task} loss, before and "
                    "after training", ylabel="||dL/dh_t||  (mean over 64 test sequences)", styles=styles)
    return summary


def _ratio(norms: list[float]) -> float | None:
    """||dL/dh_0|| / ||dL/dh_{T-1}||: the share of the last step's gradient that reaches the first."""
    return norms[0] / norms[-1] if norms and norms[-1] > 0 else None


def summary_markdown(summary: dict, config: LongMemoryConfig) -> str:
    lines = [f"# {summary['task']} problem, T = {summary['T']}", "",
             f"Memoryless baseline ({summary['loss']}): {summary['baseline']:.4f} computed from the task's "
             f"definition, {summary['test_baseline']:.4f} on this test set of {config.test_size} sequences.",
             f"Hidden size {config.hidden_size}, batch {config.batch_size}, Adam lr {config.lr}, "
             f"clip {config.clip} at {config.clip_threshold}, seed {config.seed}.", "",
             "| cell | parameters | steps | final test loss | best | loss / baseline | verdict | "
             "‖dL/dh_0‖/‖dL/dh_T-1‖ initial -> trained |",
             "|---|---:|---:|---:|---:|---:|---|---|"]

    def ratio(value):
        return "-" if value is None else f"{value:.1e}"

    for cell, s in summary["cells"].items():
        lines.append(f"| {cell} | {s['parameters']:,} | {s['steps']} | {s['final_test_loss']:.4f} | "
                     f"{s['best_test_loss']:.4f} | {s['ratio_to_baseline']:.3f} | {s['verdict']} | "
                     f"{ratio(s['grad_ratio_start'])} -> {ratio(s['grad_ratio_end'])} |")
    return "\n".join(lines) + "\n"
