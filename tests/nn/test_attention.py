"""Attention scores, masks and multi-head attention against PyTorch (float64 and float32)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    KVCache,
    MultiheadAttention,
    ScaledDotProductAttention,
    masks,
    scaled_dot_product_attention,
)

TOL = {torch.float64: {"atol": 1e-10, "rtol": 1e-9}, torch.float32: {"atol": 1e-5, "rtol": 1e-4}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- masks: one convention, converters tested both ways ------------------------------------------
def test_causal_mask_is_lower_triangular_and_offsets_with_a_cache():
    assert torch.equal(masks.causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    # two queries after three cached positions see 4 and 5 keys
    assert masks.causal_mask(2, 5).sum(-1).tolist() == [4, 5]
    with pytest.raises(SeqlabError, match="S >= T"):
        masks.causal_mask(3, 2)


def test_lengths_to_mask_and_errors():
    assert masks.lengths_to_mask(torch.tensor([2, 0, 3]), 4).tolist() == [
        [True, True, False, False], [False, False, False, False], [True, True, True, False]]
    with pytest.raises(SeqlabError, match="lengths"):
        masks.lengths_to_mask(torch.tensor([5]), 4)


def test_torch_conventions_round_trip():
    can = torch.rand(3, 4, 5) > 0.4
    assert torch.equal(masks.from_torch_ignore(masks.to_torch_ignore(can)), can)
    assert torch.equal(masks.from_torch_sdpa(masks.to_torch_sdpa(can)), can)
    assert torch.equal(masks.from_additive(masks.to_additive(can)), can)
    assert torch.equal(masks.to_torch_ignore(can), ~can)
    additive = masks.to_additive(can, torch.float64)
    assert additive[can].eq(0).all() and additive[~can].eq(float("-inf")).all()
    with pytest.raises(SeqlabError, match="boolean"):
        masks.to_torch_ignore(can.float())


def test_converted_masks_drive_torch_kernels_like_ours():
    """Our can_attend, converted to each of PyTorch's conventions, masks the same keys."""
    q, k, v = (torch.randn(2, 1, 4, 6, dtype=torch.float64) for _ in range(3))
    lengths = torch.tensor([3, 2])
    can = masks.key_padding(masks.lengths_to_mask(lengths, 4))  # (B, 1, 1, S)
    ours, _ = scaled_dot_product_attention(q, k, v, can)
    via_sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=masks.to_torch_sdpa(can))
    via_additive = F.scaled_dot_product_attention(q, k, v, attn_mask=masks.to_additive(can, torch.float64))
    torch.testing.assert_close(ours, via_sdpa, **TOL[torch.float64])
    torch.testing.assert_close(ours, via_additive, **TOL[torch.float64])

    mha = nn.MultiheadAttention(6, 1, batch_first=True, dtype=torch.float64)
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    ignore = masks.to_torch_ignore(masks.lengths_to_mask(lengths, 4))  # key_padding_mask (B, S)
    theirs, _ = mha(x, x, x, key_padding_mask=ignore)
    mine = MultiheadAttention(6, 1, dtype=torch.float64)
    mine.load_state_dict(mha.state_dict())
    torch.testing.assert_close(mine(x, x, x, can_attend=can)[0], theirs, **TOL[torch.float64])


# -- scaled dot-product ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_scaled_dot_product_matches_torch(dtype):
    q = torch.randn(2, 3, 5, 8, dtype=dtype, requires_grad=True)
    k = torch.randn(2, 3, 7, 8, dtype=dtype, requires_grad=True)
    v = torch.randn(2, 3, 7, 4, dtype=dtype, requires_grad=True)
    can = torch.rand(2, 1, 5, 7) > 0.3
    can[0, 0, 1] = False  # a query with nothing to look at
    ours, weights = scaled_dot_product_attention(q, k, v, can)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=can)
    torch.testing.assert_close(ours, theirs, **TOL[dtype])
    assert weights[0, :, 1].eq(0).all()
    torch.testing.assert_close(weights.sum(-1)[can.any(-1).expand(2, 3, 5)],
                               torch.ones(2, 3, 5, dtype=dtype)[can.any(-1).expand(2, 3, 5)], **TOL[dtype])
    grads = torch.autograd.grad(ours.square().sum(), (q, k, v))
    torch_grads = torch.autograd.grad(theirs.square().sum(), (q, k, v))
    for g, tg in zip(grads, torch_grads):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, tg, **TOL[dtype])


def test_causal_attention_never_looks_ahead():
    x = torch.randn(1, 6, 4, dtype=torch.float64)
    out, _ = scaled_dot_product_attention(x, x, x, masks.causal_mask(6))
    changed = x.clone()
    changed[0, 4] += 10.0
    out2, _ = scaled_dot_product_attention(changed, changed, changed, masks.causal_mask(6))
    torch.testing.assert_close(out[0, :4], out2[0, :4], atol=0, rtol=0)
    assert not torch.allclose(out[0, 4:], out2[0, 4:])


# -- scores PyTorch lacks: gradcheck and hand computation -------------------------------------------
def test_additive_attention_equals_its_equation_and_gradchecks():
    attn = AdditiveAttention(3, 4, 5).double()
    s = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    can = masks.lengths_to_mask(torch.tensor([6, 4]), 6)
    context, weights = attn(s, h, can_attend=can)
    # by hand: e_j = v^T tanh(W s + U h_j)
    W, b, U, v = attn.query_proj.weight, attn.query_proj.bias, attn.key_proj.weight, attn.v.weight[0]
    for batch in range(2):
        e = torch.stack([v @ torch.tanh(W @ s[batch] + b + U @ h[batch, j]) for j in range(6)])
        e = e.masked_fill(~can[batch], float("-inf"))
        alpha = e.softmax(0)
        torch.testing.assert_close(weights[batch], alpha)
        torch.testing.assert_close(context[batch], alpha @ h[batch])
    assert weights[1, 4:].eq(0).all()
    projected = attn.project_keys(h)
    torch.testing.assert_close(attn(s, h, can_attend=can, projected_keys=projected)[0], context)
    assert torch.autograd.gradcheck(lambda s_, h_: attn(s_, h_, can_attend=can)[0], (s, h))


@pytest.mark.parametrize("kind", ["dot", "general", "scaled"])
def test_luong_scores_by_hand_and_gradcheck(kind):
    torch.manual_seed(1)
    attn = {"dot": DotAttention(), "general": GeneralAttention(4, 4), "scaled": ScaledDotProductAttention()}[kind]
    attn = attn.double()
    s = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    context, weights = attn(s, h)
    W = attn.weight if kind == "general" else torch.eye(4, dtype=torch.float64)
    scale = 0.5 if kind == "scaled" else 1.0
    expected = (s @ W @ h.transpose(1, 2) * scale).softmax(-1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(context, expected @ h)
    assert torch.autograd.gradcheck(lambda s_, h_: attn(s_, h_)[0], (s, h))


# -- multi-head ------------------------------------------------------------------------------------
def _pair(E=8, nh=2, kdim=None, vdim=None, bias=True, dtype=torch.float64):
    theirs = nn.MultiheadAttention(E, nh, bias=bias, kdim=kdim, vdim=vdim, batch_first=True, dtype=dtype)
    ours = MultiheadAttention(E, nh, bias=bias, kdim=kdim, vdim=vdim, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("kdim", "bias", "average"), [(None, True, True), (None, False, False), (6, True, False)])
def test_multihead_matches_torch(dtype, kdim, bias, average):
    ours, theirs = _pair(kdim=kdim, vdim=kdim, bias=bias, dtype=dtype)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    q = torch.randn(3, 5, 8, dtype=dtype)
    kv = torch.randn(3, 7, kdim or 8, dtype=dtype)
    lengths = torch.tensor([7, 3, 5])
    is_real = masks.lengths_to_mask(lengths, 7)
    out, w = ours(q, kv, kv, can_attend=masks.key_padding(is_real), average_attn_weights=average)
    t_out, t_w = theirs(q, kv, kv, key_padding_mask=masks.to_torch_ignore(is_real), average_attn_weights=average)
    torch.testing.assert_close(out, t_out, **TOL[dtype])
    torch.testing.assert_close(w, t_w, **TOL[dtype])
    out.square().sum().backward()
    t_out.square().sum().backward()
    their_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, their_grads[name].grad, **TOL[dtype])


def test_multihead_fused_path_equals_weights_path_and_causal_mask_matches_torch():
    ours, theirs = _pair()
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    causal = masks.causal_mask(6)
    fused, none = ours(x, x, x, can_attend=causal, need_weights=False)
    explicit, _ = ours(x, x, x, can_attend=causal, need_weights=True)
    assert none is None
    torch.testing.assert_close(fused, explicit, **TOL[torch.float64])
    t_out, _ = theirs(x, x, x, attn_mask=masks.to_torch_ignore(causal))
    torch.testing.assert_close(explicit, t_out, **TOL[torch.float64])


def test_multihead_sequence_first_layout():
    theirs = nn.MultiheadAttention(8, 2, dtype=torch.float64)
    ours = MultiheadAttention(8, 2, batch_first=False, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 3, 8, dtype=torch.float64)  # (T, B, E)
    torch.testing.assert_close(ours(x, x, x)[0], theirs(x, x, x)[0], **TOL[torch.float64])


def test_kv_cache_gives_the_same_outputs_as_the_full_sequence():
    ours, _ = _pair()
    ours.rotary = None
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    full, _ = ours(x, x, x, can_attend=masks.causal_mask(5))
    cache = KVCache()
    steps = [ours(x[:, t:t + 1], x[:, t:t + 1], x[:, t:t + 1], cache=cache)[0] for t in range(5)]
    torch.testing.assert_close(torch.cat(steps, 1), full, **TOL[torch.float64])
    assert cache.length == 5
    reordered = cache.map_tensors(lambda t: t.flip(0))
    torch.testing.assert_close(reordered.key, cache.key.flip(0))


def test_multihead_rejects_bad_heads():
    with pytest.raises(SeqlabError, match="divisible"):
        MultiheadAttention(10, 3)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(1, 4))
def test_padding_keys_is_the_same_as_cutting_them_off(lengths, T):
    """Property: attending over a padded key set equals attending over each row's real keys alone."""
    generator = torch.Generator().manual_seed(sum(lengths) * 7 + T)
    B, S = len(lengths), max(lengths)
    q = torch.randn(B, 2, T, 4, dtype=torch.float64, generator=generator)
    k = torch.randn(B, 2, S, 4, dtype=torch.float64, generator=generator)
    v = torch.randn(B, 2, S, 3, dtype=torch.float64, generator=generator)
    is_real = masks.lengths_to_mask(torch.tensor(lengths), S)
    assert is_real.sum(-1).tolist() == lengths
    out, weights = scaled_dot_product_attention(q, k, v, masks.key_padding(is_real))
    for b, n in enumerate(lengths):
        alone, _ = scaled_dot_product_attention(q[b], k[b, :, :n], v[b, :, :n])
        torch.testing.assert_close(out[b], alone, atol=1e-12, rtol=0)
        assert weights[b, ..., n:].eq(0).all()
