"""Parameter tables shared by a cell and the layer that stacks it.

A cell owns parameters named as PyTorch names them on its cells (``weight_ih``,
``weight_hh``, ``bias_ih``, ``bias_hh``); a layer owns the same tensors once per layer and
direction with PyTorch's suffixes (``weight_ih_l0``, ``weight_hh_l1_reverse``). Both are
built from one table of ``name -> shape`` so the two can never disagree.
"""

from __future__ import annotations

import torch
from torch import nn


def suffix(layer: int, reverse: bool) -> str:
    """PyTorch's parameter suffix: ``_l{layer}`` plus ``_reverse`` for the backward direction."""
    return f"_l{layer}" + ("_reverse" if reverse else "")


def register(module: nn.Module, shapes: dict[str, tuple[int, ...]], name_suffix: str = "",
             device=None, dtype=None) -> None:
    """Create an (uninitialised) parameter on ``module`` for every entry of ``shapes``."""
    for name, shape in shapes.items():
        module.register_parameter(name + name_suffix,
                                  nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))


def collect(module: nn.Module, names, name_suffix: str = "") -> dict[str, torch.Tensor]:
    """The parameters ``names`` of one cell (or one layer and direction), keyed without suffix."""
    return {name: getattr(module, name + name_suffix) for name in names}
