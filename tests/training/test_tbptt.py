"""TBPTT(k1, k2): updates every k1 steps, gradients reaching exactly k2 steps back, state carried."""

import pytest
import torch
import torch.nn.functional as F

import seqlab.nn as snn
from seqlab.errors import SeqlabError
from seqlab.training.tbptt import truncated_bptt


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = snn.LSTM(3, 4).double()
        self.head = torch.nn.Linear(4, 3).double()

    def forward(self, inputs, state):
        output, state = self.lstm(inputs, state)
        return self.head(output), state


def data(T=12, B=2):
    return torch.randn(T, B, 3, dtype=torch.float64), torch.randn(T, B, 3, dtype=torch.float64)


def test_k1_equal_k2_is_chunked_training_with_the_state_detached():
    x, y = data()
    model = Tiny()
    manual = Tiny()
    manual.load_state_dict(model.state_dict())
    result = truncated_bptt(model, x, y, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.1), k1=4, k2=4)
    opt, state, losses = torch.optim.SGD(manual.parameters(), lr=0.1), None, []
    for start in range(0, 12, 4):
        out, state = manual(x[start : start + 4], state)
        loss = F.mse_loss(out, y[start : start + 4])
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = snn.detach_state(state)
        losses.append(loss.item())
    assert result.losses == pytest.approx(losses, rel=1e-12)
    for a, b in zip(model.parameters(), manual.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradient_reaches_back_exactly_k2_steps():
    x, y = data(T=6)
    model = Tiny()
    result = truncated_bptt(model, x, y, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.0), k1=2, k2=4)
    grads = [p.grad.clone() for p in model.parameters()]  # those of the last update, steps 4..5
    with torch.no_grad():
        _, state = model(x[:2], None)  # the state at t - k2 = 2 enters as a constant
    _, state = model(x[2:4], state)
    out, final = model(x[4:6], state)
    expected = torch.autograd.grad(F.mse_loss(out, y[4:6]), list(model.parameters()))
    for a, b in zip(grads, expected):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(result.state, final):  # lr=0: the carried state is the whole run's state
        torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)
    assert not result.state[0].requires_grad
    assert len(result.losses) == 3


def test_a_short_last_chunk_gets_its_own_update_and_the_state_carries_on():
    x, y = data(T=7)
    model = Tiny()
    first = truncated_bptt(model, x, y, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.0), k1=3, k2=5)
    assert len(first.losses) == 3
    with torch.no_grad():
        _, whole = model(x, None)
    torch.testing.assert_close(first.state[1], whole[1], rtol=1e-12, atol=1e-12)


def test_bad_windows_are_refused():
    x, y = data()
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(SeqlabError, match="k1=5, k2=3"):
        truncated_bptt(model, x, y, F.mse_loss, opt, k1=5, k2=3)
    with pytest.raises(SeqlabError, match="targets"):
        truncated_bptt(model, x, y[:5], F.mse_loss, opt, k1=2, k2=2)
