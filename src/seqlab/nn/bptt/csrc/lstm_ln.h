// The layer-normalised LSTM (Ba et al. 2016) over a whole sequence, forward and backward, as
// seqlab.nn.bptt.lstm_ln writes it out; the time loop is the LSTM's (sequence.h).
//
// Every normalisation happens inside the step, one batch row at a time while the row is in cache:
// LN(W_ih x_t) (the input projections of all steps arrive un-normalised, from one product),
// LN(W_hh h_{t-1}) (the step's product is written straight into the slot that keeps its normalised
// value), LN(c_t). One pass per row forms the pre-activations, the gates, c_t and m_t. Backward is
// one pass per row too: the gates' deltas, LN's backward through c_t, through W_hh h_{t-1} and
// through W_ih x_t, with the gains' and shifts' gradients summed on the way (per thread, added up
// once at the end).
//
// LN's backward, for zhat = (z - mu) / sigma over a group of n features and dzhat = dL/dzhat:
//   dL/dz = (dzhat - mean(dzhat) - zhat * mean(dzhat * zhat)) / sigma
#pragma once
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/sum.h>
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

struct Shape {
  int64_t B, H, G, groups;
  int64_t GH() const { return G * H; }
  int64_t width() const { return G * H / groups; }  // features per normalised group
};

// The parameters of the three normalisations, (2, F) each: gain a, shift s.
template <typename T> struct Norms {
  const T *a_ih, *a_hh, *shift, *a_c, *s_c;  // shift = s_ih + s_hh (+ the biases, folded into s_ih)
};

// zi (B, G*H): W_ih x_t in, zhat^ih_t out; z (B, G*H): W_hh h_{t-1} in, zhat_t out;
// -> acts (B, G*H) gate activations, rstd_ih, rstd (B, groups), chat (B, H), rstd_c (B), c_out, m_out (B, H)
template <typename T, bool COUPLED, bool PEEP>
void cell_forward_rows(int64_t b0, int64_t b1, const Shape& s, const Norms<T>& n, T* ZI, T* Z, const T* C0,
                       const T* peep, T* A, T* RI, T* RS, T* CH, T* RC, T* C, T* M) {
  constexpr int64_t gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const int64_t H = s.H, GH = s.GH(), width = s.width();
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    T *zi = ZI + b * GH, *z = Z + b * GH, *a = A + b * GH, *c = C + b * H, *chat = CH + b * H;
    const T* cp = C0 + b * H;
    for (int64_t g = 0; g < s.groups; ++g) {
      RI[b * s.groups + g] = normalise(zi + g * width, width);  // zhat^ih_t = LN(W_ih x_t)
      RS[b * s.groups + g] = normalise(z + g * width, width);   // zhat_t = LN(W_hh h_{t-1})
    }
    auto pre = [&](const Chunk<T>& k, int64_t gate, int64_t j) {  // a_t = zhat^ih a_ih + zhat a_hh + s
      const int64_t at = gate * H + j;
      return k.ld(zi + at) * k.ld(n.a_ih + at) + k.ld(z + at) * k.ld(n.a_hh + at) + k.ld(n.shift + at);
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
      const V<T> r = k.ld(chat + j) * k.ld(n.a_c + j) + k.ld(n.s_c + j);
      k.st(k.ld(a + go * H + j) * tanh<T>(r), M + b * H + j);  // m_t = o_t * tanh(LN(c_t) a_c + s_c)
    }
  }
}

// The gradients of the gains, the shifts and the peepholes, summed by one thread: (3 G*H + 5 H) numbers.
template <typename T> struct ParamGrads {
  static int64_t size(int64_t GH, int64_t H) { return 3 * GH + 5 * H; }
  T *a_ih, *a_hh, *shift, *a_c, *s_c, *peep;
  ParamGrads(T* p, int64_t GH, int64_t H)
      : a_ih(p), a_hh(p + GH), shift(p + 2 * GH), a_c(p + 3 * GH), s_c(p + 3 * GH + H), peep(p + 3 * GH + 2 * H) {}
};

// Through one normalised group of both projections: delta (n) = dL/da_t ->
//   dz_ih = LN'(delta a_ih) and dz_hh = LN'(delta a_hh), with da_ih += delta zhat^ih, da_hh += delta zhat,
//   ds += delta
template <typename T>
void projections_backward(int64_t n, const T* delta, const T* zi, const T* zh, T ri, T rh, const T* a_ih,
                          const T* a_hh, T* dz_ih, T* dz_hh, T* d_a_ih, T* d_a_hh, T* d_shift) {
  V<T> si1(T(0)), si2(T(0)), sh1(T(0)), sh2(T(0));
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    const V<T> d = k.ld(delta + j), x = k.ld(zi + j), h = k.ld(zh + j);
    const V<T> di = d * k.ld(a_ih + j), dh = d * k.ld(a_hh + j);
    si1 = si1 + di;
    si2 = si2 + di * x;
    sh1 = sh1 + dh;
    sh2 = sh2 + dh * h;
    k.st(k.ld(d_a_ih + j) + d * x, d_a_ih + j);
    k.st(k.ld(d_a_hh + j) + d * h, d_a_hh + j);
    k.st(k.ld(d_shift + j) + d, d_shift + j);
  }
  const V<T> mi1(sum_lanes(si1) / T(n)), mi2(sum_lanes(si2) / T(n)), mh1(sum_lanes(sh1) / T(n)),
      mh2(sum_lanes(sh2) / T(n)), vri(ri), vrh(rh);
  for (int64_t j = 0; j < n; j += V<T>::size()) {
    const Chunk<T> k = chunk_at<T>(j, n);
    const V<T> d = k.ld(delta + j);
    k.st(vri * (d * k.ld(a_ih + j) - mi1 - k.ld(zi + j) * mi2), dz_ih + j);
    k.st(vrh * (d * k.ld(a_hh + j) - mh1 - k.ld(zh + j) * mh2), dz_hh + j);
  }
}

// dm, dc (B, H) -> dz_ih, dz (B, G*H) = dL/d(W_ih x_t), dL/d(W_hh h_{t-1}); dc_prev (B, H); the gains',
// shifts' and peepholes' gradients added into `grads`; D (B, G*H) is scratch for delta_t = dL/da_t;
// C0, C (B, H) are c_{t-1} and c_t (un-normalised, before zoneout)
template <typename T, bool COUPLED, bool PEEP>
void cell_backward_rows(int64_t b0, int64_t b1, const Shape& s, const Norms<T>& n, const T* DM, const T* DC,
                        const T* A, const T* ZI, const T* RI, const T* ZH, const T* RS, const T* CH, const T* RC,
                        const T* C0, const T* C, const T* peep, T* D, T* DZI, T* DZ, T* DC0,
                        const ParamGrads<T>& grads) {
  constexpr int64_t gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const int64_t H = s.H, GH = s.GH(), width = s.width();
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *a = A + b * GH, *chat = CH + b * H, *dm = DM + b * H, *dc = DC + b * H, *cp = C0 + b * H;
    T *d = D + b * GH, *dcp = DC0 + b * H;
    // dr_t = dm o (1 - tanh^2 r_t), delta^o = dm tanh(r_t) o (1 - o); da_c += dr chat, ds_c += dr;
    // dL/dchat = dr a_c, kept in dcp
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k = chunk_at<T>(j, H);
      const V<T> o = k.ld(a + go * H + j), dmv = k.ld(dm + j), ch = k.ld(chat + j);
      const V<T> tr = tanh<T>(ch * k.ld(n.a_c + j) + k.ld(n.s_c + j));
      const V<T> drv = dmv * o * (one - tr * tr);
      k.st(dmv * tr * o * (one - o), d + go * H + j);
      k.st(k.ld(grads.a_c + j) + drv * ch, grads.a_c + j);
      k.st(k.ld(grads.s_c + j) + drv, grads.s_c + j);
      k.st(drv * k.ld(n.a_c + j), dcp + j);
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
      if constexpr (PEEP) {  // dw_ci += delta^i c_{t-1}, dw_cf += delta^f c_{t-1}, dw_co += delta^o c_t
        if constexpr (!COUPLED) k.st(k.ld(grads.peep + j) + k.ld(d + gi * H + j) * c_before, grads.peep + j);
        k.st(k.ld(grads.peep + H + j) + d_f * c_before, grads.peep + H + j);
        k.st(k.ld(grads.peep + 2 * H + j) + k.ld(d + go * H + j) * k.ld(C + b * H + j), grads.peep + 2 * H + j);
      }
    }
    // dz^ih_t = LN'(delta_t a_ih), dz_t = LN'(delta_t a_hh), per normalised group
    for (int64_t g = 0; g < s.groups; ++g) {
      const int64_t o = g * width;
      projections_backward(width, d + o, ZI + b * GH + o, ZH + b * GH + o, RI[b * s.groups + g],
                           RS[b * s.groups + g], n.a_ih + o, n.a_hh + o, DZI + b * GH + o, DZ + b * GH + o,
                           grads.a_ih + o, grads.a_hh + o, grads.shift + o);
    }
  }
}

// z_ih (T, B, G*H): W_ih x_t on entry, LN(W_ih x_t) on return (in place). Returns hs, cs, acts,
// rstd_ih, zhat, rstd, chat, rstd_c, c_cell, ms, c_n.
inline std::vector<at::Tensor> lstm_ln_sequence_forward(
    const at::Tensor& z_ih, const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& weight_hh,
    const at::Tensor& ln_ih, const at::Tensor& ln_hh, const at::Tensor& ln_c,
    const std::optional<at::Tensor>& weight_hr, const std::optional<at::Tensor>& peep,
    const std::optional<at::Tensor>& keep_h, const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p,
    std::optional<double> keep_c_p, const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask,
    bool reverse, bool coupled, bool per_gate, bool save) {
  TORCH_CHECK(z_ih.is_contiguous(), "lstm_ln_sequence_forward: z_ih must be contiguous");
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const int64_t T = z_ih.size(0), B = z_ih.size(1), GH = z_ih.size(2), H = c0.size(1), Hout = h0.size(1);
  const Shape shape{B, H, GH / H, per_gate ? GH / H : 1};
  const bool proj = o.weight_hr.defined(), c_zoneout = o.c_zoneout();
  const auto options = z_ih.options();
  const int64_t slots = save ? T : 1;
  at::Tensor hs = at::empty({T + 1, B, Hout}, options);
  at::Tensor cs = at::empty({save ? T + 1 : 2, B, H}, options);
  at::Tensor acts = at::empty({slots, B, GH}, options);
  at::Tensor rstd_ih = at::empty({slots, B, shape.groups}, options);
  at::Tensor zhat = at::empty({slots, B, GH}, options), rstd = at::empty({slots, B, shape.groups}, options);
  at::Tensor chat = at::empty({slots, B, H}, options), rstd_c = at::empty({slots, B, 1}, options);
  at::Tensor c_cell = c_zoneout ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor ms = proj ? at::empty({slots, B, H}, options) : at::Tensor();
  at::Tensor h_masked = o.mask.defined() ? at::empty({B, Hout}, options) : at::Tensor();
  const at::Tensor shift = (ln_ih.select(0, 1) + ln_hh.select(0, 1)).contiguous();  // s_ih (+ biases) + s_hh
  const at::Tensor a_ih = ln_ih.select(0, 0).contiguous(), a_hh = ln_hh.select(0, 0).contiguous();
  const at::Tensor a_c = ln_c.select(0, 0).contiguous(), s_c = ln_c.select(0, 1).contiguous();
  hs.select(0, reverse ? T : 0).copy_(h0);
  cs.select(0, save && reverse ? T : 0).copy_(c0);

  AT_DISPATCH_FLOATING_TYPES(z_ih.scalar_type(), "lstm_ln_sequence_forward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/true, B);  // z_t = W_hh h_{t-1}
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/true, B);
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const Norms<T_> norms{a_ih.data_ptr<T_>(), a_hh.data_ptr<T_>(), shift.data_ptr<T_>(), a_c.data_ptr<T_>(),
                          s_c.data_ptr<T_>()};
    const T_* W = ptr_or_null<T_>(o.peep);
    T_ *A = acts.data_ptr<T_>(), *ZI = z_ih.data_ptr<T_>(), *RI = rstd_ih.data_ptr<T_>();
    T_ *Z = zhat.data_ptr<T_>(), *RS = rstd.data_ptr<T_>(), *CH = chat.data_ptr<T_>(), *RC = rstd_c.data_ptr<T_>();
    forward_loop<T_>(
        L, save, hs.data_ptr<T_>(), cs.data_ptr<T_>(), c_zoneout ? c_cell.data_ptr<T_>() : nullptr,
        proj ? ms.data_ptr<T_>() : nullptr, o.mask.defined() ? h_masked.data_ptr<T_>() : nullptr,
        [&](int64_t t, int64_t slot, const T_* h_in, const T_* c_prev, T_* c_out, T_* m_out) {
          T_ *zi = ZI + t * B * GH, *z = Z + slot * B * GH;  // zi: W_ih x_t, normalised in place
          recurrent(h_in, z, /*accumulate=*/false);  // z_t = W_hh h_{t-1}, (B, G*H)
          dispatch_variant(coupled, W != nullptr, [&](auto coupled_c, auto peep_c) {
            at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
              cell_forward_rows<T_, decltype(coupled_c)::value, decltype(peep_c)::value>(
                  b0, b1, shape, norms, zi, z, c_prev, W, A + slot * B * GH, RI + slot * B * shape.groups,
                  RS + slot * B * shape.groups, CH + slot * B * H, RC + slot * B, c_out, m_out);
            });
          });
        });
  });
  const at::Tensor c_n = cs.select(0, save ? (reverse ? 0 : T) : T % 2);
  return {hs, cs, acts, rstd_ih, zhat, rstd, chat, rstd_c, c_zoneout ? c_cell : absent(z_ih),
          proj ? ms : absent(z_ih), c_n};
}

inline std::vector<at::Tensor> lstm_ln_sequence_backward(
    const at::Tensor& d_output_in, const at::Tensor& d_h_n, const at::Tensor& d_c_n, const at::Tensor& cs_in,
    const at::Tensor& acts_in, const at::Tensor& zhat_ih_in, const at::Tensor& rstd_ih_in, const at::Tensor& zhat_in,
    const at::Tensor& rstd_in, const at::Tensor& chat_in, const at::Tensor& rstd_c_in,
    const std::optional<at::Tensor>& c_cell_in, const at::Tensor& weight_hh, const at::Tensor& ln_ih,
    const at::Tensor& ln_hh, const at::Tensor& ln_c, const std::optional<at::Tensor>& weight_hr,
    const std::optional<at::Tensor>& peep, const std::optional<at::Tensor>& keep_h,
    const std::optional<at::Tensor>& keep_c, std::optional<double> keep_h_p, std::optional<double> keep_c_p,
    const std::optional<at::Tensor>& valid, const std::optional<at::Tensor>& mask, bool reverse, bool coupled,
    bool per_gate) {
  const SequenceOptions o(weight_hr, peep, keep_h, keep_c, keep_h_p, keep_c_p, valid, mask);
  const at::Tensor d_output = d_output_in.contiguous(), cs = cs_in.contiguous(), acts = acts_in.contiguous();
  const at::Tensor zhat_ih = zhat_ih_in.contiguous(), rstd_ih = rstd_ih_in.contiguous();
  const at::Tensor zhat = zhat_in.contiguous(), rstd = rstd_in.contiguous(), chat = chat_in.contiguous();
  const at::Tensor rstd_c = rstd_c_in.contiguous(), c_cell = contiguous_or_undefined(c_cell_in);
  const int64_t T = acts.size(0), B = acts.size(1), GH = acts.size(2), H = cs.size(2), Hout = d_h_n.size(1);
  const Shape shape{B, H, GH / H, per_gate ? GH / H : 1};
  const bool proj = o.weight_hr.defined();
  const auto options = acts.options();
  at::Tensor dz_ih = at::empty({T, B, GH}, options), dz = at::empty({T, B, GH}, options);
  at::Tensor delta = at::empty({B, GH}, options);  // dL/da_t of the current step
  const int64_t threads = at::get_num_threads();
  // per thread: da_ih, da_hh, ds (G*H each), da_c, ds_c, dw_ci, dw_cf, dw_co (H each)
  at::Tensor partials = at::zeros({threads, ParamGrads<float>::size(GH, H)}, options);
  at::Tensor d_proj = proj ? at::empty({T, B, Hout}, options) : at::Tensor();
  at::Tensor dh = d_h_n.contiguous().clone(), dc = d_c_n.contiguous().clone();
  at::Tensor scratch = at::empty({5, B, std::max(H, Hout)}, options);
  const at::Tensor a_ih = ln_ih.select(0, 0).contiguous(), a_hh = ln_hh.select(0, 0).contiguous();
  const at::Tensor a_c = ln_c.select(0, 0).contiguous(), s_c = ln_c.select(0, 1).contiguous();

  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "lstm_ln_sequence_backward", [&] {
    using T_ = scalar_t;
    const WeightProduct<T_> recurrent(weight_hh, /*transposed=*/false, B);  // W_hh^T dz_t, as dz_t W_hh
    std::optional<WeightProduct<T_>> projection;
    if (proj) projection.emplace(o.weight_hr, /*transposed=*/false, B);
    const SequenceLayout<T_> L(o, T, B, H, Hout, reverse, proj ? &*projection : nullptr);
    const Norms<T_> norms{a_ih.data_ptr<T_>(), a_hh.data_ptr<T_>(), nullptr, a_c.data_ptr<T_>(), s_c.data_ptr<T_>()};
    const T_ *A = acts.data_ptr<T_>(), *ZI = zhat_ih.data_ptr<T_>(), *RI = rstd_ih.data_ptr<T_>();
    const T_ *ZH = zhat.data_ptr<T_>(), *RS = rstd.data_ptr<T_>(), *CH = chat.data_ptr<T_>();
    const T_* RC = rstd_c.data_ptr<T_>();
    const T_* W = ptr_or_null<T_>(o.peep);
    T_ *D = delta.data_ptr<T_>(), *DZI = dz_ih.data_ptr<T_>(), *DZ = dz.data_ptr<T_>();
    T_* P = partials.data_ptr<T_>();
    T_* S = scratch.data_ptr<T_>();
    const int64_t width = B * std::max(H, Hout);
    backward_loop<T_>(
        L, d_output.data_ptr<T_>(), cs.data_ptr<T_>(), ptr_or_null<T_>(c_cell), dh.data_ptr<T_>(),
        dc.data_ptr<T_>(), proj ? d_proj.data_ptr<T_>() : nullptr, S, S + width, S + 2 * width, S + 3 * width,
        S + 4 * width,
        [&](int64_t t, const T_* dm, const T_* dc_t, const T_* c_prev, const T_* c_t, T_* dc_prev, T_* dh_prev) {
          const int64_t at_gh = t * B * GH, at_g = t * B * shape.groups, at_h = t * B * H;
          dispatch_variant(coupled, W != nullptr, [&](auto coupled_c, auto peep_c) {
            at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
              const int64_t thread = std::min<int64_t>(at::get_thread_num(), threads - 1);
              const ParamGrads<T_> grads(P + thread * ParamGrads<T_>::size(GH, H), GH, H);
              cell_backward_rows<T_, decltype(coupled_c)::value, decltype(peep_c)::value>(
                  b0, b1, shape, norms, dm, dc_t, A + at_gh, ZI + at_gh, RI + at_g, ZH + at_gh, RS + at_g,
                  CH + at_h, RC + t * B, c_prev, c_t, W, D, DZI + at_gh, DZ + at_gh, dc_prev, grads);
            });
          });
          recurrent(DZ + at_gh, dh_prev, /*accumulate=*/false);  // W_hh^T dz_t, (B, H_out)
        });
  });
  const at::Tensor sums = partials.sum(0);  // the threads' shares added up
  const at::Tensor d_shift = sums.slice(0, 2 * GH, 3 * GH);
  const at::Tensor d_ln_ih = at::stack({sums.slice(0, 0, GH), d_shift});
  const at::Tensor d_ln_hh = at::stack({sums.slice(0, GH, 2 * GH), d_shift});
  const at::Tensor d_ln_c = sums.slice(0, 3 * GH, 3 * GH + 2 * H).view({2, H});
  const at::Tensor d_peep = o.peep.defined() ? sums.slice(0, 3 * GH + 2 * H).view({3, H}) : absent(acts);
  return {dz_ih, dz, d_ln_ih, d_ln_hh, d_ln_c, d_peep, dh, dc, proj ? d_proj : absent(acts)};
}

}  // namespace seqlab::lstm_ln
