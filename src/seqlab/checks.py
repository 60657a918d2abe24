"""Checks of user-given values that NaN cannot slip through: each raises a ``SeqlabError`` naming the value.

A check written ``if value <= 0: raise`` lets NaN pass (every comparison with NaN is False);
these are written the other way round, and they also refuse infinities, booleans posing as
numbers and floats posing as sizes. Configs, layers and commands call them before any work.

Example:
    >>> check_number("fit.lr", 3e-4, low=0.0, low_open=True)
    >>> check_number("fit.lr", float("nan"), low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    seqlab.errors.SeqlabError: fit.lr: expected a finite number, got nan
"""

from __future__ import annotations

import math

from seqlab.errors import SeqlabError


def check_number(name: str, value, low: float | None = None, high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> None:
    """``value`` is a finite real number within [low, high] (ends open when asked)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SeqlabError(f"{name}: expected a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        bounds = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"
        raise SeqlabError(f"{name}: expected a value in {bounds}, got {value!r}")


def check_integer(name: str, value, low: int | None = None, high: int | None = None) -> None:
    """``value`` is an int (not a bool, not a float) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeqlabError(f"{name}: expected an integer, got {value!r}")
    if low is not None and value < low:
        raise SeqlabError(f"{name}: expected an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise SeqlabError(f"{name}: expected an integer <= {high}, got {value}")


def check_probability(name: str, value, allow_one: bool = True) -> None:
    """``value`` is a probability in [0, 1] (or [0, 1) when ``allow_one`` is False, as a dropout rate)."""
    check_number(name, value, low=0.0, high=1.0, high_open=not allow_one)


def check_choice(name: str, value, choices) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise SeqlabError(f"{name}: expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")


__all__ = ["check_choice", "check_integer", "check_number", "check_probability"]
