"""Name-mapping tables between seqlab's parameters and the tensors of a Hugging Face checkpoint.

A table is a list of rows ``(seqlab name, Hugging Face name(s), layout)``; rows with ``{i}`` are
written once for a block and expanded for every block. The layout says how the tensors relate:

* ``SAME``: the same tensor under another name;
* ``TRANSPOSED``: GPT-2's ``Conv1D`` stores a linear map as (in, out), ``nn.Linear`` as (out, in);
* ``STACKED``: seqlab's ``in_proj_weight`` is [W^Q; W^K; W^V] (3E, E), BERT stores three (E, E).

``to_seqlab`` turns a checkpoint's tensors into a seqlab state dict and checks them against the
model it will be loaded into: every tensor the table names must be there, with the shape the
model needs and a floating-point dtype, and nothing else may be left over. ``to_hf`` is the
reverse. Both name what is wrong in a one-line ``SeqlabError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from seqlab.errors import SeqlabError


@dataclass(frozen=True)
class Layout:
    """How one seqlab tensor is made of Hugging Face tensors, and back."""

    name: str
    to_seqlab: Callable[[Sequence[torch.Tensor]], torch.Tensor]
    to_hf: Callable[[torch.Tensor, int], list[torch.Tensor]]


SAME = Layout("same", lambda hf: hf[0], lambda t, n: [t])
TRANSPOSED = Layout("transposed", lambda hf: hf[0].t(), lambda t, n: [t.t()])  # Conv1D (in, out) <-> Linear (out, in)
STACKED = Layout("stacked", lambda hf: torch.cat(tuple(hf), dim=0), lambda t, n: list(t.chunk(n, dim=0)))


@dataclass(frozen=True)
class Rule:
    """seqlab parameter ``seqlab`` is made of the checkpoint's tensors ``hf`` by ``layout``."""

    seqlab: str
    hf: tuple[str, ...]
    layout: Layout = SAME


Row = tuple[str, str | tuple[str, ...], Layout]


def expand(rows: Iterable[Row], layers: int | None = None, seqlab_prefix: str = "", hf_prefix: str = "") -> list[Rule]:
    """Rules from table rows: ``{i}`` is replaced by every block index below ``layers``; prefixes are prepended."""
    rules = []
    for seqlab, hf, layout in rows:
        names = (hf,) if isinstance(hf, str) else tuple(hf)
        indices = range(layers) if "{i}" in seqlab else [None]
        for i in indices:
            rules.append(Rule(seqlab_prefix + seqlab.format(i=i),
                              tuple(hf_prefix + name.format(i=i) for name in names), layout))
    return rules


def listing(names: Iterable[str], limit: int = 6) -> str:
    """``a, b, c (and 4 more)``: a short list of names for a one-line message."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def to_seqlab(tensors: dict[str, torch.Tensor], rules: Sequence[Rule], model_state: dict[str, torch.Tensor],
              dtype: torch.dtype, where: str, ignorable: Callable[[str], bool] = lambda name: False,
              ) -> dict[str, torch.Tensor]:
    """The seqlab state dict (in ``dtype``) made from a checkpoint's ``tensors`` by ``rules``.

    ``model_state`` is the state dict of the model it is for (its shapes are the expected ones);
    ``ignorable`` names the checkpoint tensors that may be left unused (buffers such as GPT-2's
    causal mask, copies of tied weights). ``where`` (the folder) starts every error message.
    """
    missing = [name for rule in rules for name in rule.hf if name not in tensors]
    if missing:
        raise SeqlabError(f"{where}: the checkpoint lacks {len(missing)} tensor(s) the model needs: {listing(missing)}")
    not_float = [f"{name} ({tensors[name].dtype})" for rule in rules for name in rule.hf
                 if not tensors[name].is_floating_point()]
    if not_float:
        raise SeqlabError(f"{where}: expected floating-point tensors, got {listing(not_float)}")
    wrong = []
    for rule in rules:
        expected = rule.layout.to_hf(model_state[rule.seqlab], len(rule.hf))
        for name, want in zip(rule.hf, expected):
            if tensors[name].shape != want.shape:
                wrong.append(f"{name} {_shape(tensors[name])} (expected {_shape(want)})")
    if wrong:
        raise SeqlabError(f"{where}: tensors of the wrong shape for the config: {listing(wrong, 4)}")
    used = {name for rule in rules for name in rule.hf}
    unexpected = sorted(name for name in tensors if name not in used and not ignorable(name))
    if unexpected:
        raise SeqlabError(f"{where}: the checkpoint has {len(unexpected)} tensor(s) this architecture does not use: "
                          f"{listing(unexpected)}")
    return {rule.seqlab: rule.layout.to_seqlab([tensors[name] for name in rule.hf]).to(dtype).contiguous()
            for rule in rules}


def to_hf(model_state: dict[str, torch.Tensor], rules: Sequence[Rule]) -> dict[str, torch.Tensor]:
    """The checkpoint tensors (contiguous copies, safe to save) of a seqlab state dict, by ``rules``."""
    tensors = {}
    for rule in rules:
        for name, tensor in zip(rule.hf, rule.layout.to_hf(model_state[rule.seqlab].detach(), len(rule.hf))):
            tensors[name] = tensor.contiguous().clone()
    return tensors
