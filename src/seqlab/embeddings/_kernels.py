"""The inner loops of the embedding trainers: a small C++ extension, or the same steps in PyTorch.

Two functions do all the arithmetic of training:

``sgd_step``
    one mini-batch of Word2Vec (skip-gram, CBOW) or FastText: the closed-form gradients of
    ``objective.py`` computed from the parameters as they were before the batch, then applied
    (output rows first, then input rows, each in example order, as ``index_add_`` does).
``glove_epoch``
    one epoch of GloVe: mini-batches of co-occurrence entries in a given order, each batch's
    gradients computed from the parameters before the batch and applied with AdaGrad, every
    step divided by the square root of G as it was before the batch.

Both compute exactly the update of the PyTorch functions below (the executable specification
and the fallback), in the same order; only the rounding of sums differs (tested in float64 and
float32). Compiled, a batch costs one pass to compute the gradients and one or two passes to
apply them, with no temporary (B, M, E) tensors and no dispatch per operation.

The extension is built on first use with ``torch.utils.cpp_extension.load_inline`` through the
bptt engine's build settings (``seqlab.nn.bptt._kernels``: the same compiler flags and cache) and
registered as ``torch.ops.seqlab_embeddings``. When there is no compiler or the build fails, the
PyTorch functions are used, with one logged warning; ``SEQLAB_EMBEDDINGS_COMPILE=0`` skips the
build. The compiled loops run on one thread (mini-batch updates to shared rows do not split
across threads without changing the result).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import torch

from seqlab.embeddings.glove_objective import glove_epoch_torch
from seqlab.embeddings.objective import Bags, sgd_step
from seqlab.nn.bptt import extension

log = logging.getLogger(__name__)

_CPP_SOURCE = r"""
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

template <typename T> using V = at::vec::Vectorized<T>;
constexpr int64_t MAX_LANES = 64;  // the widest Vectorized<T> of any CPU (AVX-512 float: 16)

// sum_k a[k] b[k]
template <typename T> inline T dot(const T* a, const T* b, int64_t n) {
  V<T> acc(T(0));
  int64_t k = 0;
  for (; k + V<T>::size() <= n; k += V<T>::size()) acc = at::vec::fmadd(V<T>::loadu(a + k), V<T>::loadu(b + k), acc);
  T lanes[MAX_LANES];
  acc.store(lanes);
  T sum = T(0);
  for (int64_t l = 0; l < V<T>::size(); ++l) sum += lanes[l];
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// y += alpha x
template <typename T> inline void axpy(T alpha, const T* x, T* y, int64_t n) {
  const V<T> a(alpha);
  int64_t k = 0;
  for (; k + V<T>::size() <= n; k += V<T>::size()) {
    at::vec::fmadd(a, V<T>::loadu(x + k), V<T>::loadu(y + k)).store(y + k);
  }
  for (; k < n; ++k) y[k] += alpha * x[k];
}

// y = x, and y = 0: rows of ~100 numbers, cheaper inline than a call to memcpy or memset
template <typename T> inline void copy(const T* x, T* y, int64_t n) {
  int64_t k = 0;
  for (; k + V<T>::size() <= n; k += V<T>::size()) V<T>::loadu(x + k).store(y + k);
  for (; k < n; ++k) y[k] = x[k];
}

template <typename T> inline void zero(T* y, int64_t n) {
  int64_t k = 0;
  for (; k + V<T>::size() <= n; k += V<T>::size()) V<T>(T(0)).store(y + k);
  for (; k < n; ++k) y[k] = T(0);
}

// ask for the cache lines of a row before it is needed: rows are picked at random, so the
// hardware prefetcher cannot guess them, and a miss to memory costs as much as the arithmetic
template <typename T> inline void prefetch(const T* row, int64_t n) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int64_t byte = 0; byte < n * int64_t(sizeof(T)); byte += 64) __builtin_prefetch(p + byte, 1, 3);
}

// For the scores s of one example: g = (sigma(s) - y) mask (in place of s), and the summed loss
// -mask [y log sigma(s) + (1 - y) log sigma(-s)], with one exp and one log1p per score:
// e = exp(-|s|), sigma(s) = 1 / (1 + e) if s >= 0 else e / (1 + e), -log sigma(z) = log1p(exp(-|z|)) + max(-z, 0).
template <typename T> inline double sigmoid_grad_and_loss(T* s, const T* y, const T* mask, int64_t M) {
  const V<T> one(T(1)), zero(T(0));
  double loss = 0;
  for (int64_t m = 0; m < M; m += V<T>::size()) {
    const int64_t n = std::min<int64_t>(V<T>::size(), M - m);
    const V<T> sv = V<T>::loadu(s + m, n), yv = V<T>::loadu(y + m, n), mv = V<T>::loadu(mask + m, n);
    const V<T> e = sv.abs().neg().exp();
    const V<T> positive = sv >= zero;  // all bits set where s >= 0
    const V<T> sigma = V<T>::blendv(e / (one + e), one / (one + e), positive);
    const V<T> z = V<T>::blendv(sv.neg(), sv, yv > zero);  // s for the positive label, -s for the negative
    const V<T> nll = e.log1p() + at::vec::maximum(z.neg(), zero);
    ((sigma - yv) * mv).store(s + m, n);
    T lanes[MAX_LANES];
    (nll * mv).store(lanes, n);
    for (int64_t l = 0; l < n; ++l) loss += lanes[l];
  }
  return loss;
}

// One mini-batch of Word2Vec / FastText (see objective.py). Example b's input rows are
// row_table[bag_start[b] .. bag_start[b] + bag_length[b]) (row_table empty: the one row bag_start[b]);
// h_b is their mean; row r then moves by -lr * u * dL/dh_b with u = 1 / length if exact else 1.
// Example b predicts the output rows out_rows[b, :] with labels and mask (B, M).
template <typename T>
double sgd_step_impl(T* W_in, T* W_out, int64_t E, const int64_t* table, bool has_table, const int64_t* start,
                     const int64_t* length, bool exact, int64_t B, int64_t M, const int64_t* out_rows,
                     const T* labels, const T* mask, T lr) {
  static thread_local std::vector<T> h_buf, dh_buf, g_buf;
  h_buf.resize(B * E); dh_buf.resize(B * E); g_buf.resize(B * M);
  T *H = h_buf.data(), *DH = dh_buf.data(), *G = g_buf.data();
  auto input_rows = [&](int64_t b) { return has_table ? table + start[b] : start + b; };
  auto prefetch_example = [&](int64_t b) {
    if (b >= B) return;
    const int64_t* rows = input_rows(b);
    for (int64_t k = 0; k < length[b]; ++k) prefetch(W_in + rows[k] * E, E);
    for (int64_t m = 0; m < M; ++m) prefetch(W_out + out_rows[b * M + m] * E, E);
  };
  double loss = 0;
  // gradients, from the parameters before the batch
  prefetch_example(0);
  for (int64_t b = 0; b < B; ++b) {
    prefetch_example(b + 1);
    T* h = H + b * E;
    const int64_t n = length[b];
    const int64_t* rows = input_rows(b);
    if (n == 1) {
      copy(W_in + rows[0] * E, h, E);
    } else {
      zero(h, E);
      const T weight = T(1) / T(n);  // h_b = (1 / n) sum_r W_in[r]
      for (int64_t k = 0; k < n; ++k) axpy(weight, W_in + rows[k] * E, h, E);
    }
    const int64_t* o = out_rows + b * M;
    T* g = G + b * M;
    for (int64_t m = 0; m < M; ++m) g[m] = dot(W_out + o[m] * E, h, E);  // s_bm = W_out[o_bm] . h_b
    loss += sigmoid_grad_and_loss(g, labels + b * M, mask + b * M, M);
    T* dh = DH + b * E;
    zero(dh, E);
    for (int64_t m = 0; m < M; ++m) {
      g[m] *= -lr;  // the SGD delta of s_bm
      if (g[m] != T(0)) axpy(g[m], W_out + o[m] * E, dh, E);  // -lr dL/dh_b = sum_m -lr g_bm W_out[o_bm]
    }
  }
  // W_out[o_bm] -= lr g_bm h_b, in example order
  for (int64_t b = 0; b < B; ++b) {
    if (b + 1 < B) for (int64_t m = 0; m < M; ++m) prefetch(W_out + out_rows[(b + 1) * M + m] * E, E);
    const int64_t* o = out_rows + b * M;
    const T* g = G + b * M;
    for (int64_t m = 0; m < M; ++m) if (g[m] != T(0)) axpy(g[m], H + b * E, W_out + o[m] * E, E);
  }
  // then W_in[r] -= lr u dL/dh_b
  for (int64_t b = 0; b < B; ++b) {
    if (b + 1 < B) for (int64_t k = 0; k < length[b + 1]; ++k) prefetch(W_in + input_rows(b + 1)[k] * E, E);
    const int64_t n = length[b];
    const int64_t* rows = input_rows(b);
    const T u = exact ? T(1) / T(n) : T(1);
    for (int64_t k = 0; k < n; ++k) axpy(u, DH + b * E, W_in + rows[k] * E, E);
  }
  return loss;
}

// Negative sampling: example b predicts target[b] (label 1) and k noise words (label 0) drawn by
// Walker's alias method from the given uniform draws: column c in 0..V-1 and u in [0, 1) give
// noise c if u < accept[c] else alias[c]; a noise word equal to the target is masked out.
template <typename T>
double negative_sampling_step_impl(T* W_in, T* W_out, int64_t E, const int64_t* table, bool has_table,
                                   const int64_t* start, const int64_t* length, bool exact, int64_t B,
                                   const int64_t* target, int64_t k, const int64_t* column, const float* uniform,
                                   const float* accept, const int64_t* alias, T lr) {
  static thread_local std::vector<int64_t> rows_buf;
  static thread_local std::vector<T> labels_buf, mask_buf;
  const int64_t M = 1 + k;
  rows_buf.resize(B * M); labels_buf.assign(B * M, T(0)); mask_buf.resize(B * M);
  for (int64_t b = 0; b < B; ++b) {
    int64_t* rows = rows_buf.data() + b * M;
    rows[0] = target[b];
    labels_buf[b * M] = T(1);
    mask_buf[b * M] = T(1);
    for (int64_t m = 0; m < k; ++m) {
      const int64_t c = column[b * k + m];
      const int64_t noise = uniform[b * k + m] < accept[c] ? c : alias[c];
      rows[1 + m] = noise;
      mask_buf[b * M + 1 + m] = noise != target[b] ? T(1) : T(0);
    }
  }
  return sgd_step_impl<T>(W_in, W_out, E, table, has_table, start, length, exact, B, M, rows_buf.data(),
                          labels_buf.data(), mask_buf.data(), lr);
}

void check(const at::Tensor& t, at::ScalarType dtype, const char* name) {
  TORCH_CHECK(t.is_contiguous() && t.scalar_type() == dtype && t.device().is_cpu(), name,
              ": expected a contiguous CPU tensor of ", dtype, ", got ", t.scalar_type());
}

double sgd_step(const at::Tensor& W_in, const at::Tensor& W_out, const at::Tensor& row_table,
                const at::Tensor& bag_start, const at::Tensor& bag_length, bool exact, const at::Tensor& out_rows,
                const at::Tensor& labels, const at::Tensor& mask, double lr) {
  const auto dtype = W_in.scalar_type();
  check(W_in, dtype, "W_in"); check(W_out, dtype, "W_out"); check(labels, dtype, "labels"); check(mask, dtype, "mask");
  check(row_table, at::kLong, "row_table"); check(bag_start, at::kLong, "bag_start");
  check(bag_length, at::kLong, "bag_length"); check(out_rows, at::kLong, "out_rows");
  TORCH_CHECK(W_in.size(1) == W_out.size(1) && labels.sizes() == out_rows.sizes() && mask.sizes() == out_rows.sizes()
              && bag_start.numel() == out_rows.size(0) && bag_length.numel() == out_rows.size(0),
              "sgd_step: inconsistent shapes");
  double loss = 0;
  AT_DISPATCH_FLOATING_TYPES(W_in.scalar_type(), "sgd_step", [&] {
    loss = sgd_step_impl<scalar_t>(W_in.data_ptr<scalar_t>(), W_out.data_ptr<scalar_t>(), W_in.size(1),
                                   row_table.data_ptr<int64_t>(), row_table.numel() > 0,
                                   bag_start.data_ptr<int64_t>(), bag_length.data_ptr<int64_t>(), exact,
                                   out_rows.size(0), out_rows.size(1), out_rows.data_ptr<int64_t>(),
                                   labels.data_ptr<scalar_t>(), mask.data_ptr<scalar_t>(), scalar_t(lr));
  });
  return loss;
}

double negative_sampling_step(const at::Tensor& W_in, const at::Tensor& W_out, const at::Tensor& row_table,
                              const at::Tensor& bag_start, const at::Tensor& bag_length, bool exact,
                              const at::Tensor& target, const at::Tensor& column, const at::Tensor& uniform,
                              const at::Tensor& accept, const at::Tensor& alias, double lr) {
  const auto dtype = W_in.scalar_type();
  check(W_in, dtype, "W_in"); check(W_out, dtype, "W_out");
  check(row_table, at::kLong, "row_table"); check(bag_start, at::kLong, "bag_start");
  check(bag_length, at::kLong, "bag_length"); check(target, at::kLong, "target"); check(column, at::kLong, "column");
  check(uniform, at::kFloat, "uniform"); check(accept, at::kFloat, "accept"); check(alias, at::kLong, "alias");
  TORCH_CHECK(W_in.size(1) == W_out.size(1) && column.dim() == 2 && column.sizes() == uniform.sizes()
              && column.size(0) == target.numel() && bag_start.numel() == target.numel()
              && bag_length.numel() == target.numel() && accept.numel() == alias.numel(),
              "negative_sampling_step: inconsistent shapes");
  double loss = 0;
  AT_DISPATCH_FLOATING_TYPES(dtype, "negative_sampling_step", [&] {
    loss = negative_sampling_step_impl<scalar_t>(
        W_in.data_ptr<scalar_t>(), W_out.data_ptr<scalar_t>(), W_in.size(1), row_table.data_ptr<int64_t>(),
        row_table.numel() > 0, bag_start.data_ptr<int64_t>(), bag_length.data_ptr<int64_t>(), exact,
        target.numel(), target.data_ptr<int64_t>(), column.size(1), column.data_ptr<int64_t>(),
        uniform.data_ptr<float>(), accept.data_ptr<float>(), alias.data_ptr<int64_t>(), scalar_t(lr));
  });
  return loss;
}

// One GloVe epoch: batches order[lo .. lo + batch) of the entries (i, j, x). Per batch, with
// e = f(x) (w_i . w~_j + b_i + b~_j - log x) from the parameters before the batch:
//   theta -= lr g / sqrt(G) for every parameter (G before the batch), then G += g^2.
template <typename T>
double glove_epoch_impl(T* W, T* Wc, T* bw, T* bc, T* GW, T* GWc, T* Gb, T* Gbc, int64_t E, const int64_t* I,
                        const int64_t* J, const T* X, const int64_t* order, int64_t n, int64_t batch, T lr, T x_max,
                        T alpha) {
  static thread_local std::vector<T> wi_buf, wj_buf, e_buf;
  const int64_t B = std::min(batch, n);
  wi_buf.resize(B * E); wj_buf.resize(B * E); e_buf.resize(B);
  T *WI = wi_buf.data(), *WJ = wj_buf.data(), *EB = e_buf.data();
  const V<T> minus_lr(-lr);
  double loss = 0;
  for (int64_t lo = 0; lo < n; lo += batch) {
    const int64_t size = std::min(batch, n - lo);
    const int64_t* entries = order + lo;
    for (int64_t b = 0; b < size; ++b) {
      if (b + 1 < size) { prefetch(W + I[entries[b + 1]] * E, E); prefetch(Wc + J[entries[b + 1]] * E, E); }
      const int64_t t = entries[b], i = I[t], j = J[t];
      const T x = X[t];
      copy(W + i * E, WI + b * E, E);  // w_i and w~_j as they were before the batch
      copy(Wc + j * E, WJ + b * E, E);
      const T diff = dot(WI + b * E, WJ + b * E, E) + bw[i] + bc[j] - std::log(x);
      const T f = std::min(std::pow(x / x_max, alpha), T(1));  // f(x) = min((x / x_max)^alpha, 1)
      const T e = f * diff;
      loss += 0.5 * double(e) * double(diff);
      EB[b] = e;
    }
    // the steps: dJ/dw_i = e w~_j, dJ/dw~_j = e w_i, dJ/db_i = dJ/db~_j = e; each divided by sqrt(G)
    for (int64_t b = 0; b < size; ++b) {
      if (b + 1 < size) {
        const int64_t next = entries[b + 1];
        prefetch(W + I[next] * E, E); prefetch(Wc + J[next] * E, E);
        prefetch(GW + I[next] * E, E); prefetch(GWc + J[next] * E, E);
      }
      const int64_t t = entries[b], i = I[t], j = J[t];
      const V<T> e(EB[b]);
      T *wi = W + i * E, *wj = Wc + j * E, *gi = GW + i * E, *gj = GWc + j * E;
      const T *old_i = WI + b * E, *old_j = WJ + b * E;
      int64_t k = 0;
      for (; k + V<T>::size() <= E; k += V<T>::size()) {
        (V<T>::loadu(wi + k) + minus_lr * (e * V<T>::loadu(old_j + k)) / V<T>::loadu(gi + k).sqrt()).store(wi + k);
        (V<T>::loadu(wj + k) + minus_lr * (e * V<T>::loadu(old_i + k)) / V<T>::loadu(gj + k).sqrt()).store(wj + k);
      }
      for (; k < E; ++k) {
        wi[k] += -lr * (EB[b] * old_j[k]) / std::sqrt(gi[k]);
        wj[k] += -lr * (EB[b] * old_i[k]) / std::sqrt(gj[k]);
      }
      bw[i] += -lr * EB[b] / std::sqrt(Gb[i]);
      bc[j] += -lr * EB[b] / std::sqrt(Gbc[j]);
    }
    // G += g^2, after every step of the batch has used the old G
    for (int64_t b = 0; b < size; ++b) {
      if (b + 1 < size) { prefetch(GW + I[entries[b + 1]] * E, E); prefetch(GWc + J[entries[b + 1]] * E, E); }
      const int64_t t = entries[b], i = I[t], j = J[t];
      const V<T> e(EB[b]);
      T *gi = GW + i * E, *gj = GWc + j * E;
      const T *old_i = WI + b * E, *old_j = WJ + b * E;
      int64_t k = 0;
      for (; k + V<T>::size() <= E; k += V<T>::size()) {
        const V<T> g_i = e * V<T>::loadu(old_j + k), g_j = e * V<T>::loadu(old_i + k);
        (V<T>::loadu(gi + k) + g_i * g_i).store(gi + k);
        (V<T>::loadu(gj + k) + g_j * g_j).store(gj + k);
      }
      for (; k < E; ++k) {
        const T g_i = EB[b] * old_j[k], g_j = EB[b] * old_i[k];
        gi[k] += g_i * g_i;
        gj[k] += g_j * g_j;
      }
      Gb[i] += EB[b] * EB[b];
      Gbc[j] += EB[b] * EB[b];
    }
  }
  return loss;
}

double glove_epoch(const at::Tensor& W, const at::Tensor& W_ctx, const at::Tensor& b, const at::Tensor& b_ctx,
                   const at::Tensor& G_W, const at::Tensor& G_ctx, const at::Tensor& G_b, const at::Tensor& G_b_ctx,
                   const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& x, const at::Tensor& order,
                   int64_t batch_size, double lr, double x_max, double alpha) {
  const auto dtype = W.scalar_type();
  for (const auto* t : {&W, &W_ctx, &b, &b_ctx, &G_W, &G_ctx, &G_b, &G_b_ctx, &x}) check(*t, dtype, "glove parameter");
  for (const auto* t : {&rows, &cols, &order}) check(*t, at::kLong, "glove index");
  TORCH_CHECK(batch_size > 0 && rows.numel() == x.numel() && cols.numel() == x.numel(),
              "glove_epoch: inconsistent shapes");
  double loss = 0;
  AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "glove_epoch", [&] {
    loss = glove_epoch_impl<scalar_t>(
        W.data_ptr<scalar_t>(), W_ctx.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), b_ctx.data_ptr<scalar_t>(),
        G_W.data_ptr<scalar_t>(), G_ctx.data_ptr<scalar_t>(), G_b.data_ptr<scalar_t>(), G_b_ctx.data_ptr<scalar_t>(),
        W.size(1), rows.data_ptr<int64_t>(), cols.data_ptr<int64_t>(), x.data_ptr<scalar_t>(),
        order.data_ptr<int64_t>(), order.numel(), batch_size, scalar_t(lr), scalar_t(x_max), scalar_t(alpha));
  });
  return loss;
}

}  // namespace

TORCH_LIBRARY(seqlab_embeddings, m) {
  m.def("sgd_step(Tensor(a!) W_in, Tensor(b!) W_out, Tensor row_table, Tensor bag_start, Tensor bag_length, "
        "bool exact, Tensor out_rows, Tensor labels, Tensor mask, float lr) -> float");
  m.def("negative_sampling_step(Tensor(a!) W_in, Tensor(b!) W_out, Tensor row_table, Tensor bag_start, "
        "Tensor bag_length, bool exact, Tensor target, Tensor column, Tensor uniform, Tensor accept, Tensor alias, "
        "float lr) -> float");
  m.def("glove_epoch(Tensor(a!) W, Tensor(b!) W_ctx, Tensor(c!) b, Tensor(d!) b_ctx, Tensor(e!) G_W, "
        "Tensor(f!) G_ctx, Tensor(g!) G_b, Tensor(h!) G_b_ctx, Tensor rows, Tensor cols, Tensor x, Tensor order, "
        "int batch_size, float lr, float x_max, float alpha) -> float");
}

TORCH_LIBRARY_IMPL(seqlab_embeddings, CPU, m) {
  m.impl("sgd_step", &sgd_step);
  m.impl("negative_sampling_step", &negative_sampling_step);
  m.impl("glove_epoch", &glove_epoch);
}
"""


# -- the same functions in PyTorch: the fallback, and the executable specification ----------
def sgd_step_torch(W_in: torch.Tensor, W_out: torch.Tensor, row_table: torch.Tensor, bag_start: torch.Tensor,
                   bag_length: torch.Tensor, exact: bool, out_rows: torch.Tensor, labels: torch.Tensor,
                   mask: torch.Tensor, lr: float) -> float:
    """``objective.sgd_step`` on the bags ``row_table[bag_start[b] : bag_start[b] + bag_length[b]]``, h their mean.

    An empty ``row_table`` means one input row per example, ``bag_start[b]`` itself (skip-gram).
    """
    if row_table.numel() == 0:
        inputs = bag_start
    else:
        inputs = Bags.from_table(row_table, bag_start, bag_length, exact, W_in.dtype)
    return float(sgd_step(W_in, W_out, inputs, out_rows, labels, mask, lr))


def alias_draw(column: torch.Tensor, uniform: torch.Tensor, accept: torch.Tensor, alias: torch.Tensor) -> torch.Tensor:
    """Walker's alias method: column c is kept if u < accept[c], else replaced by alias[c]."""
    return torch.where(uniform < accept[column], column, alias[column])


def negative_sampling_step_torch(W_in: torch.Tensor, W_out: torch.Tensor, row_table: torch.Tensor,
                                 bag_start: torch.Tensor, bag_length: torch.Tensor, exact: bool, target: torch.Tensor,
                                 column: torch.Tensor, uniform: torch.Tensor, accept: torch.Tensor,
                                 alias: torch.Tensor, lr: float) -> float:
    """``sgd_step_torch`` predicting ``target`` (B,) against k noise words drawn from ``column``, ``uniform`` (B, k)."""
    noise = alias_draw(column, uniform, accept, alias)  # (B, k)
    B, k = noise.shape
    rows = torch.cat([target[:, None], noise], dim=1)  # (B, 1 + k)
    labels = torch.zeros(B, 1 + k, dtype=W_in.dtype)
    labels[:, 0] = 1.0
    mask = torch.ones(B, 1 + k, dtype=W_in.dtype)
    mask[:, 1:] = (noise != target[:, None]).to(W_in.dtype)  # word2vec.c skips a noise word equal to the target
    return sgd_step_torch(W_in, W_out, row_table, bag_start, bag_length, exact, rows, labels, mask, lr)


class Kernels:
    """``sgd_step``, ``negative_sampling_step`` and ``glove_epoch``, from the compiled extension or from PyTorch."""

    def __init__(self, compiled: bool):
        self.compiled = compiled
        if compiled:
            ops = torch.ops.seqlab_embeddings
            self.sgd_step, self.negative_sampling_step = ops.sgd_step, ops.negative_sampling_step
            self.glove_epoch = ops.glove_epoch
        else:
            self.sgd_step, self.negative_sampling_step = sgd_step_torch, negative_sampling_step_torch
            self.glove_epoch = glove_epoch_torch


_lock = threading.Lock()
_state: dict[str, Kernels | None] = {"loaded": None}
_mode: dict[str, bool | None] = {"compiled": None}  # None: compile when possible; False: PyTorch only


FLAGS = ["-O3", *extension.simd_flags()]
BUILD_COMMAND = "python -m seqlab.embeddings.build"
WHAT = "seqlab's embedding kernels"


def build_folder() -> Path:
    """This environment's build of the embedding kernels (see ``seqlab.nn.bptt.extension``)."""
    return extension.cache_root() / f"seqlab_embeddings_{extension.environment_digest([_CPP_SOURCE.encode()], FLAGS)}"


def _compile(announce=None) -> None:
    """Load this environment's build into this process, compiling it first when there is none."""
    extension.build_and_load(build_folder(), extension.inline_compiler(_CPP_SOURCE, FLAGS), what=WHAT,
                             command=BUILD_COMMAND, announce=announce)


def _build() -> bool:
    """Compile and load the extension; False (with a logged warning) if that fails."""
    if os.environ.get("SEQLAB_EMBEDDINGS_COMPILE", "1") == "0":
        log.warning("SEQLAB_EMBEDDINGS_COMPILE=0: the embedding trainers use their PyTorch steps")
        return False
    if hasattr(torch.ops, "seqlab_embeddings") and hasattr(torch.ops.seqlab_embeddings, "glove_epoch"):
        return True
    try:
        _compile()
        return True
    except Exception as error:  # a missing compiler shows up as many different exception types
        log.warning("the embedding trainers could not compile their C++ loops (%s: %s); using the PyTorch steps, "
                    "which are several times slower", type(error).__name__, error)
        return False


def kernels() -> Kernels:
    """The training steps in use: compiled when possible (built once per process, cached on disk)."""
    if _mode["compiled"] is False:
        return _FALLBACK
    if _state["loaded"] is None:
        with _lock:
            if _state["loaded"] is None:
                _state["loaded"] = Kernels(compiled=_build())
    return _state["loaded"]


def use_compiled(flag: bool | None) -> None:
    """Force the PyTorch steps (False) or go back to compiling when possible (None)."""
    _mode["compiled"] = False if flag is False else None


_FALLBACK = Kernels(compiled=False)
