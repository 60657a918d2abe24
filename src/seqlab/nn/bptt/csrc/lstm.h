// The LSTM over a whole sequence, forward and backward, as seqlab.nn.bptt.lstm writes it out.
//
// One call runs every step of one layer and direction, the way oneDNN's RNN primitive
// organises the work: the input projections of all steps arrive precomputed in the gate buffer
// (one product), each step adds the recurrent product straight into its slice of that buffer
// (weights packed once, no allocation), and one fused loop turns the pre-activations into
// activations in place, then writes c_t and m_t. Backward walks the steps in reverse with one
// fused loop and one product per step; the products over all steps (dW_hh, dW_ih, dx) are left
// to the caller.
#pragma once
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <optional>
#include <vector>

#include "gemm.h"
#include "mix.h"
#include "sequence.h"
#include "simd.h"

namespace seqlab::lstm {

// gates (B, G*H): pre-activations in, activations out (i, f, g, o; coupled f, g, o);
// c_prev (B, H), peep (3, H) = [w_ci, w_cf, w_co] -> c_out (B, H), m_out (B, H) = o * tanh(c)
template <typename T, bool COUPLED, bool PEEP>
void cell_forward_rows(int64_t b0, int64_t b1, int64_t H, T* gates, const T* c_prev, const T* peep, T* c_out,
                       T* m_out) {
  constexpr int64_t G = COUPLED ? 3 : 4, gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    T* p = gates + b * G * H;
    const T* cp = c_prev + b * H;
    T *c = c_out + b * H, *m = m_out + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> c_before = k.ld(cp + j);
      V<T> a_f = k.ld(p + gf * H + j), a_o = k.ld(p + go * H + j);
      if constexpr (PEEP) a_f = a_f + k.ld(peep + H + j) * c_before;
      const V<T> f = sigmoid<T>(a_f);
      V<T> i = one - f;  // coupled: i_t = 1 - f_t
      if constexpr (!COUPLED) {
        V<T> a_i = k.ld(p + gi * H + j);
        if constexpr (PEEP) a_i = a_i + k.ld(peep + j) * c_before;
        i = sigmoid<T>(a_i);
      }
      const V<T> g = tanh<T>(k.ld(p + gg * H + j));
      const V<T> ct = f * c_before + i * g;  // c_t = f_t * c_{t-1} + i_t * g_t
      if constexpr (PEEP) a_o = a_o + k.ld(peep + 2 * H + j) * ct;
      const V<T> o = sigmoid<T>(a_o);
      if constexpr (!COUPLED) k.st(i, p + gi * H + j);
      k.st(f, p + gf * H + j);
      k.st(g, p + gg * H + j);
      k.st(o, p + go * H + j);
      k.st(ct, c + j);
      k.st(o * tanh<T>(ct), m + j);  // m_t = o_t * tanh(c_t)
    }
  }
}

// dm = dL/dm_t, dc = dL/dc_t from later steps (B, H); acts (B, G*H), c_prev, c_t (B, H)
// -> delta = dL/d(pre-activations) (B, G*H), dc_prev = dL/dc_{t-1} (B, H)
template <typename T, bool COUPLED, bool PEEP>
void cell_backward_rows(int64_t b0, int64_t b1, int64_t H, const T* DM, const T* DC, const T* A, const T* C0,
                        const T* C, const T* peep, T* D, T* DC0) {
  constexpr int64_t G = COUPLED ? 3 : 4, gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *a = A + b * G * H, *dm = DM + b * H, *dc = DC + b * H, *cp = C0 + b * H, *c = C + b * H;
    T *d = D + b * G * H, *dcp = DC0 + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> f = k.ld(a + gf * H + j), g = k.ld(a + gg * H + j), o = k.ld(a + go * H + j);
      const V<T> i = COUPLED ? one - f : k.ld(a + gi * H + j);
      const V<T> dmv = k.ld(dm + j), c_before = k.ld(cp + j);
      const V<T> tc = tanh<T>(k.ld(c + j));
      const V<T> d_o = dmv * tc * o * (one - o);  // delta^o = dm tanh(c) o (1 - o)
      V<T> dct = k.ld(dc + j) + dmv * o * (one - tc * tc);  // dc_t += dm o (1 - tanh^2 c)
      if constexpr (PEEP) dct = dct + d_o * k.ld(peep + 2 * H + j);
      const V<T> d_f = (COUPLED ? dct * (c_before - g) : dct * c_before) * f * (one - f);
      const V<T> d_g = dct * i * (one - g * g);
      V<T> dcp_v = dct * f;  // dc_{t-1} = dc_t f + w_ci delta^i + w_cf delta^f
      if constexpr (PEEP) dcp_v = dcp_v + d_f * k.ld(peep + H + j);
      if constexpr (!COUPLED) {
        const V<T> d_i = dct * g * i * (one - i);
        k.st(d_i, d + gi * H + j);
        if constexpr (PEEP) dcp_v = dcp_v + d_i * k.ld(peep + j);
      }
      k.st(d_f, d + gf * H + j);
      k.st(d_g, d + gg * H + j);
      k.st(d_o, d + go * H + j);
      k.st(dcp_v, dcp + j);
    }
  }
}

template <typename T>
void cell_forward(bool coupled, bool peep, int64_t B, int64_t H, T* gates, const T* c_prev, const T* w, T* c_out,
                  T* m_out) {
  dispatch_variant(coupled, peep, [&](auto coupled_c, auto peep_c) {
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      cell_forward_rows<T, decltype(coupled_c)::value, decltype(peep_c)::value>(b0, b1, H, gates, c_prev, w, c_out,
                                                                                 m_out);
    });
  });
}

template <typename T>
void cell_backward(bool coupled, bool peep, int64_t B, int64_t H, const T* dm, const T* dc, const T* acts,
                   const T* c_prev, const T* c_t, const T* w, T* delta, T* dc_prev) {
  dispatch_variant(coupled, peep, [&](auto coupled_c, auto peep_c) {
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      cell_backward_rows<T, decltype(coupled_c)::value, decltype(peep_c)::value>(b0, b1, H, dm, dc, acts, c_prev, c_t,
                                                                                  w, delta, dc_prev);
    });
  });
}

// gates (T, B, G*H): the input projections xg_t on entry, the gate activations on return (in place,
// so the one (T, B, G*H) buffer serves both). Returns hs, cs, c_cell, ms, c_n.
inline std::vector<at::Tensor> lstm_sequence_forward(
    const at::Tensor& gates, const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& weight_hh,
    const std::optional<at::Tensor>& weight_hr, const std::optional<at::Tensor>& peep,
    const std::optional<at::Tensor>& keep_h, const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p,
    std::optional<double> keep_c_p, const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask,
    bool reverse, bool coupled, bool save) {
  TORCH_CHECK(gates.is_contiguous(), "lstm_sequence_forward: gates must be contiguous");
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const int64_t T = gates.size(0), B = gates.size(1), GH = gates.size(2), H = c0.size(1), Hout = h0.size(1);
  const bool proj = o.weight_hr.defined(), c_zoneout = o.c_zoneout();
  const auto options = gates.options();
  const int64_t slots = save ? T : 1;  // per-step buffers: every step when backward follows, else one
  at::Tensor hs = at::empty({T + 1, B, Hout}, options);
  at::Tensor cs = at::empty({save ? T + 1 : 2, B, H}, options);
  at::Tensor c_cell = c_zoneout ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor ms = proj ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor h_masked = o.mask.defined() ? at::empty({B, Hout}, options) : at::Tensor();
  hs.select(0, reverse ? T : 0).copy_(h0);
  cs.select(0, save && reverse ? T : 0).copy_(c0);

  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_sequence_forward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/true, B);  // W_hh h_{t-1}
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/true, B);  // W_hr m_t
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const T_* W = ptr_or_null<T_>(o.peep);
    T_* A = gates.data_ptr<T_>();
    forward_loop<T_>(L, save, hs.data_ptr<T_>(), cs.data_ptr<T_>(), c_zoneout ? c_cell.data_ptr<T_>() : nullptr,
                     proj ? ms.data_ptr<T_>() : nullptr, o.mask.defined() ? h_masked.data_ptr<T_>() : nullptr,
                     [&](int64_t t, int64_t, const T_* h_in, const T_* c_prev, T_* c_out, T_* m_out) {
                       T_* a = A + t * B * GH;
                       recurrent(h_in, a, /*accumulate=*/true);  // a_t = xg_t + W_hh h_{t-1}, (B, G*H)
                       cell_forward<T_>(coupled, W != nullptr, B, H, a, c_prev, W, c_out, m_out);
                     });
  });
  const at::Tensor c_n = cs.select(0, save ? (reverse ? 0 : T) : T % 2);
  return {hs, cs, c_zoneout ? c_cell : absent(gates), proj ? ms : absent(gates), c_n};
}

inline std::vector<at::Tensor> lstm_sequence_backward(
    const at::Tensor& d_output_in, const at::Tensor& d_h_n, const at::Tensor& d_c_n, const at::Tensor& cs_in,
    const at::Tensor& acts_in, const std::optional<at::Tensor>& c_cell_in, const at::Tensor& weight_hh,
    const std::optional<at::Tensor>& weight_hr, const std::optional<at::Tensor>& peep,
    const std::optional<at::Tensor>& keep_h, const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p,
    std::optional<double> keep_c_p, const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask,
    bool reverse, bool coupled) {
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const at::Tensor d_output = d_output_in.contiguous(), cs = cs_in.contiguous(), acts = acts_in.contiguous();
  const at::Tensor c_cell = contiguous_or_undefined(c_cell_in);
  const int64_t T = acts.size(0), B = acts.size(1), GH = acts.size(2), H = cs.size(2), Hout = d_h_n.size(1);
  const bool proj = o.weight_hr.defined();
  const auto options = acts.options();
  at::Tensor delta = at::empty({T, B, GH}, options);
  at::Tensor d_proj = proj ? at::empty({T, B, Hout}, options) : at::Tensor();
  at::Tensor dh = d_h_n.contiguous().clone(), dc = d_c_n.contiguous().clone();
  at::Tensor scratch = at::empty({5, B, std::max(H, Hout)}, options);  // dh^cell, dc^cell, dm, dc_{t-1}, dh_{t-1}

  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "lstm_sequence_backward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/false, B);  // W_hh^T delta_t, as delta_t W_hh
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/false, B);  // W_hr^T dh_t, as dh_t W_hr
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const T_* A = acts.data_ptr<T_>();
    const T_* W = ptr_or_null<T_>(o.peep);
    T_* D = delta.data_ptr<T_>();
    T_* S = scratch.data_ptr<T_>();
    const int64_t width = B * std::max(H, Hout);
    backward_loop<T_>(L, d_output.data_ptr<T_>(), cs.data_ptr<T_>(), ptr_or_null<T_>(c_cell), dh.data_ptr<T_>(),
                      dc.data_ptr<T_>(), proj ? d_proj.data_ptr<T_>() : nullptr, S, S + width, S + 2 * width,
                      S + 3 * width, S + 4 * width,
                      [&](int64_t t, const T_* dm, const T_* dc_t, const T_* c_prev, const T_* c_t, T_* dc_prev,
                          T_* dh_prev) {
                        T_* delta_t = D + t * B * GH;
                        cell_backward<T_>(coupled, W != nullptr, B, H, dm, dc_t, A + t * B * GH, c_prev, c_t, W,
                                          delta_t, dc_prev);
                        recurrent(delta_t, dh_prev, /*accumulate=*/false);  // W_hh^T delta_t, (B, H_out)
                      });
  });
  return {delta, dh, dc, proj ? d_proj : absent(acts)};
}

}  // namespace seqlab::lstm
