"""Layer normalisation (Ba, Kiros & Hinton 2016) and RMS normalisation (Zhang & Sennrich 2019)."""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from seqlab import checks as _checks
from seqlab.errors import SeqlabError


def _normalized_shape(normalized_shape) -> tuple[int, ...]:
    """E, or a trailing shape (E1, E2, ...), as a tuple of positive integers."""
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    if not isinstance(normalized_shape, tuple | list | torch.Size) or not normalized_shape:
        raise SeqlabError(f"normalized_shape: expected a positive integer or a tuple of them, got {normalized_shape!r}")
    return tuple(_checks.positive_int(size, "normalized_shape") for size in normalized_shape)


def _check_input(x, normalized_shape: tuple[int, ...]) -> None:
    _checks.tensor(x, "input", f"(*, {', '.join(map(str, normalized_shape))})")
    if tuple(x.shape[x.dim() - len(normalized_shape):]) != normalized_shape:
        raise SeqlabError(f"input: expected the last dimensions {normalized_shape} (normalized_shape), "
                          f"got shape {tuple(x.shape)}")


class LayerNorm(nn.Module):
    r"""Normalise each example over its last dimensions, then scale and shift.

    .. math::
        \mu = \frac{1}{E}\sum_i x_i, \qquad
        \sigma^2 = \frac{1}{E}\sum_i (x_i - \mu)^2, \qquad
        y_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}\,\gamma_i + \beta_i

    The variance is the biased one (divide by E, not E - 1), as in the paper and in
    ``torch.nn.LayerNorm``, whose arguments and parameter names (``weight`` = γ, ``bias`` = β)
    this mirrors, so ``load_state_dict`` works both ways.

    Shape: (*, E) -> (*, E) for ``normalized_shape`` = E (or any trailing shape).

    The equation runs as written when ``fused`` is False; by default (``fused = True``) it runs as
    ``F.layer_norm``, PyTorch's one-kernel version of the same computation, which a Transformer
    calls twice per block (a fifth of a small GPT's training step when done op by op). The tests
    check that both paths give ``torch.nn.LayerNorm``'s outputs and gradients.

    Example:
        >>> norm = LayerNorm(8)
        >>> norm(torch.randn(2, 3, 8)).shape
        torch.Size([2, 3, 8])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = _checks.non_negative_float(eps, "eps")
        self.elementwise_affine = _checks.flag(elementwise_affine, "elementwise_affine")
        bias = _checks.flag(bias, "bias")
        factory = {"device": device, "dtype": dtype}
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape, **factory))
            self.bias = nn.Parameter(torch.zeros(self.normalized_shape, **factory)) if bias else None
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.normalized_shape)
        if self.fused:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        dims = tuple(range(-len(self.normalized_shape), 0))
        if x.numel():
            var, mu = torch.var_mean(x, dim=dims, correction=0, keepdim=True)  # σ² (biased, divide by E) and μ
            y = (x - mu) * torch.rsqrt(var + self.eps)  # (x - μ) / sqrt(σ² + ε)
        else:
            y = x  # an empty batch has nothing to normalise (and var_mean would warn of zero degrees of freedom)
        if self.weight is not None:
            y = y * self.weight  # γ
        if self.bias is not None:
            y = y + self.bias  # β
        return y

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(nn.Module):
    r"""Root-mean-square normalisation: scale only, no centring and no shift (T5's "layer norm").

    .. math::
        y_i = \frac{x_i}{\sqrt{\frac{1}{E}\sum_j x_j^2 + \epsilon}}\,\gamma_i

    Mirrors ``torch.nn.RMSNorm`` (arguments, the parameter ``weight`` = γ), so state dicts load both ways.

    Example:
        >>> RMSNorm(8)(torch.randn(2, 8)).shape
        torch.Size([2, 8])
    """

    def __init__(self, normalized_shape, eps: float | None = 1e-6, elementwise_affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = None if eps is None else _checks.non_negative_float(eps, "eps")
        self.elementwise_affine = _checks.flag(elementwise_affine, "elementwise_affine")
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.normalized_shape)
        dims = tuple(range(-len(self.normalized_shape), 0))
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps  # PyTorch's default when eps is None
        y = x / torch.sqrt(x.pow(2).mean(dim=dims, keepdim=True) + eps)  # x / RMS(x)
        return y * self.weight if self.weight is not None else y  # γ

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
