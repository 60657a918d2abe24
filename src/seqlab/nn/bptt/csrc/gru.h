// The pointwise work of one GRU step (seqlab.nn.bptt.gru runs the time loop), forward and backward.
#pragma once
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include "simd.h"

namespace seqlab::gru {

// xg (B, 3H) input projections with biases, hg (B, 3H) = W_hh h, b_hn (H) (zeros without bias), h_prev (B, H)
// -> acts (B, 4H) = r, z, n, W_hn h + b_hn; h_out (B, H)
template <typename T>
void gru_forward_rows(int64_t b0, int64_t b1, int64_t H, const T* X, const T* R, const T* BN, const T* H0, T* A,
                      T* HO) {
  for (int64_t b = b0; b < b1; ++b) {
    const T *x = X + b * 3 * H, *hh = R + b * 3 * H, *hp = H0 + b * H;
    T *a = A + b * 4 * H, *ho = HO + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> r = sigmoid<T>(k.ld(x + j) + k.ld(hh + j));
      const V<T> z = sigmoid<T>(k.ld(x + H + j) + k.ld(hh + H + j));
      const V<T> hn = k.ld(hh + 2 * H + j) + k.ld(BN + j);
      const V<T> n = tanh<T>(k.ld(x + 2 * H + j) + r * hn);
      k.st(r, a + j);
      k.st(z, a + H + j);
      k.st(n, a + 2 * H + j);
      k.st(hn, a + 3 * H + j);
      k.st(n + z * (k.ld(hp + j) - n), ho + j);  // h_t = (1 - z_t) n_t + z_t h_{t-1}
    }
  }
}

inline void gru_forward(const at::Tensor& xg, const at::Tensor& hg, const at::Tensor& b_hn,
                        const at::Tensor& h_prev, const at::Tensor& acts, const at::Tensor& h_out) {
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  AT_DISPATCH_FLOATING_TYPES(hg.scalar_type(), "gru_forward", [&] {
    const scalar_t *X = xg.data_ptr<scalar_t>(), *R = hg.data_ptr<scalar_t>(), *BN = b_hn.data_ptr<scalar_t>();
    const scalar_t* H0 = h_prev.data_ptr<scalar_t>();
    scalar_t *A = acts.data_ptr<scalar_t>(), *HO = h_out.data_ptr<scalar_t>();
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      gru_forward_rows<scalar_t>(b0, b1, H, X, R, BN, H0, A, HO);
    });
  });
}

// dh (B, H) -> dx (B, 3H) for the input projections, dhh (B, 3H) for W_hh h, dh_direct = dh * z
template <typename T>
void gru_backward_rows(int64_t b0, int64_t b1, int64_t H, const T* DH, const T* A, const T* H0, T* DX, T* DR,
                       T* DD) {
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *a = A + b * 4 * H, *d = DH + b * H, *hp = H0 + b * H;
    T *x = DX + b * 3 * H, *hh = DR + b * 3 * H, *dd = DD + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> r = k.ld(a + j), z = k.ld(a + H + j), n = k.ld(a + 2 * H + j), hn = k.ld(a + 3 * H + j);
      const V<T> dh = k.ld(d + j);
      const V<T> d_n = dh * (one - z) * (one - n * n);
      const V<T> d_z = dh * (k.ld(hp + j) - n) * z * (one - z);
      const V<T> d_r = d_n * hn * r * (one - r);
      k.st(d_r, x + j);
      k.st(d_z, x + H + j);
      k.st(d_n, x + 2 * H + j);
      k.st(d_r, hh + j);
      k.st(d_z, hh + H + j);
      k.st(d_n * r, hh + 2 * H + j);
      k.st(dh * z, dd + j);
    }
  }
}

inline void gru_backward(const at::Tensor& dh, const at::Tensor& acts, const at::Tensor& h_prev,
                         const at::Tensor& dx, const at::Tensor& dhh, const at::Tensor& dh_direct) {
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "gru_backward", [&] {
    const scalar_t *DH = dh.data_ptr<scalar_t>(), *A = acts.data_ptr<scalar_t>(), *H0 = h_prev.data_ptr<scalar_t>();
    scalar_t *DX = dx.data_ptr<scalar_t>(), *DR = dhh.data_ptr<scalar_t>(), *DD = dh_direct.data_ptr<scalar_t>();
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      gru_backward_rows<scalar_t>(b0, b1, H, DH, A, H0, DX, DR, DD);
    });
  });
}

}  // namespace seqlab::gru
