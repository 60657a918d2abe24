"""Checks of the trainers' settings: one-line ``SeqlabError``s that name the field, before any work.

A check written ``value <= 0`` lets NaN through (every comparison with NaN is False), so these
ask for what is wanted (``value > 0``) and test finiteness first.

Example:
    >>> positive_float("sample", float("nan"))
    Traceback (most recent call last):
    ...
    seqlab.errors.SeqlabError: sample: expected a finite number > 0, got nan
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

from seqlab.errors import SeqlabError


def integer(name: str, value, minimum: int) -> None:
    """``value`` is an integer (not a bool or a float) at least ``minimum``."""
    try:
        number = operator.index(value)
    except TypeError:
        raise SeqlabError(f"{name}: expected an integer >= {minimum}, got {value!r}") from None
    if isinstance(value, bool) or number < minimum:
        raise SeqlabError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def _finite(name: str, value, condition: str) -> float:
    expected = f"a finite number {condition}".rstrip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SeqlabError(f"{name}: expected {expected}, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise SeqlabError(f"{name}: expected {expected}, got {value!r}")
    return number


def positive_float(name: str, value) -> None:
    """``value`` is a finite number > 0."""
    if not _finite(name, value, "> 0") > 0:
        raise SeqlabError(f"{name}: expected a finite number > 0, got {value!r}")


def non_negative_float(name: str, value) -> None:
    """``value`` is a finite number >= 0."""
    if not _finite(name, value, ">= 0") >= 0:
        raise SeqlabError(f"{name}: expected a finite number >= 0, got {value!r}")


def finite_float(name: str, value) -> None:
    """``value`` is a finite number."""
    _finite(name, value, "")


def choice(name: str, value, allowed: Sequence[str]) -> None:
    """``value`` is one of ``allowed``."""
    if value not in allowed:
        raise SeqlabError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
