"""Attention maps as heat maps with token labels: seq2seq alignments, per-head Transformer maps, GPT causal maps,
and every layer and head of a pretrained model at once.

Rows are the queries (target or current tokens), columns the keys (source or earlier tokens);
each cell is the weight α_ij, so every row of a map sums to 1 (0 for a fully masked row).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

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


def attention_layers_figure(weights, key_tokens: Sequence[str], query_tokens: Sequence[str],
                            path: str | os.PathLike, *, title: str = "Attention per layer and head") -> None:
    """Every layer at once: weights (L, nh, T, S) as a grid with a row per layer and a column per head, saved as PNG.

    Token labels are drawn on the left column (queries) and the bottom row (keys) only, so a
    twelve-by-twelve grid stays readable; ``attention_heads_figure`` shows one layer larger.
    """
    array = _as_array(weights, 4)
    _check_labels(array, key_tokens, query_tokens)
    layers, heads, T, S = array.shape
    cell = max(1.2, 0.18 * max(T, S))
    figure = new_figure(width=1.0 + heads * cell, height=0.8 + layers * cell)
    grid = figure.subplots(layers, heads, squeeze=False)
    for layer in range(layers):
        for head in range(heads):
            axes = grid[layer][head]
            axes.imshow(array[layer, head], cmap="viridis", vmin=0.0, vmax=max(float(array[layer, head].max()), 1e-12),
                        aspect="auto")
            bottom, left = layer == layers - 1, head == 0
            axes.set_xticks(range(S) if bottom else [], [str(t) for t in key_tokens] if bottom else [],
                            rotation=90, fontsize="x-small")
            axes.set_yticks(range(T) if left else [], [str(t) for t in query_tokens] if left else [],
                            fontsize="x-small")
            if layer == 0:
                axes.set_title(f"head {head}", fontsize="small")
            if left:
                axes.set_ylabel(f"layer {layer}", fontsize="small")
    figure.suptitle(title)
    save_png(figure, path)


def attention_figures(weights, tokens: Sequence[str], folder: str | os.PathLike, *, layer: int | None = None,
                      title: str = "Attention") -> list[Path]:
    """Self-attention figures of a model, weights (L, nh, T, T), written into ``folder``; returns the paths.

    With ``layer`` (negative counts from the last): ``layer-<l>.png``, that layer's heads. Without:
    ``layers.png`` (every layer and head, ``attention_layers_figure``) and ``layer-<l>.png`` for each layer.
    """
    array = _as_array(weights, 4)
    layers = array.shape[0]
    if layer is not None and not -layers <= layer < layers:
        raise SeqlabError(f"layer: expected an index in [{-layers}, {layers - 1}] (0 is the first), got {layer}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(layers - 1))
    paths = []
    if layer is None:
        paths.append(folder / "layers.png")
        attention_layers_figure(array, tokens, tokens, paths[-1], title=title)
    for index in range(layers) if layer is None else [layer % layers]:
        paths.append(folder / f"layer-{index:0{width}d}.png")
        attention_heads_figure(array[index], tokens, tokens, paths[-1], title=f"{title}, layer {index}")
    return paths
