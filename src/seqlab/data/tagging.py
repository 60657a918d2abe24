"""Tagged sentences as tensors: word ids, character ids and tag ids per token, batched as a dict.

A sentence of T tokens becomes

    words (T,)      one id per token from a word tokenizer (lower-cased, digits as 0, for taggers)
    chars (T, W)    the ids of each token's first W characters, 0-padded, from a character tokenizer
    tags (T,)       one id per token, the tag's index in the label list

and ``collate_tagged_words`` pads a list of them into ``{"words" (B, T), "chars" (B, T, W),
"lengths" (B,), "tags" (B, T)}`` (padding is masked by the lengths in the CRF).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from seqlab.data.batching import pad_sequences
from seqlab.errors import SeqlabError
from seqlab.text.tokenizer import Tokenizer


def encode_words(tokens: Sequence[str], word_tokenizer: Tokenizer, char_tokenizer: Tokenizer,
                 max_word_chars: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids (T,) and character ids (T, max_word_chars) of one whitespace-free token sequence."""
    words = word_tokenizer.encode(" ".join(tokens)).ids
    if len(words) != len(tokens):
        raise SeqlabError(f"tokens: expected one word id per token ({len(tokens)}), got {len(words)}; "
                          "tokens must not contain white space")
    chars = torch.zeros(len(tokens), max_word_chars, dtype=torch.long)
    for i, encoding in enumerate(char_tokenizer.encode_batch([t[:max_word_chars] for t in tokens])):
        chars[i, : len(encoding.ids)] = torch.tensor(encoding.ids, dtype=torch.long)
    return torch.tensor(words, dtype=torch.long), chars


class TaggedWordsData(Dataset):
    """(words (T,), chars (T, W), tags (T,)) examples; ``lengths()`` for ``BucketBatchSampler``."""

    def __init__(self, examples: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.examples[index]

    def lengths(self) -> list[int]:
        return [len(words) for words, _, _ in self.examples]


def collate_tagged_words(examples: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> dict:
    """(words, chars, tags) examples -> a padded dict batch."""
    words, lengths, _ = pad_sequences([w for w, _, _ in examples], 0)
    chars, _, _ = pad_sequences([c for _, c, _ in examples], 0)
    tags, _, _ = pad_sequences([t for _, _, t in examples], 0)
    return {"words": words, "chars": chars, "lengths": lengths, "tags": tags}


__all__ = ["TaggedWordsData", "collate_tagged_words", "encode_words"]
