"""Normalizers: the first stage of the pipeline, text -> normalized text, with an alignment back.

Each normalizer maps a ``Normalized`` (the current text and, for every one of its characters, the
span ``[start, end)`` of the original text it came from) to a new one, so that token offsets can be
reported in the original string. Each serialises to the JSON of Hugging Face ``tokenizers``
(``{"type": "NFC"}``, ``{"type": "Sequence", "normalizers": [...]}``, ...).

Example:
    >>> n = Sequence([NFD(), StripAccents(), Lowercase()])
    >>> n.normalize_str("Café")
    'cafe'
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass

import regex

from seqlab.errors import SeqlabError
from seqlab.text.pre_tokenizers import WHITESPACE

Span = tuple[int, int]


@dataclass(frozen=True)
class Normalized:
    """Text after normalization; ``spans[i]`` is the original ``[start, end)`` of character ``i``.

    ``spans is None`` means the identity alignment (character ``i`` came from ``[i, i+1)``).
    """

    text: str
    spans: list[Span] | None = None

    @classmethod
    def of(cls, text: str) -> Normalized:
        return cls(text, None)

    def span_list(self) -> list[Span]:
        return [(i, i + 1) for i in range(len(self.text))] if self.spans is None else self.spans

    def original(self, start: int, end: int, original_length: int) -> Span:
        """The original span of normalized characters ``[start, end)``."""
        if self.spans is None:
            return start, end
        if end > start:
            return self.spans[start][0], self.spans[end - 1][1]
        point = self.spans[start][0] if start < len(self.spans) else original_length
        return point, point


class Normalizer:
    """Base class: ``normalize`` maps a ``Normalized`` to a new one; ``to_json`` gives HF's JSON."""

    def normalize(self, normalized: Normalized) -> Normalized:
        raise NotImplementedError

    def normalize_str(self, text: str) -> str:
        return self.normalize(Normalized.of(text)).text

    def to_json(self) -> dict:
        return {"type": type(self).__name__}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


def _map_chars(normalized: Normalized, pieces: list[str]) -> Normalized:
    """New text where character ``i`` became ``pieces[i]`` (possibly empty or several characters)."""
    spans = normalized.span_list()
    new_spans: list[Span] = []
    for piece, span in zip(pieces, spans):
        new_spans.extend([span] * len(piece))
    return Normalized("".join(pieces), new_spans)


class _Unicode(Normalizer):
    """Unicode normalization form ``FORM``; offsets are kept per base character with its marks.

    The whole string is normalized at once (so the text is exactly ``unicodedata.normalize``); for the
    alignment it is cut before every character of combining class 0 and each cluster is normalized
    alone: its output character ``j`` maps to the span of its input character ``min(j, m - 1)`` (m the
    cluster's length), as ``tokenizers`` aligns them (NFC's ``e + ◌́ -> é`` keeps the ``e``'s span).
    When clusters interact (Hangul jamo, rare reorderings) the cluster
    text differs from the whole, and every character then maps to the original span of the whole text.
    """

    FORM = "NFC"

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        whole = unicodedata.normalize(self.FORM, text)
        if whole == text:
            return normalized
        spans = normalized.span_list()
        starts = [i for i, ch in enumerate(text) if i == 0 or unicodedata.combining(ch) == 0]
        bounds = [*starts, len(text)]
        pieces, new_spans = [], []
        for start, end in itertools.pairwise(bounds):
            piece = unicodedata.normalize(self.FORM, text[start:end])
            pieces.append(piece)
            # output character j comes from cluster character min(j, m - 1), as in ``tokenizers``' alignments
            new_spans.extend(spans[start + min(j, end - start - 1)] for j in range(len(piece)))
        if "".join(pieces) != whole:
            first, last = (spans[0][0], spans[-1][1]) if spans else (0, 0)
            new_spans = [(first, last)] * len(whole)
        return Normalized(whole, new_spans)


class NFC(_Unicode):
    FORM = "NFC"


class NFD(_Unicode):
    FORM = "NFD"


class NFKC(_Unicode):
    FORM = "NFKC"


class NFKD(_Unicode):
    FORM = "NFKD"


class Lowercase(Normalizer):
    """Lower-case each character on its own (as ``tokenizers`` does: no final-sigma rule)."""

    def normalize(self, normalized: Normalized) -> Normalized:
        pieces = [ch.lower() for ch in normalized.text]
        if all(len(piece) == 1 for piece in pieces):
            return Normalized("".join(pieces), normalized.spans)
        return _map_chars(normalized, pieces)


def _drop_marks(normalized: Normalized, categories: tuple[str, ...]) -> Normalized:
    """``normalized`` without the characters of the given general categories."""
    if not any(unicodedata.category(ch) in categories for ch in normalized.text):
        return normalized
    return _map_chars(normalized, ["" if unicodedata.category(ch) in categories else ch for ch in normalized.text])


class StripAccents(Normalizer):
    """Remove combining marks (categories Mn, Mc, Me, as ``tokenizers`` does); apply after NFD to strip accents."""

    def normalize(self, normalized: Normalized) -> Normalized:
        return _drop_marks(normalized, ("Mn", "Mc", "Me"))


class Strip(Normalizer):
    """Remove white space (Unicode White_Space, as ``tokenizers``; not ``str.isspace``) on the left and/or right."""

    def __init__(self, left: bool = True, right: bool = True):
        self.left, self.right = left, right

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        start, end = 0, len(text)
        if self.left:
            while start < end and text[start] in WHITESPACE:
                start += 1
        if self.right:
            while end > start and text[end - 1] in WHITESPACE:
                end -= 1
        spans = None if normalized.spans is None and start == 0 else normalized.span_list()[start:end]
        return Normalized(text[start:end], spans)

    def to_json(self) -> dict:
        return {"type": "Strip", "strip_left": self.left, "strip_right": self.right}


class Replace(Normalizer):
    """Replace every match of ``pattern`` (a literal string, or a regex when ``is_regex``) by ``content``."""

    def __init__(self, pattern: str, content: str, is_regex: bool = False):
        if not pattern:
            raise SeqlabError("Replace: expected a non-empty pattern, got ''")
        self.pattern, self.content, self.is_regex = pattern, content, is_regex
        self._compiled = regex.compile(pattern if is_regex else regex.escape(pattern))

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        spans = normalized.span_list()
        pieces: list[str] = []
        new_spans: list[Span] = []
        last = 0
        for match in self._compiled.finditer(text):
            start, end = match.span()
            if end == start:
                continue
            pieces.append(text[last:start])
            new_spans.extend(spans[last:start])
            pieces.append(self.content)
            new_spans.extend([(spans[start][0], spans[end - 1][1])] * len(self.content))
            last = end
        if last == 0:
            return normalized
        pieces.append(text[last:])
        new_spans.extend(spans[last:])
        return Normalized("".join(pieces), new_spans)

    def to_json(self) -> dict:
        return {"type": "Replace", "pattern": {"Regex" if self.is_regex else "String": self.pattern},
                "content": self.content}


class Prepend(Normalizer):
    """Put ``prepend`` in front of non-empty text (SentencePiece's ``▁``)."""

    def __init__(self, prepend: str):
        self.prepend = prepend

    def normalize(self, normalized: Normalized) -> Normalized:
        if not normalized.text:
            return normalized
        spans = normalized.span_list()
        # the new characters share the span of the first one, as tokenizers aligns them
        return Normalized(self.prepend + normalized.text, [spans[0]] * len(self.prepend) + spans)

    def to_json(self) -> dict:
        return {"type": "Prepend", "prepend": self.prepend}


_CJK_BLOCKS = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
               (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_BLOCKS)


class BertNormalizer(Normalizer):
    """BERT's normalization, in ``tokenizers``' order.

    ``clean_text`` drops NUL, U+FFFD and "other" characters (categories C*, except tab, newline and
    carriage return) and turns white space into plain spaces; ``handle_chinese_chars`` puts spaces
    around CJK ideographs (so each becomes its own word); ``strip_accents`` (by default: when
    ``lowercase``) decomposes (NFD) and drops non-spacing marks (Mn only); ``lowercase`` lower-cases.
    """

    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True, strip_accents: bool | None = None,
                 lowercase: bool = True):
        self.clean_text, self.handle_chinese_chars = clean_text, handle_chinese_chars
        self.strip_accents, self.lowercase = strip_accents, lowercase

    def normalize(self, normalized: Normalized) -> Normalized:
        if self.clean_text:
            pieces = []
            for ch in normalized.text:
                if ch in "\t\n\r":
                    pieces.append(" ")
                elif ch in "\x00\ufffd" or unicodedata.category(ch).startswith("C"):
                    pieces.append("")  # dropped before white space is mapped: U+0085 (Cc) goes
                else:
                    pieces.append(" " if ch in WHITESPACE else ch)
            normalized = _map_chars(normalized, pieces)
        if self.handle_chinese_chars and any(_is_cjk(ch) for ch in normalized.text):
            normalized = _map_chars(normalized, [f" {ch} " if _is_cjk(ch) else ch for ch in normalized.text])
        if self.lowercase if self.strip_accents is None else self.strip_accents:
            # BERT strips non-spacing marks only (Mn), unlike StripAccents
            normalized = _drop_marks(NFD().normalize(normalized), ("Mn",))
        if self.lowercase:
            normalized = Lowercase().normalize(normalized)
        return normalized

    def to_json(self) -> dict:
        return {"type": "BertNormalizer", "clean_text": self.clean_text,
                "handle_chinese_chars": self.handle_chinese_chars, "strip_accents": self.strip_accents,
                "lowercase": self.lowercase}


class Sequence(Normalizer):
    """Apply normalizers one after the other."""

    def __init__(self, normalizers: list[Normalizer]):
        self.normalizers = list(normalizers)

    def normalize(self, normalized: Normalized) -> Normalized:
        for normalizer in self.normalizers:
            normalized = normalizer.normalize(normalized)
        return normalized

    def to_json(self) -> dict:
        return {"type": "Sequence", "normalizers": [n.to_json() for n in self.normalizers]}


def normalizer_from_json(data: dict | None) -> Normalizer | None:
    """Build a normalizer from HF ``tokenizer.json``'s ``"normalizer"`` entry (``None`` stays ``None``)."""
    if data is None:
        return None
    kind = data.get("type")
    simple = {"NFC": NFC, "NFD": NFD, "NFKC": NFKC, "NFKD": NFKD, "Lowercase": Lowercase, "StripAccents": StripAccents}
    if kind in simple:
        return simple[kind]()
    if kind == "Strip":
        return Strip(data.get("strip_left", True), data.get("strip_right", True))
    if kind == "Replace":
        pattern = data["pattern"]
        is_regex = "Regex" in pattern
        return Replace(pattern["Regex"] if is_regex else pattern["String"], data["content"], is_regex)
    if kind == "Prepend":
        return Prepend(data["prepend"])
    if kind == "BertNormalizer":
        return BertNormalizer(data.get("clean_text", True), data.get("handle_chinese_chars", True),
                              data.get("strip_accents"), data.get("lowercase", True))
    if kind == "Sequence":
        return Sequence([normalizer_from_json(item) for item in data["normalizers"]])
    raise SeqlabError(f"normalizer: expected one of NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, "
                      f"Prepend, BertNormalizer, Sequence; got {kind!r}")
