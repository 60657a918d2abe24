"""The LSTM cell and its variants: peephole, coupled input-forget gate, layer norm, projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlab import checks as _checks
from seqlab.errors import SeqlabError
from seqlab.nn._cellbase import CellBase

LAYER_NORMS = (None, "whole", "per_gate")


def lstm_gate_names(coupled: bool = False) -> tuple[str, ...]:
    """Gate order of the stacked weights: PyTorch's i, f, g, o; without i when coupled."""
    return ("f", "g", "o") if coupled else ("i", "f", "g", "o")


def lstm_parameter_shapes(input_size: int, hidden_size: int, bias: bool = True, proj_size: int = 0,
                          peephole: bool = False, coupled: bool = False,
                          layer_norm: str | None = None) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one LSTM cell.

    PyTorch's layout first (``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H_out), ``bias_ih``,
    ``bias_hh`` (G*H,), ``weight_hr`` (P, H)), G = 4 gates (3 when coupled) and H_out = P when
    there is a projection; then the variants' own: peephole diagonals ``weight_ci``,
    ``weight_cf``, ``weight_co`` (H,) and layer-norm gains and shifts ``ln_ih_*``, ``ln_hh_*``
    (G*H,) and ``ln_c_*`` (H,).
    """
    gates = len(lstm_gate_names(coupled))
    out = proj_size or hidden_size
    shapes = {"weight_ih": (gates * hidden_size, input_size), "weight_hh": (gates * hidden_size, out)}
    if bias:
        shapes |= {"bias_ih": (gates * hidden_size,), "bias_hh": (gates * hidden_size,)}
    if proj_size:
        shapes["weight_hr"] = (proj_size, hidden_size)
    if peephole:
        for gate in ("f", "o") if coupled else ("i", "f", "o"):
            shapes[f"weight_c{gate}"] = (hidden_size,)
    if layer_norm:
        for name, size in (("ln_ih", gates * hidden_size), ("ln_hh", gates * hidden_size), ("ln_c", hidden_size)):
            shapes |= {f"{name}_weight": (size,), f"{name}_bias": (size,)}
    return shapes


def normalise_projection(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, gates: int,
                         per_gate: bool, eps: float = 1e-5) -> torch.Tensor:
    """LN(z; gain, shift) over the whole stacked projection, or over each gate's H features."""
    if not per_gate:
        return F.layer_norm(z, z.shape[-1:], weight, bias, eps)
    zg = z.unflatten(-1, (gates, -1))  # (B, G, H)
    normed = F.layer_norm(zg, zg.shape[-1:], None, None, eps)
    return (normed * weight.view(gates, -1) + bias.view(gates, -1)).flatten(-2)  # (B, G*H)


def lstm_step(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], params: dict[str, torch.Tensor], *,
              peephole: bool = False, coupled: bool = False, layer_norm: str | None = None,
              recurrent_mask: torch.Tensor | None = None):
    r"""One step of the LSTM, every variant included (see ``LSTMCell`` for the equations).

    Args:
        x: x_t, shape (B, I).
        state: (h_{t-1} (B, H_out), c_{t-1} (B, H)).
        params: the cell's parameters keyed as in ``lstm_parameter_shapes``.
        recurrent_mask: variational dropout mask on h_{t-1} where it enters W_hh, (B, H_out).

    Returns:
        ``((h_t, c_t), gates)`` with ``gates`` the activations {i, f, g, o}, each (B, H).
    """
    h, c = state
    names = lstm_gate_names(coupled)
    h_in = h if recurrent_mask is None else h * recurrent_mask
    x_proj = F.linear(x, params["weight_ih"])  # (B, G*H)
    h_proj = F.linear(h_in, params["weight_hh"])  # (B, G*H)
    if layer_norm:
        per_gate = layer_norm == "per_gate"
        x_proj = normalise_projection(x_proj, params["ln_ih_weight"], params["ln_ih_bias"], len(names), per_gate)
        h_proj = normalise_projection(h_proj, params["ln_hh_weight"], params["ln_hh_bias"], len(names), per_gate)
    pre = x_proj + h_proj  # (B, G*H)
    if "bias_ih" in params:
        pre = pre + params["bias_ih"] + params["bias_hh"]
    pre = dict(zip(names, pre.chunk(len(names), dim=-1)))  # gate -> (B, H)

    if peephole:
        pre["f"] = pre["f"] + params["weight_cf"] * c
    f_t = torch.sigmoid(pre["f"])
    if coupled:
        i_t = 1 - f_t  # CIFG: i_t = 1 - f_t
    else:
        i_t = torch.sigmoid(pre["i"] + params["weight_ci"] * c if peephole else pre["i"])
    g_t = torch.tanh(pre["g"])
    c_t = f_t * c + i_t * g_t  # c_t = f_t * c_{t-1} + i_t * g_t
    o_t = torch.sigmoid(pre["o"] + params["weight_co"] * c_t if peephole else pre["o"])
    c_read = F.layer_norm(c_t, c_t.shape[-1:], params["ln_c_weight"], params["ln_c_bias"]) if layer_norm else c_t
    h_t = o_t * torch.tanh(c_read)  # h_t = o_t * tanh(c_t)
    if "weight_hr" in params:
        h_t = F.linear(h_t, params["weight_hr"])  # h_t = W_hr (o_t * tanh(c_t)), (B, P)
    return (h_t, c_t), {"i": i_t, "f": f_t, "g": g_t, "o": o_t}


class LSTMCell(CellBase):
    r"""A long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of
    Gers et al. 2000), one time step.

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})        \quad\text{input gate}\\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})        \quad\text{forget gate}\\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})         \quad\text{candidate}\\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})        \quad\text{output gate}\\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t                             \quad\text{cell state}\\
        h_t = o_t \odot \tanh(c_t)                                          \quad\text{hidden state}

    x_t is the input, h_{t-1} and c_{t-1} the previous hidden and cell states, sigma the
    logistic sigmoid and the W, b the gate weights and biases, stacked in ``weight_ih``
    (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` and ``bias_hh`` (4H,) in PyTorch's order i, f, g, o.

    Variants (each off by default, so the default cell equals ``torch.nn.LSTMCell``):

    * ``peephole=True`` (Gers & Schmidhuber 2000, "Recurrent nets that time and count"):
      diagonal peephole weights w_ci, w_cf, w_co (H,) let the gates see the cell state:
      i_t and f_t add w_ci * c_{t-1} and w_cf * c_{t-1}; o_t adds w_co * c_t (the new state).
    * ``coupled=True`` (coupled input-forget gate, CIFG; Greff et al. 2017, "LSTM: a search
      space odyssey"): i_t = 1 - f_t, so the input gate's weights are gone and the stacked
      weights hold three gates in the order f, g, o.
    * ``layer_norm="whole"`` (Ba, Kiros & Hinton 2016, "Layer normalization", section 3.1 and
      its LSTM equations): the input and recurrent projections are normalised separately over
      all their G*H features, the bias added after, and c_t is normalised where it is read:
          pre_t = LN(W_ih x_t; a_ih, s_ih) + LN(W_hh h_{t-1}; a_hh, s_hh) + b_ih + b_hh
          h_t = o_t * tanh(LN(c_t; a_c, s_c))        (c_t itself is carried un-normalised)
      ``layer_norm="per_gate"`` normalises each gate's H features on their own, the form of
      TensorFlow's ``LayerNormBasicLSTMCell`` and of many later papers. The gains a and shifts
      s are ``ln_ih_weight``/``ln_ih_bias``, ``ln_hh_*`` (G*H,) and ``ln_c_*`` (H,).
    * ``proj_size=P`` (Sak et al. 2014, LSTMP; as ``torch.nn.LSTM``): h_t = W_hr (o_t * tanh(c_t)),
      W_hr (P, H), and the recurrent weights read the P-dimensional h_{t-1}.
    * ``forget_bias=b``: initialise the forget-gate bias to b (Jozefowicz et al. 2015 advise
      1.0; Keras calls it ``unit_forget_bias``). With two biases, b goes in ``bias_ih`` and the
      forget slice of ``bias_hh`` is zeroed, so b_if + b_hf = b.

    Args:
        input_size: I. hidden_size: H. bias: with b_ih and b_hh.
        init: "torch", "xavier_orthogonal" or a callable taking the cell (see ``seqlab.nn.init``).

    Shape:
        input (B, I) or (I,); hx a pair (h (B, H_out), c (B, H)) or unbatched; returns (h', c').

    Example:
        >>> cell = LSTMCell(10, 20, peephole=True)
        >>> h, c = cell(torch.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, proj_size: int = 0,
                 peephole: bool = False, coupled: bool = False, layer_norm: str | None = None,
                 forget_bias: float | None = None, init="torch", device=None, dtype=None):
        self.proj_size, self.peephole, self.coupled, self.layer_norm, self.forget_bias = check_lstm_options(
            hidden_size, proj_size, peephole, coupled, layer_norm, forget_bias)
        shapes = lstm_parameter_shapes(input_size, hidden_size, bias, proj_size, peephole, coupled, layer_norm)
        super().__init__(input_size, hidden_size, shapes, bias=bias, init=init, device=device, dtype=dtype)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def forward(self, input: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None):
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise SeqlabError("hx: expected a pair (h_0, c_0) for an LSTM cell")
        x, state, unbatched = self._prepare(input, hx)
        (h_t, c_t), _ = lstm_step(x, state, self.params(), peephole=self.peephole, coupled=self.coupled,
                                  layer_norm=self.layer_norm)
        return (h_t.squeeze(0), c_t.squeeze(0)) if unbatched else (h_t, c_t)

    def extra_repr(self) -> str:
        options = [f"{name}={getattr(self, name)!r}" for name in ("proj_size", "peephole", "coupled", "layer_norm")
                   if getattr(self, name)]
        return ", ".join([super().extra_repr(), *options])


def check_lstm_options(hidden_size: int, proj_size: int, peephole: bool, coupled: bool, layer_norm,
                       forget_bias: float | None) -> tuple[int, bool, bool, str | None, float | None]:
    """The LSTM's own options checked: ``(proj_size, peephole, coupled, layer_norm, forget_bias)``."""
    hidden_size = _checks.positive_int(hidden_size, "hidden_size")
    layer_norm = _checks.choice(layer_norm, "layer_norm", LAYER_NORMS)
    proj_size = _checks.non_negative_int(proj_size, "proj_size")
    if proj_size >= hidden_size:
        raise SeqlabError(f"proj_size: expected 0 <= proj_size < hidden_size={hidden_size}, got {proj_size}")
    forget_bias = None if forget_bias is None else _checks.finite_float(forget_bias, "forget_bias")
    return proj_size, _checks.flag(peephole, "peephole"), _checks.flag(coupled, "coupled"), layer_norm, forget_bias
