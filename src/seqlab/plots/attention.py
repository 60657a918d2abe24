"""Attention maps as heat maps with token labels: seq2seq alignments, per-head Transformer maps, GPT causal maps.

Rows are the queries (target or current tokens), columns the keys (source or earlier tokens);
each cell is the weight α_ij, so every row of a map sums to 1 (0 for a fully masked row).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.plots._figure import new_figure, save_png


def _as_array(weights, dims: int) -> np.ndarray:
    array = weights.detach().cpu().double().numpy() if hasattr(weights, "detach") else np.asarray(weights, float)
    if array.ndim != dims:
        raise SeqlabError(f"attention weights: expected {dims} dimensions, got shape {tuple(array.shape)}")
    return array


def _check_labels(array: np.ndarray, key_tokens: Sequence[str], query_tokens: Sequence[str]) -> None:
    T, S = array.shape[-2:]
    if len(query_tokens) != T or len(key_tokens) != S:
        raise SeqlabError(f"attention map of {T} queries x {S} keys needs {T} query and {S} key labels, "
                          f"got {len(query_tokens)} and {len(key_tokens)}")


def _draw(axes, array: np.ndarray, key_tokens: Sequence[str], query_tokens: Sequence[str], title: str):
    image = axes.imshow(array, cmap="viridis", vmin=0.0, vmax=max(float(array.max()), 1e-12), aspect="auto")
    axes.set_xticks(range(len(key_tokens)), [str(t) for t in key_tokens], rotation=90, fontsize="small")
    axes.set_yticks(range(len(query_tokens)), [str(t) for t in query_tokens], fontsize="small")
    axes.set_title(title, fontsize="medium")
    return image


def attention_map_figure(weights, key_tokens: Sequence[str], query_tokens: Sequence[str],
                         path: str | os.PathLike, *, title: str = "Attention",
                         xlabel: str = "source (keys)", ylabel: str = "target (queries)") -> None:
    """One map: weights (T, S) with the S key labels along x and the T query labels along y, saved as PNG."""
    array = _as_array(weights, 2)
    _check_labels(array, key_tokens, query_tokens)
    T, S = array.shape
    figure = new_figure(width=max(4.0, 1.5 + 0.35 * S), height=max(3.0, 1.2 + 0.3 * T))
    axes = figure.add_subplot()
    image = _draw(axes, array, key_tokens, query_tokens, title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    figure.colorbar(image, ax=axes, label="attention weight")
    save_png(figure, path)


def attention_heads_figure(weights, key_tokens: Sequence[str], query_tokens: Sequence[str],
                           path: str | os.PathLike, *, title: str = "Attention per head", columns: int = 4) -> None:
    """A grid of maps, one per head: weights (nh, T, S), saved as PNG."""
    array = _as_array(weights, 3)
    _check_labels(array, key_tokens, query_tokens)
    heads, T, S = array.shape
    columns = max(1, min(columns, heads))
    rows = math.ceil(heads / columns)
    figure = new_figure(width=columns * max(2.5, 0.8 + 0.25 * S), height=rows * max(2.5, 0.8 + 0.25 * T) + 0.5)
    grid = figure.subplots(rows, columns, squeeze=False)
    for h in range(rows * columns):
        axes = grid[h // columns][h % columns]
        if h < heads:
            _draw(axes, array[h], key_tokens, query_tokens, f"head {h}")
        else:
            axes.set_axis_off()
    figure.suptitle(title)
    save_png(figure, path)
