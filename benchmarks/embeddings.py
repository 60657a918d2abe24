"""The embedding trainers against their peers on the Gutenberg corpus: speed ratios and scores from one run.

Every row of the speed table, measured in the same run, one torch thread against one gensim worker
(or one glove.c thread):

    Word2Vec skip-gram, CBOW, FastText skip-gram: seqlab / gensim in (centre, context) pairs per second
    GloVe: glove.c's seconds per epoch / seqlab's, on the same co-occurrence matrix

Every library gets the same sentences (the 17 Gutenberg texts read as Latin-1, lower-cased, words
matching ``[a-z]+('[a-z]+)?``, cut into 1,000-word chunks, as in the reference run of the data
MANIFEST) and the same settings: 100 dimensions, window 5, min_count 5, negative sampling with
k = 5, sample 1e-3, linear decay from 0.025 (CBOW 0.05), seed 1. gensim does not count pairs; it
uses the same subsampling formula and the same dynamic window (b ~ U{1..window}), so its expected
number of pairs equals seqlab's, and seqlab's count serves for both (the difference is sampling
noise, well under 0.1%).

GloVe's peer is glove.c from Stanford's GloVe. The package registries have it in one form: PyPI's
``crucyble`` source package vendors glove.c (2015, with its ``main()`` turned into ``train()``); the
benchmark downloads that sdist with pip into a temporary folder, compiles glove.c there with a
ten-line ``main()`` that sets its settings (glove.c's Makefile flags, one thread), writes seqlab's
co-occurrence matrix in glove.c's binary CREC format (int32 i, int32 j, float64 X_ij; 1-based,
shuffled once, as shuffle.c leaves it) and times each of its iterations from its own progress lines.
``--no-glove-c`` skips it (no network, or no C compiler).

Scores: Google analogies (3CosAdd, accuracy over the questions whose words are all known), WS-353
and SimLex-999 Spearman, with OOV rates, all from seqlab's evaluation, which counts as gensim's
does (tests/embeddings/test_emb_evaluation.py). Timings on a shared machine are noisy: read the
ratios, both wall-clock and per CPU-second (process time, which other jobs inflate less), and the
load average printed beside them.

    SEQLAB_DATA_DIR=../shared/data python benchmarks/embeddings.py [--architectures skipgram,cbow]
        [--epochs 5] [--glove-epochs 25] [--fasttext-epochs 1] [--no-glove-c] [--json figures.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from gensim.models import FastText as GensimFastText
from gensim.models import Word2Vec as GensimWord2Vec
from gensim.test.utils import datapath

from seqlab.data import gutenberg_files
from seqlab.embeddings import (
    FastTextConfig,
    GloVeConfig,
    KeyedVectors,
    Word2VecConfig,
    build_vocabulary,
    cooccurrence,
    evaluate_analogies,
    evaluate_word_pairs,
    read_corpus,
    train_fasttext,
    train_glove,
    train_word2vec,
)
from seqlab.embeddings._kernels import kernels

GLOVE_C_PACKAGE = "crucyble==0.1.0.dev4"  # the PyPI sdist that carries Stanford's glove.c
GLOVE_C_PATH = "src/lib/glove/glove.c"

# glove.c keeps its settings in globals; this main() sets them and calls the train() the package left
GLOVE_C_MAIN = r"""
#include <stdlib.h>
extern int num_threads, num_iter, vector_size, verbose, use_binary;
extern double eta, alpha, x_max;
int train(char *input_file, char *vocab_file, char *vectors, char *gradsq, int verbosity);
int main(int argc, char **argv) {
    if (argc != 10) return 2;
    vector_size = atoi(argv[5]); num_iter = atoi(argv[6]); x_max = atof(argv[7]); alpha = atof(argv[8]);
    eta = atof(argv[9]); num_threads = 1; use_binary = 1;
    return train(argv[1], argv[2], argv[3], argv[4], 1);
}
"""


def scores(vectors: KeyedVectors) -> dict:
    analogy = evaluate_analogies(vectors, datapath("questions-words.txt"))
    ws = evaluate_word_pairs(vectors, datapath("wordsim353.tsv"))
    simlex = evaluate_word_pairs(vectors, datapath("simlex999.txt"))
    return {"analogy": analogy.accuracy, "analogy_oov": analogy.oov_rate, "ws353": ws.spearman,
            "ws353_oov": ws.oov_rate, "simlex": simlex.spearman, "simlex_oov": simlex.oov_rate}


def from_gensim(model) -> KeyedVectors:
    return KeyedVectors(list(model.wv.index_to_key), torch.from_numpy(model.wv.vectors.copy()))


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def score_text(s: dict) -> str:
    return (f"{s['analogy']:.4f} ({s['analogy_oov']:.0%} OOV)   {s['ws353']:+.4f} ({s['ws353_oov']:.0%})   "
            f"{s['simlex']:+.4f} ({s['simlex_oov']:.0%})")


def row(name: str, seconds: float, cpu: float, rate: str, s: dict) -> str:
    return f"{name:<34} {seconds:>8.1f} {cpu:>8.1f} {rate:>26}   {score_text(s)}"


def pair_rates(pairs: int, seconds: float, cpu: float) -> str:
    return f"{pairs / seconds:>12,.0f} {pairs / cpu:>12,.0f}"


def timed(train, *args, **kwargs):
    """(result, wall-clock seconds, CPU seconds of this process over all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def compare_pairs(name: str, ours, theirs, wall: float, cpu: float, gensim_wall: float, gensim_cpu: float,
                  target: float) -> dict:
    gensim_scores, our_scores = scores(from_gensim(theirs)), scores(ours.vectors)
    print(row(f"gensim {name}", gensim_wall, gensim_cpu, pair_rates(ours.pairs, gensim_wall, gensim_cpu),
              gensim_scores))
    print(row(f"seqlab {name}", wall, cpu, pair_rates(ours.pairs, wall, cpu), our_scores))
    ratio, cpu_ratio = gensim_wall / wall, gensim_cpu / cpu
    print(f"{'':<34} seqlab/gensim pairs per second: {ratio:.2f} wall-clock, {cpu_ratio:.2f} per CPU-second "
          f"(target >= {target}); {load()}")
    return {"gensim_wall": gensim_wall, "gensim_cpu": gensim_cpu, "seqlab_wall": wall, "seqlab_cpu": cpu,
            "pairs": ours.pairs, "speed_ratio": ratio, "cpu_speed_ratio": cpu_ratio, "gensim": gensim_scores,
            "seqlab": our_scores, "seqlab_epoch_losses": ours.epoch_losses, "load": os.getloadavg()}


def build_glove_c(folder: Path) -> Path:
    """Download the sdist that carries glove.c, compile it with a main(), return the program."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "crucyble",
                    GLOVE_C_PACKAGE, "-d", str(folder)], check=True, capture_output=True)
    sdist = next(folder.glob("crucyble-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(GLOVE_C_PATH))
        (folder / "glove.c").write_bytes(archive.extractfile(member).read())
    (folder / "main.c").write_text(GLOVE_C_MAIN)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler")
    program = folder / "glove"
    # glove.c's Makefile: -O3 (its -Ofast would skip NaN checks), -march=native -funroll-loops
    subprocess.run([compiler, "-O3", "-march=native", "-funroll-loops", "-pthread", "-w", str(folder / "glove.c"),
                    str(folder / "main.c"), "-lm", "-o", str(program)], check=True, capture_output=True)
    return program


def run_glove_c(program: Path, folder: Path, words: list[str], rows: torch.Tensor, cols: torch.Tensor,
                values: torch.Tensor, config: GloVeConfig) -> tuple[list[float], list[float], KeyedVectors]:
    """Train glove.c on the matrix; returns its wall and CPU seconds per iteration and its vectors (w + w~)."""
    V, E = len(words), config.vector_size
    records = np.empty(len(values), dtype=[("i", "<i4"), ("j", "<i4"), ("x", "<f8")])  # glove.c's CREC
    order = torch.randperm(len(values), generator=torch.Generator().manual_seed(config.seed)).numpy()
    records["i"], records["j"] = rows.numpy()[order] + 1, cols.numpy()[order] + 1
    records["x"] = values.double().numpy()[order]
    records.tofile(folder / "cooccurrence.shuf.bin")
    (folder / "vocab.txt").write_text("".join(f"{w} 1\n" for w in words))
    command = [str(program), str(folder / "cooccurrence.shuf.bin"), str(folder / "vocab.txt"), str(folder / "vectors"),
               str(folder / "gradsq"), str(E), str(config.epochs), repr(config.x_max), repr(config.alpha),
               repr(config.lr)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    ticks = os.sysconf("SC_CLK_TCK")
    stamps = []  # (wall, CPU) at the start of training and after each iteration

    def cpu_seconds() -> float:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    for line in process.stderr:
        if line.startswith(("vector size", "iter:")):  # glove.c prints its settings, then one line per iteration
            stamps.append((time.perf_counter(), cpu_seconds()))
    if process.wait() != 0:
        raise RuntimeError(f"glove.c exited with code {process.returncode}")
    wall = [b[0] - a[0] for a, b in itertools.pairwise(stamps)]
    cpu = [b[1] - a[1] for a, b in itertools.pairwise(stamps)]
    W = np.fromfile(folder / "vectors.bin", dtype="<f8").reshape(2 * V, E + 1)
    return wall, cpu, KeyedVectors(words, torch.from_numpy((W[:V, :E] + W[V:, :E]).astype(np.float32)))


def compare_glove(sentences, vocab, args) -> dict:
    config = GloVeConfig(vector_size=args.dim, epochs=args.glove_epochs, x_max=args.glove_x_max)
    stamps = []
    glove = train_glove(sentences, config, vocab=vocab,
                        on_progress=lambda fraction, info: stamps.append((time.perf_counter(), time.process_time())))
    # seconds per epoch: between the ends of consecutive epochs (the first also counts co-occurrences)
    epoch_wall = (stamps[-1][0] - stamps[0][0]) / max(len(stamps) - 1, 1)
    epoch_cpu = (stamps[-1][1] - stamps[0][1]) / max(len(stamps) - 1, 1)
    ours = scores(glove.vectors)
    nnz = glove.pairs // config.epochs
    name = f"glove ({config.epochs} ep, x_max {config.x_max:g})"
    figures = {"seqlab_epoch_wall": epoch_wall, "seqlab_epoch_cpu": epoch_cpu, "entries": nnz, "seqlab": ours,
               "epochs": config.epochs, "x_max": config.x_max, "seqlab_epoch_losses": glove.epoch_losses}
    if args.glove_c:
        ids, sentence = vocab.encode(sentences)
        rows, cols, values = cooccurrence(ids, sentence, len(vocab), config.window)
        with tempfile.TemporaryDirectory(prefix="glove-c-") as tmp:
            folder = Path(tmp)
            try:
                program = build_glove_c(folder)
                c_wall, c_cpu, c_vectors = run_glove_c(program, folder, vocab.words, rows, cols, values, config)
            except (subprocess.CalledProcessError, RuntimeError, StopIteration, OSError) as error:
                print(f"glove.c: not run ({type(error).__name__}: {error}); pass --no-glove-c to skip it")
                c_wall = c_cpu = []
        if c_cpu:
            theirs = scores(c_vectors)
            c_epoch_wall, c_epoch_cpu = sum(c_wall) / len(c_wall), sum(c_cpu) / len(c_cpu)
            print(row(f"glove.c {name}", c_epoch_wall, c_epoch_cpu, f"{nnz:>12,} entries/epoch", theirs))
            figures.update({"glove_c_epoch_wall": c_epoch_wall, "glove_c_epoch_cpu": c_epoch_cpu, "glove_c": theirs,
                            "speed_ratio": c_epoch_wall / epoch_wall, "cpu_speed_ratio": c_epoch_cpu / epoch_cpu})
    print(row(f"seqlab {name}", epoch_wall, epoch_cpu, f"{nnz:>12,} entries/epoch", ours))
    if "speed_ratio" in figures:
        print(f"{'':<34} seqlab/glove.c speed per epoch: {figures['speed_ratio']:.2f} wall-clock, "
              f"{figures['cpu_speed_ratio']:.2f} per CPU-second (target >= 0.5); {load()}")
    figures["load"] = os.getloadavg()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="gensim workers and torch threads")
    parser.add_argument("--architectures", default="skipgram,cbow", help="comma-separated: skipgram, cbow; '' skips")
    parser.add_argument("--glove-epochs", type=int, default=25, help="0 skips GloVe")
    parser.add_argument("--glove-x-max", type=float, default=100.0)
    parser.add_argument("--no-glove-c", dest="glove_c", action="store_false", help="do not build and run glove.c")
    parser.add_argument("--fasttext-epochs", type=int, default=1, help="0 skips FastText")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if os.environ.get("PYTHONHASHSEED") != "0":
        print("note: gensim seeds its vectors with Python's hash(); PYTHONHASHSEED=0 makes its scores repeat\n")

    sentences = read_corpus(gutenberg_files(), encoding="latin-1", chunk_size=1000)
    vocab = build_vocabulary(sentences, min_count=5)
    compiled = kernels().compiled  # built (or loaded from the cache) before any timing
    print(f"Gutenberg: {sum(map(len, sentences)):,} words, {len(sentences):,} chunks, vocabulary {len(vocab):,}")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, threads/workers {args.threads}, seqlab's compiled loops: {compiled}; {load()}\n")
    print(f"{'model':<34} {'wall s':>8} {'CPU s':>8} {'pairs/s   pairs/CPU-s':>26}   "
          f"{'analogy (Google)':<20} {'WS-353':<16} SimLex-999")
    results: dict = {"words": sum(map(len, sentences)), "vocab": len(vocab), "threads": args.threads,
                     "compiled": compiled}

    for architecture in [a for a in args.architectures.split(",") if a]:
        sg = {"skipgram": 1, "cbow": 0}[architecture]
        theirs, gensim_wall, gensim_cpu = timed(
            GensimWord2Vec, sentences, vector_size=args.dim, window=5, min_count=5, negative=5, sg=sg, sample=1e-3,
            epochs=args.epochs, workers=args.threads, seed=1)
        config = Word2VecConfig(architecture=architecture, vector_size=args.dim, window=5, min_count=5, negative=5,
                                sample=1e-3, epochs=args.epochs, seed=1)
        ours, wall, cpu = timed(train_word2vec, sentences, config, vocab=vocab)
        results[architecture] = compare_pairs(f"word2vec {architecture}", ours, theirs, wall, cpu, gensim_wall,
                                              gensim_cpu, 0.6)
    if args.fasttext_epochs:
        theirs, gensim_wall, gensim_cpu = timed(
            GensimFastText, sentences, vector_size=args.dim, window=5, min_count=5, negative=5, sg=1,
            epochs=args.fasttext_epochs, workers=args.threads, seed=1, bucket=200_000)
        config = FastTextConfig(vector_size=args.dim, epochs=args.fasttext_epochs, bucket=200_000)
        ft, wall, cpu = timed(train_fasttext, sentences, config, vocab=vocab)
        results["fasttext"] = compare_pairs(f"fasttext ({args.fasttext_epochs} ep)", ft, theirs, wall, cpu,
                                            gensim_wall, gensim_cpu, 0.5)
    if args.glove_epochs:
        results["glove"] = compare_glove(sentences, vocab, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
