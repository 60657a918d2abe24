"""A BERT-style encoder (Devlin et al. 2019): embeddings, post-LN Transformer encoder, pre-training and task heads.

    h_0 = LN(E_tok[x] + E_pos[p] + E_seg[s]),   h_L = Encoder(h_0)                 (GELU, post-LN, bidirectional)
    pooled = tanh(W_p h_L[CLS])                                                    (the first position)
    MLM:  p(x_t | x_masked) = softmax(LN(GELU(W_t h_L,t)) E_tok^T + b)              (output tied to the embeddings)
    NSP:  p(IsNext | A, B) = softmax(W_nsp pooled)

``mask_tokens`` (``seqlab.data.masking``, re-exported here) builds the MLM inputs: 15% of the
maskable positions are chosen; of those 80% become [MASK], 10% a random token, 10% stay as they
are; the labels keep the original id at chosen positions and -100 (ignored by ``F.cross_entropy``)
elsewhere. It returns new tensors and never changes its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.data.batching import IGNORE_INDEX
from seqlab.data.masking import mask_tokens
from seqlab.errors import SeqlabError
from seqlab.nn import LayerNorm, TransformerEncoder, TransformerEncoderLayer, masks
from seqlab.nn.modes import eval_mode
from seqlab.nn.transformer import ACTIVATIONS
from seqlab.text.tokenizer import Tokenizer

IGNORE = IGNORE_INDEX  # label of positions that carry no loss (F.cross_entropy's ignore_index, -100)


@dataclass
class BertConfig:
    """Hyperparameters of a BERT; the defaults are BERT-base (110M parameters)."""

    vocab_size: int = 30522  # V: uncased English WordPiece
    hidden_size: int = 768  # H
    num_hidden_layers: int = 12  # L
    num_attention_heads: int = 12  # A
    intermediate_size: int = 3072  # feed-forward width, 4H
    max_position_embeddings: int = 512  # longest input
    type_vocab_size: int = 2  # segments A and B
    dropout: float = 0.1  # on embeddings, attention weights and residual branches
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"  # of the feed-forward layers and the MLM transform: "gelu" (erf), "gelu_tanh", "relu"
    attention_dropout: float | None = None  # on the attention weights; None is `dropout`
    classifier_dropout: float | None = None  # before the classification layer; None is `dropout`
    tie_word_embeddings: bool = True  # the MLM output layer is E_tok (False: a matrix of its own)

    def validate(self) -> BertConfig:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"BertConfig.{name}: expected a positive integer, got {getattr(self, name)}")
        if self.hidden_act not in ACTIVATIONS:
            raise SeqlabError(f"BertConfig.hidden_act: expected one of {', '.join(ACTIVATIONS)}, "
                              f"got {self.hidden_act!r}")
        for name in ("dropout", "attention_dropout", "classifier_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise SeqlabError(f"BertConfig.{name}: expected a probability in [0, 1), got {value}")
        if self.hidden_size % self.num_attention_heads:
            raise SeqlabError(f"BertConfig: hidden_size ({self.hidden_size}) must be divisible by "
                              f"num_attention_heads ({self.num_attention_heads})")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class BertEmbeddings(nn.Module):
    """h_0 = Dropout(LN(E_tok[x] + E_pos[p] + E_seg[s])): (B, T) ids -> (B, T, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.max_positions = config.max_position_embeddings

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        length = input_ids.shape[1]
        if length > self.max_positions:
            raise SeqlabError(f"input of {length} tokens is longer than "
                              f"max_position_embeddings={self.max_positions}")
        positions = torch.arange(length, device=input_ids.device)
        segments = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(segments)
        return self.dropout(self.norm(x))


class BertModel(nn.Module):
    """Embeddings + encoder + pooler.

    ``forward(input_ids (B, T), lengths=None, token_type_ids=None, need_weights=False)`` returns
    ``(sequence (B, T, H), pooled (B, H))`` (and the per-layer weights (B, A, T, T) when asked).
    ``lengths`` marks the real tokens of a padded batch; without it every position is real.
    With ``add_pooling_layer=False`` (as in transformers) there is no pooler and ``pooled`` is None.

    Example:
        >>> model = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2,
        ...                              num_attention_heads=2, intermediate_size=32))
        >>> sequence, pooled = model(torch.randint(50, (2, 7)))
        >>> sequence.shape, pooled.shape
        (torch.Size([2, 7, 16]), torch.Size([2, 16]))
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__()
        self.config = config.validate()
        self.embeddings = BertEmbeddings(config)
        layer = TransformerEncoderLayer(config.hidden_size, config.num_attention_heads, config.intermediate_size,
                                        config.dropout, config.hidden_act, config.layer_norm_eps)
        if config.attention_dropout is not None:
            layer.self_attn.dropout = config.attention_dropout  # the weights' dropout, apart from the residual's
        self.encoder = TransformerEncoder(layer, config.num_hidden_layers)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.apply(_init_bert)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, need_weights: bool = False):
        if input_ids.dim() != 2:
            raise SeqlabError(f"input_ids: expected token ids (B, T), got shape {tuple(input_ids.shape)}")
        can_attend = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=input_ids.device)
            can_attend = masks.key_padding(masks.lengths_to_mask(lengths, input_ids.shape[1]))  # (B, 1, 1, T)
        out = self.encoder(self.embeddings(input_ids, token_type_ids), can_attend, need_weights=need_weights)
        sequence, weights = out if need_weights else (out, None)
        pooled = torch.tanh(self.pooler(sequence[:, 0])) if self.pooler is not None else None  # the [CLS] position
        return (sequence, pooled, weights) if need_weights else (sequence, pooled)


def _init_bert(module: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02) for matrices and embeddings, zero biases."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if hasattr(module, "in_proj_weight") and module.in_proj_weight is not None:
        nn.init.normal_(module.in_proj_weight, std=0.02)


class BertForPreTraining(nn.Module):
    """BERT with its pre-training heads: masked-language model and (optionally) a sentence-pair head.

    ``forward(input_ids, lengths=None, token_type_ids=None, predict_at=None)`` ->
    ``(mlm_logits, pair_logits (B, 2))``: mlm_logits is (B, T, V), or (N, V) at the N positions where
    ``predict_at`` (B, T) is True, in row-major order (the order of ``labels[predict_at]``). Only
    about 15% of the positions carry a loss, and the output layer (H x V) is the largest matrix
    product of a small BERT, so computing it at those positions only saves most of its cost.
    pair_logits is None without ``next_sentence``; the same head serves next-sentence and
    sentence-order prediction (``seqlab.data.pretraining``). ``loss(...)`` adds the two cross-entropies.
    ``BertForPreTraining(config, next_sentence=False, add_pooling_layer=False)`` is transformers'
    ``BertForMaskedLM`` (no pooler, which only the NSP head reads).
    """

    def __init__(self, config: BertConfig, next_sentence: bool = True, add_pooling_layer: bool = True):
        super().__init__()
        if next_sentence and not add_pooling_layer:
            raise SeqlabError("BertForPreTraining: next-sentence prediction reads the pooler; "
                              "got next_sentence=True with add_pooling_layer=False")
        self.bert = BertModel(config, add_pooling_layer)
        H = config.hidden_size
        self.activation = ACTIVATIONS[config.hidden_act]
        self.transform = nn.Linear(H, H)  # W_t
        self.transform_norm = LayerNorm(H, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(H, config.vocab_size)  # weight tied to E_tok (by default), bias b of its own
        if config.tie_word_embeddings:
            self.decoder.weight = self.bert.embeddings.word_embeddings.weight
        else:
            nn.init.normal_(self.decoder.weight, std=0.02)
        nn.init.zeros_(self.decoder.bias)
        nn.init.normal_(self.transform.weight, std=0.02)
        nn.init.zeros_(self.transform.bias)
        self.nsp = nn.Linear(H, 2) if next_sentence else None

    def forward(self, input_ids, lengths=None, token_type_ids=None, predict_at: torch.Tensor | None = None):
        sequence, pooled = self.bert(input_ids, lengths, token_type_ids)  # (B, T, H), (B, H)
        if predict_at is not None:
            sequence = sequence[predict_at]  # (B, T, H) -> (N, H)
        mlm_logits = self.decoder(self.transform_norm(self.activation(self.transform(sequence))))  # (..., V)
        nsp_logits = self.nsp(pooled) if self.nsp is not None else None  # (B, 2)
        return mlm_logits, nsp_logits

    def loss(self, input_ids, labels, lengths=None, token_type_ids=None, next_sentence_labels=None) -> torch.Tensor:
        mlm_logits, nsp_logits = self(input_ids, lengths, token_type_ids)
        loss = F.cross_entropy(mlm_logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
        if nsp_logits is not None and next_sentence_labels is not None:
            loss = loss + F.cross_entropy(nsp_logits, next_sentence_labels)
        return loss


POOLINGS = ("cls", "mean", "max")


class BertForSequenceClassification(nn.Module):
    """Fine-tuning head on a BERT encoder: logits (B, K) = W_c Dropout(z).

    ``pooling`` chooses z: ``cls`` is BERT's pooled [CLS] state tanh(W_p h_[CLS]); ``mean`` and
    ``max`` pool the last layer's states h_1..h_n over the n real positions of each row.

    Example:
        >>> model = BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
        ...                                       num_attention_heads=2, intermediate_size=32), 3, pooling="mean")
        >>> model(torch.randint(50, (2, 7)), torch.tensor([7, 4])).shape
        torch.Size([2, 3])
    """

    def __init__(self, config: BertConfig, num_labels: int, pooling: str = "cls"):
        super().__init__()
        if num_labels < 1:
            raise SeqlabError(f"num_labels: expected a positive integer, got {num_labels}")
        if pooling not in POOLINGS:
            raise SeqlabError(f"pooling: expected one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.pooling = pooling
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.dropout if config.classifier_dropout is None else config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids, lengths=None, token_type_ids=None) -> torch.Tensor:
        sequence, pooled = self.bert(input_ids, lengths, token_type_ids)  # (B, T, H), (B, H)
        if self.pooling != "cls":
            B, T = input_ids.shape
            is_real = torch.ones(B, T, dtype=torch.bool, device=input_ids.device) if lengths is None else \
                torch.arange(T, device=input_ids.device)[None, :] < torch.as_tensor(lengths, device=input_ids.device
                                                                                    )[:, None]  # (B, T)
            if self.pooling == "max":
                pooled = sequence.masked_fill(~is_real[..., None], float("-inf")).amax(dim=1)  # (B, H)
            else:
                real = is_real[..., None].to(sequence.dtype)  # (B, T, 1)
                pooled = (sequence * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)  # (B, H)
        return self.classifier(self.dropout(pooled))  # (B, K)


@torch.no_grad()
def fill_mask(model: BertForPreTraining, tokenizer: Tokenizer, text: str, top_k: int = 5,
              mask_token: str = "[MASK]") -> list[list[tuple[str, float]]]:
    """The ``top_k`` most probable tokens (and their probabilities) at each ``[MASK]`` of ``text``, in order.

    ``text`` is encoded with the tokenizer's special tokens (``[CLS] ... [SEP]``), as in pre-training.
    """
    mask_id = tokenizer.token_to_id(mask_token)
    if mask_id is None:
        raise SeqlabError(f"tokenizer: expected the special token {mask_token!r} in the vocabulary, it is missing")
    ids = torch.tensor([tokenizer.encode(text).ids])  # (1, T)
    is_mask = ids == mask_id
    if not is_mask.any():
        raise SeqlabError(f"fill_mask: expected at least one {mask_token} in the text, got {text!r}")
    with eval_mode(model):
        logits, _ = model(ids, predict_at=is_mask)  # (N, V)
    probabilities, best = logits.softmax(-1).topk(min(top_k, logits.shape[-1]), dim=-1)  # (N, k)
    return [[(tokenizer.id_to_token(int(i)), float(p)) for p, i in zip(row_p, row_i)]
            for row_p, row_i in zip(probabilities, best)]


__all__ = ["IGNORE", "POOLINGS", "BertConfig", "BertEmbeddings", "BertForPreTraining", "BertForSequenceClassification",
           "BertModel", "fill_mask", "mask_tokens"]
