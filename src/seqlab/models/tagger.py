"""A BiLSTM-CRF sequence tagger (Lample et al. 2016; Ma & Hovy 2016).

Each token t of a sentence becomes a vector from its word and its characters,

    w_t = E_word[word_t]                                                   (E)
    c_t = max_over_positions ReLU(Conv1d_width_k(E_char[chars of token t]))  (C filters, Ma & Hovy's char-CNN)
    x_t = dropout([w_t; c_t])

a bidirectional seqlab LSTM reads the sentence, a linear layer gives emission scores, and a
linear-chain CRF (``seqlab.nn.crf``) scores whole tag sequences:

    h_t = [LSTM_fwd(x_1..x_t); LSTM_bwd(x_t..x_T)]                           (2H)
    e_t = W h_t + b                                                         (K)
    p(y | x) = exp(sum_t e_t(y_t) + transitions) / Z                        (CRF)

The characters carry what a word embedding cannot for rare and unseen words (capitals, digits,
@mentions, #hashtags), which is most of WNUT-17's entities.

Shape:
    words (B, T) ids; lengths (B,); chars (B, T, W) ids (0 = padding), or None when the model has
    no character part -> emissions (B, T, K).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqlab.data.tagging import encode_words
from seqlab.errors import SeqlabError
from seqlab.metrics.tagging import bio_spans
from seqlab.nn import LSTM
from seqlab.nn.crf import CRF
from seqlab.nn.modes import eval_mode
from seqlab.text.tokenizer import Tokenizer


class BiLSTMCRFTagger(nn.Module):
    """Word embedding + character CNN -> BiLSTM -> linear emissions -> CRF.

    Args:
        vocab_size: words (id 0 = padding). num_tags: K. char_vocab_size: characters (0 = padding);
            0 disables the character CNN. embedding_dim: E. char_dim: character embedding size.
        char_filters: C. char_width: convolution width. hidden_size: H per direction.
        num_layers: stacked BiLSTM layers. dropout: on the token vectors and before the emissions.
        allowed, allowed_start: the CRF's transition constraints (``seqlab.nn.crf.bio_constraints``).

    Example:
        >>> tagger = BiLSTMCRFTagger(vocab_size=50, num_tags=3, char_vocab_size=20)
        >>> words, chars = torch.randint(1, 50, (2, 5)), torch.randint(1, 20, (2, 5, 7))
        >>> tagger(words, torch.tensor([5, 3]), chars).shape
        torch.Size([2, 5, 3])
        >>> [len(path) for path in tagger.decode(words, torch.tensor([5, 3]), chars)]
        [5, 3]
    """

    def __init__(self, vocab_size: int, num_tags: int, char_vocab_size: int = 0, embedding_dim: int = 100,
                 char_dim: int = 25, char_filters: int = 50, char_width: int = 3, hidden_size: int = 100,
                 num_layers: int = 1, dropout: float = 0.5, allowed: torch.Tensor | None = None,
                 allowed_start: torch.Tensor | None = None):
        super().__init__()
        if vocab_size < 2 or num_tags < 1:
            raise SeqlabError(f"vocab_size >= 2 and num_tags >= 1 expected, got {vocab_size} and {num_tags}")
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.char_embedding = nn.Embedding(char_vocab_size, char_dim, padding_idx=0) if char_vocab_size else None
        self.char_conv = nn.Conv1d(char_dim, char_filters, char_width, padding=char_width // 2) \
            if char_vocab_size else None
        features = embedding_dim + (char_filters if char_vocab_size else 0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = LSTM(features, hidden_size, num_layers, batch_first=True, bidirectional=True,
                         dropout=dropout if num_layers > 1 else 0.0)
        self.emit = nn.Linear(2 * hidden_size, num_tags)
        self.crf = CRF(num_tags, allowed, allowed_start)

    def _characters(self, chars: torch.Tensor) -> torch.Tensor:
        B, T, W = chars.shape
        x = self.char_embedding(chars.view(B * T, W)).transpose(1, 2)  # (B*T, char_dim, W)
        h = torch.relu(self.char_conv(x))  # (B*T, C, W)
        h = h.masked_fill((chars.view(B * T, 1, W) == 0), float("-inf")).amax(-1)  # max over real characters
        return torch.nan_to_num(h, neginf=0.0).view(B, T, -1)  # tokens without characters -> 0, (B, T, C)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor, chars: torch.Tensor | None = None) -> torch.Tensor:
        """Emission scores (B, T, K)."""
        x = self.embedding(words)  # (B, T, E)
        if self.char_embedding is not None:
            if chars is None:
                raise SeqlabError("chars: this tagger reads characters; expected (B, T, W) ids, got None")
            x = torch.cat([x, self._characters(chars)], dim=-1)  # (B, T, E + C)
        h, _ = self.lstm(self.dropout(x), lengths=lengths.cpu())  # (B, T, 2H); packing reads lengths on the CPU
        return self.emit(self.dropout(h))  # (B, T, K)

    @staticmethod
    def is_pad(words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.arange(words.shape[1], device=words.device)[None, :] >= lengths[:, None]  # (B, T)

    def nll(self, words: torch.Tensor, lengths: torch.Tensor, tags: torch.Tensor,
            chars: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(tags | sentence) of every sentence, (B,)."""
        emissions = self(words, lengths, chars)
        return self.crf.nll(emissions, tags, self.is_pad(words, lengths))

    @torch.no_grad()
    def decode(self, words: torch.Tensor, lengths: torch.Tensor, chars: torch.Tensor | None = None) -> list[list[int]]:
        """The Viterbi tag ids of every sentence."""
        return self.crf.decode(self(words, lengths, chars), self.is_pad(words, lengths))


@torch.no_grad()
def tag_tokens(model: BiLSTMCRFTagger, word_tokenizer: Tokenizer, char_tokenizer: Tokenizer, tags: Sequence[str],
               tokens: Sequence[str], max_word_chars: int) -> list[str]:
    """The Viterbi tag of every token of one sentence (tokens without white space)."""
    if not tokens:
        return []
    words, chars = encode_words(tokens, word_tokenizer, char_tokenizer, max_word_chars)
    with eval_mode(model):
        path = model.decode(words[None], torch.tensor([len(tokens)]), chars[None])[0]
    return [tags[i] for i in path]


def entities(tokens: Sequence[str], predicted: Sequence[str]) -> list[tuple[str, str]]:
    """(entity text, type) of every entity a BIO tag sequence marks over ``tokens``, in order."""
    return [(" ".join(tokens[a:b + 1]), kind) for a, b, kind in sorted(bio_spans(predicted))]
