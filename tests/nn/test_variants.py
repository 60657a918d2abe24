"""What PyTorch lacks, checked against finite differences in float64 with torch.autograd.gradcheck."""

import pytest
import torch
from torch.autograd import gradcheck

import seqlab.nn as snn


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """gradcheck runs thousands of tiny forwards: on a loaded 2-core machine two threads spin-wait (25x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


VARIANTS = {
    "peephole": (snn.LSTM, dict(peephole=True)),
    "coupled": (snn.LSTM, dict(coupled=True)),
    "peephole+coupled": (snn.LSTM, dict(peephole=True, coupled=True)),
    "layer_norm_whole": (snn.LSTM, dict(layer_norm="whole")),
    "layer_norm_per_gate": (snn.LSTM, dict(layer_norm="per_gate", proj_size=2)),
    "gru_reset_before": (snn.GRU, dict(reset_after=False)),
    "rnn_relu_identity_init": (snn.RNN, dict(nonlinearity="relu", init="xavier_orthogonal")),
}


def gradcheck_layer(layer, x, lengths=None, seed=None):
    """gradcheck of the outputs and final states with respect to the input and every parameter."""
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]

    def function(x, *values):
        if seed is not None:
            torch.manual_seed(seed)  # the same dropout masks at every evaluation
        output, final = torch.func.functional_call(layer, dict(zip(names, values)), (x,), {"lengths": lengths})
        finals = final if isinstance(final, tuple) else (final,)
        return (output, *finals)

    assert gradcheck(function, (x.requires_grad_(True), *params), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_gradients_match_finite_differences(name):
    layer_cls, options = VARIANTS[name]
    torch.manual_seed(0)
    layer = layer_cls(2, 3, num_layers=2, bidirectional=True, engine="reference", **options).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    gradcheck_layer(layer, x, lengths=torch.tensor([4, 2]))


@pytest.mark.parametrize("option", ["input_dropout", "recurrent_dropout", "weight_drop", "zoneout"])
def test_regularised_layer_gradients_with_a_fixed_mask(option):
    torch.manual_seed(0)
    layer = snn.LSTM(2, 3, num_layers=2, engine="reference", **{option: 0.3}).double().train()
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    gradcheck_layer(layer, x, seed=123)


def test_variational_dropout_uses_one_mask_per_sequence():
    """Recurrent dropout on a zero-input RNN with identity weights: the dropped units stay dropped at every step."""
    layer = snn.RNN(1, 50, recurrent_dropout=0.5, bias=False, init="identity").double().train()
    with torch.no_grad():
        layer.weight_ih_l0.zero_()
    h0 = torch.ones(1, 2, 50, dtype=torch.float64)
    torch.manual_seed(0)
    output, _ = layer(torch.zeros(6, 2, 1, dtype=torch.float64), h0)
    # step 1: h = tanh(mask * 1); later steps read the masked previous h again: the zero set never changes
    zero_units = output[0] == 0
    assert 0 < zero_units.sum() < zero_units.numel()
    for t in range(1, 6):
        assert torch.equal(output[t] == 0, zero_units)
    # the two sequences of the batch get different masks
    assert not torch.equal(zero_units[0], zero_units[1])


def test_regularisation_is_off_in_eval_mode():
    torch.manual_seed(0)
    plain = snn.LSTM(3, 4).double().eval()
    regularised = snn.LSTM(3, 4, input_dropout=0.5, recurrent_dropout=0.5, weight_drop=0.5).double().eval()
    regularised.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(plain(x)[0], regularised(x)[0], rtol=0, atol=0)


def test_zoneout_at_evaluation_is_the_expectation():
    torch.manual_seed(0)
    layer = snn.GRU(2, 3, zoneout=0.25).double().eval()
    x = torch.randn(3, 1, 2, dtype=torch.float64)
    output, _ = layer(x)
    params = layer.cell_parameters(0)
    h = torch.zeros(1, 3, dtype=torch.float64)
    for t in range(3):
        (new,), _ = snn.gru_step(x[t], h, params)
        h = 0.25 * h + 0.75 * new
        torch.testing.assert_close(output[t], h)


def test_layer_norm_option_is_validated():
    with pytest.raises(ValueError, match="layer_norm: expected one of None, 'whole', 'per_gate'"):
        snn.LSTM(3, 4, layer_norm="batch")
