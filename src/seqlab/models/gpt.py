"""A GPT-style decoder-only language model (Radford et al. 2018, 2019), as GPT-2 builds it.

    h_0 = W_e[x] + W_p[positions]
    h_l = h_{l-1} + Attn(LN(h_{l-1})),   h_l = h_l + MLP(LN(h_l))     (pre-LN blocks, causal attention)
    p(x_{t+1} | x_{<=t}) = softmax(LN(h_L) W_e^T)                      (the output layer is W_e: weight tying)

Each block is ``seqlab.nn.TransformerEncoderLayer(norm_first=True)`` under a causal mask. For
generation (``seqlab.generation``) a ``KVCache`` per block keeps the keys and values of the prefix,
so a new token costs one position instead of the whole prefix; the logits are the same as
recomputing it (tested). Past ``block_size`` tokens the context window slides.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.generate import GenerationMixin
from seqlab.nn import KVCache, LayerNorm, LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from seqlab.nn.transformer import TransformerEncoderLayer

POSITIONS = ("learned", "sinusoidal", "rope")


@dataclass
class GPTConfig:
    """Hyperparameters of a GPT; the defaults are GPT-2 small (124M parameters)."""

    vocab_size: int = 50257  # V: GPT-2's byte-level BPE vocabulary
    block_size: int = 1024  # longest context (learned position table size)
    n_layer: int = 12  # L blocks
    n_head: int = 12  # nh heads per block
    n_embd: int = 768  # E model width; the MLP is 4E wide
    dropout: float = 0.0  # on embeddings, attention weights and residual branches
    bias: bool = True  # biases in the linear layers and layer norms
    tie_weights: bool = True  # the output layer shares the token embedding matrix
    positions: str = "learned"  # "learned" (GPT-2), "sinusoidal" or "rope"
    activation: str = "gelu_tanh"  # GPT-2's tanh approximation of GELU
    layer_norm_eps: float = 1e-5
    n_inner: int | None = None  # width of the MLP; None is 4 * n_embd (GPT-2's n_inner)
    attention_dropout: float | None = None  # on the attention weights; None is `dropout` (GPT-2's attn_pdrop)
    embedding_dropout: float | None = None  # on the summed embeddings; None is `dropout` (GPT-2's embd_pdrop)

    def validate(self) -> GPTConfig:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"GPTConfig.{name}: expected a positive integer, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise SeqlabError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.positions not in POSITIONS:
            raise SeqlabError(f"GPTConfig.positions: expected one of {', '.join(POSITIONS)}, got {self.positions!r}")
        if self.n_inner is not None and self.n_inner < 1:
            raise SeqlabError(f"GPTConfig.n_inner: expected a positive integer or None, got {self.n_inner}")
        for name in ("dropout", "attention_dropout", "embedding_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise SeqlabError(f"GPTConfig.{name}: expected a probability in [0, 1), got {value}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class GPT(GenerationMixin, nn.Module):
    """Decoder-only Transformer language model.

    ``forward(idx (B, T), cache=None, need_weights=False)`` -> logits (B, T, V), or
    ``(logits, [weights (B, nh, T, S) per block])``. With ``cache`` (from ``new_cache()``) the
    ids are the positions after those already cached. ``hidden_states`` (same arguments) stops
    before the output layer: LN(h_L) (B, T, E), what transformers' ``GPT2Model`` returns.

    Example:
        >>> model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16))
        >>> model(torch.randint(50, (3, 10))).shape
        torch.Size([3, 10, 50])
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config.validate()
        c = config
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        if c.positions == "learned":
            self.wpe = LearnedPositionalEmbedding(c.block_size, c.n_embd)
        elif c.positions == "sinusoidal":
            self.wpe = SinusoidalPositionalEncoding(c.n_embd, c.block_size)
        else:
            self.wpe = None  # rotary positions live inside attention
        self.drop = nn.Dropout(c.dropout if c.embedding_dropout is None else c.embedding_dropout)
        self.blocks = nn.ModuleList([
            TransformerEncoderLayer(c.n_embd, c.n_head, c.n_inner or 4 * c.n_embd, c.dropout, c.activation,
                                    c.layer_norm_eps, norm_first=True, bias=c.bias, rope=c.positions == "rope")
            for _ in range(c.n_layer)])
        if c.attention_dropout is not None:
            for block in self.blocks:
                block.self_attn.dropout = c.attention_dropout  # the weights' dropout, apart from the residual's
        self.ln_f = LayerNorm(c.n_embd, eps=c.layer_norm_eps, bias=c.bias)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self._init_weights()
        if c.tie_weights:
            self.lm_head.weight = self.wte.weight

    def _init_weights(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) everywhere, residual projections scaled by 1/sqrt(2L)."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "norm" in name or name.startswith("ln_f"):
                nn.init.ones_(p)
            elif name.endswith(("out_proj.weight", "linear2.weight")):
                nn.init.normal_(p, std=residual_std)
            else:
                nn.init.normal_(p, std=0.02)

    def new_cache(self) -> list[KVCache]:
        return [KVCache() for _ in self.blocks]

    def hidden_states(self, idx: torch.Tensor, cache: list[KVCache] | None = None, need_weights: bool = False):
        """LN(h_L) (B, T, E), the input of the output layer (transformers' ``GPT2Model`` output), and the
        per-block weights when ``need_weights``."""
        if idx.dim() != 2:
            raise SeqlabError(f"idx: expected token ids of shape (B, T), got {tuple(idx.shape)}")
        T = idx.shape[1]
        offset = 0 if cache is None else cache[0].length
        if self.config.positions == "learned" and offset + T > self.config.block_size:
            raise SeqlabError(f"sequence of {offset + T} tokens is longer than block_size={self.config.block_size}")
        x = self.wte(idx)  # (B, T, E)
        if self.wpe is not None:
            x = self.wpe(x, offset)  # + W_p[offset : offset + T]
        x = self.drop(x)
        all_weights = []
        for i, block in enumerate(self.blocks):
            block_cache = None if cache is None else cache[i]
            # causal self-attention: query i sees keys j <= offset + i (F.scaled_dot_product_attention's
            # causal kernel when nothing is cached; seqlab.nn.MultiheadAttention builds no mask for it)
            if need_weights:
                x, weights = block(x, None, block_cache, need_weights=True, is_causal=True)
                all_weights.append(weights)
            else:
                x = block(x, None, block_cache, is_causal=True)
        h = self.ln_f(x)
        return (h, all_weights) if need_weights else h

    def forward(self, idx: torch.Tensor, cache: list[KVCache] | None = None, need_weights: bool = False):
        out = self.hidden_states(idx, cache, need_weights)
        h, weights = out if need_weights else (out, None)
        logits = self.lm_head(h)  # (B, T, E) -> (B, T, V)
        return (logits, weights) if need_weights else logits

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None,
                       use_cache: bool = True) -> dict:
        """Empty key/value caches; ``use_cache=False``: none, every step recomputes the whole window (the
        same tokens, more work: the KV-cache lesson of tutorial 17)."""
        if source is not None:
            raise SeqlabError("a language model continues a prompt; it takes no source")
        return {"cache": self.new_cache() if use_cache else None}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """The next token's logits (N, V) after ``tokens`` (N, t).

        While the prefix fits in ``block_size`` the cache holds its keys and values and only the
        unseen positions are computed. Past the window every position would shift, so the last
        ``block_size`` tokens are recomputed at each step, as nanoGPT does.
        """
        cache, window = state["cache"], self.config.block_size
        if cache is not None and tokens.shape[1] <= window:
            logits = self(tokens[:, cache[0].length:], cache)  # only the positions not yet cached
        else:
            logits = self(tokens[:, -window:])  # crop to the context window
        return logits[:, -1], state
