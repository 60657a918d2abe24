"""Gradient flow through time: autograd's per-step norms against a hand-unrolled scalar RNN, and
the diagnostics leave the model's computation untouched."""

import math

import pytest
import torch

from seqlab.diagnostics import gradient_flow, jacobian_norms, readout_loss, recurrent_weight_spectra
from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM, RNN, record_trace


def scalar_rnn(w_ih=0.7, w_hh=0.9, b=0.1):
    rnn = RNN(1, 1, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(w_ih)
        rnn.weight_hh_l0.fill_(w_hh)
        rnn.bias_ih_l0.fill_(b)
        rnn.bias_hh_l0.zero_()
    return rnn


def hand_unrolled(xs, w_ih, w_hh, b, u, loss):
    """h_t = tanh(w_ih x_t + w_hh h_{t-1} + b);  dL/dh_t = [t in S] u + w_hh (1 - h_{t+1}^2) dL/dh_{t+1}."""
    h, hs = 0.0, []
    for x in xs:
        h = math.tanh(w_ih * x + w_hh * h + b)
        hs.append(h)
    T = len(xs)
    grads = [0.0] * T
    grads[T - 1] = u
    for t in range(T - 2, -1, -1):
        direct = u if loss == "every" else 0.0
        grads[t] = direct + w_hh * (1 - hs[t + 1] ** 2) * grads[t + 1]
    return [abs(g) for g in grads]


@pytest.mark.parametrize("loss", ["last", "every"])
def test_per_step_norms_equal_the_hand_unrolled_scalar_rnn(loss):
    xs = [0.5, -1.0, 0.25, 2.0, -0.3, 0.8]
    rnn = scalar_rnn()
    flow = gradient_flow(rnn, torch.tensor(xs, dtype=torch.float64).view(-1, 1, 1), loss=loss, seed=3)
    u = float(torch.sign(torch.randn(1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)))
    expected = hand_unrolled(xs, 0.7, 0.9, 0.1, u, loss)
    torch.testing.assert_close(flow.grad_h[0, 0], torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0)
    # the Jacobian product of the scalar RNN is prod_k w_hh (1 - h_k^2)
    hs, h = [], 0.0
    for x in xs:
        h = math.tanh(0.7 * x + 0.9 * h + 0.1)
        hs.append(h)
    products = [math.prod(0.9 * (1 - hs[k] ** 2) for k in range(t + 1, len(xs))) for t in range(len(xs))]
    norms = jacobian_norms(rnn, torch.tensor(xs).view(-1, 1, 1))[0, 0]
    torch.testing.assert_close(norms.double(), torch.tensor(products, dtype=torch.float64), rtol=1e-6, atol=0)


def test_the_norms_at_the_last_step_are_the_readout_and_vanish_backwards_for_a_contracting_rnn():
    torch.manual_seed(0)
    rnn = RNN(3, 16)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(0.5 / torch.linalg.matrix_norm(rnn.weight_hh_l0, ord=2))  # ||W_hh||_2 = 0.5
    flow = gradient_flow(rnn, torch.randn(20, 4, 3))
    norms = flow.grad_h[0, 0]
    assert norms[-1].item() == pytest.approx(1.0)  # dL/dh_{T-1} = u, a unit vector
    # ||dL/dh_t|| <= 0.5^(T-1-t): each step multiplies by diag(tanh') W_hh, norm <= 0.5
    bound = 0.5 ** torch.arange(19, -1, -1, dtype=torch.float32)
    assert torch.all(norms <= bound * (1 + 1e-5))
    assert flow.ratio() < 1e-5


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_gradient_norms_are_bounded_by_the_jacobian_product_norms(cls):
    # dL/ds_t = (ds_{T-1}/ds_t)^T u, so ||dL/dh_t|| <= ||ds_{T-1}/ds_t||_2 for every sequence and t
    torch.manual_seed(1)
    layer = cls(3, 6, dtype=torch.float64)
    x = torch.randn(12, 1, 3, dtype=torch.float64)
    flow = gradient_flow(layer, x)
    norms = jacobian_norms(layer, x)[0, 0].double()
    assert torch.all(flow.grad_h[0, 0] <= norms * (1 + 1e-5))
    assert norms[-1].item() == pytest.approx(1.0)


def test_every_layer_and_direction_and_the_lstm_cell_state_are_measured():
    lstm = LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, peephole=True)
    flow = gradient_flow(lstm, torch.randn(2, 7, 3), loss="every")
    assert set(flow.grad_h) == {(0, 0), (0, 1), (1, 0), (1, 1)} == set(flow.grad_c)
    assert all(v.shape == (7,) and torch.all(v > 0) for v in flow.grad_h.values())


def test_a_custom_loss_on_a_whole_model_and_the_parameter_grads_are_untouched():
    model = torch.nn.Sequential()
    gru = GRU(3, 4)
    model.add_module("gru", gru)
    gru.weight_hh_l0.grad = torch.ones_like(gru.weight_hh_l0)
    flow = gradient_flow(model, torch.randn(5, 2, 3), loss_fn=lambda out: out[0].pow(2).sum())
    assert flow.loss == "custom" and set(flow.grad_h) == {(0, 0)}  # one layer: keyed (layer, direction)
    assert torch.equal(gru.weight_hh_l0.grad, torch.ones_like(gru.weight_hh_l0))
    assert gru.weight_ih_l0.grad is None


@pytest.mark.parametrize("cls, options", [(RNN, {}), (LSTM, {"coupled": True}), (GRU, {"reset_after": False})])
def test_traces_and_gradient_flow_change_neither_outputs_nor_gradients(cls, options):
    torch.manual_seed(2)
    layer = cls(3, 4, num_layers=2, dtype=torch.float64, **options)
    x = torch.randn(6, 2, 3, dtype=torch.float64)

    def run():
        layer.zero_grad(set_to_none=True)
        output = layer(x)[0]
        readout_loss(output, loss="every").backward()
        return output.detach(), [p.grad.clone() for p in layer.parameters()]

    plain_out, plain_grads = run()
    with record_trace(layer) as trace:
        traced_out, traced_grads = run()
    assert len(trace) == 2
    gradient_flow(layer, x)
    after_out, after_grads = run()
    # a traced run takes the reference loop; an untraced one may take a faster engine that sums
    # in another order, so "unchanged" means equal to float64 rounding
    for out, grads in ((traced_out, traced_grads), (after_out, after_grads)):
        torch.testing.assert_close(out, plain_out, rtol=1e-12, atol=1e-14)
        for a, b in zip(grads, plain_grads):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_weight_spectra_of_identity_and_orthogonal_inits():
    irnn = RNN(2, 8, nonlinearity="relu", init="identity")
    spectrum = recurrent_weight_spectra(irnn)[0, 0]["hh"]
    assert spectrum["spectral_radius"] == pytest.approx(1.0)
    assert spectrum["singular_values"] == pytest.approx([1.0] * 8)
    gru = GRU(2, 8, init="xavier_orthogonal", bidirectional=True)
    spectra = recurrent_weight_spectra(gru)
    assert set(spectra) == {(0, 0), (0, 1)} and set(spectra[0, 1]) == {"r", "z", "n"}
    assert spectra[0, 1]["z"]["singular_values"] == pytest.approx([1.0] * 8, abs=1e-5)
    lstmp = LSTM(2, 8, proj_size=3)
    assert recurrent_weight_spectra(lstmp)[0, 0]["f"]["spectral_radius"] is None


def test_bad_input_is_a_seqlab_error():
    with pytest.raises(SeqlabError, match="no seqlab recurrent layer"):
        gradient_flow(torch.nn.Linear(2, 2), torch.randn(1, 2), loss_fn=lambda out: out.sum())
    with pytest.raises(SeqlabError, match="loss: expected one of last, every"):
        gradient_flow(RNN(2, 3), torch.randn(4, 1, 2), loss="first")
    with pytest.raises(SeqlabError, match="unidirectional"):
        jacobian_norms(RNN(2, 3, bidirectional=True), torch.randn(4, 1, 2))
