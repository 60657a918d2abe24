"""SentencePiece's precompiled normalization map: a double-array trie of rewrite rules (``precompiled_charsmap``).

SentencePiece models (T5, ALBERT, XLM-R, mBART, ...) carry their normalization rules compiled into one
binary blob, which Hugging Face ``tokenizers`` stores base64-encoded in the ``Precompiled``
normalizer. Its layout:

    u32 little-endian  trie size in bytes (4 x number of units)
    u32 x units        the double array (darts-clone): each unit packs an offset, a "has a value"
                       bit and the byte label by which the unit is reached
    bytes              the rewritten strings, each ended by NUL; a trie value is an index into them

Looking up a key walks its UTF-8 bytes from the root: ``node ^= offset(unit)``, then for each byte
``c``: ``node ^= c``, the unit there must carry label ``c``, ``node ^= offset(unit)``, and a unit with
the value bit gives a match whose value sits in the unit at ``node``. Like SentencePiece (and
``tokenizers``), the rewrite used is the one of the *shortest* matching prefix.

``build_charsmap(rules)`` builds such a blob from a ``{source: target}`` dict (the tests use it to
make SentencePiece-style normalizers without SentencePiece).

Example:
    >>> charsmap = CharsMap(build_charsmap({"ﬁ": "fi", "Ⅳ": "IV"}))
    >>> charsmap.lookup("ﬁ"), charsmap.lookup("x")
    ('fi', None)
"""

from __future__ import annotations

import collections
import struct
from array import array

from seqlab.errors import SeqlabError

_LEAF_BIT = 1 << 8
_EXTENSION_BIT = 1 << 9
_VALUE_BIT = 1 << 31


def _offset(unit: int) -> int:
    return (unit >> 10) << ((unit & _EXTENSION_BIT) >> 6)


def _label(unit: int) -> int:
    return unit & (_VALUE_BIT | 0xFF)


class CharsMap:
    """A parsed ``precompiled_charsmap``: ``lookup(chunk)`` gives the rewrite of its shortest matching prefix."""

    def __init__(self, blob: bytes):
        if len(blob) < 4:
            raise SeqlabError(f"precompiled_charsmap: expected at least 4 bytes, got {len(blob)}")
        (size,) = struct.unpack_from("<I", blob)
        if size % 4 or 4 + size > len(blob):
            raise SeqlabError(f"precompiled_charsmap: its header announces a trie of {size} bytes but the blob holds "
                              f"{len(blob) - 4}")
        units = array("I")
        units.frombytes(blob[4:4 + size])
        if struct.pack("<I", 1) != struct.pack("=I", 1):
            units.byteswap()
        self.units = units
        self.strings = blob[4 + size:]
        try:
            self.strings.decode("utf-8")
        except UnicodeDecodeError:
            raise SeqlabError("precompiled_charsmap: its rewritten strings are not valid UTF-8") from None
        self.blob = bytes(blob)
        self._cache: dict[str, str | None] = {}

    def lookup(self, chunk: str) -> str | None:
        """The rewrite of the shortest prefix of ``chunk`` that has one, or None."""
        found = self._cache.get(chunk, False)
        if found is not False:
            return found
        found = self._lookup(chunk)
        if len(self._cache) < 100_000:
            self._cache[chunk] = found
        return found

    def _lookup(self, chunk: str) -> str | None:
        units = self.units
        try:
            node = _offset(units[0])
            for byte in chunk.encode("utf-8"):
                if byte == 0:
                    break
                node ^= byte
                unit = units[node]
                if _label(unit) != byte:
                    return None
                node ^= _offset(unit)
                if unit & _LEAF_BIT:
                    return self._string(units[node] & (_VALUE_BIT - 1))
        except IndexError:
            raise SeqlabError("precompiled_charsmap: the trie points outside itself (a corrupt charsmap)") from None
        return None

    def _string(self, index: int) -> str:
        end = self.strings.find(b"\0", index)
        raw = self.strings[index:] if end < 0 else self.strings[index:end]
        if index > len(self.strings):
            raise SeqlabError("precompiled_charsmap: a trie value points outside the rewritten strings")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SeqlabError("precompiled_charsmap: a trie value points inside a character") from None


def build_charsmap(rules: dict[str, str]) -> bytes:
    """A ``precompiled_charsmap`` blob rewriting each key of ``rules`` to its value (keys without NUL)."""
    strings = bytearray()
    values: dict[bytes, int] = {}
    for source, target in rules.items():
        key = source.encode("utf-8")
        if not key or b"\0" in key:
            raise SeqlabError(f"charsmap rule {source!r}: expected a non-empty key without NUL")
        values[key] = len(strings)
        strings += target.encode("utf-8") + b"\0"
    # the trie: node -> {byte: child}; a node with a value gets the label-0 child
    children: list[dict[int, int]] = [{}]
    value_of: dict[int, int] = {}
    for key, value in values.items():
        node = 0
        for byte in key:
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children.append({})
                children[node][byte] = nxt
            node = nxt
        value_of[node] = value
    units: list[int] = [0]
    used = {0}
    position = {0: 0}
    queue = collections.deque([0])
    lowest_free = 1
    while queue:
        node = queue.popleft()
        p = position[node]
        labels = sorted(children[node]) + ([0] if node in value_of else [])
        while lowest_free in used:
            lowest_free += 1
        # try bases that put the first label on a free position, lowest first
        candidate = lowest_free
        while True:
            base = candidate ^ labels[0]
            if candidate not in used and base > 0 and (p ^ base) < (1 << 21) \
                    and not any((base ^ label) in used for label in labels):
                break
            candidate += 1
        offset = p ^ base
        units[p] |= offset << 10 | (_LEAF_BIT if node in value_of else 0)
        for label in labels:
            q = base ^ label
            used.add(q)
            while len(units) <= q:
                units.append(0)
        if node in value_of:
            units[base] = _VALUE_BIT | value_of[node]
        for byte, child in sorted(children[node].items()):
            q = base ^ byte
            units[q] = byte
            position[child] = q
            queue.append(child)
    # as darts-clone does: whole blocks of 256 units, so that any byte read from a node stays in the array
    units.extend([0] * (-len(units) % 256))
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(strings)
