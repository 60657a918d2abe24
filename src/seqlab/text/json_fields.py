"""Typed reading of ``tokenizer.json`` objects: every bad field is a one-line error naming its path.

``Fields(data, "model")`` wraps one JSON object; ``fields.string("unk_token")``,
``fields.boolean("fuse_unk", default=False)``, ... return the value or raise a ``SeqlabError`` such
as ``model.unk_token: expected a string, got a list``. Types are strict, as Hugging Face
``tokenizers``' (serde's) are: ``true`` is not a number, ``1.0`` is not an integer. Unknown fields
are ignored, as ``tokenizers`` ignores them.

Example:
    >>> Fields({"type": "BPE", "fuse_unk": 1}, "model").boolean("fuse_unk")
    Traceback (most recent call last):
    ...
    seqlab.errors.SeqlabError: model.fuse_unk: expected true or false, got the number 1
"""

from __future__ import annotations

from typing import Any

from seqlab.errors import SeqlabError

MISSING: Any = object()
MAX_DEPTH = 128  # serde_json's recursion limit: deeper files do not load in tokenizers either
U32_MAX = 2**32 - 1


def describe(value) -> str:
    """How a JSON value is named in error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_integer(value) -> bool:
    return type(value) is int


def depth(value) -> int:
    """How deeply objects and lists nest in ``value`` (a scalar is 0), computed without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in items if isinstance(child, dict | list))
    return deepest


class Fields:
    """One JSON object of a ``tokenizer.json`` and the path it sits at (``model``, ``normalizer.normalizers[1]``)."""

    def __init__(self, data, path: str):
        if not isinstance(data, dict):
            raise SeqlabError(f"{path}: expected an object, got {describe(data)}")
        self.data, self.path = data, path

    def where(self, name: str) -> str:
        return f"{self.path}.{name}"

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default=MISSING):
        if name in self.data:
            return self.data[name]
        if default is MISSING:
            raise SeqlabError(f"{self.where(name)}: expected this field, found none")
        return default

    def _typed(self, name, default, check, expected, nullable):
        if name not in self.data:
            if default is MISSING:
                raise SeqlabError(f"{self.where(name)}: expected this field, found none")
            return default
        value = self.data[name]
        if value is None and nullable:
            return None
        if not check(value):
            raise SeqlabError(f"{self.where(name)}: expected {expected}{' or null' if nullable else ''}, "
                              f"got {describe(value)}")
        return value

    def string(self, name: str, default=MISSING, nullable: bool = False) -> str:
        return self._typed(name, default, lambda v: isinstance(v, str), "a string", nullable)

    def char(self, name: str, default=MISSING) -> str:
        return self._typed(name, default, lambda v: isinstance(v, str) and len(v) == 1, "a single character",
                           False)

    def boolean(self, name: str, default=MISSING, nullable: bool = False) -> bool:
        return self._typed(name, default, lambda v: isinstance(v, bool), "true or false", nullable)

    def integer(self, name: str, default=MISSING, nullable: bool = False, maximum: int = U32_MAX) -> int:
        return self._typed(name, default, lambda v: is_integer(v) and 0 <= v <= maximum,
                           f"an integer from 0 to {maximum}", nullable)

    def number(self, name: str, default=MISSING, nullable: bool = False) -> float:
        return self._typed(name, default, lambda v: isinstance(v, int | float) and not isinstance(v, bool),
                           "a number", nullable)

    def list(self, name: str, default=MISSING, nullable: bool = False) -> list:
        return self._typed(name, default, lambda v: isinstance(v, list), "a list", nullable)

    def object(self, name: str, default=MISSING, nullable: bool = False) -> dict:
        return self._typed(name, default, lambda v: isinstance(v, dict), "an object", nullable)

    def child(self, name: str) -> Fields:
        return Fields(self.raw(name), self.where(name))

    def type_name(self) -> str | None:
        """The ``type`` tag (None when absent); anything but a string is an error."""
        if "type" not in self.data:
            return None
        kind = self.data["type"]
        if not isinstance(kind, str):
            raise SeqlabError(f"{self.where('type')}: expected a type name, got {describe(kind)}")
        return kind

    def kind(self, expected: str) -> None:
        """Check the ``type`` tag, when present, names ``expected``."""
        if "type" in self.data and self.data["type"] != expected:
            raise SeqlabError(f"{self.where('type')}: expected {expected!r}, got {describe(self.data['type'])}")

    def fail(self, name: str, message: str) -> SeqlabError:
        return SeqlabError(f"{self.where(name)}: {message}")
