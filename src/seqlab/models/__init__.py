"""Blocks plus heads: language models, classifiers, seq2seq, Transformers, BERT, T5, taggers, forecasters.

``make_model(config, **sizes)`` is the one way from a run's ``model:`` section (``seqlab.models.config``)
to a model; every model is also importable from here to build by hand.
"""

from seqlab.models.bert import BertConfig, BertForPreTraining, BertForSequenceClassification, BertModel, mask_tokens
from seqlab.models.classifier import SequenceClassifier, classify_texts
from seqlab.models.config import (
    ClassifierConfig,
    ForecasterConfig,
    LanguageModelConfig,
    TaggerConfig,
    TranslatorConfig,
)
from seqlab.models.factory import make_model
from seqlab.models.forecaster import Forecast, ForecasterEnsemble, RecurrentForecaster, SeriesForecaster
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.huggingface import Pretrained, load_for_sequence_classification, load_pretrained, save_pretrained
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.t5 import T5, T5Config, T5Encoder
from seqlab.models.tagger import BiLSTMCRFTagger, entities, tag_tokens
from seqlab.models.transformer import TransformerSeq2Seq

__all__ = [
    "GPT",
    "T5",
    "BertConfig",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "BertModel",
    "BiLSTMCRFTagger",
    "ClassifierConfig",
    "Forecast",
    "ForecasterConfig",
    "ForecasterEnsemble",
    "GPTConfig",
    "LanguageModelConfig",
    "Pretrained",
    "RecurrentForecaster",
    "RecurrentLanguageModel",
    "Seq2SeqAttention",
    "SequenceClassifier",
    "SeriesForecaster",
    "T5Config",
    "T5Encoder",
    "TaggerConfig",
    "TransformerSeq2Seq",
    "TranslatorConfig",
    "classify_texts",
    "entities",
    "load_for_sequence_classification",
    "load_pretrained",
    "make_model",
    "mask_tokens",
    "save_pretrained",
    "tag_tokens",
]
