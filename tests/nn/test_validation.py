"""Constructors and forwards across seqlab.nn: bad arguments fail in one line naming them; good ones work.

Also: an empty batch gives what torch.nn gives (empty outputs of the right shape, zero
gradients), and the checks read no tensor data (they run on the meta device, where reading
a value is impossible), so they add no host synchronisation to a forward.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import seqlab.nn as snn
from seqlab.errors import SeqlabError
from seqlab.nn import masks
from seqlab.nn.crf import CRF
from seqlab.nn.positional import RelativePositionBias


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _layer():
    return snn.TransformerEncoderLayer(8, 2, 16)


# -- construction ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("build", "message"), [
    # sizes: positive integers, never floats or bools
    (lambda: snn.LSTM(3, 2.5), r"^hidden_size: expected a positive integer, got 2.5 \(float\)$"),
    (lambda: snn.LSTM(3, 4.0), r"^hidden_size: expected a positive integer, got 4.0 \(float\)$"),
    (lambda: snn.GRU(3, True), r"^hidden_size: expected a positive integer, got True \(bool\)$"),
    (lambda: snn.RNN("3", 4), r"^input_size: expected a positive integer, got '3' \(str\)$"),
    (lambda: snn.GRU(3, 4, num_layers=0), r"^num_layers: expected a positive integer, got 0 \(int\)$"),
    (lambda: snn.LSTM(3, 4, proj_size=-1), r"^proj_size: expected an integer >= 0, got -1 \(int\)$"),
    (lambda: snn.LSTM(3, 4, proj_size=1.5), r"^proj_size: expected an integer >= 0, got 1.5 \(float\)$"),
    (lambda: snn.LSTMCell(3, 0), r"^hidden_size: expected a positive integer, got 0 \(int\)$"),
    (lambda: snn.GRUCell(2.5, 4), r"^input_size: expected a positive integer, got 2.5 \(float\)$"),
    # probabilities in [0, 1) for the recurrent layers, finite
    (lambda: snn.RNN(3, 4, dropout=-0.1), r"^dropout: expected a probability in \[0, 1\), got -0.1 \(float\)$"),
    (lambda: snn.LSTM(3, 4, zoneout=1.0), r"^zoneout: expected a probability in \[0, 1\), got 1.0 \(float\)$"),
    (lambda: snn.LSTM(3, 4, recurrent_dropout=float("nan")), r"^recurrent_dropout: expected a probability"),
    (lambda: snn.GRU(3, 4, weight_drop="0.1"), r"^weight_drop: expected a probability in \[0, 1\), got '0.1'"),
    # flags and names in their sets
    (lambda: snn.LSTM(3, 4, bidirectional="false"), r"^bidirectional: expected True or False, got 'false' \(str\)$"),
    (lambda: snn.GRU(3, 4, batch_first=1), r"^batch_first: expected True or False, got 1 \(int\)$"),
    (lambda: snn.GRUCell(3, 4, reset_after="no"), r"^reset_after: expected True or False"),
    (lambda: snn.RNNCell(3, 4, bias=None), r"^bias: expected True or False, got None"),
    (lambda: snn.LSTM(3, 4, layer_norm="full"), r"^layer_norm: expected one of None, 'whole', 'per_gate', got 'full'$"),
    (lambda: snn.LSTM(3, 4, layer_norm=True), r"^layer_norm: expected one of None, 'whole', 'per_gate', got True$"),
    (lambda: snn.RNN(3, 4, nonlinearity="sigmoid"), r"^nonlinearity: expected one of 'tanh', 'relu', got 'sigmoid'$"),
    (lambda: snn.LSTM(3, 4, engine="cuda"), r"^engine: expected one of auto, reference, bptt, torch, got 'cuda'$"),
    (lambda: snn.LSTMCell(3, 4, init="he"), r"^init: expected one of torch, xavier_orthogonal, identity or a callable"),
    (lambda: snn.LSTM(3, 4, forget_bias=float("inf")), r"^forget_bias: expected a finite number, got inf \(float\)$"),
    # options a config's layer_options may carry
    (lambda: snn.LSTM(3, 4, peephole=True, bogus=1),
     r"^LSTM: unknown option 'bogus'; known options: batch_first, bias, bidirectional, coupled, device, dropout, "
     r"dtype, engine, forget_bias, hidden_size, init, input_dropout, input_size, layer_norm, num_layers, peephole, "
     r"proj_size, recurrent_dropout, weight_drop, zoneout$"),
    (lambda: snn.LSTM(3, 4, peephol=True), r"^LSTM: unknown option 'peephol' \(did you mean 'peephole'\?\); known"),
    (lambda: snn.GRU(3, 4, peephole=True, zonout=0.1),
     r"^GRU: unknown options 'peephole', 'zonout' \(did you mean 'zoneout'\?\); known options: .*reset_after"),
    (lambda: snn.RNN(3, 4, reset_after=False), r"^RNN: unknown option 'reset_after'; known options: .*nonlinearity"),
    # attention
    (lambda: snn.MultiheadAttention(8, 0), r"^num_heads: expected a positive integer, got 0 \(int\)$"),
    (lambda: snn.MultiheadAttention(8.0, 2), r"^embed_dim: expected a positive integer, got 8.0 \(float\)$"),
    (lambda: snn.MultiheadAttention(8, 3), r"^embed_dim must be divisible by num_heads, got 8 and 3$"),
    (lambda: snn.MultiheadAttention(8, 2, dropout=1.5), r"^dropout: expected a probability in \[0, 1\], got 1.5"),
    (lambda: snn.MultiheadAttention(8, 2, kdim=0), r"^kdim: expected a positive integer, got 0"),
    (lambda: snn.MultiheadAttention(6, 2, rope=True), r"^rope: expected an even head width .* got 3$"),
    (lambda: snn.MultiheadAttention(8, 2, rope_base=0), r"^rope_base: expected a finite number > 0, got 0"),
    (lambda: snn.AdditiveAttention(4, 0, 6), r"^key_size: expected a positive integer, got 0"),
    (lambda: snn.GeneralAttention(4, 2.5), r"^key_size: expected a positive integer, got 2.5"),
    # transformer
    (lambda: snn.TransformerEncoderLayer(8, 3), r"^d_model must be divisible by nhead, got 8 and 3$"),
    (lambda: snn.TransformerEncoderLayer(8, 2, 0), r"^dim_feedforward: expected a positive integer, got 0"),
    (lambda: snn.TransformerDecoderLayer(8, 2, dropout=1.5), r"^dropout: expected a probability in \[0, 1\], got 1.5"),
    (lambda: snn.TransformerEncoderLayer(8, 2, activation="swish"),
     r"^activation: expected one of relu, gelu, gelu_tanh or a callable, got 'swish'$"),
    (lambda: snn.TransformerEncoderLayer(8, 2, layer_norm_eps=-1e-5),
     r"^layer_norm_eps: expected a finite number >= 0"),
    (lambda: snn.TransformerDecoderLayer(8, 2, norm_first="yes"), r"^norm_first: expected True or False"),
    (lambda: snn.TransformerEncoder(_layer(), 0), r"^num_layers: expected a positive integer, got 0"),
    (lambda: snn.TransformerEncoder("layer", 2), r"^encoder_layer: expected a torch.nn.Module, got str$"),
    (lambda: snn.Transformer(8, 2, num_decoder_layers=2.0), r"^num_decoder_layers: expected a positive integer"),
    # norms and positions
    (lambda: snn.LayerNorm(0), r"^normalized_shape: expected a positive integer, got 0"),
    (lambda: snn.LayerNorm((4, 0)), r"^normalized_shape: expected a positive integer, got 0"),
    (lambda: snn.LayerNorm("4"), r"^normalized_shape: expected a positive integer or a tuple of them, got '4'$"),
    (lambda: snn.LayerNorm(4, eps=-1.0), r"^eps: expected a finite number >= 0, got -1.0"),
    (lambda: snn.RMSNorm(4, eps=float("nan")), r"^eps: expected a finite number >= 0, got nan"),
    (lambda: snn.SinusoidalPositionalEncoding(0), r"^d_model: expected a positive integer, got 0"),
    (lambda: snn.SinusoidalPositionalEncoding(8, base=-1.0), r"^base: expected a finite number > 0"),
    (lambda: snn.LearnedPositionalEmbedding(0, 8), r"^max_len: expected a positive integer, got 0"),
    (lambda: snn.RotaryEmbedding(2.0), r"^head_dim: expected a positive integer, got 2.0"),
    (lambda: snn.RotaryEmbedding(5), r"^RotaryEmbedding: expected an even head_dim, got 5$"),
    (lambda: RelativePositionBias(0), r"^num_heads: expected a positive integer, got 0"),
    (lambda: RelativePositionBias(2, num_buckets=2),
     r"^num_buckets, max_distance: expected num_buckets >= 4 and max_distance > 1 .* got 2 and 128$"),
    (lambda: RelativePositionBias(2, num_buckets=32, max_distance=8), r"max_distance > 8 .* got 32 and 8$"),
    # the rest
    (lambda: CRF(0), r"^num_tags: expected a positive integer, got 0"),
    (lambda: CRF(3, allowed=torch.ones(2, 2, dtype=torch.bool)),
     r"^allowed: expected a boolean tensor of shape \(3, 3\), got shape \(2, 2\)"),
    (lambda: CRF(3, allowed_start=torch.full((3,), 0.5)),
     r"^allowed_start: .* got shape \(3,\) and dtype torch.float32"),
    (lambda: next(snn.stream_batches(torch.arange(100), 2.5, 10)), r"^batch_size: expected a positive integer"),
    (lambda: masks.causal_mask(3.5), r"^T: expected an integer >= 0, got 3.5 \(float\)$"),
    (lambda: masks.lengths_to_mask(torch.tensor([1.0, 2.0])),
     r"^lengths: expected an integer dtype, got torch.float32"),
])
def test_bad_construction_is_refused_in_one_line(build, message):
    with pytest.raises(SeqlabError, match=message):
        build()


def test_integers_of_any_kind_are_stored_as_int():
    lstm = snn.LSTM(np.int64(3), np.int32(4), num_layers=np.int64(2), dropout=np.float32(0.25))
    assert (type(lstm.input_size), type(lstm.hidden_size), type(lstm.num_layers)) == (int, int, int)
    assert type(lstm.dropout) is float and lstm.dropout == 0.25
    attention = snn.MultiheadAttention(np.int64(8), np.int64(2))
    assert type(attention.head_dim) is int and attention.head_dim == 4


def test_layer_options_from_a_config_are_accepted_when_known():
    options = {"peephole": True, "layer_norm": "whole", "engine": "reference", "zoneout": 0.1}
    lstm = snn.LSTM(3, 4, **options)
    assert (lstm.peephole, lstm.layer_norm, lstm.engine, lstm.zoneout) == (True, "whole", "reference", 0.1)
    out, _ = lstm(torch.randn(5, 2, 3))
    assert out.shape == (5, 2, 4)


def test_dropout_of_one_is_allowed_where_torch_dropout_allows_it():
    """Attention dropout is torch.nn.Dropout's [0, 1]: at 1 every weight is dropped, so the context is 0."""
    attention = snn.MultiheadAttention(8, 2, dropout=1.0, bias=False)
    x = torch.randn(2, 3, 8)
    assert attention(x, x, x)[0].eq(0).all()


# -- forward inputs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "message"), [
    (lambda m, x: m(x[..., :6], x, x), r"^query: expected shape \(B, T, 8\), got \(2, 3, 6\)$"),
    (lambda m, x: m(x[0], x[0], x[0]), r"^query: expected shape \(B, T, 8\), got \(3, 8\)$"),
    (lambda m, x: m(x, x[:1], x[:1]), r"^query, key, value: expected one batch size B .* \(2, 3, 8\), \(1, 3, 8\)"),
    (lambda m, x: m(x, x, x[:, :2]), r"^query, key, value: expected .* as many values as keys"),
    (lambda m, x: m(x.double(), x.double(), x.double()),
     r"^query: expected dtype torch.float32 \(the layer's parameters\), got torch.float64$"),
    (lambda m, x: m(x, x, x, cache={}), r"^cache: expected a KVCache, got dict$"),
    (lambda m, x: m(x, "keys", x), r"^key: expected a tensor \(B, S, 8\), got str$"),
])
def test_multihead_forward_checks(call, message):
    attention = snn.MultiheadAttention(8, 2)
    with pytest.raises(SeqlabError, match=message):
        call(attention, torch.randn(2, 3, 8))


def test_multihead_sequence_first_names_its_layout_and_a_cache_its_batch():
    attention = snn.MultiheadAttention(8, 2, batch_first=False)
    with pytest.raises(SeqlabError, match=r"^query: expected shape \(T, B, 8\), got \(3, 2, 5\)$"):
        attention(torch.randn(3, 2, 5), torch.randn(3, 2, 8), torch.randn(3, 2, 8))
    attention = snn.MultiheadAttention(8, 2)
    cache = snn.KVCache()
    x = torch.randn(2, 3, 8)
    attention(x, x, x, cache=cache)
    with pytest.raises(SeqlabError, match=r"^cache: holds keys of B=2 sequences, the query has B=3$"):
        step = x[:1, :1].expand(3, 1, 8)
        attention(step, step, step, cache=cache)


def test_autocast_inputs_of_another_dtype_are_accepted():
    attention = snn.MultiheadAttention(8, 2)
    x = torch.randn(2, 3, 8, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = attention(x, x, x, need_weights=False)
    assert out.dtype == torch.bfloat16 and out.shape == (2, 3, 8)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: _layer()(torch.randn(2, 3, 6)), r"^src: expected shape \(B, T, 8\), got \(2, 3, 6\)$"),
    (lambda: snn.TransformerDecoderLayer(8, 2, 16)(torch.randn(2, 3, 8), torch.randn(2, 4)),
     r"^memory: expected shape \(B, S, 8\), got \(2, 4\)$"),
    (lambda: snn.TransformerDecoderLayer(8, 2, 16, batch_first=False)(torch.randn(3, 2, 8), torch.randn(4, 2, 8),
                                                                       cache=snn.KVCache()),
     r"^cache: expected a pair \(self_cache, cross_cache\) of KVCache"),
    (lambda: snn.TransformerEncoder(_layer(), 2)(torch.randn(2, 3, 8), caches=[snn.KVCache()]),
     r"^caches: expected a list of 2 KVCache, one per layer, got 1 entries$"),
    (lambda: snn.LayerNorm(8)(torch.randn(2, 5)),
     r"^input: expected the last dimensions \(8,\) .* got shape \(2, 5\)$"),
    (lambda: snn.RMSNorm((2, 4))(torch.randn(3, 4, 2)), r"^input: expected the last dimensions \(2, 4\)"),
    (lambda: snn.SinusoidalPositionalEncoding(8)(torch.randn(2, 3, 6)),
     r"^x: expected embeddings \(B, T, 8\) or \(T, 8\), got shape \(2, 3, 6\)$"),
    (lambda: snn.LearnedPositionalEmbedding(8, 4)(torch.randn(1, 2, 4), offset=-1),
     r"^offset: expected an integer >= 0, got -1"),
    (lambda: snn.RotaryEmbedding(4)(torch.randn(2, 3, 6)), r"^x: expected embeddings \(B, T, 4\)"),
    (lambda: CRF(3)(torch.randn(2, 4, 5), torch.zeros(2, 4, dtype=torch.long)),
     r"^emissions: expected \(B, T, 3\) with T >= 1, got \(2, 4, 5\)$"),
    (lambda: CRF(3)(torch.randn(2, 4, 3), torch.zeros(2, 4)),
     r"^tags: expected integer tag ids of shape \(2, 4\), got shape \(2, 4\) and dtype torch.float32$"),
    (lambda: CRF(3)(torch.randn(2, 4, 3), torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4)),
     r"^is_pad: expected a boolean \(2, 4\), got shape \(2, 4\) and dtype torch.float32$"),
])
def test_forward_checks_of_blocks(call, message):
    with pytest.raises(SeqlabError, match=message):
        call()


# -- lengths and states of the recurrent layers ------------------------------------------------------------
@pytest.mark.parametrize(("lengths", "message"), [
    ([5.0, 2], r"^lengths: expected 2 integers, got \[5.0, 2\]$"),
    ([True, True], r"^lengths: expected 2 integers"),
    (torch.tensor([5, 2], device="meta"),
     r"^lengths: expected a CPU tensor \(host values, as for pack_padded_sequence\), got one on meta; "
     r"pass lengths.cpu\(\)$"),
    (torch.tensor([True, False]), r"^lengths: expected an integer dtype, got torch.bool$"),
])
def test_lengths_are_host_integers(lengths, message):
    with pytest.raises(SeqlabError, match=message):
        snn.GRU(3, 4, batch_first=True)(torch.randn(2, 5, 3), lengths=lengths)


def test_lengths_may_be_a_list_of_any_integers():
    gru = snn.GRU(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    expected, _ = gru(x, lengths=torch.tensor([5, 2]))
    for lengths in ([5, 2], (np.int64(5), np.int32(2)), np.array([5, 2]).tolist()):
        torch.testing.assert_close(gru(x, lengths=lengths)[0], expected, atol=0, rtol=0)
    assert expected[1, 2:].eq(0).all()


def test_initial_state_on_another_device_is_named():
    lstm = snn.LSTM(3, 4)
    with pytest.raises(SeqlabError, match=r"^h_0: expected a tensor on cpu \(the input's device\), got one on meta$"):
        lstm(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4, device="meta"), torch.zeros(1, 2, 4)))
    with pytest.raises(SeqlabError, match=r"^hx: expected a tensor on cpu"):
        snn.GRUCell(3, 4)(torch.randn(2, 3), torch.zeros(2, 4, device="meta"))


# -- an empty batch: what torch.nn does ---------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["reference", "bptt", "torch"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_an_empty_batch_gives_empty_outputs_like_torch(kind, engine):
    ours = getattr(snn, kind)(3, 4, num_layers=2, batch_first=True, bidirectional=True, engine=engine)
    theirs = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    x = torch.randn(0, 5, 3, requires_grad=True)
    reference, reference_state = theirs(x)
    for lengths in (None, torch.zeros(0, dtype=torch.long), []):
        output, state = ours(x, lengths=lengths)
        states = state if isinstance(state, tuple) else (state,)
        reference_states = reference_state if isinstance(reference_state, tuple) else (reference_state,)
        assert output.shape == reference.shape == (0, 5, 8)
        assert [s.shape for s in states] == [s.shape for s in reference_states]
    output.sum().backward()
    assert all(p.grad is not None and p.grad.eq(0).all() for p in ours.parameters())


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_take_an_empty_batch(kind):
    out = getattr(snn, kind)(3, 4)(torch.randn(0, 3))
    reference = getattr(nn, kind)(3, 4)(torch.randn(0, 3))
    out, reference = (out[0], reference[0]) if kind == "LSTMCell" else (out, reference)
    assert out.shape == reference.shape == (0, 4)


@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_and_transformer_take_an_empty_batch(need_weights):
    ours = snn.MultiheadAttention(8, 2)
    theirs = nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(0, 3, 8)
    out, weights = ours(x, x, x, can_attend=masks.causal_mask(3), key_is_real=torch.ones(0, 3, dtype=torch.bool),
                        need_weights=need_weights)
    reference, reference_weights = theirs(x, x, x, need_weights=need_weights)
    assert out.shape == reference.shape == (0, 3, 8)
    assert (weights is None) == (reference_weights is None) == (not need_weights)
    assert need_weights is False or weights.shape == reference_weights.shape
    assert _layer()(x, masks.causal_mask(3)).shape == (0, 3, 8)
    for norm, reference_norm in ((snn.LayerNorm(8), nn.LayerNorm(8)), (snn.RMSNorm(8), nn.RMSNorm(8))):
        assert norm(x).shape == reference_norm(x).shape == (0, 3, 8)


# -- sizes read while tracing stay dynamic (the ONNX exporter traces) ---------------------------------------
class _CausalBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = snn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)

    def forward(self, x):
        return self.layer(x, masks.causal_mask(x.shape[1]))  # T is a 0-d tensor while tracing


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # tracing notes each size it reads
@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")  # the ONNX exporter's path
def test_a_traced_block_keeps_its_sizes_dynamic():
    block = _CausalBlock().eval()
    traced = torch.jit.trace(block, torch.randn(1, 3, 8))
    x = torch.randn(2, 5, 8)  # another batch size and length than traced
    torch.testing.assert_close(traced(x), block(x), atol=0, rtol=0)


# -- the checks read no tensor data, so they never wait for a device ----------------------------------------
def test_forward_checks_run_on_the_meta_device():
    """Reading a value of a meta tensor raises: these forwards prove no check reads one."""
    attention = snn.MultiheadAttention(8, 2, device="meta")
    x = torch.randn(2, 3, 8, device="meta")
    can = masks.causal_mask(3, device="meta")
    is_real = torch.ones(2, 3, dtype=torch.bool, device="meta")
    for need_weights in (True, False):
        assert attention(x, x, x, can_attend=can, key_is_real=is_real, need_weights=need_weights)[0].is_meta
    assert snn.TransformerEncoderLayer(8, 2, 16, device="meta")(x, can, key_is_real=is_real).is_meta
    # the recurrent layer reads its lengths, which are host values by contract, and nothing else
    lstm = snn.LSTM(3, 4, batch_first=True, engine="reference", device="meta")
    assert lstm(torch.randn(2, 5, 3, device="meta"), lengths=torch.tensor([5, 3]))[0].is_meta
