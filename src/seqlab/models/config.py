"""The ``model:`` section of a run's config, one dataclass per kind of model; ``make_model`` builds from them.

Each field is a hyper-parameter a user chooses; what the data decides (vocabulary sizes, label
names, the horizon) is passed to ``make_model`` beside the config. ``arch`` is the one name for
the choice of architecture in every section. Values are checked when the config is built, so a
bad one fails before any data is read (``seqlab validate`` runs the same checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from seqlab.checks import integer, number, probability
from seqlab.errors import SeqlabError


def _check(config, sizes: tuple[str, ...] = (), dropouts: tuple[str, ...] = ("dropout",)) -> None:
    for name in sizes:
        integer(getattr(config, name), f"model.{name}", low=1)
    for name in dropouts:
        probability(getattr(config, name), f"model.{name}", one_allowed=False)
    if "layer_options" in config.__dataclass_fields__ and not isinstance(config.layer_options, dict):
        raise SeqlabError(f"model.layer_options: expected a mapping of option names to values, "
                          f"got {config.layer_options!r}")


@dataclass(frozen=True)
class ClassifierConfig:
    """``SequenceClassifier``: embedding -> recurrent layer or Transformer encoder -> pooling -> linear head;
    ``arch`` bert: ``BertForSequenceClassification``, a BERT encoder (pretrained or not) -> pooling -> head.

    For a BERT, embedding_dim is its width H, hidden_size its feed-forward width and nhead its heads,
    as for the transformer arch; with ``pretrained`` they are the pretrained encoder's.
    """

    arch: Literal["lstm", "gru", "rnn", "transformer", "bert"] = "lstm"
    embedding_dim: int = 128  # E (a BERT's width H)
    hidden_size: int = 128  # H of the recurrent layer, or the Transformer's (BERT's) feed-forward width
    num_layers: int = 1
    bidirectional: bool = True  # recurrent encoders: both directions, concatenated
    nhead: int = 4  # transformer and bert only
    pooling: Literal["max", "mean", "last", "cls"] = "max"  # last: recurrent only; cls: bert only
    dropout: float = 0.5
    vectors: str | None = None  # word2vec/GloVe file to initialise the embedding (seqlab.embeddings)
    freeze_vectors: bool = False  # keep the initialised embedding fixed
    pretrained: str | None = None  # an mlm run (folder or checkpoint): its encoder and tokenizer start the model
    pretrained_weights: bool = True  # false: the pretrained run's sizes and tokenizer, random weights (a control)
    max_positions: int | None = None  # bert: its position table (None: data.max_length); pretrained sets it
    freeze_encoder: bool = False  # bert: train the head only
    encoder_lr_scale: float = 1.0  # bert: the encoder learns at fit.lr times this (the head at fit.lr)
    layer_options: dict = field(default_factory=dict)  # extra recurrent-layer options (peephole, engine, ...)

    def __post_init__(self) -> None:
        _check(self, ("embedding_dim", "hidden_size", "num_layers", "nhead"))
        if self.max_positions is not None:
            integer(self.max_positions, "model.max_positions", low=1)
        number(self.encoder_lr_scale, "model.encoder_lr_scale", low=0.0, low_open=True)
        bert = self.arch == "bert" or self.pretrained is not None  # a pretrained encoder is a BERT
        attention = bert or self.arch == "transformer"
        if attention and self.embedding_dim % self.nhead:
            raise SeqlabError(f"model.nhead: the embedding width {self.embedding_dim} must be divisible by the "
                              f"{self.nhead} heads")
        if self.pooling == "last" and attention:
            raise SeqlabError("model.pooling: 'last' needs a recurrent arch; use 'max' or 'mean' with a "
                              f"{'bert' if bert else self.arch}")
        if self.pooling == "cls" and not bert:
            raise SeqlabError(f"model.pooling: 'cls' is the [CLS] state of a BERT (model.arch=bert), got arch "
                              f"{self.arch!r}")
        if bert and self.vectors is not None:
            raise SeqlabError("model.vectors: word vectors start a recurrent or transformer classifier's embedding; "
                              "a BERT starts from model.pretrained")
        if not bert and (self.freeze_encoder or self.encoder_lr_scale != 1.0):
            raise SeqlabError("model.freeze_encoder and model.encoder_lr_scale are for a BERT encoder (model.arch=bert)"
                              "; a recurrent classifier's pretrained part is its embedding: use model.freeze_vectors")


@dataclass(frozen=True)
class MaskedLanguageModelConfig:
    """``BertForPreTraining``: a post-LN BERT encoder with its masked-LM head (and a pair head for nsp or sop)."""

    arch: Literal["bert"] = "bert"
    hidden_size: int = 256  # H
    num_layers: int = 4  # L encoder layers
    num_heads: int = 4  # A attention heads
    intermediate_size: int = 1024  # feed-forward width (4H in BERT)
    dropout: float = 0.1  # on embeddings, attention weights and residual branches

    def __post_init__(self) -> None:
        _check(self, ("hidden_size", "num_layers", "num_heads", "intermediate_size"))
        if self.hidden_size % self.num_heads:
            raise SeqlabError(f"model.num_heads: the width hidden_size={self.hidden_size} must be divisible by "
                              f"num_heads={self.num_heads}")


@dataclass(frozen=True)
class LanguageModelConfig:
    """``arch`` lstm/gru/rnn: ``RecurrentLanguageModel``; gpt: ``GPT`` (n_layer blocks of width n_embd)."""

    arch: Literal["lstm", "gru", "rnn", "gpt"] = "lstm"
    embedding_dim: int = 128  # E of a recurrent model
    hidden_size: int = 512  # H of a recurrent model
    num_layers: int = 2  # L recurrent layers
    n_layer: int = 4  # GPT blocks
    n_head: int = 4  # GPT heads
    n_embd: int = 128  # GPT width
    positions: Literal["learned", "sinusoidal", "rope"] = "learned"  # GPT positions
    dropout: float = 0.1
    tie_weights: bool = False  # recurrent: needs embedding_dim == hidden_size; GPT always ties
    pretrained: str | None = None  # an lm run (folder or checkpoint): its model, weights and tokenizer go on
    pretrained_weights: bool = True  # false: the pretrained run's model and tokenizer, random weights (a control)
    layer_options: dict = field(default_factory=dict)  # extra recurrent-layer options (peephole, engine, ...)

    def __post_init__(self) -> None:
        _check(self, ("embedding_dim", "hidden_size", "num_layers", "n_layer", "n_head", "n_embd"))
        if self.arch == "gpt" and self.n_embd % self.n_head:
            raise SeqlabError(f"model.n_head: the width n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if self.tie_weights and self.arch != "gpt" and self.embedding_dim != self.hidden_size:
            raise SeqlabError(f"model.tie_weights: needs embedding_dim == hidden_size, got {self.embedding_dim} and "
                              f"{self.hidden_size}")


@dataclass(frozen=True)
class TranslatorConfig:
    """``arch`` transformer: ``TransformerSeq2Seq`` (pre-LN); gru/lstm: ``Seq2SeqAttention``."""

    arch: Literal["transformer", "gru", "lstm"] = "transformer"
    d_model: int = 256  # transformer width E (gru, lstm: the embedding size)
    nhead: int = 4
    num_layers: int = 3  # encoder and decoder layers
    dim_feedforward: int = 1024
    hidden_size: int = 256  # gru, lstm: H
    attention: Literal["additive", "general", "dot"] = "additive"  # gru, lstm only
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _check(self, ("d_model", "nhead", "num_layers", "dim_feedforward", "hidden_size"))
        if self.arch == "transformer" and self.d_model % self.nhead:
            raise SeqlabError(f"model.nhead: d_model={self.d_model} must be divisible by nhead={self.nhead}")
        if self.arch != "transformer" and self.attention == "dot":
            raise SeqlabError("model.attention: 'dot' needs keys as wide as queries, but the encoder is "
                              "bidirectional; use 'general' or 'additive'")


@dataclass(frozen=True)
class TaggerConfig:
    """``BiLSTMCRFTagger``: word embedding + character CNN -> BiLSTM -> CRF."""

    embedding_dim: int = 100
    char_dim: int = 25
    char_filters: int = 50  # 0 disables the character CNN
    char_width: int = 3
    hidden_size: int = 100
    num_layers: int = 1
    dropout: float = 0.5
    constrained: bool = True  # forbid invalid BIO transitions in the CRF

    def __post_init__(self) -> None:
        _check(self, ("embedding_dim", "char_dim", "char_width", "hidden_size", "num_layers"))
        integer(self.char_filters, "model.char_filters", low=0)


@dataclass(frozen=True)
class ForecasterConfig:
    """An ensemble of ``RecurrentForecaster`` models (trained with seeds seed, seed + 1, ...), forecasts averaged."""

    arch: Literal["lstm", "gru"] = "lstm"
    hidden_size: int = 32  # H
    num_layers: int = 1
    mode: Literal["direct", "recursive"] = "direct"
    head: Literal["point", "gaussian", "quantile"] = "point"
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)  # levels of the quantile head
    interval: float = 0.8  # coverage of the reported prediction interval
    residual: Literal["last", "seasonal", "none"] = "seasonal"  # what the network's output is added to
    dropout: float = 0.0
    ensemble: int = 5  # members

    def __post_init__(self) -> None:
        _check(self, ("hidden_size", "num_layers", "ensemble"))
        number(self.interval, "model.interval", low=0.0, high=1.0, low_open=True, high_open=True)
        for level in self.quantiles:
            number(level, "model.quantiles", low=0.0, high=1.0, low_open=True, high_open=True)
        if self.head == "quantile" and 0.5 not in self.quantiles:
            raise SeqlabError(f"model.quantiles: the quantile head needs the median 0.5, got {list(self.quantiles)}")
        if self.residual == "seasonal" and self.mode == "recursive":
            raise SeqlabError("model.residual: 'seasonal' is for mode 'direct'; recursive forecasts use 'last'")


ModelConfig = (ClassifierConfig | LanguageModelConfig | MaskedLanguageModelConfig | TranslatorConfig | TaggerConfig
               | ForecasterConfig)

__all__ = ["ClassifierConfig", "ForecasterConfig", "LanguageModelConfig", "MaskedLanguageModelConfig", "ModelConfig",
           "TaggerConfig", "TranslatorConfig"]
