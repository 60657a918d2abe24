"""Checks of user-given values, each failing in one line: layers, configs, trainers and commands all use these.

Every check raises ``SeqlabError`` naming the value, what was expected and what came (the value
and its type: ``2.5 (float)``), and returns the value in its canonical type (``int``, ``float``,
``bool``), so a module stores ``hidden_size=64`` even when given ``numpy.int64(64)``. A check
written ``if value <= 0: raise`` lets NaN pass (every comparison with NaN is False); these ask for
what is wanted and test finiteness first, and they refuse booleans posing as numbers and floats
posing as sizes. None of them reads tensor data: they look at Python values and tensor metadata
only, so they never wait for a device.

Example:
    >>> number(3e-4, "fit.lr", low=0.0, low_open=True)
    0.0003
    >>> number(float("nan"), "fit.lr", low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    seqlab.errors.SeqlabError: fit.lr: expected a finite number, got nan (float)
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Iterable, Mapping

import torch

from seqlab.errors import SeqlabError

_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def _shown(value) -> str:
    """The value and its type as a message shows them: ``2.5 (float)``."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _is_integer(value) -> bool:
    # bool is an Integral in Python, but True is never meant as a size
    if isinstance(value, numbers.Integral | torch.SymInt):
        return not isinstance(value, bool)
    # a size read from a tensor's shape while torch.jit.trace (the ONNX exporter) records is a 0-d integer tensor
    return (isinstance(value, torch.Tensor) and value.dim() == 0 and value.dtype in _INTEGER_DTYPES
            and torch.jit.is_tracing())


def _as_int(value):
    """``int(value)`` for a Python integer; a traced or symbolic size stays as it is, so it stays dynamic."""
    return int(value) if isinstance(value, numbers.Integral) else value


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# -- integers -----------------------------------------------------------------------------------------

def integer(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool, not a float) within [low, high]."""
    if not _is_integer(value):
        bound = f" >= {low}" if low is not None else ""
        raise SeqlabError(f"{name}: expected an integer{bound}, got {_shown(value)}")
    if low is not None and value < low:
        raise SeqlabError(f"{name}: expected an integer >= {low}, got {_shown(value)}")
    if high is not None and value > high:
        raise SeqlabError(f"{name}: expected an integer <= {high}, got {_shown(value)}")
    return _as_int(value)


def positive_int(value, name: str) -> int:
    """An integer >= 1 (a size, a count); floats such as 2.5 or 4.0 and bools are refused."""
    if not _is_integer(value) or value < 1:
        raise SeqlabError(f"{name}: expected a positive integer, got {_shown(value)}")
    return _as_int(value)


def non_negative_int(value, name: str) -> int:
    """An integer >= 0."""
    if not _is_integer(value) or value < 0:
        raise SeqlabError(f"{name}: expected an integer >= 0, got {_shown(value)}")
    return _as_int(value)


def optional_positive_int(value, name: str) -> int | None:
    """None or an integer >= 1."""
    return None if value is None else positive_int(value, name)


# -- real numbers -------------------------------------------------------------------------------------

def number(value, name: str, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> float:
    """A finite real within [low, high] (either end open when asked)."""
    if not _real(value) or not math.isfinite(value):
        raise SeqlabError(f"{name}: expected a finite number, got {_shown(value)}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        bounds = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"
        raise SeqlabError(f"{name}: expected a value in {bounds}, got {_shown(value)}")
    return float(value)


def probability(value, name: str, *, one_allowed: bool = False) -> float:
    """A finite real in [0, 1) (a dropout rate), or in [0, 1] with ``one_allowed``."""
    upper_ok = (lambda p: p <= 1.0) if one_allowed else (lambda p: p < 1.0)
    if not _real(value) or not math.isfinite(value) or not (value >= 0.0 and upper_ok(value)):
        interval = "[0, 1]" if one_allowed else "[0, 1)"
        raise SeqlabError(f"{name}: expected a probability in {interval}, got {_shown(value)}")
    return float(value)


def positive_float(value, name: str) -> float:
    """A finite real > 0 (a rate, a scale)."""
    if not _real(value) or not math.isfinite(value) or value <= 0:
        raise SeqlabError(f"{name}: expected a finite number > 0, got {_shown(value)}")
    return float(value)


def non_negative_float(value, name: str) -> float:
    """A finite real >= 0 (an epsilon, which PyTorch lets be 0)."""
    if not _real(value) or not math.isfinite(value) or value < 0:
        raise SeqlabError(f"{name}: expected a finite number >= 0, got {_shown(value)}")
    return float(value)


def finite_float(value, name: str) -> float:
    """Any finite real."""
    if not _real(value) or not math.isfinite(value):
        raise SeqlabError(f"{name}: expected a finite number, got {_shown(value)}")
    return float(value)


# -- the rest -----------------------------------------------------------------------------------------

def flag(value, name: str) -> bool:
    """True or False; a string such as "false" (truthy!) is refused."""
    if not isinstance(value, bool):
        raise SeqlabError(f"{name}: expected True or False, got {_shown(value)}")
    return value


def choice(value, name: str, choices: Collection):
    """One of ``choices`` (compared by equality; True is not taken for 1)."""
    try:
        known = not isinstance(value, bool) and value in choices
    except TypeError:  # an unhashable value looked up in a dict
        known = False
    if not known:
        raise SeqlabError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def known_keywords(options: Mapping[str, object], known: Iterable[str], where: str) -> None:
    """Refuse keyword arguments outside ``known``, listing the known ones and the close matches."""
    known = sorted(known)
    unknown = [name for name in options if name not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    noun = "option" if len(unknown) == 1 else "options"
    raise SeqlabError(f"{where}: unknown {noun} {', '.join(hints)}; known options: {', '.join(known)}")


def tensor(value, name: str, expected: str) -> torch.Tensor:
    """A tensor; ``expected`` describes its shape for the message, e.g. "(B, T, E)"."""
    if not isinstance(value, torch.Tensor):
        raise SeqlabError(f"{name}: expected a tensor {expected}, got {type(value).__name__}")
    return value


def autocast_enabled(device: torch.device) -> bool:
    """Whether autocast is on for ``device``: then inputs may differ in dtype from the parameters."""
    try:
        return torch.is_autocast_enabled(device.type)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() if device.type == "cuda" else torch.is_autocast_cpu_enabled()
    except RuntimeError:  # a device autocast does not know (meta): nothing is cast there
        return False


__all__ = ["autocast_enabled", "choice", "finite_float", "flag", "integer", "known_keywords", "non_negative_float",
           "non_negative_int", "number", "optional_positive_int", "positive_float", "positive_int", "probability",
           "tensor"]
