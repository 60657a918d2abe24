r"""Jacobian products through time and the spectrum of the recurrent weights.

A recurrent layer maps its state s_{k-1} to s_k = f(s_{k-1}, x_k) (s = h for RNN and GRU,
s = [h; c] for an LSTM). A perturbation of s_t reaches step T through

    ds_T/ds_t = prod_{k=t+1}^{T} ds_k/ds_{k-1}          (a product of T - t step Jacobians)

and its largest singular value ||ds_T/ds_t||_2 bounds how much gradient from step T reaches t.
For an Elman RNN ds_k/ds_{k-1} = diag(phi'(a_k)) W_hh, so the spectral radius rho(W_hh) and
the singular values of W_hh set the rate of decay (Pascanu, Mikolov & Bengio 2013: gradients
vanish when sigma_max(W_hh) < 1/max|phi'|, and may explode only when it is larger).

Example:
    >>> from seqlab.nn import RNN
    >>> rnn = RNN(4, 16)
    >>> norms = jacobian_norms(rnn, torch.randn(30, 2, 4))
    >>> norms[0, 0].shape          # ||ds_{T-1}/ds_t||_2 for t = 0..T-1
    torch.Size([30])
"""

from __future__ import annotations

import copy

import torch
from torch.func import jacrev, vmap

from seqlab.errors import SeqlabError
from seqlab.nn.recurrent import GRU, LSTM, RecurrentLayer


class _StateSink:
    """Tracer stand-in that keeps each step's (detached) new state, per layer and direction."""

    def __init__(self, sink: dict):
        self.sink = sink

    def start(self, layer: int, direction: int, T: int) -> _Steps:
        steps = _Steps(T)
        self.sink[(layer, direction)] = steps
        return steps


class _Steps(list):
    def __init__(self, T: int):
        super().__init__([None] * T)

    def record(self, t, state, gates):
        self[t] = tuple(s.detach() for s in state)


def _check_layer(layer) -> None:
    if not isinstance(layer, RecurrentLayer):
        raise SeqlabError(f"expected a seqlab RNN, LSTM or GRU layer, got {type(layer).__name__}")


@torch.no_grad()
def _states(layer: RecurrentLayer, x: torch.Tensor):
    """Run ``layer`` on time-major ``x`` and return {(layer, direction): [s_0 .. s_{T-1}]}."""
    sink: dict = {}
    layer._tracer = _StateSink(sink)
    try:
        layer(x)
    finally:
        layer._tracer = None
    return sink


def step_jacobians(layer: RecurrentLayer, inputs: torch.Tensor) -> dict[tuple[int, int], torch.Tensor]:
    """ds_t/ds_{t-1} at every step t = 1..T-1 of each layer of a unidirectional ``layer``.

    Computed in float64 on a copy of the layer in evaluation mode (no dropout), with
    ``torch.func.jacrev`` on the layer's own cell step, one Jacobian per sequence.

    Returns:
        (layer, 0) -> (T-1, B, S, S), entry [t-1, b] = ds_t/ds_{t-1} for sequence b, where S is
        the state size (H, or P + H for an LSTM: s = [h; c]).
    """
    _check_layer(layer)
    if layer.bidirectional:
        raise SeqlabError("jacobians: expected a unidirectional layer; the reverse direction runs backwards in time")
    model = copy.deepcopy(layer).double().eval()
    x = inputs.double()
    if x.dim() == 2:
        x = x.unsqueeze(1)
    elif model.batch_first:
        x = x.transpose(0, 1)
    states = _states(model, x)
    sizes = model.state_sizes
    result = {}
    layer_input = x  # (T, B, I)
    for index in range(model.num_layers):
        params = {k: v.detach() for k, v in model.cell_parameters(index).items()}

        def step(s, x_t, params=params):
            state = tuple(s.split(list(sizes)))
            new_state, _ = model._step(x_t, state, params, None)
            return torch.cat(new_state)  # s_t = [h_t; c_t]

        steps = states[(index, 0)]
        s = torch.stack([torch.cat(state, dim=-1) for state in steps])  # (T, B, S)
        jacobian = vmap(vmap(jacrev(step)))  # over time, then batch
        result[(index, 0)] = jacobian(s[:-1], layer_input[1:])  # (T-1, B, S, S)
        layer_input = torch.stack([state[0] for state in steps])  # the next layer reads h: (T, B, H_out)
    return result


def jacobian_norms(layer: RecurrentLayer, inputs: torch.Tensor) -> dict[tuple[int, int], torch.Tensor]:
    """||ds_{T-1}/ds_t||_2 = ||prod_{k=t+1}^{T-1} ds_k/ds_{k-1}||_2 for t = 0..T-1, mean over the batch.

    The last entry is ||I||_2 = 1; the product is accumulated from the end,
    P_{t} = P_{t+1} ds_{t+1}/ds_t, and its largest singular value taken at each step.
    """
    result = {}
    for key, jacobians in step_jacobians(layer, inputs).items():
        T = jacobians.shape[0] + 1
        B, S = jacobians.shape[1], jacobians.shape[2]
        product = torch.eye(S, dtype=jacobians.dtype).expand(B, S, S)
        norms = [torch.ones((), dtype=jacobians.dtype)]
        for t in range(T - 2, -1, -1):
            product = product @ jacobians[t]  # ds_{T-1}/ds_t = ds_{T-1}/ds_{t+1} ds_{t+1}/ds_t
            norms.append(torch.linalg.matrix_norm(product, ord=2).mean())
        result[key] = torch.stack(norms[::-1]).float()  # (T,)
    return result


def gate_names(layer: RecurrentLayer) -> tuple[str, ...]:
    """The blocks stacked in W_hh: ("hh",) for an RNN, i f g o (f g o coupled) for an LSTM, r z n for a GRU."""
    if isinstance(layer, LSTM):
        return ("f", "g", "o") if layer.coupled else ("i", "f", "g", "o")
    if isinstance(layer, GRU):
        return ("r", "z", "n")
    return ("hh",)


@torch.no_grad()
def recurrent_weight_spectra(layer: RecurrentLayer) -> dict[tuple[int, int], dict[str, dict]]:
    """Spectral radius max|lambda_i(W)| and singular values of each gate's recurrent block W_hh.

    Returns:
        (layer, direction) -> gate -> {"spectral_radius": float or None (non-square block,
        an LSTM with projection), "singular_values": list[float] (descending)}.
    """
    _check_layer(layer)
    names = gate_names(layer)
    result = {}
    for index in range(layer.num_layers):
        for direction in range(layer.num_directions):
            weight = layer.cell_parameters(index, direction == 1)["weight_hh"].detach().double()
            blocks = weight.split(layer.hidden_size) if len(names) > 1 else (weight,)
            spectra = {}
            for name, block in zip(names, blocks):
                square = block.shape[0] == block.shape[1]
                radius = float(torch.linalg.eigvals(block).abs().max()) if square else None
                spectra[name] = {"spectral_radius": radius,
                                 "singular_values": torch.linalg.svdvals(block).tolist()}
            result[(index, direction)] = spectra
    return result
