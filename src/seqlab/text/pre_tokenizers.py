"""Pre-tokenizers: the second stage, normalized text -> pieces ("words") that the model splits further.

A piece is ``(text, start, extra)``: its text, the offset in the normalized text where it starts, and
how many characters at its front were inserted (the prefix space of ``ByteLevel``, the ``▁`` of
``Metaspace``) rather than taken from the text; relative character ``r`` of the piece sits at
``start + max(r - extra, 0)``, and the inserted ones share the span of the first real character.
Each pre-tokenizer serialises to the JSON of Hugging Face ``tokenizers``.

Split behaviours (how the matched delimiters are kept), as in ``tokenizers``:
``removed`` drops them, ``isolated`` makes each its own piece, ``merged_with_previous`` /
``merged_with_next`` glue each to its neighbour, ``contiguous`` groups adjacent delimiters into one piece.

Example:
    >>> [text for text, _, _ in Whitespace().pre_tokenize_str("Hello, world!")]
    ['Hello', ',', 'world', '!']
"""

from __future__ import annotations

import itertools
import unicodedata

import regex

from seqlab.errors import SeqlabError

Piece = tuple[str, int, int]

#: GPT-2's split pattern (contractions, letters, numbers, other symbols, whitespace).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: GPT-4's (cl100k) split pattern: case-insensitive contractions, numbers in groups of at most 3.
GPT4_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"""
    r"""\s+(?!\S)|\s+"""
)

# Unicode White_Space, the set Rust's char::is_whitespace uses (str.isspace adds U+001C..U+001F).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE_SET = frozenset(WHITESPACE)
BEHAVIORS = {"removed": "Removed", "isolated": "Isolated", "merged_with_previous": "MergedWithPrevious",
             "merged_with_next": "MergedWithNext", "contiguous": "Contiguous"}
_BEHAVIOR_NAMES = {value: key for key, value in BEHAVIORS.items()}


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation or a Unicode punctuation category (P*), as ``tokenizers`` decides it."""
    return ("!" <= ch <= "/") or (":" <= ch <= "@") or ("[" <= ch <= "`") or ("{" <= ch <= "~") \
        or unicodedata.category(ch).startswith("P")


def sub_piece(piece: Piece, a: int, b: int) -> Piece:
    """Characters ``[a, b)`` of ``piece`` as a piece of their own."""
    text, start, extra = piece
    return text[a:b], start + max(a - extra, 0), max(0, min(b, extra) - a)


def split_spans(length: int, matches: list[tuple[int, int]], behavior: str,
                invert: bool = False) -> list[tuple[int, int]]:
    """Cut ``[0, length)`` at the delimiter ``matches`` (sorted, disjoint) following ``behavior``.

    With ``invert`` the matches are the pieces and the gaps between them the delimiters.
    """
    spans: list[tuple[int, int, bool]] = []
    last = 0
    for a, b in matches:
        if a > last:
            spans.append((last, a, invert))
        spans.append((a, b, not invert))
        last = b
    if last < length:
        spans.append((last, length, invert))
    if behavior == "removed":
        return [(a, b) for a, b, is_match in spans if not is_match]
    if behavior == "isolated":
        return [(a, b) for a, b, _ in spans]
    if behavior == "contiguous":
        out: list[tuple[int, int, bool]] = []
        for a, b, is_match in spans:
            if is_match and out and out[-1][2]:
                out[-1] = (out[-1][0], b, True)
            else:
                out.append((a, b, is_match))
        return [(a, b) for a, b, _ in out]
    if behavior == "merged_with_previous":
        return _merge_matches(spans)
    if behavior == "merged_with_next":
        # the mirror image: merge each delimiter into the piece after it
        mirrored = [(length - b, length - a, is_match) for a, b, is_match in reversed(spans)]
        return [(length - b, length - a) for a, b in reversed(_merge_matches(mirrored))]
    raise SeqlabError(f"split behavior: expected one of {sorted(BEHAVIORS)}, got {behavior!r}")


def _merge_matches(spans: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
    """Glue each delimiter to the piece before it, unless that piece is itself a delimiter."""
    out: list[tuple[int, int, bool]] = []
    for a, b, is_match in spans:
        if is_match and out and not out[-1][2]:
            out[-1] = (out[-1][0], b, True)
        else:
            out.append((a, b, is_match))
    return [(a, b) for a, b, _ in out]


class PreTokenizer:
    """Base class: ``split`` maps pieces to finer pieces; ``to_json`` gives HF's JSON."""

    #: True when the model sees the UTF-8 bytes of each piece (as byte characters), not its characters.
    is_byte_level = False

    def split(self, pieces: list[Piece]) -> list[Piece]:
        raise NotImplementedError

    def pre_tokenize_str(self, text: str) -> list[Piece]:
        return self.split([(text, 0, 0)])

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

    def split(self, pieces: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        simple = self.behavior == "isolated" and self._compiled.groups == 0
        for piece in pieces:
            text, start, extra = piece
            if simple and not extra:
                # the fast path of GPT-2's and GPT-4's patterns, whose matches tile the whole text
                found = self._compiled.findall(text)
                lengths = list(map(len, found))
                if sum(lengths) == len(text):
                    out.extend(zip(found, itertools.accumulate(lengths, initial=start), itertools.repeat(0)))
                    continue
            matches = [m.span() for m in self._compiled.finditer(text) if m.end() > m.start()]
            out.extend(sub_piece(piece, a, b) for a, b in split_spans(len(text), matches, self.behavior, self.invert))
        return out


class Split(_RegexSplit):
    """Split at a literal string or a regex (``is_regex``), e.g. ``Split(GPT4_PATTERN, is_regex=True)``."""

    def __init__(self, pattern: str, behavior: str = "isolated", invert: bool = False, is_regex: bool = False):
        self.pattern, self.is_regex = pattern, is_regex
        super().__init__(regex.compile(pattern if is_regex else regex.escape(pattern)), behavior, invert)

    def to_json(self) -> dict:
        return {"type": "Split", "pattern": {"Regex" if self.is_regex else "String": self.pattern},
                "behavior": BEHAVIORS[self.behavior], "invert": self.invert}


class Whitespace(_RegexSplit):
    r"""Runs of word characters and runs of other non-space characters: ``\w+|[^\w\s]+``; spaces dropped."""

    def __init__(self):
        super().__init__(regex.compile(r"\w+|[^\w\s]+"), "removed", invert=True)


class WhitespaceSplit(_RegexSplit):
    """Split on Unicode white space (dropped)."""

    def __init__(self):
        super().__init__(regex.compile(f"[{regex.escape(WHITESPACE)}]+"), "removed")


class Punctuation(PreTokenizer):
    """Split around every punctuation character (``isolated`` by default)."""

    def __init__(self, behavior: str = "isolated"):
        if behavior not in BEHAVIORS:
            raise SeqlabError(f"split behavior: expected one of {sorted(BEHAVIORS)}, got {behavior!r}")
        self.behavior = behavior

    def split(self, pieces: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for piece in pieces:
            matches = [(i, i + 1) for i, ch in enumerate(piece[0]) if is_punctuation(ch)]
            out.extend(sub_piece(piece, a, b) for a, b in split_spans(len(piece[0]), matches, self.behavior))
        return out

    def to_json(self) -> dict:
        return {"type": "Punctuation", "behavior": BEHAVIORS[self.behavior]}


class Digits(PreTokenizer):
    """Split off digits (Unicode N*): each on its own (``individual_digits``) or in runs."""

    def __init__(self, individual_digits: bool = False):
        self.individual_digits = individual_digits

    def split(self, pieces: list[Piece]) -> list[Piece]:
        behavior = "isolated" if self.individual_digits else "contiguous"
        out: list[Piece] = []
        for piece in pieces:
            matches = [(i, i + 1) for i, ch in enumerate(piece[0]) if unicodedata.category(ch).startswith("N")]
            out.extend(sub_piece(piece, a, b) for a, b in split_spans(len(piece[0]), matches, behavior))
        return out

    def to_json(self) -> dict:
        return {"type": "Digits", "individual_digits": self.individual_digits}


class BertPreTokenizer(PreTokenizer):
    """BERT's rule: split on white space (dropped), then isolate every punctuation character."""

    def __init__(self):
        self._steps = [WhitespaceSplit(), Punctuation("isolated")]

    def split(self, pieces: list[Piece]) -> list[Piece]:
        for step in self._steps:
            pieces = step.split(pieces)
        return pieces


class ByteLevel(PreTokenizer):
    """GPT-2's pre-tokenizer: optional prefix space, split with ``GPT2_PATTERN``, then work on UTF-8 bytes.

    Args:
        add_prefix_space: put a space in front of each piece that lacks one, so that the first word is
            tokenized like the others (" hello" rather than "hello").
        use_regex: split with GPT-2's pattern (turn off when an earlier ``Split`` already did, as for GPT-4).
        trim_offsets: kept for the JSON; the trimming itself is done by the ``ByteLevel`` post-processor.
    """

    is_byte_level = True

    def __init__(self, add_prefix_space: bool = False, use_regex: bool = True, trim_offsets: bool = True):
        self.add_prefix_space, self.use_regex, self.trim_offsets = add_prefix_space, use_regex, trim_offsets
        self._split = _RegexSplit(regex.compile(GPT2_PATTERN), "isolated")

    def split(self, pieces: list[Piece]) -> list[Piece]:
        if self.add_prefix_space:
            pieces = [(" " + text, start, extra + 1) if text and not text.startswith(" ") else (text, start, extra)
                      for text, start, extra in pieces]
        return self._split.split(pieces) if self.use_regex else pieces

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}


class Metaspace(PreTokenizer):
    """SentencePiece's convention: spaces become ``replacement`` (``▁``), which then starts each piece.

    Args:
        replacement: the character that stands for a space.
        prepend_scheme: ``always`` puts ``replacement`` in front of every piece that lacks one,
            ``first`` only in front of the text's first piece, ``never`` nowhere.
        split: cut before every ``replacement`` (each piece keeps the ``▁`` of its word).
    """

    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always", split: bool = True):
        if prepend_scheme not in ("always", "first", "never") or len(replacement) != 1:
            raise SeqlabError(f"Metaspace: expected one replacement character and prepend_scheme always|first|never, "
                              f"got {replacement!r}, {prepend_scheme!r}")
        self.replacement, self.prepend_scheme, self.split_pieces = replacement, prepend_scheme, split

    def split(self, pieces: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for text, start, extra in pieces:
            if not text:
                continue
            text = text.replace(" ", self.replacement)  # one character for one: offsets are unchanged
            prepend = self.prepend_scheme == "always" or (self.prepend_scheme == "first" and start == 0)
            if prepend and text and not text.startswith(self.replacement):
                text, extra = self.replacement + text, extra + 1
            if not self.split_pieces:
                out.append((text, start, extra))
                continue
            matches = [(i, i + 1) for i, ch in enumerate(text) if ch == self.replacement]
            out.extend(sub_piece((text, start, extra), a, b)
                       for a, b in split_spans(len(text), matches, "merged_with_next"))
        return out

    def to_json(self) -> dict:
        return {"type": "Metaspace", "replacement": self.replacement, "prepend_scheme": self.prepend_scheme,
                "split": self.split_pieces}


class Sequence(PreTokenizer):
    """Apply pre-tokenizers one after the other."""

    def __init__(self, pre_tokenizers: list[PreTokenizer]):
        self.pre_tokenizers = list(pre_tokenizers)
        self.is_byte_level = any(p.is_byte_level for p in self.pre_tokenizers)

    def split(self, pieces: list[Piece]) -> list[Piece]:
        for pre_tokenizer in self.pre_tokenizers:
            pieces = pre_tokenizer.split(pieces)
        return pieces

    def to_json(self) -> dict:
        return {"type": "Sequence", "pretokenizers": [p.to_json() for p in self.pre_tokenizers]}


def pre_tokenizer_from_json(data: dict | None) -> PreTokenizer | None:
    """Build a pre-tokenizer from HF ``tokenizer.json``'s ``"pre_tokenizer"`` entry."""
    if data is None:
        return None
    kind = data.get("type")
    if kind in ("Whitespace", "WhitespaceSplit", "BertPreTokenizer"):
        plain = {"Whitespace": Whitespace, "WhitespaceSplit": WhitespaceSplit, "BertPreTokenizer": BertPreTokenizer}
        return plain[kind]()
    if kind == "Punctuation":
        return Punctuation(_behavior(data.get("behavior", "Isolated")))
    if kind == "Digits":
        return Digits(data.get("individual_digits", False))
    if kind == "Split":
        pattern = data["pattern"]
        is_regex = "Regex" in pattern
        return Split(pattern["Regex"] if is_regex else pattern["String"], _behavior(data["behavior"]),
                     data.get("invert", False), is_regex)
    if kind == "ByteLevel":
        return ByteLevel(data.get("add_prefix_space", True), data.get("use_regex", True),
                         data.get("trim_offsets", True))
    if kind == "Metaspace":
        return Metaspace(data.get("replacement", "\u2581"), data.get("prepend_scheme", "always"),
                         data.get("split", True))
    if kind == "Sequence":
        return Sequence([pre_tokenizer_from_json(item) for item in data["pretokenizers"]])
    raise SeqlabError(f"pre_tokenizer: expected one of Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, "
                      f"Digits, Split, ByteLevel, Metaspace, Sequence; got {kind!r}")


def _behavior(name: str) -> str:
    if name not in _BEHAVIOR_NAMES:
        raise SeqlabError(f"split behavior: expected one of {sorted(_BEHAVIOR_NAMES)}, got {name!r}")
    return _BEHAVIOR_NAMES[name]
