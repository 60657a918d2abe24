"""Tracing leaves results unchanged; carried state; initialisation schemes."""

import pytest
import torch

import seqlab.nn as snn
from seqlab.errors import SeqlabError


@pytest.mark.parametrize("layer_cls, gates", [(snn.LSTM, "ifgo"), (snn.GRU, "rzn"), (snn.RNN, "")])
def test_trace_records_every_step_without_changing_results(layer_cls, gates):
    """Bit for bit on the reference engine (tracing runs it whatever the layer's engine)."""
    torch.manual_seed(0)
    layer = layer_cls(3, 4, num_layers=2, bidirectional=True, engine="reference").double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    output, _ = layer(x)
    output.pow(2).sum().backward()
    plain_grads = [p.grad.clone() for p in layer.parameters()] + [x.grad.clone()]
    layer.zero_grad()
    x.grad = None
    with snn.record_trace(layer) as trace:
        traced_output, _ = layer(x)
    traced_output.pow(2).sum().backward()
    assert torch.equal(output, traced_output)
    for a, b in zip(plain_grads, [p.grad for p in layer.parameters()] + [x.grad]):
        assert torch.equal(a, b)
    assert sorted(trace.keys()) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for name in ("h", *gates):
        assert trace[1, 1][name].shape == (5, 2, 4)
    # the last layer's traced h is the layer's output: forward direction first, reverse second
    torch.testing.assert_close(trace[1, 0]["h"], output[..., :4].detach())
    torch.testing.assert_close(trace[1, 1]["h"], output[..., 4:].detach())
    if gates == "ifgo":
        f = trace[0, 0]["f"]
        assert ((f > 0) & (f < 1)).all()


@pytest.mark.parametrize("layer_cls", [snn.LSTM, snn.GRU])
def test_trace_of_a_fast_engine_layer_matches_its_untraced_output(layer_cls):
    torch.manual_seed(0)
    layer = layer_cls(3, 4, num_layers=2).double()  # engine="auto": a fused engine when untraced
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    output, _ = layer(x)
    with snn.record_trace(layer) as trace:
        traced_output, _ = layer(x)
    torch.testing.assert_close(traced_output, output, rtol=0, atol=1e-12)
    torch.testing.assert_close(trace[1, 0]["h"], output, rtol=0, atol=1e-12)


def test_trace_is_removed_after_the_block():
    layer = snn.GRU(2, 3)
    with snn.record_trace(layer) as trace:
        layer(torch.randn(4, 1, 2))
    layer(torch.randn(6, 1, 2))
    assert trace[0, 0]["h"].shape[0] == 4
    with pytest.raises(SeqlabError, match="holds no seqlab recurrent layer"), snn.record_trace(torch.nn.Linear(2, 2)):
        pass


def test_carried_state_equals_one_long_run():
    """Running a stream in chunks with the state carried (and detached) equals one pass over it."""
    torch.manual_seed(0)
    lstm = snn.LSTM(1, 6, num_layers=2).double()
    stream = torch.arange(101, dtype=torch.float64)
    chunks, state = [], None
    for inputs, targets in snn.stream_batches(stream, batch_size=4, seq_len=7):
        assert torch.equal(targets[:-1], inputs[1:])
        output, state = lstm(inputs.unsqueeze(-1) / 100, state)
        state = snn.detach_state(state)
        assert not state[0].requires_grad
        chunks.append(output)
    columns = stream[: 100].view(4, 25).t()  # (25, 4): column b continues across chunks
    full, _ = lstm(columns[:-1].unsqueeze(-1) / 100)
    torch.testing.assert_close(torch.cat(chunks), full, rtol=0, atol=1e-12)


def test_stream_batches_rejects_bad_streams():
    with pytest.raises(SeqlabError, match=r"1-D tensor of token ids, got shape \(2, 3\)"):
        next(snn.stream_batches(torch.zeros(2, 3), 2, 4))
    with pytest.raises(SeqlabError, match="too few"):
        next(snn.stream_batches(torch.zeros(3), 2, 4))


def test_init_schemes():
    torch.manual_seed(0)
    layer = snn.LSTM(5, 8, init="xavier_orthogonal", forget_bias=1.0)
    for block in layer.weight_hh_l0.split(8):
        torch.testing.assert_close(block @ block.T, torch.eye(8), atol=1e-5, rtol=0)
    assert torch.equal(layer.bias_ih_l0[8:16], torch.ones(8))
    assert torch.equal(layer.bias_ih_l0[:8], torch.zeros(8))
    default = snn.LSTM(5, 8)
    bound = 8 ** -0.5
    assert all(p.abs().max() <= bound for p in default.parameters())
    irnn = snn.RNN(5, 8, nonlinearity="relu", init="identity")
    assert torch.equal(irnn.weight_hh_l0, torch.eye(8))
    marker = []
    snn.GRU(2, 3, init=lambda module: marker.append(type(module).__name__))
    assert marker == ["GRU"]
    normed = snn.LSTM(5, 8, layer_norm="per_gate")
    assert torch.equal(normed.ln_ih_weight_l0, torch.ones(32)) and torch.equal(normed.ln_c_bias_l0, torch.zeros(8))
