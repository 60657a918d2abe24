"""Speed of seqlab's recurrent engines against torch.nn's RNN/LSTM/GRU, as ratios from one run.

For each (B, T, I, H) of the issue, one layer, float32, the default thread count:
``torch.nn.LSTM/GRU/RNN`` against seqlab's ``bptt`` and ``reference`` engines (same weights),
for inference (``no_grad`` forward) and for forward+backward (gradients of input and
weights). Medians of repeated runs after warm-up; the ratio to PyTorch; the memory each keeps
for backward (every tensor autograd saves, counted once per storage); the fraction of the
machine's matrix-multiply roofline (the layer's FLOPs over its time, over the best ``torch.mm``
rate measured in the same run). Then the LSTM variants against seqlab's standard LSTM on the
same engine, and the T=200 / T=100 time ratio (linear in T means about 2).

    python benchmarks/rnn.py            # full table, several minutes on 2 cores
    python benchmarks/rnn.py --quick    # fewer shapes and repeats, for a smoke run
    python benchmarks/rnn.py --json out.json   # the table as JSON (default runs/bench/rnn.json)
"""

from __future__ import annotations

import argparse
import json
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
VARIANTS = {"peephole": dict(peephole=True), "coupled": dict(coupled=True), "layer_norm": dict(layer_norm="whole"),
            "variational_dropout": dict(input_dropout=0.25, recurrent_dropout=0.25)}


def median_seconds(fn, repeats: int, warmup: int, cpu: list | None = None) -> float:
    """Median wall-clock seconds; the median process CPU seconds (all threads) go into ``cpu``."""
    for _ in range(warmup):
        fn()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times)


def gemm_rate(repeats: int) -> float:
    """Best FLOP/s of torch.mm over a few shapes like the layers' products: the roofline."""
    best = 0.0
    for m, k, n in ((1024, 1024, 1024), (3200, 128, 1024), (64, 512, 2048), (2048, 512, 2048)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        seconds = median_seconds(lambda a=a, b=b: torch.mm(a, b), repeats, 2)
        best = max(best, 2 * m * k * n / seconds)
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
        base = base_cpu = None
        for name, module in engines.items():
            slow, cpu = name == "reference", []
            seconds = median_seconds(lambda m=module, x=x, train=train: step(m, x, train),
                                     max(1, repeats // 3) if slow else repeats, 1 if slow else warmup, cpu)
            base, base_cpu = base or seconds, base_cpu or cpu[0]
            memory = kept_for_backward(module, x) if train else None
            rows.append(dict(kind=kind, B=B, T=T, I=I, H=H, mode="fwd+bwd" if train else "inference", engine=name,
                             ms=1e3 * seconds, ratio=seconds / base, cpu_ratio=cpu[0] / base_cpu,
                             roofline=layer_flops(B, T, I, H, gates, train) / seconds / peak,
                             memory_mb=None if memory is None else memory / 2**20))
    return rows


def measure_variants(shape, repeats, warmup):
    B, T, I, H = shape
    x = torch.randn(T, B, I, requires_grad=True)
    standard = snn.LSTM(I, H, engine="bptt")
    base_cpu = []
    base = median_seconds(lambda: step(standard, x, True), repeats, warmup, base_cpu)
    rows = [dict(variant="standard", engine="bptt", ms=1e3 * base, ratio=1.0, cpu_ratio=1.0)]
    for name, options in VARIANTS.items():
        module = snn.LSTM(I, H, **options)  # engine="auto": the fastest that supports it
        engine = module.supported_engines()[0]
        reps, cpu = max(1, repeats // 3) if engine == "reference" else repeats, []
        seconds = median_seconds(lambda m=module: step(m, x, True), reps, 1 if engine == "reference" else warmup, cpu)
        rows.append(dict(variant=name, engine=engine, ms=1e3 * seconds, ratio=seconds / base,
                         cpu_ratio=cpu[0] / base_cpu[0]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--json", type=Path, default=Path("runs/bench/rnn.json"),
                        help="also write the table here as JSON (default runs/bench/rnn.json)")
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="comma-separated subset of lstm,gru,rnn")
    parser.add_argument("--shapes", default=None, help="comma-separated BxTxIxH, e.g. 64x50x256x512")
    parser.add_argument("--no-reference", action="store_true", help="skip the (slow) reference engine")
    parser.add_argument("--no-variants", action="store_true", help="skip the LSTM variants")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: PyTorch's default); 1 is steadier on a shared machine")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats, warmup = (3, 1) if args.quick else (7, 2)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shapes:
        shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    compiled = kernels().compiled  # builds the extension before any timing
    peak = gemm_rate(repeats)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, float32, fused kernels: {'compiled' if compiled else 'PyTorch'}")
    print(f"# torch.mm roofline: {peak / 1e9:.1f} GFLOP/s (best of several shapes, this run)")
    print(f"{'kind':5} {'B':>3} {'T':>4} {'I':>4} {'H':>4} {'mode':10} {'engine':10} {'ms':>9} "
          f"{'x torch':>8} {'cpu x':>6} {'roofline':>8} {'kept MB':>8}")
    table = []
    for kind in args.kinds.split(","):
        for shape in shapes:
            with_reference = not args.no_reference and (not args.quick or shape[0] > 1)
            for row in measure_shape(kind, shape, repeats, warmup, peak, with_reference):
                table.append(row)
                memory = "" if row["memory_mb"] is None else f"{row['memory_mb']:8.1f}"
                print(f"{row['kind']:5} {row['B']:>3} {row['T']:>4} {row['I']:>4} {row['H']:>4} {row['mode']:10} "
                      f"{row['engine']:10} {row['ms']:9.2f} {row['ratio']:8.2f} {row['cpu_ratio']:6.2f} "
                      f"{row['roofline']:8.1%} {memory:>8}")
    linear = {}
    for kind in args.kinds.split(","):
        for engine in ("torch.nn", "bptt"):
            for mode in ("fwd+bwd", "inference"):
                t = {r["T"]: r["ms"] for r in table if r["kind"] == kind and r["engine"] == engine
                     and r["mode"] == mode and r["B"] == 32 and r["H"] == 256}
                if 100 in t and 200 in t:
                    linear[f"{kind} {engine} {mode}"] = t[200] / t[100]
    print("\n# time at T=200 over time at T=100 (B=32, I=128, H=256)")
    for name, ratio in linear.items():
        print(f"{name:30} {ratio:5.2f}")
    variants = [] if args.no_variants else measure_variants((32, 100, 128, 256), repeats, warmup)
    if variants:
        print("\n# LSTM variants, forward+backward at (32, 100, 128, 256), against seqlab's standard LSTM (bptt)")
    for row in variants:
        print(f"{row['variant']:20} {row['engine']:10} {row['ms']:9.2f} ms {row['ratio']:6.2f}x "
              f"(CPU time {row['cpu_ratio']:.2f}x)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = dict(machine=platform.machine(), torch=torch.__version__, threads=torch.get_num_threads(),
                       compiled_kernels=compiled, gemm_flops=peak, rows=table, linearity=linear, variants=variants)
        write_text_atomic(args.json, json.dumps(summary, indent=1))
        print(f"\n# written {args.json}")


if __name__ == "__main__":
    main()
