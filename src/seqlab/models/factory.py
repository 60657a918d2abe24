"""``make_model``: the one place where a ``model:`` config and the sizes the data decides become a model.

    config (seqlab.models.config) + sizes (vocabularies, labels, horizon, ...) -> nn.Module

The architecture switch lives here and nowhere else: recipes, the tour, the diagnostics and the
loaders of saved runs all build their models through it, so a checkpoint's config rebuilds the
exact model that wrote it.

Example:
    >>> from seqlab.models.config import LanguageModelConfig
    >>> model = make_model(LanguageModelConfig(arch="gru", hidden_size=32), vocab_size=65, block_size=64)
    >>> type(model).__name__, model.vocab_size
    ('RecurrentLanguageModel', 65)
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.bert import BertConfig, BertForPreTraining, BertForSequenceClassification
from seqlab.models.classifier import SequenceClassifier
from seqlab.models.config import (
    ClassifierConfig,
    ForecasterConfig,
    LanguageModelConfig,
    MaskedLanguageModelConfig,
    ModelConfig,
    TaggerConfig,
    TranslatorConfig,
)
from seqlab.models.forecaster import ForecasterEnsemble, RecurrentForecaster
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.tagger import BiLSTMCRFTagger
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.nn.crf import bio_constraints


def make_model(config: ModelConfig, **sizes) -> nn.Module:
    """The model of ``config`` with the data's ``sizes``.

    Sizes by config:
        ClassifierConfig: vocab_size, num_classes; arch bert also max_positions (its position table).
        LanguageModelConfig: vocab_size, block_size (the GPT's context window).
        MaskedLanguageModelConfig: vocab_size, block_size (the position table), pair_head (nsp or sop).
        TranslatorConfig: source_vocab_size, target_vocab_size.
        TaggerConfig: vocab_size, char_vocab_size, tags (the tag names, for the BIO constraints).
        ForecasterConfig: horizon, n_covariates, season.
    """
    builders = {ClassifierConfig: _classifier, LanguageModelConfig: _language_model,
                MaskedLanguageModelConfig: _masked_language_model, TranslatorConfig: _translator, TaggerConfig: _tagger,
                ForecasterConfig: _forecaster}
    return builders[type(config)](config, **sizes)


def bert_config(config: ClassifierConfig | MaskedLanguageModelConfig, vocab_size: int, max_positions: int
                ) -> BertConfig:
    """The ``BertConfig`` of a classifier's BERT (width embedding_dim, feed-forward hidden_size) or of an MLM's."""
    if isinstance(config, MaskedLanguageModelConfig):
        return BertConfig(vocab_size=vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
                          num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
                          max_position_embeddings=max_positions, dropout=config.dropout)
    return BertConfig(vocab_size=vocab_size, hidden_size=config.embedding_dim, num_hidden_layers=config.num_layers,
                      num_attention_heads=config.nhead, intermediate_size=config.hidden_size,
                      max_position_embeddings=max_positions, dropout=config.dropout)


def _masked_language_model(config: MaskedLanguageModelConfig, vocab_size: int, block_size: int,
                           pair_head: bool) -> BertForPreTraining:
    return BertForPreTraining(bert_config(config, vocab_size, block_size), next_sentence=pair_head)


def _classifier(config: ClassifierConfig, vocab_size: int, num_classes: int, max_positions: int | None = None
                ) -> nn.Module:
    if config.arch == "bert":
        if max_positions is None:
            raise SeqlabError("make_model: a BERT classifier needs max_positions, the size of its position table")
        model = BertForSequenceClassification(bert_config(config, vocab_size, max_positions), num_classes,
                                              pooling=config.pooling)
        model.bert.requires_grad_(not config.freeze_encoder)
        return model
    return SequenceClassifier(vocab_size, num_classes, config.embedding_dim, config.arch, config.hidden_size,
                              config.num_layers, config.bidirectional, config.nhead, pooling=config.pooling,
                              dropout=config.dropout, layer_options=config.layer_options)


def _language_model(config: LanguageModelConfig, vocab_size: int, block_size: int) -> nn.Module:
    if config.arch == "gpt":
        return GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=config.n_layer,
                             n_head=config.n_head, n_embd=config.n_embd, dropout=config.dropout,
                             positions=config.positions))
    return RecurrentLanguageModel(vocab_size, config.embedding_dim, config.hidden_size, config.num_layers,
                                  cell=config.arch, dropout=config.dropout, tie_weights=config.tie_weights,
                                  layer_options=config.layer_options)


def _translator(config: TranslatorConfig, source_vocab_size: int, target_vocab_size: int) -> nn.Module:
    if config.arch == "transformer":
        return TransformerSeq2Seq(source_vocab_size, target_vocab_size, d_model=config.d_model, nhead=config.nhead,
                                  num_encoder_layers=config.num_layers, num_decoder_layers=config.num_layers,
                                  dim_feedforward=config.dim_feedforward, dropout=config.dropout, norm_first=True)
    return Seq2SeqAttention(source_vocab_size, target_vocab_size, embedding_dim=config.d_model,
                            hidden_size=config.hidden_size, num_layers=1, cell=config.arch,
                            attention=config.attention, dropout=config.dropout)


def _tagger(config: TaggerConfig, vocab_size: int, char_vocab_size: int, tags: Sequence[str]) -> BiLSTMCRFTagger:
    allowed, starts = bio_constraints(list(tags)) if config.constrained else (None, None)
    return BiLSTMCRFTagger(vocab_size, len(tags), char_vocab_size=char_vocab_size if config.char_filters else 0,
                           embedding_dim=config.embedding_dim, char_dim=config.char_dim,
                           char_filters=config.char_filters or 1, char_width=config.char_width,
                           hidden_size=config.hidden_size, num_layers=config.num_layers, dropout=config.dropout,
                           allowed=allowed, allowed_start=starts)


def _forecaster(config: ForecasterConfig, horizon: int, n_covariates: int, season: int) -> ForecasterEnsemble:
    return ForecasterEnsemble([
        RecurrentForecaster(n_targets=1, n_covariates=n_covariates, horizon=horizon, hidden_size=config.hidden_size,
                            num_layers=config.num_layers, cell=config.arch, mode=config.mode, head=config.head,
                            quantiles=config.quantiles, residual=config.residual, season=season,
                            dropout=config.dropout)
        for _ in range(config.ensemble)])


__all__ = ["bert_config", "make_model"]
