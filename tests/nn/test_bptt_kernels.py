"""The compiled bptt kernels against their PyTorch specification, piece by piece.

* the per-step product (``csrc/gemm.h``), by every method the build has, against ``torch.mm``;
* the LSTM and layer-norm LSTM sequence operators against the loops of ``seqlab.nn.bptt.lstm`` and
  ``lstm_ln`` written in PyTorch operations: every saved buffer of the forward and every output of
  the backward, in float64, over configurations drawn by hypothesis;
* inference keeps one slot of the per-step buffers, whatever T;
* float32 through the layer against ``torch.nn.LSTM`` at the batch sizes that take each path of the
  product's row blocking.

Skipped where the kernels cannot be built (no C++ compiler); the fallback is what the other bptt
tests then exercise.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqlab.nn as snn
from seqlab.nn.bptt import _kernels, lstm, lstm_ln

pytestmark = pytest.mark.skipif(not _kernels.kernels().compiled,
                                reason="the bptt kernels could not be built here (no C++ compiler?)")

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def ops():
    return torch.ops.seqlab_bptt


@SETTINGS
@given(M=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 32]), K=st.integers(1, 40), N=st.integers(1, 70),
       transposed=st.booleans(), accumulate=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_the_recurrent_product_matches_torch_mm(M, K, N, transposed, accumulate, dtype):
    g = torch.Generator().manual_seed(M * 1000 + K * 10 + N)
    a = torch.randn(M, K, generator=g, dtype=dtype)
    weight = torch.randn(N, K, generator=g, dtype=dtype) if transposed else torch.randn(K, N, generator=g, dtype=dtype)
    c = torch.randn(M, N, generator=g, dtype=dtype) if accumulate else None
    expected = a @ (weight.t() if transposed else weight) + (c if accumulate else 0)
    methods = ops().recurrent_product_methods()
    assert "aten" in methods
    for method in methods:
        if method == "mkl" and dtype == torch.float64:
            continue  # MKL's packed API is float32 only
        out = ops().recurrent_product(a, weight, transposed, c, method)
        tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out, expected, **tol, msg=lambda m, method=method: f"{method}: {m}")


@st.composite
def sequences(draw, layer_norm: bool):
    T, B, H = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    coupled = draw(st.booleans())
    H_out = draw(st.integers(1, H - 1)) if H > 1 and draw(st.booleans()) else H
    zoneout = draw(st.sampled_from([None, "masks", "probability"]))
    return dict(T=T, B=B, H=H, H_out=H_out, G=3 if coupled else 4, coupled=coupled, zoneout=zoneout,
                peephole=draw(st.booleans()), reverse=draw(st.booleans()), lengths=draw(st.booleans()),
                recurrent_mask=draw(st.booleans()), per_gate=layer_norm and draw(st.booleans()),
                seed=draw(st.integers(0, 2**16)))


def sequence_inputs(c, layer_norm: bool):
    """The arguments both implementations take, in float64."""
    g = torch.Generator().manual_seed(c["seed"])
    T, B, H, H_out, G = c["T"], c["B"], c["H"], c["H_out"], c["G"]

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    lengths = torch.randint(1, T + 1, (B,), generator=g)
    keep_h, keep_c = {"masks": ((randn(T, B, H_out) > 0).double(), (randn(T, B, H) > 0).double()),
                      "probability": (0.3, 0.3), None: (None, None)}[c["zoneout"]]
    args = dict(xg=randn(T, B, G * H), h0=randn(B, H_out), c0=randn(B, H), weight_hh=randn(G * H, H_out) / 2,
                weight_hr=randn(H_out, H) if H_out != H else None, peep=randn(3, H) if c["peephole"] else None,
                keep_h=keep_h, keep_c=keep_c,
                valid=(torch.arange(T)[:, None] < lengths[None, :]).unsqueeze(-1) if c["lengths"] else None,
                recurrent_mask=(randn(B, H_out) > 0).double() * 2 if c["recurrent_mask"] else None)
    if layer_norm:  # xg is then z_ih = W_ih x, normalised inside the step
        args |= dict(ln_ih=randn(2, G * H), ln_hh=randn(2, G * H), ln_c=randn(2, H))
    return args, randn(T, B, H_out), randn(B, H_out), randn(B, H)


def assert_all_close(ours, theirs, what):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a is None or b is None:
            assert a is None and b is None, f"{what}[{i}]: one side has no buffer"
            continue
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=lambda m, i=i: f"{what}[{i}]: {m}")


@SETTINGS
@given(c=sequences(layer_norm=False))
def test_the_lstm_sequence_operators_match_the_pytorch_loops(c):
    args, d_output, d_h_n, d_c_n = sequence_inputs(c, layer_norm=False)
    flags = dict(reverse=c["reverse"], coupled=c["coupled"])
    a = args
    _hs, c_n, saved = lstm._forward_loop(*(a | dict(xg=a["xg"].clone())).values(), **flags, save=True)
    (mask_h, p_h), (mask_c, p_c) = lstm.split_keep(args["keep_h"]), lstm.split_keep(args["keep_c"])
    gates = a["xg"].clone()  # the input projections in, the activations out
    hs, cs, c_cell, ms, c_n_compiled = ops().lstm_sequence_forward(
        gates, a["h0"], a["c0"], a["weight_hh"], a["weight_hr"], a["peep"], mask_h, mask_c, p_h, p_c, a["valid"],
        a["recurrent_mask"], c["reverse"], c["coupled"], True)
    compiled = [hs, cs, gates, lstm.optional(c_cell), lstm.optional(ms), c_n_compiled]
    assert_all_close(compiled, [*saved, c_n], "forward")

    _hs, cs, acts, c_cell, _ms = saved
    d_out = d_output if a["valid"] is None else d_output * a["valid"]
    expected = lstm._backward_loop(d_out, d_h_n, d_c_n, cs, acts, c_cell, a["weight_hh"], a["weight_hr"], a["peep"],
                                   a["keep_h"], a["keep_c"], a["valid"], a["recurrent_mask"], **flags)
    got = ops().lstm_sequence_backward(d_out, d_h_n, d_c_n, cs, acts, c_cell, a["weight_hh"], a["weight_hr"],
                                       a["peep"], mask_h, mask_c, p_h, p_c, a["valid"], a["recurrent_mask"],
                                       c["reverse"], c["coupled"])
    assert_all_close(list(map(lstm.optional, got)), list(expected), "backward")


@SETTINGS
@given(c=sequences(layer_norm=True))
def test_the_layer_norm_lstm_sequence_operators_match_the_pytorch_loops(c):
    args, d_output, d_h_n, d_c_n = sequence_inputs(c, layer_norm=True)
    a = args
    flags = dict(reverse=c["reverse"], coupled=c["coupled"], per_gate=c["per_gate"])
    ordered = [a[name] for name in ("xg", "h0", "c0", "weight_hh", "ln_ih", "ln_hh", "ln_c", "weight_hr", "peep",
                                    "keep_h", "keep_c", "valid", "recurrent_mask")]
    _hs, c_n, saved = lstm_ln._forward_loop(a["xg"].clone(), *ordered[1:], **flags, save=True)
    (mask_h, p_h), (mask_c, p_c) = lstm.split_keep(a["keep_h"]), lstm.split_keep(a["keep_c"])
    z_ih = a["xg"].clone()  # W_ih x in, LN(W_ih x) out
    hs, cs, acts, *norms, c_cell, ms, c_n_compiled = ops().lstm_ln_sequence_forward(
        z_ih, a["h0"], a["c0"], a["weight_hh"], a["ln_ih"], a["ln_hh"], a["ln_c"], a["weight_hr"], a["peep"], mask_h,
        mask_c, p_h, p_c, a["valid"], a["recurrent_mask"], c["reverse"], c["coupled"], c["per_gate"], True)
    compiled = [hs, cs, acts, z_ih, *norms, lstm.optional(c_cell), lstm.optional(ms), c_n_compiled]
    assert_all_close(compiled, [*saved, c_n], "forward")

    d_out = d_output if a["valid"] is None else d_output * a["valid"]
    expected = lstm_ln._backward_loop(d_out, d_h_n, d_c_n, saved, a["weight_hh"], a["ln_ih"], a["ln_hh"], a["ln_c"],
                                      a["weight_hr"], a["peep"], a["keep_h"], a["keep_c"], a["valid"],
                                      a["recurrent_mask"], **flags)
    _hs, cs, acts, zhat_ih, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, _ms = saved
    got = ops().lstm_ln_sequence_backward(
        d_out, d_h_n, d_c_n, cs, acts, zhat_ih, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, a["weight_hh"], a["ln_ih"],
        a["ln_hh"], a["ln_c"], a["weight_hr"], a["peep"], mask_h, mask_c, p_h, p_c, a["valid"], a["recurrent_mask"],
        c["reverse"], c["coupled"], c["per_gate"])
    assert_all_close(list(map(lstm.optional, got)), list(expected), "backward")


@pytest.mark.parametrize("layer_norm", [False, True])
def test_inference_keeps_one_slot_of_the_per_step_buffers(layer_norm):
    """Without backward to feed, only the outputs (and the input projections) grow with T: one slot of the
    per-step buffers (gates of the layer-norm LSTM, norms, c before zoneout), two of c."""
    T, B, H = 50, 2, 3
    c = dict(T=T, B=B, H=H, H_out=H, G=4, coupled=False, zoneout="probability", peephole=True, reverse=True,
             lengths=True, recurrent_mask=False, per_gate=False, seed=3)
    a, *_ = sequence_inputs(c, layer_norm)
    # keep masks (none), zoneout probabilities, lengths, recurrent mask (none), reverse, coupled
    common = (None, None, 0.3, 0.3, a["valid"], None, True, False)
    if layer_norm:
        outputs = ops().lstm_ln_sequence_forward(a["xg"], a["h0"], a["c0"], a["weight_hh"], a["ln_ih"], a["ln_hh"],
                                                 a["ln_c"], None, a["peep"], *common, False, False)
        hs, cs, acts, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, _ms, _c_n = outputs
        assert {t.shape[0] for t in (acts, rstd_ih, zhat, rstd, chat, rstd_c)} == {1}
    else:  # the activations go over the input projections, in their (T, B, G*H) buffer
        hs, cs, c_cell, _ms, _c_n = ops().lstm_sequence_forward(a["xg"], a["h0"], a["c0"], a["weight_hh"], None,
                                                                a["peep"], *common, False)
    assert hs.shape == (T + 1, B, H)
    assert cs.shape == (2, B, H) and c_cell.shape == (1, B, H)
    # and the values are those of the forward that saves everything
    layer = snn.LSTM(3, H, layer_norm="whole" if layer_norm else None, peephole=True, zoneout=0.3,
                     bidirectional=True, engine="bptt").double().eval()
    x = torch.randn(T, B, 3, dtype=torch.float64)
    with torch.no_grad():
        lean, (h_lean, c_lean) = layer(x, lengths=torch.tensor([T, 7]))
    full, (h_full, c_full) = layer(x.requires_grad_(), lengths=torch.tensor([T, 7]))
    for ours, theirs in ((lean, full), (h_lean, h_full), (c_lean, c_full)):
        torch.testing.assert_close(ours, theirs.detach(), rtol=0, atol=0)


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 7, 8, 9, 13])
def test_float32_matches_torch_nn_lstm_at_every_row_blocking(batch):
    """Batch sizes that take each path of the product's row blocking; H = 20 leaves a partial panel."""
    torch.manual_seed(batch)
    theirs = torch.nn.LSTM(6, 20, proj_size=7 if batch % 2 else 0)
    ours = snn.LSTM(6, 20, proj_size=7 if batch % 2 else 0, engine="bptt")
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(9, batch, 6)
    results = []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_()
        output, (h_n, c_n) = module(xi)
        (output.sum() + h_n.square().sum() + c_n.sum()).backward()
        results.append([output, h_n, c_n, xi.grad, *(p.grad for p in module.parameters())])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
