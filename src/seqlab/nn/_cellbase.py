"""What every cell shares: its parameter table, initialisation, and input checks."""

from __future__ import annotations

import torch
from torch import nn

from seqlab import checks as _checks
from seqlab.errors import SeqlabError
from seqlab.nn import _params
from seqlab.nn import init as nn_init


class CellBase(nn.Module):
    """Base of ``RNNCell``, ``LSTMCell`` and ``GRUCell``: one step, parameters without suffix.

    Subclasses pass their ``name -> shape`` table and may override ``state_sizes`` (the
    feature size of each state tensor, h first).
    """

    def __init__(self, input_size: int, hidden_size: int, shapes: dict[str, tuple[int, ...]], *,
                 bias: bool, init="torch", device=None, dtype=None):
        super().__init__()
        nn_init.check_scheme(init)
        self.input_size = _checks.positive_int(input_size, "input_size")
        self.hidden_size = _checks.positive_int(hidden_size, "hidden_size")
        self.bias = _checks.flag(bias, "bias")
        self.init = init
        self._names = tuple(shapes)
        _params.register(self, shapes, device=device, dtype=dtype)
        self.reset_parameters()

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def reset_parameters(self) -> None:
        nn_init.apply(self, self.init)

    def params(self) -> dict[str, torch.Tensor]:
        return _params.collect(self, self._names)

    def _prepare(self, input: torch.Tensor, hx):
        """Check shapes and dtypes; add the batch dimension to unbatched input; zero states."""
        if not isinstance(input, torch.Tensor):
            raise SeqlabError(f"input: expected a tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise SeqlabError(f"input: expected shape (B, {self.input_size}) or ({self.input_size},), "
                              f"got {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise SeqlabError(f"input: expected {self.input_size} features in the last dimension, "
                              f"got shape {tuple(input.shape)}")
        weight = self.weight_ih
        if input.dtype != weight.dtype:
            raise SeqlabError(f"input: expected dtype {weight.dtype} (the cell's parameters), got {input.dtype}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        batch = x.shape[0]
        if hx is None:
            states = tuple(x.new_zeros(batch, size) for size in self.state_sizes)
            return x, states, unbatched
        states = []
        for name, size, state in zip(("hx", "cx"), self.state_sizes, hx):
            expected = (size,) if unbatched else (batch, size)
            if not isinstance(state, torch.Tensor) or tuple(state.shape) != expected:
                got = tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__
                raise SeqlabError(f"{name}: expected shape {expected}, got {got}")
            if state.dtype != weight.dtype:
                raise SeqlabError(f"{name}: expected dtype {weight.dtype}, got {state.dtype}")
            if state.device != input.device:
                raise SeqlabError(f"{name}: expected a tensor on {input.device} (the input's device), "
                                  f"got one on {state.device}")
            states.append(state.unsqueeze(0) if unbatched else state)
        return x, tuple(states), unbatched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"
