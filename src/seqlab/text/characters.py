"""A character vocabulary: one id per distinct character of a corpus, sorted (nanoGPT's convention)."""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


class CharacterVocabulary:
    """Maps each character of a closed alphabet to an id, in sorted order of the characters.

    Example:
        >>> vocab = CharacterVocabulary.from_text("hello")
        >>> vocab.encode("hell").tolist(), vocab.decode([3, 1])
        ([1, 0, 2, 2], 'oh')
    """

    def __init__(self, characters: list[str]):
        if len(set(characters)) != len(characters) or any(len(ch) != 1 for ch in characters):
            raise SeqlabError("characters: expected distinct single characters")
        self.characters = list(characters)
        self.index = {ch: i for i, ch in enumerate(self.characters)}

    @classmethod
    def from_text(cls, text: str) -> CharacterVocabulary:
        if not text:
            raise SeqlabError("cannot build a character vocabulary from empty text")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> torch.Tensor:
        try:
            return torch.tensor([self.index[ch] for ch in text], dtype=torch.long)
        except KeyError as missing:
            raise SeqlabError(f"character {missing.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.characters[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"type": "characters", "characters": self.characters}

    @classmethod
    def from_dict(cls, data: dict) -> CharacterVocabulary:
        if data.get("type") != "characters" or not isinstance(data.get("characters"), list):
            raise SeqlabError("vocabulary: expected {'type': 'characters', 'characters': [...]}")
        return cls(data["characters"])
