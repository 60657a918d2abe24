"""Every documented attention-mask form gives the same result on both paths and as PyTorch; every other form is refused.

Forms (``seqlab.nn.masks``): ``MultiheadAttention`` and the Transformer layers read ``can_attend``
by its rank, (T, S), (B, T, S), (B, nh, T, S), any size 1 to broadcast, and take key padding
(B, S) as ``key_is_real``; ``scaled_dot_product_attention`` takes (T, S) or the scores' rank;
the one-head scores take (B, S) or (B, T, S). PyTorch's ``MultiheadAttention`` gets the same
masks in its own conventions (True = ignore, 3-D masks (B * nh, T, S)).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn import (
    AdditiveAttention,
    DotAttention,
    KVCache,
    MultiheadAttention,
    Transformer,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    masks,
    scaled_dot_product_attention,
)

F64 = {"atol": 1e-10, "rtol": 1e-9}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _pair(E: int, nh: int, kdim: int | None = None):
    theirs = nn.MultiheadAttention(E, nh, kdim=kdim, vdim=kdim, batch_first=True, dtype=torch.float64)
    ours = MultiheadAttention(E, nh, kdim=kdim, vdim=kdim, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _random_mask(shape, generator) -> torch.Tensor:
    """A random boolean mask whose first key is always allowed, so no query is left without keys."""
    mask = torch.rand(shape, generator=generator) > 0.5
    mask[..., 0] = True
    return mask


def _expanded(can_attend: torch.Tensor | None, key_is_real: torch.Tensor | None, B, nh, T, S) -> torch.Tensor:
    """What a mask means, written independently of seqlab: can_attend (B, nh, T, S) by rank."""
    full = torch.ones(B, nh, T, S, dtype=torch.bool)
    if can_attend is not None:
        by_rank = {2: lambda m: m[None, None], 3: lambda m: m[:, None], 4: lambda m: m}
        full = full & by_rank[can_attend.dim()](can_attend)
    if key_is_real is not None:
        full = full & key_is_real[:, None, None, :]
    return full


# -- accepted forms: ours, fused and unfused, equal PyTorch's module given the same masks ---------------
B, NH, T, S = 2, 2, 3, 5  # B == nh: the case a (B, T, S) mask used to be read as (nh, T, S)
FORMS = {
    # name: (can_attend shape or None, with key_is_real, PyTorch's arguments from (can_attend, key_is_real))
    "(T, S)": ((T, S), False, lambda c, k: {"attn_mask": ~c}),
    "(B, S) key_is_real": (None, True, lambda c, k: {"key_padding_mask": ~k}),
    "(B, T, S)": ((B, T, S), False, lambda c, k: {"attn_mask": (~c).repeat_interleave(NH, dim=0)}),
    "(B, nh, T, S)": ((B, NH, T, S), False, lambda c, k: {"attn_mask": (~c).flatten(0, 1)}),
    "(B, 1, 1, S) models' key padding": ((B, 1, 1, S), False, lambda c, k: {"key_padding_mask": ~c[:, 0, 0]}),
    "(T, S) and key_is_real": ((T, S), True, lambda c, k: {"attn_mask": ~c, "key_padding_mask": ~k}),
    "(B, 1, S) broadcast over queries": (
        (B, 1, S), False, lambda c, k: {"attn_mask": (~c).expand(B, T, S).repeat_interleave(NH, dim=0)}),
    "(1, nh, T, S) broadcast over sequences": (
        (1, NH, T, S), False, lambda c, k: {"attn_mask": (~c).expand(B, NH, T, S).flatten(0, 1)}),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_accepted_form_matches_torch_on_both_paths(form):
    shape, with_padding, torch_arguments = FORMS[form]
    generator = torch.Generator().manual_seed(len(form))
    ours, theirs = _pair(8, NH, kdim=6)
    query = torch.randn(B, T, 8, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(B, S, 6, dtype=torch.float64, requires_grad=True)
    can = None if shape is None else _random_mask(shape, generator)
    is_real = masks.lengths_to_mask(torch.tensor([S, 2]), S) if with_padding else None

    unfused, weights = ours(query, memory, memory, can_attend=can, key_is_real=is_real, average_attn_weights=False)
    fused, none = ours(query, memory, memory, can_attend=can, key_is_real=is_real, need_weights=False)
    reference, reference_weights = theirs(query, memory, memory, average_attn_weights=False,
                                          **torch_arguments(can, is_real))
    assert none is None
    torch.testing.assert_close(unfused, reference, **F64)
    torch.testing.assert_close(fused, reference, **F64)
    torch.testing.assert_close(weights, reference_weights, **F64)
    assert weights[~_expanded(can, is_real, B, NH, T, S)].eq(0).all()

    g = torch.randn_like(reference)
    names = [name for name, _ in ours.named_parameters()]
    theirs_parameters = dict(theirs.named_parameters())
    inputs = [query, memory, *ours.parameters()]
    reference_grads = torch.autograd.grad(reference, [query, memory, *(theirs_parameters[n] for n in names)], g)
    for path in (unfused, fused):
        for mine, theirs_grad in zip(torch.autograd.grad(path, inputs, g, retain_graph=True), reference_grads):
            torch.testing.assert_close(mine, theirs_grad, **F64)


@pytest.mark.parametrize("need_weights", [True, False])
def test_a_batch_mask_is_per_sequence_even_when_B_equals_the_heads(need_weights):
    """(B, T, S) with B == nh: each sequence gets its own mask, as when it is run alone."""
    ours, _ = _pair(8, 2)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    can = torch.ones(2, 4, 4, dtype=torch.bool)
    can[0, :, 1:] = False  # sequence 0 sees only key 0; sequence 1 sees everything
    together, _ = ours(x, x, x, can_attend=can, need_weights=need_weights)
    for b in range(2):
        alone, _ = ours(x[b:b + 1], x[b:b + 1], x[b:b + 1], can_attend=can[b], need_weights=need_weights)
        torch.testing.assert_close(together[b:b + 1], alone, **F64)
    assert not torch.allclose(together[0], together[1])


def test_a_query_without_keys_gets_a_zero_context_on_both_paths():
    ours, _ = _pair(8, 2)
    nn.init.zeros_(ours.out_proj.bias)
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    can = torch.ones(2, 2, 3, 3, dtype=torch.bool)
    can[1, :, 2] = False  # sequence 1, query 2: no key in either head
    for need_weights in (True, False):
        out, _ = ours(x, x, x, can_attend=can, need_weights=need_weights)
        assert out[1, 2].eq(0).all() and torch.isfinite(out).all()


def test_a_cache_counts_its_keys_in_S():
    ours, _ = _pair(8, 2)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    cache = KVCache()
    ours(x[:, :3], x[:, :3], x[:, :3], can_attend=masks.causal_mask(3), cache=cache)
    step = x[:, 3:4]
    out, _ = ours(step, step, step, can_attend=masks.causal_mask(1, 4), cache=cache)  # (T, S) = (1, 4)
    full, _ = ours(x[:, :4], x[:, :4], x[:, :4], can_attend=masks.causal_mask(4))
    torch.testing.assert_close(out, full[:, 3:4], **F64)
    with pytest.raises(SeqlabError, match=r"can_attend: .* \(T, S\) = \(1, 5\).* got shape \(1, 4\)"):
        ours(x[:, 4:5], x[:, 4:5], x[:, 4:5], can_attend=torch.ones(1, 4, dtype=torch.bool), cache=cache)
    assert cache.length == 4  # a refused call leaves the cache as it was


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_is_causal_is_the_causal_mask_on_both_paths_and_with_a_cache(fused, with_padding):
    ours, _ = _pair(8, 2)
    ours.fused = fused
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    key_is_real = torch.tensor([[True] * 5, [True] * 4 + [False]]) if with_padding else None
    explicit, _ = ours(x, x, x, can_attend=masks.causal_mask(5), key_is_real=key_is_real, need_weights=False)
    causal, _ = ours(x, x, x, is_causal=True, key_is_real=key_is_real, need_weights=False)
    torch.testing.assert_close(causal, explicit, **F64)
    _, weights = ours(x, x, x, is_causal=True, need_weights=True)
    assert torch.all(weights.triu(1) == 0)  # no query looks ahead
    # a prompt of 3 then one token at a time through a cache: each step sees exactly its own past
    cache = KVCache()
    steps = [ours(x[:, :3], x[:, :3], x[:, :3], is_causal=True, cache=cache, need_weights=False)[0]]
    for t in (3, 4):
        step = x[:, t:t + 1]
        steps.append(ours(step, step, step, is_causal=True, cache=cache, need_weights=False)[0])
    full, _ = ours(x, x, x, can_attend=masks.causal_mask(5), need_weights=False)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, **F64)
    # two queries after a cached past: the (T, S) causal mask aligned with the last positions
    cache = KVCache()
    ours(x[:, :3], x[:, :3], x[:, :3], is_causal=True, cache=cache, need_weights=False)
    pair, _ = ours(x[:, 3:5], x[:, 3:5], x[:, 3:5], is_causal=True, cache=cache, need_weights=False)
    torch.testing.assert_close(pair, full[:, 3:5], **F64)


def test_gpt_uses_the_causal_kernel_and_sees_no_future():
    from seqlab.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.0)).double().eval()
    ids = torch.randint(0, 11, (2, 8))
    changed = ids.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    logits, changed_logits = model(ids), model(changed)
    torch.testing.assert_close(logits[:, :5], changed_logits[:, :5], **F64)  # the past does not see the future
    assert not torch.allclose(logits[:, 5:], changed_logits[:, 5:])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.sampled_from([1, 2, 4]), st.integers(1, 4), st.integers(1, 5),
       st.sampled_from(["TS", "BTS", "BHTS"]), st.lists(st.booleans(), min_size=4, max_size=4),
       st.booleans(), st.integers(0, 2**16))
def test_fused_and_unfused_agree_on_random_forms(B, nh, T, S, rank_form, broadcast, with_padding, seed):
    """Property: for any accepted form (sizes randomly 1), both paths agree, with each other, with the
    mask's meaning computed independently, and with PyTorch on the queries that have a key."""
    generator = torch.Generator().manual_seed(seed)
    E = 4 * nh
    ours, theirs = _pair(E, nh)
    full_shape = {"TS": (T, S), "BTS": (B, T, S), "BHTS": (B, nh, T, S)}[rank_form]
    shape = tuple(1 if flag else size for size, flag in zip(full_shape, broadcast))
    can = torch.rand(shape, generator=generator) > 0.4  # rows may lose every key
    is_real = torch.rand(B, S, generator=generator) > 0.3 if with_padding else None
    query = torch.randn(B, T, E, dtype=torch.float64, generator=generator)
    memory = torch.randn(B, S, E, dtype=torch.float64, generator=generator)

    unfused, weights = ours(query, memory, memory, can_attend=can, key_is_real=is_real, average_attn_weights=False)
    fused, _ = ours(query, memory, memory, can_attend=can, key_is_real=is_real, need_weights=False)
    torch.testing.assert_close(fused, unfused, **F64)

    meaning = _expanded(can, is_real, B, nh, T, S)  # (B, nh, T, S)
    assert weights[~meaning].eq(0).all()
    has_key = meaning.any(-1)  # (B, nh, T)
    torch.testing.assert_close(weights.sum(-1)[has_key], torch.ones(int(has_key.sum()), dtype=torch.float64), **F64)

    reference, _ = theirs(query, memory, memory, attn_mask=(~meaning).flatten(0, 1))  # (B * nh, T, S)
    comparable = has_key.all(1)  # (B, T): every head of the query has a key (PyTorch gives NaN otherwise)
    torch.testing.assert_close(unfused[comparable], reference[comparable], **F64)


# -- refused forms: one line naming the mask, what came and what was expected --------------------------
def _mha_call(**masks_given):
    ours, _ = _pair(8, 2)
    x, memory = torch.randn(2, 3, 8, dtype=torch.float64), torch.randn(2, 5, 8, dtype=torch.float64)
    return lambda need_weights: ours(x, memory, memory, need_weights=need_weights, **masks_given)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize(("given", "message"), [
    ({"can_attend": torch.ones(3, 5, dtype=torch.float64)},
     r"^can_attend: expected a boolean mask \(True = attend\), got dtype torch.float64; a float mask is ambiguous"),
    ({"can_attend": torch.zeros(3, 5)}, r"got dtype torch.float32; .*mask.bool\(\).*from_additive"),
    ({"can_attend": torch.ones(3, 5, dtype=torch.long)}, r"^can_attend: .* got dtype torch.int64$"),
    ({"can_attend": [[True] * 5] * 3}, r"^can_attend: expected a boolean tensor \(True = attend\), got list$"),
    ({"can_attend": torch.ones(5, dtype=torch.bool)},
     r"^can_attend: expected a boolean mask of shape \(T, S\) = \(3, 5\), \(B, T, S\) = \(2, 3, 5\) or "
     r"\(B, nh, T, S\) = \(2, 2, 3, 5\) \(a size may be 1\), got shape \(5,\)$"),
    ({"can_attend": torch.ones(1, 2, 2, 3, 5, dtype=torch.bool)}, r"got shape \(1, 2, 2, 3, 5\)$"),
    ({"can_attend": torch.ones(4, 3, 5, dtype=torch.bool)},
     r"got shape \(4, 3, 5\); PyTorch's \(B \* nh, T, S\) layout is \(B, nh, T, S\) here"),
    ({"can_attend": torch.ones(2, 5, dtype=torch.bool)},
     r"got shape \(2, 5\); key padding \(B, S\) goes in key_is_real"),
    ({"can_attend": torch.ones(3, 4, dtype=torch.bool)}, r"\(T, S\) = \(3, 5\).* got shape \(3, 4\)$"),
    ({"can_attend": torch.ones(2, 3, 3, 5, dtype=torch.bool)}, r"\(B, nh, T, S\) = \(2, 2, 3, 5\).* got shape"),
    ({"can_attend": torch.ones(3, 5, dtype=torch.bool, device="meta")},
     r"^can_attend: expected a mask on cpu \(the query's device\), got one on meta$"),
    ({"key_is_real": torch.ones(2, 4, dtype=torch.bool)},
     r"^key_is_real: expected a boolean key mask of shape \(B, S\) = \(2, 5\), got shape \(2, 4\)$"),
    ({"key_is_real": torch.ones(5, dtype=torch.bool)}, r"^key_is_real: .* got shape \(5,\)$"),
    ({"key_is_real": torch.ones(2, 5)}, r"^key_is_real: expected a boolean mask .* got dtype torch.float32"),
])
def test_multihead_refuses_every_other_form(given, message, need_weights):
    call = _mha_call(**given)
    with pytest.raises(SeqlabError, match=message):
        call(need_weights)


def test_a_nh_mask_is_refused_when_B_differs_from_nh():
    """(nh, T, S), which PyTorch's kernel would broadcast over the batch, is not a documented form."""
    ours, _ = _pair(8, 2)
    x = torch.randn(3, 4, 8, dtype=torch.float64)
    with pytest.raises(SeqlabError, match=r"\(B, T, S\) = \(3, 4, 4\).* got shape \(2, 4, 4\)"):
        ours(x, x, x, can_attend=torch.ones(2, 4, 4, dtype=torch.bool), need_weights=False)


# -- the Transformer layers pass the same forms through -------------------------------------------------
def _load(ours, theirs):
    result = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("need_weights", [False, True])
def test_encoder_layer_masks_match_torch(need_weights):
    theirs = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=torch.float64)
    ours = TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64)
    _load(ours, theirs)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    is_real = masks.lengths_to_mask(torch.tensor([5, 3]), 5)
    per_sequence = _random_mask((2, 5, 5), generator)  # (B, T, S) with B == nh
    out = ours(x, per_sequence, key_is_real=is_real, need_weights=need_weights)
    out = out[0] if need_weights else out
    reference = theirs(x, src_mask=(~per_sequence).repeat_interleave(2, dim=0),
                       src_key_padding_mask=~is_real)
    torch.testing.assert_close(out, reference, **F64)


def test_decoder_layer_and_transformer_key_padding_match_torch():
    dtype = torch.float64
    theirs = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=dtype)
    ours = TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=dtype)
    _load(ours, theirs)
    tgt, memory = torch.randn(2, 4, 8, dtype=dtype), torch.randn(2, 6, 8, dtype=dtype)
    tgt_real = masks.lengths_to_mask(torch.tensor([4, 3]), 4)
    memory_real = masks.lengths_to_mask(torch.tensor([6, 2]), 6)
    causal = masks.causal_mask(4)
    out = ours(tgt, memory, causal, tgt_key_is_real=tgt_real, memory_key_is_real=memory_real)
    reference = theirs(tgt, memory, tgt_mask=~causal, tgt_key_padding_mask=~tgt_real,
                       memory_key_padding_mask=~memory_real)
    torch.testing.assert_close(out, reference, **F64)

    theirs_model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True, dtype=dtype)
    ours_model = Transformer(8, 2, 1, 1, 16, dropout=0.0, dtype=dtype)
    _load(ours_model, theirs_model)
    out = ours_model(memory, tgt, tgt_can_attend=causal, src_key_is_real=memory_real, tgt_key_is_real=tgt_real,
                     memory_key_is_real=memory_real)
    reference = theirs_model(memory, tgt, tgt_mask=~causal, src_key_padding_mask=~memory_real,
                             tgt_key_padding_mask=~tgt_real, memory_key_padding_mask=~memory_real)
    torch.testing.assert_close(out, reference, **F64)


def test_transformer_layers_refuse_a_float_mask():
    layer = TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    with pytest.raises(SeqlabError, match="can_attend: expected a boolean mask"):
        layer(torch.randn(2, 3, 8), masks.to_additive(masks.causal_mask(3)))


# -- scaled_dot_product_attention: (T, S) or the scores' rank ------------------------------------------
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5), (2, 1, 4, 5), (1, 3, 1, 5), (2, 1, 1, 5)])
def test_functional_accepts_T_S_and_full_rank_as_torch_does(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    q = torch.randn(2, 3, 4, 6, dtype=torch.float64, generator=generator)
    k, v = (torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=generator) for _ in range(2))
    can = _random_mask(shape, generator)
    ours, _ = scaled_dot_product_attention(q, k, v, can)
    torch.testing.assert_close(ours, nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=can), **F64)
    bias = torch.randn(shape, dtype=torch.float64, generator=generator)
    with_bias, _ = scaled_dot_product_attention(q, k, v, bias=bias)
    torch.testing.assert_close(with_bias, nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias), **F64)


@pytest.mark.parametrize(("call", "message"), [
    (lambda q, k, v: scaled_dot_product_attention(q, k, v, torch.ones(2, 4, 5, dtype=torch.bool)),
     r"^can_attend: expected shape \(T, S\) = \(4, 5\) or the scores' shape = \(2, 3, 4, 5\) \(a size may be 1\), "
     r"got shape \(2, 4, 5\)$"),
    (lambda q, k, v: scaled_dot_product_attention(q, k, v, torch.ones(4, 5)),
     r"^can_attend: .* got dtype torch.float32"),
    (lambda q, k, v: scaled_dot_product_attention(q, k, v, bias=torch.ones(4, 5, dtype=torch.bool)),
     r"^bias: expected a floating-point tensor added to the scores, got dtype torch.bool$"),
    (lambda q, k, v: scaled_dot_product_attention(q, k, v, bias=torch.ones(4, 6, dtype=torch.float64)),
     r"^bias: expected shape .* got shape \(4, 6\)$"),
    (lambda q, k, v: scaled_dot_product_attention(q, k[..., :5], v),
     r"^query and key: expected the same width hd in the last dimension, got query \(2, 3, 4, 6\), key \(2, 3, 5, 5\)"),
    (lambda q, k, v: scaled_dot_product_attention(q, k, v[..., :4, :]), r"^key and value: expected the same number"),
    (lambda q, k, v: scaled_dot_product_attention(q, k.float(), v), r"^query, key and value: expected one dtype"),
    (lambda q, k, v: scaled_dot_product_attention(q[:1].expand(3, 3, 4, 6), k, v),
     r"^query, key and value: expected leading dimensions that broadcast"),
    (lambda q, k, v: scaled_dot_product_attention(q, k, v, dropout_p=1.5), r"^dropout_p: expected a probability"),
])
def test_functional_refuses_other_forms(call, message):
    q = torch.randn(2, 3, 4, 6, dtype=torch.float64)
    k, v = torch.randn(2, 3, 5, 6, dtype=torch.float64), torch.randn(2, 3, 5, 6, dtype=torch.float64)
    with pytest.raises(SeqlabError, match=message):
        call(q, k, v)


# -- the one-head scores: (B, S) key padding or (B, T, S) -------------------------------------------------
def test_one_head_scores_read_B_S_and_B_T_S_alike():
    attention = DotAttention()
    q, keys = torch.randn(3, 2, 4, dtype=torch.float64), torch.randn(3, 5, 4, dtype=torch.float64)
    is_real = masks.lengths_to_mask(torch.tensor([5, 3, 1]), 5)  # (B, S), B == 3 == ... any T
    by_padding, weights = attention(q, keys, can_attend=is_real)
    by_full, _ = attention(q, keys, can_attend=is_real[:, None, :].expand(3, 2, 5))
    torch.testing.assert_close(by_padding, by_full, **F64)
    assert weights[~is_real[:, None, :].expand(3, 2, 5)].eq(0).all()


@pytest.mark.parametrize(("call", "message"), [
    (lambda a, q, k: a(q, k, can_attend=torch.ones(3, 5)), r"^can_attend: expected a boolean mask .* torch.float32"),
    (lambda a, q, k: a(q, k, can_attend=torch.ones(3, 1, 2, 5, dtype=torch.bool)),
     r"^can_attend: expected a boolean mask of shape \(B, S\) = \(3, 5\) or \(B, T, S\) = \(3, 2, 5\) "
     r"\(a size may be 1\), got shape \(3, 1, 2, 5\)$"),
    (lambda a, q, k: a(q, k, can_attend=torch.ones(3, 4, dtype=torch.bool)), r"got shape \(3, 4\)$"),
    (lambda a, q, k: a(q[..., :3], k), r"^query: expected 4 features in the last dimension, got shape \(3, 2, 3\)$"),
    (lambda a, q, k: a(q, k[:2]), r"^query, keys, values: expected .* with one B and S"),
    (lambda a, q, k: a(q[0, 0], k), r"^query: expected \(B, T, Dq\) or one step \(B, Dq\)"),
    (lambda a, q, k: a(q, k, projected_key=k), r"^AdditiveAttention: unknown option 'projected_key' "
                                               r"\(did you mean 'projected_keys'\?\); known options: projected_keys$"),
    (lambda a, q, k: a(q, k, projected_keys=k), r"^projected_keys: expected project_keys\(keys\) of shape"),
])
def test_one_head_scores_refuse_other_forms(call, message):
    attention = AdditiveAttention(4, 4, 6).double()
    q, keys = torch.randn(3, 2, 4, dtype=torch.float64), torch.randn(3, 5, 4, dtype=torch.float64)
    with pytest.raises(SeqlabError, match=message):
        call(attention, q, keys)


def test_dot_score_needs_one_width():
    with pytest.raises(SeqlabError, match=r"^query and keys: expected the same width for a dot score"):
        DotAttention()(torch.randn(2, 3), torch.randn(2, 4, 5))
