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

from seqlab import checks as _checks
from seqlab.errors import SeqlabError
from seqlab.nn import masks
from seqlab.nn.attention import attend
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
        embed_dim: E. num_heads: nh, must divide E. dropout: on the attention weights, in [0, 1].
        bias: biases of the input and output projections. kdim, vdim: widths of keys and
            values when they differ from E (then the projections are stored separately as
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``, as in PyTorch).
        batch_first: (B, T, E) when True (our default; PyTorch's is False, (T, B, E)).
        rope: apply rotary position encoding (RoPE) to the projected queries and keys.

    Inputs of ``forward``:
        query (B, T, E), key (B, S, kdim), value (B, S, vdim) ((T, B, E) ... when not batch_first);
        can_attend: boolean, True = attend (``seqlab.nn.masks``), read by its rank: (T, S) for
            every sequence and head (a causal mask), (B, T, S) per sequence and the same for
            every head, (B, nh, T, S) per sequence and head; any size may be 1, to broadcast.
            S counts the cached keys too. Float masks are refused: a 0/1 mask and an additive
            0/-inf mask look alike (``mask.bool()`` or ``masks.from_additive`` says which).
        key_is_real: boolean key padding (B, S), False on padding keys (PyTorch's
            ``key_padding_mask`` negated); combined with ``can_attend`` by logical and.
        need_weights, average_attn_weights: as in PyTorch;
        is_causal: query i sees keys j <= i + S - T only (its own past, cached keys included),
            combined with the masks above; without them and without cached keys the fused path
            uses ``scaled_dot_product_attention``'s causal kernel and builds no mask;
        cache: a ``KVCache``; the new keys and values are appended to it (or, for a static cache
            already filled, read from it) and attention runs over all of them.

    Returns:
        ``(output (B, T, E), weights)``: weights (B, T, S) averaged over heads, (B, nh, T, S)
        per head, or None when ``need_weights`` is False.

    Note:
        When no weights are asked, the heads run through PyTorch's fused
        ``scaled_dot_product_attention`` kernel, which the tests show equal to our
        ``seqlab.nn.attention.scaled_dot_product_attention``; set ``fused = False`` to always
        use ours. Both read the masks the same way and agree on every accepted form (tested,
        and against ``torch.nn.MultiheadAttention``, whose 3-D ``attn_mask`` is (B * nh, T, S)
        where ours is (B, T, S)). A query that may see no key gets a zero context (PyTorch's
        module gives NaN there). PyTorch's ``add_bias_kv`` and ``add_zero_attn`` are not provided.

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
        embed_dim = _checks.positive_int(embed_dim, "embed_dim")
        num_heads = _checks.positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise SeqlabError(f"embed_dim must be divisible by num_heads, got {embed_dim} and {num_heads}")
        dropout = _checks.probability(dropout, "dropout", one_allowed=True)
        bias = _checks.flag(bias, "bias")
        kdim = _checks.optional_positive_int(kdim, "kdim")
        vdim = _checks.optional_positive_int(vdim, "vdim")
        batch_first = _checks.flag(batch_first, "batch_first")
        rope = _checks.flag(rope, "rope")
        rope_base = _checks.positive_float(rope_base, "rope_base")
        if rope and (embed_dim // num_heads) % 2:
            raise SeqlabError(f"rope: expected an even head width embed_dim / num_heads, got {embed_dim // num_heads}")
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

    def _check_inputs(self, query, key, value, cache) -> None:
        """Ranks, widths, batch and key counts, dtypes: in one line each instead of a matmul's complaint.

        The common case costs a few comparisons; messages are built only on the way to an error.
        """
        try:
            q_shape, k_shape, v_shape = query.shape, key.shape, value.shape
            dtypes_agree = query.dtype == key.dtype == value.dtype == self.out_proj.weight.dtype
        except AttributeError:  # not tensors
            q_shape = k_shape = v_shape = ()
            dtypes_agree = True
        batch = 0 if self.batch_first else 1
        if not (len(q_shape) == len(k_shape) == len(v_shape) == 3 and q_shape[2] == self.embed_dim
                and k_shape[2] == self.kdim and v_shape[2] == self.vdim
                and q_shape[batch] == k_shape[batch] == v_shape[batch] and k_shape[1 - batch] == v_shape[1 - batch]):
            self._refuse_shapes(query, key, value)
        if not dtypes_agree and not _checks.autocast_enabled(query.device):
            for name, tensor in (("query", query), ("key", key), ("value", value)):
                if tensor.dtype != self.out_proj.weight.dtype:
                    raise SeqlabError(f"{name}: expected dtype {self.out_proj.weight.dtype} (the layer's parameters), "
                                      f"got {tensor.dtype}")
        if cache is not None:
            if not isinstance(cache, KVCache):
                raise SeqlabError(f"cache: expected a KVCache, got {type(cache).__name__}")
            if cache.key is not None and cache.key.shape[0] != q_shape[batch]:
                raise SeqlabError(f"cache: holds keys of B={cache.key.shape[0]} sequences, "
                                  f"the query has B={q_shape[batch]}")

    def _refuse_shapes(self, query, key, value) -> None:
        layout = "(B, {}, {})" if self.batch_first else "({}, B, {})"
        for name, tensor, length, width in (("query", query, "T", self.embed_dim), ("key", key, "S", self.kdim),
                                            ("value", value, "S", self.vdim)):
            expected = layout.format(length, width)
            _checks.tensor(tensor, name, expected)
            if tensor.dim() != 3 or tensor.shape[-1] != width:
                raise SeqlabError(f"{name}: expected shape {expected}, got {tuple(tensor.shape)}")
        raise SeqlabError(f"query, key, value: expected one batch size B and as many values as keys, got shapes "
                          f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                can_attend: torch.Tensor | None = None, need_weights: bool = True,
                average_attn_weights: bool = True, cache: KVCache | None = None,
                key_is_real: torch.Tensor | None = None, is_causal: bool = False):
        self_attention = query is key and key is value
        self._check_inputs(query, key, value, cache)
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if self.rotary is not None and cache is not None and cache.static:
            raise SeqlabError("rope is for self-attention; a static (cross-attention) cache cannot use it")
        B, T = query.shape[:2]
        if cache is not None and cache.static and cache.length:
            S = cache.length  # the encoder's keys, projected once
        else:
            S = key.shape[1] + (0 if cache is None else cache.length)
        # every accepted form as one mask that broadcasts against (B, nh, T, S), read by its rank, for
        # both paths below; read before the cache grows, so a refused mask leaves the cache as it was
        can_attend = masks.multihead_can_attend(can_attend, key_is_real, batch=B, heads=self.num_heads, queries=T,
                                                keys=S, device=query.device)
        # is_causal: each query sees its own past only. Alone, on the fused path and without cached keys,
        # it is F.scaled_dot_product_attention's own causal kernel (no mask tensor is built); otherwise it
        # becomes the causal can_attend (T, S), aligned with the queries' last positions
        causal_kernel = is_causal and can_attend is None and S == T and self.fused and not need_weights
        if is_causal and not causal_kernel and T > 1:  # one query after its past sees every key
            causal = masks.causal_mask(T, S, device=query.device)  # (T, S)
            can_attend = causal if can_attend is None else can_attend & causal
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
            heads, weights = attend(q, k, v, can_attend, dropout_p, training=self.training)  # masks read above
        else:
            # F.scaled_dot_product_attention's boolean attn_mask means True = attend, as ours (seqlab.nn.masks)
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=can_attend, dropout_p=dropout_p,
                                                   is_causal=causal_kernel)
            weights = None
        concat = heads.transpose(1, 2).reshape(B, T, self.embed_dim)  # (B, nh, T, hd) -> (B, T, E)
        output = self.out_proj(concat)  # Concat(head_1..head_h) W^O
        if not self.batch_first:
            output = output.transpose(0, 1)
        if need_weights and average_attn_weights:
            weights = weights.mean(dim=1)  # (B, nh, T, S) -> (B, T, S)
        return output, weights
