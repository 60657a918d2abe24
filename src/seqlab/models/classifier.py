"""A sequence classifier: embedding -> (Bi)LSTM/GRU or Transformer encoder -> pooling -> linear head.

    e_t = E[x_t]                                  embedding, optionally initialised from word vectors
    h_1..h_T = Encoder(e_1..e_T)                  recurrent layer (both directions concatenated) or
                                                  Transformer encoder with sinusoidal positions
    z = pool(h_1..h_n)                            over the n = length real positions only:
                                                  max: z_j = max_t h_tj; mean: z = (1/n) sum_t h_t;
                                                  last: [h_n forward ; h_1 backward] (recurrent only)
    p(y | x) = softmax(W dropout(z) + b)

Shape: inputs (B, T) ids, lengths (B,) -> logits (B, K).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM, RNN
from seqlab.nn.masks import key_padding
from seqlab.nn.modes import eval_mode
from seqlab.text.factories import UNK, special_id
from seqlab.text.tokenizer import Tokenizer

RECURRENT = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
ENCODERS = (*RECURRENT, "transformer")
POOLINGS = ("max", "mean", "last")


class SequenceClassifier(nn.Module):
    """Classify a sequence of token ids into one of K classes.

    Args:
        vocab_size: V. num_classes: K. embedding_dim: E.
        arch: the encoder: "lstm", "gru", "rnn" (seqlab.nn layers) or "transformer" (seqlab.nn encoder).
        hidden_size: H of the recurrent layer, or the feed-forward width of the Transformer
            (whose model width is E).
        num_layers: L. bidirectional: D = 2 directions (recurrent encoders).
        nhead: attention heads of the Transformer. max_len: longest input of the Transformer.
        pooling: "max", "mean" or "last" (see the module docstring).
        dropout: on the embeddings, between layers and before the head.
        padding_idx: the pad id; its embedding stays zero.
        layer_options: extra keyword arguments of the recurrent layer (peephole, engine, ...).

    Example:
        >>> model = SequenceClassifier(100, 2, embedding_dim=8, hidden_size=16)
        >>> model(torch.randint(1, 100, (3, 7)), torch.tensor([7, 4, 1])).shape
        torch.Size([3, 2])
    """

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int = 128, arch: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = True, nhead: int = 4,
                 max_len: int = 512, pooling: str = "max", dropout: float = 0.5, padding_idx: int = 0,
                 layer_options: dict | None = None):
        super().__init__()
        if arch not in ENCODERS:
            raise SeqlabError(f"arch: expected one of {', '.join(ENCODERS)}, got {arch!r}")
        if pooling not in POOLINGS:
            raise SeqlabError(f"pooling: expected one of {', '.join(POOLINGS)}, got {pooling!r}")
        if pooling == "last" and arch == "transformer":
            raise SeqlabError("pooling='last' needs a recurrent encoder; use 'max' or 'mean' with a transformer")
        if num_classes < 2:
            raise SeqlabError(f"num_classes: expected at least 2, got {num_classes}")
        self.arch = arch
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout)
        if arch == "transformer":
            from seqlab.nn.positional import SinusoidalPositionalEncoding
            from seqlab.nn.transformer import TransformerEncoder, TransformerEncoderLayer

            self.positions = SinusoidalPositionalEncoding(embedding_dim, max_len=max_len)
            layer = TransformerEncoderLayer(embedding_dim, nhead, hidden_size, dropout=dropout, batch_first=True,
                                            norm_first=True)
            self.encoder = TransformerEncoder(layer, num_layers)
            features = embedding_dim
        else:
            self.encoder = RECURRENT[arch](embedding_dim, hidden_size, num_layers, batch_first=True,
                                              bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
                                              **dict(layer_options or {}))
            features = hidden_size * (2 if bidirectional else 1)
        self.head = nn.Linear(features, num_classes)

    def load_vectors(self, vectors: torch.Tensor, freeze: bool = False) -> None:
        """Initialise the embedding from word vectors (V, E), e.g. seqlab-trained Word2Vec rows by id."""
        if vectors.shape != self.embedding.weight.shape:
            raise SeqlabError(f"vectors: expected shape {tuple(self.embedding.weight.shape)}, "
                              f"got {tuple(vectors.shape)}")
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
            if self.embedding.padding_idx is not None:
                self.embedding.weight[self.embedding.padding_idx].zero_()
        self.embedding.weight.requires_grad_(not freeze)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dim() != 2:
            raise SeqlabError(f"inputs: expected token ids of shape (B, T), got {tuple(inputs.shape)}")
        B, T = inputs.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=inputs.device)
        is_real = torch.arange(T, device=inputs.device)[None, :] < lengths[:, None]  # (B, T)
        x = self.dropout(self.embedding(inputs))  # (B, T, E)
        if self.arch == "transformer":
            h = self.encoder(self.positions(x), can_attend=key_padding(is_real))  # (B, T, E)
            final = None
        else:
            h, final = self.encoder(x, lengths=lengths.cpu())  # (B, T, D*H); packing reads lengths on the CPU
            if isinstance(final, tuple):  # an LSTM's (h_n, c_n)
                final = final[0]
        z = self.pool(h, is_real, final)  # (B, F)
        return self.head(self.dropout(z))  # (B, K)

    def pool(self, h: torch.Tensor, is_real: torch.Tensor, final: torch.Tensor | None) -> torch.Tensor:
        """(B, T, F) states -> (B, F), over real positions only."""
        if self.pooling == "max":
            return h.masked_fill(~is_real[..., None], float("-inf")).amax(dim=1)
        if self.pooling == "mean":
            real = is_real[..., None].to(h.dtype)  # (B, T, 1)
            return (h * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)
        D = 2 if self.encoder.bidirectional else 1
        return torch.cat(list(final[-D:]), dim=-1)  # last layer's final states: (D, B, H) -> (B, D*H)


@torch.no_grad()
def classify_texts(model: nn.Module, tokenizer: Tokenizer, labels: Sequence[str], texts: Sequence[str],
                   max_length: int | None = None) -> list[tuple[str, float]]:
    """The most probable label of each text and its probability, one text at a time (no padding).

    A text is encoded by ``tokenizer`` (its normalizer lower-cases when the run did, its template adds
    a BERT's ``[CLS]`` and ``[SEP]``), cut to ``max_length`` tokens; a text with no token reads as one
    unknown token (``<unk>``, or a WordPiece tokenizer's ``[UNK]``).
    """
    unk = special_id(tokenizer, UNK if tokenizer.token_to_id(UNK) is not None else "[UNK]")
    results = []
    with eval_mode(model):
        for text in texts:
            ids = tokenizer.encode(text).ids[:max_length] or [unk]
            probs = model(torch.tensor([ids]), torch.tensor([len(ids)])).softmax(-1)[0]  # (K,)
            k = int(probs.argmax())
            results.append((labels[k], float(probs[k])))
    return results


__all__ = ["ENCODERS", "POOLINGS", "SequenceClassifier", "classify_texts"]
