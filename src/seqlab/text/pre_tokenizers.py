"""Pre-tokenizers: the second stage, normalized text -> pieces ("words") that the model splits further.

A piece is a ``Normalized``: its text and, per character, the span of the original string it stands
for, so pre-tokenizers that insert characters (the prefix space of ``ByteLevel``, the ``▁`` of
``Metaspace``) keep offsets right. ``split(pieces)`` maps a list of pieces to a finer one; empty
pieces are dropped, as in ``tokenizers``. Every pre-tokenizer ``tokenizers`` 0.23 serialises is
here: ``BertPreTokenizer``, ``ByteLevel``, ``CharDelimiterSplit``, ``Digits``, ``FixedLength``,
``Metaspace``, ``Punctuation``, ``Sequence``, ``Split``, ``UnicodeScripts``, ``Whitespace`` and
``WhitespaceSplit``.

Split behaviours (what happens to the matched delimiters), as in ``tokenizers``: ``removed`` drops
them, ``isolated`` makes each its own piece, ``merged_with_previous`` / ``merged_with_next`` glue each
to its neighbour, ``contiguous`` groups adjacent delimiters into one piece.

Example:
    >>> [piece for piece, _ in Whitespace().pre_tokenize_str("Hello, world!")]
    ['Hello', ',', 'world', '!']
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Iterable, Iterator

import regex

from seqlab.errors import SeqlabError
from seqlab.text import _unicode_data, unicode
from seqlab.text.byte_level import BYTE_TO_CHAR, to_byte_chars
from seqlab.text.json_fields import Fields, describe
from seqlab.text.normalized import Normalized
from seqlab.text.patterns import compile_pattern, find_matches
from seqlab.text.unicode import WHITESPACE, WHITESPACE_SET

#: GPT-2's split pattern (contractions, letters, numbers, other symbols, whitespace).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: GPT-4's (cl100k) split pattern: case-insensitive contractions, numbers in groups of at most 3.
GPT4_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"""
    r"""\s+(?!\S)|\s+"""
)
BEHAVIORS = {"removed": "Removed", "isolated": "Isolated", "merged_with_previous": "MergedWithPrevious",
             "merged_with_next": "MergedWithNext", "contiguous": "Contiguous"}
_BEHAVIOR_NAMES = {value: key for key, value in BEHAVIORS.items()}
# Rust's regex crate: \w is Alphabetic, marks, decimal digits, connector punctuation and join controls
_WORD = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}"
_WHITESPACE_CLASS = regex.escape(WHITESPACE)

__all__ = ["GPT2_PATTERN", "GPT4_PATTERN", "BertPreTokenizer", "ByteLevel", "CharDelimiterSplit", "Digits",
           "FixedLength", "Metaspace", "PreTokenizer", "Punctuation", "Sequence", "Split", "UnicodeScripts",
           "Whitespace", "WhitespaceSplit", "pre_tokenizer_from_json"]


def split_spans(length: int, matches: list[tuple[int, int]], behavior: str,
                invert: bool = False) -> list[tuple[int, int]]:
    """Cut ``[0, length)`` at the delimiter ``matches`` (sorted, disjoint) following ``behavior``.

    With ``invert`` the matches are the pieces and the gaps between them the delimiters. Empty spans
    may be returned (the caller drops them).
    """
    if length == 0:
        return []
    spans: list[tuple[int, int, bool]] = []
    last = 0
    for a, b in matches:
        if a != last:
            spans.append((last, a, invert))
        spans.append((a, b, not invert))
        last = b
    if last != length:
        spans.append((last, length, invert))
    if behavior == "removed":
        return [(a, b) for a, b, is_match in spans if not is_match]
    if behavior == "isolated":
        return [(a, b) for a, b, _ in spans]
    out: list[list[int]] = []
    if behavior == "contiguous":
        previous = False
        for a, b, is_match in spans:
            if is_match == previous and out:
                out[-1][1] = b
            else:
                out.append([a, b])
            previous = is_match
        return [(a, b) for a, b in out]
    if behavior == "merged_with_previous":
        previous = False
        for a, b, is_match in spans:
            if is_match and not previous and out:
                out[-1][1] = b
            else:
                out.append([a, b])
            previous = is_match
        return [(a, b) for a, b in out]
    if behavior == "merged_with_next":
        previous = False
        for a, b, is_match in reversed(spans):
            if is_match and not previous and out:
                out[-1][0] = a
            else:
                out.append([a, b])
            previous = is_match
        return [(a, b) for a, b in reversed(out)]
    raise SeqlabError(f"split behavior: expected one of {sorted(BEHAVIORS)}, got {behavior!r}")


def _char_matches(text: str, predicate) -> list[tuple[int, int]]:
    return [(i, i + 1) for i, ch in enumerate(text) if predicate(ch)]


def _cut(piece: Normalized, spans: Iterable[tuple[int, int]]) -> Iterator[Normalized]:
    """The non-empty ``spans`` of ``piece`` as pieces of their own (views: no text is copied twice)."""
    n = len(piece.text)
    for a, b in spans:
        if b > a:
            yield piece if a == 0 and b == n else piece.slice(a, b)


class PreTokenizer:
    """Base class: ``split`` maps pieces to finer pieces, lazily; ``to_json`` gives HF's JSON."""

    #: True when the model sees the UTF-8 bytes of each piece (as byte characters), not its characters.
    is_byte_level = False

    def split(self, pieces: Iterable[Normalized]) -> Iterator[Normalized]:
        for piece in pieces:
            yield from self.split_piece(piece)

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        raise NotImplementedError

    def tiles(self, text: str) -> Iterator[list[str]] | None:
        """The pieces of an untouched ``text`` as runs of strings that concatenate to it, when this
        pre-tokenizer only cuts (no character added or dropped); else None. The fast path of encoding."""
        return None

    def pre_tokenize_str(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """The pieces of ``text`` with their spans in it, as ``tokenizers``' ``pre_tokenize_str`` gives them
        (in byte characters after a ``ByteLevel``)."""
        pieces = self.split([Normalized(text)])
        if self.is_byte_level:
            pieces = map(byte_characters, pieces)
        return [(piece.text, piece.original(0, len(piece.text))) for piece in pieces if piece.text]

    def to_json(self) -> dict:
        return {"type": type(self).__name__}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


class _RegexSplit(PreTokenizer):
    """Split each piece at the matches of a compiled regex, with a split behaviour."""

    def __init__(self, compiled: regex.Pattern, behavior: str, invert: bool = False):
        if behavior not in BEHAVIORS:
            raise SeqlabError(f"split behavior: expected one of {sorted(BEHAVIORS)}, got {behavior!r}")
        self._compiled, self.behavior, self.invert = compiled, behavior, invert

    def split_piece(self, piece: Normalized) -> Iterator[Normalized]:
        text = piece.text
        tiles = self.tiles(text) if piece.is_identity else None
        if tiles is not None:
            base = piece.base
            for run in tiles:
                for part, start in zip(run, itertools.accumulate(map(len, run), initial=base)):
                    yield Normalized(part, start)
                base += sum(map(len, run))
            return
        yield from _cut(piece, split_spans(len(text), find_matches(self._compiled, text), self.behavior,
                                           self.invert))

    def tiles(self, text: str) -> Iterator[list[str]] | None:
        if self.behavior != "isolated" or self.invert or self._compiled.groups:
            return None
        found = self._compiled.findall(text)
        # matches that cover the text (none empty) are the pieces themselves
        if all(found) and sum(map(len, found)) == len(text):
            return iter([found])
        return None


class Split(_RegexSplit):
    """Split at a literal string or an Oniguruma regex (``is_regex``), e.g. ``Split(GPT4_PATTERN, is_regex=True)``."""

    def __init__(self, pattern: str, behavior: str = "isolated", invert: bool = False, is_regex: bool = False):
        self.pattern, self.is_regex = pattern, is_regex
        super().__init__(compile_pattern(pattern, literal=not is_regex), behavior, invert)

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        if not self.is_regex and not self.pattern:
            return [piece]  # an empty literal matches nothing, as in tokenizers
        return super().split_piece(piece)

    def tiles(self, text: str) -> Iterator[list[str]] | None:
        if not self.is_regex and not self.pattern:
            return iter([[text]] if text else [])
        return super().tiles(text)

    def to_json(self) -> dict:
        return {"type": "Split", "pattern": {"Regex" if self.is_regex else "String": self.pattern},
                "behavior": BEHAVIORS[self.behavior], "invert": self.invert}


class Whitespace(_RegexSplit):
    r"""Runs of word characters and runs of other non-space characters: ``\w+|[^\w\s]+``; spaces dropped."""

    def __init__(self):
        super().__init__(regex.compile(f"[{_WORD}]+|[^{_WORD}{_WHITESPACE_CLASS}]+"), "removed", invert=True)


class WhitespaceSplit(PreTokenizer):
    """Split on Unicode white space (dropped)."""

    _RUNS = regex.compile(f"[^{_WHITESPACE_CLASS}]+")

    def split_piece(self, piece: Normalized) -> Iterator[Normalized]:
        return _cut(piece, (m.span() for m in self._RUNS.finditer(piece.text)))


class CharDelimiterSplit(PreTokenizer):
    """Split on one delimiter character (dropped)."""

    def __init__(self, delimiter: str):
        if len(delimiter) != 1:
            raise SeqlabError(f"CharDelimiterSplit: expected one delimiter character, got {delimiter!r}")
        self.delimiter = delimiter

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        text, spans, last = piece.text, [], 0
        while True:
            found = text.find(self.delimiter, last)
            if found < 0:
                break
            spans.append((last, found))
            last = found + 1
        spans.append((last, len(text)))
        return _cut(piece, spans)

    def to_json(self) -> dict:
        return {"type": "CharDelimiterSplit", "delimiter": self.delimiter}


class Punctuation(PreTokenizer):
    """Split around every punctuation character (ASCII or Unicode 8.0 P*; ``isolated`` by default)."""

    def __init__(self, behavior: str = "isolated"):
        if behavior not in BEHAVIORS:
            raise SeqlabError(f"split behavior: expected one of {sorted(BEHAVIORS)}, got {behavior!r}")
        self.behavior = behavior

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        text = piece.text
        return _cut(piece, split_spans(len(text), _char_matches(text, unicode.is_punctuation), self.behavior))

    def to_json(self) -> dict:
        return {"type": "Punctuation", "behavior": BEHAVIORS[self.behavior]}


class Digits(PreTokenizer):
    """Split off numeric characters (Nd, Nl, No): each on its own (``individual_digits``) or in runs."""

    def __init__(self, individual_digits: bool = False):
        self.individual_digits = individual_digits

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        text = piece.text
        behavior = "isolated" if self.individual_digits else "contiguous"
        return _cut(piece, split_spans(len(text), _char_matches(text, unicode.is_numeric), behavior))

    def to_json(self) -> dict:
        return {"type": "Digits", "individual_digits": self.individual_digits}


class BertPreTokenizer(PreTokenizer):
    """BERT's rule: split on white space (dropped), then isolate every punctuation character."""

    def split(self, pieces: Iterable[Normalized]) -> Iterator[Normalized]:
        return _PUNCTUATION.split(_WHITESPACE_SPLIT.split(pieces))

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        return self.split([piece])


class FixedLength(PreTokenizer):
    """Cut each piece into chunks of ``length`` characters (the last one may be shorter)."""

    def __init__(self, length: int = 5):
        if not isinstance(length, int) or length < 1:
            raise SeqlabError(f"FixedLength: expected a length of at least 1, got {length!r}")
        self.length = length

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        n = len(piece.text)
        return _cut(piece, [(a, min(a + self.length, n)) for a in range(0, n, self.length)])

    def to_json(self) -> dict:
        return {"type": "FixedLength", "length": self.length}


class UnicodeScripts(PreTokenizer):
    """Split where the Unicode script changes (SentencePiece's rule: Hiragana, Katakana and ``ー`` count as Han,
    spaces and characters without a script join either side)."""

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        # as in tokenizers, text before the first character with a script (leading spaces) is dropped
        cuts, last = [], None
        for i, ch in enumerate(piece.text):
            script = _script(ch)
            if script != "Any":
                if script != last:
                    cuts.append(i)
                last = script
        cuts.append(len(piece.text))
        return _cut(piece, list(itertools.pairwise(cuts)))


_SCRIPT_PATTERNS: list[tuple[str, regex.Pattern]] = []
_SCRIPT_CACHE: dict[str, str] = {}
_SCRIPT_UNKNOWN_STARTS = [first for first, _ in _unicode_data.SCRIPT_UNKNOWN]
_HAN_LIKE = regex.compile(r"\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}")


def _script(ch: str) -> str:
    """The script class of ``ch`` as SentencePiece's table (and ``tokenizers``) gives it; ``Any`` joins either side."""
    found = _SCRIPT_CACHE.get(ch)
    if found is not None:
        return found
    code = ord(ch)
    k = bisect.bisect_right(_SCRIPT_UNKNOWN_STARTS, code) - 1
    if ch == " " or (k >= 0 and code <= _unicode_data.SCRIPT_UNKNOWN[k][1]) or unicodedata.category(ch) == "Cn":
        found = "Any"
    elif code in _unicode_data.SCRIPT_CHANGED:
        found = _unicode_data.SCRIPT_CHANGED[code]
    elif ch == "\u30fc" or _HAN_LIKE.match(ch):
        found = "Han"  # SentencePiece counts Hiragana, Katakana and the prolonged sound mark as Han
    else:
        found = _script_name(ch)
    _SCRIPT_CACHE[ch] = found
    return found


def _script_name(ch: str) -> str:
    if not _SCRIPT_PATTERNS:  # one pattern, a named group per script: one match finds the script
        _SCRIPT_PATTERNS.append(("", regex.compile("|".join(rf"(?P<{name}>\p{{Script={name}}})"
                                                              for name in _SCRIPT_NAMES))))
    found = _SCRIPT_PATTERNS[0][1].match(ch)
    return found.lastgroup if found is not None else "Any"


_SCRIPT_NAMES = [
    "Common", "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Syriac", "Thaana", "Devanagari",
    "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao",
    "Tibetan", "Myanmar", "Georgian", "Hangul", "Ethiopic", "Cherokee", "Canadian_Aboriginal", "Ogham", "Runic",
    "Khmer", "Mongolian", "Bopomofo", "Yi", "Old_Italic", "Gothic", "Deseret", "Inherited", "Tagalog",
    "Hanunoo", "Buhid", "Tagbanwa", "Limbu", "Tai_Le", "Linear_B", "Ugaritic", "Shavian", "Osmanya", "Cypriot",
    "Braille", "Buginese", "Coptic", "New_Tai_Lue", "Glagolitic", "Tifinagh", "Syloti_Nagri", "Old_Persian",
    "Kharoshthi", "Balinese", "Cuneiform", "Phoenician", "Phags_Pa", "Nko", "Sundanese", "Lepcha", "Ol_Chiki",
    "Vai", "Saurashtra", "Kayah_Li", "Rejang", "Lycian", "Carian", "Lydian", "Cham", "Tai_Tham", "Tai_Viet",
    "Avestan", "Egyptian_Hieroglyphs", "Samaritan", "Lisu", "Bamum", "Javanese", "Meetei_Mayek", "Imperial_Aramaic",
    "Old_South_Arabian", "Inscriptional_Parthian", "Inscriptional_Pahlavi", "Old_Turkic", "Kaithi", "Batak",
    "Brahmi", "Mandaic", "Chakma", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Sharada", "Sora_Sompeng",
    "Takri", "Caucasian_Albanian", "Bassa_Vah", "Duployan", "Elbasan", "Grantha", "Pahawh_Hmong", "Khojki",
    "Linear_A", "Mahajani", "Manichaean", "Mende_Kikakui", "Modi", "Mro", "Old_North_Arabian", "Nabataean",
    "Palmyrene", "Pau_Cin_Hau", "Old_Permic", "Psalter_Pahlavi", "Siddham", "Khudawadi", "Tirhuta", "Warang_Citi",
    "Ahom", "Anatolian_Hieroglyphs", "Hatran", "Multani", "Old_Hungarian", "SignWriting", "Adlam", "Bhaiksuki",
    "Marchen", "Newa", "Osage", "Tangut",
]


class ByteLevel(PreTokenizer):
    """GPT-2's pre-tokenizer: optional prefix space, split with ``GPT2_PATTERN``, then work on UTF-8 bytes.

    The model then sees each piece as byte characters (``Ġ`` for a space); the byte characters of one
    character all carry that character's span.

    Args:
        add_prefix_space: put a space in front of each piece that lacks one, so that the first word is
            tokenized like the others (" hello" rather than "hello").
        use_regex: split with GPT-2's pattern (turn off when an earlier ``Split`` already did, as for GPT-4).
        trim_offsets: kept for the JSON; the trimming itself is done by the ``ByteLevel`` post-processor.
    """

    is_byte_level = True
    _SPLIT = _RegexSplit(compile_pattern(GPT2_PATTERN), "isolated")

    def __init__(self, add_prefix_space: bool = False, use_regex: bool = True, trim_offsets: bool = True):
        self.add_prefix_space, self.use_regex, self.trim_offsets = add_prefix_space, use_regex, trim_offsets

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        if self.add_prefix_space and not piece.text.startswith(" "):
            piece = piece.prepend(" ")
        return self._SPLIT.split_piece(piece) if self.use_regex else [piece]

    def tiles(self, text: str) -> Iterator[list[str]] | None:
        if self.add_prefix_space:
            return None
        return _gpt2_tiles(text) if self.use_regex else iter([[text]] if text else [])

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}


class Metaspace(PreTokenizer):
    """SentencePiece's convention: spaces become ``replacement`` (``▁``), which then starts each piece.

    Args:
        replacement: the character that stands for a space.
        prepend_scheme: ``always`` puts ``replacement`` in front of every piece that lacks one,
            ``first`` only in front of the piece that starts the text, ``never`` nowhere.
        split: cut before every ``replacement`` (each piece keeps the ``▁`` of its word).
    """

    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always", split: bool = True):
        if prepend_scheme not in ("always", "first", "never") or len(replacement) != 1:
            raise SeqlabError(f"Metaspace: expected one replacement character and prepend_scheme always|first|never, "
                              f"got {replacement!r}, {prepend_scheme!r}")
        self.replacement, self.prepend_scheme, self.split_pieces = replacement, prepend_scheme, split

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        if " " in piece.text:  # one character for one: spans unchanged
            piece = piece.with_text(piece.text.replace(" ", self.replacement))
        prepend = self.prepend_scheme == "always" or (self.prepend_scheme == "first" and piece.origin == 0)
        if prepend and not piece.text.startswith(self.replacement):
            piece = piece.prepend(self.replacement)
        if not self.split_pieces:
            return [piece]
        # merged_with_next: a piece starts at every replacement character
        text, replacement = piece.text, self.replacement
        cuts = [0]
        found = text.find(replacement, 1)
        while found >= 0:
            cuts.append(found)
            found = text.find(replacement, found + 1)
        cuts.append(len(text))
        return _cut(piece, itertools.pairwise(cuts))

    def to_json(self) -> dict:
        return {"type": "Metaspace", "replacement": self.replacement, "prepend_scheme": self.prepend_scheme,
                "split": self.split_pieces}


class Sequence(PreTokenizer):
    """Apply pre-tokenizers one after the other.

    A ``ByteLevel`` that is not last turns its pieces into byte characters on the spot, so the steps
    after it see ``Ġ`` rather than spaces (as in ``tokenizers``); a last one leaves that to the model.
    """

    def __init__(self, pre_tokenizers: list[PreTokenizer]):
        self.pre_tokenizers = list(pre_tokenizers)
        self.is_byte_level = bool(self.pre_tokenizers) and self.pre_tokenizers[-1].is_byte_level

    def split(self, pieces: Iterable[Normalized]) -> Iterator[Normalized]:
        last = len(self.pre_tokenizers) - 1
        for i, pre_tokenizer in enumerate(self.pre_tokenizers):
            pieces = pre_tokenizer.split(pieces)
            if pre_tokenizer.is_byte_level and i < last:
                pieces = map(byte_characters, pieces)
        return iter(pieces)

    def split_piece(self, piece: Normalized) -> Iterable[Normalized]:
        return self.split([piece])

    def to_json(self) -> dict:
        return {"type": "Sequence", "pretokenizers": [p.to_json() for p in self.pre_tokenizers]}


def byte_characters(piece: Normalized) -> Normalized:
    """``piece`` with each character written as its UTF-8 bytes in the byte-level alphabet (same spans)."""
    if piece.text.isascii():
        return piece.with_text(piece.text.translate(_ASCII_TO_BYTE_CHAR))
    return piece.map_chars([to_byte_chars(ch) for ch in piece.text])


_ASCII_TO_BYTE_CHAR = {byte: BYTE_TO_CHAR[byte] for byte in range(128)}
_PUNCTUATION = Punctuation("isolated")
_WHITESPACE_SPLIT = WhitespaceSplit()
_GPT2 = compile_pattern(GPT2_PATTERN)
_CHUNK = 1 << 16


def _gpt2_tiles(text: str) -> Iterator[list[str]]:
    """GPT-2's pieces of ``text``, found a chunk at a time so that a long text never holds all its pieces.

    A chunk ends before a space that follows a non-space and precedes one: no piece of GPT-2's pattern
    crosses such a point, so each chunk splits as it would inside the whole text.
    """
    n, position = len(text), 0
    findall = _GPT2.findall
    while position < n:
        cut = n
        if n - position > 2 * _CHUNK:
            probe = position + _CHUNK
            while True:
                found = text.find(" ", probe, n - 1)
                if found < 0:
                    break
                if text[found - 1] not in WHITESPACE_SET and text[found + 1] not in WHITESPACE_SET:
                    cut = found
                    break
                probe = found + 1
        yield findall(text, position, cut)
        position = cut


_KINDS = ["BertPreTokenizer", "ByteLevel", "CharDelimiterSplit", "Digits", "FixedLength", "Metaspace", "Punctuation",
          "Sequence", "Split", "UnicodeScripts", "Whitespace", "WhitespaceSplit"]


def pre_tokenizer_from_json(data, path: str = "pre_tokenizer") -> PreTokenizer | None:
    """Build a pre-tokenizer from ``tokenizer.json``'s ``"pre_tokenizer"`` entry (``None`` stays ``None``).

    Errors name the field's path (``pre_tokenizer.pattern: ...``).
    """
    try:
        return _pre_tokenizer_from_json(data, path)
    except SeqlabError as error:
        message = str(error)
        raise SeqlabError(message if message.startswith(path) else f"{path}: {message}") from None


def _pre_tokenizer_from_json(data, path: str = "pre_tokenizer") -> PreTokenizer | None:
    """Build a pre-tokenizer from ``tokenizer.json``'s ``"pre_tokenizer"`` entry (``None`` stays ``None``)."""
    if data is None:
        return None
    fields = Fields(data, path)
    kind = fields.type_name()
    plain = {"Whitespace": Whitespace, "WhitespaceSplit": WhitespaceSplit, "BertPreTokenizer": BertPreTokenizer,
             "UnicodeScripts": UnicodeScripts}
    if kind in plain:
        return plain[kind]()
    if kind == "Punctuation":
        return Punctuation(_behavior(fields, default="Isolated"))
    if kind == "Digits":
        return Digits(fields.boolean("individual_digits"))
    if kind == "CharDelimiterSplit":
        return CharDelimiterSplit(fields.char("delimiter"))
    if kind == "FixedLength":
        length = fields.integer("length", default=5)
        if length < 1:
            raise fields.fail("length", "expected a length of at least 1, got 0")
        return FixedLength(length)
    if kind == "Split":
        pattern = fields.child("pattern")
        keys = [key for key in ("String", "Regex") if pattern.has(key)]
        if len(pattern.data) != 1 or len(keys) != 1:
            raise fields.fail("pattern", 'expected {"String": ...} or {"Regex": ...}')
        return Split(pattern.string(keys[0]), _behavior(fields), fields.boolean("invert"), keys[0] == "Regex")
    if kind == "ByteLevel":
        return ByteLevel(fields.boolean("add_prefix_space"), fields.boolean("use_regex", default=True),
                         fields.boolean("trim_offsets"))
    if kind == "Metaspace":
        return Metaspace(*metaspace_options(fields))
    if kind == "Sequence":
        items = fields.list("pretokenizers")
        out = []
        for i, item in enumerate(items):
            where = f"{path}.pretokenizers[{i}]"
            built = pre_tokenizer_from_json(item, where)
            if built is None:
                raise SeqlabError(f"{where}: expected a pre-tokenizer, got null")
            out.append(built)
        return Sequence(out)
    if kind is None:
        raise fields.fail("type", f"expected one of {', '.join(_KINDS)}, found no type")
    raise fields.fail("type", f"expected one of {', '.join(_KINDS)}, got {describe(kind)}")


def metaspace_options(fields: Fields) -> tuple[str, str, bool]:
    """``(replacement, prepend_scheme, split)`` of a Metaspace pre-tokenizer or decoder, old layouts included.

    Files written before ``prepend_scheme`` existed carry ``add_prefix_space``; ``false`` means ``never``
    (and contradicts any other scheme, an error in ``tokenizers`` too).
    """
    replacement = fields.char("replacement")
    scheme = fields.string("prepend_scheme", default="always")
    if scheme not in ("always", "first", "never"):
        raise fields.fail("prepend_scheme", f"expected always, first or never, got {describe(scheme)}")
    if fields.boolean("add_prefix_space", default=None, nullable=True) is False:
        if scheme != "never" and fields.has("prepend_scheme"):
            raise fields.fail("add_prefix_space", f"false contradicts prepend_scheme {scheme!r}")
        scheme = "never"
    return replacement, scheme, fields.boolean("split", default=True, nullable=True) is not False


def _behavior(fields: Fields, default: str | None = None) -> str:
    name = fields.string("behavior") if default is None else fields.string("behavior", default=default)
    if name not in _BEHAVIOR_NAMES:
        raise fields.fail("behavior", f"expected one of {', '.join(_BEHAVIOR_NAMES)}, got {describe(name)}")
    return _BEHAVIOR_NAMES[name]


def is_whitespace(ch: str) -> bool:
    return ch in WHITESPACE_SET
