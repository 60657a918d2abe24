"""The result of tokenizing one text: ids with their tokens, offsets, masks and type ids.

``offsets[i]`` is the ``[start, end)`` span of characters of the *original* string that token ``i``
covers (``(0, 0)`` for special and padding tokens). ``attention_mask`` is 1 on real tokens and 0 on
padding; ``special_tokens_mask`` is 1 on tokens added by the post-processor; ``type_ids`` tell the
first sequence (0) from the second (1) of a pair.

Example:
    >>> e = Encoding(ids=[5, 6], tokens=["a", "b"], offsets=[(0, 1), (1, 2)])
    >>> e.pad(4, pad_id=0, pad_token="<pad>").ids, e.attention_mask
    ([5, 6, 0, 0], [1, 1, 0, 0])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.errors import SeqlabError


@dataclass
class Encoding:
    """Ids, tokens and per-token annotations of one encoded text (or pair of texts)."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    type_ids: list[int] = field(default_factory=list)
    attention_mask: list[int] = field(default_factory=list)
    special_tokens_mask: list[int] = field(default_factory=list)

    def __post_init__(self):
        n = len(self.ids)
        if not (len(self.tokens) == len(self.offsets) == n):
            raise SeqlabError(f"Encoding: expected ids, tokens and offsets of one length, got "
                              f"{n}, {len(self.tokens)}, {len(self.offsets)}")
        self.type_ids = self.type_ids or [0] * n
        self.attention_mask = self.attention_mask or [1] * n
        self.special_tokens_mask = self.special_tokens_mask or [0] * n

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def merge(cls, parts: list[Encoding]) -> Encoding:
        """The concatenation of ``parts`` (one part is returned as it is)."""
        if len(parts) == 1:
            return parts[0]
        out = cls([], [], [])
        for part in parts:
            for name in ("ids", "tokens", "offsets", "type_ids", "attention_mask", "special_tokens_mask"):
                getattr(out, name).extend(getattr(part, name))
        return out

    def with_type_id(self, type_id: int) -> Encoding:
        return Encoding(list(self.ids), list(self.tokens), list(self.offsets), [type_id] * len(self.ids),
                        list(self.attention_mask), list(self.special_tokens_mask))

    def truncate(self, max_length: int, direction: str = "right") -> Encoding:
        """Keep ``max_length`` tokens, dropping from the right (or the left). Returns self."""
        if max_length < 0:
            raise SeqlabError(f"truncation: expected max_length >= 0, got {max_length}")
        if len(self) <= max_length:
            return self
        keep = slice(0, max_length) if direction == "right" else slice(len(self) - max_length, len(self))
        for name in ("ids", "tokens", "offsets", "type_ids", "attention_mask", "special_tokens_mask"):
            setattr(self, name, getattr(self, name)[keep])
        return self

    def pad(self, length: int, pad_id: int = 0, pad_token: str = "[PAD]", pad_type_id: int = 0,
            direction: str = "right") -> Encoding:
        """Pad with ``pad_id`` up to ``length`` tokens (attention mask 0 on the padding). Returns self."""
        missing = length - len(self)
        if missing <= 0:
            return self
        fill = {"ids": [pad_id] * missing, "tokens": [pad_token] * missing, "offsets": [(0, 0)] * missing,
                "type_ids": [pad_type_id] * missing, "attention_mask": [0] * missing,
                "special_tokens_mask": [1] * missing}
        for name, values in fill.items():
            current = getattr(self, name)
            setattr(self, name, current + values if direction == "right" else values + current)
        return self
