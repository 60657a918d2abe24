"""Pretrained vectors into a model: an embedding matrix for a vocabulary, its coverage, freeze or fine-tune.

Row ``t`` of the matrix is the vector of token ``tokens[t]`` when the vectors know it (or know its
lower-cased form); unknown tokens get random rows drawn from N(0, sigma^2), sigma the standard
deviation of the found vectors, so they start on the same scale; the padding row is zero.

Example:
    >>> kv = KeyedVectors(["cat", "dog"], torch.ones(2, 3))
    >>> weight, coverage = embedding_matrix(kv, ["<pad>", "cat", "Dog", "emu"], padding_idx=0)
    >>> coverage.found, coverage.total, coverage.missing
    (2, 3, ['emu'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from seqlab.embeddings.keyed_vectors import KeyedVectors


@dataclass
class Coverage:
    """How many tokens of a vocabulary got a pretrained vector (the padding token is not counted)."""

    found: int
    total: int
    lowercased: int  # found only through their lower-cased form
    missing: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.found / self.total if self.total else 0.0


def embedding_matrix(vectors: KeyedVectors, tokens: Sequence[str], padding_idx: int | None = None,
                     lowercase_fallback: bool = True, seed: int = 0) -> tuple[torch.Tensor, Coverage]:
    """A (V, E) matrix for ``tokens`` (id -> token) from ``vectors``, and its coverage."""
    E = vectors.vector_size
    weight = torch.zeros(len(tokens), E)
    found = torch.zeros(len(tokens), dtype=torch.bool)
    lowercased = 0
    missing = []
    for t, token in enumerate(tokens):
        if t == padding_idx:
            continue
        if token in vectors:
            weight[t] = vectors[token]
            found[t] = True
        elif lowercase_fallback and token.lower() in vectors:
            weight[t] = vectors[token.lower()]
            found[t] = True
            lowercased += 1
        else:
            missing.append(token)
    sigma = float(weight[found].std()) if int(found.sum()) > 1 else 1.0
    generator = torch.Generator().manual_seed(seed)
    unknown = ~found
    if padding_idx is not None:
        unknown[padding_idx] = False
    weight[unknown] = torch.randn(int(unknown.sum()), E, generator=generator) * sigma
    total = len(tokens) - (padding_idx is not None)
    return weight, Coverage(int(found.sum()), total, lowercased, missing)


def pretrained_embedding(vectors: KeyedVectors, tokens: Sequence[str], freeze: bool = True,
                         padding_idx: int | None = None, seed: int = 0) -> tuple[nn.Embedding, Coverage]:
    """An ``nn.Embedding`` initialised from ``vectors``: frozen, or trainable to fine-tune."""
    weight, coverage = embedding_matrix(vectors, tokens, padding_idx=padding_idx, seed=seed)
    return nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding_idx), coverage
