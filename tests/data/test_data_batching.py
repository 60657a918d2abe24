"""Datasets, collation and padding: shapes, masks, shifts, and properties over random batches."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pad_packed_sequence

from seqlab.data import (
    IGNORE_INDEX,
    ClassificationData,
    LanguageModelData,
    ParallelData,
    TaggingData,
    collate_classification,
    collate_language_model,
    collate_parallel,
    collate_tagging,
    pad_sequences,
    unpad,
)
from seqlab.errors import SeqlabError

_ids = st.lists(st.integers(1, 50), min_size=1, max_size=12)


@given(st.lists(_ids, min_size=1, max_size=8), st.integers(-3, 0))
def test_pad_sequences_properties(sequences, pad_id):
    tensors = [torch.tensor(s) for s in sequences]
    padded, lengths, is_pad = pad_sequences(tensors, pad_id)
    assert padded.shape == (len(sequences), max(map(len, sequences)))
    assert lengths.tolist() == [len(s) for s in sequences]
    assert torch.equal(is_pad.sum(1), padded.shape[1] - lengths)  # the mask counts exactly the pads
    assert bool((padded[is_pad] == pad_id).all())
    assert [u.tolist() for u in unpad(padded, lengths)] == sequences  # real ids come back unchanged


@given(st.lists(_ids, min_size=1, max_size=6))
def test_tagging_collate_pads_targets_with_ignore_index(sequences):
    examples = [(torch.tensor(s), torch.tensor(s) % 3) for s in sequences]
    batch = collate_tagging(examples, pad_id=0)
    assert torch.equal(batch.targets == IGNORE_INDEX, batch.is_pad)
    assert torch.equal(batch.can_attend, ~batch.is_pad)
    loss = torch.nn.functional.cross_entropy(torch.zeros(*batch.targets.shape, 3).transpose(1, 2), batch.targets,
                                             reduction="sum")
    assert loss.item() == pytest.approx(sum(map(len, sequences)) * torch.log(torch.tensor(3.0)).item(), rel=1e-6)


@given(st.lists(st.integers(0, 9), min_size=2, max_size=60), st.integers(1, 8))
def test_language_model_blocks_shift_by_one(stream, T):
    if len(stream) < T + 1:
        with pytest.raises(SeqlabError, match="block_size"):
            LanguageModelData(stream, T)
        return
    data = LanguageModelData(stream, T)
    assert len(data) == (len(stream) - 1) // T
    predicted = []
    for i in range(len(data)):
        x, y = data[i]
        assert x.shape == y.shape == (T,)
        assert x.tolist() == stream[i * T : i * T + T]
        assert y.tolist() == stream[i * T + 1 : i * T + T + 1]  # targets[t] is the token after inputs[t]
        predicted += y.tolist()
    assert predicted == stream[1 : 1 + len(data) * T]  # every id but the first predicted once
    batch = collate_language_model([data[i] for i in range(len(data))])
    assert batch.inputs.shape == batch.targets.shape == (len(data), T)
    assert not batch.is_pad.any()
    with pytest.raises(IndexError):
        data[len(data)]


def test_classification_and_parallel_collate():
    data = ClassificationData([[4, 5, 6], [7]], [1, 0])
    batch = collate_classification([data[0], data[1]], pad_id=9)
    assert batch.inputs.tolist() == [[4, 5, 6], [7, 9, 9]]
    assert batch.targets.tolist() == [1, 0]
    assert batch.is_pad.tolist() == [[False] * 3, [False, True, True]]
    pairs = ParallelData([[1, 2], [3, 4, 5]], [[6], [7, 8, 9, 10]])
    batch = collate_parallel([pairs[0], pairs[1]], pad_id=0)
    assert batch.inputs.shape == (2, 3) and batch.targets.shape == (2, 4)
    assert batch.target_lengths.tolist() == [1, 4]
    assert batch.target_is_pad.sum().item() == 3
    assert pairs.lengths() == [2, 4]
    moved = batch.to("cpu")
    assert torch.equal(moved.targets, batch.targets)


def test_pack_round_trips_unsorted_lengths():
    examples = [(torch.tensor([1, 2]), torch.tensor(0)), (torch.tensor([3, 4, 5]), torch.tensor(1))]
    batch = collate_classification(examples)
    embedded = torch.nn.Embedding(6, 4)(batch.inputs)  # (B, T, E)
    padded, lengths = pad_packed_sequence(batch.pack(embedded), batch_first=True)
    assert torch.equal(lengths, batch.lengths)
    assert torch.equal(padded[~batch.is_pad], embedded[~batch.is_pad])


def test_bad_datasets_name_the_problem():
    with pytest.raises(SeqlabError, match="labels"):
        ClassificationData([[1], [2]], [0])
    with pytest.raises(SeqlabError, match=r"tags\[0\]"):
        TaggingData([[1, 2]], [[0]])
    with pytest.raises(SeqlabError, match="1-D"):
        ClassificationData([[[1]]], [0])
    with pytest.raises(SeqlabError, match="at least one"):
        pad_sequences([])
