"""A recurrent language model: embedding -> stacked RNN/LSTM/GRU -> linear head over the vocabulary."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.generate import GenerationMixin
from seqlab.nn import GRU, LSTM, RNN

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


class RecurrentLanguageModel(GenerationMixin, nn.Module):
    """p(x_{t+1} | x_{<=t}) = softmax(W_out h_t + b_out), h_t from a stacked recurrent layer.

    Args:
        vocab_size: V. embedding_dim: E. hidden_size: H. num_layers: L.
        cell: "lstm", "gru" or "rnn". dropout: on embeddings, between layers and before the head.
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017);
            needs E == H.
        layer_options: further keyword arguments of the recurrent layer (peephole, layer_norm, ...).

    Shape:
        inputs (B, T) token ids -> logits (B, T, V), and the final state.

    ``generate`` continues a prompt (``seqlab.generation``): the state is carried, so each new token
    costs one recurrent step.

    Example:
        >>> model = RecurrentLanguageModel(65, 32, 64)
        >>> logits, state = model(torch.randint(65, (2, 10)))
        >>> logits.shape
        torch.Size([2, 10, 65])
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1,
                 cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False,
                 layer_options: dict | None = None):
        super().__init__()
        if cell not in CELLS:
            raise SeqlabError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
        if tie_weights and embedding_dim != hidden_size:
            raise SeqlabError(f"tie_weights needs embedding_dim == hidden_size, got {embedding_dim} and {hidden_size}")
        self.vocab_size = vocab_size
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0, **dict(layer_options or {}))
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def forward(self, inputs: torch.Tensor, state=None):
        if inputs.dim() != 2:
            raise SeqlabError(f"inputs: expected token ids of shape (B, T), got {tuple(inputs.shape)}")
        x = self.dropout(self.embedding(inputs))  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, H)
        return self.head(self.dropout(h)), state  # (B, T, V)

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> dict:
        """No recurrent state yet, no token read."""
        if source is not None:
            raise SeqlabError("a language model continues a prompt; it takes no source")
        return {"recurrent": None, "read": 0}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """Read the tokens not yet read, carrying the recurrent state: each new token costs one step.

        The state keeps h (and c) batch-first, (B, L*D, H), so that beam search can reorder rows.
        """
        carried = state["recurrent"]
        if carried is not None:  # (B, L*D, H) -> the layer's (L*D, B, H)
            carried = tuple(h.transpose(0, 1).contiguous() for h in carried) if isinstance(carried, tuple) \
                else carried.transpose(0, 1).contiguous()
        logits, recurrent = self(tokens[:, state["read"]:], carried)  # (B, t_new, V)
        recurrent = tuple(h.transpose(0, 1) for h in recurrent) if isinstance(recurrent, tuple) \
            else recurrent.transpose(0, 1)
        return logits[:, -1], {"recurrent": recurrent, "read": tokens.shape[1]}
