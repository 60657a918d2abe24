r"""The layer-normalised LSTM (Ba et al. 2016) over a whole sequence with a hand-written backward.

Forward, in the notation of ``LSTMCell``'s ``layer_norm`` variant; LN(z) = (z - mu(z)) / sigma(z)
over all G*H features ("whole") or over each gate's H ("per_gate"), eps = 1e-5 inside sigma:

    z^ih_t = W_ih x_t                                  for all t in one product
    z_t    = W_hh (h_{t-1} * m)
    a_t    = LN(z^ih_t) a_ih + LN(z_t) a_hh + s          s = s_ih + b_ih + b_hh + s_hh
    i, f, g, o, c_t as in ``seqlab.nn.bptt.lstm`` (peepholes read the un-normalised c)
    chat_t = LN(c_t);   r_t = chat_t * a_c + s_c;   m_t = o_t * tanh(r_t);   h_t = m_t or W_hr m_t

Backward, with LN's own rule: for zhat = LN(z) and dzhat = dL/dzhat, over each normalised group,
dL/dz = (dzhat - mean(dzhat) - zhat * mean(dzhat * zhat)) / sigma(z). Then

    dr_t       = dm_t * o_t * (1 - tanh^2 r_t);   da_c = sum_t dr_t * chat_t;   ds_c = sum_t dr_t
    delta^o_t  = dm_t * tanh(r_t) * o_t (1 - o_t)
    dc_t      += LN'(dr_t * a_c) + w_co * delta^o_t
    delta^{i,f,g}_t and dc_{t-1} as in ``seqlab.nn.bptt.lstm``
    dz^ih_t    = LN'(delta_t * a_ih);   dW_ih = sum_t dz^ih_t x_t^T,  dx_t = W_ih^T dz^ih_t   (one product each)
    dz_t       = LN'(delta_t * a_hh);   dh_{t-1} += (W_hh^T dz_t) * m;   dW_hh = sum_t dz_t (h^m_{t-1})^T
    da_ih = sum_t delta_t * LN(z^ih_t);   da_hh = sum_t delta_t * LN(z_t);   ds = sum_t delta_t

(ds reaches s_ih, s_hh, b_ih and b_hh alike: the caller forms s = s_ih + b, and autograd splits it.)

Two implementations of the same loops, saving the same buffers: the compiled one
(``torch.ops.seqlab_bptt.lstm_ln_sequence_forward/backward``, ``csrc/lstm_ln.h``) runs every step
in one C++ call, all three normalisations of a step inside it, one pass per batch row forward and
backward; the loops below, in PyTorch operations, are the fallback and the specification.
"""

from __future__ import annotations

import torch

from seqlab.nn.bptt import _common
from seqlab.nn.bptt._kernels import kernels
from seqlab.nn.bptt.lstm import input_gradients, input_projection, optional, split_keep

EPS = 1e-5


def _normalise(z: torch.Tensor, groups: int):
    """(zhat, 1/sigma) of z (..., F) normalised over ``groups`` equal slices of F: (..., F), (..., groups)."""
    zg = z.unflatten(-1, (groups, -1))  # (..., groups, F/groups)
    mean = zg.mean(-1, keepdim=True)
    rstd = torch.rsqrt(zg.var(-1, unbiased=False, keepdim=True) + EPS)
    return ((zg - mean) * rstd).flatten(-2), rstd.squeeze(-1)


def _normalise_backward(dzhat: torch.Tensor, zhat: torch.Tensor, rstd: torch.Tensor, groups: int) -> torch.Tensor:
    """dL/dz from dL/dzhat: (dzhat - mean(dzhat) - zhat mean(dzhat zhat)) / sigma, per group; rstd (..., groups)."""
    d = dzhat.unflatten(-1, (groups, -1))
    n = zhat.unflatten(-1, (groups, -1))
    r = rstd.unsqueeze(-1)
    return (r * (d - d.mean(-1, keepdim=True) - n * (d * n).mean(-1, keepdim=True))).flatten(-2)


def _gates(pre, c_prev, peep, coupled):
    names = ("f", "g", "o") if coupled else ("i", "f", "g", "o")
    p = dict(zip(names, pre.chunk(len(names), dim=-1)))
    f = torch.sigmoid(p["f"] + peep[1] * c_prev if peep is not None else p["f"])
    i = 1 - f if coupled else torch.sigmoid(p["i"] + peep[0] * c_prev if peep is not None else p["i"])
    g = torch.tanh(p["g"])
    c = f * c_prev + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
    o = torch.sigmoid(p["o"] + peep[2] * c if peep is not None else p["o"])
    return i, f, g, o, c


def lstm_ln_forward(z_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid,
                    recurrent_mask, *, reverse: bool, coupled: bool, per_gate: bool, save: bool):
    """Run the recurrence. Returns (output, h_n, c_n, saved buffers or None).

    ``z_ih`` (T, B, G*H, contiguous) holds W_ih x_t on entry and LN(W_ih x_t) on return. The saved
    buffers: hs, cs (T + 1, B, F) the states; acts (T, B, G*H) the gate activations; zhat_ih (``z_ih``),
    zhat (T, B, G*H) and rstd_ih, rstd (T, B, groups) LN(W_ih x_t), LN(W_hh h_{t-1}) and their
    1/sigma; chat (T, B, H) and rstd_c (T, B, 1) LN(c_t) and its 1/sigma; c_cell (T, B, H) c_t before
    zoneout or None; ms (T, B, H) m_t before the projection or None.
    """
    T = z_ih.shape[0]
    K = kernels(z_ih)
    if K.compiled:
        (mask_h, p_h), (mask_c, p_c) = split_keep(keep_h), split_keep(keep_c)
        hs, cs, acts, *norms, c_cell, ms, c_n = K.lstm_ln_sequence_forward(
            z_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, mask_h, mask_c, p_h, p_c, valid,
            recurrent_mask, reverse, coupled, per_gate, save)
        saved = (hs, cs, acts, z_ih, *norms, optional(c_cell), optional(ms))
    else:
        hs, c_n, saved = _forward_loop(z_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c,
                                       valid, recurrent_mask, reverse=reverse, coupled=coupled, per_gate=per_gate,
                                       save=save)
    output = _common.outputs_of(hs, reverse)
    if valid is not None:
        output = output * valid
    return output, hs[0 if reverse else T], c_n, saved if save else None


def _forward_loop(z_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid,
                  recurrent_mask, *, reverse: bool, coupled: bool, per_gate: bool, save: bool):
    """The recurrence in PyTorch operations: (hs, c_n, saved)."""
    T, B, GH = z_ih.shape
    H, H_out = c0.shape[-1], h0.shape[-1]
    groups = GH // H if per_gate else 1
    slots = T if save else 1  # per-step buffers: every step when backward follows, else one
    new = z_ih.new_empty
    hs, cs = new(T + 1, B, H_out), new(T + 1 if save else 2, B, H)
    acts, rstd_ih = new(slots, B, GH), new(slots, B, groups)
    zhat, rstd = new(slots, B, GH), new(slots, B, groups)
    chat, rstd_c = new(slots, B, H), new(slots, B, 1)
    c_cell = new(slots, B, H) if keep_c is not None else None
    ms = new(slots, B, H) if weight_hr is not None else None
    shift = ln_ih[1] + ln_hh[1]  # s = s_ih (with the biases) + s_hh
    first = T if reverse else 0
    hs[first], cs[first if save else 0] = h0, c0
    for step, (t, prev, new_t) in enumerate(_common.step_indices(T, reverse)):
        s = t if save else 0
        c_prev, c_new = (cs[prev], cs[new_t]) if save else (cs[step % 2], cs[(step + 1) % 2])
        h_in = hs[prev] if recurrent_mask is None else hs[prev] * recurrent_mask
        zi_hat, rstd_ih[s] = _normalise(z_ih[t], groups)  # LN(W_ih x_t)
        z_hat, rstd[s] = _normalise(h_in @ weight_hh.t(), groups)  # LN(W_hh h_{t-1})
        z_ih[t], zhat[s] = zi_hat, z_hat  # W_ih x_t is read only here: its normalised value takes its place
        pre = zi_hat * ln_ih[0] + z_hat * ln_hh[0] + shift  # a_t = LN(z^ih) a_ih + LN(z) a_hh + s
        i, f, g, o, c = _gates(pre, c_prev, peep, coupled)
        acts[s] = torch.cat([f, g, o] if coupled else [i, f, g, o], dim=-1)
        c_out = c_cell[s] if c_cell is not None else c_new
        c_out.copy_(c)
        c_hat, rstd_c[s] = _normalise(c, 1)  # chat_t = LN(c_t)
        chat[s] = c_hat
        m_out = ms[s] if ms is not None else hs[new_t]
        torch.mul(o, torch.tanh(c_hat * ln_c[0] + ln_c[1]), out=m_out)  # m_t = o_t * tanh(LN(c_t) a_c + s_c)
        if ms is not None:
            torch.mm(m_out, weight_hr.t(), out=hs[new_t])  # h_t = W_hr m_t
        if keep_h is not None or valid is not None:
            v = None if valid is None else valid[t]
            hs[new_t] = _common.mix_forward(hs[new_t], hs[prev], _common.at_step(keep_h, t), v)
            c_new.copy_(_common.mix_forward(c_out, c_prev, _common.at_step(keep_c, t), v))
    c_n = cs[0 if reverse else T] if save else cs[T % 2]
    return hs, c_n, (hs, cs, acts, z_ih, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, ms)


def _backward_loop(d_output, d_h_n, d_c_n, saved, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c,
                   valid, mask, *, reverse: bool, coupled: bool, per_gate: bool):
    """BPTT in PyTorch operations.

    Returns ``(dz_ih, dz (T, B, G*H), d_ln_ih, d_ln_hh (2, G*H), d_ln_c (2, H), d_peep (3, H) or None, dh_0, dc_0,
    d_proj (T, B, P) or None)``.
    """
    _hs, cs, acts, zhat_ih, rstd_ih, zhat, rstd, chat, rstd_c, c_cell, _ms = saved
    T, B, GH = acts.shape
    H = cs.shape[-1]
    groups = GH // H if per_gate else 1
    delta, dz, dr = torch.empty_like(acts), torch.empty_like(acts), torch.empty_like(chat)
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
        gates = acts[t].chunk(GH // H, dim=-1)
        f, g, o = gates[-3:]
        i = 1 - f if coupled else gates[0]
        c_prev = cs[prev]
        tr = torch.tanh(chat[t] * ln_c[0] + ln_c[1])
        d_o = dh_cell * tr * o * (1 - o)
        dr[t] = dh_cell * o * (1 - tr * tr)
        dct = dc_cell + _normalise_backward(dr[t] * ln_c[0], chat[t], rstd_c[t], 1)
        if peep is not None:
            dct = dct + d_o * peep[2]
        d_f = (dct * (c_prev - g) if coupled else dct * c_prev) * f * (1 - f)
        d_g = dct * i * (1 - g * g)
        dc_prev = dct * f if peep is None else dct * f + d_f * peep[1]
        if coupled:
            delta[t] = torch.cat([d_f, d_g, d_o], dim=-1)
        else:
            d_i = dct * g * i * (1 - i)
            if peep is not None:
                dc_prev = dc_prev + d_i * peep[0]
            delta[t] = torch.cat([d_i, d_f, d_g, d_o], dim=-1)
        dz[t] = _normalise_backward(delta[t] * ln_hh[0], zhat[t], rstd[t], groups)
        dh_prev = dz[t] @ weight_hh  # W_hh^T dz_t
        if mask is not None:
            dh_prev = dh_prev * mask
        dh = dh_prev if dh_bypass is None else dh_prev + dh_bypass
        dc = dc_prev if dc_bypass is None else dc_prev + dc_bypass
    dz_ih = _normalise_backward(delta * ln_ih[0], zhat_ih, rstd_ih, groups)  # every step at once
    d_shift = delta.sum((0, 1))
    d_ln_ih = torch.stack([(delta * zhat_ih).sum((0, 1)), d_shift])  # da_ih, ds
    d_ln_hh = torch.stack([(delta * zhat).sum((0, 1)), d_shift])  # da_hh, ds
    d_ln_c = torch.stack([(dr * chat).sum((0, 1)), dr.sum((0, 1))])  # da_c, ds_c
    d_peep = None
    if peep is not None:  # dw_ci = sum_t delta^i c_{t-1}, dw_cf = sum_t delta^f c_{t-1}, dw_co = sum_t delta^o c_t
        gates = dict(zip(("f", "g", "o") if coupled else ("i", "f", "g", "o"), delta.chunk(GH // H, dim=-1)))
        c_before = _common.inputs_of(cs, reverse)
        c_after = c_cell if c_cell is not None else _common.outputs_of(cs, reverse)
        d_peep = torch.stack([(gates["i"] * c_before).sum((0, 1)) if "i" in gates else peep.new_zeros(H),
                              (gates["f"] * c_before).sum((0, 1)), (gates["o"] * c_after).sum((0, 1))])
    return dz_ih, dz, d_ln_ih, d_ln_hh, d_ln_c, d_peep, dh, dc, d_proj


class LSTMLayerNormFunction(torch.autograd.Function):
    """One direction of one layer-normalised LSTM layer; see the module docstring."""

    @staticmethod
    def forward(ctx, x, weight_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid,
                recurrent_mask, reverse, coupled, per_gate):
        z_ih = input_projection(x, weight_ih, None)  # (T, B, G*H): W_ih x_t for every t, normalised step by step
        output, h_n, c_n, saved = lstm_ln_forward(z_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep,
                                                  keep_h, keep_c, valid, recurrent_mask, reverse=reverse,
                                                  coupled=coupled, per_gate=per_gate, save=True)
        buffers = {"c_cell": saved[9], "ms": saved[10], "weight_hr": weight_hr, "peep": peep, "valid": valid,
                   "recurrent_mask": recurrent_mask, "keep_h": keep_h if isinstance(keep_h, torch.Tensor) else None,
                   "keep_c": keep_c if isinstance(keep_c, torch.Tensor) else None}
        ctx.optional_names = [name for name, value in buffers.items() if value is not None]
        ctx.save_for_backward(*saved[:9], x, weight_ih, weight_hh, ln_ih, ln_hh, ln_c,
                              *(buffers[n] for n in ctx.optional_names))
        ctx.keep_floats = {name: keep for name, keep in (("keep_h", keep_h), ("keep_c", keep_c))
                           if keep is not None and not isinstance(keep, torch.Tensor)}
        ctx.flags = (reverse, coupled, per_gate)
        return output, h_n, c_n

    @staticmethod
    def backward(ctx, d_output, d_h_n, d_c_n):
        _common.refuse_double_backward()
        *saved, x, weight_ih, weight_hh, ln_ih, ln_hh, ln_c = ctx.saved_tensors[:15]
        opt = dict(zip(ctx.optional_names, ctx.saved_tensors[15:])) | ctx.keep_floats
        c_cell, ms, weight_hr, peep = opt.get("c_cell"), opt.get("ms"), opt.get("weight_hr"), opt.get("peep")
        valid, mask, keep_h, keep_c = opt.get("valid"), opt.get("recurrent_mask"), opt.get("keep_h"), opt.get("keep_c")
        reverse, coupled, per_gate = ctx.flags
        hs, cs, acts = saved[:3]
        T, B, GH = acts.shape
        H = cs.shape[-1]
        d_output = d_output.contiguous() if valid is None else d_output * valid
        K = kernels(acts)
        if K.compiled:
            (mask_h, p_h), (mask_c, p_c) = split_keep(keep_h), split_keep(keep_c)
            dz_ih, dz, d_ln_ih, d_ln_hh, d_ln_c, d_peep, dh, dc, d_proj = K.lstm_ln_sequence_backward(
                d_output, d_h_n, d_c_n, *saved[1:], c_cell, weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, mask_h,
                mask_c, p_h, p_c, valid, mask, reverse, coupled, per_gate)
            d_peep, d_proj = optional(d_peep), optional(d_proj)
        else:
            dz_ih, dz, d_ln_ih, d_ln_hh, d_ln_c, d_peep, dh, dc, d_proj = _backward_loop(
                d_output, d_h_n, d_c_n, (*saved, c_cell, ms), weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h,
                keep_c, valid, mask, reverse=reverse, coupled=coupled, per_gate=per_gate)

        h_in = _common.inputs_of(hs, reverse)
        if mask is not None:
            h_in = h_in * mask
        d_weight_hh = dz.view(T * B, GH).t() @ h_in.reshape(T * B, -1)  # sum_t dz_t h_{t-1}^T
        d_weight_hr = None if weight_hr is None else d_proj.view(T * B, -1).t() @ ms.view(T * B, H)
        d_x, d_weight_ih, _ = input_gradients(ctx, dz_ih, x, weight_ih)
        return (d_x, d_weight_ih, dh, dc, d_weight_hh, d_ln_ih, d_ln_hh, d_ln_c, d_weight_hr, d_peep,
                None, None, None, None, None, None, None)


def run_lstm_layer_norm(x, weight_ih, h0, c0, weight_hh, ln_ih, ln_hh, ln_c, *, weight_hr=None, peep=None,
                        keep_h=None, keep_c=None, valid=None, recurrent_mask=None, reverse=False, coupled=False,
                        per_gate=False):
    """One direction of a layer-normalised LSTM.

    Args:
        x: (T, B, I) the layer's input. weight_ih: (G*H, I). ln_ih: (2, G*H) gain a_ih and shift
            s_ih + b_ih + b_hh of LN(W_ih x). ln_hh: (2, G*H) gain and shift of LN(W_hh h). ln_c: (2, H) gain
            and shift of LN(c). The rest as ``run_lstm``.

    Returns:
        ``(output (T, B, H_out), h_n, c_n)``.
    """
    args = (h0.contiguous(), c0.contiguous(), weight_hh, ln_ih, ln_hh, ln_c, weight_hr, peep, keep_h, keep_c, valid,
            recurrent_mask)
    if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in (x, weight_ih, *args)):
        return LSTMLayerNormFunction.apply(x, weight_ih, *args, reverse, coupled, per_gate)
    z_ih = input_projection(x, weight_ih, None)
    output, h_n, c_n, _ = lstm_ln_forward(z_ih, *args, reverse=reverse, coupled=coupled, per_gate=per_gate,
                                          save=False)
    return output, h_n, c_n
