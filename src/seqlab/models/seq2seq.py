"""An RNN encoder-decoder with attention (Bahdanau, Cho & Bengio 2015; Luong et al. 2015 scores).

    encoder:    h_1..h_S = BiRNN(E_src[x_1..x_S])                          (forward and backward states concatenated)
    start:      s_0 = tanh(W_s [h_fwd_final; h_bwd_final])                   (per layer)
    step i:     c_i = sum_j α_ij h_j,   α_i = softmax_j score(s_{i-1}, h_j)   (padding keys masked out)
                s_i = RNN(s_{i-1}, [E_tgt[y_{i-1}]; c_i])
                p(y_i | y_<i, x) = softmax(W_o tanh(W_t [s_i; c_i; E_tgt[y_{i-1}]]))

The recurrent layers are ``seqlab.nn.GRU`` / ``LSTM`` (the decoder runs them one step at a time).
``forward(src, src_lengths, tgt_in)`` is teacher forcing: ``tgt_in`` is the target shifted right
(BOS first); ``generate(bos, max_new_tokens, source=src, source_lengths=lengths, eos_id=...)``
decodes greedily, by sampling or with beam search (``seqlab.generation``).
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.generate import GenerationMixin
from seqlab.nn import GRU, LSTM, AdditiveAttention, DotAttention, GeneralAttention, masks

CELLS = {"gru": GRU, "lstm": LSTM}
ATTENTIONS = ("additive", "general", "dot")


class Seq2SeqAttention(GenerationMixin, nn.Module):
    """Encoder-decoder with attention over the source.

    Args:
        src_vocab_size, tgt_vocab_size: V_src, V_tgt. embedding_dim: E. hidden_size: H.
        num_layers: L (encoder and decoder). cell: "gru" or "lstm".
        attention: "additive" (Bahdanau), "general" or "dot" (Luong; "dot" needs a
            unidirectional encoder so keys and queries are both H wide).
        bidirectional: a bidirectional encoder (D = 2), as in Bahdanau et al.
        dropout: on embeddings and before the output layer. pad_id: the padding id of both vocabularies.

    Shape:
        src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V_tgt); with
        ``need_weights`` also the attention weights (B, T, S).

    Example:
        >>> model = Seq2SeqAttention(20, 30, embedding_dim=8, hidden_size=16)
        >>> model(torch.randint(1, 20, (2, 7)), torch.tensor([7, 4]), torch.randint(1, 30, (2, 5))).shape
        torch.Size([2, 5, 30])
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embedding_dim: int = 256, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "gru", attention: str = "additive", bidirectional: bool = True,
                 dropout: float = 0.0, pad_id: int = 0):
        super().__init__()
        if cell not in CELLS:
            raise SeqlabError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
        if attention not in ATTENTIONS:
            raise SeqlabError(f"attention: expected one of {', '.join(ATTENTIONS)}, got {attention!r}")
        D = 2 if bidirectional else 1
        if attention == "dot" and bidirectional:
            raise SeqlabError("attention='dot' needs keys as wide as queries: use bidirectional=False or 'general'")
        self.cell, self.num_layers, self.hidden_size, self.pad_id = cell, num_layers, hidden_size, pad_id
        self.src_embedding = nn.Embedding(src_vocab_size, embedding_dim, padding_idx=pad_id)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder = CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True,
                                   bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        self.bridge = nn.Linear(D * hidden_size, hidden_size)  # W_s: encoder final state -> s_0 (and c_0)
        if attention == "additive":
            self.attention = AdditiveAttention(hidden_size, D * hidden_size, hidden_size)
        elif attention == "general":
            self.attention = GeneralAttention(hidden_size, D * hidden_size)
        else:
            self.attention = DotAttention()
        self.decoder = CELLS[cell](embedding_dim + D * hidden_size, hidden_size, num_layers, batch_first=True,
                                   dropout=dropout if num_layers > 1 else 0.0)
        self.pre_output = nn.Linear(hidden_size + D * hidden_size + embedding_dim, hidden_size)  # W_t
        self.output = nn.Linear(hidden_size, tgt_vocab_size)  # W_o
        self.dropout = nn.Dropout(dropout)

    # -- encoder ---------------------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> dict:
        """Run the encoder; returns the decoding state (every tensor batch-first, for beam search)."""
        if src.dim() != 2:
            raise SeqlabError(f"src: expected token ids (B, S), got shape {tuple(src.shape)}")
        src_lengths = torch.as_tensor(src_lengths, device=src.device)
        memory, final = self.encoder(self.dropout(self.src_embedding(src)), lengths=src_lengths.cpu())  # (B, S, D*H)
        hidden = tuple(self._bridge(h) for h in (final if self.cell == "lstm" else (final,)))
        state = {
            "hidden": hidden,  # each (B, L, H): batch first so beam search can reorder it
            "memory": memory,
            "can_attend": masks.lengths_to_mask(src_lengths, src.shape[1]),  # (B, S)
        }
        if isinstance(self.attention, AdditiveAttention):
            state["projected_keys"] = self.attention.project_keys(memory)  # U_a h_j, once per sentence
        return state

    def _bridge(self, final: torch.Tensor) -> torch.Tensor:
        """(L*D, B, H) final encoder states -> (B, L, H) initial decoder states s_0 = tanh(W_s [fwd; bwd])."""
        L, B = self.num_layers, final.shape[1]
        per_layer = final.view(L, -1, B, self.hidden_size).permute(2, 0, 1, 3).reshape(B, L, -1)  # (B, L, D*H)
        return torch.tanh(self.bridge(per_layer))

    # -- decoder ---------------------------------------------------------------------------------------
    def step(self, y_prev: torch.Tensor, state: dict):
        """One target step: y_prev (B,) -> logits (B, V), new state, attention weights (B, S)."""
        s_prev = state["hidden"][0][:, -1]  # top layer s_{i-1}: (B, H)
        options = {"projected_keys": state["projected_keys"]} if "projected_keys" in state else {}
        context, weights = self.attention(s_prev, state["memory"], can_attend=state["can_attend"], **options)
        embedded = self.dropout(self.tgt_embedding(y_prev))  # (B, E)
        rnn_input = torch.cat((embedded, context), dim=-1)[:, None, :]  # (B, 1, E + D*H)
        rnn_state = tuple(h.transpose(0, 1).contiguous() for h in state["hidden"])  # (L, B, H)
        out, new = self.decoder(rnn_input, rnn_state if self.cell == "lstm" else rnn_state[0])
        s_i = out[:, 0]  # (B, H)
        pre = torch.tanh(self.pre_output(torch.cat((s_i, context, embedded), dim=-1)))
        logits = self.output(self.dropout(pre))  # (B, V)
        new_hidden = tuple(h.transpose(0, 1) for h in (new if self.cell == "lstm" else (new,)))
        return logits, {**state, "hidden": new_hidden}, weights

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor, need_weights: bool = False):
        state = self.encode(src, src_lengths)
        all_logits, all_weights = [], []
        for i in range(tgt_in.shape[1]):
            logits, state, weights = self.step(tgt_in[:, i], state)
            all_logits.append(logits)
            all_weights.append(weights)
        logits = torch.stack(all_logits, dim=1)  # (B, T, V)
        return (logits, torch.stack(all_weights, dim=1)) if need_weights else logits

    # -- decoding (seqlab.generation) ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.output.out_features

    def decoding_state(self, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None) -> dict:
        """The encoded source (every tensor batch-first, so beam search can reorder rows); no target read yet."""
        if source is None or source_lengths is None:
            raise SeqlabError("an encoder-decoder needs the source sentences: pass source and source_lengths")
        return {**self.encode(source, source_lengths), "read": 0}

    def decoding_step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """Run the decoder over the target tokens not yet read; the logits after the last one (N, V)."""
        logits = None
        for i in range(state["read"], tokens.shape[1]):
            logits, state, _ = self.step(tokens[:, i], state)
        return logits, {**state, "read": tokens.shape[1]}
