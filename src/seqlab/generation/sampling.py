"""Sampling the next token from logits: temperature, top-k (Fan et al. 2018), top-p (Holtzman et al. 2020)."""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the top k, and outside the smallest set whose probability reaches p.

    Returns a new tensor; the input is not changed. Shape (B, V) -> (B, V).
    """
    logits = logits.clone()
    if top_k is not None:
        if top_k < 1:
            raise SeqlabError(f"top_k: expected a positive integer, got {top_k}")
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]  # (B, 1)
        logits[logits < kth] = float("-inf")
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise SeqlabError(f"top_p: expected a probability in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token when the tokens before it already reach p (the first token always stays)
        drop_sorted = (cumulative - sorted_logits.softmax(-1)) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits[drop] = float("-inf")
    return logits


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one id per row from softmax(logits / temperature) after top-k/top-p filtering.

    ``temperature=0`` is greedy decoding (the argmax). Shape (B, V) -> (B, 1).
    """
    if temperature < 0:
        raise SeqlabError(f"temperature: expected a value >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator)
