"""GloVe's weighted least squares: the loss, its closed-form gradients and one AdaGrad epoch, in PyTorch.

Over the non-zero entries of the co-occurrence matrix X,

    J = 1/2 sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = (x / x_max)^alpha if x < x_max else 1,

and with ``e = f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)`` the gradients of one entry are

    dJ/dw_i = e w~_j      dJ/dw~_j = e w_i      dJ/db_i = dJ/db~_j = e.

AdaGrad keeps for every parameter the running sum G of its squared gradients and moves it by
``-lr g / sqrt(G)``. ``glove_epoch_torch`` is the executable specification of the compiled
``glove_epoch`` (``_kernels.py``), which computes the same update in the same order.

Example:
    >>> weighting(torch.tensor([50.0, 200.0]), x_max=100.0, alpha=1.0).tolist()
    [0.5, 1.0]
"""

from __future__ import annotations

import torch


def weighting(x: torch.Tensor, x_max: float, alpha: float) -> torch.Tensor:
    """f(x) = (x / x_max)^alpha, capped at 1."""
    return (x / x_max).pow(alpha).clamp(max=1.0)


def glove_gradients(W: torch.Tensor, W_ctx: torch.Tensor, b: torch.Tensor, b_ctx: torch.Tensor,
                    i: torch.Tensor, j: torch.Tensor, x: torch.Tensor, x_max: float, alpha: float):
    """Loss and per-entry gradients of J for the entries (i, j, x), each (B,).

    Returns loss (0-d), dW_i (B, E), dW~_j (B, E), db_i (B,), db~_j (B,).
    """
    w_i, w_j = W.index_select(0, i), W_ctx.index_select(0, j)  # (B, E) each
    diff = (w_i * w_j).sum(1) + b[i] + b_ctx[j] - torch.log(x)  # (B,)
    e = weighting(x, x_max, alpha) * diff  # f(X_ij) * diff
    loss = 0.5 * (e * diff).sum()
    return loss, e[:, None] * w_j, e[:, None] * w_i, e, e


def glove_epoch_torch(W: torch.Tensor, W_ctx: torch.Tensor, b: torch.Tensor, b_ctx: torch.Tensor,
                      G_W: torch.Tensor, G_ctx: torch.Tensor, G_b: torch.Tensor, G_b_ctx: torch.Tensor,
                      rows: torch.Tensor, cols: torch.Tensor, x: torch.Tensor, order: torch.Tensor, batch_size: int,
                      lr: float, x_max: float, alpha: float) -> float:
    """One epoch over the entries ``order`` in mini-batches, in place; returns the summed loss J.

    Args:
        W, W_ctx: (V, E) word and context vectors; b, b_ctx: (V,) their biases.
        G_W, G_ctx, G_b, G_b_ctx: AdaGrad's sums of squared gradients, shaped like the parameters.
        rows, cols, x: (nnz,) the entries i, j, X_ij; order: (n,) the entries to visit, in order.

    Note:
        A batch's gradients all come from the parameters before the batch; every step divides by
        sqrt(G) as it was before the batch, then G grows by the batch's squared gradients.
    """
    params, squares = (W, W_ctx, b, b_ctx), (G_W, G_ctx, G_b, G_b_ctx)
    total = 0.0
    for done in range(0, len(order), batch_size):
        batch = order[done : done + batch_size]
        i, j, xb = rows.index_select(0, batch), cols.index_select(0, batch), x.index_select(0, batch)
        loss, *grads = glove_gradients(W, W_ctx, b, b_ctx, i, j, xb, x_max, alpha)
        total += float(loss)
        for param, square, index, grad in zip(params, squares, (i, j, i, j), grads):
            param.index_add_(0, index, -lr * grad / square[index].sqrt())  # theta -= lr g / sqrt(G)
            square.index_add_(0, index, grad * grad)  # G += g^2
    return total
