"""The Transformer encoder-decoder of Vaswani et al. (2017) with what ``torch.nn.Transformer`` leaves out.

    src: x = E_src[src] * sqrt(d_model) + PE        tgt: y = E_tgt[tgt_in] * sqrt(d_model) + PE
    memory = Encoder(x)                               h = Decoder(y, memory)   (causal self-attention)
    p(y_t | y_<t, src) = softmax(h_t W_out)            W_out = E_tgt^T when tied (section 3.4)

Embeddings, positional encodings, the padding and causal masks, the output layer, and the decoding
step (a key/value cache per decoder layer) that ``seqlab.generation`` drives for greedy search,
sampling and beam search, around ``seqlab.nn.Transformer``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.generate import GenerationMixin
from seqlab.nn import LearnedPositionalEmbedding, SinusoidalPositionalEncoding, Transformer, masks


class TransformerSeq2Seq(GenerationMixin, nn.Module):
    """Encoder-decoder Transformer over token ids.

    Args:
        src_vocab_size, tgt_vocab_size: V_src, V_tgt. d_model, nhead, num_encoder_layers,
        num_decoder_layers, dim_feedforward, dropout, activation, norm_first: as ``seqlab.nn.Transformer``
        (the paper's base model is 512, 8, 6, 6, 2048, 0.1, relu, post-LN).
        positions: "sinusoidal" (paper) or "learned". max_len: longest sequence for learned positions.
        share_embeddings: one matrix for source and target embeddings (a shared vocabulary, V_src = V_tgt).
        tie_output: the output layer reuses the target embedding matrix. pad_id: padding id of both sides.

    Shape:
        src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V_tgt).

    Example:
        >>> model = TransformerSeq2Seq(20, 20, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
        ...                            dim_feedforward=32)
        >>> model(torch.randint(1, 20, (2, 7)), torch.tensor([7, 4]), torch.randint(1, 20, (2, 5))).shape
        torch.Size([2, 5, 20])
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 512, nhead: int = 8,
                 num_encoder_layers: int = 6, num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", norm_first: bool = False,
                 positions: str = "sinusoidal", max_len: int = 1024, share_embeddings: bool = False,
                 tie_output: bool = True, pad_id: int = 0, layer_norm_eps: float = 1e-5):
        super().__init__()
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise SeqlabError(f"share_embeddings needs one vocabulary, got sizes {src_vocab_size} and {tgt_vocab_size}")
        if positions not in ("sinusoidal", "learned"):
            raise SeqlabError(f"positions: expected 'sinusoidal' or 'learned', got {positions!r}")
        self.d_model, self.pad_id = d_model, pad_id
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
        self.src_embedding = self.tgt_embedding if share_embeddings else nn.Embedding(src_vocab_size, d_model,
                                                                                      padding_idx=pad_id)
        if positions == "sinusoidal":
            self.positions = SinusoidalPositionalEncoding(d_model, max_len)
        else:
            self.positions = LearnedPositionalEmbedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)
        self.transformer = Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                       dropout, activation, layer_norm_eps, norm_first=norm_first)
        self.output = nn.Linear(d_model, tgt_vocab_size, bias=False)
        # a fixed order (not a set of modules, whose order follows memory addresses) keeps the init seeded
        embeddings = [self.src_embedding] + ([] if share_embeddings else [self.tgt_embedding])
        for embedding in embeddings:
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)  # so E * sqrt(d_model) has unit scale
            with torch.no_grad():
                embedding.weight[pad_id].zero_()
        if tie_output:
            self.output.weight = self.tgt_embedding.weight

    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        return self.dropout(self.positions(embedding(ids) * math.sqrt(self.d_model), offset))  # (B, T, E)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """memory (B, S, E) and the key mask can_attend (B, 1, 1, S) of the source."""
        if src.dim() != 2:
            raise SeqlabError(f"src: expected token ids (B, S), got shape {tuple(src.shape)}")
        is_real = masks.lengths_to_mask(torch.as_tensor(src_lengths, device=src.device), src.shape[1])
        can_attend = masks.key_padding(is_real)
        return self.transformer.encoder(self._embed(self.src_embedding, src), can_attend), can_attend

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_can_attend: torch.Tensor,
               caches=None, need_weights: bool = False):
        """Logits (B, T, V) of the target positions after those already in ``caches``."""
        offset = 0 if caches is None else caches[0][0].length
        T = tgt_in.shape[1]
        y = self._embed(self.tgt_embedding, tgt_in, offset)
        causal = masks.causal_mask(T, offset + T, device=tgt_in.device)
        out = self.transformer.decoder(y, memory, causal, memory_can_attend, caches, need_weights=need_weights)
        if need_weights:
            h, self_weights, cross_weights = out
            return self.output(h), self_weights, cross_weights
        return self.output(out)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor, need_weights: bool = False):
        """Teacher forcing: logits (B, T, V); with ``need_weights`` also
        ``{"encoder": [...], "decoder_self": [...], "cross": [...]}``, per layer (B, nh, ·, ·)."""
        memory, can_attend = self.encode(src, src_lengths)
        if not need_weights:
            return self.decode(tgt_in, memory, can_attend)
        _, encoder_weights = self.transformer.encoder(self._embed(self.src_embedding, src), can_attend,
                                                      need_weights=True)
        logits, self_weights, cross_weights = self.decode(tgt_in, memory, can_attend, need_weights=True)
        return logits, {"encoder": encoder_weights, "decoder_self": self_weights, "cross": cross_weights}

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.output.out_features

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> dict:
        """The encoder's memory and key mask, and an empty key/value cache per decoder layer."""
        if source is None or source_lengths is None:
            raise SeqlabError("an encoder-decoder needs the source sentences: pass source and source_lengths")
        memory, can_attend = self.encode(source, source_lengths)
        return {"memory": memory, "can_attend": can_attend, "caches": self.transformer.decoder.new_caches()}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """The logits (N, V) after ``tokens`` (N, t); only the positions the cache has not seen are computed."""
        caches = state["caches"]
        new = tokens[:, caches[0][0].length:]
        logits = self.decode(new, state["memory"], state["can_attend"], caches)
        return logits[:, -1], state
