"""Largest differences between seqlab's recurrent layers and torch.nn's, over random configurations.

For each kind (RNN, LSTM, GRU) and dtype, draws configurations (layers 1-3, bidirectional,
batch_first, bias, proj_size, packed with random lengths), loads torch's weights into seqlab's layer
and reports the largest absolute and relative difference of outputs, final states and every gradient.

    python benchmarks/parity.py [--configs 200] [--engines reference,bptt]
"""

from __future__ import annotations

import argparse
import random

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlab.nn as snn

PAIRS = {"RNN": (snn.RNN, nn.RNN), "LSTM": (snn.LSTM, nn.LSTM), "GRU": (snn.GRU, nn.GRU)}


def one_configuration(kind: str, dtype: torch.dtype, engine: str, rng: random.Random) -> tuple[float, float]:
    I, H, L, T, B = rng.randint(1, 8), rng.randint(2, 16), rng.randint(1, 3), rng.randint(1, 12), rng.randint(1, 6)
    kwargs = dict(num_layers=L, bias=rng.random() < 0.8, batch_first=rng.random() < 0.5,
                  bidirectional=rng.random() < 0.5)
    if kind == "LSTM" and rng.random() < 0.3:
        kwargs["proj_size"] = rng.randint(1, H - 1)
    ours_cls, theirs_cls = PAIRS[kind]
    theirs = theirs_cls(I, H, **kwargs).to(dtype)
    ours = ours_cls(I, H, **kwargs, engine=engine).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    lengths = torch.tensor([rng.randint(1, T) for _ in range(B)])
    x = torch.randn(B, T, I, dtype=dtype) if kwargs["batch_first"] else torch.randn(T, B, I, dtype=dtype)
    packed = rng.random() < 0.5
    results = []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_(True)
        inp = pack_padded_sequence(xi, lengths, batch_first=kwargs["batch_first"], enforce_sorted=False) \
            if packed else xi
        out, final = module(inp)
        if packed:
            out, _ = pad_packed_sequence(out, batch_first=kwargs["batch_first"])
        finals = final if isinstance(final, tuple) else (final,)
        (out.sin().sum() + sum(f.cos().sum() for f in finals)).backward()
        results.append([out.detach(), *[f.detach() for f in finals], xi.grad,
                        *[p.grad for p in module.parameters()]])
    abs_err = max((a - b).abs().max().item() for a, b in zip(*results))
    # relative to the largest entry of the tensor compared (elementwise ratios blow up near zero)
    rel_err = max(((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item() for a, b in zip(*results))
    return abs_err, rel_err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="reference,bptt", help="seqlab engines to compare with torch.nn")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    print(f"{'layer':6} {'engine':10} {'dtype':8} {'configs':>7} {'max abs error':>14} {'max rel error*':>14}")
    for kind in PAIRS:
        for engine in args.engines.split(","):
            for dtype in (torch.float64, torch.float32):
                rng = random.Random(args.seed)
                errors = [one_configuration(kind, dtype, engine, rng) for _ in range(args.configs)]
                print(f"{kind:6} {engine:10} {str(dtype).split('.')[-1]:8} {args.configs:7d} "
                      f"{max(e[0] for e in errors):14.2e} {max(e[1] for e in errors):14.2e}")
    print("* max |ours - torch| / max |torch| over each output and gradient tensor")


if __name__ == "__main__":
    main()
