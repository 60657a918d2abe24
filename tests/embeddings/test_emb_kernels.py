"""The compiled training loops compute the update of their PyTorch specification; the fallback trains alike."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.embeddings import (
    FastTextConfig,
    GloVeConfig,
    Word2VecConfig,
    _kernels,
    train_fasttext,
    train_glove,
    train_word2vec,
)
from seqlab.embeddings.glove_objective import glove_epoch_torch
from seqlab.embeddings.objective import Bags

TOLERANCE = {torch.float64: 1e-12, torch.float32: 2e-5}


@pytest.fixture(scope="module")
def compiled():
    loaded = _kernels.kernels()
    if not loaded.compiled:
        pytest.skip("no C++ compiler here: only the PyTorch steps run (tested below)")
    return loaded


@pytest.fixture
def pytorch_only():
    _kernels.use_compiled(False)
    yield
    _kernels.use_compiled(None)


def _bag_inputs(kind: str, B: int, V: int, g: torch.Generator):
    if kind == "one row":  # skip-gram: example b's input row is start[b]
        return torch.zeros(0, dtype=torch.long), torch.randint(0, V, (B,), generator=g), torch.ones(B, dtype=torch.long)
    table = torch.randint(0, V, (60,), generator=g)  # CBOW contexts / FastText subwords, repeats included
    length = torch.randint(1, 6, (B,), generator=g)
    return table, torch.randint(0, 55, (B,), generator=g), length


@given(B=st.integers(1, 40), M=st.integers(1, 9), E=st.integers(1, 37), kind=st.sampled_from(["one row", "bags"]),
       exact=st.booleans(), dtype=st.sampled_from([torch.float64, torch.float32]), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_sgd_step_equals_the_pytorch_step(compiled, B, M, E, kind, exact, dtype, seed):
    # E not a multiple of the SIMD width and B = 1 (one example at a time) included
    g = torch.Generator().manual_seed(seed)
    V = 12
    W_in, W_out = torch.randn(V, E, generator=g, dtype=dtype), torch.randn(V, E, generator=g, dtype=dtype)
    table, start, length = _bag_inputs(kind, B, V, g)
    out_rows = torch.randint(0, V, (B, M), generator=g)  # repeated rows within and across examples
    labels = (torch.rand(B, M, generator=g) < 0.4).to(dtype)
    mask = (torch.rand(B, M, generator=g) < 0.8).to(dtype)
    ours_in, ours_out = W_in.clone(), W_out.clone()
    loss = compiled.sgd_step(ours_in, ours_out, table, start, length, exact, out_rows, labels, mask, 0.3)
    expected = _kernels.sgd_step_torch(W_in, W_out, table, start, length, exact, out_rows, labels, mask, 0.3)
    tolerance = TOLERANCE[dtype]
    assert loss == pytest.approx(expected, rel=tolerance, abs=tolerance)
    torch.testing.assert_close(ours_in, W_in, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(ours_out, W_out, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["one row", "bags"])
def test_negative_sampling_step_equals_the_pytorch_step(compiled, dtype, kind):
    g = torch.Generator().manual_seed(3)
    V, E, B, k = 9, 21, 64, 5
    W_in, W_out = torch.randn(V, E, generator=g, dtype=dtype), torch.randn(V, E, generator=g, dtype=dtype)
    table, start, length = _bag_inputs(kind, B, V, g)
    target = torch.randint(0, V, (B,), generator=g)
    column, uniform = torch.randint(0, V, (B, k), generator=g), torch.rand(B, k, generator=g)
    accept, alias = torch.rand(V, generator=g), torch.randint(0, V, (V,), generator=g)
    noise = torch.where(uniform < accept[column], column, alias[column])
    assert bool((noise == target[:, None]).any())  # some noise words equal their target: they must be masked
    ours_in, ours_out = W_in.clone(), W_out.clone()
    loss = compiled.negative_sampling_step(ours_in, ours_out, table, start, length, False, target, column, uniform,
                                           accept, alias, 0.2)
    expected = _kernels.negative_sampling_step_torch(W_in, W_out, table, start, length, False, target, column,
                                                     uniform, accept, alias, 0.2)
    tolerance = TOLERANCE[dtype]
    assert loss == pytest.approx(expected, rel=tolerance)
    torch.testing.assert_close(ours_in, W_in, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(ours_out, W_out, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])  # per entry, ragged last batch, one batch
def test_glove_epoch_equals_the_pytorch_epoch(compiled, dtype, batch_size):
    g = torch.Generator().manual_seed(4)
    V, E, n = 10, 13, 150
    params = [torch.randn(V, E, generator=g, dtype=dtype) * 0.3, torch.randn(V, E, generator=g, dtype=dtype) * 0.3,
              torch.randn(V, generator=g, dtype=dtype), torch.randn(V, generator=g, dtype=dtype)]
    squares = [torch.rand_like(p) + 1 for p in params]
    rows, cols = torch.randint(0, V, (n,), generator=g), torch.randint(0, V, (n,), generator=g)  # repeats in a batch
    x = torch.rand(n, generator=g, dtype=dtype) * 200 + 0.1  # some above x_max
    order = torch.randperm(n, generator=g)[:120]  # an epoch may visit a subset, in any order
    ours = [t.clone() for t in params + squares]
    expected = [t.clone() for t in params + squares]
    loss = compiled.glove_epoch(*ours, rows, cols, x, order, batch_size, 0.05, 100.0, 0.75)
    reference = glove_epoch_torch(*expected, rows, cols, x, order, batch_size, 0.05, 100.0, 0.75)
    tolerance = TOLERANCE[dtype]
    assert loss == pytest.approx(reference, rel=tolerance)
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b, rtol=tolerance, atol=tolerance)


def test_bags_from_table_are_the_mean_of_the_table_rows():
    table = torch.tensor([4, 1, 1, 3, 0, 2])
    bags = Bags.from_table(table, torch.tensor([2, 0, 5]), torch.tensor([3, 1, 1]), exact=False)
    assert bags.rows.tolist() == [1, 3, 0, 4, 2]
    assert bags.bag.tolist() == [0, 0, 0, 1, 2]
    assert bags.offsets.tolist() == [0, 3, 4]
    torch.testing.assert_close(bags.weight, torch.tensor([1 / 3, 1 / 3, 1 / 3, 1, 1]))
    assert bags.update.tolist() == [1.0] * 5


def _train(trainer: str, corpus):
    if trainer == "glove":
        return train_glove(corpus, GloVeConfig(vector_size=8, window=3, min_count=1, epochs=2, batch_size=64))
    if trainer == "fasttext":
        return train_fasttext(corpus, FastTextConfig(vector_size=8, window=3, min_count=1, epochs=2, batch_size=64,
                                                     bucket=500, min_n=3, max_n=4))
    config = Word2VecConfig(architecture="cbow" if trainer == "cbow" else "skipgram", vector_size=8, window=3,
                            loss="hierarchical" if trainer == "hierarchical" else "negative", min_count=1, epochs=2,
                            batch_size=64)
    return train_word2vec(corpus, config)


@pytest.mark.parametrize("trainer", ["skipgram", "cbow", "hierarchical", "fasttext", "glove"])
def test_compiled_and_pytorch_training_agree(compiled, corpus, trainer):
    # same seed, same random draws, same update: the two paths differ only in the rounding of sums
    fast = _train(trainer, corpus)
    _kernels.use_compiled(False)
    try:
        reference = _train(trainer, corpus)
    finally:
        _kernels.use_compiled(None)
    assert fast.pairs == reference.pairs
    assert fast.epoch_losses == pytest.approx(reference.epoch_losses, rel=1e-4)
    torch.testing.assert_close(fast.vectors.vectors, reference.vectors.vectors, rtol=1e-3, atol=1e-4)


def test_pytorch_steps_train(pytorch_only, corpus, topic_margin):
    assert not _kernels.kernels().compiled
    result = train_word2vec(corpus, Word2VecConfig(vector_size=16, window=3, min_count=1, sample=0, epochs=5,
                                                   lr=0.05, batch_size=64, seed=3))
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert topic_margin(result.vectors) > 0.3


def test_build_switch_falls_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("SEQLAB_EMBEDDINGS_COMPILE", "0")
    assert _kernels._build() is False
    assert "SEQLAB_EMBEDDINGS_COMPILE=0" in caplog.text
    assert _kernels.Kernels(compiled=False).glove_epoch is glove_epoch_torch
