"""Unicode as Hugging Face ``tokenizers`` sees it: character classes and normalization forms with alignment.

``tokenizers`` decides "is this a combining mark / punctuation / control character" and normalizes
(NFC, NFD, NFKC, NFKD) with tables of older Unicode versions (8.0 and 9.0) than Python's
``unicodedata``; the few hundred code points where they differ are listed in ``_unicode_data`` and
corrected here, so that seqlab's normalizers give the same text on every assigned character.

The normalization forms also report, for every output character, how it relates to the input: as in
``tokenizers`` (the ``unicode-normalization-alignments`` crate), each output character carries a
*change*: ``0`` when it takes the place of the next input character, ``1`` when it is new (it shares
the alignment of the previous input character), ``-n`` when it takes the next input character's
place and the ``n`` characters after it disappear. Decomposition gives a character's first piece
change 0 and the others 1; canonical reordering moves characters together with their changes;
composing ``a`` and ``b`` into ``c`` gives ``c`` the change ``change(a) + change(b) - 1``.

Example:
    >>> normalize_with_changes("e\\u0301x", "NFC")
    ('éx', [-1, 0])
    >>> normalize_with_changes("ﬁ", "NFKD")
    ('fi', [0, 1])
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import regex

from seqlab.text import _unicode_data as data


def _code_points(ranges: Iterable[tuple[int, int]]) -> frozenset[str]:
    return frozenset(chr(c) for first, last in ranges for c in range(first, last + 1))


#: Unicode White_Space: Rust's ``char::is_whitespace`` and Oniguruma's ``\s`` (``str.isspace`` adds U+001C..U+001F).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000"
WHITESPACE_SET = frozenset(WHITESPACE)

_UNKNOWN_9 = _code_points(data.UNKNOWN_TO_UNICODE_9)
_MARKS_9_ONLY = _code_points(data.MARKS_IN_UNICODE_9_ONLY)
_OTHER_AFTER_8 = _code_points(data.OTHER_AFTER_UNICODE_8)
_NONSPACING_AFTER_8 = _code_points(data.NONSPACING_AFTER_UNICODE_8)
_NONSPACING_8_ONLY = _code_points(data.NONSPACING_IN_UNICODE_8_ONLY)
_PUNCTUATION_AFTER_8 = _code_points(data.PUNCTUATION_AFTER_UNICODE_8)
_PUNCTUATION_8_ONLY = _code_points(data.PUNCTUATION_IN_UNICODE_8_ONLY)


def is_combining_mark(ch: str) -> bool:
    """A mark (Mn, Mc, Me) in Unicode 9.0: what ``StripAccents`` removes."""
    if ch in _UNKNOWN_9:
        return False
    return ch in _MARKS_9_ONLY or unicodedata.category(ch) in ("Mn", "Mc", "Me")


def is_nonspacing_mark(ch: str) -> bool:
    """A non-spacing mark (Mn) in Unicode 8.0: what BERT's accent stripping removes."""
    if ch in _NONSPACING_AFTER_8:
        return False
    return ch in _NONSPACING_8_ONLY or unicodedata.category(ch) == "Mn"


def is_other(ch: str) -> bool:
    """A control, format, surrogate or private-use character (Cc, Cf, Cs, Co) in Unicode 8.0.

    Unassigned code points (Cn) are not included, as in ``tokenizers``: BERT's cleaning keeps them.
    """
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in _OTHER_AFTER_8


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation, or a Unicode 8.0 punctuation character (P*): BERT's and ``Punctuation``'s rule."""
    if "!" <= ch <= "/" or ":" <= ch <= "@" or "[" <= ch <= "`" or "{" <= ch <= "~":
        return True
    if ch in _PUNCTUATION_AFTER_8:
        return False
    return ch in _PUNCTUATION_8_ONLY or unicodedata.category(ch).startswith("P")


def is_numeric(ch: str) -> bool:
    """Rust's ``char::is_numeric``: the number categories Nd, Nl, No."""
    return unicodedata.category(ch) in ("Nd", "Nl", "No")


# ------------------------------------------------------------------ normalization forms (Unicode 9.0)

def combining_class(ch: str) -> int:
    return 0 if ch in _UNKNOWN_9 else unicodedata.combining(ch)


_DECOMPOSED: dict[tuple[str, bool], str] = {}


def decompose(ch: str, compatibility: bool) -> str:
    """The full (canonical or compatibility) decomposition of one character, in canonical order."""
    key = (ch, compatibility)
    found = _DECOMPOSED.get(key)
    if found is None:
        found = ch if ch in _UNKNOWN_9 else unicodedata.normalize("NFKD" if compatibility else "NFD", ch)
        _DECOMPOSED[key] = found
    return found


_COMPOSITES: dict[tuple[str, str], str] | None = None
_HANGUL_S, _HANGUL_L, _HANGUL_V, _HANGUL_T = 0xAC00, 0x1100, 0x1161, 0x11A7
_HANGUL_V_COUNT, _HANGUL_T_COUNT = 21, 28
_HANGUL_N = _HANGUL_V_COUNT * _HANGUL_T_COUNT


def composites() -> dict[tuple[str, str], str]:
    """(a, b) -> the primary composite whose canonical decomposition is ``a b`` (built once, on first use)."""
    global _COMPOSITES
    if _COMPOSITES is None:
        table = {}
        for code in range(0x110000):
            ch = chr(code)
            mapping = unicodedata.decomposition(ch)
            if not mapping or mapping.startswith("<") or ch in _UNKNOWN_9:
                continue
            parts = [chr(int(part, 16)) for part in mapping.split()]
            # a primary composite is a canonically decomposable character that NFC keeps
            if len(parts) == 2 and unicodedata.normalize("NFC", ch) == ch and not (set(parts) & _UNKNOWN_9):
                table[parts[0], parts[1]] = ch
        _COMPOSITES = table
    return _COMPOSITES


def compose(a: str, b: str) -> str | None:
    """The primary composite of ``a`` and ``b`` (Hangul syllables algorithmically), or None."""
    ca, cb = ord(a), ord(b)
    if _HANGUL_L <= ca < _HANGUL_L + 19 and _HANGUL_V <= cb < _HANGUL_V + _HANGUL_V_COUNT:
        return chr(_HANGUL_S + ((ca - _HANGUL_L) * _HANGUL_V_COUNT + cb - _HANGUL_V) * _HANGUL_T_COUNT)
    if _HANGUL_S <= ca < _HANGUL_S + 19 * _HANGUL_N and (ca - _HANGUL_S) % _HANGUL_T_COUNT == 0 \
            and _HANGUL_T < cb < _HANGUL_T + _HANGUL_T_COUNT:
        return chr(ca + cb - _HANGUL_T)
    return composites().get((a, b))


def _decompositions(text: str, compatibility: bool) -> list[tuple[str, int]]:
    """Decomposed characters with their changes, reordered canonically (stable sort of each run of marks)."""
    out: list[tuple[str, int]] = []
    classes: list[int] = []
    pending = 0  # start of the run of non-starters not yet sorted
    for ch in text:
        for i, piece in enumerate(decompose(ch, compatibility)):
            klass = combining_class(piece)
            if klass == 0:
                _sort_run(out, classes, pending)
                pending = len(out) + 1
            out.append((piece, 0 if i == 0 else 1))
            classes.append(klass)
    _sort_run(out, classes, pending)
    return out


def _sort_run(out: list[tuple[str, int]], classes: list[int], start: int) -> None:
    if len(out) - start > 1:
        order = sorted(range(start, len(out)), key=classes.__getitem__)
        out[start:] = [out[i] for i in order]
        classes[start:] = [classes[i] for i in order]


def _recompositions(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Canonical composition of decomposed ``items``, changes combined as the alignment crate does."""
    out: list[tuple[str, int]] = []
    composee: tuple[str, int] | None = None
    blocked: list[tuple[str, int]] = []  # marks after the composee that did not compose
    last_class: int | None = None
    for ch, change in items:
        klass = combining_class(ch)
        if composee is None:
            if klass != 0:
                out.append((ch, change))
            else:
                composee = (ch, change)
            continue
        if last_class is None:
            composite = compose(composee[0], ch)
            if composite is not None:
                composee = (composite, composee[1] + change - 1)
                continue
            if klass == 0:
                out.append(composee)
                composee = (ch, change)
                continue
            blocked.append((ch, change))
            last_class = klass
            continue
        if last_class >= klass:  # ``ch`` is blocked from the composee
            if klass == 0:
                out.append(composee)
                out.extend(blocked)
                blocked, last_class = [], None
                composee = (ch, change)
                continue
            blocked.append((ch, change))
            last_class = klass
            continue
        composite = compose(composee[0], ch)
        if composite is not None:
            composee = (composite, composee[1] + change - 1)
            continue
        blocked.append((ch, change))
        last_class = klass
    # at the end the crate emits the composee first, then the marks it could not take
    if composee is not None:
        out.append(composee)
    out.extend(blocked)
    return out


def normalize_with_changes(text: str, form: str) -> tuple[str, list[int]]:
    """``text`` in normalization ``form`` (NFC, NFD, NFKC, NFKD) under Unicode 9.0, with each character's change."""
    compatibility = form in ("NFKC", "NFKD")
    items = _decompositions(text, compatibility)
    if form in ("NFC", "NFKC"):
        items = _recompositions(items)
    return "".join(ch for ch, _ in items), [change for _, change in items]


def needs_normalizing(text: str, form: str) -> bool:
    """Whether ``form`` may change ``text`` (False is exact; True may be a false alarm near newer characters)."""
    return not unicodedata.is_normalized(form, text) or _UNKNOWN_9_PATTERN.search(text) is not None


_UNKNOWN_9_PATTERN = regex.compile("[" + "".join(f"{regex.escape(chr(a), special_only=False)}-"
                                                 f"{regex.escape(chr(b), special_only=False)}"
                                                 for a, b in data.UNKNOWN_TO_UNICODE_9) + "]")
