"""The ``torch`` engine: one layer of seqlab's parameters run through PyTorch's fused kernels.

``torch.nn.LSTM/GRU/RNN`` call ``torch._VF.lstm/gru/rnn_tanh/rnn_relu`` with a flat list of
weights per layer and direction (w_ih, w_hh, [b_ih, b_hh], [w_hr]). seqlab's layers name and
shape their parameters the same way, so the same call runs them, on oneDNN for float32 LSTMs
on CPU. The layer calls this once per layer (both directions together) and keeps doing its
own input dropout, weight-drop and between-layer dropout, so the random draws, and hence the
results, are the reference engine's.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_FUNCTIONS = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "rnn_tanh": torch._VF.rnn_tanh,
              "rnn_relu": torch._VF.rnn_relu}


def flat_weights(params: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """PyTorch's order for one layer and direction: w_ih, w_hh, b_ih, b_hh, w_hr (those present)."""
    return [params[name] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr") if name in params]


def run_layer(mode: str, x: torch.Tensor, states: list[tuple[torch.Tensor, ...]],
              params: list[dict[str, torch.Tensor]], lengths: torch.Tensor | None):
    """One layer, all its directions.

    Args:
        mode: "lstm", "gru", "rnn_tanh" or "rnn_relu".
        x: (T, B, I). states: per direction a tuple (h (B, H_out) [, c (B, H)]).
        params: per direction the parameters keyed as the cell names them.
        lengths: (B,) or None; past a length the state stays and the output is zero.

    Returns:
        ``(output (T, B, D * H_out), finals)``, finals per direction a tuple like ``states``.
    """
    function = _FUNCTIONS[mode]
    weights = [w for p in params for w in flat_weights(p)]
    has_biases = "bias_ih" in params[0]
    # oneDNN keeps its workspace for backward only in training mode
    train = torch.is_grad_enabled() and any(t.requires_grad for t in [x, *weights, *(s for st in states for s in st)])
    bidirectional = len(params) == 2
    hx = tuple(torch.stack([s[k] for s in states]) for k in range(len(states[0])))  # each (D, B, F)
    if lengths is None:
        args = (x, hx if mode == "lstm" else hx[0], weights, has_biases, 1, 0.0, train, bidirectional, False)
        result = function(*args)
        output, finals = result[0], result[1:]
    else:
        T = x.shape[0]
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        hx = tuple(h.index_select(1, packed.sorted_indices) for h in hx)  # into the packed (sorted) order
        args = (packed.data, packed.batch_sizes, hx if mode == "lstm" else hx[0], weights, has_biases, 1, 0.0,
                train, bidirectional)
        result = function(*args)
        data, finals = result[0], result[1:]
        output, _ = pad_packed_sequence(
            PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), total_length=T)
        finals = tuple(f.index_select(1, packed.unsorted_indices) for f in finals)
    per_direction = [tuple(f[d] for f in finals) for d in range(len(params))]
    return output, per_direction
