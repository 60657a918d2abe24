r"""The GRU over a whole sequence with a hand-written backward, in both reset conventions.

Forward, in the notation of ``GRUCell`` (gates stacked r, z, n; h^m_{t-1} = h_{t-1} * m, m the
recurrent dropout mask, ones without it):

    xg_t = W_ih x_t + b_ih (+ b_hr, b_hz; + b_hn too when reset_after=False), all t in one product
    r_t  = sigma(xg^r_t + W_hr h^m_{t-1})
    z_t  = sigma(xg^z_t + W_hz h^m_{t-1})
    reset_after=True:   q_t = W_hn h^m_{t-1} + b_hn;   n_t = tanh(xg^n_t + r_t * q_t)
    reset_after=False:  n_t = tanh(xg^n_t + W_hn (r_t * h^m_{t-1}))
    h_t  = (1 - z_t) * n_t + z_t * h_{t-1}

Backward from dh_t = dL/dh_t (output at t plus step t + 1); delta^x_t = dL/d(pre-activation of x):

    delta^n_t = dh_t * (1 - z_t) * (1 - n_t^2)
    delta^z_t = dh_t * (h_{t-1} - n_t) * z_t (1 - z_t)
    reset_after=True:
        delta^r_t = delta^n_t * q_t * r_t (1 - r_t)
        the recurrent product's gradient is [delta^r_t, delta^z_t, delta^n_t * r_t] =: e_t
        dh_{t-1} = dh_t * z_t + (W_hh^T e_t) * m;   dW_hh = sum_t e_t (h^m_{t-1})^T;   db_hn = sum_t delta^n_t * r_t
    reset_after=False:
        d(r h)_t  = W_hn^T delta^n_t
        delta^r_t = d(r h)_t * h^m_{t-1} * r_t (1 - r_t)
        dh_{t-1}  = dh_t * z_t + (W_hr^T delta^r_t + W_hz^T delta^z_t + r_t * d(r h)_t) * m
        dW_h{r,z} = sum_t delta^{r,z}_t (h^m_{t-1})^T;   dW_hn = sum_t delta^n_t (r_t * h^m_{t-1})^T
    dxg_t = [delta^r_t, delta^z_t, delta^n_t], returned for autograd to turn into dW_ih, db, dx.

Zoneout and lengths wrap each step as ``seqlab.nn.bptt._common`` describes.
"""

from __future__ import annotations

import torch

from seqlab.nn.bptt import _common
from seqlab.nn.bptt._kernels import kernels


def gru_forward(xg, h0, weight_hh, bias_hn, keep, valid, recurrent_mask, *, reverse: bool, reset_after: bool,
                save: bool):
    """Run the recurrence. Returns (output (T, B, H), h_n, saved buffers or None)."""
    K = kernels(xg)
    T, B, _ = xg.shape
    H = h0.shape[-1]
    hs = xg.new_empty(T + 1, B, H)
    acts = xg.new_empty(T if save else 1, B, 4 * H if reset_after else 3 * H)
    h_cell = xg.new_empty(T if save else 1, B, H) if keep is not None else None
    bias = bias_hn.contiguous() if bias_hn is not None else xg.new_zeros(H) if K.compiled else xg.new_empty(0)
    w_rz_t, w_n_t = weight_hh[: 2 * H].t(), weight_hh[2 * H :].t()
    hs[T if reverse else 0] = h0
    for t, prev, new in _common.step_indices(T, reverse):
        s = t if save else 0
        h_in = hs[prev] if recurrent_mask is None else hs[prev] * recurrent_mask
        h_out = h_cell[s] if h_cell is not None else hs[new]
        if reset_after:
            hg = h_in @ weight_hh.t()  # (B, 3H): W_hh h_{t-1}, one product for all three gates
            K.gru_forward(xg[t], hg, bias, hs[prev], acts[s], h_out)
        else:
            r, z, n = acts[s].chunk(3, dim=-1)
            torch.sigmoid(torch.addmm(xg[t, :, : 2 * H], h_in, w_rz_t), out=acts[s, :, : 2 * H])
            torch.tanh(torch.addmm(xg[t, :, 2 * H :], r * h_in, w_n_t), out=n)  # n_t = tanh(.. W_hn (r_t h))
            torch.addcmul(n, z, hs[prev] - n, out=h_out)  # h_t = n_t + z_t (h_{t-1} - n_t)
        if keep is not None or valid is not None:
            hs[new] = _common.mix_forward(h_out, hs[prev], _common.at_step(keep, t),
                                          None if valid is None else valid[t])
    output = _common.outputs_of(hs, reverse)
    if valid is not None:
        output = output * valid
    saved = (hs, acts, h_cell) if save else None
    return output, hs[0 if reverse else T], saved


class GRUFunction(torch.autograd.Function):
    """One direction of one GRU layer; see the module docstring for both passes."""

    @staticmethod
    def forward(ctx, xg, h0, weight_hh, bias_hn, keep, valid, recurrent_mask, reverse, reset_after):
        output, h_n, (hs, acts, h_cell) = gru_forward(xg, h0, weight_hh, bias_hn, keep, valid, recurrent_mask,
                                                      reverse=reverse, reset_after=reset_after, save=True)
        optional = {"h_cell": h_cell, "valid": valid, "recurrent_mask": recurrent_mask,
                    "keep": keep if isinstance(keep, torch.Tensor) else None}
        ctx.optional_names = [name for name, value in optional.items() if value is not None]
        ctx.save_for_backward(hs, acts, weight_hh, *(optional[name] for name in ctx.optional_names))
        ctx.keep_float = None if isinstance(keep, torch.Tensor) else keep
        ctx.reverse, ctx.reset_after, ctx.has_bias_hn = reverse, reset_after, bias_hn is not None
        return output, h_n

    @staticmethod
    def backward(ctx, d_output, d_h_n):
        _common.refuse_double_backward()
        hs, acts, weight_hh, *rest = ctx.saved_tensors
        K = kernels(acts)
        opt = dict(zip(ctx.optional_names, rest))
        valid, mask = opt.get("valid"), opt.get("recurrent_mask")
        keep = opt.get("keep", ctx.keep_float)
        reverse, reset_after = ctx.reverse, ctx.reset_after
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        d_output = d_output.contiguous()
        if valid is not None:
            d_output = d_output * valid
        delta = acts.new_empty(T, B, 3 * H)  # dL/dxg_t
        e = acts.new_empty(T, B, 3 * H) if reset_after else None  # dL/d(W_hh h^m_{t-1})
        w_rz, w_n = weight_hh[: 2 * H], weight_hh[2 * H :]
        dh = d_h_n.contiguous().clone()
        dh_direct = torch.empty_like(dh)
        for t, prev, _new in reversed(_common.step_indices(T, reverse)):
            dh = dh + d_output[t]
            dh_cell, dh_bypass = _common.mix_backward(dh, _common.at_step(keep, t),
                                                      None if valid is None else valid[t])
            h_prev = hs[prev]
            h_in = h_prev if mask is None else h_prev * mask
            if reset_after:
                K.gru_backward(dh_cell.contiguous(), acts[t], h_prev, delta[t], e[t], dh_direct)
                d_in = e[t] @ weight_hh  # W_hh^T e_t, (B, H)
            else:
                r, z, n = acts[t].chunk(3, dim=-1)
                d_n = dh_cell * (1 - z) * (1 - n * n)
                d_rh = d_n @ w_n  # d(r h)_t = W_hn^T delta^n_t
                delta[t, :, : H] = d_rh * h_in * r * (1 - r)
                delta[t, :, H : 2 * H] = dh_cell * (h_prev - n) * z * (1 - z)
                delta[t, :, 2 * H :] = d_n
                d_in = torch.addmm(d_rh * r, delta[t, :, : 2 * H], w_rz)
                torch.mul(dh_cell, z, out=dh_direct)
            if mask is not None:
                d_in = d_in * mask
            dh = d_in + dh_direct if dh_bypass is None else d_in + dh_direct + dh_bypass

        h_in_all = _common.inputs_of(hs, reverse)
        if mask is not None:
            h_in_all = h_in_all * mask
        h_flat = h_in_all.reshape(T * B, H)
        d_bias_hn = None
        if reset_after:
            d_weight_hh = e.view(T * B, 3 * H).t() @ h_flat  # sum_t e_t (h^m_{t-1})^T
            if ctx.has_bias_hn:
                d_bias_hn = e[..., 2 * H :].sum((0, 1))
        else:
            r = acts[..., :H].reshape(T * B, H)
            flat = delta.view(T * B, 3 * H)
            d_weight_hh = torch.cat([flat[:, : 2 * H].t() @ h_flat, flat[:, 2 * H :].t() @ (r * h_flat)])
        return delta, dh, d_weight_hh, d_bias_hn, None, None, None, None, None


def run_gru(xg, h0, weight_hh, *, bias_hn=None, keep=None, valid=None, recurrent_mask=None, reverse=False,
            reset_after=True):
    """One direction: autograd-tracked when anything needs a gradient, else a lean forward.

    Args:
        xg: (T, B, 3H) input projections with b_ih and the biases that can join them (see above).
        h0: (B, H). weight_hh: (3H, H). bias_hn: (H,) or None (reset_after=True only).
        keep: zoneout keep mask (T, B, H), or p at evaluation, or None. valid: (T, B, 1) bool or None.
        recurrent_mask: (B, H) or None.

    Returns:
        ``(output (T, B, H), h_n (B, H))``.
    """
    args = (xg.contiguous(), h0.contiguous(), weight_hh, bias_hn, keep, valid, recurrent_mask)
    if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
        return GRUFunction.apply(*args, reverse, reset_after)
    output, h_n, _ = gru_forward(*args, reverse=reverse, reset_after=reset_after, save=False)
    return output, h_n
