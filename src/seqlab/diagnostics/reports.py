"""What ``seqlab diagnose`` writes: gradient-flow and gate reports as figures plus JSON/markdown.

The CLI parses and prints; these functions compute, write the run folder and return a summary.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from seqlab.diagnostics.compare_flow import CELLS, compare_gradient_flow, flow_figures
from seqlab.diagnostics.gates import trace_text, untrained_char_lm
from seqlab.diagnostics.gradient_flow import LOSSES
from seqlab.diagnostics.long_memory import LongMemoryConfig, run_long_memory
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.plots.gates import gate_heatmaps_figure
from seqlab.plots.states import state_trajectories_figure
from seqlab.training.runner import load_run

CLIP_THRESHOLDS = {"norm": 1.0, "value": 0.1}  # tau for ||g|| and for each |g_i|


def _finite(value):
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def clipping_comparison(cell: str, *, T: int = 50, steps: int = 200, hidden_size: int = 32,
                        seed: int = 0) -> dict[str, dict]:
    """Train ``cell`` on the adding problem once per clipping mode (none, norm, value) from one seed.

    Returns mode -> the clipping statistics (fraction of steps clipped, global gradient norm
    before and after) and the final test MSE; under "none" the norms are measured, never changed.
    """
    base = LongMemoryConfig(task="adding", cell=cell, T=T, steps=steps, hidden_size=hidden_size, batch_size=32,
                            eval_every=max(1, steps // 4), test_size=256, seed=seed)
    result = {}
    for mode in ("none", "norm", "value"):
        config = dataclasses.replace(base, clip=None if mode == "none" else mode,
                                     clip_threshold=CLIP_THRESHOLDS.get(mode, 1.0))
        run = run_long_memory(config)
        result[mode] = run.clipping | {"final_test_loss": run.final_test_loss, "baseline": run.baseline}
    return result


def gradient_report(cells: Sequence[str], *, T: int = 100, hidden_size: int = 32, batch_size: int = 8,
                    loss: str = "last", seed: int = 0, with_jacobians: bool = True, clipping_steps: int = 0,
                    run_dir_factory: Callable[[], Path]) -> dict:
    """Gradient flow of ``cells`` at initialisation (and optionally clipping runs), written to a new run folder."""
    unknown = [name for name in cells if name not in CELLS]
    if not cells or unknown:
        raise SeqlabError(f"cells: expected names from {', '.join(CELLS)}, got {', '.join(unknown) or 'none'}")
    if loss not in LOSSES:
        raise SeqlabError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if T < 2 or hidden_size < 1 or batch_size < 1 or clipping_steps < 0:
        raise SeqlabError(f"expected T >= 2, hidden >= 1, batch >= 1 and clipping steps >= 0, got "
                          f"{T}, {hidden_size}, {batch_size}, {clipping_steps}")
    comparison = compare_gradient_flow(cells, T=T, hidden_size=hidden_size, batch_size=batch_size, loss=loss,
                                       seed=seed, with_jacobians=with_jacobians)
    run_dir = run_dir_factory()
    figures = flow_figures(comparison, run_dir, loss=loss)
    report = {"T": T, "hidden_size": hidden_size, "batch_size": batch_size, "loss": loss, "seed": seed,
              "cells": comparison.summary, "figures": figures, "run_dir": str(run_dir)}
    if clipping_steps:
        report["clipping"] = {name: clipping_comparison(name, T=min(T, 50), steps=clipping_steps,
                                                        hidden_size=hidden_size, seed=seed) for name in cells}
    write_json_atomic(run_dir / "summary.json", _finite(report))
    write_json_atomic(run_dir / "curves.json", {"grad_h": comparison.grad_h, "jacobian": comparison.jacobian})
    write_text_atomic(run_dir / "summary.md", _gradient_markdown(report))
    return report


def _gradient_markdown(report: dict) -> str:
    lines = [f"# Gradient flow at initialisation (T = {report['T']}, H = {report['hidden_size']}, "
             f"loss at {report['loss']} step(s), seed {report['seed']})", "",
             "| cell | ‖dL/dh_0‖ / ‖dL/dh_T-1‖ | steps above 1e-3 | ‖ds_T/ds_0‖₂ | ρ(W_hh) per gate |",
             "|---|---:|---:|---:|---|"]
    for name, e in report["cells"].items():
        radius = ", ".join(f"{g} {r:.2f}" if r is not None else f"{g} -" for g, r in e["spectral_radius_w_hh"].items())
        jac = f"{e['jacobian_norm_t0']:.2e}" if "jacobian_norm_t0" in e else "-"
        lines.append(f"| {name} | {e['grad_ratio']:.2e} | {e['horizon_1e-3']} | {jac} | {radius} |")
    if "clipping" in report:
        lines += ["", "## Clipping on the adding problem", "",
                  "| cell | mode | fraction clipped | mean norm before | mean norm after | final test MSE |",
                  "|---|---|---:|---:|---:|---:|"]
        for name, modes in report["clipping"].items():
            for mode, s in modes.items():
                lines.append(f"| {name} | {mode} | {s['fraction_clipped']:.0%} | {s['norm_before_mean']:.3g} | "
                             f"{s['norm_after_mean']:.3g} | {s['final_test_loss']:.4f} |")
    return "\n".join(lines) + "\n"


def gates_report(text: str, *, run: Path | None = None, cell: str = "lstm", eps: float = 0.1, units: int = 32,
                 seed: int = 0, run_dir_factory: Callable[[], Path]) -> dict:
    """Trace a recurrent LM (the best weights of the run folder ``run`` of any ``lm`` run or of the tour's ``lm/``
    section, or an untrained ``cell``) over ``text``; write heat maps,
    the PCA trajectory of h_t per layer and the saturation statistics."""
    if run is not None:
        loaded = load_run(run)
        if not isinstance(loaded.model, RecurrentLanguageModel):
            raise SeqlabError(f"{run}: diagnose gates reads a recurrent language model (LSTM, GRU or RNN); this run "
                              f"holds a {type(loaded.model).__name__}")
        model, vocab = loaded.model, loaded.tokenizer
        name = f"trained {model.cell.upper()} from {run}"
    else:
        if cell not in ("lstm", "gru", "rnn"):
            raise SeqlabError(f"cell: expected one of lstm, gru, rnn, got {cell!r}")
        model, vocab = untrained_char_lm(cell, seed=seed)
        name = f"untrained {cell.upper()}"
    trace = trace_text(model, vocab, text)
    saturation = trace.saturation(eps)
    run_dir = run_dir_factory()
    figures = {}
    for layer, values in enumerate(trace.gates):
        figures[f"gates_layer{layer}"] = str(run_dir / f"gates_layer{layer}.png")
        gate_heatmaps_figure(values, trace.tokens, figures[f"gates_layer{layer}"], units=units,
                             title=f"{name}, layer {layer}")
    figures["states_pca"] = str(run_dir / "states_pca.png")
    state_trajectories_figure({f"layer {k}": values["h"] for k, values in enumerate(trace.gates)},
                              figures["states_pca"], tokens=trace.tokens, title=f"{name}: h_t on its top two PCs")
    report = {"model": name, "text": text, "eps": eps, "saturation": saturation,
              "mean_loss": sum(trace.loss_per_step) / len(trace.loss_per_step),
              "loss_per_step": trace.loss_per_step, "figures": figures, "run_dir": str(run_dir)}
    write_json_atomic(run_dir / "summary.json", report)
    return report
