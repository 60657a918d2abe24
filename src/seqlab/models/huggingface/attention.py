"""Attention maps of a loaded checkpoint on a text: every layer's and head's self-attention weights.

    weights[l, h, i, j] = softmax_j(q_i . k_j / sqrt(d) + bias_ij)    in head h of layer l

query i (a row) attends to key j (a column); each row sums to 1. For BERT and T5 this is the
(bidirectional) encoder self-attention, for GPT-2 the causal self-attention (zero above the
diagonal). ``seqlab.plots.attention`` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqlab.errors import SeqlabError
from seqlab.models.bert import BertForPreTraining, BertForSequenceClassification, BertModel
from seqlab.models.gpt import GPT
from seqlab.models.huggingface.pretrained import Pretrained
from seqlab.models.t5 import T5, T5Encoder


@dataclass
class AttentionMaps:
    """The self-attention weights of one text: ``weights`` (L, nh, T, T) and the T ``tokens``."""

    tokens: list[str]
    weights: torch.Tensor
    architecture: str
    kind: str  # "causal self-attention" or "encoder self-attention"

    @property
    def num_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def num_heads(self) -> int:
        return self.weights.shape[1]

    def layer(self, index: int) -> torch.Tensor:
        """(nh, T, T) of one layer; negative indices count from the last."""
        if not -self.num_layers <= index < self.num_layers:
            raise SeqlabError(f"layer: expected an index in [{-self.num_layers}, {self.num_layers - 1}], got {index}")
        return self.weights[index]


@torch.no_grad()
def attention_maps(pretrained: Pretrained, text: str) -> AttentionMaps:
    """Run ``pretrained.model`` on ``text`` (tokenized with special tokens) and return every layer's weights."""
    if pretrained.tokenizer is None:
        raise SeqlabError(f"{pretrained.folder}: no tokenizer.json, so no text to take attention maps of")
    encoding = pretrained.tokenizer.encode(text)
    if not encoding.ids:
        raise SeqlabError("text: expected at least one token, got none")
    ids = torch.tensor([encoding.ids])  # (1, T)
    model = pretrained.model
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, GPT):
            if ids.shape[1] > model.config.block_size:
                raise SeqlabError(f"text: {ids.shape[1]} tokens, more than the model's {model.config.block_size}")
            _, layers = model(ids, need_weights=True)
            kind = "causal self-attention"
        elif isinstance(model, BertModel | BertForPreTraining | BertForSequenceClassification):
            bert = model if isinstance(model, BertModel) else model.bert
            type_ids = torch.tensor([encoding.type_ids])
            layers = bert(ids, token_type_ids=type_ids, need_weights=True)[-1]
            kind = "encoder self-attention"
        elif isinstance(model, T5):
            layers = model.encode(ids, None, need_weights=True)[-1]
            kind = "encoder self-attention"
        elif isinstance(model, T5Encoder):
            layers = model(ids, need_weights=True)[1]
            kind = "encoder self-attention"
        else:
            raise SeqlabError(f"attention maps: expected a GPT, BERT or T5 model, got {type(model).__name__}")
    finally:
        model.train(was_training)
    weights = torch.stack([layer[0] for layer in layers])  # L x (nh, T, T) -> (L, nh, T, T)
    return AttentionMaps(list(encoding.tokens), weights, pretrained.architecture, kind)
