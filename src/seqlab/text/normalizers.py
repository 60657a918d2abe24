"""Normalizers: the first stage of the pipeline, text -> normalized text, aligned with the original.

Each normalizer maps a ``Normalized`` (the current text with each character's original span) to a
new one, following Hugging Face ``tokenizers``' alignment rules (see ``normalized``), so that token
offsets agree with it. Every normalizer ``tokenizers`` 0.23 serialises is here, with its JSON:
``NFC``, ``NFD``, ``NFKC``, ``NFKD``, ``Lowercase``, ``StripAccents``, ``Strip``, ``Replace``,
``Prepend``, ``BertNormalizer``, ``Nmt``, ``Precompiled``, ``ByteLevel`` and ``Sequence``.

Example:
    >>> n = Sequence([NFD(), StripAccents(), Lowercase()])
    >>> n.normalize_str("Café")
    'cafe'
"""

from __future__ import annotations

import base64
import binascii
import itertools

import regex

from seqlab.errors import SeqlabError
from seqlab.text import unicode
from seqlab.text.byte_level import BYTE_TO_CHAR
from seqlab.text.json_fields import Fields, describe
from seqlab.text.normalized import Normalized
from seqlab.text.patterns import compile_pattern, find_matches
from seqlab.text.precompiled import CharsMap
from seqlab.text.unicode import WHITESPACE_SET

__all__ = ["NFC", "NFD", "NFKC", "NFKD", "BertNormalizer", "ByteLevel", "Lowercase", "Nmt", "Normalized",
           "Normalizer", "Precompiled", "Prepend", "Replace", "Sequence", "Strip", "StripAccents",
           "normalizer_from_json"]


class Normalizer:
    """Base class: ``normalize`` maps a ``Normalized`` to a new one; ``to_json`` gives HF's JSON."""

    def normalize(self, normalized: Normalized) -> Normalized:
        raise NotImplementedError

    def normalize_str(self, text: str) -> str:
        return self.normalize(Normalized(text)).text

    def to_json(self) -> dict:
        return {"type": type(self).__name__}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


_ASCII_RUN = regex.compile(r"[\x00-\x7f]+")


class _Unicode(Normalizer):
    """Unicode normalization form ``FORM`` with Unicode 9.0's tables, aligned as ``tokenizers`` aligns it.

    Text is cut before "safe" characters (class 0, no decomposition, never composed with what comes
    before: ASCII among them); a stretch that is already normalized keeps its alignment, the others go
    through ``unicode.normalize_with_changes``.
    """

    FORM = "NFC"

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        if text.isascii() or not unicode.needs_normalizing(text, self.FORM):
            return normalized
        edits = []
        for a, b in self._stretches(text):
            piece = text[a:b]
            if unicode.needs_normalizing(piece, self.FORM):
                new, changes = unicode.normalize_with_changes(piece, self.FORM)
                edits.append((a, b, new, changes))
        return normalized.edit(edits) if edits else normalized

    def _stretches(self, text: str) -> list[tuple[int, int]]:
        """Non-ASCII runs (with the character before them) cut at safe characters: normalized independently."""
        out = []
        last = 0
        for match in _ASCII_RUN.finditer(text):
            a, b = match.span()
            if a > last:
                out.extend(self._cut(text, max(last - 1, 0), a))
            last = b
        if last < len(text):
            out.extend(self._cut(text, max(last - 1, 0), len(text)))
        return out

    def _cut(self, text: str, a: int, b: int) -> list[tuple[int, int]]:
        """``[a, b)`` cut before each safe character (after the first)."""
        safe = _SAFE[self.FORM]
        cuts = [a]
        for i in range(a + 1, b):
            ch = text[i]
            is_safe = safe.get(ch)
            if is_safe is None:
                is_safe = safe[ch] = _is_safe(ch, self.FORM)
            if is_safe:
                cuts.append(i)
        cuts.append(b)
        return list(itertools.pairwise(cuts))


_SAFE: dict[str, dict[str, bool]] = {"NFC": {}, "NFD": {}, "NFKC": {}, "NFKD": {}}
_SECONDS: set[str] = set()


def _is_safe(ch: str, form: str) -> bool:
    """Class 0, decomposes to itself, and (composing forms) is never the second of a composition."""
    if unicode.combining_class(ch) != 0 or unicode.decompose(ch, form in ("NFKC", "NFKD")) != ch:
        return False
    if form in ("NFD", "NFKD"):
        return True
    if not _SECONDS:
        _SECONDS.update({b for _, b in unicode.composites()}, map(chr, range(0x1161, 0x1176)),
                        map(chr, range(0x11A8, 0x11C3)))
    return ch not in _SECONDS


class NFC(_Unicode):
    FORM = "NFC"


class NFD(_Unicode):
    FORM = "NFD"


class NFKC(_Unicode):
    FORM = "NFKC"


class NFKD(_Unicode):
    FORM = "NFKD"


class Lowercase(Normalizer):
    """Lower-case each character on its own (Unicode's full mapping, no final-sigma rule, as ``tokenizers``)."""

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        lowered = text.lower()
        if len(lowered) == len(text) and "\u03a3" not in text:  # str.lower's only context rule: final sigma
            return normalized.with_text(lowered)
        pieces = [ch.lower() for ch in text]
        # a longer lower case (İ -> i̇) replaces its character, the rest count as inserted after it
        edits = [(i, i + 1, piece, (0,) + (1,) * (len(piece) - 1)) for i, piece in enumerate(pieces) if len(piece) != 1]
        return (normalized.edit(edits) if edits else normalized).with_text("".join(pieces))


class StripAccents(Normalizer):
    """Remove combining marks (Mn, Mc, Me of Unicode 9.0, as ``tokenizers``); apply after NFD to strip accents."""

    def normalize(self, normalized: Normalized) -> Normalized:
        return _remove(normalized, unicode.is_combining_mark)


def _remove(normalized: Normalized, drop) -> Normalized:
    """``normalized`` without the characters ``drop`` is true for (each kept one keeps its span)."""
    text = normalized.text
    dropped = [ch for ch in set(text) if drop(ch)]
    if not dropped:
        return normalized
    runs = regex.compile("[" + "".join(regex.escape(ch, special_only=False) for ch in dropped) + "]+")
    kept, last = [], 0
    for match in runs.finditer(text):
        a, b = match.span()
        if a > last:
            kept.append((last, a))
        last = b
    if last < len(text):
        kept.append((last, len(text)))
    return normalized.keep(kept)


class Strip(Normalizer):
    """Remove Unicode white space on the left and/or right."""

    def __init__(self, left: bool = True, right: bool = True):
        self.left, self.right = left, right

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        lead = trail = 0
        if self.left:
            while lead < len(text) and text[lead] in WHITESPACE_SET:
                lead += 1
        if self.right:
            while trail < len(text) - lead and text[len(text) - 1 - trail] in WHITESPACE_SET:
                trail += 1
        return normalized.strip(lead, trail)

    def to_json(self) -> dict:
        return {"type": "Strip", "strip_left": self.left, "strip_right": self.right}


class Replace(Normalizer):
    """Replace every match of ``pattern`` (a literal string, or an Oniguruma regex when ``is_regex``) by ``content``."""

    def __init__(self, pattern: str, content: str, is_regex: bool = False):
        self.pattern, self.content, self.is_regex = pattern, content, is_regex
        self._compiled = compile_pattern(pattern, literal=not is_regex)

    def normalize(self, normalized: Normalized) -> Normalized:
        if not self.is_regex and self.pattern not in normalized.text:
            return normalized
        return normalized.replace(find_matches(self._compiled, normalized.text), self.content)

    def to_json(self) -> dict:
        return {"type": "Replace", "pattern": {"Regex" if self.is_regex else "String": self.pattern},
                "content": self.content}


class Prepend(Normalizer):
    """Put ``prepend`` in front of non-empty text (SentencePiece's ``▁``)."""

    def __init__(self, prepend: str):
        self.prepend = prepend

    def normalize(self, normalized: Normalized) -> Normalized:
        return normalized.prepend(self.prepend)

    def to_json(self) -> dict:
        return {"type": "Prepend", "prepend": self.prepend}


_CJK_BLOCKS = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
               (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


_CJK = regex.compile("[" + "".join(f"\\U{low:08X}-\\U{high:08X}" for low, high in _CJK_BLOCKS) + "]")


class BertNormalizer(Normalizer):
    """BERT's normalization, in ``tokenizers``' order.

    ``clean_text`` drops NUL, U+FFFD and control/format/private-use characters (tab, newline and
    carriage return excepted; unassigned code points are kept) and turns white space into plain
    spaces; ``handle_chinese_chars`` puts spaces around CJK ideographs; ``strip_accents`` (by default:
    when ``lowercase``) decomposes (NFD) and drops non-spacing marks (Mn); ``lowercase`` lower-cases.
    Character classes are Unicode 8.0's, as in ``tokenizers``.
    """

    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True, strip_accents: bool | None = None,
                 lowercase: bool = True):
        self.clean_text, self.handle_chinese_chars = clean_text, handle_chinese_chars
        self.strip_accents, self.lowercase = strip_accents, lowercase

    def normalize(self, normalized: Normalized) -> Normalized:
        if self.clean_text:
            normalized = _remove(normalized, _bert_drops)
            text = normalized.text
            if any(ch in WHITESPACE_SET and ch != " " for ch in set(text)):
                normalized = normalized.with_text("".join(" " if ch in WHITESPACE_SET else ch for ch in text))
        if self.handle_chinese_chars and not normalized.text.isascii():
            edits = [(m.start(), m.end(), f" {m.group()} ", (0, 1, 1)) for m in _CJK.finditer(normalized.text)]
            if edits:  # the two spaces count as inserted after the ideograph: all three take its span
                normalized = normalized.edit(edits)
        if self.lowercase if self.strip_accents is None else self.strip_accents:
            normalized = _remove(NFD().normalize(normalized), unicode.is_nonspacing_mark)
        if self.lowercase:
            normalized = Lowercase().normalize(normalized)
        return normalized

    def to_json(self) -> dict:
        return {"type": "BertNormalizer", "clean_text": self.clean_text,
                "handle_chinese_chars": self.handle_chinese_chars, "strip_accents": self.strip_accents,
                "lowercase": self.lowercase}


def _bert_drops(ch: str) -> bool:
    return ch in "\x00\ufffd" or (ch not in "\t\n\r" and unicode.is_other(ch))


_NMT_DROPPED = frozenset(chr(c) for c in [*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, 0x8F, 0x9F])
_NMT_SPACES = frozenset(chr(c) for c in [0x09, 0x0A, 0x0C, 0x0D, 0x1680, *range(0x200B, 0x2010), 0x2028, 0x2029,
                                         0x2581, 0xFEFF, 0xFFFD])


class Nmt(Normalizer):
    """SentencePiece's ``nmt_nfkc`` clean-up without the NFKC: drop control characters, map odd spaces to spaces."""

    def normalize(self, normalized: Normalized) -> Normalized:
        normalized = _remove(normalized, _NMT_DROPPED.__contains__)
        text = normalized.text
        if any(ch in _NMT_SPACES for ch in set(text)):
            normalized = normalized.with_text("".join(" " if ch in _NMT_SPACES else ch for ch in text))
        return normalized


_GRAPHEME = regex.compile(r"\X")


class Precompiled(Normalizer):
    """SentencePiece's compiled normalization rules (``precompiled_charsmap``), applied per grapheme.

    As in SentencePiece and ``tokenizers``: a grapheme shorter than 6 UTF-8 bytes is rewritten whole
    when a prefix of it has a rule; otherwise each of its characters is rewritten on its own. The
    alignment of a rewrite follows ``tokenizers``: new characters replace the old ones one for one,
    extra ones count as inserted, and when a rewrite is shorter the character before it absorbs the
    removal.

    Args:
        charsmap: the binary ``precompiled_charsmap`` (the JSON holds it base64-encoded).
    """

    def __init__(self, charsmap: bytes):
        self.charsmap = CharsMap(charsmap)

    def normalize(self, normalized: Normalized) -> Normalized:
        lookup = self.charsmap.lookup
        text = normalized.text
        chars: list[str] = []
        changes: list[int] = []
        modified = False
        for grapheme in _GRAPHEME.findall(text):
            if len(grapheme.encode("utf-8")) < 6:
                rewrite = lookup(grapheme)
                if rewrite is not None:
                    modified = True
                    _rewrite(chars, changes, grapheme, rewrite)
                    continue
            for ch in grapheme:
                rewrite = lookup(ch)
                if rewrite is not None:
                    modified = True
                    _rewrite(chars, changes, ch, rewrite)
                else:
                    chars.append(ch)
                    changes.append(0)
        if not modified:
            return normalized
        return normalized.transform("".join(chars), changes)

    def to_json(self) -> dict:
        return {"type": "Precompiled",
                "precompiled_charsmap": base64.b64encode(self.charsmap.blob).decode("ascii")}


def _rewrite(chars: list[str], changes: list[int], old: str, new: str) -> None:
    """Append ``new`` in place of ``old`` with ``tokenizers``' changes for a precompiled rewrite."""
    chars.extend(new)
    changes.extend([0] * len(new))
    diff = len(new) - len(old)
    if diff > 0:
        changes[len(changes) - diff:] = [1] * diff
    elif diff < 0 and changes:
        changes[-1] += diff


class ByteLevel(Normalizer):
    """Each character as its UTF-8 bytes, written with the byte-level alphabet (``Ġ`` for a space)."""

    def normalize(self, normalized: Normalized) -> Normalized:
        text = normalized.text
        if not text:
            return normalized
        return normalized.map_chars(["".join(BYTE_TO_CHAR[b] for b in ch.encode("utf-8", "surrogatepass"))
                                     for ch in text])


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


_SIMPLE = {"NFC": NFC, "NFD": NFD, "NFKC": NFKC, "NFKD": NFKD, "Lowercase": Lowercase, "StripAccents": StripAccents,
           "Nmt": Nmt, "ByteLevel": ByteLevel}
_KINDS = ["BertNormalizer", "Strip", "StripAccents", "NFC", "NFD", "NFKC", "NFKD", "Sequence", "Lowercase", "Nmt",
          "Precompiled", "Replace", "Prepend", "ByteLevel"]


def normalizer_from_json(data, path: str = "normalizer") -> Normalizer | None:
    """Build a normalizer from ``tokenizer.json``'s ``"normalizer"`` entry (``None`` stays ``None``).

    Errors name the field's path (``normalizer.pattern: ...``).
    """
    try:
        return _normalizer_from_json(data, path)
    except SeqlabError as error:
        message = str(error)
        raise SeqlabError(message if message.startswith(path) else f"{path}: {message}") from None


def _normalizer_from_json(data, path: str = "normalizer") -> Normalizer | None:
    """Build a normalizer from ``tokenizer.json``'s ``"normalizer"`` entry (``None`` stays ``None``)."""
    if data is None:
        return None
    fields = Fields(data, path)
    kind = fields.type_name()
    if kind is None:
        raise fields.fail("type", f"expected one of {', '.join(_KINDS)}, found no type")
    if kind in _SIMPLE:
        return _SIMPLE[kind]()
    if kind == "Strip":
        return Strip(fields.boolean("strip_left"), fields.boolean("strip_right"))
    if kind == "Replace":
        pattern, is_regex = _pattern(fields)
        return Replace(pattern, fields.string("content"), is_regex)
    if kind == "Prepend":
        return Prepend(fields.string("prepend"))
    if kind == "BertNormalizer":
        return BertNormalizer(fields.boolean("clean_text"), fields.boolean("handle_chinese_chars"),
                              fields.boolean("strip_accents", nullable=True), fields.boolean("lowercase"))
    if kind == "Precompiled":
        encoded = fields.string("precompiled_charsmap")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise fields.fail("precompiled_charsmap", "expected base64 text") from None
        try:
            return Precompiled(blob)
        except SeqlabError as error:
            raise fields.fail("precompiled_charsmap", str(error).removeprefix("precompiled_charsmap: ")) from None
    if kind == "Sequence":
        items = fields.list("normalizers")
        return Sequence([_required(normalizer_from_json(item, f"{path}.normalizers[{i}]"), f"{path}.normalizers[{i}]")
                         for i, item in enumerate(items)])
    raise fields.fail("type", f"expected one of {', '.join(_KINDS)}, got {describe(kind)}")


def _required(value, path: str):
    if value is None:
        raise SeqlabError(f"{path}: expected a normalizer, got null")
    return value


def _pattern(fields: Fields) -> tuple[str, bool]:
    """A ``{"String": ...}`` or ``{"Regex": ...}`` pattern field as (pattern, is_regex)."""
    pattern = fields.child("pattern")
    keys = [key for key in ("String", "Regex") if pattern.has(key)]
    if len(pattern.data) != 1 or len(keys) != 1:
        raise fields.fail("pattern", 'expected {"String": ...} or {"Regex": ...}, got an object with keys '
                                     f"{sorted(pattern.data)}")
    return pattern.string(keys[0]), keys[0] == "Regex"
