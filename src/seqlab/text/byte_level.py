"""The byte-level alphabet: every byte 0..255 shown as one printable Unicode character (GPT-2's table).

Byte-level tokenizers work on the UTF-8 bytes of the text, so no string is ever out of vocabulary.
To keep tokens readable and JSON-safe, each byte is drawn as a character: the 188 bytes that are
already printable (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``) stand for themselves, and the other 68
(controls, space, ...) are given the code points 256, 257, ... in byte order. The space byte thus
becomes ``Ġ`` (U+0120), the newline ``Ċ`` (U+010A).

Example:
    >>> to_byte_chars("hé !")
    'hÃ©Ġ!'
    >>> from_byte_chars("hÃ©Ġ!")
    'hé !'
"""

from __future__ import annotations

from seqlab.errors import SeqlabError

_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]


def _byte_to_char() -> list[str]:
    table = [""] * 256
    shifted = 256
    for byte in range(256):
        if byte in _PRINTABLE:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(shifted)
            shifted += 1
    return table


BYTE_TO_CHAR: list[str] = _byte_to_char()
CHAR_TO_BYTE: dict[str, int] = {ch: byte for byte, ch in enumerate(BYTE_TO_CHAR)}


def utf8(text: str) -> bytes:
    """The UTF-8 bytes of ``text``; a lone surrogate (which has no UTF-8 form) is a ``SeqlabError``."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise SeqlabError(
            f"text: expected valid Unicode, got the lone surrogate U+{ord(bad):04X} at position {error.start} "
            "(it has no UTF-8 encoding; decode your input with errors='replace' or 'surrogatepass' fixed first)"
        ) from None


def to_byte_chars(text: str) -> str:
    """``text`` as one alphabet character per UTF-8 byte."""
    return utf8(text).decode("latin-1").translate(_LATIN1_TO_CHAR)


def from_byte_chars(chars: str, errors: str = "replace") -> str:
    """Inverse of ``to_byte_chars``; byte sequences that are not UTF-8 become U+FFFD (``errors='replace'``)."""
    try:
        raw = bytes(CHAR_TO_BYTE[ch] for ch in chars)
    except KeyError as missing:
        raise SeqlabError(f"byte-level text: {missing.args[0]!r} is not one of the 256 byte characters") from None
    return raw.decode("utf-8", errors=errors)


# str.translate on the Latin-1 view of the bytes maps every byte to its character in one C loop
_LATIN1_TO_CHAR = {byte: ch for byte, ch in enumerate(BYTE_TO_CHAR)}
