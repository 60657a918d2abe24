r"""The Elman RNN over a whole sequence with a hand-written backward: BPTT in its plainest form.

Forward, in the notation of ``RNNCell`` (m the recurrent dropout mask, ones without it):

    xg_t = W_ih x_t + b_ih + b_hh                  for all t in one product
    a_t  = xg_t + W_hh (h_{t-1} * m)
    h_t  = phi(a_t)                                phi = tanh or relu

Backward, from dh_t = dL/dh_t (the output at t plus what step t + 1 sends back):

    delta_t  = dh_t * phi'(a_t)                    tanh: 1 - h_t^2;  relu: [h_t > 0]
    dh_{t-1} = (W_hh^T delta_t) * m                one product per step
    dW_hh    = sum_t delta_t (h_{t-1} * m)^T        one product over all steps
    dxg_t    = delta_t                             autograd turns it into dW_ih, db, dx

Unrolled, dL/dW_hh = sum_t dL/dh_t prod_{k} dh_k/dh_{k-1} ..., the sum over paths through
time of the curriculum: the loop below computes it right to left, one Jacobian product per step.
Zoneout and lengths wrap each step as ``seqlab.nn.bptt._common`` describes.
"""

from __future__ import annotations

import torch

from seqlab.nn.bptt import _common


def rnn_forward(xg, h0, weight_hh, keep, valid, recurrent_mask, *, reverse: bool, relu: bool, save: bool):
    """Run the recurrence. Returns (output (T, B, H), h_n, saved buffers or None)."""
    T, B, _ = xg.shape
    H = h0.shape[-1]
    hs = xg.new_empty(T + 1, B, H)
    h_cell = xg.new_empty(T if save else 1, B, H) if keep is not None else None
    w_hh_t = weight_hh.t()
    hs[T if reverse else 0] = h0
    for t, prev, new in _common.step_indices(T, reverse):
        h_in = hs[prev] if recurrent_mask is None else hs[prev] * recurrent_mask
        h_out = h_cell[t if save else 0] if h_cell is not None else hs[new]
        torch.addmm(xg[t], h_in, w_hh_t, out=h_out)  # a_t = xg_t + W_hh h_{t-1}
        h_out.relu_() if relu else h_out.tanh_()  # h_t = phi(a_t)
        if keep is not None or valid is not None:
            hs[new] = _common.mix_forward(h_out, hs[prev], _common.at_step(keep, t),
                                          None if valid is None else valid[t])
    output = _common.outputs_of(hs, reverse)
    if valid is not None:
        output = output * valid
    return output, hs[0 if reverse else T], (hs, h_cell) if save else None


class RNNFunction(torch.autograd.Function):
    """One direction of one RNN layer; see the module docstring for both passes."""

    @staticmethod
    def forward(ctx, xg, h0, weight_hh, keep, valid, recurrent_mask, reverse, relu):
        output, h_n, (hs, h_cell) = rnn_forward(xg, h0, weight_hh, keep, valid, recurrent_mask, reverse=reverse,
                                                relu=relu, save=True)
        optional = {"h_cell": h_cell, "valid": valid, "recurrent_mask": recurrent_mask,
                    "keep": keep if isinstance(keep, torch.Tensor) else None}
        ctx.optional_names = [name for name, value in optional.items() if value is not None]
        ctx.save_for_backward(hs, weight_hh, *(optional[name] for name in ctx.optional_names))
        ctx.keep_float = None if isinstance(keep, torch.Tensor) else keep
        ctx.reverse, ctx.relu = reverse, relu
        return output, h_n

    @staticmethod
    def backward(ctx, d_output, d_h_n):
        _common.refuse_double_backward()
        hs, weight_hh, *rest = ctx.saved_tensors
        opt = dict(zip(ctx.optional_names, rest))
        h_cell, valid, mask = opt.get("h_cell"), opt.get("valid"), opt.get("recurrent_mask")
        keep = opt.get("keep", ctx.keep_float)
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        d_output = d_output.contiguous()
        if valid is not None:
            d_output = d_output * valid
        delta = hs.new_empty(T, B, H)
        dh = d_h_n.contiguous()
        for t, _prev, new in reversed(_common.step_indices(T, ctx.reverse)):
            dh = dh + d_output[t]
            dh_cell, dh_bypass = _common.mix_backward(dh, _common.at_step(keep, t),
                                                      None if valid is None else valid[t])
            h_t = h_cell[t] if h_cell is not None else hs[new]
            if ctx.relu:
                torch.mul(dh_cell, h_t > 0, out=delta[t])  # relu'(a_t) = [h_t > 0]
            else:
                torch.mul(dh_cell, 1 - h_t * h_t, out=delta[t])  # tanh'(a_t) = 1 - h_t^2
            dh = delta[t] @ weight_hh  # W_hh^T delta_t
            if mask is not None:
                dh = dh * mask
            if dh_bypass is not None:
                dh = dh + dh_bypass
        h_in = _common.inputs_of(hs, ctx.reverse)
        if mask is not None:
            h_in = h_in * mask
        d_weight_hh = delta.view(T * B, H).t() @ h_in.reshape(T * B, H)  # sum_t delta_t h_{t-1}^T
        return delta, dh, d_weight_hh, None, None, None, None, None


def run_rnn(xg, h0, weight_hh, *, keep=None, valid=None, recurrent_mask=None, reverse=False, relu=False):
    """One direction: autograd-tracked when anything needs a gradient, else a lean forward.

    Args:
        xg: (T, B, H) input projections with both biases. h0: (B, H). weight_hh: (H, H).
        keep: zoneout keep mask (T, B, H), or p at evaluation, or None. valid: (T, B, 1) bool or None.
        recurrent_mask: (B, H) or None.

    Returns:
        ``(output (T, B, H), h_n (B, H))``.
    """
    args = (xg.contiguous(), h0.contiguous(), weight_hh, keep, valid, recurrent_mask)
    if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
        return RNNFunction.apply(*args, reverse, relu)
    output, h_n, _ = rnn_forward(*args, reverse=reverse, relu=relu, save=False)
    return output, h_n
