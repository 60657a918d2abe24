"""Typed configurations: dataclasses read from YAML/JSON, with ``key=value`` overrides checked by type.

A configuration is a (nested) dataclass. ``from_dict`` builds one from plain data, naming the bad
field on error and suggesting the close match for an unknown key; ``apply_overrides`` takes the
command line's ``fit.lr=3e-4 model.hidden_size=128`` and converts each value to its field's type.
``to_dict`` gives the resolved configuration that a run saves.

Example:
    >>> config = apply_overrides(FitConfig(), ["lr=3e-4", "schedule=cosine", "max_steps=100"])
    >>> config.lr, config.schedule, config.max_steps
    (0.0003, 'cosine', 100)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from seqlab.checks import integer, number
from seqlab.errors import SeqlabError
from seqlab.files import read_text


@dataclass(frozen=True)
class FitConfig:
    """How ``fit`` trains: optimiser, schedule, clipping, budget, evaluation and checkpoint selection."""

    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3  # peak learning rate (reached after warmup)
    weight_decay: float = 0.01  # decoupled (AdamW) or L2 (SGD); never applied to biases and norms
    beta1: float = 0.9  # AdamW first-moment decay
    beta2: float = 0.999  # AdamW second-moment decay
    momentum: float = 0.9  # SGD momentum
    schedule: Literal["constant", "cosine", "noam", "step", "plateau"] = "constant"
    warmup_steps: int = 0  # linear warmup from 0 to lr (constant, cosine, step, noam)
    min_lr_ratio: float = 0.1  # cosine decays to min_lr_ratio * lr at the last step
    step_size: int = 1000  # step schedule: multiply lr by gamma every step_size steps
    gamma: float = 0.1  # step schedule factor, and the plateau schedule's cut
    plateau_patience: int = 1  # plateau schedule: evaluations without improvement before a cut
    clip_norm: float | None = 1.0  # max global L2 norm of the gradient (None: off)
    clip_value: float | None = None  # clamp every gradient entry to [-v, v] (None: off)
    accumulation: int = 1  # micro-batches summed into one optimiser step
    max_steps: int | None = None  # optimiser steps; training stops at whichever budget ends first
    epochs: int | None = None  # passes over the training batches
    max_seconds: float | None = None  # wall-clock budget (makes the stopping step machine-dependent)
    eval_every: int = 0  # optimiser steps between evaluations; 0 = at the end of every epoch
    checkpoint_every: int = 0  # steps between checkpoints of the last state; 0 = at every evaluation
    log_every: int = 10  # steps between training-loss records in the metrics log
    patience: int | None = None  # early stopping: evaluations without improvement of `metric`
    metric: str = "loss"  # validation metric that selects the best checkpoint
    mode: Literal["min", "max"] = "min"  # whether a smaller or a larger `metric` is better
    seed: int = 0  # seeds torch, random and numpy at the start of the run
    device: str = "cpu"  # "cpu", "cuda", "cuda:1", ...; nothing assumes a GPU
    plots: bool = True  # draw curves.png (matplotlib, Agg) at the end of the run

    def __post_init__(self) -> None:
        number(self.lr, "fit.lr", low=0.0, low_open=True)
        number(self.weight_decay, "fit.weight_decay", low=0.0)
        for name in ("beta1", "beta2"):
            number(getattr(self, name), f"fit.{name}", low=0.0, high=1.0, high_open=True)
        number(self.momentum, "fit.momentum", low=0.0)
        number(self.min_lr_ratio, "fit.min_lr_ratio", low=0.0, high=1.0)
        number(self.gamma, "fit.gamma", low=0.0, high=1.0, low_open=True)
        for name in ("clip_norm", "clip_value", "max_seconds"):
            if getattr(self, name) is not None:
                number(getattr(self, name), f"fit.{name}", low=0.0, low_open=True)
        for name in ("step_size", "plateau_patience", "accumulation", "log_every"):
            integer(getattr(self, name), f"fit.{name}", low=1)
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            integer(getattr(self, name), f"fit.{name}", low=0)
        for name in ("max_steps", "epochs", "patience"):
            if getattr(self, name) is not None:
                integer(getattr(self, name), f"fit.{name}", low=1)
        integer(self.seed, "fit.seed")
        if not self.metric:
            raise SeqlabError("fit.metric: expected the name of a validation metric, got ''")
        if self.schedule == "noam" and self.warmup_steps == 0:
            raise SeqlabError("fit.warmup_steps: the noam schedule needs warmup_steps > 0, got 0")


# -- plain data <-> dataclasses ---------------------------------------------------------------

def from_dict(cls: type, data: Mapping[str, Any] | None, where: str = "") -> Any:
    """Build the dataclass ``cls`` from ``data``; every value is checked against its field's type.

    ``where`` prefixes field names in error messages (``"fit."`` gives ``fit.lr: expected ...``).
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise SeqlabError(f"{where.rstrip('.') or 'config'}: expected a mapping of keys to values, "
                          f"got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {}
    for key, value in data.items():
        if key not in names:
            raise SeqlabError(unknown_key_message(f"{where}{key}", [f"{where}{n}" for n in names]))
        values[key] = coerce(value, hints[key], f"{where}{key}")
    try:
        return cls(**values)
    except TypeError as missing:  # a required field without a default
        raise SeqlabError(f"{where.rstrip('.') or 'config'}: {missing}") from None


def to_dict(config: Any) -> dict:
    """The configuration as plain JSON/YAML-able data (nested dataclasses become dicts)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


#: Keys of earlier versions -> the key that now holds the same idea (one name per idea).
RENAMED_KEYS = {
    "model.encoder": "model.arch",
    "model.kind": "model.arch",
    "model.cell": "model.arch",
    "model.label_smoothing": "label_smoothing",
    "fit.learning_rate": "fit.lr",
    "fit.grad_clip": "fit.clip_norm",
}


def unknown_key_message(key: str, known: Sequence[str]) -> str:
    if key in RENAMED_KEYS:
        return f"key {key!r} was renamed: use {RENAMED_KEYS[key]!r}"
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f"; known keys: {', '.join(known)}"
    return f"unknown key {key!r}{hint}"


def coerce(value: Any, kind: Any, name: str) -> Any:
    """``value`` converted to the type ``kind`` (strings from the command line are parsed)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        is_null = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_null and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option, name)
            except SeqlabError as error:
                errors.append(str(error))
        raise SeqlabError(errors[0] if len(errors) == 1 else f"{name}: expected {_type_name(kind)}, got {value!r}")
    if origin is Literal:
        for choice in args:
            candidate = value
            if isinstance(value, str) and not isinstance(choice, str):
                candidate = _parse_scalar(value)
            if candidate == choice and type(candidate) is type(choice):
                return choice
        raise SeqlabError(f"{name}: expected one of {', '.join(repr(a) for a in args)}, got {value!r}")
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):
            return value
        return from_dict(kind, value, f"{name}.")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is Any:
        return value
    elif origin in (list, tuple) or kind in (list, tuple):
        if isinstance(value, str):
            value = load_yaml(value, name)
        if isinstance(value, list | tuple):
            inner = args[0] if args else Any
            items = [coerce(v, inner, f"{name}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if (origin or kind) is tuple else items
    elif origin is dict or kind is dict:
        if isinstance(value, str):
            value = load_yaml(value, name)
        if isinstance(value, Mapping):
            return dict(value)
    else:
        raise SeqlabError(f"{name}: unsupported field type {kind!r}")
    raise SeqlabError(f"{name}: expected {_type_name(kind)}, got {value!r}")


def _parse_scalar(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(kind))
    if kind is type(None):
        return "null"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(kind, str(kind))


# -- files and overrides ----------------------------------------------------------------------

MAX_CONFIG_BYTES = 1 << 20  # a config is a page of settings, not a data file


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``): a few hundred bytes of nested aliases
    can expand to gigabytes (the "billion laughs"), and a config never needs them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases (*{event.anchor}) are not supported in seqlab configs, at "
                                 f"line {event.start_mark.line + 1}")
        return super().compose_node(parent, index)


def load_yaml(text: str, where: str = "config") -> Any:
    """The value of a YAML (or JSON) text, read safely: no objects built, no aliases, at most 1 MiB."""
    if len(text) > MAX_CONFIG_BYTES:
        raise SeqlabError(f"{where}: expected at most {MAX_CONFIG_BYTES:,} characters of YAML, got {len(text):,}")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as error:
        raise SeqlabError(f"{where}: not valid YAML ({' '.join(str(error).split())})") from None
    except RecursionError:
        raise SeqlabError(f"{where}: the YAML nests too deeply") from None


def read_config_file(path: str | Path) -> dict:
    """The mapping in a YAML or JSON file (read by ``load_yaml``: no objects are built, no aliases)."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"config file {path} does not exist")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise SeqlabError(f"{path}: expected a config of at most {MAX_CONFIG_BYTES:,} bytes, "
                          f"got {path.stat().st_size:,}")
    data = load_yaml(read_text(path), str(path))
    if not isinstance(data, dict):
        raise SeqlabError(f"{path}: expected a mapping of keys to values, got {type(data).__name__}")
    return data


def apply_overrides(config: Any, overrides: Sequence[str]) -> Any:
    """A copy of ``config`` with each ``dotted.key=value`` applied and type-checked."""
    data = to_dict(config)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SeqlabError(f"override {item!r}: expected key=value, e.g. fit.lr=3e-4")
        set_dotted(data, type(config), key.strip(), value)
    return from_dict(type(config), data)


def set_dotted(data: dict, cls: type, key: str, value: Any) -> None:
    """Set ``data[a][b] = value`` for ``key="a.b"``, checking each part against the dataclass ``cls``."""
    parts = key.split(".")
    node, kind, path = data, cls, ""
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(kind):
            raise SeqlabError(f"{path.rstrip('.')}: is a value, it has no key {part!r}")
        hints = typing.get_type_hints(kind)
        names = [f.name for f in dataclasses.fields(kind)]
        if part not in names:
            raise SeqlabError(unknown_key_message(path + part, [path + n for n in names]))
        if i == len(parts) - 1:
            node[part] = coerce(value, hints[part], path + part)
        else:
            kind = _dataclass_in(hints[part])
            if node.get(part) is None:
                node[part] = {}
            node, path = node[part], f"{path}{part}."


def _dataclass_in(kind: Any) -> Any:
    for option in (kind, *typing.get_args(kind)):
        if dataclasses.is_dataclass(option):
            return option
    return kind


__all__ = ["RENAMED_KEYS", "FitConfig", "apply_overrides", "coerce", "from_dict", "load_yaml", "read_config_file",
           "set_dotted", "to_dict", "unknown_key_message"]
