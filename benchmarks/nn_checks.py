"""What argument checking costs on the hot path: forward CPU time of small seqlab.nn layers, one thread.

Small shapes on purpose: a check costs a fixed few microseconds per call, which only shows
where the arithmetic is small. Each case is timed as CPU time (``time.process_time``) with one
thread, in training mode with autograd recording (the training hot path), as the median over
repeats of the mean over ``--calls`` forwards; ``torch.nn``'s module of the same shape is timed
in the same run and the ratio printed beside it.

    python benchmarks/nn_checks.py                 # about a minute
    python benchmarks/nn_checks.py --repeats 5 --calls 100   # a quick look
    python benchmarks/nn_checks.py --checks-only   # the checks alone, called directly (this checkout only)

Run it on two checkouts (``PYTHONPATH=<checkout>/src``) to compare before and after a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

import seqlab.nn as snn
from seqlab.nn import masks


def cpu_microseconds(fn, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean CPU time of one call, in microseconds."""
    for _ in range(max(3, calls // 10)):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            fn()
        samples.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(samples)


def cases():
    """(name, seqlab call, torch.nn call) for each measured forward."""
    torch.manual_seed(0)
    B, T, I, H = 8, 16, 32, 64
    x = torch.randn(B, T, I)
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T
    ours_lstm = snn.LSTM(I, H, batch_first=True, engine="torch")
    their_lstm = nn.LSTM(I, H, batch_first=True)
    packed = lambda: nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)  # noqa: E731
    yield "LSTM(32, 64) B=8 T=16", lambda: ours_lstm(x), lambda: their_lstm(x)
    yield "LSTM(32, 64) B=8 T=16 lengths", lambda: ours_lstm(x, lengths=lengths), lambda: their_lstm(packed())
    bptt_lstm = snn.LSTM(I, H, batch_first=True, engine="bptt")
    yield "LSTM(32, 64) B=8 T=16 engine=bptt", lambda: bptt_lstm(x), lambda: their_lstm(x)

    E, nh = 64, 4
    q = torch.randn(B, T, E)
    ours_mha = snn.MultiheadAttention(E, nh)
    their_mha = nn.MultiheadAttention(E, nh, batch_first=True)
    causal = masks.causal_mask(T)
    is_real = masks.lengths_to_mask(lengths, T)
    yield ("MHA(64, 4) B=8 T=16 causal, fused", lambda: ours_mha(q, q, q, can_attend=causal, need_weights=False),
           lambda: their_mha(q, q, q, attn_mask=~causal, need_weights=False))
    yield ("MHA(64, 4) B=8 T=16 key padding, fused",
           lambda: ours_mha(q, q, q, can_attend=masks.key_padding(is_real), need_weights=False),
           lambda: their_mha(q, q, q, key_padding_mask=~is_real, need_weights=False))
    yield ("MHA(64, 4) B=8 T=16 causal, weights", lambda: ours_mha(q, q, q, can_attend=causal),
           lambda: their_mha(q, q, q, attn_mask=~causal))


def checks_alone():
    """(name, call) of each check a forward makes, called on its own: what validation adds per forward."""
    from seqlab.nn.recurrent import _check_lengths

    torch.manual_seed(0)
    attention = snn.MultiheadAttention(64, 4)
    q = torch.randn(8, 16, 64)
    causal = masks.causal_mask(16)
    padding = masks.key_padding(masks.lengths_to_mask(torch.full((8,), 16), 16))
    lstm = snn.LSTM(32, 64, batch_first=True)
    x = torch.randn(8, 16, 32)
    lengths = torch.randint(1, 17, (8,))
    yield "MultiheadAttention._check_inputs", lambda: attention._check_inputs(q, q, q, None)
    yield "masks.multihead_can_attend (T, S)", lambda: masks.multihead_can_attend(
        causal, None, batch=8, heads=4, queries=16, keys=16, device=q.device)
    yield "masks.multihead_can_attend (B, 1, 1, S)", lambda: masks.multihead_can_attend(
        padding, None, batch=8, heads=4, queries=16, keys=16, device=q.device)
    yield "LSTM._prepare_input, no lengths", lambda: lstm._prepare_input(x, None)
    yield "recurrent._check_lengths (B=8)", lambda: _check_lengths(lengths, 16, 8, x.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="forwards per repeat")
    parser.add_argument("--repeats", type=int, default=15, help="repeats; the median is reported")
    parser.add_argument("--checks-only", action="store_true", help="time the checks alone, called directly")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.2f}")
    if args.checks_only:
        for name, check in checks_alone():
            print(f"{name:42s} {cpu_microseconds(check, 20 * args.calls, args.repeats):8.2f} us")
        return
    print(f"{'case':42s} {'seqlab us':>10s} {'torch.nn us':>12s} {'ratio':>6s}")
    for name, ours, theirs in cases():
        ours_us = cpu_microseconds(ours, args.calls, args.repeats)
        their_us = cpu_microseconds(theirs, args.calls, args.repeats)
        print(f"{name:42s} {ours_us:10.1f} {their_us:12.1f} {ours_us / their_us:6.2f}")


if __name__ == "__main__":
    main()
