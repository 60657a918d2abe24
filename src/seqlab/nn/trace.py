"""Record every step of a recurrent layer: h_t, c_t and each gate, without changing results.

Example:
    >>> from seqlab.nn import LSTM
    >>> lstm = LSTM(8, 16)
    >>> with record_trace(lstm) as trace:
    ...     output, _ = lstm(torch.randn(5, 2, 8))
    >>> trace[0, 0]["f"].shape          # layer 0, forward direction: (T, B, H)
    torch.Size([5, 2, 16])
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class DirectionTrace:
    """The per-step tensors of one layer and direction, filled in time order t = 0..T-1."""

    def __init__(self, T: int):
        self.T = T
        self.steps: dict[str, list[torch.Tensor | None]] = {}

    def record(self, t: int, state: tuple[torch.Tensor, ...], gates: dict[str, torch.Tensor]) -> None:
        named = dict(zip(("h", "c"), state)) | gates
        for name, value in named.items():
            self.steps.setdefault(name, [None] * self.T)[t] = value.detach()

    def stacked(self) -> dict[str, torch.Tensor]:
        return {name: torch.stack(values) for name, values in self.steps.items()}  # each (T, B, H)


class Trace:
    """Traces of one or more recurrent layers, keyed by (layer, direction) for a single layer
    or by (module name, layer, direction) when several layers were traced.

    Each entry maps "h", "c" (LSTM) and the gate names (i, f, g, o / r, z, n) to (T, B, features)
    tensors, detached from the graph. Steps past a sequence's length hold what the cell
    computed there, which the layer then discarded.
    """

    def __init__(self):
        self._runs: dict[tuple, DirectionTrace] = {}

    def _tracer_for(self, module_name: str):
        trace = self

        class _Tracer:
            def start(self, layer: int, direction: int, T: int) -> DirectionTrace:
                run = DirectionTrace(T)
                trace._runs[(module_name, layer, direction)] = run
                return run

        return _Tracer()

    def keys(self):
        return [key if len({k[0] for k in self._runs}) > 1 else key[1:] for key in self._runs]

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        if len(key) == 2:
            matches = [k for k in self._runs if k[1:] == tuple(key)]
            if len(matches) != 1:
                raise KeyError(f"{key}: give (module name, layer, direction); traced: {list(self._runs)}")
            key = matches[0]
        return self._runs[tuple(key)].stacked()

    def __len__(self) -> int:
        return len(self._runs)


@contextmanager
def record_trace(model: nn.Module):
    """Within the block, every recurrent layer in ``model`` records its per-step states and gates.

    Works with the reference engine's loop, which is what the layer runs while tracing.
    """
    from seqlab.nn.recurrent import RecurrentLayer

    trace = Trace()
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, RecurrentLayer)]
    if not layers:
        from seqlab.errors import SeqlabError
        raise SeqlabError(f"record_trace: {type(model).__name__} holds no seqlab recurrent layer (RNN, LSTM, GRU)")
    for name, layer in layers:
        layer._tracer = trace._tracer_for(name)
    try:
        yield trace
    finally:
        for _, layer in layers:
            layer._tracer = None
