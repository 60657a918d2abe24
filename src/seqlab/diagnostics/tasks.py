r"""Two synthetic long-dependency tasks and the loss of the best model that has no memory.

**Adding problem** (Hochreiter & Schmidhuber 1997, experiment 4; in the form of Le, Jaitly &
Hinton 2015): each step carries two numbers, a value a_t ~ U(0, 1) and a marker m_t in {0, 1};
exactly two steps are marked, one in each half of the sequence. The target is the sum of the
two marked values, y = sum_t m_t a_t, scored by mean squared error. A model that cannot
remember predicts the constant E[y] = 1 and scores

    Var(y) = Var(a) + Var(b) = 2 * (1 - 0)^2 / 12 = 1/6 ~ 0.167.

**Copy memory** (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016): the input is
10 symbols drawn from {1..8}, then T - 1 blanks (0), a delimiter (9) and 10 more blanks, T + 20
steps in all; the target is T + 10 blanks and then the 10 symbols. Scored by cross-entropy per
step. Without memory the best is to predict blank for the first T + 10 steps (no loss) and a
uniform guess over the 8 symbols for the last 10, which averages

    10 ln 8 / (T + 20)   nats per step.
"""

from __future__ import annotations

import math

import torch

from seqlab.errors import SeqlabError

COPY_LENGTH = 10  # symbols to remember
COPY_ALPHABET = 8  # symbols 1..8; 0 is the blank and 9 the delimiter
COPY_BLANK, COPY_DELIMITER = 0, COPY_ALPHABET + 1


def uniform_variance(low: float = 0.0, high: float = 1.0) -> float:
    """Var(U(low, high)) = (high - low)^2 / 12."""
    return (high - low) ** 2 / 12


def adding_baseline() -> float:
    """MSE of the memoryless constant prediction E[a + b] = 1: Var(a + b) = 2 Var(U(0, 1)) = 1/6."""
    return 2 * uniform_variance(0.0, 1.0)


def copy_baseline(T: int, length: int = COPY_LENGTH, alphabet: int = COPY_ALPHABET) -> float:
    """Cross-entropy per step of the memoryless strategy: length * ln(alphabet) / (T + 2 * length)."""
    return length * math.log(alphabet) / (T + 2 * length)


def _check_T(length: int, smallest: int) -> None:
    if not isinstance(length, int) or length < smallest:
        raise SeqlabError(f"T: expected an integer sequence length >= {smallest}, got {length!r}")


def adding_batch(batch_size: int, T: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` adding-problem sequences of length T.

    Returns:
        inputs (B, T, 2) with [:, :, 0] the values and [:, :, 1] the markers, and targets (B,).
    """
    _check_T(T, 2)
    values = torch.rand(batch_size, T, generator=generator)  # a_t ~ U(0, 1)
    half = T // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)  # one mark in the first half
    second = torch.randint(half, T, (batch_size,), generator=generator)  # one in the second
    markers = torch.zeros(batch_size, T)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = (values * markers).sum(dim=1)  # y = sum_t m_t a_t
    return torch.stack([values, markers], dim=-1), targets


def copy_batch(batch_size: int, T: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` copy-memory sequences: (B, T + 20) input ids in 0..9 and target ids in 0..8."""
    _check_T(T, 1)
    symbols = torch.randint(1, COPY_ALPHABET + 1, (batch_size, COPY_LENGTH), generator=generator)
    inputs = torch.full((batch_size, T + 2 * COPY_LENGTH), COPY_BLANK)
    inputs[:, :COPY_LENGTH] = symbols
    inputs[:, T + COPY_LENGTH - 1] = COPY_DELIMITER  # after T - 1 blanks
    targets = torch.full_like(inputs, COPY_BLANK)
    targets[:, -COPY_LENGTH:] = symbols
    return inputs, targets
