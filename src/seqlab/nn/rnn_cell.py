"""The Elman RNN cell: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlab import checks as _checks
from seqlab.nn._cellbase import CellBase

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def rnn_parameter_shapes(input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one RNN cell, as PyTorch lays them out."""
    shapes = {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size)}
    if bias:
        shapes |= {"bias_ih": (hidden_size,), "bias_hh": (hidden_size,)}
    return shapes


def rnn_step(x: torch.Tensor, h: torch.Tensor, params: dict[str, torch.Tensor], *,
             nonlinearity: str = "tanh", recurrent_mask: torch.Tensor | None = None):
    """One step of the Elman RNN.

        h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   phi = tanh or relu

    Args:
        x: x_t, shape (B, I).
        h: h_{t-1}, shape (B, H).
        params: ``weight_ih`` (H, I), ``weight_hh`` (H, H), optional ``bias_ih``, ``bias_hh`` (H,).
        nonlinearity: "tanh" or "relu".
        recurrent_mask: variational dropout mask on h_{t-1} where it enters W_hh, shape (B, H).

    Returns:
        ``((h_t,), gates)`` where ``gates`` is empty: the RNN has none.
    """
    phi = NONLINEARITIES[nonlinearity]
    h_in = h if recurrent_mask is None else h * recurrent_mask
    h_t = phi(F.linear(x, params["weight_ih"], params.get("bias_ih"))
              + F.linear(h_in, params["weight_hh"], params.get("bias_hh")))  # (B, H)
    return (h_t,), {}


class RNNCell(CellBase):
    r"""An Elman RNN cell, one time step.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    where x_t is the input at step t, h_{t-1} the previous hidden state, W_ih (H, I) and
    W_hh (H, H) the input and recurrent weights, b_ih, b_hh their biases and phi is tanh or
    relu. The curriculum writes one bias b = b_ih + b_hh; PyTorch keeps two, and so do we so
    that its weights load unchanged.

    Args:
        input_size: I, features of x_t.
        hidden_size: H, features of h_t.
        bias: if False, b_ih and b_hh are absent.
        nonlinearity: "tanh" (default) or "relu".
        init: "torch" (U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default), "xavier_orthogonal", or a
            callable that takes the cell.

    Shape:
        input (B, I) or (I,); hx (B, H) or (H,); output h' of the same leading shape.

    Example:
        >>> cell = RNNCell(10, 20)
        >>> cell(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 init="torch", device=None, dtype=None):
        self.nonlinearity = _checks.choice(nonlinearity, "nonlinearity", NONLINEARITIES)
        super().__init__(input_size, hidden_size, rnn_parameter_shapes(input_size, hidden_size, bias),
                         bias=bias, init=init, device=device, dtype=dtype)

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), unbatched = self._prepare(input, None if hx is None else (hx,))
        (h_t,), _ = rnn_step(x, h, self.params(), nonlinearity=self.nonlinearity)
        return h_t.squeeze(0) if unbatched else h_t

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
