"""ONNX export of trained models, checked against onnxruntime on inputs of two different lengths.

seqlab's recurrent layers run their time loop in Python, which an exporter would unroll to one
fixed length. Their parameters have PyTorch's names and shapes, so before exporting each layer is
swapped for its ``torch.nn`` twin (``load_state_dict`` of the same tensors; their parity is tested
in ``tests/nn``), which ONNX expresses as its ``LSTM``/``GRU``/``RNN`` operators with a dynamic
sequence length. Variants PyTorch lacks (peephole, layer norm, ...) cannot be exported this way.

The exported graph takes ``inputs`` (B, T) token ids with B and T dynamic and returns the logits:
(B, K) for a classifier, (B, T, V) for a language model. Every row is read in full (no padding):
classify one sentence per row, or rows of equal length.
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM, RNN
from seqlab.training.recipe import Ability
from seqlab.training.runner import load_run

log = logging.getLogger(__name__)

TWINS = {LSTM: nn.LSTM, GRU: nn.GRU, RNN: nn.RNN}
DEFAULT_OPTIONS = {"input_dropout": 0.0, "recurrent_dropout": 0.0, "weight_drop": 0.0, "zoneout": 0.0}


def torch_twin(layer: nn.Module) -> nn.Module:
    """The ``torch.nn`` layer with ``layer``'s arguments and weights (seqlab RNN/LSTM/GRU -> torch.nn)."""
    kind = type(layer)
    if kind not in TWINS:
        raise SeqlabError(f"export: no torch.nn twin for {kind.__name__}")
    extra = {"nonlinearity": layer.nonlinearity} if kind is RNN else {}
    for name in ("peephole", "coupled", "layer_norm", "proj_size"):
        if getattr(layer, name, None) not in (None, False, 0):
            raise SeqlabError(f"export: the {name} variant has no ONNX recurrent operator; train without it to export")
    if kind is GRU and getattr(layer, "reset_after", True) is False:
        raise SeqlabError("export: Cho et al.'s reset-before GRU has no ONNX operator; use reset_after=True")
    twin = TWINS[kind](layer.input_size, layer.hidden_size, layer.num_layers, bias=layer.bias,
                       batch_first=layer.batch_first, bidirectional=layer.bidirectional, **extra)
    twin.load_state_dict(layer.state_dict())
    return twin.eval()


class _RecurrentTwinAdapter(nn.Module):
    """Calls a torch.nn recurrent layer with seqlab's signature ``(input, hx=None, lengths=None)``."""

    def __init__(self, twin: nn.Module):
        super().__init__()
        self.twin = twin
        self.bidirectional = twin.bidirectional

    def forward(self, input, hx=None, lengths=None):
        return self.twin(input, hx)


def exportable(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every seqlab recurrent layer replaced by its torch.nn twin."""
    model = copy.deepcopy(model).eval()
    for name, child in list(model.named_children()):
        if type(child) in TWINS:
            setattr(model, name, _RecurrentTwinAdapter(torch_twin(child)))
        else:
            setattr(model, name, exportable(child))
    return model


class _LogitsOnly(nn.Module):
    """``inputs -> logits``: drops a recurrent LM's final state from its output."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        out = self.model(inputs)
        return out[0] if isinstance(out, tuple) else out


def export_onnx(model: nn.Module, path: str | Path, vocab_size: int, lengths: tuple[int, int] = (7, 19),
                seed: int = 0) -> float:
    """Export ``model`` (ids (B, T) -> logits) to ``path``; returns max |onnxruntime - torch| over two lengths."""
    path = Path(path)
    wrapped = _LogitsOnly(exportable(model)).eval()
    generator = torch.Generator().manual_seed(seed)
    example = torch.randint(1, vocab_size, (1, lengths[0]), generator=generator)  # batch 1: see the LSTM note
    path.parent.mkdir(parents=True, exist_ok=True)
    # the TorchScript exporter maps nn.LSTM/GRU/RNN to ONNX's recurrent operators directly, in a
    # second rather than the minute torch.export takes; it warns that it is the legacy path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # tracing warns wherever Python reads a tensor's value; check_onnx verifies the graph on two lengths
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # it also fears a batch size other than the traced one; check_onnx runs batches of 3 and 1
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(wrapped, (example,), str(path), input_names=["inputs"], output_names=["logits"],
                          dynamic_axes={"inputs": {0: "batch", 1: "time"}}, dynamo=False)
    return check_onnx(model, path, vocab_size, lengths, seed)


def check_onnx(model: nn.Module, path: str | Path, vocab_size: int, lengths=(7, 19), seed: int = 0) -> float:
    """Max absolute difference between onnxruntime and the original seqlab model over inputs of each length."""
    try:
        import onnxruntime
    except ImportError:
        raise SeqlabError("checking an ONNX export needs onnxruntime: pip install onnxruntime") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = _LogitsOnly(model).eval()
    generator = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    for batch, T in ((3, lengths[0]), (1, lengths[1])):
        inputs = torch.randint(1, vocab_size, (batch, T), generator=generator)
        with torch.no_grad():
            expected = reference(inputs).numpy()
        (got,) = session.run(["logits"], {"inputs": inputs.numpy()})
        if got.shape != expected.shape:
            raise SeqlabError(f"export: onnxruntime gave logits of shape {got.shape}, torch {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_run(run_dir: str | Path, output: str | Path | None = None) -> tuple[Path, float]:
    """Export the best model of a run whose task can export (classification, language model).

    Returns the path written and the largest difference between onnxruntime and torch.
    """
    run = load_run(run_dir)
    run.require(Ability.EXPORT)
    path = Path(output) if output is not None else run.path / "model.onnx"
    difference = export_onnx(run.model, path, run.tokenizer.vocab_size)
    log.info("exported %s; max |onnxruntime - torch| = %.2e", path, difference)
    return path, difference


__all__ = ["check_onnx", "export_onnx", "export_run", "exportable", "torch_twin"]
