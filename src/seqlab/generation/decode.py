"""Decoding loops shared by every model: greedy and sampled continuation of a prefix.

A model exposes one step of decoding as a function

    step(tokens (N, t), state) -> (logits (N, V) for the next token, new state)

that sees the whole prefix so far (a model with a cache only reads the tokens it has not seen).
``state`` is any nesting of tuples, lists and dicts of tensors whose first axis is the batch,
of objects with a ``map_tensors(fn)`` method (``seqlab.nn.KVCache``), and of plain values (how
many tokens a model has read); ``map_state`` applies a function to every tensor in it, which is
how beam search reorders and copies hypotheses.

Every autoregressive model of ``seqlab.models`` is an ``Autoregressive``: ``decoding_state``
starts a decoding (from a source sentence for an encoder-decoder), ``decoding_step`` is the step
above, and ``vocab_size`` is the size of the vocabulary it predicts. ``seqlab.generation.generate``
drives any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import torch

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import sample_next

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


@runtime_checkable
class Autoregressive(Protocol):
    """A model that predicts the next token: language models and encoder-decoders alike."""

    @property
    def vocab_size(self) -> int:
        """V, the size of the vocabulary whose next-token logits ``decoding_step`` returns."""
        ...

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> Any:
        """The state before the first step: empty for a language model, the encoded ``source`` (B, S) otherwise."""
        ...

    def decoding_step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """tokens (N, t), the whole prefix so far -> (logits (N, V) of the next token, the new state)."""
        ...


def map_state(state, fn: Callable[[torch.Tensor], torch.Tensor]):
    """Apply ``fn`` to every tensor of a decoding state; returns a new state of the same structure."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, tuple):
        return tuple(map_state(s, fn) for s in state)
    if isinstance(state, list):
        return [map_state(s, fn) for s in state]
    if isinstance(state, dict):
        return {key: map_state(value, fn) for key, value in state.items()}
    if hasattr(state, "map_tensors"):
        return state.map_tensors(fn)
    if isinstance(state, int | float | str | bool):
        return state  # a plain value (e.g. how many tokens were read) is the same for every row
    raise SeqlabError(f"decoding state: cannot map over a {type(state).__name__}")


@torch.no_grad()
def decode(step: StepFn, state, start: torch.Tensor, max_new_tokens: int, eos_id: int | None = None,
           temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Extend ``start`` (B, t0) by up to ``max_new_tokens`` ids; returns (B, t0 + n).

    ``temperature=0`` is greedy search (the argmax at every step); otherwise each id is drawn
    from softmax(logits / temperature) after top-k / top-p filtering. A row that has produced
    ``eos_id`` is padded with ``eos_id`` from then on, and the loop stops when every row has.
    """
    if start.dim() != 2 or start.shape[1] == 0:
        raise SeqlabError(f"start: expected token ids (B, t0) with t0 >= 1, got shape {tuple(start.shape)}")
    if max_new_tokens < 0:
        raise SeqlabError(f"max_new_tokens: expected >= 0, got {max_new_tokens}")
    tokens = start
    finished = torch.zeros(start.shape[0], dtype=torch.bool, device=start.device)
    for _ in range(max_new_tokens):
        logits, state = step(tokens, state)
        next_id = sample_next(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                              generator=generator)  # (B, 1)
        if eos_id is not None:
            next_id = next_id.masked_fill(finished[:, None], eos_id)
            finished = finished | (next_id[:, 0] == eos_id)
        tokens = torch.cat((tokens, next_id), dim=1)
        if eos_id is not None and bool(finished.all()):
            break
    return tokens


def strip(tokens: torch.Tensor, start_length: int, eos_id: int | None) -> list[list[int]]:
    """The new ids of each row as a list, without the prefix and cut before the first ``eos_id``."""
    rows = []
    for row in tokens[:, start_length:].tolist():
        if eos_id is not None and eos_id in row:
            row = row[: row.index(eos_id)]
        rows.append(row)
    return rows
