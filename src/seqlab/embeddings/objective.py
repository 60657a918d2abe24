"""The closed-form SGD step shared by Word2Vec (skip-gram, CBOW) and FastText.

Every variant predicts binary labels from a hidden vector ``h`` built from input rows:

    h_b   = sum_c a_bc W_in[r_bc]                 (skip-gram: one row, a = 1; CBOW and FastText: a mean)
    s_bm  = W_out[o_bm] . h_b                     (o: the positive word and k noise words, or the
                                                   inner nodes of a Huffman path)
    L     = - sum_b sum_m mask_bm [ y_bm log sigma(s_bm) + (1 - y_bm) log sigma(-s_bm) ]

With ``g_bm = mask_bm (sigma(s_bm) - y_bm) = dL/ds_bm`` the gradients are

    dL/dW_out[o_bm] = g_bm h_b                    dL/dW_in[r_bc] = a_bc sum_m g_bm W_out[o_bm]

summed over repeated rows, which is exactly what ``index_add_`` does. (word2vec.c's CBOW and
fastText drop the factor a_bc on the input side: see ``Bags.update``.) No autograd graph is built:
this is two gathers, two batched products and two scatters per step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class Bags(NamedTuple):
    """Several weighted input rows per example (CBOW's context, FastText's word and n-grams).

    ``h_b = sum_{k: bag[k] = b} weight[k] W_in[rows[k]]``: a flat list of rows, no padding, each
    example's rows contiguous and starting at ``offsets[b]``. Row ``k`` then moves by
    ``-lr * update[k] * dL/dh_b``: ``update = weight`` is the exact gradient; ``update = 1`` is what
    word2vec.c (CBOW) and fastText do, giving every input row the whole of dL/dh.
    """

    rows: torch.Tensor  # (N,) rows of W_in
    bag: torch.Tensor  # (N,) the example each row belongs to, in 0..B-1, non-decreasing
    weight: torch.Tensor  # (N,) a_bc
    offsets: torch.Tensor  # (B,) where each example's rows begin
    update: torch.Tensor  # (N,) the factor of dL/dh_b in row k's step

    @staticmethod
    def from_padded(rows: torch.Tensor, weights: torch.Tensor, exact: bool = True) -> Bags:
        """From rows (B, C) and weights (B, C), zero weights marking padding."""
        return BagTable(rows, weights, exact).batch(0, rows.shape[0])

    @staticmethod
    def from_table(table: torch.Tensor, start: torch.Tensor, length: torch.Tensor, exact: bool = True,
                   dtype: torch.dtype = torch.float32) -> Bags:
        """Bag b is ``table[start[b] : start[b] + length[b]]`` (each (B,)), h_b the mean of its rows."""
        bag = torch.repeat_interleave(torch.arange(len(start)), length)  # (N,)
        first = torch.cumsum(length, 0) - length  # (B,) where each example's rows begin in the flat batch
        position = start[bag] + torch.arange(len(bag)) - first[bag]  # (N,)
        weight = 1.0 / length[bag].to(dtype)
        return Bags(table[position], bag, weight, first, weight if exact else torch.ones_like(weight))


class BagTable:
    """The ``Bags`` of many examples, flat, so that the bags of examples lo..hi-1 are one slice."""

    def __init__(self, rows: torch.Tensor, weights: torch.Tensor, exact: bool = True):
        """From rows (n, C) and weights (n, C), zero weights marking padding; see ``Bags`` for ``exact``."""
        keep = weights != 0
        counts = keep.sum(1)  # (n,)
        self.offsets = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])  # (n + 1,)
        self.rows = rows[keep]  # row-major, so each example's rows are contiguous
        self.bag = torch.repeat_interleave(torch.arange(len(rows)), counts)
        self.weight = weights[keep]
        self.update = self.weight if exact else torch.ones_like(self.weight)

    def batch(self, lo: int, hi: int) -> Bags:
        """The bags of examples lo..hi-1, numbered 0..hi-lo-1."""
        a, b = int(self.offsets[lo]), int(self.offsets[hi])
        return Bags(self.rows[a:b], self.bag[a:b] - lo, self.weight[a:b], self.offsets[lo:hi] - a, self.update[a:b])


def hidden(W_in: torch.Tensor, inputs: torch.Tensor | Bags) -> torch.Tensor:
    """h (B, E) from one input row per example (B,) or from ``Bags``."""
    if isinstance(inputs, torch.Tensor):
        return W_in.index_select(0, inputs)  # (B, E)
    # a weighted sum per bag; embedding_bag does it without materialising the (N, E) rows
    return F.embedding_bag(inputs.rows, W_in, inputs.offsets, mode="sum", per_sample_weights=inputs.weight)


def output_gradients(h: torch.Tensor, U: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
                     scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss per example and the gradients with respect to h and to the output rows, times ``scale``.

    Args:
        h: (B, E) hidden vectors.
        U: (B, M, E) the rows of W_out of each example.
        labels: (B, M) 1 for the word to predict (or the Huffman branch to take), else 0.
        mask: (B, M) 1 where the column counts.
        scale: multiplies both gradients (``-lr`` gives the SGD deltas); applied to g, the cheapest place.

    Returns:
        loss (B,), scale * dL/dh (B, E), scale * dL/dU (B, M, E).
    """
    # the fastest forms on CPU for tiny M, measured: vecdot for scores, bmm for grad_h, a product for grad_U
    scores = torch.linalg.vecdot(U, h[:, None, :])  # (B, M)
    g = (torch.sigmoid(scores) - labels) * mask  # dL/ds
    # -[y log sigma(s) + (1 - y) log sigma(-s)] = -log sigma(s) if y = 1, -log sigma(-s) if y = 0
    loss = -(F.logsigmoid(torch.where(labels > 0, scores, -scores)) * mask).sum(1)  # (B,)
    g = g * scale
    grad_h = torch.bmm(g[:, None, :], U).squeeze(1)  # (B, 1, M) @ (B, M, E) -> (B, E)
    grad_U = g[:, :, None] * h[:, None, :]  # (B, M, E)
    return loss, grad_h, grad_U


def sgd_step(W_in: torch.Tensor, W_out: torch.Tensor, inputs: torch.Tensor | Bags, out_rows: torch.Tensor,
             labels: torch.Tensor, mask: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step on W_in and W_out in place; returns the summed loss before the step (a 0-d tensor).

    Args:
        inputs: (B,) one input row per example (skip-gram), or ``Bags`` (CBOW, FastText).
        out_rows: (B, M) output rows, with ``labels`` and ``mask`` (B, M).
        lr: the learning rate of this step.
    """
    B, M = out_rows.shape
    E = W_in.shape[1]
    flat_out = out_rows.reshape(-1)
    h = hidden(W_in, inputs)  # (B, E)
    U = W_out.index_select(0, flat_out).view(B, M, E)  # (B, M, E)
    loss, delta_h, delta_U = output_gradients(h, U, labels, mask, scale=-lr)
    # both gradients are taken before either matrix moves, as in word2vec.c
    W_out.index_add_(0, flat_out, delta_U.view(B * M, E))
    if isinstance(inputs, torch.Tensor):
        W_in.index_add_(0, inputs, delta_h)
    else:  # dL/dW_in[r_bc] = a_bc dL/dh_b (update = a), or word2vec.c's and fastText's rule (update = 1)
        W_in.index_add_(0, inputs.rows, inputs.update[:, None] * delta_h.index_select(0, inputs.bag))
    return loss.sum()
