"""Closed-form gradients of the Word2Vec/FastText step and of GloVe, against autograd in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlab.embeddings.glove_objective import glove_gradients, weighting
from seqlab.embeddings.objective import Bags, sgd_step


def _autograd_loss(W_in, W_out, in_rows, in_weights, out_rows, labels, mask):
    h = W_in[in_rows] if in_weights is None else (in_weights[:, :, None] * W_in[in_rows]).sum(1)
    scores = (W_out[out_rows] * h[:, None, :]).sum(2)
    nll = -(labels * F.logsigmoid(scores) + (1 - labels) * F.logsigmoid(-scores))
    return (nll * mask).sum()


def _check_step(in_rows, in_weights, out_rows, labels, mask, V=7, E=5):
    g = torch.Generator().manual_seed(0)
    W_in = torch.randn(V, E, generator=g, dtype=torch.float64)
    W_out = torch.randn(V, E, generator=g, dtype=torch.float64)
    A, B = W_in.clone().requires_grad_(), W_out.clone().requires_grad_()
    expected_loss = _autograd_loss(A, B, in_rows, in_weights, out_rows, labels, mask)
    expected_loss.backward()
    lr = 0.3
    inputs = in_rows if in_weights is None else Bags.from_padded(in_rows, in_weights)
    loss = sgd_step(W_in, W_out, inputs, out_rows, labels, mask, lr)
    torch.testing.assert_close(loss, expected_loss.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(W_in, A.detach() - lr * A.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(W_out, B.detach() - lr * B.grad, rtol=1e-12, atol=1e-12)


def test_skipgram_negative_sampling_step_equals_autograd():
    in_rows = torch.tensor([0, 3, 3, 6])  # a repeated centre: index_add_ must sum its gradients
    out_rows = torch.tensor([[1, 2, 4], [2, 2, 5], [0, 1, 3], [1, 2, 4]])  # repeats within and across rows
    labels = torch.tensor([[1.0, 0, 0]] * 4, dtype=torch.float64)
    mask = torch.tensor([[1.0, 1, 1], [1, 0, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.float64)
    _check_step(in_rows, None, out_rows, labels, mask)


def test_mean_of_inputs_step_equals_autograd():
    # CBOW and FastText: h is a weighted mean of several input rows, padding has weight 0
    in_rows = torch.tensor([[0, 1, 2, 0], [3, 3, 4, 0], [5, 6, 0, 0]])
    in_weights = torch.tensor([[1 / 3, 1 / 3, 1 / 3, 0], [0.25, 0.25, 0.5, 0], [0.5, 0.5, 0, 0]], dtype=torch.float64)
    out_rows = torch.tensor([[1, 0, 6], [4, 4, 2], [0, 5, 3]])
    labels = torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=torch.float64)  # Huffman-style labels
    mask = torch.ones(3, 3, dtype=torch.float64)
    _check_step(in_rows, in_weights, out_rows, labels, mask)


def test_glove_gradients_equal_autograd():
    g = torch.Generator().manual_seed(1)
    V, E = 6, 4
    params = [torch.randn(V, E, generator=g, dtype=torch.float64), torch.randn(V, E, generator=g, dtype=torch.float64),
              torch.randn(V, generator=g, dtype=torch.float64), torch.randn(V, generator=g, dtype=torch.float64)]
    i = torch.tensor([0, 1, 1, 5, 2])
    j = torch.tensor([1, 0, 3, 5, 1])
    x = torch.tensor([0.5, 3.0, 150.0, 1.0, 20.0], dtype=torch.float64)  # one entry above x_max
    leaves = [p.clone().requires_grad_() for p in params]
    W, Wc, b, bc = leaves
    diff = (W[i] * Wc[j]).sum(1) + b[i] + bc[j] - torch.log(x)
    expected = 0.5 * (weighting(x, 100.0, 0.75) * diff**2).sum()
    expected.backward()
    loss, *grads = glove_gradients(*params, i, j, x, 100.0, 0.75)
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-12, atol=1e-12)
    for leaf, index, grad in zip(leaves, (i, j, i, j), grads):
        summed = torch.zeros_like(leaf).index_add_(0, index, grad)
        torch.testing.assert_close(summed, leaf.grad, rtol=1e-12, atol=1e-12)


def test_weighting_function():
    x = torch.tensor([1.0, 50.0, 100.0, 1000.0])
    torch.testing.assert_close(weighting(x, 100.0, 0.75), torch.tensor([0.01**0.75, 0.5**0.75, 1.0, 1.0]))


def test_reference_rule_gives_every_input_row_the_whole_gradient():
    # word2vec.c's CBOW and fastText: W_in[r] -= lr * dL/dh_b for every row r of bag b (no factor a_bc)
    g = torch.Generator().manual_seed(2)
    W_in = torch.randn(6, 4, generator=g, dtype=torch.float64)
    W_out = torch.randn(6, 4, generator=g, dtype=torch.float64)
    rows = torch.tensor([[0, 1, 2], [2, 3, 0]])
    weights = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], dtype=torch.float64)
    out_rows = torch.tensor([[4, 5], [5, 1]])
    labels = torch.tensor([[1.0, 0], [1, 0]], dtype=torch.float64)
    mask = torch.ones(2, 2, dtype=torch.float64)
    h = (weights[:, :, None] * W_in[rows]).sum(1).requires_grad_()
    scores = (W_out[out_rows] * h[:, None, :]).sum(2)
    (-(labels * F.logsigmoid(scores) + (1 - labels) * F.logsigmoid(-scores)) * mask).sum().backward()
    expected = W_in.clone()
    for b, c in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]:
        expected[rows[b, c]] -= 0.1 * h.grad[b]
    sgd_step(W_in, W_out, Bags.from_padded(rows, weights, exact=False), out_rows, labels, mask, 0.1)
    torch.testing.assert_close(W_in, expected, rtol=1e-12, atol=1e-12)
