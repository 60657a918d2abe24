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
        return self

    def to_dict(self) -> dict:
        return asdict(self)


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
        self.self_norm = RMSNorm(c.d_model, eps=c.layer_norm_epsilon)
        self.self_attn = T5Attention(c.d_model, c.num_heads, c.d_kv, c.dropout)
        if cross:
            self.cross_norm = RMSNorm(c.d_model, eps=c.layer_norm_epsilon)
            self.cross_attn = T5Attention(c.d_model, c.num_heads, c.d_kv, c.dropout)
        self.ff_norm = RMSNorm(c.d_model, eps=c.layer_norm_epsilon)
        self.wi = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x, can_attend, position_bias, memory=None, memory_can_attend=None):
        h = self.self_norm(x)
        x = x + self.dropout(self.self_attn(h, h, can_attend, position_bias))
        if memory is not None:
            x = x + self.dropout(self.cross_attn(self.cross_norm(x), memory, memory_can_attend))
        return x + self.dropout(self.wo(self.dropout(F.relu(self.wi(self.ff_norm(x))))))


class T5Stack(nn.Module):
    """Blocks sharing one relative position bias, then a final RMS norm and dropout."""

    def __init__(self, c: T5Config, num_layers: int, decoder: bool):
        super().__init__()
        self.relative_bias = RelativePositionBias(c.num_heads, c.relative_attention_num_buckets,
                                                  c.relative_attention_max_distance, bidirectional=not decoder)
        self.blocks = nn.ModuleList([T5Block(c, cross=decoder) for _ in range(num_layers)])
        self.final_norm = RMSNorm(c.d_model, eps=c.layer_norm_epsilon)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x, can_attend, memory=None, memory_can_attend=None):
        T = x.shape[1]
        bias = self.relative_bias(T, T)  # (1, nh, T, T), the same for every block
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x, can_attend, bias, memory, memory_can_attend)
        return self.dropout(self.final_norm(x))


class T5(GenerationMixin, nn.Module):
    """T5 encoder-decoder for conditional generation.

    ``forward(src, src_lengths, tgt_in)`` -> logits (B, T, V); ``generate`` (``seqlab.generation``)
    decodes greedily, by sampling or with beam search, recomputing the prefix at each step (no KV cache).

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
        self._init_weights()

    def _init_weights(self) -> None:
        """Mesh TensorFlow's initialisation, which keeps the unscaled scores of unit size."""
        c = self.config
        nn.init.normal_(self.shared.weight, std=1.0)
        for module in self.modules():
            if isinstance(module, T5Attention):
                nn.init.normal_(module.q.weight, std=(c.d_model * c.d_kv) ** -0.5)  # the missing 1/sqrt(d_kv)
                nn.init.normal_(module.k.weight, std=c.d_model ** -0.5)
                nn.init.normal_(module.v.weight, std=c.d_model ** -0.5)
                nn.init.normal_(module.o.weight, std=(c.num_heads * c.d_kv) ** -0.5)
            elif isinstance(module, T5Block):
                nn.init.normal_(module.wi.weight, std=c.d_model ** -0.5)
                nn.init.normal_(module.wo.weight, std=c.d_ff ** -0.5)
            elif isinstance(module, RelativePositionBias):
                nn.init.normal_(module.relative_attention_bias.weight, std=c.d_model ** -0.5)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor):
        if src.dim() != 2:
            raise SeqlabError(f"src: expected token ids (B, S), got shape {tuple(src.shape)}")
        is_real = masks.lengths_to_mask(torch.as_tensor(src_lengths, device=src.device), src.shape[1])
        can_attend = masks.key_padding(is_real)  # (B, 1, 1, S)
        return self.encoder(self.shared(src), can_attend), can_attend

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_can_attend: torch.Tensor) -> torch.Tensor:
        causal = masks.causal_mask(tgt_in.shape[1], device=tgt_in.device)
        h = self.decoder(self.shared(tgt_in), causal, memory, memory_can_attend)
        return (h * self.config.d_model ** -0.5) @ self.shared.weight.T  # tied output: (B, T, E) -> (B, T, V)

    def forward(self, src, src_lengths, tgt_in):
        memory, can_attend = self.encode(src, src_lengths)
        return self.decode(tgt_in, memory, can_attend)

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> dict:
        """The encoder's memory and key mask. T5 starts decoding from its padding id: pass it as the prompt."""
        if source is None or source_lengths is None:
            raise SeqlabError("an encoder-decoder needs the source sentences: pass source and source_lengths")
        memory, can_attend = self.encode(source, source_lengths)
        return {"memory": memory, "can_attend": can_attend}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """The logits (N, V) after ``tokens`` (N, t): the whole prefix again (no cache)."""
        return self.decode(tokens, state["memory"], state["can_attend"])[:, -1], state
