"""Post-processors: the fourth stage, adding special tokens and type ids around the model's tokens.

``TemplateProcessing`` follows a template such as ``"[CLS] $A [SEP]"`` for one sequence and
``"[CLS] $A [SEP] $B:1 [SEP]:1"`` for a pair (``:1`` sets the type id); ``ByteLevel`` trims the
spaces that byte-level tokens carry (``Ġworld``) out of their offsets. Each serialises to the JSON
of Hugging Face ``tokenizers``.

Example:
    >>> bert = TemplateProcessing("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", {"[CLS]": 1, "[SEP]": 2})
    >>> bert.process(Encoding([7], ["hi"], [(0, 2)])).ids
    [1, 7, 2]
"""

from __future__ import annotations

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import BYTE_TO_CHAR
from seqlab.text.encoding import Encoding

_SPACE = BYTE_TO_CHAR[ord(" ")]


class PostProcessor:
    """Base class: ``process(encoding, pair=None, add_special_tokens=True) -> Encoding``."""

    def added_tokens(self, is_pair: bool) -> int:
        """How many tokens ``process`` adds (truncation leaves room for them)."""
        return 0

    def process(self, encoding: Encoding, pair: Encoding | None = None, add_special_tokens: bool = True) -> Encoding:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()


def default_process(encoding: Encoding, pair: Encoding | None) -> Encoding:
    """No post-processor: the pair follows the first sequence with type id 1."""
    return encoding if pair is None else Encoding.merge([encoding.with_type_id(0), pair.with_type_id(1)])


class TemplateProcessing(PostProcessor):
    """Special tokens around the sequences, following a template.

    Args:
        single: template of one sequence, e.g. ``"[CLS] $A [SEP]"`` (``$A`` is the sequence).
        pair: template of two, e.g. ``"[CLS] $A [SEP] $B:1 [SEP]:1"``; ``:k`` sets the type id.
        special_tokens: token -> id of every special token the templates use.
    """

    def __init__(self, single: str | list, pair: str | list | None = None, special_tokens: dict | None = None):
        self.single = _parse_template(single)
        self.pair = _parse_template(pair) if pair is not None else None
        self.special_tokens: dict[str, dict] = {}
        for name, value in (special_tokens or {}).items():
            if isinstance(value, int):
                value = {"id": name, "ids": [value], "tokens": [name]}
            self.special_tokens[name] = value
        for kind, name, _ in [*self.single, *(self.pair or [])]:
            if kind == "SpecialToken" and name not in self.special_tokens:
                raise SeqlabError(f"template: special token {name!r} has no id; expected it in special_tokens")

    def added_tokens(self, is_pair: bool) -> int:
        template = self.pair if is_pair and self.pair is not None else self.single
        return sum(len(self.special_tokens[name]["ids"]) for kind, name, _ in template if kind == "SpecialToken")

    def process(self, encoding: Encoding, pair: Encoding | None = None, add_special_tokens: bool = True) -> Encoding:
        if not add_special_tokens:
            return default_process(encoding, pair)
        if pair is not None and self.pair is None:
            raise SeqlabError("template: got a pair of sequences but the template has no 'pair' form")
        parts = []
        for kind, name, type_id in (self.single if pair is None else self.pair):
            if kind == "Sequence":
                parts.append((encoding if name == "A" else pair).with_type_id(type_id))
            else:
                special = self.special_tokens[name]
                n = len(special["ids"])
                parts.append(Encoding(list(special["ids"]), list(special["tokens"]), [(0, 0)] * n, [type_id] * n,
                                      [1] * n, [1] * n))
        return Encoding.merge(parts)

    def to_json(self) -> dict:
        def items(template):
            return [{kind: {"id": name, "type_id": type_id}} for kind, name, type_id in template]
        return {"type": "TemplateProcessing", "single": items(self.single),
                "pair": items(self.pair if self.pair is not None else self.single),
                "special_tokens": self.special_tokens}


def _parse_template(template: str | list) -> list[tuple[str, str, int]]:
    """``"[CLS] $A [SEP]"`` or HF's JSON list -> ``[(kind, name, type_id)]``."""
    if isinstance(template, list):
        out = []
        for item in template:
            (kind, body), = item.items()
            out.append((kind, body["id"], body["type_id"]))
        return out
    out = []
    for word in template.split():
        name, _, type_id = word.partition(":")
        if type_id and not type_id.isdigit():
            raise SeqlabError(f"template: expected 'token:type_id' with an integer type id, got {word!r}")
        if name.startswith("$"):
            sequence = name[1:] or "A"
            if sequence not in ("A", "B"):
                raise SeqlabError(f"template: expected $A or $B, got {name!r}")
            out.append(("Sequence", sequence, int(type_id or 0)))
        else:
            out.append(("SpecialToken", name, int(type_id or 0)))
    return out


class ByteLevel(PostProcessor):
    """Trim the leading and trailing spaces of byte-level tokens out of their offsets (``trim_offsets``)."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True):
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex
        self._spaces: dict[str, tuple[int, int]] = {}  # token -> (leading, trailing) space characters

    def process(self, encoding: Encoding, pair: Encoding | None = None, add_special_tokens: bool = True) -> Encoding:
        if self.trim_offsets:
            for part in (encoding, pair):
                if part is not None:
                    part.offsets = self.trim(part.tokens, part.offsets)
        return default_process(encoding, pair)

    def trim(self, tokens: list[str], offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``offsets`` with the spaces at either end of each token left out."""
        out = list(offsets)
        spaces = self._spaces
        for i, token in enumerate(tokens):
            counts = spaces.get(token)
            if counts is None:
                counts = (len(token) - len(token.lstrip(_SPACE)), len(token) - len(token.rstrip(_SPACE)))
                spaces[token] = counts
            leading, trailing = counts
            if not (leading or trailing):
                continue
            start, end = out[i]
            if leading:
                is_first = i == 0 or start == 0
                if not (is_first and self.add_prefix_space and leading == 1):
                    start = min(start + leading, end)
            if trailing and end >= trailing:
                end = max(end - trailing, start)
            out[i] = (start, end)
        return out

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}


class Sequence(PostProcessor):
    """Apply post-processors one after the other (HF applies the pair merge once at the end)."""

    def __init__(self, processors: list[PostProcessor]):
        self.processors = list(processors)

    def added_tokens(self, is_pair: bool) -> int:
        return sum(p.added_tokens(is_pair) for p in self.processors)

    def process(self, encoding: Encoding, pair: Encoding | None = None, add_special_tokens: bool = True) -> Encoding:
        for processor in self.processors[:-1]:
            if isinstance(processor, ByteLevel) and processor.trim_offsets:
                for part in (encoding, pair):
                    if part is not None:
                        part.offsets = processor.trim(part.tokens, part.offsets)
            else:
                raise SeqlabError("post_processor Sequence: only ByteLevel may come before the last processor")
        return self.processors[-1].process(encoding, pair, add_special_tokens) if self.processors \
            else default_process(encoding, pair)

    def to_json(self) -> dict:
        return {"type": "Sequence", "processors": [p.to_json() for p in self.processors]}


def post_processor_from_json(data: dict | None) -> PostProcessor | None:
    """Build a post-processor from HF ``tokenizer.json``'s ``"post_processor"`` entry."""
    if data is None:
        return None
    kind = data.get("type")
    if kind == "TemplateProcessing":
        return TemplateProcessing(data["single"], data["pair"], data.get("special_tokens", {}))
    if kind == "ByteLevel":
        return ByteLevel(data.get("add_prefix_space", True), data.get("trim_offsets", True),
                         data.get("use_regex", True))
    if kind in ("BertProcessing", "RobertaProcessing"):
        (sep, sep_id), (cls, cls_id) = data["sep"], data["cls"]
        middle = f" {sep} {sep}" if kind == "RobertaProcessing" else f" {sep}"
        template = TemplateProcessing(f"{cls} $A {sep}", f"{cls} $A{middle} $B:1 {sep}:1", {cls: cls_id, sep: sep_id})
        if kind == "RobertaProcessing" and data.get("trim_offsets", True):
            return Sequence([ByteLevel(data.get("add_prefix_space", True), True), template])
        return template
    if kind == "Sequence":
        return Sequence([post_processor_from_json(item) for item in data["processors"]])
    raise SeqlabError(f"post_processor: expected one of TemplateProcessing, ByteLevel, BertProcessing, "
                      f"RobertaProcessing, Sequence; got {kind!r}")
