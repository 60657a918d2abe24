"""Decoders: the last stage, tokens -> text.

``ByteLevel`` joins the byte characters and decodes the UTF-8 (bytes that do not form UTF-8 become
U+FFFD); ``WordPiece`` glues ``##`` continuations to the previous token and puts a space before the
others; ``Fuse`` concatenates. Without a decoder, tokens are joined with spaces (as ``tokenizers``
does). Each serialises to the JSON of Hugging Face ``tokenizers``.

Example:
    >>> WordPiece().decode(["un", "##believ", "##able", "!"])
    'unbelievable!'
"""

from __future__ import annotations

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import from_byte_chars

_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


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


class ByteLevel(Decoder):
    """Byte characters back to bytes, then UTF-8 (invalid sequences become U+FFFD)."""

    def decode_chain(self, tokens: list[str]) -> list[str]:
        return [from_byte_chars("".join(tokens))]

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}


class WordPiece(Decoder):
    """Drop the ``prefix`` of continuations, space the other tokens; ``cleanup`` re-attaches punctuation."""

    def __init__(self, prefix: str = "##", cleanup: bool = True):
        self.prefix, self.cleanup = prefix, cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            if i > 0:
                token = token[len(self.prefix):] if token.startswith(self.prefix) else " " + token
            if self.cleanup:
                for before, after in _CLEANUP:
                    token = token.replace(before, after)
            out.append(token)
        return out

    def to_json(self) -> dict:
        return {"type": "WordPiece", "prefix": self.prefix, "cleanup": self.cleanup}


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
    if token is None or len(token) != 6 or not token.startswith("<0x") or not token.endswith(">"):
        return None
    try:
        return int(token[3:5], 16)
    except ValueError:
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
    """Replace a literal string in every token (e.g. ``▁`` back to a space)."""

    def __init__(self, pattern: str, content: str):
        self.pattern, self.content = pattern, content

    def decode_chain(self, tokens: list[str]) -> list[str]:
        return [token.replace(self.pattern, self.content) for token in tokens]

    def to_json(self) -> dict:
        return {"type": "Replace", "pattern": {"String": self.pattern}, "content": self.content}


class Metaspace(Decoder):
    """``▁`` back to spaces; in the first token it is dropped (it was the prepended one) unless ``never``."""

    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always", split: bool = True):
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


def decoder_from_json(data: dict | None) -> Decoder | None:
    """Build a decoder from HF ``tokenizer.json``'s ``"decoder"`` entry."""
    if data is None:
        return None
    kind = data.get("type")
    if kind == "ByteLevel":
        return ByteLevel()
    if kind == "WordPiece":
        return WordPiece(data.get("prefix", "##"), data.get("cleanup", True))
    if kind == "Fuse":
        return Fuse()
    if kind == "ByteFallback":
        return ByteFallback()
    if kind == "Strip":
        return Strip(data.get("content", " "), data.get("start", 0), data.get("stop", 0))
    if kind == "Replace":
        if "String" not in data["pattern"]:
            raise SeqlabError("decoder Replace: only literal (String) patterns are supported")
        return Replace(data["pattern"]["String"], data["content"])
    if kind == "Metaspace":
        return Metaspace(data.get("replacement", "\u2581"), data.get("prepend_scheme", "always"),
                         data.get("split", True))
    if kind == "Sequence":
        return Sequence([decoder_from_json(item) for item in data["decoders"]])
    raise SeqlabError(f"decoder: expected one of ByteLevel, WordPiece, Fuse, ByteFallback, Strip, Replace, Metaspace, "
                      f"Sequence; "
                      f"got {kind!r}")
