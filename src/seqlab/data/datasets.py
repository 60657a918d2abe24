"""Datasets over already-encoded ids: one class per task shape.

Tokenizers (``seqlab.text``) turn strings into id lists; these classes hold the id lists and hand
out one example at a time as tensors. The collate functions of ``seqlab.data.batching`` turn a list
of examples into a ``Batch``.

===================  ===========================================  ================================
dataset              item                                         collate with
===================  ===========================================  ================================
ClassificationData   (ids (T,), label ())                          ``collate_classification``
LanguageModelData    (inputs (T,), targets (T,)), shifted by one   ``collate_language_model``
RandomOffsetBlocks   the same, blocks moved by a random offset       ``collate_language_model``
                     every epoch (for training)
ParallelData         (source ids (S,), target ids (T,))            ``collate_parallel``
TaggingData          (ids (T,), tag ids (T,))                      ``collate_tagging``
===================  ===========================================  ================================

Example:
    >>> data = LanguageModelData([5, 6, 7, 8, 9, 10, 11], block_size=3)
    >>> len(data), data[0][0].tolist(), data[0][1].tolist()
    (2, [5, 6, 7], [6, 7, 8])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from seqlab.errors import SeqlabError


def _as_ids(ids: Sequence[int] | torch.Tensor, what: str) -> torch.Tensor:
    tensor = torch.as_tensor(ids, dtype=torch.long)
    if tensor.dim() != 1:
        raise SeqlabError(f"{what}: expected a 1-D sequence of ids, got shape {tuple(tensor.shape)}")
    return tensor


class ClassificationData(Dataset):
    """Sequences with one label each (sentiment, topic).

    Args:
        ids: one list of token ids per example.
        labels: one integer class per example, in ``0..K-1``.
    """

    def __init__(self, ids: Sequence[Sequence[int]], labels: Sequence[int]):
        if len(ids) != len(labels):
            raise SeqlabError(f"labels: expected one per sequence ({len(ids)}), got {len(labels)}")
        self.ids = [_as_ids(x, f"ids[{i}]") for i, x in enumerate(ids)]
        self.labels = torch.as_tensor(list(labels), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[index], self.labels[index]

    def lengths(self) -> list[int]:
        """Length of every sequence, for ``BucketBatchSampler``."""
        return [len(x) for x in self.ids]


class LanguageModelData(Dataset):
    """A contiguous stream of ids cut into blocks of ``T + 1``: inputs and targets shifted by one.

    Block ``i`` covers ``stream[i*T : i*T + T + 1]``; its inputs are the first ``T`` ids and its
    targets the last ``T``, so ``targets[t] = stream[i*T + t + 1]`` is the token after ``inputs[t]``.
    Consecutive blocks share one boundary id, so every id but the first is predicted exactly once
    over an epoch. The stream's tail that fills no whole block is dropped.

    Args:
        stream: the token ids of the whole corpus, in order.
        block_size: ``T``, the number of predictions per example.
    """

    def __init__(self, stream: Sequence[int] | torch.Tensor, block_size: int):
        if block_size < 1:
            raise SeqlabError(f"block_size: expected a positive integer, got {block_size}")
        self.stream = _as_ids(stream, "stream")
        self.block_size = block_size
        if len(self.stream) < block_size + 1:
            raise SeqlabError(f"stream: expected at least block_size + 1 = {block_size + 1} ids, "
                              f"got {len(self.stream)}")

    def __len__(self) -> int:
        return (len(self.stream) - 1) // self.block_size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"block {index} out of range for {len(self)} blocks")
        start = (index % len(self)) * self.block_size
        block = self.stream[start : start + self.block_size + 1]  # (T + 1,)
        return block[:-1], block[1:]


class RandomOffsetBlocks(Dataset):
    """Blocks of T + 1 tokens of a stream, all shifted by one random offset in [0, T) per epoch.

    Training on the same cut every epoch would always put the same tokens at the start of a
    block; the offset moves the cut. ``len`` is fixed (room is kept for the largest offset), so
    samplers see the same size every epoch; ``set_epoch(e)`` draws the offset of epoch e from
    ``(seed, e)`` alone, so a resumed run cuts its epoch the same way.
    """

    def __init__(self, stream: Sequence[int] | torch.Tensor, block_size: int, seed: int = 0):
        self.stream = _as_ids(stream, "stream")
        if block_size < 1:
            raise SeqlabError(f"block_size: expected a positive integer, got {block_size}")
        if len(self.stream) < 2 * block_size + 1:
            raise SeqlabError(f"text: expected at least {2 * block_size + 1} training tokens for "
                              f"block_size={block_size}, got {len(self.stream)}")
        self.block_size, self.seed = block_size, seed
        self.offset = 0
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self.offset = int(torch.randint(self.block_size, (1,), generator=generator))

    def __len__(self) -> int:
        return (len(self.stream) - 1 - self.block_size) // self.block_size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.offset + index * self.block_size
        block = self.stream[start: start + self.block_size + 1]  # (T + 1,)
        return block[:-1], block[1:]


class ParallelData(Dataset):
    """Pairs of source and target id sequences (translation)."""

    def __init__(self, sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]]):
        if len(sources) != len(targets):
            raise SeqlabError(f"targets: expected one per source ({len(sources)}), got {len(targets)}")
        self.sources = [_as_ids(x, f"sources[{i}]") for i, x in enumerate(sources)]
        self.targets = [_as_ids(x, f"targets[{i}]") for i, x in enumerate(targets)]

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sources[index], self.targets[index]

    def lengths(self) -> list[int]:
        """Length of the longer side of every pair, for ``BucketBatchSampler``."""
        return [max(len(s), len(t)) for s, t in zip(self.sources, self.targets)]


class TaggingData(Dataset):
    """Sequences with one tag per token (named entities, parts of speech)."""

    def __init__(self, ids: Sequence[Sequence[int]], tags: Sequence[Sequence[int]]):
        if len(ids) != len(tags):
            raise SeqlabError(f"tags: expected one tag sequence per sequence ({len(ids)}), got {len(tags)}")
        self.ids = [_as_ids(x, f"ids[{i}]") for i, x in enumerate(ids)]
        self.tags = [_as_ids(x, f"tags[{i}]") for i, x in enumerate(tags)]
        for i, (x, y) in enumerate(zip(self.ids, self.tags)):
            if len(x) != len(y):
                raise SeqlabError(f"tags[{i}]: expected one tag per token ({len(x)}), got {len(y)}")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[index], self.tags[index]

    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]
