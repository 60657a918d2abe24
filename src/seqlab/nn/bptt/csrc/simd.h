// SIMD helpers shared by the kernels: a chunk of a row, the gate nonlinearities, row sums.
//
// Every inner loop runs over the H units of one batch row, Vectorized<T>::size() at a time
// (ATen's SIMD type), the last chunk partial: loads fill the missing lanes with zeros and
// stores leave them alone.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cstdint>

namespace seqlab {

template <typename T> using V = at::vec::Vectorized<T>;

template <typename T> struct Chunk {
  int64_t n;
  V<T> ld(const T* p) const { return n == V<T>::size() ? V<T>::loadu(p) : V<T>::loadu(p, n); }
  void st(const V<T>& v, T* p) const { if (n == V<T>::size()) v.store(p); else v.store(p, n); }
  // v on the lanes this chunk covers, zero on the others (what a row sum may add)
  V<T> live(const V<T>& v) const { return n == V<T>::size() ? v : V<T>::set(V<T>(T(0)), v, n); }
};

template <typename T> inline Chunk<T> chunk_at(int64_t j, int64_t width) {
  return Chunk<T>{std::min<int64_t>(V<T>::size(), width - j)};
}

template <typename T> inline T sum_lanes(const V<T>& v) {
  T lanes[V<T>::size()];
  v.store(lanes);
  T total = T(0);
  for (int64_t k = 0; k < V<T>::size(); ++k) total += lanes[k];
  return total;
}

// sigma(x) = 1 / (1 + e^-x) and tanh(x). float64 (the precision of the parity tests) uses
// Sleef's 1-ulp functions through ATen; float32 with AVX2 uses the faster forms below.
template <typename T> inline V<T> sigmoid(const V<T>& x) {
  const V<T> one(T(1));
  return one / (one + x.neg().exp());
}
template <typename T> inline V<T> tanh(const V<T>& x) { return x.tanh(); }

#if defined(CPU_CAPABILITY_AVX2) && defined(__AVX2__) && defined(__FMA__)
// e^x as 2^n e^r, n = round(x / ln 2), r = x - n ln 2 in two parts (Cody and Waite), e^r by
// Cephes' degree-6 polynomial (expf, relative error below 2e-7); x is clamped so 2^n stays normal.
inline __m256 exp_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.37f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

template <> inline V<float> sigmoid(const V<float>& x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)) for |x| >= 0.625; below, where that form would
// cancel, Cephes' tanhf polynomial x + x z P(z), z = x^2 (relative error below 2e-7 on both).
template <> inline V<float> tanh(const V<float>& v) {
  const __m256 x = v;
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_xor_ps(x, sign);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp_avx2(_mm256_add_ps(ax, ax));
  const __m256 large = _mm256_fnmadd_ps(_mm256_set1_ps(2.0f), _mm256_div_ps(one, _mm256_add_ps(e, one)), one);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, z), p, x);
  const __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_or_ps(large, sign), small, is_small);
}
#endif

// rows of the batch handed to each thread: enough work per task to beat the threading cost
inline int64_t grain(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

}  // namespace seqlab
