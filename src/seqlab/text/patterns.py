"""Regular expressions of ``tokenizer.json`` files: Oniguruma's syntax, run by Python's ``regex`` module.

``tokenizers`` compiles ``Split`` and ``Replace`` patterns with Oniguruma (Ruby syntax), whose meaning
differs from Python's in a few places: ``^`` and ``$`` always match at line boundaries, ``(?m)`` means
"dot matches newline", ``\\h`` is a hex digit, ``\\Z`` also matches before a final newline, ``\\w``
leaves out the joiners U+200C/U+200D but takes ``²³¹¼½¾`` (and ``\\b`` follows), and an
empty match right after the previous match is skipped (the search moves on one character). Patterns
are translated to ``regex`` syntax with those meanings; constructs whose translation is not exact
(POSIX bracket classes, negated classes inside classes and ``&&``, inline options after the start, octal escapes,
Oniguruma-only escapes, properties other than categories and scripts) raise a ``SeqlabError`` naming
the construct, rather than match differently.

Example:
    >>> pattern = compile_pattern(r"^\\s*x")
    >>> find_matches(pattern, "x\\n  x")
    [(0, 1), (2, 5)]
"""

from __future__ import annotations

import unicodedata

import regex

from seqlab.errors import SeqlabError

_CATEGORIES = {
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "LC", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps",
    "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn",
    "Letter", "Mark", "Number", "Punctuation", "Symbol", "Separator", "Other", "Uppercase_Letter",
    "Lowercase_Letter", "Titlecase_Letter", "Modifier_Letter", "Other_Letter", "Nonspacing_Mark", "Spacing_Mark",
    "Enclosing_Mark", "Decimal_Number", "Letter_Number", "Other_Number", "Connector_Punctuation",
    "Dash_Punctuation", "Open_Punctuation", "Close_Punctuation", "Initial_Punctuation", "Final_Punctuation",
    "Other_Punctuation", "Math_Symbol", "Currency_Symbol", "Modifier_Symbol", "Other_Symbol", "Space_Separator",
    "Line_Separator", "Paragraph_Separator", "Control", "Format", "Surrogate", "Private_Use", "Unassigned",
    "Alphabetic", "Alpha", "White_Space",
}
_SCRIPTS = {
    "Arabic", "Armenian", "Bengali", "Bopomofo", "Common", "Cyrillic", "Devanagari", "Ethiopic", "Georgian",
    "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew", "Hiragana", "Inherited", "Kannada", "Katakana",
    "Khmer", "Lao", "Latin", "Malayalam", "Mongolian", "Myanmar", "Oriya", "Sinhala", "Tamil", "Telugu", "Thaana",
    "Thai", "Tibetan",
}
_PROPERTIES = {name.lower().replace("_", "") for name in _CATEGORIES | _SCRIPTS}
_SIMPLE_ESCAPES = set("dDsSbAGKRXnrtfva") | {"0"}
# Oniguruma's \w: Python's minus the join controls (U+200C, U+200D), plus six Latin-1 numbers (² ³ ¹ ¼ ½ ¾),
# which it leaves out again inside a character class
_CLASS_WORD = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}"
_ONIG_WORD = _CLASS_WORD + r"\xb2\xb3\xb9\xbc-\xbe"
_FLAGS = regex.VERSION0 | regex.FULLCASE  # full case folding under (?i), as Oniguruma does


def _unsupported(pattern: str, what: str) -> SeqlabError:
    return SeqlabError(f"pattern {pattern!r}: {what} is not supported (its meaning differs between Oniguruma, "
                       "which tokenizers uses, and Python's regex)")


def _property(pattern: str, body: str) -> str:
    name = body[1:] if body.startswith("^") else body
    if "=" in name or ":" in name:
        key, _, name = name.replace(":", "=").partition("=")
        if key.lower() not in ("sc", "script", "gc", "generalcategory", "general_category"):
            raise _unsupported(pattern, f"the property \\p{{{body}}}")
    if name.lower().replace("_", "").replace(" ", "").replace("-", "") not in _PROPERTIES:
        raise _unsupported(pattern, f"the property \\p{{{body}}}")
    return body


def _hex_escape(pattern: str, i: int) -> tuple[str, int]:
    """``\\x{HHHH}`` or ``\\xHH`` starting at ``pattern[i] == 'x'``: the escape in Python syntax and the next index."""
    if i + 1 < len(pattern) and pattern[i + 1] == "{":
        close = pattern.find("}", i)
        digits = pattern[i + 2:close] if close > 0 else ""
        if not digits or any(c not in "0123456789abcdefABCDEF" for c in digits) or int(digits, 16) > 0x10FFFF:
            raise SeqlabError(f"pattern {pattern!r}: expected \\x{{hex digits}} at position {i - 1}")
        return f"\\U{int(digits, 16):08X}", close + 1
    return "\\x", i + 1


def translate(pattern: str) -> str:
    """``pattern`` (Oniguruma's Ruby syntax) in Python ``regex`` syntax with the same meaning."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    nested: list[int] = []  # where each open class inside the class started
    flags_prefix = ""
    if pattern.startswith("(?"):
        j = 2
        while j < n and pattern[j] in "imx-":
            j += 1
        if j < n and pattern[j] == ")" and j > 2:
            flags_prefix = pattern[2:j]
            i = j + 1
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise SeqlabError(f"pattern {pattern!r}: expected a character after the final backslash")
            nxt = pattern[i + 1]
            if nxt in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    close = pattern.find("}", i)
                    if close < 0:
                        raise SeqlabError(f"pattern {pattern!r}: expected '}}' after \\{nxt}{{ at position {i}")
                    out.append(f"\\{nxt}{{{_property(pattern, pattern[i + 3:close])}}}")
                    i = close + 1
                    continue
                raise _unsupported(pattern, f"\\{nxt} without braces")
            if nxt == "x":
                escape, i = _hex_escape(pattern, i + 1)
                out.append(escape)
                continue
            if nxt == "u":
                out.append("\\u")
                i += 2
                continue
            if nxt == "w":
                out.append(_CLASS_WORD if in_class else f"[{_ONIG_WORD}]")
                i += 2
                continue
            if nxt == "W":
                if in_class:
                    raise _unsupported(pattern, "\\W inside a character class")
                out.append(f"[^{_ONIG_WORD}]")
                i += 2
                continue
            if nxt in "bB" and not in_class:
                word = f"[{_ONIG_WORD}]"
                boundary = f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
                out.append(boundary if nxt == "b" else f"(?!{boundary})")
                i += 2
                continue
            if nxt == "h":
                out.append("0-9a-fA-F" if in_class else "[0-9a-fA-F]")
                i += 2
                continue
            if nxt == "H" and not in_class:
                out.append("[^0-9a-fA-F]")
                i += 2
                continue
            if nxt == "e":
                out.append("\\x1b")
                i += 2
                continue
            if not in_class and nxt == "z":
                out.append("\\Z")
                i += 2
                continue
            if not in_class and nxt == "Z":
                out.append("(?=\\n?\\Z)")
                i += 2
                continue
            if nxt == "k" and not in_class and i + 2 < n and pattern[i + 2] == "<":
                close = pattern.find(">", i)
                if close < 0:
                    raise SeqlabError(f"pattern {pattern!r}: expected '>' after \\k< at position {i}")
                out.append(f"(?P={pattern[i + 3:close]})")
                i = close + 1
                continue
            if nxt.isdigit() and nxt != "0":
                if i + 2 < n and pattern[i + 2].isdigit():
                    raise _unsupported(pattern, f"the escape \\{nxt}{pattern[i + 2]} (octal or a backreference)")
                if in_class:
                    raise _unsupported(pattern, f"the escape \\{nxt} in a character class")
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if nxt == "0" and i + 2 < n and pattern[i + 2].isdigit():
                raise _unsupported(pattern, "an octal escape")
            if nxt.isalnum() and nxt not in _SIMPLE_ESCAPES:
                raise _unsupported(pattern, f"the escape \\{nxt}")
            if in_class and nxt in "AGKRXBz":
                raise _unsupported(pattern, f"the escape \\{nxt} in a character class")
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[":
                if regex.match(r"\[:\^?[A-Za-z]+:\]", pattern[i:]):
                    raise _unsupported(pattern, "a POSIX bracket expression")
                if pattern.startswith("[^", i):
                    raise _unsupported(pattern, "a negated character class inside a class")
                # a class inside a class is their union in Oniguruma: its members join the outer class
                nested.append(i + 1)
                i += 1
                continue
            if ch == "&" and pattern.startswith("&&", i):
                raise _unsupported(pattern, "class intersection (&&)")
            if ch == "]" and i > (nested[-1] if nested else class_start):
                if nested:
                    nested.pop()
                    i += 1
                    continue
                in_class = False
            out.append(ch if ch not in "[" else "\\[")
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i  # a ']' right here is a literal
            continue
        if ch == "^":
            out.append("(?m:^)")
            i += 1
            continue
        if ch == "$":
            out.append("(?m:$)")
            i += 1
            continue
        if ch == "(" and pattern.startswith("(?", i):
            rest = pattern[i + 2:i + 4]
            if rest[:1] in (":", "=", "!", ">") or rest in ("<=", "<!"):
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if rest[:1] == "<" and (rest[1:2].isalpha() or rest[1:2] == "_"):
                out.append("(?P<")
                i += 3
                continue
            if rest[:1] == "#":
                close = pattern.find(")", i)
                if close < 0:
                    raise SeqlabError(f"pattern {pattern!r}: expected ')' to close the comment at position {i}")
                i = close + 1
                continue
            j = i + 2
            while j < n and pattern[j] in "imx-":
                j += 1
            if j > i + 2 and j < n and pattern[j] == ":":
                out.append("(?" + _options(pattern, pattern[i + 2:j]) + ":")
                i = j + 1
                continue
            if j > i + 2 and j < n and pattern[j] == ")":
                raise _unsupported(pattern, f"the inline option {pattern[i:j + 1]} after the start")
            raise _unsupported(pattern, f"the group {pattern[i:i + 3]}...")
        if ch == "}" and i + 1 < n and pattern[i + 1] == "+":
            raise _unsupported(pattern, "'{n,m}+' (in Oniguruma a repeat of a repeat)")
        out.append(ch)
        i += 1
    body = "".join(out)
    if flags_prefix:
        # options that open the pattern hold for all of it: Python's global flags (off-switches have nothing
        # to switch off there)
        on = _options(pattern, flags_prefix).partition("-")[0]
        return f"(?{on}){body}" if on else body
    return body


def _options(pattern: str, options: str) -> str:
    """Ruby's option letters in Python's: ``m`` (dot matches newline) is Python's ``s``."""
    if options.count("-") > 1 or (options.endswith("-") and len(options) == 1):
        raise SeqlabError(f"pattern {pattern!r}: expected options like (?i) or (?i-m:...), got (?{options})")
    return options.replace("m", "s")


def compile_pattern(pattern: str, literal: bool = False) -> regex.Pattern:
    """Compile a ``tokenizer.json`` pattern (``literal``: a ``{"String": ...}`` pattern, matched as is)."""
    if not isinstance(pattern, str):
        raise SeqlabError(f"pattern: expected a string, got {type(pattern).__name__}")
    source = regex.escape(pattern) if literal else translate(pattern)
    try:
        return regex.compile(source, _FLAGS)
    except regex.error as error:
        raise SeqlabError(f"pattern {pattern!r}: not a valid regular expression ({error})") from None
    except (OverflowError, RecursionError, MemoryError) as error:
        raise SeqlabError(f"pattern {pattern!r}: too large to compile ({type(error).__name__})") from None


def find_matches(compiled: regex.Pattern, text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each match, left to right, as Oniguruma's iterator yields them.

    Without empty matches Python and Oniguruma agree; when there is one, the search is redone the way
    Oniguruma does it: an empty match where the previous match ended is skipped, and the search
    resumes one character further on.
    """
    spans = [m.span() for m in compiled.finditer(text)]
    if all(b > a for a, b in spans):
        return spans
    spans, position, last_end, n = [], 0, None, len(text)
    while position <= n:
        match = compiled.search(text, position)
        if match is None:
            break
        a, b = match.span()
        if a == b and last_end == b:
            position += 1
            continue
        spans.append((a, b))
        position = last_end = b
    return spans


def is_single_character(text: str) -> bool:
    return len(text) == 1 and unicodedata.category(text) != "Cs"
