"""Parity of seqlab's RNN/LSTM/GRU layers with torch.nn's: same weights in, same outputs and gradients out.

Configurations are drawn by hypothesis: layers 1-3, bidirectional, batch_first, bias, proj_size,
padded / packed (``enforce_sorted=False``) / lengths / unbatched input, with and without an
initial state. State dicts are copied both ways; outputs, final states and the gradients of every
parameter, of the input and of the initial state are compared.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlab.nn as snn

TOLERANCES = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-5, atol=1e-5)}
PAIRS = {"rnn": (snn.RNN, nn.RNN), "lstm": (snn.LSTM, nn.LSTM), "gru": (snn.GRU, nn.GRU)}


@st.composite
def configurations(draw, kind):
    config = dict(
        kind=kind,
        input_size=draw(st.integers(1, 5)),
        hidden_size=draw(st.integers(2, 6)),
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        T=draw(st.integers(1, 6)),
        B=draw(st.integers(1, 4)),
        layout=draw(st.sampled_from(["padded", "packed", "unbatched"])),
        with_state=draw(st.booleans()),
        dtype=draw(st.sampled_from([torch.float64, torch.float32])),
        seed=draw(st.integers(0, 2**16)),
    )
    if kind == "rnn":
        config["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if kind == "lstm":
        config["proj_size"] = draw(st.integers(0, config["hidden_size"] - 1))
    config["lengths"] = draw(st.lists(st.integers(1, config["T"]), min_size=config["B"], max_size=config["B"]))
    return config


def build_pair(config, ours_from_theirs: bool, engine: str):
    ours_cls, theirs_cls = PAIRS[config["kind"]]
    kwargs = {k: config[k] for k in ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                                     "bidirectional", "nonlinearity", "proj_size") if k in config}
    torch.manual_seed(config["seed"])
    ours = ours_cls(**kwargs, engine=engine).to(config["dtype"])
    theirs = theirs_cls(**kwargs).to(config["dtype"])
    assert set(ours.state_dict()) == set(theirs.state_dict())
    if ours_from_theirs:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def run(module, config, x, state):
    """Forward + backward of a scalar loss touching every output; returns outputs and gradients."""
    module.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    state = None if state is None else tuple(s.detach().clone().requires_grad_(True) for s in state)
    hx = None if state is None else (state if config["kind"] == "lstm" else state[0])
    if config["layout"] == "packed":
        packed = pack_padded_sequence(x, torch.tensor(config["lengths"]), batch_first=config["batch_first"],
                                      enforce_sorted=False)
        output, final = module(packed, hx)
        output, _ = pad_packed_sequence(output, batch_first=config["batch_first"])
    else:
        output, final = module(x, hx)
    finals = final if isinstance(final, tuple) else (final,)
    weights = [torch.linspace(-1, 1, t.numel(), dtype=t.dtype).reshape(t.shape) for t in (output, *finals)]
    loss = sum((w * t).sum() for w, t in zip(weights, (output, *finals)))
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    grads["input"] = x.grad
    if state is not None:
        for k, s in enumerate(state):
            grads[f"state{k}"] = s.grad
    return (output.detach(), *[f.detach() for f in finals]), grads


def make_inputs(config, ours):
    g = torch.Generator().manual_seed(config["seed"] + 1)
    dtype, T, B = config["dtype"], config["T"], config["B"]
    if config["layout"] == "unbatched":
        x = torch.randn(T, config["input_size"], generator=g, dtype=dtype)
    elif config["batch_first"]:
        x = torch.randn(B, T, config["input_size"], generator=g, dtype=dtype)
    else:
        x = torch.randn(T, B, config["input_size"], generator=g, dtype=dtype)
    state = None
    if config["with_state"]:
        count = config["num_layers"] * (2 if config["bidirectional"] else 1)
        batch = () if config["layout"] == "unbatched" else (B,)
        state = tuple(torch.randn(count, *batch, size, generator=g, dtype=dtype) for size in ours.state_sizes)
    return x, state


def check_parity(config, ours_from_theirs, engine):
    ours, theirs = build_pair(config, ours_from_theirs, engine)
    x, state = make_inputs(config, ours)
    our_out, our_grads = run(ours, config, x, state)
    their_out, their_grads = run(theirs, config, x, state)
    tol = TOLERANCES[config["dtype"]]
    for a, b in zip(our_out, their_out):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **tol)
    assert our_grads.keys() == their_grads.keys()
    for name in our_grads:
        torch.testing.assert_close(our_grads[name], their_grads[name], **tol, msg=lambda m, n=name: f"{n}: {m}")


SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("engine", ["reference", "bptt"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("ours_from_theirs", [True, False], ids=["load-theirs", "load-ours"])
def test_layer_matches_torch(kind, ours_from_theirs, engine):
    """Our engines (the readable loop and the hand-written BPTT) against torch.nn's kernels."""
    @SETTINGS
    @given(configurations(kind))
    def check(config):
        check_parity(config, ours_from_theirs, engine)

    check()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_lengths_equal_packing(kind):
    """A padded batch with ``lengths`` gives the packed result: zero outputs past the end, states at the end."""
    ours_cls, _ = PAIRS[kind]
    torch.manual_seed(0)
    layer = ours_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, engine="reference").double()
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 3])
    out_lengths, final_lengths = layer(x, lengths=lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_packed, final_packed = layer(packed)
    out_packed, _ = pad_packed_sequence(out_packed, batch_first=True)
    torch.testing.assert_close(out_lengths, out_packed, rtol=0, atol=1e-12)
    for a, b in zip(final_lengths if kind == "lstm" else (final_lengths,),
                    final_packed if kind == "lstm" else (final_packed,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert out_lengths[1, 2:].abs().max() == 0


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_padding_gets_no_gradient(kind):
    ours_cls, _ = PAIRS[kind]
    torch.manual_seed(0)
    layer = ours_cls(3, 4, bidirectional=True, engine="reference").double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    output, _ = layer(x, lengths=torch.tensor([5, 3]))
    output.sum().backward()
    assert x.grad[3:, 1].abs().max() == 0
    assert x.grad[:3, 1].abs().min() > 0


def test_inter_layer_dropout_is_between_layers_only():
    """dropout acts between layers, never on the last layer's output (as torch.nn.LSTM)."""
    torch.manual_seed(0)
    one_layer = snn.LSTM(3, 4, num_layers=1, dropout=0.5).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    one_layer.train()
    train_out, _ = one_layer(x)
    one_layer.eval()
    eval_out, _ = one_layer(x)
    torch.testing.assert_close(train_out, eval_out)
    two_layers = snn.LSTM(3, 4, num_layers=2, dropout=0.5).double().train()
    first, _ = two_layers(x)
    second, _ = two_layers(x)
    assert not torch.allclose(first, second)
