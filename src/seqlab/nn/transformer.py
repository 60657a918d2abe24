"""Transformer blocks (Vaswani et al. 2017): encoder and decoder layers, their stacks, the encoder-decoder.

An encoder layer is two sub-layers, self-attention and a position-wise feed-forward network,
each wrapped in a residual connection and layer normalisation. The paper normalises after the
residual sum (post-LN); most later models normalise the sub-layer's input (pre-LN, Xiong et al. 2020):

    post-LN:  x = LN(x + Dropout(Sublayer(x)))          pre-LN:  x = x + Dropout(Sublayer(LN(x)))

    FFN(x) = W_2 Dropout(act(W_1 x + b_1)) + b_2,   act = ReLU (paper) or GELU (BERT, GPT)

A decoder layer adds a third sub-layer between the two: cross-attention whose queries come from
the decoder and whose keys and values are the encoder's output (the "memory").

Arguments, sub-module names (``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``,
``norm1..3``, ``dropout1..3``) and initialisation mirror ``torch.nn.TransformerEncoderLayer``,
``TransformerDecoderLayer`` and ``Transformer``, so their state dicts load both ways. Departures:
``batch_first`` defaults to True, and masks are ``can_attend`` (True = attend, ``seqlab.nn.masks``),
broadcastable to (B, nh, T, S).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn.layer_norm import LayerNorm
from seqlab.nn.multihead import KVCache, MultiheadAttention

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's approximation
}


def _activation(activation) -> Callable[[torch.Tensor], torch.Tensor]:
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise SeqlabError(f"activation: expected one of {', '.join(ACTIVATIONS)} or a callable, got {activation!r}")
    return ACTIVATIONS[activation]


class _FeedForwardMixin:
    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))  # W_2 Dropout(act(W_1 x + b_1)) + b_2


class TransformerEncoderLayer(_FeedForwardMixin, nn.Module):
    """Self-attention and feed-forward, each with a residual connection and layer norm.

    Args: as ``torch.nn.TransformerEncoderLayer`` (d_model E, nhead nh, dim_feedforward,
    dropout, activation "relu"/"gelu"/"gelu_tanh", layer_norm_eps, batch_first, norm_first,
    bias), plus ``rope`` for rotary positions inside self-attention.

    ``forward(src (B, T, E), can_attend=None, cache=None, need_weights=False)`` returns (B, T, E),
    or ``(output, weights (B, nh, T, T))`` when ``need_weights``. With a ``KVCache`` the layer
    attends over the cached positions too (a GPT block decoding one token at a time).

    Example:
        >>> layer = TransformerEncoderLayer(16, 4, 32, dropout=0.0)
        >>> layer(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, rope: bool = False, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, rope=rope, **factory)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = _activation(activation)
        self.batch_first = batch_first

    def _sa_block(self, x, can_attend, cache, need_weights):
        out, weights = self.self_attn(x, x, x, can_attend=can_attend, need_weights=need_weights,
                                      average_attn_weights=False, cache=cache)
        return self.dropout1(out), weights

    def forward(self, src: torch.Tensor, can_attend: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False):
        x = src if self.batch_first else src.transpose(0, 1)
        if self.norm_first:
            attended, weights = self._sa_block(self.norm1(x), can_attend, cache, need_weights)
            x = x + attended  # x + Dropout(SelfAttn(LN(x)))
            x = x + self.dropout2(self._ff_block(self.norm2(x)))  # x + Dropout(FFN(LN(x)))
        else:
            attended, weights = self._sa_block(x, can_attend, cache, need_weights)
            x = self.norm1(x + attended)  # LN(x + Dropout(SelfAttn(x)))
            x = self.norm2(x + self.dropout2(self._ff_block(x)))  # LN(x + Dropout(FFN(x)))
        x = x if self.batch_first else x.transpose(0, 1)
        return (x, weights) if need_weights else x


class TransformerDecoderLayer(_FeedForwardMixin, nn.Module):
    """Masked self-attention, cross-attention over the memory, feed-forward; residuals and layer norms.

    ``forward(tgt (B, T, E), memory (B, S, E), tgt_can_attend=None, memory_can_attend=None,
    cache=None, need_weights=False)``: ``cache`` is a pair ``(self_cache, cross_cache)`` of
    ``KVCache`` (the second static) for step-by-step decoding. Returns (B, T, E), or
    ``(output, self_weights (B, nh, T, T), cross_weights (B, nh, T, S))`` when ``need_weights``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, **factory)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = _activation(activation)
        self.batch_first = batch_first

    def _sa_block(self, x, can_attend, cache, need_weights):
        out, weights = self.self_attn(x, x, x, can_attend=can_attend, need_weights=need_weights,
                                      average_attn_weights=False, cache=cache)
        return self.dropout1(out), weights

    def _mha_block(self, x, memory, can_attend, cache, need_weights):
        out, weights = self.multihead_attn(x, memory, memory, can_attend=can_attend, need_weights=need_weights,
                                           average_attn_weights=False, cache=cache)
        return self.dropout2(out), weights

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_can_attend: torch.Tensor | None = None,
                memory_can_attend: torch.Tensor | None = None, cache: tuple[KVCache, KVCache] | None = None,
                need_weights: bool = False):
        x = tgt if self.batch_first else tgt.transpose(0, 1)
        memory = memory if self.batch_first else memory.transpose(0, 1)
        self_cache, cross_cache = (None, None) if cache is None else cache
        if self.norm_first:
            attended, self_weights = self._sa_block(self.norm1(x), tgt_can_attend, self_cache, need_weights)
            x = x + attended
            attended, cross_weights = self._mha_block(self.norm2(x), memory, memory_can_attend, cross_cache,
                                                      need_weights)
            x = x + attended
            x = x + self.dropout3(self._ff_block(self.norm3(x)))
        else:
            attended, self_weights = self._sa_block(x, tgt_can_attend, self_cache, need_weights)
            x = self.norm1(x + attended)
            attended, cross_weights = self._mha_block(x, memory, memory_can_attend, cross_cache, need_weights)
            x = self.norm2(x + attended)
            x = self.norm3(x + self.dropout3(self._ff_block(x)))
        x = x if self.batch_first else x.transpose(0, 1)
        return (x, self_weights, cross_weights) if need_weights else x


class TransformerEncoder(nn.Module):
    """N copies of an encoder layer (``layers.0`` ... as in PyTorch), then an optional final ``norm``.

    ``forward(src, can_attend=None, caches=None, need_weights=False)``: ``caches`` is one
    ``KVCache`` per layer. Returns (B, T, E), or ``(output, [weights per layer])``.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, can_attend=None, caches: list[KVCache] | None = None, need_weights: bool = False):
        x, all_weights = src, []
        for i, layer in enumerate(self.layers):
            cache = None if caches is None else caches[i]
            if need_weights:
                x, weights = layer(x, can_attend, cache, need_weights=True)
                all_weights.append(weights)
            else:
                x = layer(x, can_attend, cache)
        if self.norm is not None:
            x = self.norm(x)
        return (x, all_weights) if need_weights else x


class TransformerDecoder(nn.Module):
    """N copies of a decoder layer, then an optional final ``norm``.

    ``forward(tgt, memory, tgt_can_attend=None, memory_can_attend=None, caches=None,
    need_weights=False)``: ``caches`` is one ``(self, cross)`` pair of ``KVCache`` per layer.
    Returns (B, T, E), or ``(output, [self weights per layer], [cross weights per layer])``.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def new_caches(self) -> list[tuple[KVCache, KVCache]]:
        return [(KVCache(), KVCache(static=True)) for _ in self.layers]

    def forward(self, tgt, memory, tgt_can_attend=None, memory_can_attend=None, caches=None,
                need_weights: bool = False):
        x, self_weights, cross_weights = tgt, [], []
        for i, layer in enumerate(self.layers):
            cache = None if caches is None else caches[i]
            if need_weights:
                x, sw, cw = layer(x, memory, tgt_can_attend, memory_can_attend, cache, need_weights=True)
                self_weights.append(sw)
                cross_weights.append(cw)
            else:
                x = layer(x, memory, tgt_can_attend, memory_can_attend, cache)
        if self.norm is not None:
            x = self.norm(x)
        return (x, self_weights, cross_weights) if need_weights else x


class Transformer(nn.Module):
    """The encoder-decoder of the paper without embeddings or output layer, as ``torch.nn.Transformer``.

    ``forward(src (B, S, E), tgt (B, T, E), src_can_attend=None, tgt_can_attend=None,
    memory_can_attend=None)`` -> (B, T, E). Both stacks end with a LayerNorm, as in PyTorch;
    all matrices start Xavier-uniform, as in PyTorch.

    Example:
        >>> model = Transformer(16, 4, 2, 2, 32, dropout=0.0)
        >>> model(torch.randn(2, 7, 16), torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation="relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = True, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        options = {"dim_feedforward": dim_feedforward, "dropout": dropout, "activation": activation,
                   "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
                   "bias": bias, **factory}
        self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
                                          LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
                                          LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src, tgt, src_can_attend=None, tgt_can_attend=None, memory_can_attend=None):
        memory = self.encoder(src, src_can_attend)
        return self.decoder(tgt, memory, tgt_can_attend, memory_can_attend)
