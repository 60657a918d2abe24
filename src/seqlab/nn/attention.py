"""Attention: a query scores every key, the softmax of the scores weighs the values.

    weights = softmax(score(q, k_1..k_S))      context = sum_j weights_j v_j

Three scores from the curriculum:

* additive (Bahdanau, Cho & Bengio 2015):  score(s, h) = v_a^T tanh(W_a s + U_a h)
* dot and general (Luong, Pham & Manning 2015):  score(s, h) = s^T h  and  s^T W_a h
* scaled dot-product (Vaswani et al. 2017):  Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Masks follow ``seqlab.nn.masks``: ``can_attend`` True = the query may look at that key.
A query that may look at no key at all (a fully padded row) gets all-zero weights and a zero
context instead of the NaN of a softmax over nothing, as PyTorch's own kernel does.

Shape alphabet: B batch, T queries, S keys, hd key/query width, Dv value width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlab import checks as _checks
from seqlab.errors import SeqlabError
from seqlab.nn import masks


def masked_softmax(scores: torch.Tensor, can_attend: torch.Tensor | None) -> torch.Tensor:
    """softmax over the last axis of ``scores`` restricted to the keys ``can_attend`` allows.

    Masked keys are filled with the dtype's most negative finite value (not -inf) so a fully
    masked row stays finite in the forward and backward passes; its weights are then zeroed.
    ``can_attend`` is boolean and broadcasts against ``scores`` (the callers check its form).
    """
    if can_attend is None:
        return scores.softmax(dim=-1)
    if can_attend.dtype != torch.bool:
        raise SeqlabError(f"can_attend: expected a boolean mask (True = attend), got dtype {can_attend.dtype}")
    filled = scores.masked_fill(~can_attend, torch.finfo(scores.dtype).min)
    return filled.softmax(dim=-1) * can_attend  # zero on masked keys and on rows with no key


def _scores_shape(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> tuple[int, ...]:
    """(..., T, S) of Q K^T, after checking that query, key and value fit together."""
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if not isinstance(tensor, torch.Tensor) or tensor.dim() < 2:
            got = f"shape {tuple(tensor.shape)}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise SeqlabError(f"{name}: expected a tensor of shape (..., T or S, features), got {got}")
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if query.shape[-1] != key.shape[-1]:
        raise SeqlabError(f"query and key: expected the same width hd in the last dimension, got {shapes}")
    if key.shape[-2] != value.shape[-2]:
        raise SeqlabError(f"key and value: expected the same number of keys S, got {shapes}")
    if not query.dtype == key.dtype == value.dtype:
        raise SeqlabError(f"query, key and value: expected one dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    try:
        leading = torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError:
        raise SeqlabError(f"query, key and value: expected leading dimensions that broadcast, got {shapes}") from None
    return (*leading, query.shape[-2], key.shape[-2])


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 can_attend: torch.Tensor | None = None, dropout_p: float = 0.0,
                                 scale: float | None = None, training: bool = True,
                                 bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Attention(Q, K, V) = softmax(Q K^T / \sqrt{d_k}) V, the weights returned too.

    Args:
        query: (..., T, hd). key: (..., S, hd). value: (..., S, Dv). Leading dims broadcast
            (typically (B, nh)).
        can_attend: boolean, True = attend; (T, S) or of the scores' rank (..., T, S), any
            size 1 to broadcast (so (B, 1, T, S) with (B, nh) leading dims, never (B, T, S)).
        dropout_p: dropout on the weights (only when ``training``), as in the paper; in [0, 1].
        scale: defaults to 1 / sqrt(hd).
        bias: optional float, shaped as ``can_attend``, added to the scaled scores before the
            softmax (T5's relative position bias, ALiBi).

    Returns:
        ``(output (..., T, Dv), weights (..., T, S))``; the weights are before dropout.

    Note:
        Equals ``torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=can_attend)``
        (tested); PyTorch's kernel does not return the weights and broadcasts a mask of any
        lower rank, where this function refuses the ranks between 2 and the scores' own.
    """
    scores_shape = _scores_shape(query, key, value)
    if can_attend is not None:
        masks.check_broadcastable(can_attend, "can_attend", scores_shape, device=query.device)
    if bias is not None:
        masks.check_broadcastable(bias, "bias", scores_shape, additive=True, device=query.device)
    dropout_p = _checks.probability(dropout_p, "dropout_p", one_allowed=True)
    scale = None if scale is None else _checks.finite_float(scale, "scale")
    return attend(query, key, value, can_attend, dropout_p, scale, training, bias)


def attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, can_attend: torch.Tensor | None = None,
           dropout_p: float = 0.0, scale: float | None = None, training: bool = True,
           bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``scaled_dot_product_attention`` without its argument checks, for a caller that made them
    (``MultiheadAttention`` reads its masks with ``seqlab.nn.masks`` once per forward)."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale  # (..., T, hd) @ (..., hd, S) -> (..., T, S)
    if bias is not None:
        scores = scores + bias
    weights = masked_softmax(scores, can_attend)
    dropped = F.dropout(weights, dropout_p, training=True) if training and dropout_p > 0 else weights
    return dropped @ value, weights  # (..., T, S) @ (..., S, Dv) -> (..., T, Dv)


class _ScoredAttention(nn.Module):
    """Shared by the score functions: mask, softmax, weighted sum of the values.

    ``forward(query, keys, values=None, can_attend=None)``:
        query (B, T, Dq) or one step (B, Dq); keys (B, S, Dk); values (B, S, Dv), the keys when
        omitted; can_attend boolean (B, S) key padding or (B, T, S), True = attend, any size 1
        to broadcast (``seqlab.nn.masks.sequence_can_attend``); ``score_options`` go to
        ``score`` (``projected_keys`` for the additive score). Returns ``(context, weights)``:
        (B, T, Dv) and (B, T, S), or (B, Dv) and (B, S) for a one-step query.
    """

    score_options: tuple[str, ...] = ()  # the keyword arguments ``score`` takes
    dot_score = False  # q^T k: queries and keys of one width

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def widths(self) -> tuple[int | None, int | None]:
        """(Dq, Dk) the score needs; None where any width goes."""
        return None, None

    def _check_inputs(self, query, keys, values) -> None:
        for name, tensor, expected in (("query", query, "(B, T, Dq) or (B, Dq)"), ("keys", keys, "(B, S, Dk)"),
                                       ("values", values, "(B, S, Dv)")):
            _checks.tensor(tensor, name, expected)
        if query.dim() != 3:
            raise SeqlabError(f"query: expected (B, T, Dq) or one step (B, Dq), got shape {tuple(query.shape)}")
        for name, tensor, expected in (("keys", keys, "(B, S, Dk)"), ("values", values, "(B, S, Dv)")):
            if tensor.dim() != 3:
                raise SeqlabError(f"{name}: expected {expected}, got shape {tuple(tensor.shape)}")
        if not query.shape[0] == keys.shape[0] == values.shape[0] or keys.shape[1] != values.shape[1]:
            raise SeqlabError(f"query, keys, values: expected (B, T, Dq), (B, S, Dk), (B, S, Dv) with one B and S, "
                              f"got {tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}")
        query_width, key_width = self.widths()
        if self.dot_score and query.shape[-1] != keys.shape[-1]:
            raise SeqlabError(f"query and keys: expected the same width for a dot score, "
                              f"got {tuple(query.shape)} and {tuple(keys.shape)}")
        for name, tensor, width in (("query", query, query_width), ("keys", keys, key_width)):
            if width is not None and tensor.shape[-1] != width:
                raise SeqlabError(f"{name}: expected {width} features in the last dimension, "
                                  f"got shape {tuple(tensor.shape)}")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                can_attend: torch.Tensor | None = None, **score_options) -> tuple[torch.Tensor, torch.Tensor]:
        _checks.known_keywords(score_options, self.score_options, type(self).__name__)
        values = keys if values is None else values
        one_step = isinstance(query, torch.Tensor) and query.dim() == 2
        if one_step:
            query = query[:, None, :]  # (B, 1, Dq)
        self._check_inputs(query, keys, values)
        (B, T, _), S = query.shape, keys.shape[1]
        can_attend = masks.sequence_can_attend(can_attend, batch=B, queries=T, keys=S, device=query.device)
        weights = masked_softmax(self.score(query, keys, **score_options), can_attend)  # (B, T, S)
        context = weights @ values  # (B, T, S) @ (B, S, Dv) -> (B, T, Dv)
        if one_step:
            return context[:, 0], weights[:, 0]
        return context, weights


class AdditiveAttention(_ScoredAttention):
    r"""Bahdanau attention: score(s, h) = v_a^T \tanh(W_a s + U_a h).

    Args:
        query_size: width of the decoder state s. key_size: width of the encoder states h.
        hidden_size: width of the tanh layer (n' in the paper).

    Note:
        ``project_keys(keys)`` computes U_a h once per source sentence; pass the result as
        ``projected_keys`` to every decoder step, as the paper suggests.

    Example:
        >>> attn = AdditiveAttention(16, 32, 8)
        >>> context, weights = attn(torch.randn(2, 16), torch.randn(2, 5, 32))
        >>> context.shape, weights.shape
        (torch.Size([2, 32]), torch.Size([2, 5]))
    """

    score_options = ("projected_keys",)

    def __init__(self, query_size: int, key_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        query_size = _checks.positive_int(query_size, "query_size")
        key_size = _checks.positive_int(key_size, "key_size")
        hidden_size = _checks.positive_int(hidden_size, "hidden_size")
        bias = _checks.flag(bias, "bias")
        self.query_proj = nn.Linear(query_size, hidden_size, bias=bias)  # W_a
        self.key_proj = nn.Linear(key_size, hidden_size, bias=False)  # U_a
        self.v = nn.Linear(hidden_size, 1, bias=False)  # v_a

    def widths(self) -> tuple[int, int]:
        return self.query_proj.in_features, self.key_proj.in_features

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # U_a h: (B, S, Dk) -> (B, S, n')

    def score(self, query: torch.Tensor, keys: torch.Tensor, projected_keys: torch.Tensor | None = None):
        if projected_keys is not None:
            expected = (*keys.shape[:2], self.key_proj.out_features)
            if not isinstance(projected_keys, torch.Tensor) or tuple(projected_keys.shape) != expected:
                got = tuple(projected_keys.shape) if isinstance(projected_keys, torch.Tensor) \
                    else type(projected_keys).__name__
                raise SeqlabError(f"projected_keys: expected project_keys(keys) of shape (B, S, n') = {expected}, "
                                  f"got {got}")
        projected = self.project_keys(keys) if projected_keys is None else projected_keys
        # (B, T, 1, n') + (B, 1, S, n') -> (B, T, S, n') -> (B, T, S)
        return self.v(torch.tanh(self.query_proj(query)[:, :, None, :] + projected[:, None, :, :])).squeeze(-1)


class DotAttention(_ScoredAttention):
    """Luong's dot score: score(s, h) = s^T h (query and keys of the same width)."""

    dot_score = True

    def score(self, query, keys):
        return query @ keys.transpose(1, 2)  # (B, T, H) @ (B, H, S) -> (B, T, S)


class GeneralAttention(_ScoredAttention):
    """Luong's general score: score(s, h) = s^T W_a h."""

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        query_size = _checks.positive_int(query_size, "query_size")
        key_size = _checks.positive_int(key_size, "key_size")
        self.weight = nn.Parameter(torch.empty(query_size, key_size))  # W_a
        nn.init.xavier_uniform_(self.weight)

    def widths(self) -> tuple[int, int]:
        return tuple(self.weight.shape)

    def score(self, query, keys):
        return query @ self.weight @ keys.transpose(1, 2)  # (B, T, Dq) (Dq, Dk) (B, Dk, S) -> (B, T, S)


class ScaledDotProductAttention(_ScoredAttention):
    """Vaswani's score as a module: score(q, k) = q^T k / sqrt(d_k), one head, no projections."""

    dot_score = True

    def score(self, query, keys):
        return query @ keys.transpose(1, 2) / math.sqrt(query.shape[-1])
