// The time loop shared by the LSTM kernels: states, zoneout and lengths, the projection, the
// recurrent dropout mask; the cell's own work (its recurrent product and pointwise loop) is a
// callback. seqlab.nn.bptt.lstm writes the same loop in PyTorch operations.
//
// States live in (T + 1, B, F) buffers: forward, the state before step t at t and after it at
// t + 1; reverse, before at t + 1 and after at t. Without backward to feed (save = false) the cell
// state only needs two slots, used in turn, and the per-step buffers one slot.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <cstring>
#include <optional>
#include <type_traits>

#include "gemm.h"
#include "mix.h"

namespace seqlab {

struct Step {
  int64_t t, prev, next;
};

inline Step step_at(int64_t step, int64_t T, bool reverse) {
  return reverse ? Step{T - 1 - step, T - step, T - 1 - step} : Step{step, step, step + 1};
}

inline at::Tensor contiguous_or_undefined(const std::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->contiguous() : at::Tensor();
}

// What an op returns in place of a buffer the configuration does not have (Python sees None).
inline at::Tensor absent(const at::Tensor& like) { return at::empty({0}, like.options()); }

template <typename T> inline const T* ptr_or_null(const at::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// The optional inputs of every LSTM op, made contiguous (undefined when absent): projection,
// peepholes (3, H), zoneout keep masks (T, B, F) or probabilities, lengths as valid (T, B, 1) flags,
// the recurrent dropout mask (B, H_out).
struct SequenceOptions {
  at::Tensor weight_hr, peep, keep_h, keep_c, valid, mask;
  std::optional<double> keep_h_p, keep_c_p;

  SequenceOptions(const std::optional<at::Tensor>& weight_hr_, const std::optional<at::Tensor>& peep_,
                  const std::optional<at::Tensor>& keep_h_, const std::optional<at::Tensor>& keep_c_,
                  std::optional<double> keep_h_p_, std::optional<double> keep_c_p_,
                  const std::optional<at::Tensor>& valid_, const std::optional<at::Tensor>& mask_)
      : weight_hr(contiguous_or_undefined(weight_hr_)), peep(contiguous_or_undefined(peep_)),
        keep_h(contiguous_or_undefined(keep_h_)), keep_c(contiguous_or_undefined(keep_c_)),
        valid(contiguous_or_undefined(valid_)), mask(contiguous_or_undefined(mask_)), keep_h_p(keep_h_p_),
        keep_c_p(keep_c_p_) {}

  bool c_zoneout() const { return keep_c.defined() || keep_c_p.has_value(); }
};

template <typename T> struct SequenceLayout {
  int64_t T_, B, H, Hout;
  bool reverse;
  StateMix<T> mix_h, mix_c;
  const T* mask;                         // (B, H_out) recurrent dropout mask, or null
  const WeightProduct<T>* projection;    // h_t = W_hr m_t (forward) / dm_t = W_hr^T dh_t (backward), or null

  SequenceLayout(const SequenceOptions& o, int64_t steps, int64_t batch, int64_t hidden, int64_t out, bool rev,
                 const WeightProduct<T>* proj)
      : T_(steps), B(batch), H(hidden), Hout(out), reverse(rev), mix_h(o.keep_h, o.keep_h_p, o.valid, batch, out),
        mix_c(o.keep_c, o.keep_c_p, o.valid, batch, hidden), mask(ptr_or_null<T>(o.mask)), projection(proj) {}
};

// fn(std::bool_constant<coupled>, std::bool_constant<peephole>): the four compiled variants of a cell
template <typename Fn> void dispatch_variant(bool coupled, bool peep, const Fn& fn) {
  if (coupled && peep) fn(std::true_type{}, std::true_type{});
  else if (coupled) fn(std::true_type{}, std::false_type{});
  else if (peep) fn(std::false_type{}, std::true_type{});
  else fn(std::false_type{}, std::false_type{});
}

// cell(t, slot, h_in (B, H_out), c_prev (B, H), c_out (B, H), m_out (B, H)): the recurrent
// product of h_in and the pointwise step, writing c^cell_t and m_t = o_t * tanh(...).
template <typename T, typename Cell>
void forward_loop(const SequenceLayout<T>& L, bool save, T* HS, T* CS, T* CC, T* MS, T* h_masked, const Cell& cell) {
  const int64_t B = L.B, H = L.H, Hout = L.Hout;
  const bool c_zoneout = CC != nullptr;
  for (int64_t step = 0; step < L.T_; ++step) {
    const Step s = step_at(step, L.T_, L.reverse);
    const int64_t slot = save ? s.t : 0;
    const T* h_prev = HS + s.prev * B * Hout;
    T* h_next = HS + s.next * B * Hout;
    const T* h_in = h_prev;
    if (L.mask) {  // variational dropout on h_{t-1} where it enters W_hh
      for (int64_t n = 0; n < B * Hout; ++n) h_masked[n] = h_prev[n] * L.mask[n];
      h_in = h_masked;
    }
    T* c_prev = CS + (save ? s.prev : step % 2) * B * H;
    T* c_next = CS + (save ? s.next : (step + 1) % 2) * B * H;
    T* c_out = c_zoneout ? CC + slot * B * H : c_next;
    T* m_out = L.projection ? MS + slot * B * H : h_next;
    cell(s.t, slot, h_in, c_prev, c_out, m_out);
    if (L.projection) (*L.projection)(m_out, h_next, /*accumulate=*/false);  // h_t = W_hr m_t, (B, P)
    if (L.mix_h.active()) L.mix_h.forward(s.t, h_next, h_prev);
    if (c_zoneout) std::memcpy(c_next, c_out, sizeof(T) * B * H);
    if (L.mix_c.active()) L.mix_c.forward(s.t, c_next, c_prev);
  }
}

// cell(t, dm (B, H), dc (B, H), c_prev, c_t, dc_prev out (B, H), dh_prev out (B, H_out)): the
// pointwise backward of step t and the product W_hh^T (...) that carries it to h_{t-1}.
// DH, DC hold dL/dh_n, dL/dc_n on entry and dL/dh_0, dL/dc_0 on return.
template <typename T, typename Cell>
void backward_loop(const SequenceLayout<T>& L, const T* d_output, const T* CS, const T* CC, T* DH, T* DC, T* d_proj,
                   T* scratch_h, T* scratch_c, T* dm, T* dc_prev, T* dh_prev, const Cell& cell) {
  const int64_t B = L.B, H = L.H, Hout = L.Hout;
  for (int64_t step = L.T_ - 1; step >= 0; --step) {
    const Step s = step_at(step, L.T_, L.reverse);
    const T* d_out = d_output + s.t * B * Hout;
    for (int64_t n = 0; n < B * Hout; ++n) DH[n] += d_out[n];  // dL/dh_t: from step t + 1 and from the output
    // what reaches the cell goes to scratch; what bypasses it stays in DH / DC
    const T* dh_cell = DH;
    if (L.mix_h.active()) { L.mix_h.backward(s.t, DH, scratch_h); dh_cell = scratch_h; }
    const T* dc_cell = DC;
    if (L.mix_c.active()) { L.mix_c.backward(s.t, DC, scratch_c); dc_cell = scratch_c; }
    const T* dm_t = dh_cell;
    if (L.projection) {
      std::memcpy(d_proj + s.t * B * Hout, dh_cell, sizeof(T) * B * Hout);
      (*L.projection)(dh_cell, dm, /*accumulate=*/false);  // dm_t = W_hr^T dh_t, (B, H)
      dm_t = dm;
    }
    const T* c_t = CC ? CC + s.t * B * H : CS + s.next * B * H;
    cell(s.t, dm_t, dc_cell, CS + s.prev * B * H, c_t, dc_prev, dh_prev);
    if (L.mask) for (int64_t n = 0; n < B * Hout; ++n) dh_prev[n] *= L.mask[n];
    if (L.mix_h.active()) for (int64_t n = 0; n < B * Hout; ++n) DH[n] += dh_prev[n];
    else std::memcpy(DH, dh_prev, sizeof(T) * B * Hout);
    if (L.mix_c.active()) for (int64_t n = 0; n < B * H; ++n) DC[n] += dc_prev[n];
    else std::memcpy(DC, dc_prev, sizeof(T) * B * H);
  }
}

}  // namespace seqlab
