"""torch.autograd.gradcheck of the hand-written backward passes, in float64 on tiny shapes.

Each Function is checked on its own (not through the layer), with every optional input in
play: lengths, zoneout keep masks, a recurrent dropout mask, both directions.
"""

import pytest
import torch

from seqlab.nn.bptt import GRUFunction, LSTMFunction, RNNFunction, _kernels
from seqlab.nn.bptt.lstm_ln import LSTMLayerNormFunction

T, B, H = 4, 3, 3


def leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


def fixed_inputs():
    valid = torch.arange(T)[:, None, None] < torch.tensor([4, 2, 3])[None, :, None]  # (T, B, 1)
    keep = torch.empty(T, B, H, dtype=torch.float64).bernoulli_(0.3)
    mask = torch.empty(B, H, dtype=torch.float64).bernoulli_(0.7) / 0.7
    return valid, keep, mask


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("coupled, proj, reverse", [(False, False, False), (False, True, True), (True, False, True)])
def test_lstm_backward(compiled, coupled, proj, reverse):
    _kernels.use_compiled(None if compiled else False)
    try:
        G = 3 if coupled else 4
        H_out = 2 if proj else H
        valid, keep, _ = fixed_inputs()
        mask = torch.empty(B, H_out, dtype=torch.float64).bernoulli_(0.7) / 0.7
        keep_h = torch.empty(T, B, H_out, dtype=torch.float64).bernoulli_(0.3)
        weight_hr = leaf(H_out, H) if proj else None
        inputs = (leaf(T, B, G * H), leaf(B, H_out), leaf(B, H), leaf(G * H, H_out), weight_hr, leaf(3, H),
                  keep_h, keep, valid, mask, reverse, coupled)
        assert torch.autograd.gradcheck(LSTMFunction.apply, inputs)
    finally:
        _kernels.use_compiled(None)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("reset_after, reverse", [(True, False), (True, True), (False, True)])
def test_gru_backward(compiled, reset_after, reverse):
    _kernels.use_compiled(None if compiled else False)
    try:
        valid, keep, mask = fixed_inputs()
        bias_hn = leaf(H) if reset_after else None
        inputs = (leaf(T, B, 3 * H), leaf(B, H), leaf(3 * H, H), bias_hn, keep, valid, mask, reverse, reset_after)
        assert torch.autograd.gradcheck(GRUFunction.apply, inputs)
    finally:
        _kernels.use_compiled(None)


@pytest.mark.parametrize("relu, reverse", [(False, False), (True, True)])
def test_rnn_backward(relu, reverse):
    valid, keep, mask = fixed_inputs()
    inputs = (leaf(T, B, H), leaf(B, H), leaf(H, H), keep, valid, mask, reverse, relu)
    assert torch.autograd.gradcheck(RNNFunction.apply, inputs)


def test_zoneout_at_evaluation_is_a_fixed_mixture():
    valid, _, _ = fixed_inputs()
    inputs = (leaf(T, B, 4 * H), leaf(B, H), leaf(B, H), leaf(4 * H, H), None, None, 0.3, 0.3, valid, None,
              False, False)
    assert torch.autograd.gradcheck(LSTMFunction.apply, inputs)


def test_a_failed_build_falls_back_with_a_logged_warning(monkeypatch, caplog):
    monkeypatch.setenv("SEQLAB_BPTT_COMPILE", "0")
    with caplog.at_level("WARNING", logger="seqlab.nn.bptt._kernels"):
        assert _kernels._build() is False
    assert "pure-PyTorch" in caplog.text


@pytest.mark.parametrize("coupled, per_gate, proj", [(False, False, True), (True, True, False)])
def test_layer_norm_lstm_backward(coupled, per_gate, proj):
    G = 3 if coupled else 4
    H_out = 2 if proj else H
    valid, keep, _ = fixed_inputs()
    mask = torch.empty(B, H_out, dtype=torch.float64).bernoulli_(0.7) / 0.7
    keep_h = torch.empty(T, B, H_out, dtype=torch.float64).bernoulli_(0.3)
    inputs = (leaf(T, B, G * H), leaf(B, H_out), leaf(B, H), leaf(G * H, H_out), leaf(2, G * H), leaf(2, H),
              leaf(H_out, H) if proj else None, leaf(3, H), keep_h, keep, valid, mask, True, coupled, per_gate)
    assert torch.autograd.gradcheck(LSTMLayerNormFunction.apply, inputs)
