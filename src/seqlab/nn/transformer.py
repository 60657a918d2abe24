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
``batch_first`` defaults to True, and masks say what True means (``seqlab.nn.masks``): ``*can_attend``
(True = attend) is (T, S), (B, T, S) or (B, nh, T, S), read by its rank, where PyTorch's 3-D mask
is (B * nh, T, S); key padding (B, S) is ``*key_is_real`` (True = a real key), PyTorch's
``*_key_padding_mask`` negated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab import checks as _checks
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
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise SeqlabError(f"activation: expected one of {', '.join(ACTIVATIONS)} or a callable, got {activation!r}")
    return ACTIVATIONS[activation]


def _layer_options(d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias) -> tuple:
    """The arguments every Transformer layer shares, checked and in their canonical types."""
    d_model, nhead = _checks.positive_int(d_model, "d_model"), _checks.positive_int(nhead, "nhead")
    if d_model % nhead:
        raise SeqlabError(f"d_model must be divisible by nhead, got {d_model} and {nhead}")
    return (d_model, nhead, _checks.positive_int(dim_feedforward, "dim_feedforward"),
            _checks.probability(dropout, "dropout", one_allowed=True),
            _checks.non_negative_float(layer_norm_eps, "layer_norm_eps"), _checks.flag(batch_first, "batch_first"),
            _checks.flag(norm_first, "norm_first"), _checks.flag(bias, "bias"))


def _check_sequence(x, name: str, d_model: int, batch_first: bool, length: str = "T") -> None:
    """A (B, T, E) input (or (T, B, E) when not batch_first) of the layer's width."""
    expected = f"(B, {length}, {d_model})" if batch_first else f"({length}, B, {d_model})"
    _checks.tensor(x, name, expected)
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise SeqlabError(f"{name}: expected shape {expected}, got {tuple(x.shape)}")


def _check_module(module, name: str, optional: bool = False) -> None:
    if (module is None and not optional) or (module is not None and not isinstance(module, nn.Module)):
        raise SeqlabError(f"{name}: expected a torch.nn.Module, got {type(module).__name__}")


def _check_caches(caches, count: int, what: str) -> None:
    if caches is not None and (not isinstance(caches, list | tuple) or len(caches) != count):
        got = f"{len(caches)} entries" if isinstance(caches, list | tuple) else type(caches).__name__
        raise SeqlabError(f"caches: expected a list of {count} {what}, one per layer, got {got}")


class _FeedForwardMixin:
    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))  # W_2 Dropout(act(W_1 x + b_1)) + b_2


class TransformerEncoderLayer(_FeedForwardMixin, nn.Module):
    """Self-attention and feed-forward, each with a residual connection and layer norm.

    Args: as ``torch.nn.TransformerEncoderLayer`` (d_model E, nhead nh, dim_feedforward,
    dropout in [0, 1], activation "relu"/"gelu"/"gelu_tanh" or a callable, layer_norm_eps,
    batch_first, norm_first, bias), plus ``rope`` for rotary positions inside self-attention.

    ``forward(src (B, T, E), can_attend=None, cache=None, need_weights=False, key_is_real=None)``
    returns (B, T, E), or ``(output, weights (B, nh, T, T))`` when ``need_weights``.
    ``can_attend`` is (T, S), (B, T, S) or (B, nh, T, S) and ``key_is_real`` (B, S) key
    padding, as ``MultiheadAttention`` reads them (PyTorch's ``src_mask`` and
    ``src_key_padding_mask``, negated). With a ``KVCache`` the layer attends over the cached
    positions too (a GPT block decoding one token at a time), and S counts them.
    ``is_causal=True`` adds the causal mask (query i sees keys j <= i + S - T) without the
    caller building it: PyTorch's ``is_causal``, taken here as a promise the layer keeps itself.

    Example:
        >>> layer = TransformerEncoderLayer(16, 4, 32, dropout=0.0)
        >>> layer(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, rope: bool = False, device=None, dtype=None):
        super().__init__()
        d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias = _layer_options(
            d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias)
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

    def _sa_block(self, x, can_attend, key_is_real, cache, need_weights, is_causal):
        out, weights = self.self_attn(x, x, x, can_attend=can_attend, need_weights=need_weights,
                                      average_attn_weights=False, cache=cache, key_is_real=key_is_real,
                                      is_causal=is_causal)
        return self.dropout1(out), weights

    def forward(self, src: torch.Tensor, can_attend: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False, key_is_real: torch.Tensor | None = None, is_causal: bool = False):
        _check_sequence(src, "src", self.self_attn.embed_dim, self.batch_first)
        x = src if self.batch_first else src.transpose(0, 1)
        if self.norm_first:
            attended, weights = self._sa_block(self.norm1(x), can_attend, key_is_real, cache, need_weights,
                                               is_causal)
            x = x + attended  # x + Dropout(SelfAttn(LN(x)))
            x = x + self.dropout2(self._ff_block(self.norm2(x)))  # x + Dropout(FFN(LN(x)))
        else:
            attended, weights = self._sa_block(x, can_attend, key_is_real, cache, need_weights, is_causal)
            x = self.norm1(x + attended)  # LN(x + Dropout(SelfAttn(x)))
            x = self.norm2(x + self.dropout2(self._ff_block(x)))  # LN(x + Dropout(FFN(x)))
        x = x if self.batch_first else x.transpose(0, 1)
        return (x, weights) if need_weights else x


class TransformerDecoderLayer(_FeedForwardMixin, nn.Module):
    """Masked self-attention, cross-attention over the memory, feed-forward; residuals and layer norms.

    ``forward(tgt (B, T, E), memory (B, S, E), tgt_can_attend=None, memory_can_attend=None,
    cache=None, need_weights=False, tgt_key_is_real=None, memory_key_is_real=None)``: the masks
    of self-attention (over T keys) and cross-attention (over S keys) in ``MultiheadAttention``'s
    forms, key padding (B, T) and (B, S) apart (PyTorch's ``tgt_key_padding_mask`` and
    ``memory_key_padding_mask``, negated); ``cache`` is a pair ``(self_cache, cross_cache)`` of
    ``KVCache`` (the second static) for step-by-step decoding. Returns (B, T, E), or
    ``(output, self_weights (B, nh, T, T), cross_weights (B, nh, T, S))`` when ``need_weights``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias = _layer_options(
            d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias)
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

    def _sa_block(self, x, can_attend, key_is_real, cache, need_weights):
        out, weights = self.self_attn(x, x, x, can_attend=can_attend, need_weights=need_weights,
                                      average_attn_weights=False, cache=cache, key_is_real=key_is_real)
        return self.dropout1(out), weights

    def _mha_block(self, x, memory, can_attend, key_is_real, cache, need_weights):
        out, weights = self.multihead_attn(x, memory, memory, can_attend=can_attend, need_weights=need_weights,
                                           average_attn_weights=False, cache=cache, key_is_real=key_is_real)
        return self.dropout2(out), weights

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_can_attend: torch.Tensor | None = None,
                memory_can_attend: torch.Tensor | None = None, cache: tuple[KVCache, KVCache] | None = None,
                need_weights: bool = False, tgt_key_is_real: torch.Tensor | None = None,
                memory_key_is_real: torch.Tensor | None = None):
        E = self.self_attn.embed_dim
        _check_sequence(tgt, "tgt", E, self.batch_first)
        _check_sequence(memory, "memory", E, self.batch_first, length="S")
        if cache is not None and (not isinstance(cache, list | tuple) or len(cache) != 2):
            raise SeqlabError(f"cache: expected a pair (self_cache, cross_cache) of KVCache, got {cache!r}")
        x = tgt if self.batch_first else tgt.transpose(0, 1)
        memory = memory if self.batch_first else memory.transpose(0, 1)
        self_cache, cross_cache = (None, None) if cache is None else cache
        if self.norm_first:
            attended, self_weights = self._sa_block(self.norm1(x), tgt_can_attend, tgt_key_is_real, self_cache,
                                                    need_weights)
            x = x + attended
            attended, cross_weights = self._mha_block(self.norm2(x), memory, memory_can_attend, memory_key_is_real,
                                                      cross_cache, need_weights)
            x = x + attended
            x = x + self.dropout3(self._ff_block(self.norm3(x)))
        else:
            attended, self_weights = self._sa_block(x, tgt_can_attend, tgt_key_is_real, self_cache, need_weights)
            x = self.norm1(x + attended)
            attended, cross_weights = self._mha_block(x, memory, memory_can_attend, memory_key_is_real, cross_cache,
                                                      need_weights)
            x = self.norm2(x + attended)
            x = self.norm3(x + self.dropout3(self._ff_block(x)))
        x = x if self.batch_first else x.transpose(0, 1)
        return (x, self_weights, cross_weights) if need_weights else x


class TransformerEncoder(nn.Module):
    """N copies of an encoder layer (``layers.0`` ... as in PyTorch), then an optional final ``norm``.

    ``forward(src, can_attend=None, caches=None, need_weights=False, key_is_real=None)``: the
    masks as ``TransformerEncoderLayer`` reads them; ``caches`` is one ``KVCache`` per layer.
    Returns (B, T, E), or ``(output, [weights per layer])``.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        num_layers = _checks.positive_int(num_layers, "num_layers")
        _check_module(encoder_layer, "encoder_layer")
        _check_module(norm, "norm", optional=True)
        self.layers = nn.ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, can_attend=None, caches: list[KVCache] | None = None, need_weights: bool = False,
                key_is_real=None):
        _check_caches(caches, len(self.layers), "KVCache")
        x, all_weights = src, []
        for i, layer in enumerate(self.layers):
            cache = None if caches is None else caches[i]
            if need_weights:
                x, weights = layer(x, can_attend, cache, need_weights=True, key_is_real=key_is_real)
                all_weights.append(weights)
            else:
                x = layer(x, can_attend, cache, key_is_real=key_is_real)
        if self.norm is not None:
            x = self.norm(x)
        return (x, all_weights) if need_weights else x


class TransformerDecoder(nn.Module):
    """N copies of a decoder layer, then an optional final ``norm``.

    ``forward(tgt, memory, tgt_can_attend=None, memory_can_attend=None, caches=None,
    need_weights=False, tgt_key_is_real=None, memory_key_is_real=None)``: the masks as
    ``TransformerDecoderLayer`` reads them; ``caches`` is one ``(self, cross)`` pair of
    ``KVCache`` per layer. Returns (B, T, E), or ``(output, [self weights per layer], [cross
    weights per layer])``.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        num_layers = _checks.positive_int(num_layers, "num_layers")
        _check_module(decoder_layer, "decoder_layer")
        _check_module(norm, "norm", optional=True)
        self.layers = nn.ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def new_caches(self) -> list[tuple[KVCache, KVCache]]:
        return [(KVCache(), KVCache(static=True)) for _ in self.layers]

    def forward(self, tgt, memory, tgt_can_attend=None, memory_can_attend=None, caches=None,
                need_weights: bool = False, tgt_key_is_real=None, memory_key_is_real=None):
        _check_caches(caches, len(self.layers), "(self, cross) KVCache pairs")
        padding = {"tgt_key_is_real": tgt_key_is_real, "memory_key_is_real": memory_key_is_real}
        x, self_weights, cross_weights = tgt, [], []
        for i, layer in enumerate(self.layers):
            cache = None if caches is None else caches[i]
            if need_weights:
                x, sw, cw = layer(x, memory, tgt_can_attend, memory_can_attend, cache, need_weights=True, **padding)
                self_weights.append(sw)
                cross_weights.append(cw)
            else:
                x = layer(x, memory, tgt_can_attend, memory_can_attend, cache, **padding)
        if self.norm is not None:
            x = self.norm(x)
        return (x, self_weights, cross_weights) if need_weights else x


class Transformer(nn.Module):
    """The encoder-decoder of the paper without embeddings or output layer, as ``torch.nn.Transformer``.

    ``forward(src (B, S, E), tgt (B, T, E), src_can_attend=None, tgt_can_attend=None,
    memory_can_attend=None, src_key_is_real=None, tgt_key_is_real=None, memory_key_is_real=None)``
    -> (B, T, E): PyTorch's ``src_mask``, ``tgt_mask``, ``memory_mask`` and the three
    ``*_key_padding_mask``, each negated (True = attend, True = real key). Both stacks end with
    a LayerNorm, as in PyTorch; all matrices start Xavier-uniform, as in PyTorch.

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
        num_encoder_layers = _checks.positive_int(num_encoder_layers, "num_encoder_layers")
        num_decoder_layers = _checks.positive_int(num_decoder_layers, "num_decoder_layers")
        layer_norm_eps = _checks.non_negative_float(layer_norm_eps, "layer_norm_eps")
        bias = _checks.flag(bias, "bias")
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

    def forward(self, src, tgt, src_can_attend=None, tgt_can_attend=None, memory_can_attend=None,
                src_key_is_real=None, tgt_key_is_real=None, memory_key_is_real=None):
        memory = self.encoder(src, src_can_attend, key_is_real=src_key_is_real)
        return self.decoder(tgt, memory, tgt_can_attend, memory_can_attend, tgt_key_is_real=tgt_key_is_real,
                            memory_key_is_real=memory_key_is_real)

