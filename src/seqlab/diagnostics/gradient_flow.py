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


def readout_loss(output: torch.Tensor, *, loss: str = "last", time_dim: int = 0, seed: int = 0) -> torch.Tensor:
    """A linear read-out of the outputs: L = sum_b sum_{t in S} u . y_{t,b}, ||u||_2 = 1.

    S is the last step ("last") or every step ("every"); u is a fixed random unit vector
    (seeded), so dL/dy_t = u for each sequence at every step in S and the curves measure only
    how the recurrence carries gradient back. The batch is summed, so norms are per sequence.
    """
    if loss not in LOSSES:
        raise SeqlabError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    generator = torch.Generator().manual_seed(seed)
    u = torch.randn(output.shape[-1], generator=generator, dtype=torch.float64)
    u = (u / u.norm()).to(output.dtype)
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
