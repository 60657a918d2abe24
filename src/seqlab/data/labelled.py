"""Labelled texts for classification: the sentence-polarity folder or a user's CSV, TSV or JSONL file; splits.

    read_labelled_texts(path) -> texts, label ids, label names
    split_indices(n, ...) -> training and held-out indices (a seeded hold-out, or fold k of k)

Files users have are accepted as they come: a UTF-8 byte-order mark (Excel's CSV) and Windows
line endings are fine; a bad row is a ``SeqlabError`` naming the file and the line.

Example:
    >>> split_indices(10, val_fraction=0.2, seed=0)
    ([4, 1, 7, 5, 3, 9, 0, 8], [6, 2])
"""

from __future__ import annotations

from pathlib import Path

import torch

from seqlab.data.loaders import POLARITY_LABELS, load_sentence_polarity
from seqlab.data.readers import read_labelled_file, read_polarity_folder
from seqlab.errors import SeqlabError

FILE_SUFFIXES = (".csv", ".tsv", ".jsonl")


def read_labelled_texts(path: str | Path | None = None, text_column: str = "text",
                        label_column: str = "label") -> tuple[list[str], list[int], list[str]]:
    """Texts, label ids and label names (sorted) from ``path``; None reads the sentence-polarity data.

    ``path`` is a folder holding ``rt-polarity.neg`` and ``rt-polarity.pos`` (labels neg, pos), or
    a ``.csv`` / ``.tsv`` file with a header naming ``text_column`` and ``label_column``, or a
    ``.jsonl`` file of objects with those keys (``seqlab.data.readers``).
    """
    if path is None:
        texts, labels = load_sentence_polarity()
        return texts, labels, list(POLARITY_LABELS)
    path = Path(path)
    if path.is_dir():
        texts, labels = read_polarity_folder(path)
        return texts, labels, list(POLARITY_LABELS)
    if not path.is_file():
        raise SeqlabError(f"data.path: {path} does not exist")
    rows = read_labelled_file(path, text_column, label_column)
    if not rows:
        raise SeqlabError(f"{path}: expected labelled rows, found none")
    names = sorted({label for _, label in rows})
    if len(names) < 2:
        raise SeqlabError(f"{path}: expected at least 2 distinct labels in column {label_column!r}, got {names}")
    index = {name: i for i, name in enumerate(names)}
    return [t for t, _ in rows], [index[label] for _, label in rows], names


def split_indices(n: int, val_fraction: float = 0.1, seed: int = 0, limit: int | None = None,
                  fold: int | None = None, folds: int = 10) -> tuple[list[int], list[int]]:
    """A seeded shuffle of range(n), then the held-out part: the last ``val_fraction``, or fold ``fold`` of ``folds``.

    ``limit`` keeps only the first ``limit`` shuffled examples (quick looks, tests).
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    if limit is not None:
        order = order[:limit]
        n = len(order)
    if fold is None:
        cut = n - max(1, round(n * val_fraction))
        return order[:cut], order[cut:]
    bounds = [round(n * k / folds) for k in range(folds + 1)]
    held = set(range(bounds[fold], bounds[fold + 1]))
    return [order[i] for i in range(n) if i not in held], [order[i] for i in sorted(held)]


__all__ = ["read_labelled_texts", "split_indices"]
