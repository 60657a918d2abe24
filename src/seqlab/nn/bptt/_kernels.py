"""The fused pointwise work of one LSTM or GRU step: a small C++ extension, or plain PyTorch.

Each step of the ``bptt`` engine does one matrix product and then a handful of elementwise
operations on (B, G*H) numbers. Written as separate PyTorch operations those cost a dispatch
and a pass over memory each; here they are one loop per step, compiled on first use with
``torch.utils.cpp_extension.load_inline`` (cached under ``TORCH_EXTENSIONS_DIR``, default
``~/.cache/torch_extensions``; no network needed) and registered as ``torch.ops.seqlab_bptt``.

When the compiler is missing or the build fails, the same functions written in PyTorch are
used instead, with one logged warning. ``SEQLAB_BPTT_COMPILE=0`` skips the build.

Every function writes into the ``out`` tensors it is given (all contiguous) and returns
nothing, so the engine can place results straight into the buffers it saves for backward.
Gate blocks follow the stacked weights: LSTM i, f, g, o (coupled: f, g, o); GRU r, z, n.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings

import torch

log = logging.getLogger(__name__)

_CPP_SOURCE = r"""
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

namespace {

// Each inner loop runs over the H units of one batch row, Vectorized<T>::size() at a time
// (ATen's SIMD type: exp and tanh from Sleef, as PyTorch's own sigmoid and tanh use),
// the last chunk partial.
template <typename T> using V = at::vec::Vectorized<T>;

template <typename T> struct Chunk {
  int64_t n;
  V<T> ld(const T* p) const { return n == V<T>::size() ? V<T>::loadu(p) : V<T>::loadu(p, n); }
  void st(const V<T>& v, T* p) const { if (n == V<T>::size()) v.store(p); else v.store(p, n); }
};

template <typename T> inline V<T> sigm(const V<T>& x) { return V<T>(T(1)) / (V<T>(T(1)) + x.neg().exp()); }

// rows of the batch handed to each thread: enough work per task to beat the threading cost
inline int64_t grain(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

// pre (B, G*H), c_prev (B, H), peep (3, H) = [w_ci, w_cf, w_co] (zeros without peepholes)
// -> acts (B, G*H) gate activations, c_out (B, H), m_out (B, H) = o * tanh(c)
template <typename T, bool COUPLED>
void lstm_forward_rows(int64_t b0, int64_t b1, int64_t H, const T* P, const T* C0, const T* W, T* A, T* C, T* M) {
  constexpr int64_t G = COUPLED ? 3 : 4, gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *p = P + b * G * H, *cp = C0 + b * H;
    T *a = A + b * G * H, *c = C + b * H, *m = M + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k{std::min<int64_t>(V<T>::size(), H - j)};
      const V<T> c_prev = k.ld(cp + j);
      const V<T> f = sigm(k.ld(p + gf * H + j) + k.ld(W + H + j) * c_prev);
      const V<T> i = COUPLED ? one - f : sigm(k.ld(p + gi * H + j) + k.ld(W + j) * c_prev);
      const V<T> g = k.ld(p + gg * H + j).tanh();
      const V<T> ct = f * c_prev + i * g;  // c_t = f_t * c_{t-1} + i_t * g_t
      const V<T> o = sigm(k.ld(p + go * H + j) + k.ld(W + 2 * H + j) * ct);
      if (!COUPLED) k.st(i, a + gi * H + j);
      k.st(f, a + gf * H + j); k.st(g, a + gg * H + j); k.st(o, a + go * H + j);
      k.st(ct, c + j);
      k.st(o * ct.tanh(), m + j);  // m_t = o_t * tanh(c_t)
    }
  }
}

void lstm_forward(const at::Tensor& pre, const at::Tensor& c_prev, const at::Tensor& peep, bool coupled,
                  const at::Tensor& acts, const at::Tensor& c_out, const at::Tensor& m_out) {
  const int64_t B = c_prev.size(0), H = c_prev.size(1);
  AT_DISPATCH_FLOATING_TYPES(pre.scalar_type(), "lstm_forward", [&] {
    const scalar_t *P = pre.data_ptr<scalar_t>(), *C0 = c_prev.data_ptr<scalar_t>(), *W = peep.data_ptr<scalar_t>();
    scalar_t *A = acts.data_ptr<scalar_t>(), *C = c_out.data_ptr<scalar_t>(), *M = m_out.data_ptr<scalar_t>();
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      if (coupled) lstm_forward_rows<scalar_t, true>(b0, b1, H, P, C0, W, A, C, M);
      else lstm_forward_rows<scalar_t, false>(b0, b1, H, P, C0, W, A, C, M);
    });
  });
}

// dm = dL/dm_t (B, H), dc = dL/dc_t from later steps (B, H)
// -> dpre = dL/d(pre-activations) (B, G*H), dc_prev = dL/dc_{t-1} (B, H)
template <typename T, bool COUPLED>
void lstm_backward_rows(int64_t b0, int64_t b1, int64_t H, const T* DM, const T* DC, const T* A, const T* C0,
                        const T* C, const T* W, T* D, T* DC0) {
  constexpr int64_t G = COUPLED ? 3 : 4, gi = 0, gf = COUPLED ? 0 : 1, gg = COUPLED ? 1 : 2, go = COUPLED ? 2 : 3;
  const V<T> one(T(1));
  for (int64_t b = b0; b < b1; ++b) {
    const T *a = A + b * G * H, *dm = DM + b * H, *dc = DC + b * H, *cp = C0 + b * H, *c = C + b * H;
    T *d = D + b * G * H, *dcp = DC0 + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k{std::min<int64_t>(V<T>::size(), H - j)};
      const V<T> f = k.ld(a + gf * H + j), g = k.ld(a + gg * H + j), o = k.ld(a + go * H + j);
      const V<T> i = COUPLED ? one - f : k.ld(a + gi * H + j);
      const V<T> dmv = k.ld(dm + j), c_prev = k.ld(cp + j);
      const V<T> tc = k.ld(c + j).tanh();
      const V<T> d_o = dmv * tc * o * (one - o);
      const V<T> dct = k.ld(dc + j) + dmv * o * (one - tc * tc) + d_o * k.ld(W + 2 * H + j);
      const V<T> d_f = (COUPLED ? dct * (c_prev - g) : dct * c_prev) * f * (one - f);
      const V<T> d_g = dct * i * (one - g * g);
      V<T> dcp_v = dct * f + d_f * k.ld(W + H + j);
      if (!COUPLED) {
        const V<T> d_i = dct * g * i * (one - i);
        k.st(d_i, d + gi * H + j);
        dcp_v = dcp_v + d_i * k.ld(W + j);
      }
      k.st(d_f, d + gf * H + j); k.st(d_g, d + gg * H + j); k.st(d_o, d + go * H + j);
      k.st(dcp_v, dcp + j);
    }
  }
}

void lstm_backward(const at::Tensor& dm, const at::Tensor& dc, const at::Tensor& acts, const at::Tensor& c_prev,
                   const at::Tensor& c_t, const at::Tensor& peep, bool coupled,
                   const at::Tensor& dpre, const at::Tensor& dc_prev) {
  const int64_t B = c_prev.size(0), H = c_prev.size(1);
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "lstm_backward", [&] {
    const scalar_t *DM = dm.data_ptr<scalar_t>(), *DC = dc.data_ptr<scalar_t>(), *A = acts.data_ptr<scalar_t>();
    const scalar_t *C0 = c_prev.data_ptr<scalar_t>(), *C = c_t.data_ptr<scalar_t>(), *W = peep.data_ptr<scalar_t>();
    scalar_t *D = dpre.data_ptr<scalar_t>(), *DC0 = dc_prev.data_ptr<scalar_t>();
    at::parallel_for(0, B, grain(4 * H), [&](int64_t b0, int64_t b1) {
      if (coupled) lstm_backward_rows<scalar_t, true>(b0, b1, H, DM, DC, A, C0, C, W, D, DC0);
      else lstm_backward_rows<scalar_t, false>(b0, b1, H, DM, DC, A, C0, C, W, D, DC0);
    });
  });
}

// xg (B, 3H) input projections with biases, hg (B, 3H) = W_hh h, b_hn (H) (zeros without bias), h_prev (B, H)
// -> acts (B, 4H) = r, z, n, W_hn h + b_hn; h_out (B, H)
template <typename T>
void gru_forward_rows(int64_t b0, int64_t b1, int64_t H, const T* X, const T* R, const T* BN, const T* H0, T* A,
                      T* HO) {
  for (int64_t b = b0; b < b1; ++b) {
    const T *x = X + b * 3 * H, *hh = R + b * 3 * H, *hp = H0 + b * H;
    T *a = A + b * 4 * H, *ho = HO + b * H;
    for (int64_t j = 0; j < H; j += V<T>::size()) {
      const Chunk<T> k{std::min<int64_t>(V<T>::size(), H - j)};
      const V<T> r = sigm(k.ld(x + j) + k.ld(hh + j));
      const V<T> z = sigm(k.ld(x + H + j) + k.ld(hh + H + j));
      const V<T> hn = k.ld(hh + 2 * H + j) + k.ld(BN + j);
      const V<T> n = (k.ld(x + 2 * H + j) + r * hn).tanh();
      k.st(r, a + j); k.st(z, a + H + j); k.st(n, a + 2 * H + j); k.st(hn, a + 3 * H + j);
      k.st(n + z * (k.ld(hp + j) - n), ho + j);  // h_t = (1 - z_t) n_t + z_t h_{t-1}
    }
  }
}

void gru_forward(const at::Tensor& xg, const at::Tensor& hg, const at::Tensor& b_hn, const at::Tensor& h_prev,
                 const at::Tensor& acts, const at::Tensor& h_out) {
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
      const Chunk<T> k{std::min<int64_t>(V<T>::size(), H - j)};
      const V<T> r = k.ld(a + j), z = k.ld(a + H + j), n = k.ld(a + 2 * H + j), hn = k.ld(a + 3 * H + j);
      const V<T> dh = k.ld(d + j);
      const V<T> d_n = dh * (one - z) * (one - n * n);
      const V<T> d_z = dh * (k.ld(hp + j) - n) * z * (one - z);
      const V<T> d_r = d_n * hn * r * (one - r);
      k.st(d_r, x + j); k.st(d_z, x + H + j); k.st(d_n, x + 2 * H + j);
      k.st(d_r, hh + j); k.st(d_z, hh + H + j); k.st(d_n * r, hh + 2 * H + j);
      k.st(dh * z, dd + j);
    }
  }
}

void gru_backward(const at::Tensor& dh, const at::Tensor& acts, const at::Tensor& h_prev,
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

}  // namespace

TORCH_LIBRARY(seqlab_bptt, m) {
  m.def("lstm_forward(Tensor pre, Tensor c_prev, Tensor peep, bool coupled, Tensor(a!) acts, Tensor(b!) c_out, "
        "Tensor(c!) m_out) -> ()");
  m.def("lstm_backward(Tensor dm, Tensor dc, Tensor acts, Tensor c_prev, Tensor c_t, Tensor peep, bool coupled, "
        "Tensor(a!) dpre, Tensor(b!) dc_prev) -> ()");
  m.def("gru_forward(Tensor xg, Tensor hg, Tensor b_hn, Tensor h_prev, Tensor(a!) acts, Tensor(b!) h_out) -> ()");
  m.def("gru_backward(Tensor dh, Tensor acts, Tensor h_prev, Tensor(a!) dx, Tensor(b!) dhh, "
        "Tensor(c!) dh_direct) -> ()");
}

TORCH_LIBRARY_IMPL(seqlab_bptt, CPU, m) {
  m.impl("lstm_forward", &lstm_forward);
  m.impl("lstm_backward", &lstm_backward);
  m.impl("gru_forward", &gru_forward);
  m.impl("gru_backward", &gru_backward);
}
"""


# -- the same functions in PyTorch: the fallback, and the executable specification ----------
def _lstm_gates(pre_or_acts: torch.Tensor, coupled: bool):
    """Split (B, G*H) into named gate blocks, each (B, H)."""
    names = ("f", "g", "o") if coupled else ("i", "f", "g", "o")
    return dict(zip(names, pre_or_acts.chunk(len(names), dim=-1)))


def lstm_forward_torch(pre, c_prev, peep, coupled, acts, c_out, m_out) -> None:
    p = _lstm_gates(pre, coupled)
    a = _lstm_gates(acts, coupled)
    has_peep = peep.numel() > 0
    f = torch.sigmoid(p["f"] + peep[1] * c_prev if has_peep else p["f"])
    i = 1 - f if coupled else torch.sigmoid(p["i"] + peep[0] * c_prev if has_peep else p["i"])
    g = torch.tanh(p["g"])
    c = f * c_prev + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
    o = torch.sigmoid(p["o"] + peep[2] * c if has_peep else p["o"])
    for name, value in (("i", i), ("f", f), ("g", g), ("o", o)):
        if name in a:
            a[name].copy_(value)
    c_out.copy_(c)
    torch.mul(o, torch.tanh(c), out=m_out)  # m_t = o_t * tanh(c_t)


def lstm_backward_torch(dm, dc, acts, c_prev, c_t, peep, coupled, dpre, dc_prev) -> None:
    a = _lstm_gates(acts, coupled)
    d = _lstm_gates(dpre, coupled)
    has_peep = peep.numel() > 0
    f, g, o = a["f"], a["g"], a["o"]
    i = 1 - f if coupled else a["i"]
    tc = torch.tanh(c_t)
    d_o = dm * tc * o * (1 - o)
    dct = dc + dm * o * (1 - tc * tc)
    if has_peep:
        dct = dct + d_o * peep[2]
    df_total = dct * (c_prev - g) if coupled else dct * c_prev
    d_f = df_total * f * (1 - f)
    dcp = dct * f
    if has_peep:
        dcp = dcp + d_f * peep[1]
    if not coupled:
        d_i = dct * g * i * (1 - i)
        d["i"].copy_(d_i)
        if has_peep:
            dcp = dcp + d_i * peep[0]
    d["f"].copy_(d_f)
    d["g"].copy_(dct * i * (1 - g * g))
    d["o"].copy_(d_o)
    dc_prev.copy_(dcp)


def gru_forward_torch(xg, hg, b_hn, h_prev, acts, h_out) -> None:
    x_r, x_z, x_n = xg.chunk(3, dim=-1)
    h_r, h_z, h_n = hg.chunk(3, dim=-1)
    a_r, a_z, a_n, a_hn = acts.chunk(4, dim=-1)
    torch.sigmoid(x_r + h_r, out=a_r)
    torch.sigmoid(x_z + h_z, out=a_z)
    a_hn.copy_(h_n + b_hn if b_hn.numel() > 0 else h_n)
    torch.tanh(x_n + a_r * a_hn, out=a_n)
    h_out.copy_(a_n + a_z * (h_prev - a_n))  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}


def gru_backward_torch(dh, acts, h_prev, dx, dhh, dh_direct) -> None:
    r, z, n, hn = acts.chunk(4, dim=-1)
    d_n = dh * (1 - z) * (1 - n * n)
    d_z = dh * (h_prev - n) * z * (1 - z)
    d_r = d_n * hn * r * (1 - r)
    dx.copy_(torch.cat([d_r, d_z, d_n], dim=-1))
    dhh.copy_(torch.cat([d_r, d_z, d_n * r], dim=-1))
    torch.mul(dh, z, out=dh_direct)


class Kernels:
    """The four pointwise functions, from the compiled extension or from PyTorch."""

    def __init__(self, compiled: bool):
        self.compiled = compiled
        if compiled:
            ops = torch.ops.seqlab_bptt
            self.lstm_forward, self.lstm_backward = ops.lstm_forward, ops.lstm_backward
            self.gru_forward, self.gru_backward = ops.gru_forward, ops.gru_backward
        else:
            self.lstm_forward, self.lstm_backward = lstm_forward_torch, lstm_backward_torch
            self.gru_forward, self.gru_backward = gru_forward_torch, gru_backward_torch


_lock = threading.Lock()
_state: dict[str, Kernels | None] = {"loaded": None}
_mode: dict[str, bool | None] = {"compiled": None}  # None: try to compile; False: PyTorch only


def _simd_flags() -> list[str]:
    """Compile ATen's Vectorized type for AVX2 when this CPU has it (as PyTorch's own AVX2 kernels are)."""
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")()
    if capability in ("AVX2", "AVX512"):
        return ["-mavx2", "-mfma", "-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2"]
    return []


def _build() -> bool:
    """Compile and load the extension; False (with a logged warning) if that fails."""
    if os.environ.get("SEQLAB_BPTT_COMPILE", "1") == "0":
        log.warning("SEQLAB_BPTT_COMPILE=0: the bptt engine uses its pure-PyTorch pointwise functions")
        return False
    if hasattr(torch.ops, "seqlab_bptt") and hasattr(torch.ops.seqlab_bptt, "lstm_forward"):
        return True
    try:
        from torch.utils.cpp_extension import load_inline

        digest = hashlib.sha1(_CPP_SOURCE.encode()).hexdigest()[:12]
        log.info("compiling the bptt pointwise kernels (first use only; cached)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_inline(f"seqlab_bptt_{digest}", cpp_sources=[_CPP_SOURCE], is_python_module=False,
                        extra_cflags=["-O3", *_simd_flags()], verbose=False)
        for warning in caught:
            log.info("while compiling the bptt kernels: %s", warning.message)
        return True
    except Exception as error:  # a missing compiler shows up as many different exception types
        log.warning("the bptt engine could not compile its fused kernels (%s: %s); using the pure-PyTorch "
                    "pointwise functions instead, which are slower", type(error).__name__, error)
        return False


def kernels() -> Kernels:
    """The pointwise functions in use: compiled when possible (built once per process)."""
    if _mode["compiled"] is False:
        return _FALLBACK
    if _state["loaded"] is None:
        with _lock:
            if _state["loaded"] is None:
                _state["loaded"] = Kernels(compiled=_build())
    return _state["loaded"]


def use_compiled(flag: bool | None) -> None:
    """Force the pure-PyTorch functions (False) or go back to compiling when possible (None)."""
    _mode["compiled"] = False if flag is False else None


_FALLBACK = Kernels(compiled=False)
