"""Blocks plus heads: language models, classifiers, seq2seq, Transformers, forecasters."""

from seqlab.models.bert import BertConfig, BertForPreTraining, BertForSequenceClassification, BertModel, mask_tokens
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.huggingface import Pretrained, load_for_sequence_classification, load_pretrained, save_pretrained
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.t5 import T5, T5Config, T5Encoder
from seqlab.models.transformer import TransformerSeq2Seq

__all__ = [
    "GPT",
    "T5",
    "BertConfig",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "BertModel",
    "GPTConfig",
    "Pretrained",
    "Seq2SeqAttention",
    "T5Config",
    "T5Encoder",
    "TransformerSeq2Seq",
    "load_for_sequence_classification",
    "load_pretrained",
    "mask_tokens",
    "save_pretrained",
]
