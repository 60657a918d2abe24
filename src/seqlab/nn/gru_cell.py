"""The GRU cell in both reset conventions: PyTorch's (reset after W_hn) and Cho et al.'s (before)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlab import checks as _checks
from seqlab.nn._cellbase import CellBase


def gru_parameter_shapes(input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one GRU cell: gates stacked in PyTorch's order r, z, n."""
    shapes = {"weight_ih": (3 * hidden_size, input_size), "weight_hh": (3 * hidden_size, hidden_size)}
    if bias:
        shapes |= {"bias_ih": (3 * hidden_size,), "bias_hh": (3 * hidden_size,)}
    return shapes


def gru_step(x: torch.Tensor, h: torch.Tensor, params: dict[str, torch.Tensor], *, reset_after: bool = True,
             recurrent_mask: torch.Tensor | None = None):
    """One GRU step (see ``GRUCell`` for the equations).

    Args:
        x: x_t (B, I). h: h_{t-1} (B, H).
        reset_after: True for PyTorch's n_t, False for Cho et al.'s.
        recurrent_mask: variational dropout mask on h_{t-1} where it enters W_hh, (B, H).

    Returns:
        ``((h_t,), gates)`` with ``gates`` = {r, z, n}, each (B, H).
    """
    W_ir, W_iz, W_in = params["weight_ih"].chunk(3)
    W_hr, W_hz, W_hn = params["weight_hh"].chunk(3)
    b_ir, b_iz, b_in = params["bias_ih"].chunk(3) if "bias_ih" in params else (None, None, None)
    b_hr, b_hz, b_hn = params["bias_hh"].chunk(3) if "bias_hh" in params else (None, None, None)
    h_in = h if recurrent_mask is None else h * recurrent_mask

    r_t = torch.sigmoid(F.linear(x, W_ir, b_ir) + F.linear(h_in, W_hr, b_hr))  # (B, H)
    z_t = torch.sigmoid(F.linear(x, W_iz, b_iz) + F.linear(h_in, W_hz, b_hz))  # (B, H)
    if reset_after:
        n_t = torch.tanh(F.linear(x, W_in, b_in) + r_t * F.linear(h_in, W_hn, b_hn))  # r * (W_hn h + b_hn)
    else:
        n_t = torch.tanh(F.linear(x, W_in, b_in) + F.linear(r_t * h_in, W_hn, b_hn))  # W_hn (r * h) + b_hn
    h_t = (1 - z_t) * n_t + z_t * h  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return (h_t,), {"r": r_t, "z": z_t, "n": n_t}


class GRUCell(CellBase):
    r"""A gated recurrent unit (Cho et al. 2014), one time step, in either reset convention.

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})          \quad\text{reset gate}\\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})          \quad\text{update gate}\\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))  \quad\text{reset\_after=True}\\
        n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})  \quad\text{reset\_after=False}\\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    ``reset_after=True`` is PyTorch's (and cuDNN's) form: the reset gate scales the recurrent
    product after it is taken, so all three recurrent products come from one matrix
    multiply. ``reset_after=False`` is the form of Cho et al. (2014) and of the curriculum,
    h~_t = tanh(W [r_t * h_{t-1}, x_t]): the reset gate acts on h_{t-1} before W_hn.

    Note on z: the curriculum (and Chung et al. 2014) write h_t = (1 - z_t) h_{t-1} + z_t h~_t,
    where z_t is the weight of the *new* candidate. seqlab keeps PyTorch's convention in both
    modes, where z_t weighs the *old* state, so weights move between the two modes and
    PyTorch unchanged; the curriculum's update gate is 1 - z_t here.

    Parameters ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,),
    stacked r, z, n as in ``torch.nn.GRUCell``. A GRU cell has 3H(I + H + 2) parameters, three
    quarters of an LSTM cell's 4H(I + H + 2).

    Shape:
        input (B, I) or (I,); hx (B, H) or (H,); returns h' of the same leading shape.

    Example:
        >>> cell = GRUCell(10, 20, reset_after=False)
        >>> cell(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, reset_after: bool = True,
                 init="torch", device=None, dtype=None):
        self.reset_after = _checks.flag(reset_after, "reset_after")
        super().__init__(input_size, hidden_size, gru_parameter_shapes(input_size, hidden_size, bias),
                         bias=bias, init=init, device=device, dtype=dtype)

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), unbatched = self._prepare(input, None if hx is None else (hx,))
        (h_t,), _ = gru_step(x, h, self.params(), reset_after=self.reset_after)
        return h_t.squeeze(0) if unbatched else h_t

    def extra_repr(self) -> str:
        return super().extra_repr() + f", reset_after={self.reset_after}"
