// The per-step matrix products of a recurrence: C (M, N) = A (M, K) op(W) [+ C], with the same W
// at every step of a sequence and a small M (the batch).
//
// A BLAS call reorganises ("packs") W into the layout its inner kernel reads on every call; for a
// small M that copy costs a large share of the product (MKL spends a fifth of an LSTM step's
// product in it). A recurrence can pack W once per sequence, as oneDNN's RNN primitive does. Three
// ways, best first, chosen when the library is built and at run time:
//
// * "panels" (CPUs with AVX2, float32 and float64): op(W) cut once into column panels of
//   NR = 2 SIMD vectors, each stored k-major, then per step a register-blocked kernel: MR <= 6
//   rows of A times one panel, 2 * MR accumulators held in registers over the whole K, A read in
//   place by broadcasts. For M < 4 the kernel takes several panels at once instead, so enough
//   independent accumulators hide the latency of the fused multiply-adds.
// * "mkl" (float32, elsewhere): MKL's packed API (cblas_sgemm_pack once, cblas_sgemm_compute per
//   step), found at run time with dlsym in the MKL that PyTorch's x86 wheels carry (AVX-512 CPUs,
//   where MKL's AVX-512 kernels beat an AVX2 kernel).
// * "aten": at::addmm / at::mm on the unpacked weights, always available.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <type_traits>

namespace seqlab {

#if defined(CPU_CAPABILITY_AVX2) && defined(SEQLAB_PANEL_GEMM)
constexpr bool kPanelsBuilt = true;
#else
constexpr bool kPanelsBuilt = false;
#endif

struct MklPackedGemm {
  // CBLAS enumerators (mkl_cblas.h)
  static constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kPacked = 151, kBMatrix = 162;
  using SizeFn = size_t (*)(int, int, int, int);
  using PackFn = void (*)(int, int, int, int, int, int, float, const float*, int, float*);
  using ComputeFn = void (*)(int, int, int, int, int, int, const float*, int, const float*, int, float, float*, int);
  SizeFn size = nullptr;
  PackFn pack = nullptr;
  ComputeFn compute = nullptr;

  bool available() const { return size && pack && compute; }

  static const MklPackedGemm& get() {
    static const MklPackedGemm api = find();
    return api;
  }

 private:
  static MklPackedGemm find() {
    MklPackedGemm api;
    void* handle = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
    void* scope = handle ? handle : RTLD_DEFAULT;
    api.size = reinterpret_cast<SizeFn>(dlsym(scope, "cblas_sgemm_pack_get_size"));
    api.pack = reinterpret_cast<PackFn>(dlsym(scope, "cblas_sgemm_pack"));
    api.compute = reinterpret_cast<ComputeFn>(dlsym(scope, "cblas_sgemm_compute"));
    return api;
  }
};

namespace panels {

template <typename T> using Vec = at::vec::Vectorized<T>;
template <typename T> constexpr int64_t width() { return 2 * Vec<T>::size(); }  // NR: columns per panel

// C[0, n) (+)= (lo, hi), n <= NR columns
template <typename T> inline void store(T* c, Vec<T> lo, Vec<T> hi, int64_t n, bool accumulate) {
  constexpr int64_t S = Vec<T>::size();
  const int64_t n_lo = std::min(n, S), n_hi = std::max<int64_t>(n - S, 0);
  if (accumulate) {
    lo = lo + Vec<T>::loadu(c, n_lo);
    if (n_hi > 0) hi = hi + Vec<T>::loadu(c + S, n_hi);
  }
  lo.store(c, n_lo);
  if (n_hi > 0) hi.store(c + S, n_hi);
}

// MR rows of A times NP consecutive panels (each K x NR, `stride` apart); the last panel has
// `last` valid columns. The accumulators are an array indexed only by constants once the loops are
// unrolled, so the compiler keeps them in registers (no address of them escapes).
template <typename T, int MR, int NP>
inline void block(int64_t K, const T* A, int64_t lda, const T* P, int64_t stride, T* C, int64_t ldc, int64_t last,
                  bool accumulate) {
  constexpr int64_t NR = width<T>(), S = Vec<T>::size();
  Vec<T> acc[MR * NP * 2];
#pragma GCC unroll 24
  for (int i = 0; i < MR * NP * 2; ++i) acc[i] = Vec<T>(T(0));
  for (int64_t k = 0; k < K; ++k) {
    Vec<T> b[NP * 2];
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q) {
      b[2 * q] = Vec<T>::loadu(P + q * stride + k * NR);
      b[2 * q + 1] = Vec<T>::loadu(P + q * stride + k * NR + S);
    }
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
      const Vec<T> a(A[m * lda + k]);
#pragma GCC unroll 8
      for (int q = 0; q < 2 * NP; ++q) acc[m * NP * 2 + q] = at::vec::fmadd(a, b[q], acc[m * NP * 2 + q]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q)
      store<T>(C + m * ldc + q * NR, acc[(m * NP + q) * 2], acc[(m * NP + q) * 2 + 1], q == NP - 1 ? last : NR,
               accumulate);
}

template <typename T, int MR>
inline void rows_times_panel(int64_t K, const T* A, int64_t lda, const T* P, T* C, int64_t ldc, int64_t last,
                             bool accumulate) {
  block<T, MR, 1>(K, A, lda, P, K * width<T>(), C, ldc, last, accumulate);
}

// every row of A times panels [p0, p1)
template <typename T>
void product(int64_t M, int64_t K, int64_t N, const T* A, int64_t lda, const T* P, int64_t p0, int64_t p1, T* C,
             int64_t ldc, bool accumulate) {
  constexpr int64_t NR = width<T>();
  const int64_t stride = K * NR;
  auto valid = [&](int64_t p) { return std::min<int64_t>(NR, N - p * NR); };
  if (M < 4) {  // too few rows for enough accumulators: several panels per block instead
    int64_t p = p0;
    for (; M == 1 && p + 4 <= p1; p += 4)
      block<T, 1, 4>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p + 3), accumulate);
    for (; M == 2 && p + 3 <= p1; p += 3)
      block<T, 2, 3>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p + 2), accumulate);
    for (; M == 3 && p + 2 <= p1; p += 2)
      block<T, 3, 2>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p + 1), accumulate);
    for (; p < p1; ++p) {
      if (M == 1) block<T, 1, 1>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p), accumulate);
      else if (M == 2) block<T, 2, 1>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p), accumulate);
      else block<T, 3, 1>(K, A, lda, P + p * stride, stride, C + p * NR, ldc, valid(p), accumulate);
    }
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {  // one panel stays in cache while every row block reads it
    const T* panel = P + p * stride;
    T* c = C + p * NR;
    const int64_t last = valid(p);
    int64_t m = 0;
    // blocks of 6 rows; a remainder of 1-3 rows is merged with the block before it and split as
    // 7 = 4 + 3, 8 = 4 + 4, 9 = 5 + 4, so no block is left with too few accumulators
    while (M - m >= 6 && !(M - m >= 7 && M - m <= 9)) {
      rows_times_panel<T, 6>(K, A + m * lda, lda, panel, c + m * ldc, ldc, last, accumulate);
      m += 6;
    }
    auto rows = [&](int64_t count) {
      const T* a = A + m * lda;
      T* cm = c + m * ldc;
      switch (count) {
        case 5: rows_times_panel<T, 5>(K, a, lda, panel, cm, ldc, last, accumulate); break;
        case 4: rows_times_panel<T, 4>(K, a, lda, panel, cm, ldc, last, accumulate); break;
        case 3: rows_times_panel<T, 3>(K, a, lda, panel, cm, ldc, last, accumulate); break;
        default: TORCH_CHECK(false, "recurrent product: no block of ", count, " rows");
      }
      m += count;
    };
    const int64_t rest = M - m;  // 0, 4, 5, 7, 8 or 9
    if (rest >= 7) rows(rest == 9 ? 5 : 4);
    if (M - m > 0) rows(M - m);
  }
}

}  // namespace panels

// op(W) = W^T for W (N, K) ("transposed": the forward's W_hh h_{t-1}, written h W_hh^T), or W
// itself for W (K, N) (the backward's W_hh^T delta, written delta W_hh).
template <typename T> class WeightProduct {
 public:
  // method: "auto" (the best available), "panels", "mkl" or "aten"
  WeightProduct(const at::Tensor& W, bool transposed, int64_t M, const std::string& method = "auto")
      : M_(M), N_(transposed ? W.size(0) : W.size(1)), K_(transposed ? W.size(1) : W.size(0)) {
    const at::Tensor w = W.contiguous();
    op_ = transposed ? w.t() : w;  // (K, N)
    const bool mkl = std::is_same_v<T, float> && MklPackedGemm::get().available();
    TORCH_CHECK(method == "auto" || method == "aten" || (method == "panels" && kPanelsBuilt) ||
                    (method == "mkl" && mkl),
                "recurrent product: method '", method, "' is not available in this build");
    if ((method == "auto" && kPanelsBuilt) || method == "panels") {
      pack_panels(w, transposed);
    } else if ((method == "auto" && mkl) || method == "mkl") {
      if constexpr (std::is_same_v<T, float>) {
        const auto& api = MklPackedGemm::get();
        const size_t bytes = api.size(MklPackedGemm::kBMatrix, M_, N_, K_);
        mkl_ = at::empty({static_cast<int64_t>(bytes / sizeof(float)) + 1}, w.options());
        api.pack(MklPackedGemm::kRowMajor, MklPackedGemm::kBMatrix,
                 transposed ? MklPackedGemm::kTrans : MklPackedGemm::kNoTrans, M_, N_, K_, 1.0f, w.data_ptr<float>(),
                 w.size(1), mkl_.data_ptr<float>());
      }
    }
  }

  // C = A op(W), or C += A op(W) when accumulate; A (M, K) and C (M, N) with contiguous rows.
  void operator()(const T* A, T* C, bool accumulate) const {
    if (panels_.defined()) {
      constexpr int64_t NR = panels::width<T>();
      const int64_t count = (N_ + NR - 1) / NR;
      const T* P = panels_.data_ptr<T>();
      // threads split the panels; one thread when the step is small
      at::parallel_for(0, count, std::max<int64_t>(1, (1 << 17) / std::max<int64_t>(1, M_ * K_ * NR)),
                       [&](int64_t p0, int64_t p1) {
                         panels::product<T>(M_, K_, N_, A, K_, P, p0, p1, C, N_, accumulate);
                       });
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      if (mkl_.defined()) {
        MklPackedGemm::get().compute(MklPackedGemm::kRowMajor, MklPackedGemm::kNoTrans, MklPackedGemm::kPacked, M_,
                                     N_, K_, A, K_, mkl_.data_ptr<float>(), N_, accumulate ? 1.0f : 0.0f, C, N_);
        return;
      }
    }
    const auto options = op_.options();
    const at::Tensor a = at::from_blob(const_cast<T*>(A), {M_, K_}, options);
    at::Tensor c = at::from_blob(C, {M_, N_}, options);
    if (accumulate) c.addmm_(a, op_);
    else at::mm_out(c, a, op_);
  }

 private:
  void pack_panels(const at::Tensor& w, bool transposed) {
    constexpr int64_t NR = panels::width<T>();
    const int64_t count = (N_ + NR - 1) / NR;
    panels_ = at::zeros({count, K_, NR}, w.options());
    const T* src = w.data_ptr<T>();
    T* dst = panels_.data_ptr<T>();
    at::parallel_for(0, count, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t k = 0; k < K_; ++k)
          for (int64_t j = 0, n = p * NR; j < NR && n < N_; ++j, ++n)
            dst[(p * K_ + k) * NR + j] = transposed ? src[n * K_ + k] : src[k * N_ + n];
    });
  }

  int64_t M_, N_, K_;
  at::Tensor op_, panels_, mkl_;
};

// The product as an operator, for the tests: C = A op(W) (+ accumulate_into) by the given method.
inline at::Tensor recurrent_product(const at::Tensor& a, const at::Tensor& weight, bool transposed,
                                    const std::optional<at::Tensor>& accumulate_into, c10::string_view method) {
  TORCH_CHECK(a.dim() == 2 && weight.dim() == 2, "recurrent_product: expected 2-D tensors");
  const at::Tensor A = a.contiguous();
  const int64_t N = transposed ? weight.size(0) : weight.size(1);
  at::Tensor C = accumulate_into.has_value() ? accumulate_into->contiguous().clone()
                                             : at::empty({A.size(0), N}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "recurrent_product", [&] {
    const WeightProduct<scalar_t> product(weight.to(A.scalar_type()), transposed, A.size(0), std::string(method));
    product(A.data_ptr<scalar_t>(), C.data_ptr<scalar_t>(), accumulate_into.has_value());
  });
  return C;
}

inline std::vector<std::string> recurrent_product_methods() {
  std::vector<std::string> methods;
  if (kPanelsBuilt) methods.push_back("panels");
  if (MklPackedGemm::get().available()) methods.push_back("mkl");
  methods.push_back("aten");
  return methods;
}

}  // namespace seqlab
