"""Initialisation schemes for cells and recurrent layers.

* ``"torch"``: PyTorch's default, every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).
* ``"xavier_orthogonal"``: Glorot/Xavier uniform (Glorot & Bengio 2010) for each gate's input
  weights, orthogonal (Saxe et al. 2014) for each gate's recurrent weights, zero biases.
* ``"identity"``: the IRNN of Le, Jaitly & Hinton (2015): W_hh = I, W_ih ~ N(0, 0.001^2),
  zero biases; meant for ReLU RNNs.

Layer-norm gains start at 1 and shifts at 0 under every scheme. A module with a
``forget_bias`` attribute that is not None gets its forget-gate bias set afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from seqlab.errors import SeqlabError

SCHEMES = ("torch", "xavier_orthogonal", "identity")


def _kind(name: str) -> str:
    """The parameter's role from its name: weight_ih_l0_reverse -> weight_ih."""
    return name.split("_l")[0] if name.startswith(("weight_", "bias_")) else name


@torch.no_grad()
def torch_default_(module: nn.Module) -> None:
    """PyTorch's default: U(-k, k), k = 1/sqrt(hidden_size), for all but layer-norm parameters."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for name, param in module.named_parameters(recurse=False):
        if not name.startswith("ln_"):
            nn.init.uniform_(param, -bound, bound)


@torch.no_grad()
def xavier_orthogonal_(module: nn.Module) -> None:
    """Xavier-uniform input weights and orthogonal recurrent weights, one gate block at a time."""
    hidden = module.hidden_size
    for name, param in module.named_parameters(recurse=False):
        kind = _kind(name)
        if kind == "weight_ih":
            for block in param.split(hidden):
                nn.init.xavier_uniform_(block)
        elif kind == "weight_hh":
            for block in param.split(hidden):
                nn.init.orthogonal_(block)
        elif kind == "weight_hr":
            nn.init.xavier_uniform_(param)
        elif not name.startswith("ln_"):
            nn.init.zeros_(param)  # biases and peephole diagonals


@torch.no_grad()
def identity_(module: nn.Module) -> None:
    """IRNN (Le et al. 2015): recurrent weights the identity, small input weights, zero biases."""
    for name, param in module.named_parameters(recurse=False):
        kind = _kind(name)
        if kind == "weight_hh":
            for block in param.split(module.hidden_size):
                nn.init.eye_(block)
        elif kind == "weight_ih":
            nn.init.normal_(param, std=0.001)
        elif not name.startswith("ln_"):
            nn.init.zeros_(param)


@torch.no_grad()
def layer_norm_(module: nn.Module) -> None:
    """Layer-norm gains to 1 and shifts to 0."""
    for name, param in module.named_parameters(recurse=False):
        if name.startswith("ln_"):
            (nn.init.ones_ if "_weight" in name else nn.init.zeros_)(param)


@torch.no_grad()
def forget_gate_bias_(module: nn.Module, value: float) -> None:
    """Set the forget-gate bias of an LSTM cell or layer so that b_if + b_hf = value.

    The forget slice is the second block of i, f, g, o, or the first of the coupled f, g, o.
    """
    block = 0 if getattr(module, "coupled", False) else 1
    hidden = module.hidden_size
    rows = slice(block * hidden, (block + 1) * hidden)
    for name, param in module.named_parameters(recurse=False):
        kind = _kind(name)
        if kind == "bias_ih":
            param[rows] = value
        elif kind == "bias_hh":
            param[rows] = 0.0


_SCHEME_FUNCTIONS = {"torch": torch_default_, "xavier_orthogonal": xavier_orthogonal_, "identity": identity_}


def check_scheme(scheme) -> None:
    """Refuse anything but a scheme name above or a callable, before any parameter is made."""
    if not callable(scheme) and not (isinstance(scheme, str) and scheme in _SCHEME_FUNCTIONS):
        raise SeqlabError(f"init: expected one of {', '.join(SCHEMES)} or a callable, got {scheme!r}")


def apply(module: nn.Module, scheme: str | Callable[[nn.Module], None]) -> None:
    """Initialise ``module``'s own parameters with ``scheme`` (a name above or a callable)."""
    check_scheme(scheme)
    if callable(scheme):
        scheme(module)
    else:
        _SCHEME_FUNCTIONS[scheme](module)
        layer_norm_(module)
    forget_bias = getattr(module, "forget_bias", None)
    if forget_bias is not None:
        forget_gate_bias_(module, forget_bias)
