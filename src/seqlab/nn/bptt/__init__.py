"""Backpropagation through time written out by hand: the ``bptt`` engine of RNN, LSTM and GRU.

Each recurrence is a ``torch.autograd.Function`` whose forward runs the whole sequence of one
layer and direction and whose backward is the BPTT derivation gate by gate (the module
docstrings of ``lstm``, ``lstm_ln``, ``gru`` and ``rnn`` write it out). What makes it fast,
much as in oneDNN's RNN primitive:

* the input projections of all steps are one matrix product, done before the loop
  (xg = x W_ih^T + b, (T, B, G*H)), and autograd turns the returned dL/dxg into dW_ih, db and
  dx with one product each;
* the LSTM's whole time loop, forward and backward, runs in one compiled call per layer and
  direction (``csrc/``): per step one recurrent product into the step's slice of the gate buffer,
  with the weights packed once per sequence, and one fused pointwise loop (the layer norms too);
* dW_hh = sum_t delta_t h_{t-1}^T as one product over all steps at the end;
* inference keeps one step's buffers, not T.

The kernels are built once per Python environment (``python -m seqlab.nn.bptt.build``; see
``extension``); without a compiler the same loops run in PyTorch operations (``_kernels``).
``torch_engine`` runs the same parameters through PyTorch's own fused kernels instead.
Double backward is refused with an error.
"""

from seqlab.nn.bptt._kernels import kernels, use_compiled
from seqlab.nn.bptt.gru import GRUFunction, run_gru
from seqlab.nn.bptt.lstm import LSTMFunction, run_lstm
from seqlab.nn.bptt.lstm_ln import LSTMLayerNormFunction, run_lstm_layer_norm
from seqlab.nn.bptt.rnn import RNNFunction, run_rnn

__all__ = ["GRUFunction", "LSTMFunction", "LSTMLayerNormFunction", "RNNFunction", "kernels", "run_gru", "run_lstm",
           "run_lstm_layer_norm", "run_rnn", "use_compiled"]
