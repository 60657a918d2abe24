"""The bptt engine's compiled kernels, or the same work in PyTorch operations.

Compiled from ``csrc/`` (once per environment, see ``seqlab.nn.bptt.extension``) and registered as
``torch.ops.seqlab_bptt``:

* ``lstm_sequence_forward/backward``, ``lstm_ln_sequence_forward/backward``: one layer and
  direction of the LSTM (plain or layer-normalised) over every step: the time loop, the per-step
  products and the fused pointwise work of a step, in C++;
* ``gru_forward/backward``: the pointwise work of one GRU step (its loop stays in ``gru``).

Without them (no compiler, a failed build, ``SEQLAB_BPTT_COMPILE=0``, or tensors they do not
cover: not CPU, or not float32/float64) the engine runs the same algebra in PyTorch operations:
the LSTM loops of ``lstm`` and ``lstm_ln`` with the step functions below, and the GRU with its
own. The PyTorch versions are also the executable specification the tests hold the kernels to.

The GRU functions write into the ``out`` tensors they are given (all contiguous) and return
nothing, so the engine can place results straight into the buffers it saves for backward.
Gate blocks follow the stacked weights: LSTM i, f, g, o (coupled: f, g, o); GRU r, z, n.
"""

from __future__ import annotations

import logging
import os
import threading

import torch

from seqlab.nn.bptt import extension

log = logging.getLogger(__name__)

COVERED_DTYPES = (torch.float32, torch.float64)

# the AVX2 flags under their earlier name, which seqlab.embeddings._kernels imports; new code calls extension.simd_flags
_simd_flags = extension.simd_flags


# -- one LSTM step in PyTorch: the loop in seqlab.nn.bptt.lstm calls these ------------------
def _lstm_gates(pre_or_acts: torch.Tensor, coupled: bool):
    """Split (B, G*H) into named gate blocks, each (B, H)."""
    names = ("f", "g", "o") if coupled else ("i", "f", "g", "o")
    return dict(zip(names, pre_or_acts.chunk(len(names), dim=-1)))


def lstm_forward_torch(pre, c_prev, peep, coupled, acts, c_out, m_out) -> None:
    """pre (B, G*H), c_prev (B, H), peep (3, H) or None -> acts (B, G*H), c_out, m_out (B, H)."""
    p = _lstm_gates(pre, coupled)
    a = _lstm_gates(acts, coupled)
    f = torch.sigmoid(p["f"] + peep[1] * c_prev if peep is not None else p["f"])
    i = 1 - f if coupled else torch.sigmoid(p["i"] + peep[0] * c_prev if peep is not None else p["i"])
    g = torch.tanh(p["g"])
    c = f * c_prev + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
    o = torch.sigmoid(p["o"] + peep[2] * c if peep is not None else p["o"])
    for name, value in (("i", i), ("f", f), ("g", g), ("o", o)):
        if name in a:
            a[name].copy_(value)
    c_out.copy_(c)
    torch.mul(o, torch.tanh(c), out=m_out)  # m_t = o_t * tanh(c_t)


def lstm_backward_torch(dm, dc, acts, c_prev, c_t, peep, coupled, dpre, dc_prev) -> None:
    """dm, dc (B, H) -> dpre (B, G*H) = dL/d(pre-activations), dc_prev (B, H) = dL/dc_{t-1}."""
    a = _lstm_gates(acts, coupled)
    d = _lstm_gates(dpre, coupled)
    f, g, o = a["f"], a["g"], a["o"]
    i = 1 - f if coupled else a["i"]
    tc = torch.tanh(c_t)
    d_o = dm * tc * o * (1 - o)
    dct = dc + dm * o * (1 - tc * tc)
    if peep is not None:
        dct = dct + d_o * peep[2]
    df_total = dct * (c_prev - g) if coupled else dct * c_prev
    d_f = df_total * f * (1 - f)
    dcp = dct * f
    if peep is not None:
        dcp = dcp + d_f * peep[1]
    if not coupled:
        d_i = dct * g * i * (1 - i)
        d["i"].copy_(d_i)
        if peep is not None:
            dcp = dcp + d_i * peep[0]
    d["f"].copy_(d_f)
    d["g"].copy_(dct * i * (1 - g * g))
    d["o"].copy_(d_o)
    dc_prev.copy_(dcp)


# -- one GRU step in PyTorch --------------------------------------------------------------------
def gru_forward_torch(xg, hg, b_hn, h_prev, acts, h_out) -> None:
    x_r, x_z, x_n = xg.chunk(3, dim=-1)
    h_r, h_z, h_n = hg.chunk(3, dim=-1)
    a_r, a_z, a_n, a_hn = acts.chunk(4, dim=-1)
    torch.sigmoid(x_r + h_r, out=a_r)
    torch.sigmoid(x_z + h_z, out=a_z)
    a_hn.copy_(h_n + b_hn if b_hn.numel() > 0 else h_n)
    torch.tanh(x_n + a_r * a_hn, out=a_n)
    h_out.copy_(a_n + a_z * (h_prev - a_n))  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}


def gru_backward_torch(dh, acts, h_prev, dx, dhh, dh_direct) -> None:
    r, z, n, hn = acts.chunk(4, dim=-1)
    d_n = dh * (1 - z) * (1 - n * n)
    d_z = dh * (h_prev - n) * z * (1 - z)
    d_r = d_n * hn * r * (1 - r)
    dx.copy_(torch.cat([d_r, d_z, d_n], dim=-1))
    dhh.copy_(torch.cat([d_r, d_z, d_n * r], dim=-1))
    torch.mul(dh, z, out=dh_direct)


class Kernels:
    """The operators in use: compiled (``compiled=True``: the sequence ops exist) or PyTorch."""

    def __init__(self, compiled: bool):
        self.compiled = compiled
        if compiled:
            ops = torch.ops.seqlab_bptt
            self.lstm_sequence_forward, self.lstm_sequence_backward = ops.lstm_sequence_forward, \
                ops.lstm_sequence_backward
            self.lstm_ln_sequence_forward, self.lstm_ln_sequence_backward = ops.lstm_ln_sequence_forward, \
                ops.lstm_ln_sequence_backward
            self.gru_forward, self.gru_backward = ops.gru_forward, ops.gru_backward
        else:
            self.gru_forward, self.gru_backward = gru_forward_torch, gru_backward_torch


_lock = threading.Lock()
_state: dict[str, Kernels | None] = {"loaded": None}
_mode: dict[str, bool | None] = {"compiled": None}  # None: compiled when possible; False: PyTorch only
_FALLBACK = Kernels(compiled=False)


def _load() -> bool:
    """This environment's build (built now if missing); False, with a logged warning, if impossible."""
    if os.environ.get("SEQLAB_BPTT_COMPILE", "1") == "0":
        log.warning("SEQLAB_BPTT_COMPILE=0: the bptt engine uses its pure-PyTorch functions")
        return False
    try:
        return extension.load(build=True)
    except Exception as error:  # a missing compiler shows up as many different exception types
        log.warning("the bptt engine could not build its compiled kernels (%s); it runs on its pure-PyTorch "
                    "functions instead, which are slower", extension.describe(error))
        return False


def kernels(like: torch.Tensor | None = None) -> Kernels:
    """The operators to use for tensors like ``like``: compiled when built and covering them."""
    if _mode["compiled"] is False:
        return _FALLBACK
    if like is not None and (like.device.type != "cpu" or like.dtype not in COVERED_DTYPES):
        return _FALLBACK
    if _state["loaded"] is None:
        with _lock:
            if _state["loaded"] is None:
                _state["loaded"] = Kernels(compiled=_load())
    return _state["loaded"]


def use_compiled(flag: bool | None) -> None:
    """Force the pure-PyTorch functions (False) or go back to the compiled ones when possible (None)."""
    _mode["compiled"] = False if flag is False else None
