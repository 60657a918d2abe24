"""What every engine shares: step order, the state update around a cell, and its backward.

Around the cell's own step the layer may do two things to each state s (h, and c for an LSTM):

    zoneout (keep mask k_t, or the probability p at evaluation):   s~_t = k_t * s_{t-1} + (1 - k_t) * s^cell_t
    lengths (valid_t = t < length):                                 s_t = valid_t ? s~_t : s_{t-1}

so that, going backward, with ds_t = dL/ds_t:

    dL/ds^cell_t = valid_t * (1 - k_t) * ds_t                  (what the cell's own backward receives)
    dL/ds_{t-1} += valid_t * k_t * ds_t + (1 - valid_t) * ds_t   (what passes straight through)
"""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


def step_indices(T: int, reverse: bool):
    """(t, prev, new) per step in processing order; states live in a (T + 1, ...) buffer.

    Forward: state before step t at t, after it at t + 1. Reverse: before at t + 1, after at t.
    """
    if reverse:
        return [(t, t + 1, t) for t in range(T - 1, -1, -1)]
    return [(t, t, t + 1) for t in range(T)]


def outputs_of(states: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The states after each step t, in time order: (T + 1, B, F) -> (T, B, F) view."""
    return states[:-1] if reverse else states[1:]


def inputs_of(states: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The states before each step t, in time order: (T + 1, B, F) -> (T, B, F) view."""
    return states[1:] if reverse else states[:-1]


def mix_forward(new: torch.Tensor, old: torch.Tensor, keep, valid) -> torch.Tensor:
    """The state after zoneout (``keep``: tensor, float or None) and lengths (``valid`` (B, 1) or None)."""
    if keep is not None:
        new = keep * old + (1 - keep) * new  # zoneout: s~_t = k_t s_{t-1} + (1 - k_t) s^cell_t
    if valid is not None:
        new = torch.where(valid, new, old)  # past its length a sequence keeps its state
    return new


def mix_backward(ds: torch.Tensor, keep, valid):
    """(dL/ds^cell_t, dL/ds_{t-1} that bypasses the cell, or None)."""
    if keep is None and valid is None:
        return ds, None
    if keep is None:
        zero = torch.zeros((), dtype=ds.dtype, device=ds.device)
        return torch.where(valid, ds, zero), torch.where(valid, zero, ds)
    d_cell, d_old = ds * (1 - keep), ds * keep
    if valid is not None:
        d_cell = torch.where(valid, d_cell, torch.zeros((), dtype=ds.dtype, device=ds.device))
        d_old = torch.where(valid, d_old, ds)
    return d_cell, d_old


def at_step(keep, t: int):
    """Zoneout keep-mask of step t: a (T, B, F) tensor is indexed, a float or None passes."""
    return keep[t] if isinstance(keep, torch.Tensor) else keep


def refuse_double_backward() -> None:
    if torch.is_grad_enabled():
        raise SeqlabError("the bptt engine has a hand-written first-order backward only: double backward "
                          "(create_graph=True) is not supported; use engine='reference' for higher derivatives")
