r"""The layer-normalised LSTM (Ba et al. 2016) with a hand-written backward, in PyTorch operations.

Forward, in the notation of ``LSTMCell``'s ``layer_norm`` variant; LN(z) = (z - mu(z)) / sigma(z)
over all G*H features ("whole") or over each gate's H ("per_gate"), eps = 1e-5 inside sigma:

    xg_t = LN(W_ih x_t) a_ih + s_ih + b_ih + b_hh     for all t at once, outside (autograd)
    z_t  = W_hh (h_{t-1} * m);   zhat_t = LN(z_t)
    a_t  = xg_t + zhat_t * a_hh + s_hh
    i, f, g, o, c_t as in ``seqlab.nn.bptt.lstm`` (peepholes read the un-normalised c)
    chat_t = LN(c_t);   r_t = chat_t * a_c + s_c;   m_t = o_t * tanh(r_t);   h_t = m_t or W_hr m_t

Backward, with LN's own rule: for zhat = LN(z) and dzhat = dL/dzhat, over each normalised group,
dL/dz = (dzhat - mean(dzhat) - zhat * mean(dzhat * zhat)) / sigma(z). Then

    dr_t       = dm_t * o_t * (1 - tanh^2 r_t);   da_c = sum_t dr_t * chat_t;   ds_c = sum_t dr_t
    delta^o_t  = dm_t * tanh(r_t) * o_t (1 - o_t)
    dc_t      += LN'(dr_t * a_c) + w_co * delta^o_t
    delta^{i,f,g}_t and dc_{t-1} as in ``seqlab.nn.bptt.lstm``
    dxg_t      = delta_t;   da_hh = sum_t delta_t * zhat_t;   ds_hh = sum_t delta_t
    dz_t       = LN'(delta_t * a_hh);   dh_{t-1} += (W_hh^T dz_t) * m;   dW_hh = sum_t dz_t (h^m_{t-1})^T
"""

from __future__ import annotations

import torch

from seqlab.nn.bptt import _common

EPS = 1e-5


def _normalise(z: torch.Tensor, groups: int):
    """(zhat, 1/sigma) of z (B, F) normalised over ``groups`` equal slices of its features."""
    zg = z.unflatten(-1, (groups, -1))  # (B, groups, F/groups)
    mean = zg.mean(-1, keepdim=True)
    rstd = torch.rsqrt(zg.var(-1, unbiased=False, keepdim=True) + EPS)
    return ((zg - mean) * rstd).flatten(-2), rstd


def _normalise_backward(dzhat: torch.Tensor, zhat: torch.Tensor, rstd: torch.Tensor, groups: int) -> torch.Tensor:
    """dL/dz from dL/dzhat: (dzhat - mean(dzhat) - zhat mean(dzhat zhat)) / sigma, per group."""
    d = dzhat.unflatten(-1, (groups, -1))
    n = zhat.unflatten(-1, (groups, -1))
    return (rstd * (d - d.mean(-1, keepdim=True) - n * (d * n).mean(-1, keepdim=True))).flatten(-2)


def _gates(pre, c_prev, peep, coupled):
    names = ("f", "g", "o") if coupled else ("i", "f", "g", "o")
    p = dict(zip(names, pre.chunk(len(names), dim=-1)))
    f = torch.sigmoid(p["f"] + peep[1] * c_prev)
    i = 1 - f if coupled else torch.sigmoid(p["i"] + peep[0] * c_prev)
    g = torch.tanh(p["g"])
    c = f * c_prev + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
    o = torch.sigmoid(p["o"] + peep[2] * c)
    return i, f, g, o, c


def lstm_ln_forward(xg, h0, c0, weight_hh, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask, *,
                    reverse: bool, coupled: bool, per_gate: bool):
    """Run the recurrence. Returns (output, h_n, c_n, saved buffers)."""
    T, B, GH = xg.shape
    H, H_out = c0.shape[-1], h0.shape[-1]
    G = GH // H
    groups = G if per_gate else 1
    peep = xg.new_zeros(3, H) if peep is None else peep
    hs, cs = xg.new_empty(T + 1, B, H_out), xg.new_empty(T + 1, B, H)
    acts = xg.new_empty(T, B, 4 * H)  # i, f, g, o (i = 1 - f when coupled)
    zhat, rstd = xg.new_empty(T, B, GH), xg.new_empty(T, B, groups, 1)
    chat, rstd_c = xg.new_empty(T, B, H), xg.new_empty(T, B, 1, 1)
    c_cell, ms = xg.new_empty(T, B, H), xg.new_empty(T, B, H)
    first = T if reverse else 0
    hs[first], cs[first] = h0, c0
    for t, prev, new in _common.step_indices(T, reverse):
        h_in = hs[prev] if recurrent_mask is None else hs[prev] * recurrent_mask
        z_hat, rstd[t] = _normalise(h_in @ weight_hh.t(), groups)  # zhat_t = LN(W_hh h_{t-1})
        zhat[t] = z_hat
        pre = xg[t] + z_hat * ln_hh[0] + ln_hh[1]
        i, f, g, o, c = _gates(pre, cs[prev], peep, coupled)
        acts[t] = torch.cat([i, f, g, o], dim=-1)
        c_cell[t] = c
        c_hat, rstd_c[t] = _normalise(c, 1)
        chat[t] = c_hat
        torch.mul(o, torch.tanh(c_hat * ln_c[0] + ln_c[1]), out=ms[t])  # m_t = o_t * tanh(LN(c_t))
        h = ms[t] if weight_hr is None else ms[t] @ weight_hr.t()
        v = None if valid is None else valid[t]
        hs[new] = _common.mix_forward(h, hs[prev], _common.at_step(keep_h, t), v)
        cs[new] = _common.mix_forward(c, cs[prev], _common.at_step(keep_c, t), v)
    output = _common.outputs_of(hs, reverse)
    if valid is not None:
        output = output * valid
    saved = (hs, cs, acts, zhat, rstd, chat, rstd_c, c_cell, ms)
    return output, hs[0 if reverse else T], cs[0 if reverse else T], saved


class LSTMLayerNormFunction(torch.autograd.Function):
    """One direction of one layer-normalised LSTM layer; see the module docstring."""

    @staticmethod
    def forward(ctx, xg, h0, c0, weight_hh, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask,
                reverse, coupled, per_gate):
        output, h_n, c_n, saved = lstm_ln_forward(xg, h0, c0, weight_hh, ln_hh, ln_c, weight_hr, peep, keep_h,
                                                  keep_c, valid, recurrent_mask, reverse=reverse, coupled=coupled,
                                                  per_gate=per_gate)
        optional = {"weight_hr": weight_hr, "peep": peep, "valid": valid, "recurrent_mask": recurrent_mask,
                    "keep_h": keep_h if isinstance(keep_h, torch.Tensor) else None,
                    "keep_c": keep_c if isinstance(keep_c, torch.Tensor) else None}
        ctx.optional_names = [name for name, value in optional.items() if value is not None]
        ctx.save_for_backward(*saved, weight_hh, ln_hh, ln_c, *(optional[n] for n in ctx.optional_names))
        ctx.keep_floats = {name: keep for name, keep in (("keep_h", keep_h), ("keep_c", keep_c))
                           if keep is not None and not isinstance(keep, torch.Tensor)}
        ctx.flags = (reverse, coupled, per_gate)
        return output, h_n, c_n

    @staticmethod
    def backward(ctx, d_output, d_h_n, d_c_n):
        _common.refuse_double_backward()
        hs, cs, acts, zhat, rstd, chat, rstd_c, c_cell, ms, weight_hh, ln_hh, ln_c, *rest = ctx.saved_tensors
        opt = dict(zip(ctx.optional_names, rest)) | ctx.keep_floats
        weight_hr, peep, valid = opt.get("weight_hr"), opt.get("peep"), opt.get("valid")
        mask = opt.get("recurrent_mask")
        keep_h, keep_c = opt.get("keep_h"), opt.get("keep_c")
        reverse, coupled, per_gate = ctx.flags
        T, B, GH = zhat.shape
        H = cs.shape[-1]
        groups = GH // H if per_gate else 1
        w = peep if peep is not None else acts.new_zeros(3, H)
        d_output = d_output if valid is None else d_output * valid
        delta, dz, dr = torch.empty_like(zhat), torch.empty_like(zhat), torch.empty_like(chat)
        d_proj = None if weight_hr is None else acts.new_empty(T, B, weight_hr.shape[0])
        dh, dc = d_h_n, d_c_n
        for t, prev, _new in reversed(_common.step_indices(T, reverse)):
            dh = dh + d_output[t]
            v = None if valid is None else valid[t]
            dh_cell, dh_bypass = _common.mix_backward(dh, _common.at_step(keep_h, t), v)
            dc_cell, dc_bypass = _common.mix_backward(dc, _common.at_step(keep_c, t), v)
            if weight_hr is not None:
                d_proj[t] = dh_cell
                dh_cell = dh_cell @ weight_hr  # dm_t = W_hr^T dh_t
            i, f, g, o = acts[t].chunk(4, dim=-1)
            c_prev = cs[prev]
            tr = torch.tanh(chat[t] * ln_c[0] + ln_c[1])
            d_o = dh_cell * tr * o * (1 - o)
            dr[t] = dh_cell * o * (1 - tr * tr)
            dct = dc_cell + _normalise_backward(dr[t] * ln_c[0], chat[t], rstd_c[t], 1) + d_o * w[2]
            d_f = (dct * (c_prev - g) if coupled else dct * c_prev) * f * (1 - f)
            d_g = dct * i * (1 - g * g)
            dc_prev = dct * f + d_f * w[1]
            if coupled:
                delta[t] = torch.cat([d_f, d_g, d_o], dim=-1)
            else:
                d_i = dct * g * i * (1 - i)
                dc_prev = dc_prev + d_i * w[0]
                delta[t] = torch.cat([d_i, d_f, d_g, d_o], dim=-1)
            dz[t] = _normalise_backward(delta[t] * ln_hh[0], zhat[t], rstd[t], groups)
            dh_prev = dz[t] @ weight_hh  # W_hh^T dz_t
            if mask is not None:
                dh_prev = dh_prev * mask
            dh = dh_prev if dh_bypass is None else dh_prev + dh_bypass
            dc = dc_prev if dc_bypass is None else dc_prev + dc_bypass

        h_in = _common.inputs_of(hs, reverse)
        if mask is not None:
            h_in = h_in * mask
        d_weight_hh = dz.view(T * B, GH).t() @ h_in.reshape(T * B, -1)  # sum_t dz_t h_{t-1}^T
        d_ln_hh = torch.stack([(delta * zhat).sum((0, 1)), delta.sum((0, 1))])
        d_ln_c = torch.stack([(dr * chat).sum((0, 1)), dr.sum((0, 1))])
        d_weight_hr = None if weight_hr is None else d_proj.view(T * B, -1).t() @ ms.view(T * B, H)
        d_peep = None
        if peep is not None:
            gates = dict(zip(("f", "g", "o") if coupled else ("i", "f", "g", "o"), delta.chunk(GH // H, dim=-1)))
            c_before = _common.inputs_of(cs, reverse)
            d_peep = torch.stack([(gates["i"] * c_before).sum((0, 1)) if "i" in gates else peep.new_zeros(H),
                                  (gates["f"] * c_before).sum((0, 1)), (gates["o"] * c_cell).sum((0, 1))])
        return (delta, dh, dc, d_weight_hh, d_ln_hh, d_ln_c, d_weight_hr, d_peep,
                None, None, None, None, None, None, None)


def run_lstm_layer_norm(xg, h0, c0, weight_hh, ln_hh, ln_c, *, weight_hr=None, peep=None, keep_h=None, keep_c=None,
                        valid=None, recurrent_mask=None, reverse=False, coupled=False, per_gate=False):
    """One direction of a layer-normalised LSTM.

    Args:
        xg: (T, B, G*H) = LN(W_ih x) a_ih + s_ih + b. ln_hh: (2, G*H) gain and shift of LN(W_hh h).
        ln_c: (2, H) gain and shift of LN(c). The rest as ``run_lstm``.

    Returns:
        ``(output (T, B, H_out), h_n, c_n)``.
    """
    args = (xg.contiguous(), h0.contiguous(), c0.contiguous(), weight_hh, ln_hh, ln_c, weight_hr, peep, keep_h,
            keep_c, valid, recurrent_mask)
    if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
        return LSTMLayerNormFunction.apply(*args, reverse, coupled, per_gate)
    output, h_n, c_n, _ = lstm_ln_forward(*args, reverse=reverse, coupled=coupled, per_gate=per_gate)
    return output, h_n, c_n
