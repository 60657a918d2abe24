"""Blocks plus heads: language models, classifiers, seq2seq, Transformers, forecasters."""

from seqlab.models.bert import BertConfig, BertForPreTraining, BertForSequenceClassification, BertModel, mask_tokens
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.t5 import T5, T5Config
from seqlab.models.transformer import TransformerSeq2Seq

__all__ = [
    "GPT",
    "T5",
    "BertConfig",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "BertModel",
    "GPTConfig",
    "Seq2SeqAttention",
    "T5Config",
    "TransformerSeq2Seq",
    "mask_tokens",
]
