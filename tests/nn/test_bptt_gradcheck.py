"""torch.autograd.gradcheck of the hand-written backward passes, in float64 on tiny shapes.

Each Function is checked on its own (not through the layer), with every optional input in
play: lengths, zoneout keep masks, a recurrent dropout mask, both directions.
"""

import pytest
import torch

from seqlab.nn.bptt import GRUFunction, LSTMFunction, RNNFunction, _kernels
from seqlab.nn.bptt.lstm_ln import LSTMLayerNormFunction

T, B, H, I = 4, 3, 3, 2


@pytest.fixture(params=[True, False], ids=["compiled", "pytorch"])
def compiled(request):
    """The compiled kernels (skipped where they cannot be built), then the pure-PyTorch fallback."""
    if request.param and not _kernels.kernels().compiled:
        pytest.skip("the bptt kernels could not be built here (no C++ compiler?)")
    _kernels.use_compiled(None if request.param else False)
    try:
        yield request.param
    finally:
        _kernels.use_compiled(None)


def leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


def fixed_inputs():
    valid = torch.arange(T)[:, None, None] < torch.tensor([4, 2, 3])[None, :, None]  # (T, B, 1)
    keep = torch.empty(T, B, H, dtype=torch.float64).bernoulli_(0.3)
    mask = torch.empty(B, H, dtype=torch.float64).bernoulli_(0.7) / 0.7
    return valid, keep, mask


@pytest.mark.parametrize("coupled, proj, reverse", [(False, False, False), (False, True, True), (True, False, True)])
def test_lstm_backward(compiled, coupled, proj, reverse):
    G = 3 if coupled else 4
    H_out = 2 if proj else H
    valid, keep, _ = fixed_inputs()
    mask = torch.empty(B, H_out, dtype=torch.float64).bernoulli_(0.7) / 0.7
    keep_h = torch.empty(T, B, H_out, dtype=torch.float64).bernoulli_(0.3)
    weight_hr = leaf(H_out, H) if proj else None
    # x, W_ih, b, h0, c0, W_hh, W_hr, peepholes, keep masks, lengths, recurrent mask
    inputs = (leaf(T, B, I), leaf(G * H, I), leaf(G * H), leaf(B, H_out), leaf(B, H), leaf(G * H, H_out), weight_hr,
              leaf(3, H), keep_h, keep, valid, mask, reverse, coupled)
    assert torch.autograd.gradcheck(LSTMFunction.apply, inputs)


@pytest.mark.parametrize("reset_after, reverse", [(True, False), (True, True), (False, True)])
def test_gru_backward(compiled, reset_after, reverse):
    valid, keep, mask = fixed_inputs()
    bias_hn = leaf(H) if reset_after else None
    inputs = (leaf(T, B, 3 * H), leaf(B, H), leaf(3 * H, H), bias_hn, keep, valid, mask, reverse, reset_after)
    assert torch.autograd.gradcheck(GRUFunction.apply, inputs)


@pytest.mark.parametrize("relu, reverse", [(False, False), (True, True)])
def test_rnn_backward(relu, reverse):
    valid, keep, mask = fixed_inputs()
    inputs = (leaf(T, B, H), leaf(B, H), leaf(H, H), keep, valid, mask, reverse, relu)
    assert torch.autograd.gradcheck(RNNFunction.apply, inputs)


def test_zoneout_at_evaluation_is_a_fixed_mixture(compiled):
    valid, _, _ = fixed_inputs()
    inputs = (leaf(T, B, I), leaf(4 * H, I), None, leaf(B, H), leaf(B, H), leaf(4 * H, H), None, None, 0.3, 0.3, valid,
              None, False, False)
    assert torch.autograd.gradcheck(LSTMFunction.apply, inputs)


# (coupled, per_gate, proj, peephole, reverse, lengths, zoneout): both normalisations, with every option
# of the layer at least once, zoneout as masks (training) and as a probability (evaluation)
LAYER_NORM_CASES = [
    (False, False, True, True, True, True, "masks"),
    (True, True, False, True, False, True, "masks"),
    (False, True, False, False, False, False, None),
    (True, False, True, False, True, True, "probability"),
]


@pytest.mark.parametrize("coupled, per_gate, proj, peephole, reverse, lengths, zoneout", LAYER_NORM_CASES)
def test_layer_norm_lstm_backward(compiled, coupled, per_gate, proj, peephole, reverse, lengths, zoneout):
    G = 3 if coupled else 4
    H_out = 2 if proj else H
    valid, keep, _ = fixed_inputs()
    mask = torch.empty(B, H_out, dtype=torch.float64).bernoulli_(0.7) / 0.7
    keep_h = torch.empty(T, B, H_out, dtype=torch.float64).bernoulli_(0.3)
    keeps = {"masks": (keep_h, keep), "probability": (0.3, 0.3), None: (None, None)}[zoneout]
    # x, W_ih, h0, c0, W_hh, (gain, shift) of LN(W_ih x), of LN(W_hh h) and of LN(c), W_hr, peepholes, ...
    inputs = (leaf(T, B, I), leaf(G * H, I), leaf(B, H_out), leaf(B, H), leaf(G * H, H_out), leaf(2, G * H),
              leaf(2, G * H), leaf(2, H), leaf(H_out, H) if proj else None, leaf(3, H) if peephole else None, *keeps,
              valid if lengths else None, mask, reverse, coupled, per_gate)
    assert torch.autograd.gradcheck(LSTMLayerNormFunction.apply, inputs)
