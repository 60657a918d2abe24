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

The forms each layer accepts are read, checked and brought to the scores' rank here, once:

* ``multihead_can_attend`` (``MultiheadAttention``, the Transformer layers): ``can_attend``
  (T, S), (B, T, S) or (B, nh, T, S), read by its rank (so a (B, T, S) mask is never taken
  for (nh, T, S) when B == nh), plus key padding ``key_is_real`` (B, S) as its own argument
  (a 2-D mask alone could not say whether it is (T, S) or (B, S)).
* ``sequence_can_attend`` (the one-head scores of ``seqlab.nn.attention``): (B, S) or (B, T, S).
* ``check_broadcastable`` (``scaled_dot_product_attention``): (T, S) or the scores' own rank.

Masks are boolean. A float mask is refused rather than guessed at: 0/1 ("1 = keep") and
additive (0 keeps, -inf drops) masks look alike and mean different things; ``mask.bool()``
and ``from_additive`` say which was meant. Any size may be 1, to broadcast.
"""

from __future__ import annotations

import torch

from seqlab import checks as _checks
from seqlab.errors import SeqlabError

_FLOAT_MASK_HINT = ("a float mask is ambiguous (0/1 or additive 0/-inf): "
                    "convert a 0/1 mask with mask.bool(), an additive one with seqlab.nn.masks.from_additive")


def causal_mask(T: int, S: int | None = None, device=None) -> torch.Tensor:
    """can_attend (T, S): query i may see key j iff j <= i + (S - T).

    With S > T the queries are the last T positions of a sequence of length S (a KV cache
    holding S - T earlier positions), so every query still sees exactly its own past.
    """
    T = _checks.non_negative_int(T, "T")
    S = T if S is None else _checks.non_negative_int(S, "S")
    if S < T:
        raise SeqlabError(f"causal_mask: expected S >= T, got T={T}, S={S}")
    query_pos = torch.arange(S - T, S, device=device)[:, None]  # (T, 1)
    key_pos = torch.arange(S, device=device)[None, :]  # (1, S)
    return key_pos <= query_pos


def lengths_to_mask(lengths: torch.Tensor, S: int | None = None) -> torch.Tensor:
    """is_real (B, S): True at the first ``lengths[b]`` positions of row b, False on padding."""
    if isinstance(lengths, list | tuple) and not lengths:
        lengths = torch.zeros(0, dtype=torch.long)  # torch.as_tensor([]) would be float
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise SeqlabError(f"lengths: expected a 1-D tensor (B,), got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise SeqlabError(f"lengths: expected an integer dtype, got {lengths.dtype}")
    if S is None and not lengths.numel():
        raise SeqlabError("lengths_to_mask: an empty batch needs S, the number of positions")
    S = int(lengths.max()) if S is None else _checks.non_negative_int(S, "S")
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


# -- reading the documented forms --------------------------------------------------------------
def _check_mask_tensor(mask, name: str, device: torch.device | None) -> None:
    """A boolean tensor on ``device``: what every mask must be before its shape is looked at."""
    if not isinstance(mask, torch.Tensor):
        raise SeqlabError(f"{name}: expected a boolean tensor (True = attend), got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        hint = f"; {_FLOAT_MASK_HINT}" if mask.is_floating_point() else ""
        raise SeqlabError(f"{name}: expected a boolean mask (True = attend), got dtype {mask.dtype}{hint}")
    if device is not None and mask.device != device:
        raise SeqlabError(f"{name}: expected a mask on {device} (the query's device), got one on {mask.device}")


def _fits(shape: tuple[int, ...], sizes: tuple[int, ...]) -> bool:
    """Every size equal to the expected one or 1 (broadcast)."""
    return len(shape) == len(sizes) and all(got == want or got == 1 for got, want in zip(shape, sizes))


def _is_mask(mask, device: torch.device | None) -> bool:
    return isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and (device is None or mask.device == device)


def _forms(forms: dict[str, tuple[int, ...]]) -> str:
    """"(T, S) = (3, 5), (B, T, S) = (2, 3, 5) or ...": each accepted form with its sizes."""
    named = [f"{legend} = {sizes}" for legend, sizes in forms.items()]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"


def multihead_can_attend(can_attend: torch.Tensor | None, key_is_real: torch.Tensor | None, *, batch: int,
                         heads: int, queries: int, keys: int, device: torch.device | None = None,
                         name: str = "can_attend", key_name: str = "key_is_real") -> torch.Tensor | None:
    """The masks of multi-head attention -> one can_attend for scores (B, nh, T, S), or None.

    Args:
        can_attend: boolean, True = attend, read by its rank: (T, S) for every sequence and
            head (a causal mask), (B, T, S) per sequence and shared by the heads,
            (B, nh, T, S) per sequence and head. Any size may be 1, to broadcast.
        key_is_real: boolean (B, S), False on padding keys (``lengths_to_mask``).
        batch, heads, queries, keys: B, nh, T, S of the scores.
        device: where the scores are; a mask elsewhere is refused.

    Returns:
        A mask of rank 2 (T, S) or 4 (B|1, nh|1, T|1, S|1), which both broadcast against the
        scores as meant: a (B, T, S) mask gets its head axis, (B, 1, T, S), and key padding
        becomes (B, 1, 1, S).

    Example:
        >>> multihead_can_attend(causal_mask(3), None, batch=2, heads=4, queries=3, keys=3).shape
        torch.Size([3, 3])
    """
    result = None
    if can_attend is not None:
        if not _is_mask(can_attend, device):
            _check_mask_tensor(can_attend, name, device)
        rank = can_attend.dim()
        if rank == 2:
            expected = (queries, keys)
        elif rank == 3:
            expected = (batch, queries, keys)
        else:
            expected = (batch, heads, queries, keys)
        if not _fits(can_attend.shape, expected):
            _refuse_multihead_shape(can_attend, name, key_name, batch, heads, queries, keys)
        # (T, S) and (B, nh, T, S) broadcast against the scores as they are; (B, T, S) needs its head axis
        result = can_attend.unsqueeze(1) if rank == 3 else can_attend
    if key_is_real is not None:
        if not _is_mask(key_is_real, device):
            _check_mask_tensor(key_is_real, key_name, device)
        if key_is_real.shape != (batch, keys):
            raise SeqlabError(f"{key_name}: expected a boolean key mask of shape (B, S) = {(batch, keys)}, "
                              f"got shape {tuple(key_is_real.shape)}")
        padding = key_padding(key_is_real)  # (B, S) -> (B, 1, 1, S)
        result = padding if result is None else result & padding
    return result


def _refuse_multihead_shape(can_attend: torch.Tensor, name: str, key_name: str, batch: int, heads: int,
                            queries: int, keys: int) -> None:
    forms = {"(T, S)": (queries, keys), "(B, T, S)": (batch, queries, keys),
             "(B, nh, T, S)": (batch, heads, queries, keys)}
    shape = tuple(can_attend.shape)
    hint = ""
    if len(shape) == 3 and shape[0] == batch * heads != batch:
        hint = "; PyTorch's (B * nh, T, S) layout is (B, nh, T, S) here: mask.view(B, nh, T, S)"
    elif len(shape) == 2 and _fits(shape, (batch, keys)):
        hint = f"; key padding (B, S) goes in {key_name}"
    raise SeqlabError(f"{name}: expected a boolean mask of shape {_forms(forms)} (a size may be 1), "
                      f"got shape {shape}{hint}")


def sequence_can_attend(can_attend: torch.Tensor | None, *, batch: int, queries: int, keys: int,
                        device: torch.device | None = None, name: str = "can_attend") -> torch.Tensor | None:
    """The mask of one-head attention (Bahdanau, Luong) -> can_attend (B|1, T|1, S|1), or None.

    ``can_attend`` is (B, S) key padding (every query sees the same keys) or (B, T, S);
    any size may be 1, to broadcast.
    """
    if can_attend is None:
        return None
    if not _is_mask(can_attend, device):
        _check_mask_tensor(can_attend, name, device)
    rank = can_attend.dim()
    if not _fits(can_attend.shape, (batch, keys) if rank == 2 else (batch, queries, keys)):
        forms = {"(B, S)": (batch, keys), "(B, T, S)": (batch, queries, keys)}
        raise SeqlabError(f"{name}: expected a boolean mask of shape {_forms(forms)} (a size may be 1), "
                          f"got shape {tuple(can_attend.shape)}")
    return can_attend.unsqueeze(1) if rank == 2 else can_attend  # (B, S) -> (B, 1, S)


def check_broadcastable(mask: torch.Tensor, name: str, scores: tuple[int, ...], *, additive: bool = False,
                        device: torch.device | None = None) -> None:
    """A mask for scores (..., T, S): (T, S), or of the scores' own rank, each size equal or 1.

    Refusing the ranks in between keeps a (B, T, S) mask from being broadcast as (nh, T, S)
    against (B, nh, T, S) scores. ``additive`` masks (a float bias added to the scores) must
    be floating point instead of boolean.
    """
    if additive:
        if not isinstance(mask, torch.Tensor) or not mask.is_floating_point():
            got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise SeqlabError(f"{name}: expected a floating-point tensor added to the scores, got {got}")
        if device is not None and mask.device != device:
            raise SeqlabError(f"{name}: expected a tensor on {device} (the query's device), got one on {mask.device}")
    elif not _is_mask(mask, device):
        _check_mask_tensor(mask, name, device)
    if not _fits(mask.shape, scores[-2:] if mask.dim() == 2 else scores):
        forms = {"(T, S)": tuple(scores[-2:]), "the scores' shape": tuple(scores)}
        raise SeqlabError(f"{name}: expected shape {_forms(forms)} (a size may be 1), got shape {tuple(mask.shape)}")
