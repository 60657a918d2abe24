"""A T5-style encoder-decoder (Raffel et al. 2020): relative position bias, RMS norms, no biases.

Where T5 departs from the Transformer of Vaswani et al.:

* no position embeddings: each attention score gets a learned scalar b[bucket(j - i), head] added,
  shared by all layers of a stack (computed once, ``seqlab.nn.positional.RelativePositionBias``);
* pre-norm residual blocks with RMS normalisation (scale only) and no bias anywhere;
* no 1 / sqrt(d_kv) on the scores (folded into the initialisation of W_q);
* one embedding matrix for encoder input, decoder input and output; the decoder output is
  scaled by d_model^{-1/2} before the tied output layer.

    h = x + Dropout(SelfAttn(RMSNorm(x), bias)),  h = h + Dropout(CrossAttn(RMSNorm(h), memory)),
    h = h + Dropout(W_o Dropout(ReLU(W_i RMSNorm(h))))

T5 1.1 and Flan-T5 (``feed_forward_proj="gated-gelu"``, ``tie_word_embeddings=False``,
``scale_decoder_outputs=False``) gate the feed-forward network, FFN(h) = W_o (GELU(W_i0 h) * W_i1 h),
and give the output layer a matrix of its own, unscaled.

Shape: src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.generate import GenerationMixin
from seqlab.nn import masks
from seqlab.nn.attention import scaled_dot_product_attention
from seqlab.nn.layer_norm import RMSNorm
from seqlab.nn.positional import RelativePositionBias
from seqlab.nn.transformer import ACTIVATIONS

# the activations of ``feed_forward_proj`` ("act" or "gated-act"), under transformers' names
FEED_FORWARD_ACTIVATIONS = {
    "relu": ACTIVATIONS["relu"],
    "gelu": ACTIVATIONS["gelu"],  # erf
    "gelu_new": ACTIVATIONS["gelu_tanh"],  # the tanh approximation; "gated-gelu" means this one
    "gelu_pytorch_tanh": ACTIVATIONS["gelu_tanh"],
    "silu": F.silu,
}


@dataclass
class T5Config:
    """Hyperparameters of a T5; the defaults are T5-small (60M parameters)."""

    vocab_size: int = 32128  # V: SentencePiece 32000, padded to a multiple of 128
    d_model: int = 512
    d_kv: int = 64  # width of each head (nh * d_kv need not equal d_model)
    d_ff: int = 2048
    num_layers: int = 6  # encoder blocks
    num_decoder_layers: int = 6
    num_heads: int = 8
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout: float = 0.1
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "relu"  # "relu" (T5 1.0) or "gated-gelu" (T5 1.1, Flan-T5): "act" or "gated-act"
    tie_word_embeddings: bool = True  # the output layer is the shared embedding (False: a matrix of its own)
    scale_decoder_outputs: bool = True  # the decoder output is scaled by d_model^-1/2 before the output layer
    variance_in_float32: bool = False  # RMS norms take the mean square in float32 whatever the input dtype

    @property
    def is_gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")

    @property
    def activation_name(self) -> str:
        """transformers' name of the feed-forward activation ("gated-gelu" is the tanh approximation)."""
        name = self.feed_forward_proj.removeprefix("gated-")
        return "gelu_new" if self.feed_forward_proj == "gated-gelu" else name

    @classmethod
    def small(cls) -> T5Config:
        return cls()

    @classmethod
    def base(cls) -> T5Config:
        return cls(d_model=768, d_ff=3072, num_layers=12, num_decoder_layers=12, num_heads=12)

    def validate(self) -> T5Config:
        for name in ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"T5Config.{name}: expected a positive integer, got {getattr(self, name)}")
        if self.activation_name not in FEED_FORWARD_ACTIVATIONS:
            raise SeqlabError(f"T5Config.feed_forward_proj: expected 'act' or 'gated-act' with act one of "
                              f"{', '.join(FEED_FORWARD_ACTIVATIONS)}, got {self.feed_forward_proj!r}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class T5LayerNorm(RMSNorm):
    r"""T5's RMS norm, y = x / sqrt(mean(x^2) + eps) * γ, with the mean square taken as transformers takes it.

    The mean square is accumulated in at least float32 (half-precision inputs are upcast for it);
    with ``variance_in_float32`` it is taken in float32 even for float64 inputs, which is what
    transformers' ``T5LayerNorm`` does (it casts to float32 unconditionally). That costs float64 inputs
    their precision (about 1e-7 relative) but makes a float64 model equal transformers' to 1e-15.
    """

    def __init__(self, normalized_shape, eps: float = 1e-6, variance_in_float32: bool = False):
        super().__init__(normalized_shape, eps)
        self.variance_in_float32 = variance_in_float32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = torch.float32 if self.variance_in_float32 else torch.promote_types(x.dtype, torch.float32)
        variance = x.to(dtype).pow(2).mean(dim=-1, keepdim=True)  # mean(x^2)
        y = (x * torch.rsqrt(variance + self.eps)).to(x.dtype)  # x / RMS(x)
        return y * self.weight  # γ


class T5Attention(nn.Module):
    """Multi-head attention without biases or score scaling; ``q``, ``k``, ``v``, ``o`` as in T5."""

    def __init__(self, d_model: int, num_heads: int, d_kv: int, dropout: float):
        super().__init__()
        self.num_heads, self.d_kv, self.dropout = num_heads, d_kv, dropout
        inner = num_heads * d_kv
        self.q = nn.Linear(d_model, inner, bias=False)
        self.k = nn.Linear(d_model, inner, bias=False)
        self.v = nn.Linear(d_model, inner, bias=False)
        self.o = nn.Linear(inner, d_model, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.d_kv).transpose(1, 2)  # (B, nh, T, d_kv)

    def forward(self, x, memory, can_attend=None, position_bias=None, need_weights: bool = False):
        q, k, v = self._heads(self.q(x)), self._heads(self.k(memory)), self._heads(self.v(memory))
        heads, weights = scaled_dot_product_attention(q, k, v, can_attend, self.dropout, scale=1.0,
                                                      training=self.training, bias=position_bias)
        B, _, T, _ = heads.shape
        out = self.o(heads.transpose(1, 2).reshape(B, T, -1))  # (B, nh, T, d_kv) -> (B, T, E)
        return (out, weights) if need_weights else out


class T5Block(nn.Module):
    """Pre-norm self-attention, (decoder only) cross-attention, and a ReLU feed-forward network."""

    def __init__(self, c: T5Config, cross: bool):
        super().__init__()
        self.self_norm = _norm(c)
        self.self_attn = T5Attention(c.d_model, c.num_heads, c.d_kv, c.dropout)
        if cross:
            self.cross_norm = _norm(c)
            self.cross_attn = T5Attention(c.d_model, c.num_heads, c.d_kv, c.dropout)
        self.ff_norm = _norm(c)
        self.gated = c.is_gated
        if self.gated:
            self.wi_0 = nn.Linear(c.d_model, c.d_ff, bias=False)
            self.wi_1 = nn.Linear(c.d_model, c.d_ff, bias=False)
        else:
            self.wi = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)
        self.activation = FEED_FORWARD_ACTIVATIONS[c.activation_name]
        self.dropout = nn.Dropout(c.dropout)

    def _feed_forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.gated:
            inner = self.activation(self.wi_0(h)) * self.wi_1(h)  # act(W_i0 h) * W_i1 h: (B, T, d_ff)
        else:
            inner = self.activation(self.wi(h))  # act(W_i h)
        return self.wo(self.dropout(inner))

    def forward(self, x, can_attend, position_bias, memory=None, memory_can_attend=None, need_weights=False):
        h = self.self_norm(x)
        attended, self_weights = self.self_attn(h, h, can_attend, position_bias, need_weights=True)
        x = x + self.dropout(attended)
        cross_weights = None
        if memory is not None:
            attended, cross_weights = self.cross_attn(self.cross_norm(x), memory, memory_can_attend,
                                                      need_weights=True)
            x = x + self.dropout(attended)
        x = x + self.dropout(self._feed_forward(self.ff_norm(x)))
        return (x, self_weights, cross_weights) if need_weights else x


class T5Stack(nn.Module):
    """Blocks sharing one relative position bias, then a final RMS norm and dropout."""

    def __init__(self, c: T5Config, num_layers: int, decoder: bool):
        super().__init__()
        self.relative_bias = RelativePositionBias(c.num_heads, c.relative_attention_num_buckets,
                                                  c.relative_attention_max_distance, bidirectional=not decoder)
        self.blocks = nn.ModuleList([T5Block(c, cross=decoder) for _ in range(num_layers)])
        self.final_norm = _norm(c)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x, can_attend, memory=None, memory_can_attend=None, need_weights: bool = False):
        """(B, T, E) -> (B, T, E); with ``need_weights`` also the self- and cross-attention weights per block,
        (B, nh, T, T) and (B, nh, T, S) (the cross list holds None in an encoder)."""
        T = x.shape[1]
        bias = self.relative_bias(T, T)  # (1, nh, T, T), the same for every block
        x = self.dropout(x)
        self_weights, cross_weights = [], []
        for block in self.blocks:
            x, sw, cw = block(x, can_attend, bias, memory, memory_can_attend, need_weights=True)
            self_weights.append(sw)
            cross_weights.append(cw)
        x = self.dropout(self.final_norm(x))
        return (x, self_weights, cross_weights) if need_weights else x


def _norm(c: T5Config) -> T5LayerNorm:
    return T5LayerNorm(c.d_model, eps=c.layer_norm_epsilon, variance_in_float32=c.variance_in_float32)


def _init_t5(model: nn.Module, c: T5Config) -> None:
    """Mesh TensorFlow's initialisation, which keeps the unscaled scores of unit size."""
    for module in model.modules():
        if isinstance(module, T5Attention):
            nn.init.normal_(module.q.weight, std=(c.d_model * c.d_kv) ** -0.5)  # the missing 1/sqrt(d_kv)
            nn.init.normal_(module.k.weight, std=c.d_model ** -0.5)
            nn.init.normal_(module.v.weight, std=c.d_model ** -0.5)
            nn.init.normal_(module.o.weight, std=(c.num_heads * c.d_kv) ** -0.5)
        elif isinstance(module, T5Block):
            for name in ("wi_0", "wi_1") if module.gated else ("wi",):
                nn.init.normal_(getattr(module, name).weight, std=c.d_model ** -0.5)
            nn.init.normal_(module.wo.weight, std=c.d_ff ** -0.5)
        elif isinstance(module, RelativePositionBias):
            nn.init.normal_(module.relative_attention_bias.weight, std=c.d_model ** -0.5)


def _encoder_mask(src: torch.Tensor, src_lengths: torch.Tensor | None) -> torch.Tensor | None:
    if src.dim() != 2:
        raise SeqlabError(f"src: expected token ids (B, S), got shape {tuple(src.shape)}")
    if src_lengths is None:
        return None
    is_real = masks.lengths_to_mask(torch.as_tensor(src_lengths, device=src.device), src.shape[1])
    return masks.key_padding(is_real)  # (B, 1, 1, S)


class T5(GenerationMixin, nn.Module):
    """T5 encoder-decoder for conditional generation.

    ``forward(src, src_lengths, tgt_in, need_weights=False)`` -> logits (B, T, V), or ``(logits, maps)``
    with ``maps`` holding the per-block weights under "encoder" (B, nh, S, S), "decoder_self"
    (B, nh, T, T) and "cross" (B, nh, T, S). ``src_lengths`` None means no padding. ``generate``
    (``seqlab.generation``) decodes greedily, by sampling or with beam search, recomputing the prefix
    at each step (no KV cache).

    Example:
        >>> config = T5Config(vocab_size=20, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_decoder_layers=1,
        ...                   num_heads=2)
        >>> T5(config)(torch.randint(1, 20, (2, 6)), torch.tensor([6, 3]), torch.randint(1, 20, (2, 4))).shape
        torch.Size([2, 4, 20])
    """

    def __init__(self, config: T5Config):
        super().__init__()
        c = self.config = config.validate()
        self.shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = T5Stack(c, c.num_layers, decoder=False)
        self.decoder = T5Stack(c, c.num_decoder_layers, decoder=True)
        self.lm_head = None if c.tie_word_embeddings else nn.Linear(c.d_model, c.vocab_size, bias=False)
        nn.init.normal_(self.shared.weight, std=1.0)
        if self.lm_head is not None:
            nn.init.normal_(self.lm_head.weight, std=1.0)
        _init_t5(self, c)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None, need_weights: bool = False):
        """``(memory (B, S, E), can_attend)``, and the encoder's self-attention weights when ``need_weights``."""
        can_attend = _encoder_mask(src, src_lengths)
        out = self.encoder(self.shared(src), can_attend, need_weights=need_weights)
        if need_weights:
            memory, weights, _ = out
            return memory, can_attend, weights
        return out, can_attend

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_can_attend: torch.Tensor | None,
               need_weights: bool = False):
        causal = masks.causal_mask(tgt_in.shape[1], device=tgt_in.device)
        out = self.decoder(self.shared(tgt_in), causal, memory, memory_can_attend, need_weights=need_weights)
        h, self_weights, cross_weights = out if need_weights else (out, None, None)
        if self.config.scale_decoder_outputs:
            h = h * self.config.d_model ** -0.5
        output_weight = self.shared.weight if self.lm_head is None else self.lm_head.weight
        logits = h @ output_weight.T  # (B, T, E) -> (B, T, V)
        return (logits, self_weights, cross_weights) if need_weights else logits

    def forward(self, src, src_lengths, tgt_in, need_weights: bool = False):
        if not need_weights:
            memory, can_attend = self.encode(src, src_lengths)
            return self.decode(tgt_in, memory, can_attend)
        memory, can_attend, encoder_weights = self.encode(src, src_lengths, need_weights=True)
        logits, self_weights, cross_weights = self.decode(tgt_in, memory, can_attend, need_weights=True)
        return logits, {"encoder": encoder_weights, "decoder_self": self_weights, "cross": cross_weights}

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> dict:
        """The encoder's memory and key mask (no lengths: no padding). T5 starts decoding from its padding id:
        pass it as the prompt."""
        if source is None:
            raise SeqlabError("an encoder-decoder needs the source sentences: pass source (and source_lengths)")
        memory, can_attend = self.encode(source, source_lengths)
        return {"memory": memory, "can_attend": can_attend}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """The logits (N, V) after ``tokens`` (N, t): the whole prefix again (no cache)."""
        return self.decode(tokens, state["memory"], state["can_attend"])[:, -1], state


class T5Encoder(nn.Module):
    """The encoder half of T5 with its embedding (transformers' ``T5EncoderModel``): (B, S) ids -> (B, S, E).

    ``forward(src, src_lengths=None, need_weights=False)`` -> hidden states (B, S, E), or
    ``(hidden, [weights (B, nh, S, S) per block])``. The parameter names are T5's, so an encoder
    taken from a ``T5`` loads with ``load_state_dict(strict=False)`` (the decoder's are left out).

    Example:
        >>> config = T5Config(vocab_size=20, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2)
        >>> T5Encoder(config)(torch.randint(1, 20, (2, 6))).shape
        torch.Size([2, 6, 16])
    """

    def __init__(self, config: T5Config):
        super().__init__()
        c = self.config = config.validate()
        self.shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = T5Stack(c, c.num_layers, decoder=False)
        nn.init.normal_(self.shared.weight, std=1.0)
        _init_t5(self, c)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None, need_weights: bool = False):
        out = self.encoder(self.shared(src), _encoder_mask(src, src_lengths), need_weights=need_weights)
        return (out[0], out[1]) if need_weights else out
