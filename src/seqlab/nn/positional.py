"""Positional information for attention, which by itself ignores order.

* sinusoidal (Vaswani et al. 2017): PE(p, 2i) = sin(p / 10000^{2i/E}), PE(p, 2i+1) = cos(p / 10000^{2i/E}),
  added to the embeddings; no parameters, defined for any position.
* learned (BERT, GPT-2): a trained vector per position up to ``max_len``, added to the embeddings.
* rotary, RoPE (Su et al. 2021): rotate each pair of query/key features by an angle proportional to
  the position, so q_m . k_n depends on m - n only; applied inside attention, after the projections.

``forward(x, offset=0)`` of the additive encodings takes embeddings (B, T, E) of the positions
offset .. offset + T - 1 (offset > 0 when a KV cache holds the earlier ones) and returns x + PE.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab import checks as _checks
from seqlab.errors import SeqlabError


def _check_embeddings(x, d_model: int, offset) -> int:
    """x (..., T, E) of the table's width; returns the offset as an int >= 0."""
    _checks.tensor(x, "x", f"(B, T, {d_model})")
    if x.dim() < 2 or x.shape[-1] != d_model:
        raise SeqlabError(f"x: expected embeddings (B, T, {d_model}) or (T, {d_model}), got shape {tuple(x.shape)}")
    return _checks.non_negative_int(offset, "offset")


def sinusoidal_table(length: int, d_model: int, base: float = 10000.0, device=None,
                     dtype=torch.float32) -> torch.Tensor:
    """PE (length, d_model): PE[p, 2i] = sin(p ω_i), PE[p, 2i+1] = cos(p ω_i), ω_i = base^{-2i/d_model}."""
    position = torch.arange(length, device=device, dtype=torch.float64)[:, None]  # (T, 1)
    omega = torch.exp(torch.arange(0, d_model, 2, device=device, dtype=torch.float64)
                      * (-math.log(base) / d_model))  # ω_i = base^{-2i/d}: (ceil(E/2),)
    table = torch.zeros(length, d_model, device=device, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * omega)
    table[:, 1::2] = torch.cos(position * omega[: d_model // 2])
    return table.to(dtype)


class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[offset : offset + T] with the fixed sinusoidal table (no parameters).

    Example:
        >>> pe = SinusoidalPositionalEncoding(16)
        >>> pe(torch.zeros(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, max_len: int = 1024, base: float = 10000.0):
        super().__init__()
        self.d_model = d_model = _checks.positive_int(d_model, "d_model")
        max_len = _checks.positive_int(max_len, "max_len")
        self.base = base = _checks.positive_float(base, "base")
        # not saved in the state dict: it is a function of (max_len, d_model), rebuilt on demand
        self.register_buffer("table", sinusoidal_table(max_len, d_model, base), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        offset = _check_embeddings(x, self.d_model, offset)
        T = x.shape[-2]
        if offset + T > self.table.shape[0]:
            self.table = sinusoidal_table(offset + T, self.d_model, self.base, device=x.device)
        return x + self.table[offset: offset + T].to(x.dtype)  # (B, T, E) + (T, E)


class LearnedPositionalEmbedding(nn.Module):
    """x + P[offset : offset + T] with a trained table P (max_len, E), as in BERT and GPT-2."""

    def __init__(self, max_len: int, d_model: int, device=None, dtype=None):
        super().__init__()
        self.max_len = max_len = _checks.positive_int(max_len, "max_len")
        self.d_model = d_model = _checks.positive_int(d_model, "d_model")
        self.weight = nn.Parameter(torch.empty(max_len, d_model, device=device, dtype=dtype))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        offset = _check_embeddings(x, self.d_model, offset)
        T = x.shape[-2]
        if offset + T > self.max_len:
            raise SeqlabError(f"positions up to {offset + T} asked, but the learned table has max_len={self.max_len}")
        return x + self.weight[offset: offset + T]


def rotary_angles(positions: torch.Tensor, head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """angles (T, hd/2): position p times θ_i = base^{-2i/hd}."""
    theta = base ** (-torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float64) / head_dim)
    return positions.to(torch.float64)[:, None] * theta[None, :]


def apply_rotary(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_{2i}, x_{2i+1}) of the last axis by its angle.

        x'_{2i}   = x_{2i} cos(p θ_i) - x_{2i+1} sin(p θ_i)
        x'_{2i+1} = x_{2i} sin(p θ_i) + x_{2i+1} cos(p θ_i)

    x (..., T, hd), angles (T, hd/2) -> (..., T, hd). The pairs are adjacent features, as in the
    paper (GPT-NeoX/LLaMA pair feature i with i + hd/2 instead: a permutation of the same idea).
    """
    if x.shape[-1] % 2:
        raise SeqlabError(f"rotary encoding needs an even head width, got {x.shape[-1]}")
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)  # (T, hd/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, hd/2)
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)  # (..., T, hd/2, 2)
    return rotated.flatten(-2)


class RotaryEmbedding(nn.Module):
    """RoPE for queries or keys of one head width: ``forward(x (..., T, hd), offset=0)``.

    Example:
        >>> rope = RotaryEmbedding(8)
        >>> rope(torch.randn(2, 4, 5, 8)).shape
        torch.Size([2, 4, 5, 8])
    """

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        head_dim = _checks.positive_int(head_dim, "head_dim")
        if head_dim % 2:
            raise SeqlabError(f"RotaryEmbedding: expected an even head_dim, got {head_dim}")
        self.head_dim = head_dim
        self.base = _checks.positive_float(base, "base")

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        offset = _check_embeddings(x, self.head_dim, offset)
        positions = torch.arange(offset, offset + x.shape[-2], device=x.device)
        return apply_rotary(x, rotary_angles(positions, self.head_dim, self.base))


def relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool = True, num_buckets: int = 32,
                             max_distance: int = 128) -> torch.Tensor:
    """T5's bucket of each relative position (key position - query position).

    Half the buckets hold the exact distances 0 .. n/2 - 1; the other half cover the distances
    from n/2 up to ``max_distance`` on a log scale, and everything farther shares the last
    bucket. Bidirectional (encoder) attention splits the buckets between keys before and after
    the query; causal (decoder) attention only ever sees keys before it, so the keys after all
    fall in bucket 0 with the query itself.
    """
    bucket = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        bucket = bucket + (relative_position > 0).long() * num_buckets  # keys after the query: the upper half
        distance = relative_position.abs()
    else:
        distance = (-relative_position).clamp_min(0)  # how far back the key is
    exact = num_buckets // 2
    log_ratio = torch.log(distance.clamp_min(1).double() / exact) / math.log(max_distance / exact)
    far = (exact + (log_ratio * (num_buckets - exact)).long()).clamp_max(num_buckets - 1)
    return bucket + torch.where(distance < exact, distance, far)


class RelativePositionBias(nn.Module):
    """T5's relative position bias: a learned scalar per (bucket, head), added to the attention scores.

    ``forward(T, S, offset=0)`` -> bias (1, nh, T, S) for queries at positions offset .. offset + T - 1
    and keys at 0 .. S - 1. The parameter is ``relative_attention_bias.weight`` (num_buckets, nh).
    """

    def __init__(self, num_heads: int, num_buckets: int = 32, max_distance: int = 128, bidirectional: bool = True):
        super().__init__()
        num_heads = _checks.positive_int(num_heads, "num_heads")
        num_buckets = _checks.positive_int(num_buckets, "num_buckets")
        max_distance = _checks.positive_int(max_distance, "max_distance")
        bidirectional = _checks.flag(bidirectional, "bidirectional")
        # half the buckets (of each direction) hold exact distances, the rest a log scale up to max_distance
        exact = (num_buckets // 2 if bidirectional else num_buckets) // 2
        if exact < 1 or max_distance <= exact:
            smallest = 4 if bidirectional else 2
            raise SeqlabError(f"num_buckets, max_distance: expected num_buckets >= {smallest} and max_distance > "
                              f"{max(exact, 1)} (the exact buckets), got {num_buckets} and {max_distance}")
        self.num_buckets, self.max_distance, self.bidirectional = num_buckets, max_distance, bidirectional
        self.relative_attention_bias = nn.Embedding(num_buckets, num_heads)

    def forward(self, T: int, S: int, offset: int = 0) -> torch.Tensor:
        T, S = _checks.non_negative_int(T, "T"), _checks.non_negative_int(S, "S")
        offset = _checks.non_negative_int(offset, "offset")
        device = self.relative_attention_bias.weight.device
        query = torch.arange(offset, offset + T, device=device)[:, None]
        key = torch.arange(S, device=device)[None, :]
        buckets = relative_position_bucket(key - query, self.bidirectional, self.num_buckets, self.max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1)[None]  # (T, S, nh) -> (1, nh, T, S)
