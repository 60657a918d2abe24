"""Learning curves of a run as a PNG: training loss per step, validation metrics per evaluation."""

from __future__ import annotations

from pathlib import Path


def plot_learning_curves(history, path: str | Path) -> Path:
    """Draw ``history`` (a ``seqlab.training.fit.History``) to ``path`` with matplotlib's Agg backend.

    Left: the training loss of every step (thin) and its running mean; validation loss on top.
    Right: the other validation metrics (accuracy, perplexity, ...), if any.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from seqlab.files import write_atomic

    evaluations = history.evaluations
    others = sorted({k for r in evaluations for k in r if k.startswith("val_") and k != "val_loss"})
    figure = Figure(figsize=(11 if others else 6, 4), layout="constrained")
    axes = figure.subplots(1, 2 if others else 1, squeeze=False)[0]
    steps = range(1, len(history.losses) + 1)
    axes[0].plot(steps, history.losses, lw=0.5, alpha=0.4, color="C0", label="train (per step)")
    window = max(1, len(history.losses) // 50)
    if window > 1:
        windows = [history.losses[max(0, i - window + 1): i + 1] for i in range(len(history.losses))]
        smooth = [sum(w) / len(w) for w in windows]
        axes[0].plot(steps, smooth, color="C0", label=f"train (mean of {window})")
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
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    path = Path(path)
    write_atomic(path, buffer.getvalue())
    return path
