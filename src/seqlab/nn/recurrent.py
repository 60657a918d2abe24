"""Recurrent layers: the time loop, stacking, directions, lengths and packing around a cell step.

A cell does one step; a layer owns everything across steps. ``RNN``, ``LSTM`` and ``GRU``
take ``torch.nn.RNN/LSTM/GRU``'s arguments, name and shape their parameters the same way
(``weight_ih_l0``, ``weight_hh_l0_reverse``, ...) and return what PyTorch returns, so a parity
test is one ``load_state_dict``.
"""

from __future__ import annotations

import inspect
import numbers

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqlab import checks as _checks
from seqlab.errors import SeqlabError
from seqlab.nn import _params
from seqlab.nn import bptt as bptt_engine
from seqlab.nn import init as nn_init
from seqlab.nn.bptt import torch_engine
from seqlab.nn.bptt.lstm_ln import run_lstm_layer_norm
from seqlab.nn.gru_cell import gru_parameter_shapes, gru_step
from seqlab.nn.lstm_cell import (
    check_lstm_options,
    lstm_parameter_shapes,
    lstm_step,
)
from seqlab.nn.rnn_cell import NONLINEARITIES, rnn_parameter_shapes, rnn_step

ENGINES = ("auto", "reference", "bptt", "torch")


class RecurrentLayer(nn.Module):
    """The loop shared by ``RNN``, ``LSTM`` and ``GRU``.

    Subclasses define ``_shapes(input_size)`` (the cell's parameter table), ``state_sizes``
    (the feature size of each state tensor, h first) and ``_step(x, state, params, mask)``.

    Regularisation PyTorch lacks, all off by default and active only in training mode:

    * ``input_dropout``: variational dropout (Gal & Ghahramani 2016) on each layer's input,
      one Bernoulli mask per sequence shared by all its steps.
    * ``recurrent_dropout``: variational dropout on h_{t-1} where it enters W_hh, again one
      mask per sequence (and per layer and direction).
    * ``weight_drop``: DropConnect on W_hh (Wan et al. 2013; AWD-LSTM, Merity et al. 2018),
      one mask on the recurrent weights per forward call.
    * ``zoneout``: (Krueger et al. 2017) each unit of the state keeps its previous value with
      probability p at each step; at evaluation the expectation p * old + (1 - p) * new.

    ``dropout`` is PyTorch's: plain dropout on the outputs of every layer but the last.
    Every probability is in [0, 1) (at 1 nothing would pass, and the variational masks divide
    by 1 - p). Options a layer does not take (a config's ``layer_options``) are refused with the
    list of those it does take.

    ``engine`` chooses how the time loop runs; all give the same results and gradients:

    * ``"reference"``: the cell step in a Python loop under autograd, the readable path
      (always used while ``record_trace`` is recording).
    * ``"bptt"``: ``seqlab.nn.bptt``, the forward and the hand-written backward of a whole
      sequence as one ``torch.autograd.Function`` per layer and direction (no double backward).
    * ``"torch"``: PyTorch's fused kernels (``torch._VF``) on these same parameters, for the
      configurations ``torch.nn`` has (no peephole, coupled gate, layer norm, reset-before GRU,
      recurrent dropout or zoneout).
    * ``"auto"`` (default): the fastest engine that supports the configuration
      (see ``supported_engines``).

    The random masks (input and recurrent dropout, weight-drop, zoneout) are drawn by the
    layer, in the same order whatever the engine, so under one seed every engine sees the
    same masks.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 input_dropout: float = 0.0, recurrent_dropout: float = 0.0, weight_drop: float = 0.0,
                 zoneout: float = 0.0, init="torch", engine: str = "auto", device=None, dtype=None, **unknown):
        super().__init__()
        self._refuse_unknown_options(unknown)
        input_size = _checks.positive_int(input_size, "input_size")
        hidden_size = _checks.positive_int(hidden_size, "hidden_size")
        num_layers = _checks.positive_int(num_layers, "num_layers")
        # every probability in [0, 1): at 1 nothing would pass, and the variational masks divide by 1 - p
        probabilities = {name: _checks.probability(p, name) for name, p in (
            ("dropout", dropout), ("input_dropout", input_dropout), ("recurrent_dropout", recurrent_dropout),
            ("weight_drop", weight_drop), ("zoneout", zoneout))}
        nn_init.check_scheme(init)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = _checks.flag(bias, "bias")
        self.batch_first = _checks.flag(batch_first, "batch_first")
        self.dropout = probabilities["dropout"]
        self.bidirectional = _checks.flag(bidirectional, "bidirectional")
        self.input_dropout = probabilities["input_dropout"]
        self.recurrent_dropout = probabilities["recurrent_dropout"]
        self.weight_drop = probabilities["weight_drop"]
        self.zoneout = probabilities["zoneout"]
        self.init = init
        self.engine = engine
        self._tracer = None  # set by seqlab.nn.trace.record_trace
        self._cell_names = tuple(self._shapes(input_size))
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else self.num_directions * self.state_sizes[0]
            for direction in range(self.num_directions):
                _params.register(self, self._shapes(layer_input), _params.suffix(layer, direction == 1),
                                 device=device, dtype=dtype)
        self.reset_parameters()

    def _refuse_unknown_options(self, unknown: dict) -> None:
        """A keyword neither the layer nor ``RecurrentLayer`` takes (from a config's ``layer_options``)."""
        if not unknown:
            return
        known = set()
        for init in (type(self).__init__, RecurrentLayer.__init__):
            known |= {p.name for p in inspect.signature(init).parameters.values()
                      if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        _checks.known_keywords(unknown, known, type(self).__name__)

    # -- what a subclass provides ------------------------------------------------------------
    def _shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def _step(self, x, state, params, recurrent_mask):
        raise NotImplementedError

    def _run_bptt(self, x, state, params, keeps, valid, recurrent_mask, reverse):
        """One direction on the ``bptt`` engine: (output (T, B, H_out), final state tuple)."""
        raise NotImplementedError

    def _bptt_unsupported(self) -> str | None:
        """What keeps the ``bptt`` engine from this configuration, or None."""
        return None

    def _torch_mode(self) -> str | None:
        """The ``torch._VF`` function for this configuration without the regularisers, or None."""
        return None

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    # -----------------------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        nn_init.apply(self, self.init)

    @property
    def engine(self) -> str:
        return self._engine

    @engine.setter
    def engine(self, value: str) -> None:
        if not isinstance(value, str) or value not in ENGINES:
            raise SeqlabError(f"engine: expected one of {', '.join(ENGINES)}, got {value!r}")
        self._engine = value

    def _torch_unsupported(self) -> str | None:
        """What keeps PyTorch's fused kernels from this configuration (in the current mode), or None."""
        if self._torch_mode() is None:
            return "a variant torch.nn does not have"
        if self.zoneout:
            return "zoneout"
        if self.recurrent_dropout and self.training:
            return "recurrent_dropout"
        return None

    def supported_engines(self) -> tuple[str, ...]:
        """The engines that can run this configuration now, fastest first: what ``auto`` picks from.

        The ``bptt`` engine comes first for the GRU and RNN, which PyTorch runs without oneDNN, and
        for the LSTM when its compiled kernels are built and cover the parameters (CPU, float32 or
        float64), where it matches or beats oneDNN's LSTM; otherwise PyTorch's fused kernels come
        first (see ``benchmarks/rnn.py``). The reference loop runs everything.
        """
        engines = []
        if self._torch_unsupported() is None:
            engines.append("torch")
        if self._bptt_unsupported() is None:
            engines.append("bptt")
        engines.append("reference")
        return tuple(self._order_engines(engines))

    def _order_engines(self, engines: list[str]) -> list[str]:
        return engines

    def _engine_for_call(self) -> str:
        if self._tracer is not None:
            return "reference"  # the trace records the reference loop's steps
        if self.engine == "auto":
            return self.supported_engines()[0]
        if self.engine == "torch" and (reason := self._torch_unsupported()) is not None:
            raise SeqlabError(f"engine='torch': PyTorch's fused kernels cannot run {reason}; "
                              "use engine='bptt', 'reference' or 'auto'")
        if self.engine == "bptt" and (reason := self._bptt_unsupported()) is not None:
            raise SeqlabError(f"engine='bptt' does not support {reason} yet; use engine='reference' or 'auto'")
        return self.engine

    def cell_parameters(self, layer: int, reverse: bool = False) -> dict[str, torch.Tensor]:
        """The parameters of one layer and direction, keyed as the cell names them."""
        return _params.collect(self, self._cell_names, _params.suffix(layer, reverse))

    def forward(self, input, hx=None, lengths=None):
        """Run the layer over a sequence.

        Args:
            input: (T, B, I), or (B, T, I) when ``batch_first``, or unbatched (T, I), or a
                ``PackedSequence``.
            hx: initial state, (D * num_layers, B, H_out) even when batch_first (an LSTM takes a
                pair (h_0, c_0), c_0 with H features); zeros when omitted.
            lengths: optional integer lengths (B,) of a padded batch, each in [1, T], a list or a
                CPU tensor (host values, as ``pack_padded_sequence`` takes them): steps past a
                sequence's length leave its state unchanged and give zero outputs.

        An empty batch (B = 0) gives empty outputs and states, as ``torch.nn`` does; T = 0 is
        refused, as ``torch.nn`` refuses it.

        Returns:
            ``(output, h_n)`` (an LSTM returns ``(output, (h_n, c_n))``) exactly as PyTorch does:
            output (T, B, D * H_out) (batch-first if asked, packed if the input was),
            h_n (D * num_layers, B, H_out).
        """
        x, lengths, packed, unbatched = self._prepare_input(input, lengths)
        T, B, _ = x.shape
        states = self._prepare_state(hx, B, x, unbatched)
        valid = None if lengths is None else torch.arange(T, device=x.device)[:, None] < lengths[None, :]  # (T, B)

        engine = self._engine_for_call()
        if B == 0 and engine == "bptt":
            engine = "reference"  # an empty batch costs nothing anywhere, and nn.bptt's LSTM backward cannot reshape it
        run_direction = self._run_direction if engine == "reference" else self._run_direction_bptt
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            if self.training and self.input_dropout:
                mask = _bernoulli_mask(layer_input.new_empty(B, layer_input.shape[-1]), self.input_dropout)
                layer_input = layer_input * mask  # one mask per sequence, every step (T, B, I) * (B, I)
            if engine == "torch":
                first = layer * self.num_directions
                params = [self._effective_parameters(layer, d == 1) for d in range(self.num_directions)]
                layer_input, layer_finals = torch_engine.run_layer(
                    self._torch_mode(), layer_input, states[first : first + self.num_directions], params, lengths)
                finals.extend(layer_finals)
            else:
                outputs = []
                for direction in range(self.num_directions):
                    index = layer * self.num_directions + direction
                    params = self._effective_parameters(layer, direction == 1)
                    out, final = run_direction(layer_input, states[index], params, valid, layer, direction)
                    outputs.append(out)
                    finals.append(final)
                layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)  # (T, B, D*H_out)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)

        output = layer_input
        final_states = tuple(torch.stack([f[k] for f in finals]) for k in range(len(self.state_sizes)))
        return self._format_output(output, final_states, input, packed, unbatched)

    def _effective_parameters(self, layer: int, reverse: bool) -> dict[str, torch.Tensor]:
        params = self.cell_parameters(layer, reverse)
        if self.training and self.weight_drop:
            params["weight_hh"] = F.dropout(params["weight_hh"], self.weight_drop, training=True)
        return params

    def _run_direction(self, layer_input, state, params, valid, layer, direction):
        """The reference engine: the cell step in a Python loop under autograd."""
        T, B, _ = layer_input.shape
        recurrent_mask = None
        if self.training and self.recurrent_dropout:
            recurrent_mask = _bernoulli_mask(layer_input.new_empty(B, self.state_sizes[0]), self.recurrent_dropout)
        steps = range(T - 1, -1, -1) if direction == 1 else range(T)
        xs = layer_input.unbind(0)  # T tensors (B, I); unbind keeps the backward linear in T
        valid_t = None if valid is None else valid.unsqueeze(-1).unbind(0)  # T masks (B, 1)
        outputs = [None] * T
        trace = self._tracer.start(layer, direction, T) if self._tracer is not None else None
        for t in steps:
            new_state, gates = self._step(xs[t], state, params, recurrent_mask)
            if self.zoneout:
                new_state = tuple(_zoneout(old, new, self.zoneout, self.training)
                                  for old, new in zip(state, new_state))
            if valid_t is not None:
                # past a sequence's end its state stays as it was and its output is zero
                new_state = tuple(torch.where(valid_t[t], new, old) for new, old in zip(new_state, state))
                outputs[t] = new_state[0] * valid_t[t]
            else:
                outputs[t] = new_state[0]
            state = new_state
            if trace is not None:
                trace.record(t, new_state, gates)
        return torch.stack(outputs), state  # (T, B, H_out)

    def _run_direction_bptt(self, layer_input, state, params, valid, layer, direction):
        """The ``bptt`` engine, fed the same random masks, drawn in the same order, as the reference loop."""
        T, B, _ = layer_input.shape
        recurrent_mask = None
        if self.training and self.recurrent_dropout:
            recurrent_mask = _bernoulli_mask(layer_input.new_empty(B, self.state_sizes[0]), self.recurrent_dropout)
        keeps = tuple(None for _ in self.state_sizes)
        if self.zoneout and not self.training:
            keeps = tuple(self.zoneout for _ in self.state_sizes)  # the expectation p * old + (1 - p) * new
        elif self.zoneout:
            keeps = tuple(layer_input.new_empty(T, B, size) for size in self.state_sizes)
            for t in range(T - 1, -1, -1) if direction == 1 else range(T):
                for keep in keeps:  # the reference draws h's then c's mask at every step, in step order
                    keep[t].bernoulli_(self.zoneout)
        valid = None if valid is None else valid.unsqueeze(-1)  # (T, B, 1)
        return self._run_bptt(layer_input, state, params, keeps, valid, recurrent_mask, direction == 1)

    # -- input checks and formatting ----------------------------------------------------------
    def _prepare_input(self, input, lengths):
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise SeqlabError("lengths: a PackedSequence carries its own lengths; pass one or the other")
            x, lengths = pad_packed_sequence(input)  # (T, B, I) in the caller's batch order
            lengths = lengths.to(x.device)
            self._check_features(x)
            return x, lengths, True, False
        if not isinstance(input, torch.Tensor):
            raise SeqlabError(f"input: expected a tensor or a PackedSequence, got {type(input).__name__}")
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if input.dim() not in (2, 3):
            raise SeqlabError(f"input: expected a 3-D tensor {layout} with I={self.input_size} "
                              f"or unbatched (T, I), got shape {tuple(input.shape)}")
        unbatched = input.dim() == 2
        if unbatched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        self._check_features(x)
        if x.shape[0] == 0:
            raise SeqlabError("input: expected at least one time step, got T=0")
        if lengths is not None:
            lengths = _check_lengths(lengths, T=x.shape[0], B=x.shape[1], device=x.device)
            if x.shape[1] == 0:
                lengths = None  # an empty batch has no step to mask (and PyTorch cannot pack it)
        return x, lengths, False, unbatched

    def _check_features(self, x):
        if x.shape[-1] != self.input_size:
            raise SeqlabError(f"input: expected {self.input_size} features in the last dimension, "
                              f"got shape {tuple(x.shape)}")
        if x.dtype != self.weight_ih_l0.dtype:
            raise SeqlabError(f"input: expected dtype {self.weight_ih_l0.dtype} (the layer's parameters), "
                              f"got {x.dtype}")

    def _prepare_state(self, hx, B, x, unbatched):
        """Initial states as a list, one tuple (h, [c]) per layer and direction."""
        count = self.num_layers * self.num_directions
        names = ("h_0", "c_0")[: len(self.state_sizes)]
        if hx is None:
            zeros = [x.new_zeros(count, B, size) for size in self.state_sizes]
        else:
            given = hx if len(self.state_sizes) > 1 else (hx,)
            if len(self.state_sizes) > 1 and (not isinstance(hx, tuple | list) or len(hx) != 2):
                raise SeqlabError("hx: expected a pair (h_0, c_0) for an LSTM")
            zeros = []
            for name, size, state in zip(names, self.state_sizes, given):
                expected = (count, size) if unbatched else (count, B, size)
                if not isinstance(state, torch.Tensor) or tuple(state.shape) != expected:
                    got = tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__
                    raise SeqlabError(f"{name}: expected shape {expected} (num_layers * num_directions, "
                                      f"batch, features), got {got}")
                if state.dtype != x.dtype:
                    raise SeqlabError(f"{name}: expected dtype {x.dtype}, got {state.dtype}")
                if state.device != x.device:
                    raise SeqlabError(f"{name}: expected a tensor on {x.device} (the input's device), "
                                      f"got one on {state.device}")
                zeros.append(state.unsqueeze(1) if unbatched else state)
        return [tuple(s[i] for s in zeros) for i in range(count)]

    def _format_output(self, output, final_states, input, packed, unbatched):
        if packed:
            sorted_output = output.index_select(1, input.sorted_indices) if input.sorted_indices is not None \
                else output
            lengths_sorted = _lengths_from_batch_sizes(input.batch_sizes)
            data = pack_padded_sequence(sorted_output, lengths_sorted, enforce_sorted=True).data
            output = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            output = output.squeeze(1)
            final_states = tuple(s.squeeze(1) for s in final_states)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, final_states[0] if len(final_states) == 1 else final_states

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False,
                    "input_dropout": 0.0, "recurrent_dropout": 0.0, "weight_drop": 0.0, "zoneout": 0.0,
                    "engine": "auto"}
        for name, default in defaults.items():
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


def _bernoulli_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """A dropout mask scaled by 1/(1-p), so the expectation of masked values is unchanged."""
    return like.bernoulli_(1 - p) / (1 - p)


def _zoneout(old: torch.Tensor, new: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if training:
        keep = torch.empty_like(new).bernoulli_(p)
        return keep * old + (1 - keep) * new
    return p * old + (1 - p) * new


def _lengths_from_batch_sizes(batch_sizes: torch.Tensor) -> torch.Tensor:
    """Sorted (descending) lengths of a packed batch from its per-step batch sizes."""
    batch = int(batch_sizes[0])
    steps = torch.arange(batch)
    return (batch_sizes[None, :] > steps[:, None]).sum(1)


def _check_lengths(lengths, T: int, B: int, device) -> torch.Tensor:
    """lengths (B,): integers in [1, T], on the CPU (host values, as ``pack_padded_sequence`` needs them).

    Reading host values costs no device synchronisation; the check would cost one on a GPU,
    which is why a GPU tensor is refused rather than copied back. B = 0 (an empty batch) takes
    an empty ``lengths``. Returns the lengths as int64 on ``device`` (for the step masks).
    """
    if isinstance(lengths, list | tuple):
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in lengths):
            raise SeqlabError(f"lengths: expected {B} integers, got {list(lengths)[:8]!r}")
        lengths = torch.tensor(lengths, dtype=torch.long)
    if not isinstance(lengths, torch.Tensor):
        raise SeqlabError(f"lengths: expected a 1-D integer tensor or list of {B} lengths, "
                          f"got {type(lengths).__name__}")
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise SeqlabError(f"lengths: expected a 1-D tensor of B={B} lengths, got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise SeqlabError(f"lengths: expected an integer dtype, got {lengths.dtype}")
    if lengths.device.type != "cpu":
        raise SeqlabError(f"lengths: expected a CPU tensor (host values, as for pack_padded_sequence), "
                          f"got one on {lengths.device}; pass lengths.cpu()")
    if B:
        low, high = (int(v) for v in lengths.aminmax())
        if low < 1 or high > T:
            raise SeqlabError(f"lengths: expected every length in [1, T={T}], got values from {low} to {high}")
    return lengths.to(device=device, dtype=torch.long)


class RNN(RecurrentLayer):
    r"""A stacked Elman RNN with ``torch.nn.RNN``'s arguments, parameters and outputs.

    Each layer runs h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) over time (see
    ``RNNCell``); layer k > 0 reads the outputs of layer k - 1 (both directions concatenated).

    Args:
        input_size, hidden_size, num_layers, nonlinearity ("tanh" | "relu"), bias, batch_first,
        dropout, bidirectional: as ``torch.nn.RNN``.
        input_dropout, recurrent_dropout, weight_drop, zoneout, init: see ``RecurrentLayer``.

    Example:
        >>> rnn = RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, **options):
        self.nonlinearity = _checks.choice(nonlinearity, "nonlinearity", NONLINEARITIES)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **options)

    def _shapes(self, input_size):
        return rnn_parameter_shapes(input_size, self.hidden_size, self.bias)

    def _step(self, x, state, params, recurrent_mask):
        return rnn_step(x, state[0], params, nonlinearity=self.nonlinearity, recurrent_mask=recurrent_mask)

    def _torch_mode(self) -> str:
        return f"rnn_{self.nonlinearity}"

    def _order_engines(self, engines: list[str]) -> list[str]:
        # PyTorch's CPU RNN has no oneDNN path either; benchmarks/rnn.py measures the bptt engine faster
        return sorted(engines, key=("bptt", "torch", "reference").index)

    def _run_bptt(self, x, state, params, keeps, valid, recurrent_mask, reverse):
        bias = params["bias_ih"] + params["bias_hh"] if self.bias else None
        xg = F.linear(x, params["weight_ih"], bias)  # (T, B, H): every step's input projection at once
        output, h_n = bptt_engine.run_rnn(xg, state[0], params["weight_hh"], keep=keeps[0], valid=valid,
                                          recurrent_mask=recurrent_mask, reverse=reverse,
                                          relu=self.nonlinearity == "relu")
        return output, (h_n,)


class LSTM(RecurrentLayer):
    r"""A stacked LSTM with ``torch.nn.LSTM``'s arguments, parameters and outputs, plus variants.

    Each layer runs the ``LSTMCell`` recurrence over time:
    i, f, g, o gates; c_t = f_t * c_{t-1} + i_t * g_t; h_t = o_t * tanh(c_t).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size: as ``torch.nn.LSTM``.
        peephole, coupled, layer_norm, forget_bias: the variants of ``LSTMCell``; extra
            parameters are named in PyTorch's scheme (``weight_ci_l0``, ``ln_ih_weight_l0``, ...).
        input_dropout, recurrent_dropout, weight_drop, zoneout, init: see ``RecurrentLayer``.

    Returns:
        ``(output, (h_n, c_n))``: output (T, B, D * H_out), h_n (D * L, B, H_out),
        c_n (D * L, B, H), H_out = proj_size or hidden_size.

    Example:
        >>> lstm = LSTM(10, 20, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(torch.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        (torch.Size([3, 5, 40]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, peephole: bool = False, coupled: bool = False,
                 layer_norm: str | None = None, forget_bias: float | None = None, **options):
        self.proj_size, self.peephole, self.coupled, self.layer_norm, self.forget_bias = check_lstm_options(
            hidden_size, proj_size, peephole, coupled, layer_norm, forget_bias)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **options)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _shapes(self, input_size):
        return lstm_parameter_shapes(input_size, self.hidden_size, self.bias, self.proj_size, self.peephole,
                                     self.coupled, self.layer_norm)

    def _step(self, x, state, params, recurrent_mask):
        return lstm_step(x, state, params, peephole=self.peephole, coupled=self.coupled,
                         layer_norm=self.layer_norm, recurrent_mask=recurrent_mask)

    def _torch_mode(self) -> str | None:
        return None if self.peephole or self.coupled or self.layer_norm else "lstm"

    def _order_engines(self, engines: list[str]) -> list[str]:
        # benchmarks/rnn.py: with its compiled kernels the bptt engine is 0.85-1.06x oneDNN's time (CPU, float32);
        # without them (no C++ compiler, CUDA, half precision) PyTorch's fused kernels are the faster
        if bptt_engine.kernels(self.weight_hh_l0).compiled:
            return sorted(engines, key=("bptt", "torch", "reference").index)
        return engines

    def _run_bptt(self, x, state, params, keeps, valid, recurrent_mask, reverse):
        bias = params["bias_ih"] + params["bias_hh"] if self.bias else None
        peep = None
        if self.peephole:
            w_ci = params["weight_ci"] if not self.coupled else torch.zeros_like(params["weight_cf"])
            peep = torch.stack([w_ci, params["weight_cf"], params["weight_co"]])  # (3, H)
        if self.layer_norm:
            per_gate = self.layer_norm == "per_gate"
            shift_ih = params["ln_ih_bias"] if bias is None else params["ln_ih_bias"] + bias  # biases join s_ih
            ln_ih = torch.stack([params["ln_ih_weight"], shift_ih])  # (2, G*H) gain, shift
            ln_hh = torch.stack([params["ln_hh_weight"], params["ln_hh_bias"]])  # (2, G*H)
            ln_c = torch.stack([params["ln_c_weight"], params["ln_c_bias"]])  # (2, H)
            output, h_n, c_n = run_lstm_layer_norm(
                x, params["weight_ih"], state[0], state[1], params["weight_hh"], ln_ih, ln_hh, ln_c,
                weight_hr=params.get("weight_hr"), peep=peep, keep_h=keeps[0], keep_c=keeps[1], valid=valid,
                recurrent_mask=recurrent_mask, reverse=reverse, coupled=self.coupled, per_gate=per_gate)
            return output, (h_n, c_n)
        # the engine projects every step's input at once (W_ih x + b) into its gate buffer
        output, h_n, c_n = bptt_engine.run_lstm(x, params["weight_ih"], bias, state[0], state[1], params["weight_hh"],
                                                weight_hr=params.get("weight_hr"), peep=peep, keep_h=keeps[0],
                                                keep_c=keeps[1], valid=valid, recurrent_mask=recurrent_mask,
                                                reverse=reverse, coupled=self.coupled)
        return output, (h_n, c_n)

    def extra_repr(self) -> str:
        options = [f"{name}={getattr(self, name)!r}" for name in ("proj_size", "peephole", "coupled", "layer_norm")
                   if getattr(self, name)]
        return ", ".join([super().extra_repr(), *options])


class GRU(RecurrentLayer):
    r"""A stacked GRU with ``torch.nn.GRU``'s arguments, parameters and outputs.

    Each layer runs the ``GRUCell`` recurrence; ``reset_after=False`` gives Cho et al.'s
    (2014) form with the reset gate applied before W_hn (PyTorch has only ``reset_after=True``).

    Example:
        >>> gru = GRU(10, 20, num_layers=2)
        >>> output, h_n = gru(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 reset_after: bool = True, **options):
        self.reset_after = _checks.flag(reset_after, "reset_after")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **options)

    def _shapes(self, input_size):
        return gru_parameter_shapes(input_size, self.hidden_size, self.bias)

    def _step(self, x, state, params, recurrent_mask):
        return gru_step(x, state[0], params, reset_after=self.reset_after, recurrent_mask=recurrent_mask)

    def _torch_mode(self) -> str | None:
        return "gru" if self.reset_after else None

    def _order_engines(self, engines: list[str]) -> list[str]:
        # PyTorch's CPU GRU has no oneDNN path; benchmarks/rnn.py measures the bptt engine faster
        return sorted(engines, key=("bptt", "torch", "reference").index)

    def _run_bptt(self, x, state, params, keeps, valid, recurrent_mask, reverse):
        bias, bias_hn = None, None
        if self.bias and self.reset_after:
            H = self.hidden_size
            b_hh = params["bias_hh"]
            bias = params["bias_ih"] + torch.cat([b_hh[: 2 * H], torch.zeros_like(b_hh[2 * H :])])
            bias_hn = b_hh[2 * H :]  # b_hn stays inside r_t * (W_hn h + b_hn)
        elif self.bias:
            bias = params["bias_ih"] + params["bias_hh"]
        xg = F.linear(x, params["weight_ih"], bias)  # (T, B, 3H): every step's input projection at once
        output, h_n = bptt_engine.run_gru(xg, state[0], params["weight_hh"], bias_hn=bias_hn, keep=keeps[0],
                                          valid=valid, recurrent_mask=recurrent_mask, reverse=reverse,
                                          reset_after=self.reset_after)
        return output, (h_n,)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
