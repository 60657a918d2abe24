// Zoneout and lengths around a state, one step (seqlab.nn.bptt._common writes out the algebra):
//
//   forward:   s_t = valid_t ? k_t s_{t-1} + (1 - k_t) s^cell_t : s_{t-1}
//   backward:  dL/ds^cell_t = valid_t ? (1 - k_t) ds_t : 0
//              dL/ds_{t-1} (bypassing the cell) = valid_t ? k_t ds_t : ds_t
//
// k_t is a (B, F) keep mask, or the probability p at evaluation, or absent (0); valid_t one flag
// per batch row, or absent (true).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace seqlab {

template <typename T> struct StateMix {
  const T* keep = nullptr;    // (T, B, F) keep masks, or null
  T keep_p = T(0);            // the probability, when keep is null
  bool has_keep = false;
  const bool* valid = nullptr;  // (T, B), or null
  int64_t B = 0, F = 0;

  // keep_mask and valid_rows contiguous, or undefined
  StateMix(const at::Tensor& keep_mask, std::optional<double> p, const at::Tensor& valid_rows, int64_t batch,
           int64_t features)
      : B(batch), F(features) {
    if (keep_mask.defined()) {
      keep = keep_mask.data_ptr<T>();
      has_keep = true;
    } else if (p.has_value()) {
      keep_p = static_cast<T>(*p);
      has_keep = true;
    }
    if (valid_rows.defined()) valid = valid_rows.data_ptr<bool>();
  }

  bool active() const { return has_keep || valid != nullptr; }

  T k(int64_t t, int64_t b, int64_t j) const { return keep ? keep[(t * B + b) * F + j] : keep_p; }
  bool ok(int64_t t, int64_t b) const { return valid == nullptr || valid[t * B + b]; }

  // s (the cell's new state, in place) <- the layer's state after step t
  void forward(int64_t t, T* s, const T* old) const {
    for (int64_t b = 0; b < B; ++b) {
      T* row = s + b * F;
      const T* before = old + b * F;
      if (!ok(t, b)) {
        std::copy(before, before + F, row);
      } else if (has_keep) {
        for (int64_t j = 0; j < F; ++j) {
          const T kj = k(t, b, j);
          row[j] = kj * before[j] + (T(1) - kj) * row[j];
        }
      }
    }
  }

  // ds (B, F): dL/ds_t in, dL/ds_{t-1} that bypasses the cell out (in place); d_cell: dL/ds^cell_t
  void backward(int64_t t, T* ds, T* d_cell) const {
    for (int64_t b = 0; b < B; ++b) {
      T* row = ds + b * F;
      T* cell = d_cell + b * F;
      if (!ok(t, b)) {
        std::fill(cell, cell + F, T(0));
      } else if (has_keep) {
        for (int64_t j = 0; j < F; ++j) {
          const T kj = k(t, b, j);
          cell[j] = (T(1) - kj) * row[j];
          row[j] = kj * row[j];
        }
      } else {
        std::copy(row, row + F, cell);
        std::fill(row, row + F, T(0));
      }
    }
  }
};

}  // namespace seqlab
