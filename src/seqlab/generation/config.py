"""How a model continues a prefix: greedy search, sampling (temperature, top-k, top-p) or beam search.

One validated object carries the choice, so every caller (a model's ``generate``, a run's sample,
``seqlab generate``, ``seqlab translate``) checks it the same way before any work is done.

Example:
    >>> DecodingConfig(temperature=0.8, top_k=40).greedy
    False
    >>> DecodingConfig(beam_size=4).greedy
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from seqlab.checks import integer, number
from seqlab.errors import SeqlabError


@dataclass(frozen=True)
class DecodingConfig:
    """The decoding strategy.

    temperature 0 is greedy search (the argmax at every step); above 0 each token is drawn from
    softmax(logits / temperature) after top-k / top-p filtering; ``beam_size`` > 1 is beam search
    (deterministic: it needs temperature 0), ranked by log p(y) / |y|^length_penalty.
    """

    temperature: float = 0.0  # 0: greedy
    top_k: int | None = None  # sample among the k most probable tokens
    top_p: float | None = None  # sample within the smallest set of probability >= p
    beam_size: int = 1  # 1: no beam search
    length_penalty: float = 1.0  # beam search: alpha in log p / |y|^alpha

    def __post_init__(self) -> None:
        number(self.temperature, "temperature", low=0.0)
        if self.top_k is not None:
            integer(self.top_k, "top_k", low=1)
        if self.top_p is not None:
            number(self.top_p, "top_p", low=0.0, high=1.0, low_open=True)
        integer(self.beam_size, "beam_size", low=1)
        number(self.length_penalty, "length_penalty", low=0.0)
        if self.beam_size > 1 and self.temperature > 0:
            raise SeqlabError(f"beam search is deterministic: got beam_size={self.beam_size} with "
                              f"temperature={self.temperature}; set temperature=0")

    @property
    def greedy(self) -> bool:
        """True when no randomness is involved (greedy or beam search)."""
        return self.temperature == 0


__all__ = ["DecodingConfig"]
