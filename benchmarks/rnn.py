"""Speed of seqlab's recurrent engines against torch.nn's RNN/LSTM/GRU, as ratios from one run.

For each (B, T, I, H), one layer, float32: ``torch.nn.LSTM/GRU/RNN`` against seqlab's ``bptt``
(and ``reference``) engines with the same weights, for forward+backward (gradients of input and
weights) and inference (``no_grad`` forward). The engines take turns within every repeat, so a
load that comes and goes slows them alike; printed are the medians, the ratio to PyTorch in
wall-clock and in process CPU time (steadier on a shared machine), the memory each keeps for
backward, and the fraction of the ``torch.mm`` roofline. Then the time at T=200 over the time at
T=100 (linear in T is 2), seqlab's LSTM variants against its standard LSTM, and the LSTM rows set
against their targets.

    python benchmarks/rnn.py --threads 1           # every shape and kind, one thread each side
    python benchmarks/rnn.py --threads 1 --quick   # three shapes, fewer repeats
    python benchmarks/rnn.py --kinds lstm --shapes 64x50x256x512 --no-reference
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import seqlab.nn as snn
from seqlab.files import write_text_atomic
from seqlab.nn.bptt import kernels

SHAPES = [(32, 100, 128, 256), (32, 200, 128, 256), (64, 50, 256, 512), (64, 100, 512, 512), (1, 100, 128, 256)]
QUICK_SHAPES = [(32, 100, 128, 256), (32, 200, 128, 256), (1, 100, 128, 256)]
KINDS = {"lstm": (nn.LSTM, snn.LSTM, 4), "gru": (nn.GRU, snn.GRU, 3), "rnn": (nn.RNN, snn.RNN, 1)}
VARIANTS = {"peephole": dict(peephole=True), "coupled": dict(coupled=True),
            "layer_norm whole": dict(layer_norm="whole"), "layer_norm per_gate": dict(layer_norm="per_gate"),
            "variational_dropout": dict(input_dropout=0.25, recurrent_dropout=0.25)}
VARIANT_SHAPE = (32, 100, 128, 256)
# the bptt LSTM's targets, all on CPU-time medians: ratios to torch.nn.LSTM, T=200 / T=100 (linear in T
# is 2), and the layer-norm LSTM over seqlab's standard LSTM
TARGETS = {"fwd+bwd, B > 1": 1.1, "fwd+bwd, B = 1": 2.0, "inference": 1.2, "inference, T=200 / T=100": 2.2,
           "layer norm over standard": 1.3}


def interleaved(fns: dict, repeats: int, warmup: int) -> dict[str, tuple[float, float]]:
    """{name: (median wall seconds, median process CPU seconds)}, the functions taking turns each repeat."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in fns}


def gemm_rate(repeats: int) -> float:
    """Best FLOP/s of torch.mm over a few shapes like the layers' products: the roofline."""
    best = 0.0
    for m, k, n in ((1024, 1024, 1024), (3200, 128, 1024), (64, 512, 2048), (2048, 512, 2048)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        wall, _ = interleaved({"mm": lambda a=a, b=b: torch.mm(a, b)}, repeats, 2)["mm"]
        best = max(best, 2 * m * k * n / wall)
    return best


def layer_flops(B, T, I, H, gates, train: bool) -> float:
    """Matrix-product FLOPs of one layer: forward 2 T B G H (I + H); backward twice that."""
    forward = 2 * T * B * gates * H * (I + H)
    return 3 * forward if train else forward


def kept_for_backward(module, x) -> int:
    """Bytes of every tensor autograd saves for backward, each storage counted once, plus the output."""
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        output, _ = module(x)
    storages[output.untyped_storage().data_ptr()] = output.untyped_storage().nbytes()
    return sum(storages.values())


def step(module, x, train: bool):
    if train:
        output, _ = module(x)
        output.sum().backward()
    else:
        with torch.no_grad():
            module(x)


def measure_shape(kind, shape, repeats, warmup, peak, with_reference: bool):
    B, T, I, H = shape
    theirs_cls, ours_cls, gates = KINDS[kind]
    theirs = theirs_cls(I, H)
    engines = {"torch.nn": theirs}
    for engine in ("bptt", "reference") if with_reference else ("bptt",):
        ours = ours_cls(I, H, engine=engine)
        ours.load_state_dict(theirs.state_dict())
        engines[engine] = ours
    rows = []
    for train in (True, False):
        x = torch.randn(T, B, I, requires_grad=train)
        # the slow reference loop runs fewer repeats, after the others
        fast = {name: module for name, module in engines.items() if name != "reference"}
        times = interleaved({name: lambda m=m, x=x, train=train: step(m, x, train) for name, m in fast.items()},
                            repeats, warmup)
        if "reference" in engines:
            times |= interleaved({"reference": lambda m=engines["reference"], x=x, train=train: step(m, x, train)},
                                 max(1, repeats // 3), 1)
        base_wall, base_cpu = times["torch.nn"]
        for name, (wall, cpu) in times.items():
            memory = kept_for_backward(engines[name], x) if train else None
            rows.append(dict(kind=kind, B=B, T=T, I=I, H=H, mode="fwd+bwd" if train else "inference", engine=name,
                             ms=1e3 * wall, cpu_ms=1e3 * cpu, ratio=wall / base_wall, cpu_ratio=cpu / base_cpu,
                             roofline=layer_flops(B, T, I, H, gates, train) / wall / peak,
                             memory_mb=None if memory is None else memory / 2**20))
    return rows


def measure_variants(shape, repeats, warmup):
    """Forward+backward of each LSTM variant (on the engine ``auto`` picks) against the standard LSTM on ``bptt``."""
    B, T, I, H = shape
    x = torch.randn(T, B, I, requires_grad=True)
    modules = {"standard": snn.LSTM(I, H, engine="bptt")}
    modules |= {name: snn.LSTM(I, H, **options) for name, options in VARIANTS.items()}
    times = interleaved({name: lambda m=m: step(m, x, True) for name, m in modules.items()}, repeats, warmup)
    base_wall, base_cpu = times["standard"]
    return [dict(variant=name, engine=modules[name].supported_engines()[0] if name != "standard" else "bptt",
                 ms=1e3 * wall, ratio=wall / base_wall, cpu_ratio=cpu / base_cpu)
            for name, (wall, cpu) in times.items()]


def against_targets(table, linear, variants) -> list[dict]:
    """The LSTM rows of the targets table: the worst CPU-time ratio of each, with its target."""
    lstm = [r for r in table if r["kind"] == "lstm" and r["engine"] == "bptt"]
    rows = []

    def add(what, ratios):
        if ratios:
            rows.append(dict(what=what, worst=max(ratios), best=min(ratios), target=TARGETS[what],
                             met=max(ratios) <= TARGETS[what]))

    add("fwd+bwd, B > 1", [r["cpu_ratio"] for r in lstm if r["mode"] == "fwd+bwd" and r["B"] > 1])
    add("fwd+bwd, B = 1", [r["cpu_ratio"] for r in lstm if r["mode"] == "fwd+bwd" and r["B"] == 1])
    add("inference", [r["cpu_ratio"] for r in lstm if r["mode"] == "inference"])
    if "lstm bptt inference" in linear:
        add("inference, T=200 / T=100", [linear["lstm bptt inference"]])
    add("layer norm over standard", [r["cpu_ratio"] for r in variants if r["variant"].startswith("layer_norm")])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--json", type=Path, default=Path("runs/bench/rnn.json"),
                        help="also write the table here as JSON (default runs/bench/rnn.json)")
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="comma-separated subset of lstm,gru,rnn")
    parser.add_argument("--shapes", default=None, help="comma-separated BxTxIxH, e.g. 64x50x256x512")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per engine (default 9, quick 4)")
    parser.add_argument("--no-reference", action="store_true", help="skip the (slow) reference engine")
    parser.add_argument("--no-variants", action="store_true", help="skip the LSTM variants")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: PyTorch's default); 1 is steadier on a shared machine")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats, warmup = (4, 1) if args.quick else (9, 2)
    repeats = args.repeats or repeats
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shapes:
        shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    compiled = kernels().compiled  # builds the kernels before any timing, if they are not built yet
    peak = gemm_rate(repeats)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, float32, bptt kernels: {'compiled' if compiled else 'PyTorch'}, "
          f"load average {load:.1f} at the start")
    print(f"# torch.mm roofline: {peak / 1e9:.1f} GFLOP/s (best of several shapes, this run)")
    print(f"{'kind':5} {'B':>3} {'T':>4} {'I':>4} {'H':>4} {'mode':10} {'engine':10} {'ms':>9} {'cpu ms':>9} "
          f"{'x torch':>8} {'cpu x':>6} {'roofline':>8} {'kept MB':>8}")
    table = []
    for kind in args.kinds.split(","):
        for shape in shapes:
            with_reference = not args.no_reference and (not args.quick or shape[0] > 1)
            for row in measure_shape(kind, shape, repeats, warmup, peak, with_reference):
                table.append(row)
                memory = "" if row["memory_mb"] is None else f"{row['memory_mb']:8.1f}"
                print(f"{row['kind']:5} {row['B']:>3} {row['T']:>4} {row['I']:>4} {row['H']:>4} {row['mode']:10} "
                      f"{row['engine']:10} {row['ms']:9.2f} {row['cpu_ms']:9.2f} {row['ratio']:8.2f} "
                      f"{row['cpu_ratio']:6.2f} {row['roofline']:8.1%} {memory:>8}", flush=True)
    linear = {}
    for kind in args.kinds.split(","):
        for engine in ("torch.nn", "bptt"):
            for mode in ("fwd+bwd", "inference"):
                t = {r["T"]: r["cpu_ms"] for r in table if r["kind"] == kind and r["engine"] == engine
                     and r["mode"] == mode and r["B"] == 32 and r["H"] == 256}
                if 100 in t and 200 in t:
                    linear[f"{kind} {engine} {mode}"] = t[200] / t[100]
    if linear:
        print("\n# CPU time at T=200 over CPU time at T=100 (B=32, I=128, H=256); linear in T is 2")
    for name, ratio in linear.items():
        print(f"{name:30} {ratio:5.2f}")
    variants = [] if args.no_variants else measure_variants(VARIANT_SHAPE, repeats, warmup)
    if variants:
        print(f"\n# LSTM variants, forward+backward at {VARIANT_SHAPE}, against seqlab's standard LSTM (bptt)")
    for row in variants:
        print(f"{row['variant']:20} {row['engine']:10} {row['ms']:9.2f} ms {row['ratio']:6.2f}x "
              f"(CPU time {row['cpu_ratio']:.2f}x)")
    targets = against_targets(table, linear, variants)
    if targets:
        print("\n# the bptt LSTM against its targets (CPU-time medians; the worst of the shapes above)")
    for row in targets:
        print(f"{row['what']:40} {row['worst']:5.2f}x (best {row['best']:.2f}x)  target <= {row['target']}x  "
              f"{'met' if row['met'] else 'MISSED'}")
    if hasattr(os, "getloadavg"):
        print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = dict(machine=platform.machine(), torch=torch.__version__, threads=torch.get_num_threads(),
                       compiled_kernels=compiled, gemm_flops=peak, load_average=load, rows=table, linearity=linear,
                       variants=variants, targets=targets)
        write_text_atomic(args.json, json.dumps(summary, indent=1))
        print(f"\n# written {args.json}")


if __name__ == "__main__":
    main()
