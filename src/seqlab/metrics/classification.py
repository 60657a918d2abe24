"""Accuracy and F1 from predicted and true class ids.

With TP_k, FP_k, FN_k the true positives, false positives and false negatives of class k:

    accuracy = (1/n) sum_i [y_hat_i = y_i]
    P_k = TP_k / (TP_k + FP_k),  R_k = TP_k / (TP_k + FN_k),  F1_k = 2 P_k R_k / (P_k + R_k)
    macro F1 = (1/K) sum_k F1_k        (a class with no predictions and no examples is left out)

Every function takes array-likes of ids (any shape, pooled) and returns a Python float.

Example:
    >>> accuracy([1, 0, 1, 1], [1, 0, 0, 1]), round(f1_score([1, 0, 1, 1], [1, 0, 0, 1], positive=1), 4)
    (0.75, 0.8)
"""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError


def _pair(predicted, actual) -> tuple[torch.Tensor, torch.Tensor]:
    p, y = torch.as_tensor(predicted).flatten(), torch.as_tensor(actual).flatten()
    if p.shape != y.shape:
        raise SeqlabError(f"predicted and actual must have the same number of ids, got {p.numel()} and {y.numel()}")
    if p.numel() == 0:
        raise SeqlabError("predicted and actual: expected at least one id, got none")
    return p, y


def accuracy(predicted, actual) -> float:
    p, y = _pair(predicted, actual)
    return (p == y).double().mean().item()


def confusion_matrix(predicted, actual, num_classes: int) -> torch.Tensor:
    """(K, K) counts: row = true class, column = predicted class."""
    p, y = _pair(predicted, actual)
    return torch.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def f1_score(predicted, actual, positive: int | None = None, num_classes: int | None = None) -> float:
    """F1 of class ``positive``, or the macro average over classes when ``positive`` is None."""
    p, y = _pair(predicted, actual)
    K = num_classes if num_classes is not None else int(max(p.max(), y.max())) + 1
    counts = confusion_matrix(p, y, K).double()
    tp = counts.diagonal()
    fp = counts.sum(0) - tp  # predicted k, truly another class
    fn = counts.sum(1) - tp  # truly k, predicted another class
    denominator = 2 * tp + fp + fn  # F1 = 2TP / (2TP + FP + FN), the same as 2PR / (P + R)
    f1 = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), torch.zeros_like(tp))
    if positive is not None:
        return f1[positive].item()
    present = denominator > 0
    return f1[present].mean().item()


__all__ = ["accuracy", "confusion_matrix", "f1_score"]
