"""The length-bucketing sampler: a permutation, seeded, and less padding than plain shuffling."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from seqlab.data import BucketBatchSampler, padding_fraction


@given(st.lists(st.integers(1, 40), min_size=1, max_size=80), st.integers(1, 9), st.integers(1, 4),
       st.booleans(), st.booleans(), st.integers(0, 3))
def test_every_index_once_and_sizes(lengths, batch_size, pool_batches, shuffle, drop_last, seed):
    sampler = BucketBatchSampler(lengths, batch_size, seed=seed, pool_batches=pool_batches,
                                 shuffle=shuffle, drop_last=drop_last)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    assert all(1 <= len(b) <= batch_size for b in batches)
    if drop_last:
        assert all(len(b) == batch_size for b in batches)
    else:
        assert sorted(flat) == list(range(len(lengths)))


def test_seeded_and_changes_with_epoch():
    lengths = torch.randint(1, 50, (200,)).tolist()
    a = BucketBatchSampler(lengths, 8, seed=3)
    b = BucketBatchSampler(lengths, 8, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(BucketBatchSampler(lengths, 8, seed=4)) != first


def test_bucketing_cuts_padding():
    lengths = torch.randint(1, 100, (1000,), generator=torch.Generator().manual_seed(0)).tolist()
    plain = padding_fraction(lengths, list(BucketBatchSampler(lengths, 16, seed=0, pool_batches=1)))
    bucketed = padding_fraction(lengths, list(BucketBatchSampler(lengths, 16, seed=0, pool_batches=50)))
    assert plain > 0.4  # uniform lengths padded to the max of 16 lose about half the cells
    assert bucketed < 0.05
    in_order = list(BucketBatchSampler(lengths, 16, shuffle=False))
    assert [lengths[i] for b in in_order for i in b] == sorted(lengths)
