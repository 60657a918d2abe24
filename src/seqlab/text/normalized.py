"""Normalized text that remembers, for each of its characters, which characters of the original it came from.

Normalizers and pre-tokenizers change the text (lower-case it, decompose accents, insert ``▁``, split
it into pieces) but token offsets must point into the string the user passed. A ``Normalized`` holds
the current text and, for every character ``i`` of it, the span ``[start_i, end_i)`` of the original
string it stands for, in the original's characters. This is the alignment model of Hugging Face
``tokenizers``' ``NormalizedString``, so that offsets agree with it exactly:

- a character that *replaces* an original one takes that one's span; one that is *inserted* takes
  the span of the character before it (``(origin, origin)`` at the very start);
- a token covering characters ``[a, b)`` reports ``(start_a, end_{b-1})``.

Memory: until a normalizer changes the text's length, the alignment is the identity
``i -> (base + i, base + i + 1)`` (after ``lead`` prepended characters, which share the first real
character's span) and no per-character arrays exist. Otherwise the spans live in two ``array('i')``
(8 bytes per character in all), and a piece cut out of a text is a *view* (``at``: where its first
character sits in the arrays): splitting a long text into words copies no spans.

Example:
    >>> n = Normalized("Cafe\\u0301!").map_chars(["c", "a", "f", "e", "", "!"])
    >>> n.text, n.original(3, 5)
    ('cafe!', (3, 6))
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence


def _ints(values=()) -> array:
    return array("i", values)


class Normalized:
    """Text plus the original span of each character (see the module docstring).

    Args:
        text: the current text.
        origin: where this text's original starts in the user's string (``tokenizers``' ``original_shift``).
        starts, ends: arrays of original spans (this text's character ``i`` at index ``at + i``), or None
            for the identity.
        at: see ``starts``.
        base, lead: with no arrays, characters ``[0, lead)`` stand for ``[base, base + 1)`` and character
            ``i >= lead`` for ``[base + i - lead, base + i - lead + 1)``.
    """

    __slots__ = ("at", "base", "ends", "lead", "origin", "starts", "text")

    def __init__(self, text: str, origin: int = 0, starts: array | None = None, ends: array | None = None,
                 base: int | None = None, at: int = 0, lead: int = 0):
        self.text = text
        self.origin = origin
        self.starts, self.ends, self.at = starts, ends, at
        self.base = origin if base is None else base
        self.lead = lead

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        return f"Normalized({self.text!r}, spans={self.spans})"

    @property
    def is_identity(self) -> bool:
        """True when character ``i`` stands for original character ``base + i`` (no arrays, nothing prepended)."""
        return self.starts is None and not self.lead

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The original span of every character (a list: for tests and inspection)."""
        starts, ends = self.arrays()
        return list(zip(starts, ends))

    def arrays(self) -> tuple[array, array]:
        """``(starts, ends)`` of exactly this text's characters (built or copied: for edits)."""
        n = len(self.text)
        if self.starts is None:
            lead, base = min(self.lead, n), self.base
            starts = _ints([base]) * lead + _ints(range(base, base + n - lead))
            ends = _ints([base + 1]) * lead + _ints(range(base + 1, base + n - lead + 1))
            return starts, ends
        if self.at == 0 and len(self.starts) == n:
            return self.starts, self.ends
        return self.starts[self.at:self.at + n], self.ends[self.at:self.at + n]

    def _start(self, i: int) -> int:
        if self.starts is None:
            return self.base + max(i - self.lead, 0)
        return self.starts[self.at + i]

    def _end(self, i: int) -> int:
        if self.starts is None:
            return self.base + max(i - self.lead, 0) + 1
        return self.ends[self.at + i]

    def original(self, a: int, b: int) -> tuple[int, int]:
        """The original span of characters ``[a, b)``: first one's start to last one's end."""
        if a == b:  # tokenizers returns an empty range unconverted, shifted by the origin
            return self.origin + a, self.origin + b
        return self._start(a), self._end(b - 1)

    def offsets(self, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """``original(a, b)`` for each ``(a, b)`` of ``spans``."""
        if self.starts is None and not self.lead:
            base, origin = self.base, self.origin
            return [(base + a, base + b) if a != b else (origin + a, origin + b) for a, b in spans]
        return [self.original(a, b) for a, b in spans]

    def slice(self, a: int, b: int) -> Normalized:
        """Characters ``[a, b)`` (non-empty) as a text of their own; its origin is their first original start."""
        text = self.text[a:b] if a or b != len(self.text) else self.text
        if self.starts is None:
            if a < self.lead:
                return Normalized(text, self.base, base=self.base, lead=min(self.lead, b) - a)
            base = self.base + a - self.lead
            return Normalized(text, base, base=base)
        return Normalized(text, self.starts[self.at + a], self.starts, self.ends, at=self.at + a)

    # ------------------------------------------------------------------ edits that keep the alignment rules
    def with_text(self, text: str) -> Normalized:
        """The same alignment under new text of the same length (a character-for-character mapping)."""
        return Normalized(text, self.origin, self.starts, self.ends, self.base, self.at, self.lead)

    def map_chars(self, pieces: Sequence[str]) -> Normalized:
        """Character ``i`` becomes ``pieces[i]`` (empty: removed); every new character takes ``i``'s span.

        This is what ``tokenizers`` does for lower-casing, removing characters, mapping them, spacing
        CJK ideographs and turning text into byte characters (the first new character replaces ``i``,
        the others are inserted after it, so all of them share its span).
        """
        text = "".join(pieces)
        if len(text) == len(self.text) and all(len(piece) == 1 for piece in pieces):
            return self.with_text(text)
        starts, ends = self.arrays()
        source = [i for i, piece in enumerate(pieces) for _ in piece]  # the character each new one came from
        return Normalized(text, self.origin, _ints(map(starts.__getitem__, source)),
                          _ints(map(ends.__getitem__, source)))

    def keep(self, ranges: Sequence[tuple[int, int]]) -> Normalized:
        """Only the characters in ``ranges`` (sorted, disjoint ``[a, b)``), each with its own span (a filter)."""
        text = "".join(self.text[a:b] for a, b in ranges)
        if len(text) == len(self.text):
            return self
        starts, ends = self.arrays()
        new_starts, new_ends = _ints(), _ints()
        for a, b in ranges:
            new_starts.extend(starts[a:b])
            new_ends.extend(ends[a:b])
        return Normalized(text, self.origin, new_starts, new_ends)

    def transform(self, text: str, changes: Sequence[int]) -> Normalized:
        """The whole text replaced by ``text``, aligned by ``tokenizers``' change rule.

        ``changes[j]`` says how ``text[j]`` relates to the old characters, read left to right: ``1``
        inserted (it takes the previous old character's span), ``0`` replaces the next old character
        (its span), ``-n`` replaces the next one and drops the ``n`` after it.
        """
        return self.edit([(0, len(self.text), text, changes)])

    def edit(self, edits: Sequence[tuple[int, int, str, Sequence[int]]]) -> Normalized:
        """Several ``transform``s at once: each ``(a, b, text, changes)`` replaces ``[a, b)`` (sorted, disjoint)."""
        starts, ends = self.arrays()
        new_starts, new_ends = _ints(), _ints()
        parts, last, origin = [], 0, self.origin
        for a, b, text, changes in edits:
            parts.append(self.text[last:a])
            new_starts.extend(starts[last:a])
            new_ends.extend(ends[last:a])
            parts.append(text)
            position = a
            for change in changes:
                if change > 0:
                    if position >= 1:
                        new_starts.append(starts[position - 1])
                        new_ends.append(ends[position - 1])
                    else:
                        new_starts.append(origin)
                        new_ends.append(origin)
                else:
                    new_starts.append(starts[position])
                    new_ends.append(ends[position])
                    position += 1 - change
            last = b
        parts.append(self.text[last:])
        new_starts.extend(starts[last:])
        new_ends.extend(ends[last:])
        return Normalized("".join(parts), origin, new_starts, new_ends)

    def replace(self, matches: Sequence[tuple[int, int]], content: str) -> Normalized:
        """Replace each ``[a, b)`` of ``matches`` (sorted, disjoint) by ``content``.

        As in ``tokenizers``, every character of ``content`` counts as inserted after the match: it takes
        the span of the match's last character (of the character before an empty match).
        """
        if not matches:
            return self
        if len(content) == 1 and all(b - a == 1 for a, b in matches):
            # one character for one, at the same place: the alignment survives
            parts, last = [], 0
            for a, b in matches:
                parts.append(self.text[last:a])
                parts.append(content)
                last = b
            parts.append(self.text[last:])
            return self.with_text("".join(parts))
        starts, ends = self.arrays()
        parts, new_starts, new_ends, last = [], _ints(), _ints(), 0
        for a, b in matches:
            parts.append(self.text[last:a])
            new_starts.extend(starts[last:a])
            new_ends.extend(ends[last:a])
            parts.append(content)
            if b >= 1:
                new_starts.extend(_ints([starts[b - 1]]) * len(content))
                new_ends.extend(_ints([ends[b - 1]]) * len(content))
            else:
                new_starts.extend(_ints([self.origin]) * len(content))
                new_ends.extend(_ints([self.origin]) * len(content))
            last = b
        parts.append(self.text[last:])
        new_starts.extend(starts[last:])
        new_ends.extend(ends[last:])
        return Normalized("".join(parts), self.origin, new_starts, new_ends)

    def prepend(self, prefix: str) -> Normalized:
        """``prefix`` in front of non-empty text; its characters share the first character's span."""
        if not self.text or not prefix:
            return self
        k = len(prefix)
        if self.starts is None:
            return Normalized(prefix + self.text, self.origin, base=self.base, lead=self.lead + k)
        starts, ends = self.arrays()
        return Normalized(prefix + self.text, self.origin, _ints([starts[0]]) * k + starts,
                          _ints([ends[0]]) * k + ends)

    def strip(self, left: int, right: int) -> Normalized:
        """Drop ``left`` characters at the front and ``right`` at the back (the others keep their spans)."""
        if not (left or right):
            return self
        stop = len(self.text) - right
        text = self.text[left:stop]
        if self.starts is None:
            if left < self.lead:
                return Normalized(text, self.origin, base=self.base, lead=min(self.lead, stop) - left)
            return Normalized(text, self.origin, base=self.base + left - self.lead)
        return Normalized(text, self.origin, self.starts, self.ends, at=self.at + left)
