"""Attention masks under one convention: ``can_attend`` True means "this query may look at this key".

PyTorch disagrees with itself, so seqlab converts in this one place:

==========================================  ===============================================
PyTorch argument                            meaning of True
==========================================  ===============================================
``F.scaled_dot_product_attention(attn_mask)``  may attend (same as ours)
``nn.MultiheadAttention(key_padding_mask)``    ignore this key (padding)
``nn.MultiheadAttention(attn_mask)`` (bool)    ignore this key
``nn.Transformer*`` ``*_mask`` (bool)          ignore this key
float masks (both)                           added to the scores: 0 keeps, -inf drops
==========================================  ===============================================

Shapes: a mask broadcasts against the scores (B, nh, T, S): (T, S) for a causal mask,
(B, 1, 1, S) for key padding, (B, 1, T, S) for both.
"""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


def causal_mask(T: int, S: int | None = None, device=None) -> torch.Tensor:
    """can_attend (T, S): query i may see key j iff j <= i + (S - T).

    With S > T the queries are the last T positions of a sequence of length S (a KV cache
    holding S - T earlier positions), so every query still sees exactly its own past.
    """
    S = T if S is None else S
    if S < T:
        raise SeqlabError(f"causal_mask: expected S >= T, got T={T}, S={S}")
    query_pos = torch.arange(S - T, S, device=device)[:, None]  # (T, 1)
    key_pos = torch.arange(S, device=device)[None, :]  # (1, S)
    return key_pos <= query_pos


def lengths_to_mask(lengths: torch.Tensor, S: int | None = None) -> torch.Tensor:
    """is_real (B, S): True at the first ``lengths[b]`` positions of row b, False on padding."""
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise SeqlabError(f"lengths: expected a 1-D tensor (B,), got shape {tuple(lengths.shape)}")
    S = int(lengths.max()) if S is None else S
    if lengths.numel() and (int(lengths.max()) > S or int(lengths.min()) < 0):
        raise SeqlabError(f"lengths: expected values in [0, {S}], got {lengths.tolist()}")
    return torch.arange(S, device=lengths.device)[None, :] < lengths[:, None]


def key_padding(is_real: torch.Tensor) -> torch.Tensor:
    """can_attend (B, 1, 1, S) from a key mask is_real (B, S): every query may see every real key."""
    return is_real[:, None, None, :]


def combine(*masks: torch.Tensor | None) -> torch.Tensor | None:
    """can_attend where every given mask allows it (logical and, broadcast); None means "no mask"."""
    result = None
    for mask in masks:
        if mask is None:
            continue
        result = mask if result is None else result & mask
    return result


# -- PyTorch's conventions ---------------------------------------------------------------------
def from_torch_ignore(mask: torch.Tensor) -> torch.Tensor:
    """MultiheadAttention/Transformer boolean masks (True = ignore) -> can_attend."""
    _check_bool(mask, "from_torch_ignore")
    return ~mask


def to_torch_ignore(can_attend: torch.Tensor) -> torch.Tensor:
    """can_attend -> MultiheadAttention/Transformer boolean masks (True = ignore)."""
    _check_bool(can_attend, "to_torch_ignore")
    return ~can_attend


def from_torch_sdpa(mask: torch.Tensor) -> torch.Tensor:
    """``F.scaled_dot_product_attention``'s boolean ``attn_mask`` (True = attend): already ours."""
    _check_bool(mask, "from_torch_sdpa")
    return mask.clone()


def to_torch_sdpa(can_attend: torch.Tensor) -> torch.Tensor:
    """can_attend -> ``F.scaled_dot_product_attention``'s boolean ``attn_mask`` (the same)."""
    _check_bool(can_attend, "to_torch_sdpa")
    return can_attend.clone()


def to_additive(can_attend: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """can_attend -> a float mask added to the scores: 0 where allowed, -inf where not."""
    _check_bool(can_attend, "to_additive")
    zeros = torch.zeros(can_attend.shape, dtype=dtype, device=can_attend.device)
    return zeros.masked_fill(~can_attend, float("-inf"))


def from_additive(mask: torch.Tensor) -> torch.Tensor:
    """A float mask (0 keeps, -inf drops) -> can_attend."""
    if not mask.is_floating_point():
        raise SeqlabError(f"from_additive: expected a float mask, got dtype {mask.dtype}")
    return mask != float("-inf")


def _check_bool(mask: torch.Tensor, where: str) -> None:
    if mask.dtype != torch.bool:
        raise SeqlabError(f"{where}: expected a boolean mask, got dtype {mask.dtype}")
