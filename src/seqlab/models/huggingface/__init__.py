"""Hugging Face checkpoints in and out of seqlab's models: GPT-2, BERT and T5.

``load_pretrained(folder)`` reads a transformers model folder into ``seqlab.models.GPT``, ``BertModel``,
``BertForPreTraining``, ``BertForSequenceClassification``, ``T5`` or ``T5Encoder`` (with its
``tokenizer.json`` as a ``seqlab.text.Tokenizer``); ``save_pretrained(model, folder)`` writes one that
transformers' ``from_pretrained`` reads; ``attention_maps`` runs a loaded model on a text. One
name-mapping table per family: ``gpt2``, ``bert``, ``t5``.
"""

from seqlab.models.huggingface.attention import AttentionMaps, attention_maps
from seqlab.models.huggingface.pretrained import (
    Pretrained,
    load_for_sequence_classification,
    load_pretrained,
    save_pretrained,
)

__all__ = [
    "AttentionMaps",
    "Pretrained",
    "attention_maps",
    "load_for_sequence_classification",
    "load_pretrained",
    "save_pretrained",
]
