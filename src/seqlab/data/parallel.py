"""Parallel text for translation: a ``source<TAB>target`` file, filtered by length and split by source sentence.

The split keeps every translation of one source sentence on the same side, so no test sentence
is seen in training: the distinct source sentences are shuffled with a seed, the first
``test_sources`` are the test set and the next ``val_sources`` the validation set, each scored
against its first translation in the file; every pair of the remaining sentences trains.

Example:
    >>> pairs = [("Hi.", "Salut."), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Who?", "Qui ?"), ("Wow!", "Ça alors !")]
    >>> splits = split_parallel(pairs, max_words=10, test_sources=1, val_sources=1, seed=0)
    >>> splits.test, splits.val  # one source sentence each, scored against its first translation
    ([('Hi.', 'Salut.')], [('Run!', 'Cours !')])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.data.loaders import load_fra_eng
from seqlab.data.readers import read_parallel_file
from seqlab.errors import SeqlabError

Pair = tuple[str, str]


@dataclass
class ParallelSplits:
    """(source, target) string pairs of the three splits."""

    train: list[Pair]
    val: list[Pair]
    test: list[Pair]


def read_parallel(path: str | Path | None = None, limit: int | None = None) -> list[Pair]:
    """The pairs of a ``source<TAB>target[<TAB>...]`` file; None reads Tatoeba English-French (``fra-eng``)."""
    if path is None:
        return load_fra_eng(max_pairs=limit)
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"data.path: {path} does not exist (expected a source<TAB>target file)")
    return read_parallel_file(path, max_pairs=limit)


def split_parallel(pairs: Sequence[Pair], max_words: int, test_sources: int, val_sources: int,
                   seed: int = 0) -> ParallelSplits:
    """Keep pairs whose two sides have at most ``max_words`` whitespace words, then split by source sentence."""
    kept = [(s, t) for s, t in pairs if len(s.split()) <= max_words and len(t.split()) <= max_words]
    by_source: dict[str, list[str]] = {}
    for source, target in kept:
        by_source.setdefault(source, []).append(target)
    sources = list(by_source)
    if len(sources) <= test_sources + val_sources:
        raise SeqlabError(f"data: {len(sources)} distinct source sentences after the filter (max_words={max_words}), "
                          f"need more than test_sources + val_sources = {test_sources + val_sources}")
    order = torch.randperm(len(sources), generator=torch.Generator().manual_seed(seed)).tolist()
    test_ids, val_ids = order[:test_sources], order[test_sources:test_sources + val_sources]
    train_ids = sorted(order[test_sources + val_sources:])
    train = [(sources[i], t) for i in train_ids for t in by_source[sources[i]]]
    return ParallelSplits(train, [(sources[i], by_source[sources[i]][0]) for i in val_ids],
                          [(sources[i], by_source[sources[i]][0]) for i in test_ids])


__all__ = ["ParallelSplits", "read_parallel", "split_parallel"]
