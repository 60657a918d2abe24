"""Truncated backpropagation through time, TBPTT(k1, k2) (Williams & Peng 1990).

A long stream cannot be backpropagated through in one piece. TBPTT walks it forward k1 steps
at a time; after each k1 steps it takes one optimiser step on the loss of those k1 steps, with
gradients flowing back k2 steps from the current time and no further:

    for every t = k1, 2 k1, ...:
        L_t = loss(outputs[t - k1 : t], targets[t - k1 : t])
        dL_t/dtheta through the steps t - k2 .. t only (the state at t - k2 enters as a constant)

k1 = k2 is the common chunked training (as in Zaremba et al. 2014): one forward per chunk, the
state carried and detached between chunks. k2 > k1 lets each update see a longer past than it
scores; the k2 - k1 steps before the chunk are run again from the carried state, so a stream of
N steps costs about N k2 / k1 steps of forward and backward.

Example:
    >>> from seqlab.nn import LSTM
    >>> lstm, head = LSTM(4, 8), torch.nn.Linear(8, 4)
    >>> def model(inputs, state):
    ...     output, state = lstm(inputs, state)
    ...     return head(output), state
    >>> opt = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.1)
    >>> x, y = torch.randn(50, 2, 4), torch.randn(50, 2, 4)
    >>> result = truncated_bptt(model, x, y, torch.nn.functional.mse_loss, opt, k1=5, k2=10)
    >>> len(result.losses)
    10
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from seqlab.errors import SeqlabError
from seqlab.nn.stateful import detach_state


@dataclass
class TBPTTResult:
    """The loss of each update (on its k1 steps) and the state after the last step, detached."""

    losses: list[float]
    state: object


def truncated_bptt(model: Callable, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Callable,
                   optimizer: torch.optim.Optimizer, k1: int, k2: int, state=None,
                   grad_clip: float | None = None) -> TBPTTResult:
    """Train ``model`` on one long time-major sequence with TBPTT(k1, k2).

    Args:
        model: ``model(inputs (t, B, ...), state) -> (outputs (t, B, ...), state)``, state None at first
            (a seqlab or torch recurrent layer, or a model around one).
        inputs, targets: (T, B, ...), time first.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``, applied to each chunk of k1 steps.
        optimizer: stepped once per chunk.
        k1: steps between updates. k2: steps the gradient reaches back, k2 >= k1.
        state: the state before ``inputs[0]`` (carried from an earlier call), or None.
        grad_clip: clip the gradients' global norm to this before each step, if given.

    Returns:
        ``TBPTTResult``: one loss per update (a last chunk shorter than k1 gets its own update)
        and the final state, detached, to pass to the next call.
    """
    if not 1 <= k1 <= k2:
        raise SeqlabError(f"k1, k2: expected 1 <= k1 <= k2 (update every k1 steps, backpropagate k2), "
                          f"got k1={k1}, k2={k2}")
    if inputs.shape[0] != targets.shape[0]:
        raise SeqlabError(f"targets: expected {inputs.shape[0]} steps like inputs, got shape {tuple(targets.shape)}")
    T = inputs.shape[0]
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    saved = {0: detach_state(state)}  # detached states at chunk boundaries
    losses = []
    for start in range(0, T, k1):
        end = min(start + k1, T)
        window = max(0, end - k2)  # the gradient reaches back to here
        boundary = max(b for b in saved if b <= window)
        carried = saved[boundary]
        if window > boundary:
            with torch.no_grad():  # only the state at `window` is needed, as a constant
                _, carried = model(inputs[boundary:window], carried)
        carried = detach_state(carried)
        if start > window:
            _, carried = model(inputs[window:start], carried)  # the k2 - k1 steps before the chunk
        outputs, carried = model(inputs[start:end], carried)
        loss = loss_fn(outputs, targets[start:end])
        optimizer.zero_grad()
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()
        losses.append(float(loss.detach()))
        saved[end] = detach_state(carried)
        saved = {b: s for b, s in saved.items() if b >= end - k2 - k1}
    return TBPTTResult(losses=losses, state=saved[T] if T in saved else detach_state(state))
