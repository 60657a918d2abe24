// The layer-normalised LSTM (Ba et al. 2016) over a whole sequence, forward and backward, as
// seqlab.nn.bptt.lstm_ln writes it out; the time loop is the LSTM's (sequence.h).
//
// Per step the recurrent product z_t = W_hh h_{t-1} goes straight into the slot that keeps
// zhat_t, and one pass per batch row normalises it (over all G*H features, or over each gate's
// H), forms the pre-activations, the gates and c_t, normalises c_t and writes m_t. Backward is one
// pass per row too: the gates' deltas, LN's backward through c_t, then through z_t.
//
// LN's backward, for zhat = (z - mu) / sigma over a group of n features and dzhat = dL/dzhat:
//   dL/dz = (dzhat - mean(dzhat) - zhat * mean(dzhat * zhat)) / sigma
#pragma once
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "gemm.h"
#include "mix.h"
#include "sequence.h"
#include "simd.h"

namespace seqlab::lstm_ln {

constexpr double kEps = 1e-5;

// x (n) -> (x - mu) / sqrt(var + eps) in place; returns 1 / sqrt(var + eps) (biased variance)
template <typename T> T normalise(T* x, int64_t n) {
  V<T> acc(T(0));
  for (int64_t j = 0; j < n; j += V<T>::size()) acc = acc + chunk_at<T>(j, n).ld(x + j);
  const T mean = sum_lanes(acc) / T(n);
  const V<T> mu(mean);
  V<T> sq(T(0));
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    const V<T> d = k.live(k.ld(x + j) - mu);
    sq = sq + d * d;
  }
  const T rstd = T(1) / std::sqrt(sum_lanes(sq) / T(n) + T(kEps));
  const V<T> r(rstd);
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    k.st((k.ld(x + j) - mu) * r, x + j);
  }
  return rstd;
}

// dzhat (n) -> dL/dz in place, given zhat (n) and 1 / sigma
template <typename T> void normalise_backward(T* d, const T* zhat, T rstd, int64_t n) {
  V<T> s1(T(0)), s2(T(0));
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    const V<T> dv = k.ld(d + j);
    s1 = s1 + dv;
    s2 = s2 + dv * k.ld(zhat + j);
  }
  const V<T> m1(sum_lanes(s1) / T(n)), m2(sum_lanes(s2) / T(n)), r(rstd);
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    k.st(r * (k.ld(d + j) - m1 - k.ld(zhat + j) * m2), d + j);
  }
}

// d_gain (n) += sum over rows of d * normed, d_shift (n) += sum over rows of d; d, normed (rows, n)
template <typename T> void accumulate_affine(const T* d, const T* normed, int64_t rows, int64_t n, T* d_gain, T* d_shift) {
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t j = 0; j < n; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, n);
      const V<T> dv = k.ld(d + b * n + j);
      k.st(k.ld(d_gain + j) + dv * k.ld(normed + b * n + j), d_gain + j);
      k.st(k.ld(d_shift + j) + dv, d_shift + j);
    }
  }
}

struct Shape {
  int64_t B, H, G, groups;
};

// z (B, G*H): W_hh h_{t-1} in, zhat_t out; xg (B, G*H); ln_hh (2, G*H) and ln_c (2, H) gains and shifts
// -> acts (B, G*H) gate activations, rstd (B, groups), chat (B, H), rstd_c (B), c_out, m_out (B, H)
template <typename T, bool COUPLED, bool PEEP>
void cell_forward_rows(int64_t b0, int64_t b1, const Shape& s, T* Z, const T* X, const T* LNH, const T* LNC,
                       const T* C0, const T* peep, T* A, T* RS, T* CH, T* RC, T* C, T* M) {
  constexpr int64_t gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const int64_t H = s.H, GH = s.G * s.H, width = GH / s.groups;
  const T *gain = LNH, *shift = LNH + GH, *gain_c = LNC, *shift_c = LNC + H;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    T *z = Z + b * GH, *a = A + b * GH, *c = C + b * H, *chat = CH + b * H;
    const T *x = X + b * GH, *cp = C0 + b * H;
    for (int64_t g = 0; g < s.groups; ++g) RS[b * s.groups + g] = normalise(z + g * width, width);  // zhat_t
    auto pre = [&](const Chunk<T>& k, int64_t gate, int64_t j) {  // a_t = xg_t + zhat_t * a_hh + s_hh
      const int64_t at = gate * H + j;
      return k.ld(x + at) + k.ld(z + at) * k.ld(gain + at) + k.ld(shift + at);
    };
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> c_before = k.ld(cp + j);
      V<T> a_f = pre(k, gf, j);
      if constexpr (PEEP) a_f = a_f + k.ld(peep + H + j) * c_before;
      const V<T> f = sigmoid<T>(a_f);
      V<T> i = one - f;  // coupled: i_t = 1 - f_t
      if constexpr (!COUPLED) {
        V<T> a_i = pre(k, gi, j);
        if constexpr (PEEP) a_i = a_i + k.ld(peep + j) * c_before;
        i = sigmoid<T>(a_i);
      }
      const V<T> g = tanh<T>(pre(k, gg, j));
      const V<T> ct = f * c_before + i * g;  // c_t = f_t * c_{t-1} + i_t * g_t
      V<T> a_o = pre(k, go, j);
      if constexpr (PEEP) a_o = a_o + k.ld(peep + 2 * H + j) * ct;
      if constexpr (!COUPLED) k.st(i, a + gi * H + j);
      k.st(f, a + gf * H + j);
      k.st(g, a + gg * H + j);
      k.st(sigmoid<T>(a_o), a + go * H + j);
      k.st(ct, c + j);
      k.st(ct, chat + j);
    }
    RC[b] = normalise(chat, H);  // chat_t = LN(c_t)
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> r = k.ld(chat + j) * k.ld(gain_c + j) + k.ld(shift_c + j);
      k.st(k.ld(a + go * H + j) * tanh<T>(r), M + b * H + j);  // m_t = o_t * tanh(LN(c_t) a_c + s_c)
    }
  }
}

// dm, dc (B, H) -> delta (B, G*H) = dL/da_t, dz (B, G*H) = dL/dz_t, dr (B, H) = dL/dr_t, dc_prev (B, H)
template <typename T, bool COUPLED, bool PEEP>
void cell_backward_rows(int64_t b0, int64_t b1, const Shape& s, const T* DM, const T* DC, const T* A, const T* ZH,
                        const T* RS, const T* CH, const T* RC, const T* LNH, const T* LNC, const T* C0,
                        const T* peep, T* D, T* DZ, T* DR, T* DC0) {
  constexpr int64_t gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const int64_t H = s.H, GH = s.G * s.H, width = GH / s.groups;
  const T *gain = LNH, *gain_c = LNC, *shift_c = LNC + H;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *a = A + b * GH, *chat = CH + b * H, *dm = DM + b * H, *dc = DC + b * H, *cp = C0 + b * H;
    T *d = D + b * GH, *dz = DZ + b * GH, *dr = DR + b * H, *dcp = DC0 + b * H;
    // dr_t = dm o (1 - tanh^2 r_t), delta^o = dm tanh(r_t) o (1 - o); dcn = dL/dchat = dr a_c, kept in dcp
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> o = k.ld(a + go * H + j), dmv = k.ld(dm + j);
      const V<T> tr = tanh<T>(k.ld(chat + j) * k.ld(gain_c + j) + k.ld(shift_c + j));
      const V<T> drv = dmv * o * (one - tr * tr);
      k.st(dmv * tr * o * (one - o), d + go * H + j);
      k.st(drv, dr + j);
      k.st(drv * k.ld(gain_c + j), dcp + j);
    }
    normalise_backward(dcp, chat, RC[b], H);  // dL/dc_t through LN(c_t)
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> f = k.ld(a + gf * H + j), g = k.ld(a + gg * H + j), c_before = k.ld(cp + j);
      const V<T> i = COUPLED ? one - f : k.ld(a + gi * H + j);
      V<T> dct = k.ld(dc + j) + k.ld(dcp + j);  // dc_t += LN'(dr_t a_c) + w_co delta^o
      if constexpr (PEEP) dct = dct + k.ld(d + go * H + j) * k.ld(peep + 2 * H + j);
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
      k.st(dcp_v, dcp + j);
    }
    // dz_t = LN'(delta_t * a_hh), per normalised group
    for (int64_t j = 0; j < GH; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, GH);
      k.st(k.ld(d + j) * k.ld(gain + j), dz + j);
    }
    for (int64_t g = 0; g < s.groups; ++g)
      normalise_backward(dz + g * width, ZH + b * GH + g * width, RS[b * s.groups + g], width);
  }
}

inline std::vector<at::Tensor> lstm_ln_sequence_forward(
    const at::Tensor& xg_in, const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& weight_hh,
    const at::Tensor& ln_hh_in, const at::Tensor& ln_c_in, const std::optional<at::Tensor>& weight_hr,
    const std::optional<at::Tensor>& peep, const std::optional<at::Tensor>& keep_h,
    const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p, std::optional<double> keep_c_p,
    const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask, bool reverse, bool coupled,
    bool per_gate, bool save) {
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const at::Tensor xg = xg_in.contiguous(), ln_hh = ln_hh_in.contiguous(), ln_c = ln_c_in.contiguous();
  const int64_t T = xg.size(0), B = xg.size(1), GH = xg.size(2), H = c0.size(1), Hout = h0.size(1);
  const Shape shape{B, H, GH / H, per_gate ? GH / H : 1};
  const bool proj = o.weight_hr.defined(), c_zoneout = o.c_zoneout();
  const auto options = xg.options();
  const int64_t slots = save ? T : 1;
  at::Tensor hs = at::empty({T + 1, B, Hout}, options);
  at::Tensor cs = at::empty({save ? T + 1 : 2, B, H}, options);
  at::Tensor acts = at::empty({slots, B, GH}, options);
  at::Tensor zhat = at::empty({slots, B, GH}, options), rstd = at::empty({slots, B, shape.groups}, options);
  at::Tensor chat = at::empty({slots, B, H}, options), rstd_c = at::empty({slots, B, 1}, options);
  at::Tensor c_cell = c_zoneout ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor ms = proj ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor h_masked = o.mask.defined() ? at::empty({B, Hout}, options) : at::Tensor();
  hs.select(0, reverse ? T : 0).copy_(h0);
  cs.select(0, save && reverse ? T : 0).copy_(c0);

  AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "lstm_ln_sequence_forward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/true, B);  // z_t = W_hh h_{t-1}
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/true, B);
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const T_ *X = xg.data_ptr<T_>(), *LNH = ln_hh.data_ptr<T_>(), *LNC = ln_c.data_ptr<T_>();
    const T_* W = ptr_or_null<T_>(o.peep);
    T_ *A = acts.data_ptr<T_>(), *Z = zhat.data_ptr<T_>(), *RS = rstd.data_ptr<T_>();
    T_ *CH = chat.data_ptr<T_>(), *RC = rstd_c.data_ptr<T_>();
    forward_loop<T_>(
        L, save, hs.data_ptr<T_>(), cs.data_ptr<T_>(), c_zoneout ? c_cell.data_ptr<T_>() : nullptr,
        proj ? ms.data_ptr<T_>() : nullptr, o.mask.defined() ? h_masked.data_ptr<T_>() : nullptr,
        [&](int64_t t, int64_t slot, const T_* h_in, const T_* c_prev, T_* c_out, T_* m_out) {
          T_* z = Z + slot * B * GH;
          recurrent(h_in, z, /*accumulate=*/false);  // z_t = W_hh h_{t-1}, (B, G*H)
          dispatch_variant(coupled, W != nullptr, [&](auto coupled_c, auto peep_c) {
            at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
              cell_forward_rows<T_, decltype(coupled_c)::value, decltype(peep_c)::value>(
                  b0, b1, shape, z, X + t * B * GH, LNH, LNC, c_prev, W, A + slot * B * GH,
                  RS + slot * B * shape.groups, CH + slot * B * H, RC + slot * B, c_out, m_out);
            });
          });
        });
  });
  const at::Tensor c_n = cs.select(0, save ? (reverse ? 0 : T) : T % 2);
  return {hs, cs, acts, zhat, rstd, chat, rstd_c, c_zoneout ? c_cell : absent(xg), proj ? ms : absent(xg), c_n};
}

inline std::vector<at::Tensor> lstm_ln_sequence_backward(
    const at::Tensor& d_output_in, const at::Tensor& d_h_n, const at::Tensor& d_c_n, const at::Tensor& cs_in,
    const at::Tensor& acts_in, const at::Tensor& zhat_in, const at::Tensor& rstd_in, const at::Tensor& chat_in,
    const at::Tensor& rstd_c_in, const std::optional<at::Tensor>& c_cell_in, const at::Tensor& weight_hh,
    const at::Tensor& ln_hh_in, const at::Tensor& ln_c_in, const std::optional<at::Tensor>& weight_hr,
    const std::optional<at::Tensor>& peep, const std::optional<at::Tensor>& keep_h,
    const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p, std::optional<double> keep_c_p,
    const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask, bool reverse, bool coupled,
    bool per_gate) {
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const at::Tensor d_output = d_output_in.contiguous(), cs = cs_in.contiguous(), acts = acts_in.contiguous();
  const at::Tensor zhat = zhat_in.contiguous(), rstd = rstd_in.contiguous(), chat = chat_in.contiguous();
  const at::Tensor rstd_c = rstd_c_in.contiguous(), c_cell = contiguous_or_undefined(c_cell_in);
  const at::Tensor ln_hh = ln_hh_in.contiguous(), ln_c = ln_c_in.contiguous();
  const int64_t T = acts.size(0), B = acts.size(1), GH = acts.size(2), H = cs.size(2), Hout = d_h_n.size(1);
  const Shape shape{B, H, GH / H, per_gate ? GH / H : 1};
  const bool proj = o.weight_hr.defined();
  const auto options = acts.options();
  at::Tensor delta = at::empty({T, B, GH}, options), dz = at::empty({T, B, GH}, options);
  at::Tensor dr = at::empty({B, H}, options);  // dL/dr_t of the current step
  at::Tensor d_ln_hh = at::zeros({2, GH}, options), d_ln_c = at::zeros({2, H}, options);  // gains, shifts
  at::Tensor d_proj = proj ? at::empty({T, B, Hout}, options) : at::Tensor();
  at::Tensor dh = d_h_n.contiguous().clone(), dc = d_c_n.contiguous().clone();
  at::Tensor scratch = at::empty({5, B, std::max(H, Hout)}, options);

  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "lstm_ln_sequence_backward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/false, B);  // W_hh^T dz_t, as dz_t W_hh
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/false, B);
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const T_ *A = acts.data_ptr<T_>(), *ZH = zhat.data_ptr<T_>(), *RS = rstd.data_ptr<T_>();
    const T_ *CH = chat.data_ptr<T_>(), *RC = rstd_c.data_ptr<T_>();
    const T_ *LNH = ln_hh.data_ptr<T_>(), *LNC = ln_c.data_ptr<T_>();
    const T_* W = ptr_or_null<T_>(o.peep);
    T_ *D = delta.data_ptr<T_>(), *DZ = dz.data_ptr<T_>(), *DR = dr.data_ptr<T_>();
    T_ *DLH = d_ln_hh.data_ptr<T_>(), *DLC = d_ln_c.data_ptr<T_>();
    T_* S = scratch.data_ptr<T_>();
    const int64_t width = B * std::max(H, Hout);
    backward_loop<T_>(
        L, d_output.data_ptr<T_>(), cs.data_ptr<T_>(), ptr_or_null<T_>(c_cell), dh.data_ptr<T_>(),
        dc.data_ptr<T_>(), proj ? d_proj.data_ptr<T_>() : nullptr, S, S + width, S + 2 * width, S + 3 * width,
        S + 4 * width,
        [&](int64_t t, const T_* dm, const T_* dc_t, const T_* c_prev, const T_*, T_* dc_prev, T_* dh_prev) {
          const int64_t at_gh = t * B * GH, at_h = t * B * H;
          dispatch_variant(coupled, W != nullptr, [&](auto coupled_c, auto peep_c) {
            at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
              cell_backward_rows<T_, decltype(coupled_c)::value, decltype(peep_c)::value>(
                  b0, b1, shape, dm, dc_t, A + at_gh, ZH + at_gh, RS + t * B * shape.groups, CH + at_h, RC + t * B,
                  LNH, LNC, c_prev, W, D + at_gh, DZ + at_gh, DR, dc_prev);
            });
          });
          // da_hh += delta_t * zhat_t, ds_hh += delta_t; da_c += dr_t * chat_t, ds_c += dr_t (summed over rows)
          accumulate_affine(D + at_gh, ZH + at_gh, B, GH, DLH, DLH + GH);
          accumulate_affine(DR, CH + at_h, B, H, DLC, DLC + H);
          recurrent(DZ + at_gh, dh_prev, /*accumulate=*/false);  // W_hh^T dz_t, (B, H_out)
        });
  });
  return {delta, dz, d_ln_hh, d_ln_c, dh, dc, proj ? d_proj : absent(acts)};
}

}  // namespace seqlab::lstm_ln
