"""Pretrained vectors into an embedding layer: rows, coverage, padding, freezing."""

from __future__ import annotations

import torch

from seqlab.embeddings import KeyedVectors, embedding_matrix, pretrained_embedding


def test_matrix_rows_and_coverage():
    kv = KeyedVectors(["cat", "dog", "the"], torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]))
    tokens = ["<pad>", "the", "Cat", "emu", "dog", "<unk>"]
    weight, coverage = embedding_matrix(kv, tokens, padding_idx=0, seed=3)
    assert torch.equal(weight[0], torch.zeros(2))
    assert torch.equal(weight[1], kv["the"]) and torch.equal(weight[2], kv["cat"]) and torch.equal(weight[4], kv["dog"])
    assert (coverage.found, coverage.total, coverage.lowercased, coverage.missing) == (3, 5, 1, ["emu", "<unk>"])
    assert coverage.rate == 0.6
    assert bool((weight[[3, 5]] != 0).all())  # unknown tokens get random rows
    again, _ = embedding_matrix(kv, tokens, padding_idx=0, seed=3)
    assert torch.equal(weight, again)


def test_freeze_or_fine_tune():
    kv = KeyedVectors(["a", "b"], torch.randn(2, 4))
    frozen, _ = pretrained_embedding(kv, ["<pad>", "a", "b"], freeze=True, padding_idx=0)
    tuned, _ = pretrained_embedding(kv, ["<pad>", "a", "b"], freeze=False, padding_idx=0)
    assert not frozen.weight.requires_grad and tuned.weight.requires_grad
    tuned(torch.tensor([[0, 1, 2]])).sum().backward()
    assert torch.equal(tuned.weight.grad[0], torch.zeros(4))  # the padding row never learns
    assert torch.equal(frozen(torch.tensor([1])), kv["a"][None])
