"""What a model family tells the loader and the saver: the seqlab model to build and its name table.

Each family module (``gpt2``, ``bert``, ``t5``) reads transformers' ``config.json`` fields into a
seqlab config (refusing the fields seqlab cannot honour), and returns a ``Spec`` for an
architecture: how to build the seqlab model, the table from its parameters to the checkpoint's
tensors, and which checkpoint tensors may go unused (buffers, copies of tied weights).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.huggingface.mapping import Rule


@dataclass
class Spec:
    """One architecture of one family, ready to load or save."""

    architecture: str  # transformers' class name, e.g. "GPT2LMHeadModel"
    config: Any  # the seqlab config the model is built from
    build: Callable[[], nn.Module]
    rules: list[Rule]
    ignorable: Callable[[str], bool] = field(default=lambda name: False)
    defaults: dict = field(default_factory=dict)  # config.json fields a caller may override (token ids, labels)

    def hf_names(self) -> set[str]:
        return {name for rule in self.rules for name in rule.hf}


def read_field(hf: dict, name: str, default, kind: type | tuple[type, ...], where: str = "config.json"):
    """``hf[name]`` (``default`` when absent), checked to be of ``kind``; bools are not integers here."""
    value = hf.get(name, default)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if value is None and type(None) in kinds:
        return value
    if isinstance(value, bool) and bool not in kinds:
        raise SeqlabError(f"{where}: {name}: expected {_kind_name(kinds)}, got {value!r}")
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kinds):
        raise SeqlabError(f"{where}: {name}: expected {_kind_name(kinds)}, got {value!r}")
    return value


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def refuse(hf: dict, where: str, **honoured) -> None:
    """Raise when a field seqlab cannot honour has a value other than the one it can: ``field=value``."""
    bad = [f"{name}={hf[name]!r} (seqlab supports {value!r})" for name, value in honoured.items()
           if name in hf and hf[name] != value]
    if bad:
        raise SeqlabError(f"{where}: config fields seqlab cannot honour: {', '.join(bad)}")


def align_prefix(rules: list[Rule], names: set[str], prefix: str) -> list[Rule]:
    """The rules with the checkpoint names spelt as the file spells them.

    transformers saves the base model of a head model under a prefix (``transformer.``, ``bert.``),
    and a bare base model without it; a checkpoint of either kind loads into either (the released
    ``gpt2`` weights, for instance, have no prefix though its config names ``GPT2LMHeadModel``).
    """
    if not prefix:
        return rules
    expects = any(n.startswith(prefix) for rule in rules for n in rule.hf)
    has = any(n.startswith(prefix) for n in names)
    if expects and not has:
        return [Rule(r.seqlab, tuple(n.removeprefix(prefix) for n in r.hf), r.layout) for r in rules]
    if not expects and has:
        return [Rule(r.seqlab, tuple(prefix + n for n in r.hf), r.layout) for r in rules]
    return rules


def same_tensor(tensors: dict[str, torch.Tensor], a: str, b: str) -> bool:
    """Both names present and equal: a saved copy of a tied weight."""
    if a not in tensors or b not in tensors:
        return False
    return tensors[a].shape == tensors[b].shape and torch.equal(tensors[a], tensors[b])


def matcher(*patterns: str) -> Callable[[str], bool]:
    """A predicate true for names matching any of the regular expressions."""
    compiled = [re.compile(p) for p in patterns]
    return lambda name: any(p.search(name) for p in compiled)
