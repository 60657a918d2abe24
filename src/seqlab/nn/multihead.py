"""Multi-head attention (Vaswani et al. 2017) and the key/value cache used for generation.

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,   head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

The h projections W_i^Q (E, hd) are stored side by side as one (E, E) matrix, and the three of
them as ``in_proj_weight`` (3E, E), exactly as ``torch.nn.MultiheadAttention`` stores them, so
its weights load with one ``load_state_dict``.

Shape alphabet: B batch, T queries, S keys, E model width, nh heads, hd = E / nh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn.attention import scaled_dot_product_attention
from seqlab.nn.positional import RotaryEmbedding


class KVCache:
    """The keys and values (B, nh, S, hd) of the positions seen so far, for one attention layer.

    Self-attention appends the new positions at every call (``static=False``). Cross-attention
    over a fixed encoder output fills it once and reuses it (``static=True``).

    ``map_tensors(fn)`` returns a copy with ``fn`` applied to both tensors (beam search uses it
    to reorder the batch).
    """

    def __init__(self, static: bool = False):
        self.static = static
        self.key: torch.Tensor | None = None
        self.value: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.key is None else self.key.shape[-2]

    def append(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new positions after the old ones; returns all keys and values."""
        if self.key is None:
            self.key, self.value = key, value
        else:
            self.key = torch.cat((self.key, key), dim=-2)  # (B, nh, S_old + T, hd)
            self.value = torch.cat((self.value, value), dim=-2)
        return self.key, self.value

    def map_tensors(self, fn) -> KVCache:
        copy = KVCache(self.static)
        if self.key is not None:
            copy.key, copy.value = fn(self.key), fn(self.value)
        return copy


class MultiheadAttention(nn.Module):
    r"""Multi-head scaled dot-product attention, self or cross.

    Args:
        embed_dim: E. num_heads: nh, must divide E. dropout: on the attention weights.
        bias: biases of the input and output projections. kdim, vdim: widths of keys and
            values when they differ from E (then the projections are stored separately as
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``, as in PyTorch).
        batch_first: (B, T, E) when True (our default; PyTorch's is False, (T, B, E)).
        rope: apply rotary position encoding (RoPE) to the projected queries and keys.

    Inputs of ``forward``:
        query (B, T, E), key (B, S, kdim), value (B, S, vdim);
        can_attend: boolean, broadcastable to (B, nh, T, S), True = attend (``seqlab.nn.masks``);
        need_weights, average_attn_weights: as in PyTorch;
        cache: a ``KVCache``; the new keys and values are appended to it (or, for a static cache
            already filled, read from it) and attention runs over all of them.

    Returns:
        ``(output (B, T, E), weights)``: weights (B, T, S) averaged over heads, (B, nh, T, S)
        per head, or None when ``need_weights`` is False.

    Note:
        When no weights are asked, the heads run through PyTorch's fused
        ``scaled_dot_product_attention`` kernel, which the tests show equal to our
        ``seqlab.nn.attention.scaled_dot_product_attention``; set ``fused = False`` to always
        use ours. PyTorch's ``add_bias_kv`` and ``add_zero_attn`` are not provided.

    Example:
        >>> mha = MultiheadAttention(16, 4)
        >>> x = torch.randn(2, 5, 16)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (torch.Size([2, 5, 16]), torch.Size([2, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = True,
                 rope: bool = False, rope_base: float = 10000.0, device=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise SeqlabError(f"embed_dim must be divisible by num_heads, got {embed_dim} and {num_heads}")
        factory = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = dropout
        self.batch_first = batch_first
        self.fused = True
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim, **factory))  # [W^Q; W^K; W^V]
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, self.vdim, **factory))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **factory)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)  # W^O
        self.rotary = RotaryEmbedding(self.head_dim, rope_base) if rope else None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch's initialisation, so a fresh module is distributed like a fresh nn.MultiheadAttention
        if self._qkv_same_embed_dim:
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn.init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def _projection(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W and b of the query (0), key (1) or value (2) projection."""
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            weight = self.in_proj_weight[index * E: (index + 1) * E]
        else:
            weight = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[index]
        bias = None if self.in_proj_bias is None else self.in_proj_bias[index * E: (index + 1) * E]
        return weight, bias

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, T, E) -> (B, nh, T, hd)

    def _project(self, query, key, value, self_attention: bool, cache: KVCache | None):
        """Q, K, V split into heads (B, nh, ·, hd); K and V are None when a filled static cache holds them."""
        if self_attention and self._qkv_same_embed_dim:
            # [Q; K; V] = x [W^Q; W^K; W^V]^T + b in one product, then split
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3E)
            return tuple(self._split_heads(t) for t in qkv.chunk(3, dim=-1))
        q = self._split_heads(F.linear(query, *self._projection(0)))  # (B, nh, T, hd)
        if cache is not None and cache.static and cache.length:
            return q, None, None
        k = self._split_heads(F.linear(key, *self._projection(1)))  # (B, nh, S, hd)
        v = self._split_heads(F.linear(value, *self._projection(2)))  # (B, nh, S, hd)
        return q, k, v

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                can_attend: torch.Tensor | None = None, need_weights: bool = True,
                average_attn_weights: bool = True, cache: KVCache | None = None):
        self_attention = query is key and key is value
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.dim() != 3:
            raise SeqlabError(f"query: expected (B, T, E), got shape {tuple(query.shape)}")
        if self.rotary is not None and cache is not None and cache.static:
            raise SeqlabError("rope is for self-attention; a static (cross-attention) cache cannot use it")
        q, k, v = self._project(query, key, value, self_attention, cache)
        if k is None:
            k, v = cache.key, cache.value  # cross-attention: the encoder's keys and values, projected once
        else:
            if self.rotary is not None:
                offset = 0 if cache is None else cache.length
                q, k = self.rotary(q, offset), self.rotary(k, offset)
            if cache is not None:
                k, v = cache.append(k, v)  # (B, nh, S_past + S, hd)

        dropout_p = self.dropout if self.training else 0.0
        if need_weights or not self.fused:
            heads, weights = scaled_dot_product_attention(q, k, v, can_attend, dropout_p, training=self.training)
        else:
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=can_attend, dropout_p=dropout_p)
            weights = None
        B, _, T, _ = heads.shape
        concat = heads.transpose(1, 2).reshape(B, T, self.embed_dim)  # (B, nh, T, hd) -> (B, T, E)
        output = self.out_proj(concat)  # Concat(head_1..head_h) W^O
        if not self.batch_first:
            output = output.transpose(0, 1)
        if need_weights and average_attn_weights:
            weights = weights.mean(dim=1)  # (B, nh, T, S) -> (B, T, S)
        return output, weights
