r"""The LSTM over a whole sequence with a hand-written backward (backpropagation through time).

Forward, in the notation of ``LSTMCell`` (gates stacked i, f, g, o; coupled: f, g, o):

    a_t = xg_t + W_hh (h_{t-1} * m)           xg_t = W_ih x_t + b_ih + b_hh, for all t in one product
    i_t = sigma(a^i_t + w_ci * c_{t-1})       (coupled: i_t = 1 - f_t)
    f_t = sigma(a^f_t + w_cf * c_{t-1})
    g_t = tanh(a^g_t)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(a^o_t + w_co * c_t)
    m_t = o_t * tanh(c_t)
    h_t = m_t, or W_hr m_t with a projection

(w_c* are the peephole diagonals, zero without peepholes; m the recurrent dropout mask, ones
without it.) Backward, from dh_t = dL/dh_t (from the output at t and from step t + 1) and
dc_t = dL/dc_t (from step t + 1), gate by gate; delta^x_t is dL/d(pre-activation of x):

    dm_t        = dh_t, or W_hr^T dh_t;                 dW_hr += dh_t m_t^T
    delta^o_t   = dm_t * tanh(c_t) * o_t (1 - o_t)
    dc_t       += dm_t * o_t * (1 - tanh^2 c_t) + w_co * delta^o_t
    delta^g_t   = dc_t * i_t * (1 - g_t^2)
    delta^i_t   = dc_t * g_t * i_t (1 - i_t)
    delta^f_t   = dc_t * c_{t-1} * f_t (1 - f_t)        (coupled: dc_t * (c_{t-1} - g_t) * f_t (1 - f_t))
    dc_{t-1}    = dc_t * f_t + w_ci * delta^i_t + w_cf * delta^f_t
    dh_{t-1}   += (W_hh^T delta_t) * m                   one product per step
    dW_hh       = sum_t delta_t (h_{t-1} * m)^T          one product over all steps at the end
    dW_ih = sum_t delta_t x_t^T,  db = sum_t delta_t,  dx_t = W_ih^T delta_t   one product each
    dw_ci = sum_t delta^i_t * c_{t-1},  dw_cf = sum_t delta^f_t * c_{t-1},  dw_co = sum_t delta^o_t * c_t

Zoneout and lengths wrap each step as ``seqlab.nn.bptt._common`` describes.

Two implementations of the same loops, saving the same buffers: the compiled one
(``torch.ops.seqlab_bptt.lstm_sequence_forward/backward``, ``csrc/lstm.h``) runs every step of
the sequence in one C++ call (the per-step product written into the step's slot of the gate
buffer, with weights packed once per sequence; one fused pointwise loop per step); the loops
below, in PyTorch operations, are the fallback and the specification.
"""

from __future__ import annotations

import torch

from seqlab.nn.bptt import _common
from seqlab.nn.bptt._kernels import kernels, lstm_backward_torch, lstm_forward_torch


def input_projection(x: torch.Tensor, weight_ih: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """W_ih x_t + b for every step in one product: (T, B, I) -> (T, B, G*H), a new contiguous tensor."""
    T, B, I = x.shape
    flat = x.reshape(T * B, I)
    out = flat @ weight_ih.t() if bias is None else torch.addmm(bias, flat, weight_ih.t())
    return out.view(T, B, -1)


def input_gradients(ctx, delta: torch.Tensor, x: torch.Tensor, weight_ih: torch.Tensor, first: int = 0):
    """dx = delta W_ih, dW_ih = delta^T x, db = sum delta, each only when asked (``ctx.needs_input_grad``
    from position ``first``: x, W_ih, then the bias if any): one product each over all steps."""
    T, B, I = x.shape
    flat = delta.reshape(T * B, -1)
    needs = ctx.needs_input_grad[first:]
    d_x = (flat @ weight_ih).view(T, B, I) if needs[0] else None
    d_weight_ih = flat.t() @ x.reshape(T * B, I) if needs[1] else None
    d_bias = flat.sum(0) if len(needs) > 2 and needs[2] else None
    return d_x, d_weight_ih, d_bias


def split_keep(keep):
    """A zoneout keep argument as the kernels take it: (mask tensor or None, probability or None)."""
    return (keep, None) if isinstance(keep, torch.Tensor) or keep is None else (None, float(keep))


def optional(t: torch.Tensor) -> torch.Tensor | None:
    """A kernel's buffer, or None for the empty tensor it returns for one the configuration lacks."""
    return None if t.numel() == 0 else t


def lstm_forward(gates, h0, c0, weight_hh, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask, *,
                 reverse: bool, coupled: bool, save: bool):
    """Run the recurrence. Returns (output (T, B, H_out), h_n, c_n, saved buffers or None).

    ``gates`` (T, B, G*H, contiguous) holds xg on entry and the gate activations on return. The
    saved buffers: hs (T + 1, B, H_out) and cs (T + 1, B, H) the states, acts (T, B, G*H) the gate
    activations (``gates``), c_cell (T, B, H) the cell's c_t before zoneout (or None), ms (T, B, H)
    the m_t before the projection (or None).
    """
    T = gates.shape[0]
    K = kernels(gates)
    if K.compiled:
        (mask_h, p_h), (mask_c, p_c) = split_keep(keep_h), split_keep(keep_c)
        hs, cs, c_cell, ms, c_n = K.lstm_sequence_forward(gates, h0, c0, weight_hh, weight_hr, peep, mask_h, mask_c,
                                                          p_h, p_c, valid, recurrent_mask, reverse, coupled, save)
        saved = (hs, cs, gates, optional(c_cell), optional(ms))
    else:
        hs, c_n, saved = _forward_loop(gates, h0, c0, weight_hh, weight_hr, peep, keep_h, keep_c, valid,
                                       recurrent_mask, reverse=reverse, coupled=coupled, save=save)
    output = _common.outputs_of(hs, reverse)
    if valid is not None:
        output = output * valid  # zero outputs past each sequence's length
    return output, hs[0 if reverse else T], c_n, saved if save else None


def _forward_loop(gates, h0, c0, weight_hh, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask, *,
                  reverse: bool, coupled: bool, save: bool):
    """The recurrence in PyTorch operations: (hs, c_n, saved); ``gates`` as ``lstm_forward``."""
    T, B, _ = gates.shape
    H, H_out = c0.shape[-1], h0.shape[-1]
    c_zoneout = keep_c is not None
    w_hh_t, w_hr_t = weight_hh.t(), None if weight_hr is None else weight_hr.t()
    hs = gates.new_empty(T + 1, B, H_out)
    # the cell state is needed for every step only when backward will run
    cs = gates.new_empty(T + 1 if save else 2, B, H)
    c_cell = gates.new_empty(T if save else 1, B, H) if c_zoneout else None
    ms = gates.new_empty(T if save else 1, B, H) if weight_hr is not None else None
    first = T if reverse else 0
    hs[first] = h0
    cs[first if save else 0] = c0
    for step, (t, prev, new) in enumerate(_common.step_indices(T, reverse)):
        s = t if save else 0  # slot of this step in the per-step buffers
        c_prev, c_new = (cs[prev], cs[new]) if save else (cs[step % 2], cs[(step + 1) % 2])
        h_in = hs[prev] if recurrent_mask is None else hs[prev] * recurrent_mask
        pre = torch.addmm(gates[t], h_in, w_hh_t)  # a_t = xg_t + W_hh h_{t-1}, (B, G*H)
        c_out = c_cell[s] if c_zoneout else c_new
        m_out = ms[s] if ms is not None else hs[new]
        lstm_forward_torch(pre, c_prev, peep, coupled, gates[t], c_out, m_out)  # activations over xg_t
        if ms is not None:
            torch.mm(m_out, w_hr_t, out=hs[new])  # h_t = W_hr m_t, (B, P)
        if keep_h is not None or valid is not None:
            v = None if valid is None else valid[t]
            hs[new] = _common.mix_forward(hs[new], hs[prev], _common.at_step(keep_h, t), v)
            c_new.copy_(_common.mix_forward(c_out, c_prev, _common.at_step(keep_c, t), v))
    c_n = cs[0 if reverse else T] if save else cs[T % 2]
    return hs, c_n, (hs, cs, gates, c_cell, ms)


def _backward_loop(d_output, d_h_n, d_c_n, cs, acts, c_cell, weight_hh, weight_hr, peep, keep_h, keep_c, valid,
                   mask, *, reverse: bool, coupled: bool):
    """BPTT in PyTorch operations: (delta (T, B, G*H), dh_0, dc_0, d_proj (T, B, P) or None)."""
    T, B = acts.shape[:2]
    delta = torch.empty_like(acts)  # (T, B, G*H): dL/d(pre-activations) for every step
    d_proj = acts.new_empty(T, B, weight_hr.shape[0]) if weight_hr is not None else None
    dh, dc = d_h_n.contiguous(), d_c_n.contiguous()
    dc_buffers = (torch.empty_like(dc), torch.empty_like(dc))  # dc_{t-1} written by the step, alternating
    for step, (t, prev, new) in enumerate(reversed(_common.step_indices(T, reverse))):
        dc_prev = dc_buffers[step % 2]
        dh = dh + d_output[t]  # dL/dh_t: from step t + 1 and from the output at t
        v = None if valid is None else valid[t]
        dh_cell, dh_bypass = _common.mix_backward(dh, _common.at_step(keep_h, t), v)
        dc_cell, dc_bypass = _common.mix_backward(dc, _common.at_step(keep_c, t), v)
        if weight_hr is not None:
            d_proj[t] = dh_cell
            dm = dh_cell @ weight_hr  # dm_t = W_hr^T dh_t, (B, H)
        else:
            dm = dh_cell
        c_t = c_cell[t] if c_cell is not None else cs[new]
        lstm_backward_torch(dm, dc_cell, acts[t], cs[prev], c_t, peep, coupled, delta[t], dc_prev)
        dh_prev = delta[t] @ weight_hh  # W_hh^T delta_t, (B, H_out)
        if mask is not None:
            dh_prev = dh_prev * mask
        dh = dh_prev if dh_bypass is None else dh_prev + dh_bypass
        dc = dc_prev if dc_bypass is None else dc_prev + dc_bypass
    return delta, dh, dc, d_proj


class LSTMFunction(torch.autograd.Function):
    """One direction of one LSTM layer; see the module docstring for both passes."""

    @staticmethod
    def forward(ctx, x, weight_ih, bias, h0, c0, weight_hh, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask,
                reverse, coupled):
        gates = input_projection(x, weight_ih, bias)  # (T, B, G*H): xg_t for every t, then the activations
        output, h_n, c_n, saved = lstm_forward(gates, h0, c0, weight_hh, weight_hr, peep, keep_h, keep_c, valid,
                                               recurrent_mask, reverse=reverse, coupled=coupled, save=True)
        hs, cs, acts, c_cell, ms = saved
        tensors = [x, weight_ih, hs, cs, acts, weight_hh]
        optional_inputs = {"c_cell": c_cell, "ms": ms, "weight_hr": weight_hr, "peep": peep, "valid": valid,
                           "recurrent_mask": recurrent_mask}
        optional_inputs |= {name: keep for name, keep in (("keep_h", keep_h), ("keep_c", keep_c))
                            if isinstance(keep, torch.Tensor)}
        ctx.optional_names = [name for name, value in optional_inputs.items() if value is not None]
        ctx.save_for_backward(*tensors, *(optional_inputs[name] for name in ctx.optional_names))
        ctx.keep_floats = {name: keep for name, keep in (("keep_h", keep_h), ("keep_c", keep_c))
                           if keep is not None and not isinstance(keep, torch.Tensor)}
        ctx.reverse, ctx.coupled = reverse, coupled
        return output, h_n, c_n

    @staticmethod
    def backward(ctx, d_output, d_h_n, d_c_n):
        _common.refuse_double_backward()
        x, weight_ih, hs, cs, acts, weight_hh, *rest = ctx.saved_tensors
        opt = dict(zip(ctx.optional_names, rest)) | ctx.keep_floats
        c_cell, ms, weight_hr, peep = opt.get("c_cell"), opt.get("ms"), opt.get("weight_hr"), opt.get("peep")
        valid, mask = opt.get("valid"), opt.get("recurrent_mask")
        keep_h, keep_c = opt.get("keep_h"), opt.get("keep_c")
        reverse, coupled = ctx.reverse, ctx.coupled
        T, B, GH = acts.shape
        H = cs.shape[-1]

        d_output = d_output.contiguous()
        if valid is not None:
            d_output = d_output * valid  # outputs past a length were zeroed, so pass no gradient
        K = kernels(acts)
        if K.compiled:
            (mask_h, p_h), (mask_c, p_c) = split_keep(keep_h), split_keep(keep_c)
            delta, dh, dc, d_proj = K.lstm_sequence_backward(d_output, d_h_n, d_c_n, cs, acts, c_cell, weight_hh,
                                                             weight_hr, peep, mask_h, mask_c, p_h, p_c, valid, mask,
                                                             reverse, coupled)
            d_proj = optional(d_proj)
        else:
            delta, dh, dc, d_proj = _backward_loop(d_output, d_h_n, d_c_n, cs, acts, c_cell, weight_hh, weight_hr,
                                                   peep, keep_h, keep_c, valid, mask, reverse=reverse,
                                                   coupled=coupled)

        flat = delta.view(T * B, GH)
        h_in = _common.inputs_of(hs, reverse)
        if mask is not None:
            h_in = h_in * mask
        d_weight_hh = flat.t() @ h_in.reshape(T * B, -1)  # sum_t delta_t h_{t-1}^T, one product
        d_weight_hr = None
        if weight_hr is not None:
            d_weight_hr = d_proj.view(T * B, -1).t() @ ms.view(T * B, H)  # sum_t dh_t m_t^T
        d_peep = None
        if peep is not None:
            c_before = _common.inputs_of(cs, reverse)
            c_after = c_cell if c_cell is not None else _common.outputs_of(cs, reverse)
            gates = dict(zip(("f", "g", "o") if coupled else ("i", "f", "g", "o"), delta.chunk(GH // H, dim=-1)))
            zero = peep.new_zeros(H)
            d_peep = torch.stack([(gates["i"] * c_before).sum((0, 1)) if "i" in gates else zero,
                                  (gates["f"] * c_before).sum((0, 1)),
                                  (gates["o"] * c_after).sum((0, 1))])
        d_x, d_weight_ih, d_bias = input_gradients(ctx, delta, x, weight_ih)
        return d_x, d_weight_ih, d_bias, dh, dc, d_weight_hh, d_weight_hr, d_peep, None, None, None, None, None, None


def run_lstm(x, weight_ih, bias, h0, c0, weight_hh, *, weight_hr=None, peep=None, keep_h=None, keep_c=None,
             valid=None, recurrent_mask=None, reverse=False, coupled=False):
    """One direction: autograd-tracked when anything needs a gradient, else a lean forward.

    Args:
        x: (T, B, I) the layer's input. weight_ih: (G*H, I). bias: (G*H,) = b_ih + b_hh, or None.
        h0 (B, H_out), c0 (B, H).
        weight_hh: (G*H, H_out). weight_hr: (P, H) or None. peep: (3, H) [w_ci, w_cf, w_co] or None.
        keep_h, keep_c: zoneout keep masks (T, B, F), or the probability p at evaluation, or None
            (both or neither).
        valid: (T, B, 1) bool, t < length, or None. recurrent_mask: (B, H_out) or None.

    Returns:
        ``(output (T, B, H_out), h_n (B, H_out), c_n (B, H))``.
    """
    args = (h0.contiguous(), c0.contiguous(), weight_hh, weight_hr, peep, keep_h, keep_c, valid, recurrent_mask)
    tracked = [a for a in (x, weight_ih, bias, *args) if isinstance(a, torch.Tensor)]
    if torch.is_grad_enabled() and any(a.requires_grad for a in tracked):
        return LSTMFunction.apply(x, weight_ih, bias, *args, reverse, coupled)
    gates = input_projection(x, weight_ih, bias)
    output, h_n, c_n, _ = lstm_forward(gates, *args, reverse=reverse, coupled=coupled, save=False)
    return output, h_n, c_n
