"""Gate activations as heat maps: units down, time across, the input characters on the x axis."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.plots._figure import new_figure, save_png

# sigmoid gates live in [0, 1]; tanh candidates and states in [-1, 1] (c is unbounded: its own scale)
_RANGES = {"g": (-1.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}


def _token_label(token: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "→"}.get(token, token)


def gate_heatmaps_figure(gates: Mapping[str, Sequence], tokens: Sequence[str], path: str | os.PathLike, *,
                         units: int = 32, title: str = "Gate activations") -> None:
    """One panel per gate (and state): values (T, H) drawn as H' = min(H, units) rows by T columns."""
    if not gates:
        raise SeqlabError("gates: expected at least one (T, H) array to draw")
    arrays = {name: np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=float)
              for name, value in gates.items()}
    T = len(tokens)
    for name, array in arrays.items():
        if array.ndim != 2 or array.shape[0] != T:
            raise SeqlabError(f"gate {name!r}: expected shape (T={T}, H) to match the tokens, got {array.shape}")
    figure = new_figure(width=max(6.0, 1.5 + 0.16 * T), height=1.0 + 1.6 * len(arrays))
    panels = figure.subplots(len(arrays), 1, squeeze=False)[:, 0]
    for axes, (name, array) in zip(panels, arrays.items()):
        shown = array[:, :units].T  # (H', T)
        low, high = _RANGES.get(name, (0.0, 1.0) if name != "c" else (-np.abs(shown).max(), np.abs(shown).max()))
        image = axes.imshow(shown, aspect="auto", cmap="coolwarm" if low < 0 else "viridis", vmin=low,
                            vmax=max(high, low + 1e-12), interpolation="nearest")
        axes.set_ylabel(f"{name}\nunit", fontsize="small")
        axes.set_xticks(range(T), [_token_label(t) for t in tokens], fontsize="x-small", family="monospace")
        figure.colorbar(image, ax=axes, pad=0.01)
    panels[0].set_title(title)
    save_png(figure, path)
