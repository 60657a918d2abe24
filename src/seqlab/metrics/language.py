"""Language-model metrics from the mean cross-entropy (in nats per token).

    perplexity = exp(H)                 H = -(1/N) sum_t ln p(x_t | x_<t)
    bits per character = H_char / ln 2  (H_char: nats per character)

For a tokenizer that emits N tokens for C characters, nats per character = H * N / C, so BPE and
character models compare through bits per character.

Example:
    >>> round(perplexity(0.0), 3), round(bits_per_char(0.6931471805599453), 3)
    (1.0, 1.0)
"""

from __future__ import annotations

import math

from seqlab.errors import SeqlabError


def perplexity(nats_per_token: float) -> float:
    return math.exp(nats_per_token) if nats_per_token < 700 else math.inf


def bits_per_char(nats_per_token: float, tokens: int | None = None, characters: int | None = None) -> float:
    """Bits per character; with ``tokens`` and ``characters``, converts a per-token loss first."""
    if (tokens is None) != (characters is None):
        raise SeqlabError("bits_per_char: give both tokens and characters, or neither")
    if tokens is not None:
        if characters <= 0:
            raise SeqlabError(f"characters: expected a positive count, got {characters}")
        nats_per_token = nats_per_token * tokens / characters
    return nats_per_token / math.log(2)


__all__ = ["bits_per_char", "perplexity"]
