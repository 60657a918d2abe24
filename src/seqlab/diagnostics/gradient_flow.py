r"""Gradient flow through time: how much of the loss's gradient reaches each step's hidden state.

For a recurrent layer h_t = f(h_{t-1}, x_t) and a loss L, backpropagation through time gives

    dL/dh_t = dL/dy_t  +  (dh_{t+1}/dh_t)^T dL/dh_{t+1}

(the first term is the loss's direct dependence on the output y_t = h_t, the second what
flows back from the future). When the loss sits at the last step only, unrolling gives

    dL/dh_t = (dh_T/dh_t)^T dL/dh_T,    dh_T/dh_t = prod_{k=t+1}^{T} dh_k/dh_{k-1}

so ||dL/dh_t|| shrinks or grows with the product of T - t step Jacobians: for an Elman RNN
dh_k/dh_{k-1} = diag(phi'(a_k)) W_hh, whose norm is at most ||W_hh||_2 max|phi'|, which is why
its gradients vanish when the largest singular value of W_hh is below 1 (and may explode
above). ``gradient_flow`` measures ||dL/dh_t|| with autograd, for every layer and direction.

Example:
    >>> from seqlab.nn import LSTM
    >>> lstm = LSTM(4, 16, num_layers=2)
    >>> flow = gradient_flow(lstm, torch.randn(50, 8, 4), loss="last")
    >>> flow.grad_h[0, 0].shape     # layer 0, forward direction: one norm per step
    torch.Size([50])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn.recurrent import RecurrentLayer

LOSSES = ("last", "every")


@dataclass
class GradientFlow:
    """Per-step gradient norms of one forward/backward pass.

    Attributes:
        grad_h: (layer, direction) -> (T,) mean over the batch of ||dL/dh_t||_2, t = 0..T-1
            in the input's time order (also for the reverse direction).
        grad_c: the same for the cell state c_t of an LSTM (empty otherwise).
        loss: "last", "every" or "custom".
        loss_value: the value of L.
    """

    grad_h: dict[tuple[int, int], torch.Tensor]
    grad_c: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)
    loss: str = "last"
    loss_value: float = 0.0

    def ratio(self, key: tuple[int, int] = (0, 0)) -> float:
        """||dL/dh_0|| / ||dL/dh_{T-1}||: below 1 the gradient vanished on its way back, above it grew."""
        norms = self.grad_h[key]
        return float(norms[0] / norms[-1])


class _StateRecorder:
    """Stands in for a layer's tracer and keeps every step's state, still in the graph.

    ``RecurrentLayer`` calls ``start(layer, direction, T)`` and then ``record(t, state, gates)``
    with the very tensors it carries to the next step, so the gradient of L with respect to
    them is the total derivative dL/dh_t (direct term plus what flowed back from later steps).
    """

    def __init__(self, name: str, sink: dict):
        self.name = name
        self.sink = sink

    def start(self, layer: int, direction: int, T: int) -> _StepList:
        steps = _StepList(T)
        self.sink[(self.name, layer, direction)] = steps
        return steps


class _StepList(list):
    def __init__(self, T: int):
        super().__init__([None] * T)

    def record(self, t: int, state: tuple[torch.Tensor, ...], gates: dict) -> None:
        self[t] = state


def _recurrent_layers(model: nn.Module) -> list[tuple[str, RecurrentLayer]]:
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, RecurrentLayer)]
    if not layers:
        raise SeqlabError(f"{type(model).__name__} holds no seqlab recurrent layer (RNN, LSTM, GRU)")
    return layers


def _readout_vector(features: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    """The seeded unit vector u of ``readout_loss``."""
    u = torch.randn(features, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (u / u.norm()).to(dtype)


def readout_loss(output: torch.Tensor, *, loss: str = "last", time_dim: int = 0, seed: int = 0) -> torch.Tensor:
    """A linear read-out of the outputs: L = sum_b sum_{t in S} u . y_{t,b}, ||u||_2 = 1.

    S is the last step ("last") or every step ("every"); u is a fixed random unit vector
    (seeded), so dL/dy_t = u for each sequence at every step in S and the curves measure only
    how the recurrence carries gradient back. The batch is summed, so norms are per sequence.
    """
    if loss not in LOSSES:
        raise SeqlabError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    u = _readout_vector(output.shape[-1], output.dtype, seed)
    steps = output.select(time_dim, -1) if loss == "last" else output
    return (steps @ u).sum()


def gradient_flow(model: nn.Module, inputs: torch.Tensor, *, loss: str = "last",
                  loss_fn: Callable[[object], torch.Tensor] | None = None, seed: int = 0) -> GradientFlow:
    """||dL/dh_t|| for every step t, layer and direction of the recurrent layers in ``model``.

    Args:
        model: a seqlab ``RNN``/``LSTM``/``GRU``, or any module holding them.
        inputs: what ``model(inputs)`` takes.
        loss: "last" or "every": the default loss is ``readout_loss`` at the last step or at
            every step (used when ``loss_fn`` is None; needs ``model`` to be a recurrent layer).
        loss_fn: maps ``model(inputs)`` to a scalar loss, for any other loss or model.
        seed: seeds the read-out vector of the default loss.

    Returns:
        ``GradientFlow``. It differentiates with ``torch.autograd.grad``, so the parameters'
        ``.grad`` are left as they were.

    Note:
        The states are read from the layer's own time loop (the reference engine) through the
        same hook ``seqlab.nn.record_trace`` uses, so nothing about the computation changes.
    """
    layers = _recurrent_layers(model)
    if loss_fn is None:
        if not isinstance(model, RecurrentLayer):
            raise SeqlabError("loss_fn: required when the model is not a single recurrent layer")
        time_dim = 1 if model.batch_first and inputs.dim() == 3 else 0

        def loss_fn(result):
            return readout_loss(result[0], loss=loss, time_dim=time_dim, seed=seed)
    else:
        loss = "custom"
    sink: dict = {}
    for name, layer in layers:
        layer._tracer = _StateRecorder(name, sink)
    try:
        value = loss_fn(model(inputs))
    finally:
        for _, layer in layers:
            layer._tracer = None
    states = [s for steps in sink.values() for state in steps for s in state if s is not None and s.requires_grad]
    if not states:
        raise SeqlabError("gradient_flow: the states do not require grad (are the parameters frozen?)")
    grads = torch.autograd.grad(value, states, allow_unused=True)
    grad_of = {id(s): g for s, g in zip(states, grads)}

    single = len(layers) == 1
    grad_h, grad_c = {}, {}
    for (name, layer_index, direction), steps in sink.items():
        key = (layer_index, direction) if single else (name, layer_index, direction)
        for position, target in ((0, grad_h), (1, grad_c)):
            if len(steps[0]) <= position:
                continue
            norms = []
            for state in steps:
                g = grad_of.get(id(state[position]))
                norms.append(torch.zeros(()) if g is None else g.detach().flatten(1).norm(dim=1).mean())
            target[key] = torch.stack(norms).cpu()  # (T,)
    return GradientFlow(grad_h=grad_h, grad_c=grad_c, loss=loss, loss_value=float(value.detach()))


def gradient_flow_from_engine(layer: RecurrentLayer, inputs: torch.Tensor, *, engine: str = "bptt",
                              loss: str = "last", seed: int = 0) -> GradientFlow:
    """||dL/dh_t|| from the layer's own backward on ``engine``, by restarting the sequence at each step.

    For each t the layer runs (on ``engine``) from the state s_t = (h_t[, c_t]) of the full run,
    given as a leaf initial state, over x_{t+1..T-1}; the engine's backward then returns

        dL/dh_t = (what flows back from steps t+1..T-1) + [t in S] u

    as the gradient of that initial state, the direct term u of ``readout_loss`` added by hand.
    This is the same quantity ``gradient_flow`` reads from autograd, computed by the engine's
    own BPTT (the ``bptt`` engine's hand-written backward), so the two can be compared. T
    backward passes: meant for checks on short sequences. Single-layer, unidirectional layers.

    Returns:
        ``GradientFlow`` with ``grad_h[0, 0]`` only (restarting cuts the path c_t -> h_t, so an
        LSTM's dL/dc_t is not comparable this way and is not reported).
    """
    if not isinstance(layer, RecurrentLayer) or layer.num_layers != 1 or layer.bidirectional:
        raise SeqlabError("gradient_flow_from_engine: expected a single-layer, unidirectional RNN, LSTM or GRU")
    if loss not in LOSSES:
        raise SeqlabError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    x = inputs.unsqueeze(1) if inputs.dim() == 2 else (inputs.transpose(0, 1) if layer.batch_first else inputs)
    T = x.shape[0]
    sink: dict = {}
    layer._tracer = _StateRecorder("", sink)
    try:
        with torch.no_grad():
            layer(inputs)
    finally:
        layer._tracer = None
    states = sink[("", 0, 0)]  # s_t for t = 0..T-1, each a tuple of (B, features)
    u = _readout_vector(layer.state_sizes[0], x.dtype, seed)
    previous_engine = layer.engine
    layer.engine = engine
    norms = []
    try:
        for t in range(T):
            direct = u if (loss == "every" or t == T - 1) else torch.zeros_like(u)
            if t == T - 1:
                grad = direct.expand(x.shape[1], -1)
            else:
                leaves = tuple(s.detach().unsqueeze(0).requires_grad_(True) for s in states[t])  # (1, B, F)
                hx = leaves if len(leaves) > 1 else leaves[0]
                rest = x[t + 1 :]
                output = layer(rest.transpose(0, 1) if layer.batch_first else rest, hx)[0]
                value = readout_loss(output, loss=loss, time_dim=1 if layer.batch_first else 0, seed=seed)
                (grad_h,) = torch.autograd.grad(value, leaves[:1])
                grad = grad_h[0] + direct
            norms.append(grad.norm(dim=1).mean())
    finally:
        layer.engine = previous_engine
    return GradientFlow(grad_h={(0, 0): torch.stack(norms).detach()}, loss=loss)
