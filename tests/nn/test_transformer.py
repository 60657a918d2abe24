"""LayerNorm, positional encodings and Transformer blocks against PyTorch; gradcheck for RoPE."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqlab.nn import (
    LayerNorm,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    Transformer,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    masks,
)
from seqlab.nn.layer_norm import RMSNorm
from seqlab.nn.positional import RelativePositionBias, apply_rotary, relative_position_bucket, rotary_angles

TOL = {torch.float64: {"atol": 1e-10, "rtol": 1e-9}, torch.float32: {"atol": 2e-5, "rtol": 1e-4}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [8, (3, 8)])
def test_layer_norm_equals_torch(dtype, shape, fused):
    theirs = nn.LayerNorm(shape, eps=1e-6, dtype=dtype)
    nn.init.normal_(theirs.weight)
    nn.init.normal_(theirs.bias)
    ours = LayerNorm(shape, eps=1e-6, dtype=dtype)
    ours.fused = fused
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 3, 8, dtype=dtype, requires_grad=True)
    out, t_out = ours(x), theirs(x)
    torch.testing.assert_close(out, t_out, **TOL[dtype])
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, ours.weight, ours.bias), g)
    t_grads = torch.autograd.grad(t_out, (x, theirs.weight, theirs.bias), g)
    for a, b in zip(grads, t_grads):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_sinusoidal_table_values_and_offset():
    pe = SinusoidalPositionalEncoding(6, max_len=4)
    out = pe(torch.zeros(1, 3, 6, dtype=torch.float64), offset=2)
    p, i = 3, 1  # position 3, pair 1: angle 3 / 10000^(2/6)
    torch.testing.assert_close(out[0, 1, 2], torch.tensor(math.sin(p / 10000 ** (2 / 6)), dtype=torch.float64))
    torch.testing.assert_close(out[0, 1, 2 * i + 1], torch.tensor(math.cos(p / 10000 ** (2 / 6)), dtype=torch.float64))
    assert pe.table.shape[0] >= 5  # grew past max_len on demand
    assert not list(pe.state_dict())  # nothing to save


def test_learned_positions_add_rows():
    pe = LearnedPositionalEmbedding(5, 4)
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(pe(x, offset=1), x + pe.weight[1:4])


def test_rope_gradcheck_and_relative_property():
    x = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    angles = rotary_angles(torch.arange(5), 6)
    assert torch.autograd.gradcheck(lambda t: apply_rotary(t, angles), (x,))
    rope = RotaryEmbedding(6)
    q, k = torch.randn(6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    seq = torch.stack([q, k] * 5)[None]  # q at even positions, k at odd positions
    rotated = rope(seq)[0]
    # q_m . k_n depends only on m - n
    torch.testing.assert_close(rotated[0] @ rotated[1], rotated[4] @ rotated[5])
    torch.testing.assert_close(rotated[2] @ rotated[5], rotated[6] @ rotated[9])
    torch.testing.assert_close(rotated.norm(dim=-1), seq[0].norm(dim=-1))  # a rotation keeps lengths
    torch.testing.assert_close(rope(seq[:, 3:], offset=3)[0], rotated[3:])


def _load(ours, theirs):
    missing = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("norm_first", "activation"), [(False, "relu"), (True, "gelu")])
def test_encoder_layer_matches_torch(dtype, norm_first, activation):
    kw = {"dim_feedforward": 24, "dropout": 0.0, "activation": activation, "norm_first": norm_first}
    theirs = nn.TransformerEncoderLayer(8, 2, batch_first=True, dtype=dtype, **kw)
    ours = TransformerEncoderLayer(8, 2, dtype=dtype, **kw)
    _load(ours, theirs)
    x = torch.randn(3, 6, 8, dtype=dtype, requires_grad=True)
    is_real = masks.lengths_to_mask(torch.tensor([6, 4, 2]), 6)
    out = ours(x, masks.key_padding(is_real))
    t_out = theirs(x, src_key_padding_mask=masks.to_torch_ignore(is_real))
    real = is_real[..., None].expand_as(out)
    torch.testing.assert_close(out[real], t_out[real], **TOL[dtype])
    g = torch.randn_like(out) * real
    grads = torch.autograd.grad(out, [x, *ours.parameters()], g)
    t_grads = torch.autograd.grad(t_out, [x, *theirs.parameters()], g)
    for a, b in zip(grads, t_grads):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    dtype = torch.float64
    theirs = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first, dtype=dtype)
    ours = TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=norm_first, dtype=dtype)
    _load(ours, theirs)
    tgt, memory = torch.randn(2, 5, 8, dtype=dtype), torch.randn(2, 7, 8, dtype=dtype, requires_grad=True)
    mem_real = masks.lengths_to_mask(torch.tensor([7, 3]), 7)
    out = ours(tgt, memory, masks.causal_mask(5), masks.key_padding(mem_real))
    t_out = theirs(tgt, memory, tgt_mask=masks.to_torch_ignore(masks.causal_mask(5)),
                   memory_key_padding_mask=masks.to_torch_ignore(mem_real))
    torch.testing.assert_close(out, t_out, **TOL[dtype])
    grads = torch.autograd.grad(out.sum(), [memory, *ours.parameters()])
    t_grads = torch.autograd.grad(t_out.sum(), [memory, *theirs.parameters()])
    for a, b in zip(grads, t_grads):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # PyTorch's note about its own fast path
@pytest.mark.parametrize("norm_first", [False, True])
def test_full_transformer_matches_torch(norm_first):
    dtype = torch.float64
    theirs = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first, dtype=dtype)
    ours = Transformer(8, 2, 2, 2, 16, dropout=0.0, norm_first=norm_first, dtype=dtype)
    _load(ours, theirs)
    src, tgt = torch.randn(2, 6, 8, dtype=dtype), torch.randn(2, 4, 8, dtype=dtype)
    out = ours(src, tgt, tgt_can_attend=masks.causal_mask(4))
    t_out = theirs(src, tgt, tgt_mask=masks.to_torch_ignore(masks.causal_mask(4)))
    torch.testing.assert_close(out, t_out, **TOL[dtype])


def test_encoder_padding_positions_change_nothing_and_weights_are_returned():
    encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2).double().eval()
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    can = masks.key_padding(masks.lengths_to_mask(torch.tensor([3]), 5))
    out, weights = encoder(x, can, need_weights=True)
    noisy = x.clone()
    noisy[:, 3:] = torch.randn(1, 2, 8, dtype=torch.float64) * 100
    torch.testing.assert_close(encoder(noisy, can)[:, :3], out[:, :3], atol=1e-12, rtol=0)
    assert len(weights) == 2 and weights[0].shape == (1, 2, 5, 5)
    assert weights[1][..., 3:].eq(0).all()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rms_norm_equals_torch(dtype):
    theirs = nn.RMSNorm(8, eps=1e-6, dtype=dtype)
    nn.init.normal_(theirs.weight)
    ours = RMSNorm(8, eps=1e-6, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 3, 8, dtype=dtype, requires_grad=True)
    out, t_out = ours(x), theirs(x)
    torch.testing.assert_close(out, t_out, **TOL[dtype])
    g = torch.randn_like(out)
    for a, b in zip(torch.autograd.grad(out, (x, ours.weight), g), torch.autograd.grad(t_out, (x, theirs.weight), g)):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_t5_relative_position_buckets():
    rel = torch.tensor([0, -1, 1, -7, -8, -16, -128, -1000, 128, 5])
    # bidirectional, 32 buckets: 16 per side, 8 exact distances then log-spaced up to 128
    assert relative_position_bucket(rel, True, 32, 128).tolist() == [0, 1, 17, 7, 8, 10, 15, 15, 31, 21]
    # causal: keys after the query share bucket 0; 16 exact distances, then log-spaced
    assert relative_position_bucket(rel, False, 32, 128).tolist() == [0, 1, 0, 7, 8, 16, 31, 31, 0, 0]
    far = relative_position_bucket(-torch.arange(300), False, 32, 128)
    assert torch.all(far[1:] >= far[:-1])  # farther never maps to a nearer bucket


def test_relative_position_bias_depends_on_the_offset_only_through_distance():
    bias = RelativePositionBias(num_heads=3, num_buckets=8, max_distance=16)
    table = bias(6, 6)
    assert table.shape == (1, 3, 6, 6)
    torch.testing.assert_close(table[0, :, 1, 0], table[0, :, 4, 3])  # both one step back
    torch.testing.assert_close(bias(2, 6, offset=4), table[:, :, 4:])


def test_sequence_first_layers_match_torch():
    dtype = torch.float64
    enc_t = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=dtype)
    enc = TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=False, dtype=dtype)
    dec_t = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=dtype)
    dec = TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=False, dtype=dtype)
    _load(enc, enc_t)
    _load(dec, dec_t)
    src, tgt = torch.randn(6, 2, 8, dtype=dtype), torch.randn(4, 2, 8, dtype=dtype)  # (S, B, E), (T, B, E)
    torch.testing.assert_close(enc(src), enc_t(src), **TOL[dtype])
    torch.testing.assert_close(dec(tgt, src, masks.causal_mask(4)),
                               dec_t(tgt, src, tgt_mask=masks.to_torch_ignore(masks.causal_mask(4))), **TOL[dtype])
