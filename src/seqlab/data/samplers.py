"""Length-bucketed batch sampling: batches of similar lengths, so padding is cut, still shuffled.

The recipe, per epoch, from one seeded generator:

1. shuffle all indices;
2. cut them into pools of ``batch_size * pool_batches``;
3. sort each pool by length and cut it into batches (neighbours in length share a batch);
4. shuffle the order of the batches.

With ``pool_batches=1`` it is plain shuffled batching; the larger the pool, the less padding and
the less randomness. ``set_epoch(e)`` gives a different, reproducible order each epoch.

Example:
    >>> sampler = BucketBatchSampler([5, 1, 4, 2, 3, 6], batch_size=2, seed=0)
    >>> sorted(i for batch in sampler for i in batch)
    [0, 1, 2, 3, 4, 5]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from seqlab.errors import SeqlabError


class BucketBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices whose lengths are close (pass as ``DataLoader(batch_sampler=...)``).

    Args:
        lengths: the length of every example (``dataset.lengths()``).
        batch_size: examples per batch (the last batch of a pool may be smaller).
        seed: seeds the shuffles; with ``set_epoch`` the order is ``f(seed, epoch)``.
        pool_batches: how many batches' worth of examples are sorted together.
        shuffle: False gives batches in sorted order of length, for evaluation.
        drop_last: drop batches smaller than ``batch_size``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, pool_batches: int = 50,
                 shuffle: bool = True, drop_last: bool = False):
        if batch_size < 1:
            raise SeqlabError(f"batch_size: expected a positive integer, got {batch_size}")
        if pool_batches < 1:
            raise SeqlabError(f"pool_batches: expected a positive integer, got {pool_batches}")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.seed = seed
        self.pool_batches = pool_batches
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        """This epoch's batches, as lists of indices."""
        n = len(self.lengths)
        if not self.shuffle:
            order = torch.sort(self.lengths, stable=True).indices
            return self._cut(order.tolist())
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(n, generator=generator)
        pool = self.batch_size * self.pool_batches
        batches: list[list[int]] = []
        for start in range(0, n, pool):
            chunk = order[start : start + pool]
            by_length = chunk[torch.sort(self.lengths[chunk], stable=True).indices]
            batches.extend(self._cut(by_length.tolist()))
        permutation = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in permutation]

    def _cut(self, indices: list[int]) -> list[list[int]]:
        cut = [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        return [b for b in cut if len(b) == self.batch_size] if self.drop_last else cut

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        n = len(self.lengths)
        pool = n if not self.shuffle else self.batch_size * self.pool_batches
        sizes = [min(pool, n - start) for start in range(0, n, max(pool, 1))]  # examples per pool
        if self.drop_last:
            return sum(size // self.batch_size for size in sizes)
        return sum(-(-size // self.batch_size) for size in sizes)


def padding_fraction(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """The share of padded positions when each batch is padded to its longest: pads / all cells."""
    total = real = 0
    for batch in batches:
        sizes = [lengths[i] for i in batch]
        total += max(sizes) * len(sizes)
        real += sum(sizes)
    return 0.0 if total == 0 else (total - real) / total
