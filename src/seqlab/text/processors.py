"""Post-processors: the fourth stage, adding special tokens and type ids around the model's tokens.

``TemplateProcessing`` follows a template such as ``"[CLS] $A [SEP]"`` for one sequence and
``"[CLS] $A [SEP] $B:1 [SEP]:1"`` for a pair (``:1`` sets the type id); ``BertProcessing`` and
``RobertaProcessing`` are the fixed templates of those models (RoBERTa's puts ``</s> </s>`` between
the sequences and gives every token type id 0); ``ByteLevel`` trims the spaces that byte-level tokens
carry (``Ġworld``) out of their offsets; ``Sequence`` chains them. Each serialises to, and is read
from, the JSON of Hugging Face ``tokenizers``, and behaves as it does there: ``process`` first sets
type id ``i`` on sequence ``i``, then lets the processor rewrite the list of encodings, then joins them.

Example:
    >>> bert = TemplateProcessing("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", {"[CLS]": 1, "[SEP]": 2})
    >>> bert.process(Encoding([7], ["hi"], [(0, 2)])).ids
    [1, 7, 2]
"""

from __future__ import annotations

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import BYTE_TO_CHAR
from seqlab.text.encoding import Encoding
from seqlab.text.json_fields import U32_MAX, Fields, describe
from seqlab.text.unicode import WHITESPACE_SET

_SPACE = BYTE_TO_CHAR[ord(" ")]

__all__ = ["BertProcessing", "ByteLevel", "PostProcessor", "RobertaProcessing", "Sequence", "TemplateProcessing",
           "default_process", "post_processor_from_json"]


class PostProcessor:
    """Base class: ``process(encoding, pair=None, add_special_tokens=True) -> Encoding``."""

    def added_tokens(self, is_pair: bool) -> int:
        """How many tokens ``process`` adds (truncation leaves room for them)."""
        return 0

    def special_ids(self) -> dict[str, int]:
        """Where each id this processor inserts comes from (``"sep"``, ``"special_tokens['[CLS]']"``) -> the id."""
        return {}

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        """Rewrite the list of encodings (``trim=False``: offsets were trimmed already, see ``trims_early``)."""
        raise NotImplementedError

    def process(self, encoding: Encoding, pair: Encoding | None = None, add_special_tokens: bool = True,
                trim: bool = True) -> Encoding:
        encodings = [encoding] if pair is None else [encoding, pair]
        for i, part in enumerate(encodings):
            part.type_ids = [i] * len(part)
        return Encoding.merge(self.process_encodings(encodings, add_special_tokens, trim))

    def trim_spans(self, tokens: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The trimming of ``trims_early`` processors, applied to ``spans`` (no prefix space: token by token)."""
        return trim_offsets(tokens, spans, add_prefix_space=False, cache=self.__dict__.setdefault("_spaces", {}))

    def trims_early(self) -> bool:
        """Whether the offset trimming this processor does depends on each token alone (no prefix space), so
        the tokenizer may trim while encoding (once per distinct piece) and pass ``trim=False``."""
        return False

    def to_json(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


def default_process(encoding: Encoding, pair: Encoding | None) -> Encoding:
    """No post-processor: the pair follows the first sequence, type ids as encoded (0, then 1)."""
    return encoding if pair is None else Encoding.merge([encoding, pair])


def _special(ids: list[int], tokens: list[str], type_id: int) -> Encoding:
    n = len(ids)
    return Encoding(list(ids), list(tokens), [(0, 0)] * n, [type_id] * n, [1] * n, [1] * n)


class TemplateProcessing(PostProcessor):
    """Special tokens around the sequences, following a template.

    Args:
        single: template of one sequence, e.g. ``"[CLS] $A [SEP]"`` (``$A`` is the sequence; ``$0``,
            ``$1`` stand for ``$A`` with that type id).
        pair: template of two, e.g. ``"[CLS] $A [SEP] $B:1 [SEP]:1"``; ``:k`` sets the type id.
        special_tokens: name -> id (or HF's ``{"id": name, "ids": [...], "tokens": [...]}``) of every
            special token the templates use.

    Note:
        With ``add_special_tokens=False`` the sequences still follow the template's order and type ids.
    """

    def __init__(self, single: str | list, pair: str | list | None = None, special_tokens: dict | None = None):
        self.single = _parse_template(single, "single")
        self.pair = _parse_template(pair if pair is not None else "$A:0 $B:1", "pair")
        self.special_tokens: dict[str, dict] = {}
        for name, value in (special_tokens or {}).items():
            if isinstance(value, int):
                value = {"id": name, "ids": [value], "tokens": [name]}
            self.special_tokens[name] = value
        for kind, name, _ in [*self.single, *self.pair]:
            if kind == "SpecialToken" and name not in self.special_tokens:
                raise SeqlabError(f"template: special token {name!r} has no id; expected it in special_tokens")
        if any(kind == "Sequence" and name == "B" for kind, name, _ in self.single):
            raise SeqlabError("template: the single-sequence template uses $B; expected only $A")

    def added_tokens(self, is_pair: bool) -> int:
        template = self.pair if is_pair else self.single
        return sum(len(self.special_tokens[name]["ids"]) for kind, name, _ in template if kind == "SpecialToken")

    def special_ids(self) -> dict[str, int]:
        return {f"special_tokens[{name!r}].ids[{i}]": token_id for name, value in self.special_tokens.items()
                for i, token_id in enumerate(value["ids"])}

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        template = self.pair if len(encodings) == 2 else self.single
        out, used = [], set()
        for kind, name, type_id in template:
            if kind == "Sequence":
                part = encodings[0 if name == "A" else 1]
                if name in used:  # the same sequence twice: a copy
                    part = part.with_type_id(type_id)
                else:
                    part.type_ids = [type_id] * len(part)
                used.add(name)
                out.append(part)
            elif add_special_tokens:
                special = self.special_tokens[name]
                out.append(_special(special["ids"], special["tokens"], type_id))
        return out

    def to_json(self) -> dict:
        def items(template):
            return [{kind: {"id": name, "type_id": type_id}} for kind, name, type_id in template]
        return {"type": "TemplateProcessing", "single": items(self.single), "pair": items(self.pair),
                "special_tokens": self.special_tokens}


def _parse_template(template: str | list, which: str) -> list[tuple[str, str, int]]:
    """``"[CLS] $A [SEP]"`` or HF's JSON list -> ``[(kind, name, type_id)]``."""
    if isinstance(template, list):
        out = []
        for i, item in enumerate(template):
            where = f"{which}[{i}]"
            if not isinstance(item, dict) or len(item) != 1:
                raise SeqlabError(f"{where}: expected {{\"Sequence\": ...}} or {{\"SpecialToken\": ...}}, got "
                                  f"{describe(item)}")
            (kind, body), = item.items()
            fields = Fields(body, f"{where}.{kind}")
            if kind == "Sequence":
                name = fields.string("id")
                if name not in ("A", "B"):
                    raise fields.fail("id", f"expected 'A' or 'B', got {describe(name)}")
            elif kind == "SpecialToken":
                name = fields.string("id")
            else:
                raise SeqlabError(f"{where}: expected Sequence or SpecialToken, got {kind!r}")
            out.append((kind, name, fields.integer("type_id")))
        return out
    if not isinstance(template, str):
        raise SeqlabError(f"{which}: expected a template string or list, got {describe(template)}")
    out = []
    for word in template.split(" "):
        parts = word.split(":")
        if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise SeqlabError(f"template: expected 'token:type_id' with an integer type id, got {word!r}")
        name = parts[0]
        type_id = int(parts[1]) if len(parts) == 2 else 0
        if name.startswith("$"):
            rest = name[1:]
            if rest in ("", "A", "a"):
                out.append(("Sequence", "A", type_id))
            elif rest in ("B", "b"):
                out.append(("Sequence", "B", type_id))
            elif rest.isdigit() and len(parts) == 1:
                out.append(("Sequence", "A", int(rest)))
            else:
                raise SeqlabError(f"template: expected $A, $B or $<type id>, got {name!r}")
        else:
            out.append(("SpecialToken", name, type_id))
    return out


class BertProcessing(PostProcessor):
    """BERT's template: ``[CLS] A [SEP]`` and ``[CLS] A [SEP] B [SEP]``, the second part with type id 1."""

    def __init__(self, sep: tuple[str, int], cls: tuple[str, int]):
        self.sep, self.cls = tuple(sep), tuple(cls)

    def added_tokens(self, is_pair: bool) -> int:
        return 3 if is_pair else 2

    def special_ids(self) -> dict[str, int]:
        return {"sep": self.sep[1], "cls": self.cls[1]}

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        if not add_special_tokens:
            return encodings
        (sep, sep_id), (cls, cls_id) = self.sep, self.cls
        first = encodings[0]
        out = [Encoding.merge([_special([cls_id], [cls], 0), first, _special([sep_id], [sep], 0)])]
        if len(encodings) == 2:
            out.append(Encoding.merge([encodings[1], _special([sep_id], [sep], 1)]))
        return out

    def to_json(self) -> dict:
        return {"type": "BertProcessing", "sep": list(self.sep), "cls": list(self.cls)}


class RobertaProcessing(PostProcessor):
    """RoBERTa's template: ``<s> A </s>`` and ``<s> A </s> </s> B </s>``; every type id is 0.

    With ``trim_offsets`` it also trims the spaces of byte-level tokens out of their offsets, as the
    ``ByteLevel`` post-processor does (``add_prefix_space`` keeps the first token's added space).
    """

    def __init__(self, sep: tuple[str, int], cls: tuple[str, int], trim_offsets: bool = True,
                 add_prefix_space: bool = True):
        self.sep, self.cls = tuple(sep), tuple(cls)
        self.trim_offsets, self.add_prefix_space = trim_offsets, add_prefix_space

    def added_tokens(self, is_pair: bool) -> int:
        return 4 if is_pair else 2

    def special_ids(self) -> dict[str, int]:
        return {"sep": self.sep[1], "cls": self.cls[1]}

    def trims_early(self) -> bool:
        return self.trim_offsets and not self.add_prefix_space

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        if self.trim_offsets and trim:
            for part in encodings:
                part.offsets = trim_offsets(part.tokens, part.offsets, self.add_prefix_space)
        for part in encodings:
            part.type_ids = [0] * len(part)
        if not add_special_tokens:
            return encodings
        (sep, sep_id), (cls, cls_id) = self.sep, self.cls
        out = [Encoding.merge([_special([cls_id], [cls], 0), encodings[0], _special([sep_id], [sep], 0)])]
        if len(encodings) == 2:
            out.append(Encoding.merge([_special([sep_id], [sep], 0), encodings[1], _special([sep_id], [sep], 0)]))
        return out

    def to_json(self) -> dict:
        return {"type": "RobertaProcessing", "sep": list(self.sep), "cls": list(self.cls),
                "trim_offsets": self.trim_offsets, "add_prefix_space": self.add_prefix_space}


def trim_offsets(tokens: list[str], offsets: list[tuple[int, int]], add_prefix_space: bool,
                 cache: dict[str, tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """``offsets`` with the leading and trailing spaces (``Ġ`` or white space) of each token left out.

    A token's single leading space is kept when it is the first token (or starts at 0) and
    ``add_prefix_space`` is on: that space was added, it is not in the text.
    """
    cache = {} if cache is None else cache
    out = list(offsets)
    for i, token in enumerate(tokens):
        counts = cache.get(token)
        if counts is None:
            lead = 0
            while lead < len(token) and (token[lead] == _SPACE or token[lead] in WHITESPACE_SET):
                lead += 1
            trail = 0
            while trail < len(token) and (token[-1 - trail] == _SPACE or token[-1 - trail] in WHITESPACE_SET):
                trail += 1
            counts = cache[token] = (lead, trail)
        leading, trailing = counts
        if not (leading or trailing):
            continue
        start, end = out[i]
        if leading:
            if (i == 0 or start == 0) and add_prefix_space and leading == 1:
                leading = 0
            start = min(start + leading, end)
        if trailing and end >= trailing:
            end = max(end - trailing, start)
        out[i] = (start, end)
    return out


class ByteLevel(PostProcessor):
    """Trim the leading and trailing spaces of byte-level tokens out of their offsets (``trim_offsets``)."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True):
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex
        self._spaces: dict[str, tuple[int, int]] = {}  # token -> (leading, trailing) space characters

    def trims_early(self) -> bool:
        return self.trim_offsets and not self.add_prefix_space

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        if self.trim_offsets and trim:
            for part in encodings:
                part.offsets = self.trim(part.tokens, part.offsets)
        return encodings

    def trim(self, tokens: list[str], offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return trim_offsets(tokens, offsets, self.add_prefix_space, self._spaces)

    def to_json(self) -> dict:
        return {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}


class Sequence(PostProcessor):
    """Apply post-processors one after the other, each to the list of encodings the previous one returned."""

    def __init__(self, processors: list[PostProcessor]):
        self.processors = list(processors)

    def added_tokens(self, is_pair: bool) -> int:
        return sum(p.added_tokens(is_pair) for p in self.processors)

    def special_ids(self) -> dict[str, int]:
        return {f"processors[{i}].{where}": token_id for i, p in enumerate(self.processors)
                for where, token_id in p.special_ids().items()}

    def trims_early(self) -> bool:
        trimming = [p for p in self.processors if isinstance(p, ByteLevel | RobertaProcessing) and p.trim_offsets]
        return bool(trimming) and all(p.trims_early() for p in trimming)

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool,
                          trim: bool = True) -> list[Encoding]:
        for processor in self.processors:
            encodings = processor.process_encodings(encodings, add_special_tokens, trim)
        return encodings

    def to_json(self) -> dict:
        return {"type": "Sequence", "processors": [p.to_json() for p in self.processors]}


_KINDS = "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence"


def post_processor_from_json(data, path: str = "post_processor") -> PostProcessor | None:
    """Build a post-processor from ``tokenizer.json``'s ``"post_processor"`` entry."""
    if data is None:
        return None
    fields = Fields(data, path)
    kind = fields.type_name()
    # tokenizers picks RobertaProcessing, BertProcessing and TemplateProcessing by their fields whatever the
    # type says (in that order); a type that disagrees with the fields is refused rather than guessed
    keys = set(fields.data)
    by_fields = "RobertaProcessing" if {"sep", "cls", "trim_offsets", "add_prefix_space"} <= keys \
        else "BertProcessing" if {"sep", "cls"} <= keys else None
    if by_fields is None and kind not in ("ByteLevel", "Sequence") and {"single", "pair", "special_tokens"} <= keys:
        by_fields = "TemplateProcessing"
    if kind is None:
        if by_fields is None:
            raise fields.fail("type", f"expected one of {_KINDS}, found no type")
        kind = by_fields
    elif by_fields is not None and by_fields != kind:
        raise fields.fail("type", f"the type says {kind} but the fields are those of {by_fields}")
    if kind == "TemplateProcessing":
        try:
            return TemplateProcessing(_template(fields, "single"), _template(fields, "pair"),
                                      _special_tokens(fields))
        except SeqlabError as error:
            raise SeqlabError(f"{path}: {error}") from None
    if kind == "ByteLevel":
        return ByteLevel(fields.boolean("add_prefix_space"), fields.boolean("trim_offsets"),
                         fields.boolean("use_regex", default=True))
    if kind == "BertProcessing":
        return BertProcessing(_pair(fields, "sep"), _pair(fields, "cls"))
    if kind == "RobertaProcessing":
        return RobertaProcessing(_pair(fields, "sep"), _pair(fields, "cls"), fields.boolean("trim_offsets"),
                                 fields.boolean("add_prefix_space"))
    if kind == "Sequence":
        out = []
        for i, item in enumerate(fields.list("processors")):
            built = post_processor_from_json(item, f"{path}.processors[{i}]")
            if built is None:
                raise SeqlabError(f"{path}.processors[{i}]: expected a post-processor, got null")
            out.append(built)
        return Sequence(out)
    raise fields.fail("type", f"expected one of {_KINDS}, got {describe(kind)}")


def _template(fields: Fields, name: str) -> list:
    return fields.list(name)


def _pair(fields: Fields, name: str) -> tuple[str, int]:
    value = fields.raw(name)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and type(value[1]) is int and 0 <= value[1] <= U32_MAX):
        raise fields.fail(name, f'expected ["token", id], got {describe(value)}')
    return value[0], value[1]


def _special_tokens(fields: Fields) -> dict:
    tokens = fields.object("special_tokens")
    out = {}
    for key, value in tokens.items():
        item = Fields(value, fields.where(f"special_tokens[{key!r}]"))
        ids = item.list("ids")
        names = item.list("tokens")
        if not all(type(i) is int and 0 <= i <= U32_MAX for i in ids) or not all(isinstance(t, str) for t in names):
            raise item.fail("ids", "expected a list of ids and a list of token strings")
        if len(ids) != len(names):
            raise item.fail("tokens", f"expected as many tokens as ids ({len(ids)}), got {len(names)}")
        out[key] = {"id": item.string("id"), "ids": list(ids), "tokens": list(names)}
    return out
