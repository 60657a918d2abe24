// The operators of seqlab's BPTT kernels, registered as torch.ops.seqlab_bptt.*. One
// translation unit (the kernels are headers) so that PyTorch's headers are parsed once: the
// build takes about a minute instead of several.
//
// Optional tensors are None when a variant is off; buffers a configuration does not have come
// back as empty tensors.
#include <torch/library.h>

#include "gru.h"
#include "lstm.h"
#include "lstm_ln.h"

TORCH_LIBRARY(seqlab_bptt, m) {
  // lstm.h: one layer and direction of the LSTM, all steps
  // gates: the input projections in, the gate activations out
  m.def("lstm_sequence_forward(Tensor(a!) gates, Tensor h0, Tensor c0, Tensor weight_hh, Tensor? weight_hr, "
        "Tensor? peep, Tensor? keep_h, Tensor? keep_c, float? keep_h_p, float? keep_c_p, Tensor? valid, "
        "Tensor? recurrent_mask, bool reverse, bool coupled, bool save) -> Tensor[]");  // hs, cs, c_cell, ms, c_n
  m.def("lstm_sequence_backward(Tensor d_output, Tensor d_h_n, Tensor d_c_n, Tensor cs, Tensor acts, Tensor? c_cell, "
        "Tensor weight_hh, Tensor? weight_hr, Tensor? peep, Tensor? keep_h, Tensor? keep_c, float? keep_h_p, "
        "float? keep_c_p, Tensor? valid, Tensor? recurrent_mask, bool reverse, bool coupled) -> Tensor[]");
        // delta, dh_0, dc_0, d_proj
  // lstm_ln.h: the layer-normalised LSTM, all steps
  // z_ih: W_ih x in, LN(W_ih x) out
  m.def("lstm_ln_sequence_forward(Tensor(a!) z_ih, Tensor h0, Tensor c0, Tensor weight_hh, Tensor ln_ih, "
        "Tensor ln_hh, Tensor ln_c, Tensor? weight_hr, Tensor? peep, Tensor? keep_h, Tensor? keep_c, float? keep_h_p, "
        "float? keep_c_p, Tensor? valid, Tensor? recurrent_mask, bool reverse, bool coupled, bool per_gate, "
        "bool save) -> Tensor[]");  // hs, cs, acts, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, ms, c_n
  m.def("lstm_ln_sequence_backward(Tensor d_output, Tensor d_h_n, Tensor d_c_n, Tensor cs, Tensor acts, "
        "Tensor zhat_ih, Tensor rstd_ih, Tensor zhat, Tensor rstd, Tensor chat, Tensor rstd_c, Tensor? c_cell, "
        "Tensor weight_hh, Tensor ln_ih, Tensor ln_hh, Tensor ln_c, Tensor? weight_hr, Tensor? peep, "
        "Tensor? keep_h, Tensor? keep_c, float? keep_h_p, float? keep_c_p, Tensor? valid, Tensor? recurrent_mask, "
        "bool reverse, bool coupled, bool per_gate) -> Tensor[]");
        // dz_ih, dz, d_ln_ih, d_ln_hh, d_ln_c, d_peep, dh_0, dc_0, d_proj
  // gemm.h: the per-step product on its own, by each method this build has (for the tests)
  m.def("recurrent_product(Tensor a, Tensor weight, bool transposed, Tensor? accumulate_into, str method) -> Tensor");
  m.def("recurrent_product_methods() -> str[]", &seqlab::recurrent_product_methods);
  // gru.h: the pointwise work of one GRU step
  m.def("gru_forward(Tensor xg, Tensor hg, Tensor b_hn, Tensor h_prev, Tensor(a!) acts, Tensor(b!) h_out) -> ()");
  m.def("gru_backward(Tensor dh, Tensor acts, Tensor h_prev, Tensor(a!) dx, Tensor(b!) dhh, "
        "Tensor(c!) dh_direct) -> ()");
}

TORCH_LIBRARY_IMPL(seqlab_bptt, CPU, m) {
  m.impl("lstm_sequence_forward", &seqlab::lstm::lstm_sequence_forward);
  m.impl("lstm_sequence_backward", &seqlab::lstm::lstm_sequence_backward);
  m.impl("lstm_ln_sequence_forward", &seqlab::lstm_ln::lstm_ln_sequence_forward);
  m.impl("lstm_ln_sequence_backward", &seqlab::lstm_ln::lstm_ln_sequence_backward);
  m.impl("recurrent_product", &seqlab::recurrent_product);
  m.impl("gru_forward", &seqlab::gru::gru_forward);
  m.impl("gru_backward", &seqlab::gru::gru_backward);
}
