"""Byte-level BPE in seqlab against Hugging Face ``tokenizers`` on the Gutenberg corpus.

Both sides get the same corpus (the 17 Gutenberg texts, read as Latin-1), the same pre-tokenizer
(GPT-2's byte-level split, no prefix space), the same vocabulary size and minimum pair frequency.
Printed: training time of each and the ratio; encoding throughput (MB/s of UTF-8 input) of seqlab's
``encode_batch`` against tokenizers' ``encode_batch`` (multi-threaded Rust) and plain ``encode`` loop;
compression (tokens per byte) of each tokenizer on the whole corpus, and the relative difference.

Targets (issue 5): training <= 10x tokenizers' time; encoding >= 1 MB/s and >= 1/4 of tokenizers'
batch encoding; compression within 1%. Timings on a shared machine are noisy: read the ratios.

    SEQLAB_DATA_DIR=../shared/data python benchmarks/tokenizers.py [--vocab-size 8000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# this file is named like the package it measures: keep its folder off the import path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import tokenizers as hf  # noqa: E402
from seqlab.text import BpeTrainer, Tokenizer  # noqa: E402


def load_corpus(data_dir: Path) -> list[str]:
    files = sorted((data_dir / "gutenberg").glob("*.txt"))
    if not files:
        raise SystemExit(f"no Gutenberg texts under {data_dir / 'gutenberg'}: set SEQLAB_DATA_DIR")
    lines: list[str] = []
    for file in files:
        lines.extend(file.read_text(encoding="latin-1").splitlines(keepends=True))
    return lines


def timed(function, repeats: int):
    """Best wall-clock time of ``repeats`` calls, the CPU time (all threads) of that call, and the last result."""
    best, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, time.process_time() - start_cpu
    return best, cpu, result


def train_seqlab(lines: list[str], vocab_size: int, min_frequency: int, layout: str) -> Tokenizer:
    tokenizer = Tokenizer.byte_level_bpe(add_prefix_space=False)
    tokenizer.train_from_iterator(lines, BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                                    layout=layout))
    return tokenizer


def train_tokenizers(lines: list[str], vocab_size: int, min_frequency: int) -> hf.Tokenizer:
    tokenizer = hf.Tokenizer(hf.models.BPE())
    tokenizer.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.post_processor = hf.processors.ByteLevel(trim_offsets=True)
    tokenizer.decoder = hf.decoders.ByteLevel()
    trainer = hf.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                     initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs of each timing")
    parser.add_argument("--layout", choices=["tokenizers", "bytes"], default="tokenizers",
                        help="seqlab's byte-level vocabulary layout: tokenizers' (same ids, hence the same "
                             "tie-breaks and merges) or GPT-2's (id = byte value)")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("SEQLAB_DATA_DIR", "../shared/data"))
    lines = load_corpus(data_dir)
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    mb = n_bytes / 1e6
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"tokenizers {hf.__version__}, RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'default')}")
    print(f"corpus: {len(lines):,} lines, {mb:.2f} MB (UTF-8), vocab_size {args.vocab_size}, "
          f"min_frequency {args.min_frequency}, byte-level pre-tokenizer (GPT-2 regex, no prefix space), "
          f"seqlab layout {args.layout!r}\n")

    t_ours, c_ours, ours = timed(lambda: train_seqlab(lines, args.vocab_size, args.min_frequency, args.layout),
                                 args.repeats)
    t_theirs, c_theirs, theirs = timed(lambda: train_tokenizers(lines, args.vocab_size, args.min_frequency),
                                       args.repeats)
    print(f"training    seqlab {t_ours:7.2f} s   tokenizers {t_theirs:6.2f} s   "
          f"wall-clock ratio {t_ours / t_theirs:5.1f}x (target <= 10x)")
    print(f"            CPU time (all threads): seqlab {c_ours:.2f} s, tokenizers {c_theirs:.2f} s")

    def encode_ours():
        ours.clear_cache()  # a cold start, as tokenizers' fresh encode
        return ours.encode_batch(lines)

    e_ours, ce_ours, ours_encodings = timed(encode_ours, args.repeats)
    e_batch, ce_batch, theirs_encodings = timed(lambda: theirs.encode_batch(lines), args.repeats)
    e_loop, ce_loop, _ = timed(lambda: [theirs.encode(line) for line in lines], args.repeats)
    ours_rate, batch_rate, loop_rate = mb / e_ours, mb / e_batch, mb / e_loop
    print(f"encoding    seqlab {ours_rate:6.2f} MB/s   tokenizers encode_batch {batch_rate:6.2f} MB/s "
          f"(ours = {ours_rate / batch_rate:.2f} of it; target >= 0.25 and >= 1 MB/s)   "
          f"tokenizers encode loop {loop_rate:6.2f} MB/s")
    print(f"            per CPU-second: seqlab {mb / ce_ours:.2f} MB/s, "
          f"tokenizers encode_batch {mb / ce_batch:.2f} MB/s, encode loop {mb / ce_loop:.2f} MB/s "
          "(wall-clock figures suffer from other processes on the machine)")

    ours_tokens = sum(len(e) for e in ours_encodings)
    theirs_tokens = sum(len(e) for e in theirs_encodings)
    ours_tpb, theirs_tpb = ours_tokens / n_bytes, theirs_tokens / n_bytes
    print(f"compression seqlab {ours_tpb:.4f} tokens/byte ({ours_tokens:,})   tokenizers {theirs_tpb:.4f} "
          f"({theirs_tokens:,})   difference {100 * (ours_tpb / theirs_tpb - 1):+.2f}% (target within 1%)")
    same = sum(a == b for a, b in zip(ours.model.merges, _merges(theirs)))
    print(f"merges      {len(ours.model.merges)} (seqlab) vs {len(_merges(theirs))} (tokenizers); "
          f"{same} identical at the same rank (ties are broken on ids: with --layout bytes the ids differ)")
    check = lines[:2000]
    agree = sum(a.ids == b.ids for a, b in zip(Tokenizer.from_str(theirs.to_str()).encode_batch(check),
                                               theirs.encode_batch(check)))
    print(f"parity      tokenizers' own tokenizer loaded in seqlab: {agree}/{len(check)} lines give the same ids")


def _merges(tokenizer: hf.Tokenizer) -> list[tuple[str, str]]:
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]


if __name__ == "__main__":
    main()
