"""Building blocks that read like their equations: cells, recurrent layers, initialisation, traces."""

from seqlab.nn import init
from seqlab.nn.gru_cell import GRUCell, gru_step
from seqlab.nn.lstm_cell import LSTMCell, lstm_step
from seqlab.nn.recurrent import GRU, LSTM, RNN, RecurrentLayer
from seqlab.nn.rnn_cell import RNNCell, rnn_step
from seqlab.nn.stateful import detach_state, stream_batches
from seqlab.nn.trace import Trace, record_trace

__all__ = [
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
]
