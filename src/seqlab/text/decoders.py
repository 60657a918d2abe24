"""Decoders: the last stage, tokens -> text.

``ByteLevel`` joins the byte characters and decodes the UTF-8 (bytes that do not form UTF-8 become
U+FFFD); ``WordPiece`` glues ``##`` continuations to the previous token and puts a space before the
others; ``Metaspace`` turns ``▁`` back into spaces; ``ByteFallback`` turns ``<0xXX>`` runs back into
text; ``BPEDecoder`` turns an end-of-word suffix into a space; ``CTC`` collapses repeats and drops the
blank; ``Replace``, ``Strip`` and ``Fuse`` edit or join tokens; ``Sequence`` chains them. Without a
decoder, tokens are joined with spaces (as ``tokenizers`` does). Each serialises to, and is read from,
the JSON of Hugging Face ``tokenizers``.

Example:
    >>> WordPiece().decode(["un", "##believ", "##able", "!"])
    'unbelievable!'
"""

from __future__ import annotations

import itertools

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import CHAR_TO_BYTE
from seqlab.text.json_fields import Fields, describe
from seqlab.text.patterns import compile_pattern, find_matches
from seqlab.text.pre_tokenizers import metaspace_options

_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]

__all__ = [
    "CTC",
    "BPEDecoder",
    "ByteFallback",
    "ByteLevel",
    "Decoder",
    "Fuse",
    "Metaspace",
    "Replace",
    "Sequence",
    "Strip",
    "WordPiece",
    "decoder_from_json",
]


def cleanup(text: str) -> str:
    """WordPiece's clean-up: re-attach punctuation and contractions (`` .`` -> ``.``, `` n't`` -> ``n't``)."""
    for before, after in _CLEANUP:
        text = text.replace(before, after)
    return text


class Decoder:
    """Base class: ``decode_chain`` maps tokens to strings that ``decode`` concatenates."""

    def decode_chain(self, tokens: list[str]) -> list[str]:
        raise NotImplementedError

    def decode(self, tokens: list[str]) -> str:
        return "".join(self.decode_chain(tokens))

    def to_json(self) -> dict:
        return {"type": type(self).__name__}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


class ByteLevel(Decoder):
    """Byte characters back to bytes, then UTF-8 (invalid sequences become U+FFFD).

    A token with a character outside the 256 byte characters (an added token such as ``日本``)
    contributes its own UTF-8 bytes, as in ``tokenizers``.
    """

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True):
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex

    def decode_chain(self, tokens: list[str]) -> list[str]:
        raw = bytearray()
        for token in tokens:
            try:
                raw.extend(CHAR_TO_BYTE[ch] for ch in token)
            except KeyError:
                raw.extend(token.encode("utf-8", "surrogatepass"))
        return [raw.decode("utf-8", errors="replace")]

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}


class WordPiece(Decoder):
    """Drop the ``prefix`` of continuations, space the other tokens; ``cleanup`` re-attaches punctuation."""

    def __init__(self, prefix: str = "##", cleanup: bool = True):
        self.prefix, self.cleanup = prefix, cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            if i > 0:
                token = token[len(self.prefix):] if token.startswith(self.prefix) else " " + token
            out.append(cleanup(token) if self.cleanup else token)
        return out

    def to_json(self) -> dict:
        return {"type": "WordPiece", "prefix": self.prefix, "cleanup": self.cleanup}


class BPEDecoder(Decoder):
    """The end-of-word ``suffix`` becomes a space (nothing in the last token)."""

    def __init__(self, suffix: str = "</w>"):
        self.suffix = suffix

    def decode_chain(self, tokens: list[str]) -> list[str]:
        last = len(tokens) - 1
        return [token.replace(self.suffix, "" if i == last else " ") for i, token in enumerate(tokens)]

    def to_json(self) -> dict:
        return {"type": "BPEDecoder", "suffix": self.suffix}


class CTC(Decoder):
    """Connectionist temporal classification: collapse repeated tokens, drop the blank ``pad_token``.

    With ``cleanup`` the WordPiece clean-up is applied and ``word_delimiter_token`` becomes a space.
    """

    def __init__(self, pad_token: str = "<pad>", word_delimiter_token: str = "|", cleanup: bool = True):
        self.pad_token, self.word_delimiter_token, self.cleanup = pad_token, word_delimiter_token, cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for token, _ in itertools.groupby(tokens):
            text = token.replace(self.pad_token, "")
            if self.cleanup:
                text = cleanup(text).replace(self.word_delimiter_token, " ")
            if text:
                out.append(text)
        return out

    def to_json(self) -> dict:
        return {"type": "CTC", "pad_token": self.pad_token, "word_delimiter_token": self.word_delimiter_token,
                "cleanup": self.cleanup}


class Fuse(Decoder):
    """Concatenate the tokens."""

    def decode_chain(self, tokens: list[str]) -> list[str]:
        return ["".join(tokens)]


class ByteFallback(Decoder):
    """Runs of ``<0xXX>`` byte tokens back to text (U+FFFD for each byte of a run that is not UTF-8)."""

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        run = bytearray()
        for token in [*tokens, None]:
            byte = _byte_token(token)
            if byte is not None:
                run.append(byte)
                continue
            if run:
                try:
                    out.append(run.decode("utf-8"))
                except UnicodeDecodeError:
                    out.extend(["\ufffd"] * len(run))
                run = bytearray()
            if token is not None:
                out.append(token)
        return out


def _byte_token(token: str | None) -> int | None:
    """The byte of a ``<0xXX>`` token, else None (``tokenizers``' rule: 6 UTF-8 bytes, then Rust's
    ``u8::from_str_radix`` on the two in the middle, which also reads ``+F``)."""
    if token is None or not token.startswith("<0x") or not token.endswith(">") or len(token.encode()) != 6:
        return None
    digits = token[3:-1]
    hexdigits = "0123456789abcdefABCDEF"
    if len(digits) == 2 and (digits[0] in hexdigits or digits[0] == "+") and digits[1] in hexdigits:
        return int(digits, 16)
    return None


class Strip(Decoder):
    """Remove up to ``start`` leading and ``stop`` trailing ``content`` characters from every token."""

    def __init__(self, content: str = " ", start: int = 0, stop: int = 0):
        self.content, self.start, self.stop = content, start, stop

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for token in tokens:
            begin = 0
            while begin < min(self.start, len(token)) and token[begin] == self.content:
                begin += 1
            end = len(token)
            while len(token) - end < self.stop and end > begin and token[end - 1] == self.content:
                end -= 1
            out.append(token[begin:end])
        return out

    def to_json(self) -> dict:
        return {"type": "Strip", "content": self.content, "start": self.start, "stop": self.stop}


class Replace(Decoder):
    """Replace every match of a literal string (or an Oniguruma regex, ``is_regex``) in each token."""

    def __init__(self, pattern: str, content: str, is_regex: bool = False):
        self.pattern, self.content, self.is_regex = pattern, content, is_regex
        self._compiled = compile_pattern(pattern, literal=not is_regex)

    def decode_chain(self, tokens: list[str]) -> list[str]:
        if not self.is_regex:
            return [token.replace(self.pattern, self.content) for token in tokens]
        out = []
        for token in tokens:
            parts, last = [], 0
            for a, b in find_matches(self._compiled, token):
                parts.append(token[last:a])
                parts.append(self.content)
                last = b
            parts.append(token[last:])
            out.append("".join(parts))
        return out

    def to_json(self) -> dict:
        return {"type": "Replace", "pattern": {"Regex" if self.is_regex else "String": self.pattern},
                "content": self.content}


class Metaspace(Decoder):
    """``▁`` back to spaces; in the first token they are dropped (the prepended one) unless ``never``."""

    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always", split: bool = True):
        if prepend_scheme not in ("always", "first", "never") or len(replacement) != 1:
            raise SeqlabError(f"Metaspace: expected one replacement character and prepend_scheme always|first|never, "
                              f"got {replacement!r}, {prepend_scheme!r}")
        self.replacement, self.prepend_scheme, self.split = replacement, prepend_scheme, split

    def decode_chain(self, tokens: list[str]) -> list[str]:
        drop_first = self.prepend_scheme != "never"
        return [token.replace(self.replacement, "" if i == 0 and drop_first else " ")
                for i, token in enumerate(tokens)]

    def to_json(self) -> dict:
        return {"type": "Metaspace", "replacement": self.replacement, "prepend_scheme": self.prepend_scheme,
                "split": self.split}


class Sequence(Decoder):
    """Apply decoders one after the other."""

    def __init__(self, decoders: list[Decoder]):
        self.decoders = list(decoders)

    def decode_chain(self, tokens: list[str]) -> list[str]:
        for decoder in self.decoders:
            tokens = decoder.decode_chain(tokens)
        return tokens

    def to_json(self) -> dict:
        return {"type": "Sequence", "decoders": [d.to_json() for d in self.decoders]}


_KINDS = "BPEDecoder, ByteLevel, WordPiece, Metaspace, CTC, Sequence, Replace, Fuse, Strip, ByteFallback"


def decoder_from_json(data, path: str = "decoder") -> Decoder | None:
    """Build a decoder from ``tokenizer.json``'s ``"decoder"`` entry (``None`` stays ``None``).

    Errors name the field's path (``decoder.pattern: ...``).
    """
    try:
        return _decoder_from_json(data, path)
    except SeqlabError as error:
        message = str(error)
        raise SeqlabError(message if message.startswith(path) else f"{path}: {message}") from None


def _decoder_from_json(data, path: str = "decoder") -> Decoder | None:
    """Build a decoder from ``tokenizer.json``'s ``"decoder"`` entry."""
    if data is None:
        return None
    fields = Fields(data, path)
    kind = fields.type_name()
    if kind == "ByteLevel":
        return ByteLevel(fields.boolean("add_prefix_space"), fields.boolean("trim_offsets"),
                         fields.boolean("use_regex", default=True))
    if kind == "WordPiece":
        return WordPiece(fields.string("prefix"), fields.boolean("cleanup"))
    if kind == "BPEDecoder":
        return BPEDecoder(fields.string("suffix"))
    if kind == "CTC":
        return CTC(fields.string("pad_token"), fields.string("word_delimiter_token"), fields.boolean("cleanup"))
    if kind == "Fuse":
        return Fuse()
    if kind == "ByteFallback":
        return ByteFallback()
    if kind == "Strip":
        return Strip(fields.char("content"), fields.integer("start", maximum=2**64 - 1),
                     fields.integer("stop", maximum=2**64 - 1))
    if kind == "Replace":
        pattern = fields.child("pattern")
        keys = [key for key in ("String", "Regex") if pattern.has(key)]
        if len(pattern.data) != 1 or len(keys) != 1:
            raise fields.fail("pattern", 'expected {"String": ...} or {"Regex": ...}')
        return Replace(pattern.string(keys[0]), fields.string("content"), keys[0] == "Regex")
    if kind == "Metaspace":
        return Metaspace(*metaspace_options(fields))
    if kind == "Sequence":
        out = []
        for i, item in enumerate(fields.list("decoders")):
            built = decoder_from_json(item, f"{path}.decoders[{i}]")
            if built is None:
                raise SeqlabError(f"{path}.decoders[{i}]: expected a decoder, got null")
            out.append(built)
        return Sequence(out)
    if kind is None:
        raise fields.fail("type", f"expected one of {_KINDS}, found no type")
    raise fields.fail("type", f"expected one of {_KINDS}, got {describe(kind)}")
