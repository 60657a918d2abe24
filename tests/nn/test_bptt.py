"""The bptt and torch engines against the reference loop: same outputs, states and every gradient.

Configurations are drawn by hypothesis (layers 1-3, bidirectional, batch_first, bias, lengths,
packed input with enforce_sorted=False, initial states, every variant the engine supports, and the
random regularisers in training mode), in float64, to 1e-10. The random masks come from the same
seed, so the engines must also agree on which units they drop.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence

import seqlab.nn as snn
from seqlab.errors import SeqlabError
from seqlab.nn.bptt import _kernels

TOL = dict(rtol=1e-10, atol=1e-10)


@pytest.fixture(params=["compiled", "pytorch"])
def kernel_path(request):
    """Run a test with the compiled kernels and again with the pure-PyTorch fallback.

    Without a C++ compiler the kernels cannot be built: the compiled run is skipped, the fallback still runs.
    """
    if request.param == "compiled" and not _kernels.kernels().compiled:
        pytest.skip("the bptt kernels could not be built here (no C++ compiler?)")
    if request.param == "pytorch":
        _kernels.use_compiled(False)
    try:
        yield request.param
    finally:
        _kernels.use_compiled(None)


@st.composite
def configurations(draw):
    kind = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(2, 4))
    options = dict(input_size=draw(st.integers(1, 3)), hidden_size=hidden, num_layers=draw(st.integers(1, 3)),
                   bias=draw(st.booleans()), batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()))
    if kind == "rnn":
        options["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    elif kind == "lstm":
        options |= dict(proj_size=draw(st.integers(0, hidden - 1)), peephole=draw(st.booleans()),
                        coupled=draw(st.booleans()), layer_norm=draw(st.sampled_from([None, "whole", "per_gate"])))
    else:
        options["reset_after"] = draw(st.booleans())
    training = draw(st.booleans())
    if draw(st.booleans()):
        options |= {name: draw(st.sampled_from([0.0, 0.3])) for name in
                    ("dropout", "input_dropout", "recurrent_dropout", "weight_drop", "zoneout")}
    T, B = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    return dict(kind=kind, options=options, training=training, T=T, B=B,
                layout=draw(st.sampled_from(["padded", "lengths", "packed"])),
                lengths=draw(st.lists(st.integers(1, T), min_size=B, max_size=B)),
                with_state=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


LAYERS = {"rnn": snn.RNN, "lstm": snn.LSTM, "gru": snn.GRU}


def run_engine(layer, engine, config, x, hx):
    """Outputs, final states and the gradients of input, initial state and every parameter."""
    layer.engine = engine
    torch.manual_seed(config["seed"] + 1)  # the same masks for every engine
    x = x.clone().requires_grad_()
    hx = None if hx is None else tuple(h.clone().requires_grad_() for h in hx)
    lengths = torch.tensor(config["lengths"])
    given_hx = None if hx is None else (hx if len(hx) == 2 else hx[0])
    if config["layout"] == "packed":
        inputs = pack_padded_sequence(x, lengths, batch_first=layer.batch_first, enforce_sorted=False)
        output, final = layer(inputs, given_hx)
        output = output.data
    else:
        output, final = layer(x, given_hx, lengths=lengths if config["layout"] == "lengths" else None)
    finals = final if isinstance(final, tuple) else (final,)
    weights = [torch.linspace(-1, 1, t.numel(), dtype=t.dtype).view_as(t) for t in (output, *finals)]
    loss = sum((t * w).sum() for t, w in zip((output, *finals), weights)) + (output**2).sum()
    inputs = [x, *(hx or ()), *layer.parameters()]
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    grads = [torch.zeros_like(i) if g is None else g for i, g in zip(inputs, grads)]
    return [output.detach(), *(f.detach() for f in finals)], grads


def build(config):
    torch.manual_seed(config["seed"])
    layer = LAYERS[config["kind"]](**config["options"]).double()
    layer.train(config["training"])
    T, B, I = config["T"], config["B"], layer.input_size
    x = torch.randn(B, T, I) if layer.batch_first else torch.randn(T, B, I)
    hx = None
    if config["with_state"]:
        count = layer.num_layers * layer.num_directions
        hx = tuple(torch.randn(count, B, size) for size in layer.state_sizes)
    return layer, x.double(), None if hx is None else tuple(h.double() for h in hx)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(config=configurations())
def test_engines_agree_with_the_reference_loop(config):
    layer, x, hx = build(config)
    reference_values, reference_grads = run_engine(layer, "reference", config, x, hx)
    engines = [e for e in layer.supported_engines() if e != "reference"]
    assert "bptt" in engines  # every configuration drawn here is one the bptt engine supports
    for engine in engines:
        values, grads = run_engine(layer, engine, config, x, hx)
        for ours, theirs in zip(values, reference_values):
            torch.testing.assert_close(ours, theirs, **TOL, msg=f"{engine}: values differ")
        for ours, theirs in zip(grads, reference_grads):
            torch.testing.assert_close(ours, theirs, **TOL, msg=f"{engine}: gradients differ")


@pytest.mark.parametrize("kind, options", [
    ("lstm", dict(num_layers=2, bidirectional=True, peephole=True, proj_size=2, zoneout=0.3, recurrent_dropout=0.3)),
    ("lstm", dict(coupled=True, peephole=True, weight_drop=0.3)),
    ("lstm", dict(layer_norm="per_gate", peephole=True, proj_size=2, zoneout=0.3, recurrent_dropout=0.3)),
    ("gru", dict(num_layers=2, bidirectional=True, zoneout=0.3, recurrent_dropout=0.3)),
    ("gru", dict(reset_after=False, bidirectional=True, zoneout=0.3, recurrent_dropout=0.3)),
    ("rnn", dict(nonlinearity="relu", bidirectional=True, zoneout=0.3, recurrent_dropout=0.3)),
])
def test_both_kernel_paths_match_the_reference(kernel_path, kind, options):
    config = dict(kind=kind, options=dict(input_size=3, hidden_size=4) | options, training=True, T=5, B=3,
                  layout="lengths", lengths=[5, 2, 4], with_state=True, seed=7)
    layer, x, hx = build(config)
    assert _kernels.kernels().compiled == (kernel_path == "compiled")
    reference_values, reference_grads = run_engine(layer, "reference", config, x, hx)
    values, grads = run_engine(layer, "bptt", config, x, hx)
    for ours, theirs in zip([*values, *grads], [*reference_values, *reference_grads]):
        torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("layer_norm", ["whole", "per_gate"])
@pytest.mark.parametrize("options", [
    dict(peephole=True),
    dict(coupled=True, proj_size=2),
    dict(peephole=True, coupled=True, bidirectional=True),
    dict(proj_size=3, num_layers=2, recurrent_dropout=0.3, zoneout=0.3),
], ids=["peephole", "coupled-proj", "peephole-coupled-bidirectional", "proj-2layers-dropouts"])
def test_layer_norm_lstm_matches_the_reference(kernel_path, layer_norm, options):
    """The layer-norm LSTM on the bptt engine against the reference loop, float64: outputs, final states and
    the gradients of the input, the initial states and every parameter, with lengths."""
    config = dict(kind="lstm", options=dict(input_size=3, hidden_size=5, layer_norm=layer_norm) | options,
                  training=True, T=6, B=4, layout="lengths", lengths=[6, 2, 5, 1], with_state=True, seed=11)
    layer, x, hx = build(config)
    reference_values, reference_grads = run_engine(layer, "reference", config, x, hx)
    values, grads = run_engine(layer, "bptt", config, x, hx)
    assert len(grads) == len(reference_grads) == 3 + len(list(layer.parameters()))
    for ours, theirs in zip([*values, *grads], [*reference_values, *reference_grads]):
        torch.testing.assert_close(ours, theirs, **TOL)


def test_inference_without_grad_gives_the_same_values():
    for layer in (snn.LSTM(3, 4, 2, proj_size=2, peephole=True, zoneout=0.2), snn.GRU(3, 4, reset_after=False),
                  snn.RNN(3, 4, bidirectional=True)):
        layer = layer.double().eval()
        x = torch.randn(6, 2, 3, dtype=torch.float64)
        layer.engine = "reference"
        expected, _ = layer(x, lengths=torch.tensor([6, 3]))
        layer.engine = "bptt"
        with torch.no_grad():
            output, _ = layer(x, lengths=torch.tensor([6, 3]))
        torch.testing.assert_close(output, expected, **TOL)


def test_auto_picks_the_fastest_engine_that_supports_the_configuration():
    plain = snn.LSTM(8, 16, num_layers=2, dropout=0.1)  # the demo's model
    # the compiled bptt LSTM matches or beats oneDNN's (benchmarks/rnn.py); without a compiler, torch is faster
    fastest = "bptt" if _kernels.kernels().compiled else "torch"
    assert plain.supported_engines() == (fastest, *{"bptt": ("torch",), "torch": ("bptt",)}[fastest], "reference")
    assert plain.half().supported_engines()[0] == "torch"  # the kernels cover float32 and float64 only
    _kernels.use_compiled(False)
    try:
        assert snn.LSTM(8, 16).supported_engines()[0] == "torch"
    finally:
        _kernels.use_compiled(None)
    assert snn.LSTM(8, 16, peephole=True).supported_engines()[0] == "bptt"
    assert snn.GRU(8, 16, reset_after=False).supported_engines()[0] == "bptt"
    assert snn.GRU(8, 16).supported_engines() == ("bptt", "torch", "reference")  # measured faster than torch's GRU
    assert snn.RNN(8, 16).supported_engines() == ("bptt", "torch", "reference")
    assert snn.LSTM(8, 16, layer_norm="whole").supported_engines() == ("bptt", "reference")
    with_recurrent_dropout = snn.LSTM(8, 16, recurrent_dropout=0.2)
    assert with_recurrent_dropout.supported_engines() == ("bptt", "reference")
    assert "torch" in with_recurrent_dropout.eval().supported_engines()  # inactive at evaluation


def test_engine_errors_name_what_was_expected():
    with pytest.raises(SeqlabError, match="engine: expected one of auto, reference, bptt, torch"):
        snn.LSTM(3, 4, engine="cudnn")
    with pytest.raises(SeqlabError, match="engine='torch'"):
        snn.LSTM(3, 4, peephole=True, engine="torch")(torch.randn(2, 1, 3))
    with pytest.raises(SeqlabError, match="zoneout"):
        snn.GRU(3, 4, zoneout=0.1, engine="torch")(torch.randn(2, 1, 3))


def test_double_backward_is_refused_with_a_clear_error():
    lstm = snn.LSTM(3, 4, engine="bptt").double()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    output, _ = lstm(x)
    with pytest.raises(SeqlabError, match="double backward"):
        torch.autograd.grad(output.sum(), x, create_graph=True)
    (grad,) = torch.autograd.grad(lstm(x)[0].sum(), x)  # first order is fine
    assert grad.shape == x.shape


def test_trace_runs_the_reference_loop_even_when_another_engine_is_chosen():
    lstm = snn.LSTM(3, 4, engine="bptt")
    with snn.record_trace(lstm) as trace:
        lstm(torch.randn(5, 2, 3))
    assert trace[0, 0]["f"].shape == (5, 2, 4)


def test_float32_bptt_matches_torch_nn_lstm():
    theirs = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    ours = snn.LSTM(8, 16, num_layers=2, bidirectional=True, engine="bptt")
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 3, 8)
    expected, (h, c) = theirs(x)
    output, (h_n, c_n) = ours(x)
    for a, b in ((output, expected), (h_n, h), (c_n, c)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
