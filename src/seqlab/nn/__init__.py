"""Building blocks that read like their equations: cells, recurrent layers, initialisation, traces."""

from seqlab.nn import init, masks
from seqlab.nn.attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    ScaledDotProductAttention,
    scaled_dot_product_attention,
)
from seqlab.nn.gru_cell import GRUCell, gru_step
from seqlab.nn.layer_norm import LayerNorm, RMSNorm
from seqlab.nn.lstm_cell import LSTMCell, lstm_step
from seqlab.nn.multihead import KVCache, MultiheadAttention
from seqlab.nn.positional import (
    LearnedPositionalEmbedding,
    RelativePositionBias,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
)
from seqlab.nn.recurrent import GRU, LSTM, RNN, RecurrentLayer
from seqlab.nn.rnn_cell import RNNCell, rnn_step
from seqlab.nn.stateful import detach_state, stream_batches
from seqlab.nn.trace import Trace, record_trace
from seqlab.nn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [  # noqa: RUF022 (attention and transformer names appended as a group)
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "RecurrentLayer",
    "Trace",
    "detach_state",
    "gru_step",
    "init",
    "lstm_step",
    "record_trace",
    "rnn_step",
    "stream_batches",
    "AdditiveAttention",
    "DotAttention",
    "GeneralAttention",
    "KVCache",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiheadAttention",
    "RMSNorm",
    "RelativePositionBias",
    "RotaryEmbedding",
    "ScaledDotProductAttention",
    "SinusoidalPositionalEncoding",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "masks",
    "scaled_dot_product_attention",
]
