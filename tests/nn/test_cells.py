"""The cells: parity with torch.nn's cells, hand-computed steps from the equations, and parameter counts."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import seqlab.nn as snn
from seqlab.nn.gru_cell import gru_parameter_shapes
from seqlab.nn.lstm_cell import lstm_parameter_shapes

CELLS = {"rnn": (snn.RNNCell, nn.RNNCell), "lstm": (snn.LSTMCell, nn.LSTMCell), "gru": (snn.GRUCell, nn.GRUCell)}
TOLERANCES = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-5, atol=1e-5)}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(kind=st.sampled_from(sorted(CELLS)), I=st.integers(1, 6), H=st.integers(1, 6), B=st.integers(0, 4),
       bias=st.booleans(), with_state=st.booleans(), dtype=st.sampled_from([torch.float64, torch.float32]),
       seed=st.integers(0, 1000))
def test_cell_matches_torch(kind, I, H, B, bias, with_state, dtype, seed):
    """B = 0 stands for unbatched input (I,)."""
    ours_cls, theirs_cls = CELLS[kind]
    torch.manual_seed(seed)
    theirs = theirs_cls(I, H, bias=bias).to(dtype)
    ours = ours_cls(I, H, bias=bias).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    batch = (B,) if B else ()
    x = torch.randn(*batch, I, dtype=dtype)
    states = [torch.randn(*batch, H, dtype=dtype) for _ in range(2 if kind == "lstm" else 1)] if with_state else None

    def run(cell):
        cell.zero_grad()
        xi = x.clone().requires_grad_(True)
        si = None if states is None else [s.clone().requires_grad_(True) for s in states]
        hx = None if si is None else (tuple(si) if kind == "lstm" else si[0])
        out = cell(xi, hx)
        outs = out if isinstance(out, tuple) else (out,)
        sum((k + 1) * o.sin().sum() for k, o in enumerate(outs)).backward()
        grads = [p.grad for p in cell.parameters()] + [xi.grad] + ([] if si is None else [s.grad for s in si])
        return [o.detach() for o in outs], grads

    for a, b in zip(*[[t for part in run(c) for t in part] for c in (ours, theirs)]):
        torch.testing.assert_close(a, b, **TOLERANCES[dtype])


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def one_unit_lstm(**options):
    """A 1-input, 1-unit LSTM cell in float64 with every parameter set to a known value."""
    cell = snn.LSTMCell(1, 1, **options).double()
    with torch.no_grad():
        for name, p in cell.named_parameters():
            p.copy_(torch.linspace(0.1, 0.1 * p.numel(), p.numel(), dtype=torch.float64).view_as(p))
            if name.startswith("weight_c"):
                p.fill_({"weight_ci": 0.5, "weight_cf": -0.25, "weight_co": 0.75}[name])
    return cell


def test_peephole_step_by_hand():
    cell = one_unit_lstm(peephole=True)
    x, h, c = 0.5, -0.3, 0.8
    # weight_ih = weight_hh = bias_ih = bias_hh = [0.1, 0.2, 0.3, 0.4] for i, f, g, o
    pre = {gate: w * x + w * h + 2 * w for gate, w in zip("ifgo", (0.1, 0.2, 0.3, 0.4))}
    i = sigmoid(pre["i"] + 0.5 * c)  # i_t = sigma(... + w_ci * c_{t-1})
    f = sigmoid(pre["f"] - 0.25 * c)  # f_t = sigma(... + w_cf * c_{t-1})
    g = math.tanh(pre["g"])
    c_new = f * c + i * g
    o = sigmoid(pre["o"] + 0.75 * c_new)  # o_t sees the new cell state
    h_new = o * math.tanh(c_new)
    h_t, c_t = cell(torch.tensor([[x]], dtype=torch.float64),
                    (torch.tensor([[h]], dtype=torch.float64), torch.tensor([[c]], dtype=torch.float64)))
    assert h_t.item() == pytest.approx(h_new, abs=1e-14)
    assert c_t.item() == pytest.approx(c_new, abs=1e-14)


def test_coupled_step_by_hand():
    cell = one_unit_lstm(coupled=True)
    x, h, c = 0.5, -0.3, 0.8
    # three gates f, g, o with weights 0.1, 0.2, 0.3 everywhere
    pre = {gate: w * x + w * h + 2 * w for gate, w in zip("fgo", (0.1, 0.2, 0.3))}
    f = sigmoid(pre["f"])
    i = 1 - f  # CIFG
    c_new = f * c + i * math.tanh(pre["g"])
    h_new = sigmoid(pre["o"]) * math.tanh(c_new)
    h_t, c_t = cell(torch.tensor([[x]], dtype=torch.float64),
                    (torch.tensor([[h]], dtype=torch.float64), torch.tensor([[c]], dtype=torch.float64)))
    assert (h_t.item(), c_t.item()) == pytest.approx((h_new, c_new), abs=1e-14)


def layer_norm_by_hand(values, gain, shift, eps=1e-5):
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return [g * (v - mean) / math.sqrt(var + eps) + s for v, g, s in zip(values, gain, shift)]


@pytest.mark.parametrize("variant", ["whole", "per_gate"])
def test_layer_norm_step_by_hand(variant):
    """Two units, so each gate has two features and the per-gate statistics differ from the whole ones."""
    torch.manual_seed(0)
    cell = snn.LSTMCell(2, 2, layer_norm=variant).double()
    params = {n: p.detach().tolist() for n, p in cell.named_parameters()}
    x, h, c = [0.3, -0.7], [0.2, 0.5], [-0.4, 0.9]

    def matvec(W, v):
        return [sum(w * a for w, a in zip(row, v)) for row in W]

    def normalise(z, prefix):
        gain, shift = params[f"{prefix}_weight"], params[f"{prefix}_bias"]
        if variant == "whole":
            return layer_norm_by_hand(z, gain, shift)
        return [v for k in range(0, 8, 2) for v in layer_norm_by_hand(z[k:k + 2], gain[k:k + 2], shift[k:k + 2])]

    pre = [a + b + c1 + c2 for a, b, c1, c2 in zip(normalise(matvec(params["weight_ih"], x), "ln_ih"),
                                                   normalise(matvec(params["weight_hh"], h), "ln_hh"),
                                                   params["bias_ih"], params["bias_hh"])]
    i = [sigmoid(v) for v in pre[0:2]]
    f = [sigmoid(v) for v in pre[2:4]]
    g = [math.tanh(v) for v in pre[4:6]]
    o = [sigmoid(v) for v in pre[6:8]]
    c_new = [fk * ck + ik * gk for fk, ck, ik, gk in zip(f, c, i, g)]
    c_read = layer_norm_by_hand(c_new, params["ln_c_weight"], params["ln_c_bias"])
    h_new = [ok * math.tanh(v) for ok, v in zip(o, c_read)]
    h_t, c_t = cell(torch.tensor([x], dtype=torch.float64),
                    (torch.tensor([h], dtype=torch.float64), torch.tensor([c], dtype=torch.float64)))
    assert h_t[0].tolist() == pytest.approx(h_new, abs=1e-12)
    assert c_t[0].tolist() == pytest.approx(c_new, abs=1e-12)


def test_gru_reset_before_step_by_hand():
    """Cho et al.: r applies to h_{t-1} before W_hn; the code keeps PyTorch's z (h_t = (1 - z) n + z h)."""
    cell = snn.GRUCell(1, 1, reset_after=False).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[0.1], [0.2], [0.3]], dtype=torch.float64))
        cell.weight_hh.copy_(torch.tensor([[0.4], [0.5], [0.6]], dtype=torch.float64))
        cell.bias_ih.copy_(torch.tensor([0.01, 0.02, 0.03], dtype=torch.float64))
        cell.bias_hh.copy_(torch.tensor([0.04, 0.05, 0.06], dtype=torch.float64))
    x, h = 0.7, -0.5
    r = sigmoid(0.1 * x + 0.01 + 0.4 * h + 0.04)
    z = sigmoid(0.2 * x + 0.02 + 0.5 * h + 0.05)
    n = math.tanh(0.3 * x + 0.03 + 0.6 * (r * h) + 0.06)  # reset before the product
    expected = (1 - z) * n + z * h
    out = cell(torch.tensor([[x]], dtype=torch.float64), torch.tensor([[h]], dtype=torch.float64))
    assert out.item() == pytest.approx(expected, abs=1e-14)
    cell.reset_after = True
    n_after = math.tanh(0.3 * x + 0.03 + r * (0.6 * h + 0.06))
    out_after = cell(torch.tensor([[x]], dtype=torch.float64), torch.tensor([[h]], dtype=torch.float64))
    assert out_after.item() == pytest.approx((1 - z) * n_after + z * h, abs=1e-14)
    assert abs(out_after.item() - out.item()) > 1e-4


def test_rnn_relu_step_by_hand():
    cell = snn.RNNCell(2, 1, nonlinearity="relu").double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1.0, -2.0]]))
        cell.weight_hh.copy_(torch.tensor([[0.5]]))
        cell.bias_ih.fill_(0.25)
        cell.bias_hh.fill_(-0.5)
    h = torch.tensor([[2.0]], dtype=torch.float64)
    assert cell(torch.tensor([[1.0, 0.25]], dtype=torch.float64), h).item() == pytest.approx(1.25)  # 0.5+0.25+1-0.5
    assert cell(torch.tensor([[-1.0, 0.25]], dtype=torch.float64), h).item() == 0.0  # relu(-0.75)


@pytest.mark.parametrize("I, H", [(1, 1), (10, 20), (128, 256), (300, 7)])
def test_parameter_counts(I, H):
    """GRU: 3H(I+H+2); LSTM: 4H(I+H+2); so the GRU has exactly 3/4 of the LSTM's parameters."""
    gru, lstm = snn.GRU(I, H), snn.LSTM(I, H)
    n_gru = sum(p.numel() for p in gru.parameters())
    n_lstm = sum(p.numel() for p in lstm.parameters())
    assert n_gru == 3 * H * (I + H + 2)
    assert n_lstm == 4 * H * (I + H + 2)
    assert 4 * n_gru == 3 * n_lstm
    assert n_lstm == sum(p.numel() for p in nn.LSTM(I, H).parameters())
    # CIFG: three gates' weights instead of four
    gates = sum(math.prod(s) for s in lstm_parameter_shapes(I, H, coupled=True).values())
    assert 4 * gates == 3 * sum(math.prod(s) for s in lstm_parameter_shapes(I, H).values())
    assert sum(math.prod(s) for s in gru_parameter_shapes(I, H).values()) == n_gru
    # two layers, bidirectional: the second layer reads 2H features
    deep = snn.LSTM(I, H, num_layers=2, bidirectional=True)
    assert sum(p.numel() for p in deep.parameters()) == 2 * 4 * H * (I + H + 2) + 2 * 4 * H * (2 * H + H + 2)


def test_peephole_and_layer_norm_parameters_are_named_in_torch_scheme():
    layer = snn.LSTM(3, 4, num_layers=2, bidirectional=True, peephole=True, layer_norm="whole")
    names = dict(layer.named_parameters())
    for name, shape in {"weight_ci_l0": (4,), "weight_cf_l1_reverse": (4,), "weight_co_l1": (4,),
                        "ln_ih_weight_l0": (16,), "ln_hh_bias_l1_reverse": (16,), "ln_c_weight_l0": (4,)}.items():
        assert tuple(names[name].shape) == shape


def test_forget_bias_initialisation():
    cell = snn.LSTMCell(3, 5, forget_bias=1.0)
    H = 5
    assert torch.equal(cell.bias_ih[H:2 * H], torch.ones(H))
    assert torch.equal(cell.bias_hh[H:2 * H], torch.zeros(H))
    layer = snn.LSTM(3, 5, num_layers=2, forget_bias=1.0)
    assert torch.equal(layer.bias_ih_l1[H:2 * H] + layer.bias_hh_l1[H:2 * H], torch.ones(H))
