"""Bad input gets an error that names what was expected and what came."""

import pytest
import torch

import seqlab.nn as snn
from seqlab.errors import SeqlabError


@pytest.fixture
def lstm():
    return snn.LSTM(3, 4, num_layers=2, batch_first=True)


@pytest.mark.parametrize("make_input, message", [
    (lambda: torch.randn(2, 5, 3, 1), r"expected a 3-D tensor \(B, T, I\) with I=3 .* got shape \(2, 5, 3, 1\)"),
    (lambda: torch.randn(5), r"expected a 3-D tensor .* got shape \(5,\)"),
    (lambda: torch.randn(2, 5, 7), r"expected 3 features in the last dimension, got shape \(5, 2, 7\)"),
    (lambda: torch.randn(2, 5, 3, dtype=torch.float64), r"expected dtype torch.float32 .* got torch.float64"),
    (lambda: [[1.0, 2.0, 3.0]], r"expected a tensor or a PackedSequence, got list"),
    (lambda: torch.randn(2, 0, 3), r"at least one time step"),
])
def test_bad_input(lstm, make_input, message):
    with pytest.raises(SeqlabError, match=message):
        lstm(make_input())


@pytest.mark.parametrize("lengths, message", [
    (torch.tensor([6, 2]), r"every length in \[1, T=5\], got values from 2 to 6"),
    (torch.tensor([0, 2]), r"every length in \[1, T=5\], got values from 0 to 2"),
    (torch.tensor([-1, 2]), r"got values from -1 to 2"),
    (torch.tensor([[5, 2]]), r"1-D tensor of B=2 lengths, got shape \(1, 2\)"),
    (torch.tensor([5, 2, 1]), r"B=2 lengths, got shape \(3,\)"),
    (torch.tensor([5.0, 2.0]), r"integer dtype, got torch.float32"),
    ("5,2", r"expected a 1-D integer tensor or list of 2 lengths, got str"),
])
def test_bad_lengths(lstm, lengths, message):
    with pytest.raises(SeqlabError, match=message):
        lstm(torch.randn(2, 5, 3), lengths=lengths)


def test_lengths_as_a_list_are_accepted(lstm):
    output, _ = lstm(torch.randn(2, 5, 3), lengths=[5, 3])
    assert output[1, 3:].abs().max() == 0


@pytest.mark.parametrize("hx, message", [
    (torch.zeros(2, 2, 4), r"expected a pair \(h_0, c_0\) for an LSTM"),
    ((torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)),
     r"h_0: expected shape \(2, 2, 4\) \(num_layers \* num_directions, batch, features\), got \(1, 2, 4\)"),
    ((torch.zeros(2, 2, 4), torch.zeros(2, 3, 4)), r"c_0: expected shape \(2, 2, 4\) .* got \(2, 3, 4\)"),
    ((torch.zeros(2, 2, 4, dtype=torch.float64), torch.zeros(2, 2, 4)), r"h_0: expected dtype torch.float32"),
])
def test_bad_initial_state(lstm, hx, message):
    with pytest.raises(SeqlabError, match=message):
        lstm(torch.randn(2, 5, 3), hx)


def test_initial_state_is_layer_major_even_when_batch_first(lstm):
    h0 = torch.randn(2, 3, 4)  # (num_layers, B, H) although the input is (B, T, I)
    _, (h_n, _) = lstm(torch.randn(3, 5, 3), (h0, torch.zeros(2, 3, 4)))
    assert h_n.shape == (2, 3, 4)


@pytest.mark.parametrize("call, message", [
    (lambda: snn.LSTMCell(3, 4)(torch.randn(2, 5)), r"expected 3 features in the last dimension, got shape \(2, 5\)"),
    (lambda: snn.GRUCell(3, 4)(torch.randn(2, 3), torch.zeros(3, 4)), r"hx: expected shape \(2, 4\), got \(3, 4\)"),
    (lambda: snn.RNNCell(3, 4)(torch.randn(1, 2, 3)), r"expected shape \(B, 3\) or \(3,\), got \(1, 2, 3\)"),
    (lambda: snn.RNNCell(3, 4, nonlinearity="sigmoid"), r"nonlinearity: expected one of 'tanh', 'relu', got 'sigmoid'"),
    (lambda: snn.LSTM(3, 4, proj_size=4), r"proj_size: expected 0 <= proj_size < hidden_size=4, got 4"),
    (lambda: snn.GRU(3, 4, dropout=1.5), r"dropout: expected a probability in \[0, 1\), got 1.5 \(float\)"),
    (lambda: snn.LSTM(0, 4), r"input_size: expected a positive integer, got 0 \(int\)"),
    (lambda: snn.LSTM(3, 4, init="he"), r"init: expected one of .* or a callable, got 'he'"),
])
def test_bad_construction_or_cell_input(call, message):
    with pytest.raises(SeqlabError, match=message):
        call()


def test_errors_are_value_errors():
    """Callers that catch ValueError (as they would for torch) catch ours."""
    assert issubclass(SeqlabError, ValueError)
