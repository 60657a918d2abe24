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

from seqlab.errors import SeqlabError


def masked_softmax(scores: torch.Tensor, can_attend: torch.Tensor | None) -> torch.Tensor:
    """softmax over the last axis of ``scores`` restricted to the keys ``can_attend`` allows.

    Masked keys are filled with the dtype's most negative finite value (not -inf) so a fully
    masked row stays finite in the forward and backward passes; its weights are then zeroed.
    """
    if can_attend is None:
        return scores.softmax(dim=-1)
    if can_attend.dtype != torch.bool:
        raise SeqlabError(f"can_attend: expected a boolean mask (True = attend), got dtype {can_attend.dtype}")
    filled = scores.masked_fill(~can_attend, torch.finfo(scores.dtype).min)
    return filled.softmax(dim=-1) * can_attend  # zero on masked keys and on rows with no key


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 can_attend: torch.Tensor | None = None, dropout_p: float = 0.0,
                                 scale: float | None = None, training: bool = True,
                                 bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Attention(Q, K, V) = softmax(Q K^T / \sqrt{d_k}) V, the weights returned too.

    Args:
        query: (..., T, hd). key: (..., S, hd). value: (..., S, Dv). Leading dims broadcast
            (typically (B, nh)).
        can_attend: boolean, broadcastable to (..., T, S); True = attend.
        dropout_p: dropout on the weights (only when ``training``), as in the paper.
        scale: defaults to 1 / sqrt(hd).
        bias: optional float, broadcastable to (..., T, S), added to the scaled scores before the
            softmax (T5's relative position bias, ALiBi).

    Returns:
        ``(output (..., T, Dv), weights (..., T, S))``; the weights are before dropout.

    Note:
        Equals ``torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=can_attend)``
        (tested); PyTorch's kernel does not return the weights.
    """
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
        omitted; can_attend (B, S) key padding or (B, T, S); ``score_options`` go to ``score``
        (``projected_keys`` for the additive score). Returns ``(context, weights)``:
        (B, T, Dv) and (B, T, S), or (B, Dv) and (B, S) for a one-step query.
    """

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                can_attend: torch.Tensor | None = None, **score_options) -> tuple[torch.Tensor, torch.Tensor]:
        one_step = query.dim() == 2
        if one_step:
            query = query[:, None, :]  # (B, 1, Dq)
        if keys.dim() != 3:
            raise SeqlabError(f"keys: expected (B, S, Dk), got shape {tuple(keys.shape)}")
        values = keys if values is None else values
        if can_attend is not None and can_attend.dim() == 2:
            can_attend = can_attend[:, None, :]  # key padding (B, S) -> (B, 1, S)
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

    def __init__(self, query_size: int, key_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.query_proj = nn.Linear(query_size, hidden_size, bias=bias)  # W_a
        self.key_proj = nn.Linear(key_size, hidden_size, bias=False)  # U_a
        self.v = nn.Linear(hidden_size, 1, bias=False)  # v_a

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # U_a h: (B, S, Dk) -> (B, S, n')

    def score(self, query: torch.Tensor, keys: torch.Tensor, projected_keys: torch.Tensor | None = None):
        projected = self.project_keys(keys) if projected_keys is None else projected_keys
        # (B, T, 1, n') + (B, 1, S, n') -> (B, T, S, n') -> (B, T, S)
        return self.v(torch.tanh(self.query_proj(query)[:, :, None, :] + projected[:, None, :, :])).squeeze(-1)


class DotAttention(_ScoredAttention):
    """Luong's dot score: score(s, h) = s^T h (query and keys of the same width)."""

    def score(self, query, keys):
        return query @ keys.transpose(1, 2)  # (B, T, H) @ (B, H, S) -> (B, T, S)


class GeneralAttention(_ScoredAttention):
    """Luong's general score: score(s, h) = s^T W_a h."""

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(query_size, key_size))  # W_a
        nn.init.xavier_uniform_(self.weight)

    def score(self, query, keys):
        return query @ self.weight @ keys.transpose(1, 2)  # (B, T, Dq) (Dq, Dk) (B, Dk, S) -> (B, T, S)


class ScaledDotProductAttention(_ScoredAttention):
    """Vaswani's score as a module: score(q, k) = q^T k / sqrt(d_k), one head, no projections."""

    def score(self, query, keys):
        return query @ keys.transpose(1, 2) / math.sqrt(query.shape[-1])
