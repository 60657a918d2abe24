"""Word2Vec in seqlab against gensim on the Gutenberg corpus; GloVe and FastText scored beside them.

Both Word2Vec runs get the same sentences (the 17 Gutenberg texts read as Latin-1, lower-cased,
words matching ``[a-z]+('[a-z]+)?``, cut into 1,000-word chunks, as in the reference run of the
data MANIFEST) and the same settings: skip-gram, negative sampling with k = 5, 100 dimensions,
window 5, min_count 5, sample 1e-3, 5 epochs, linear decay from 0.025, one worker / one thread.

Speed is compared in (centre, context) pairs per second. gensim does not count pairs; since it
uses the same subsampling formula and the same dynamic window (b ~ U{1..window}), its expected
number of pairs equals seqlab's, so seqlab's count is used for both (the difference is sampling
noise, well under 0.1%). Scores: Google analogies (3CosAdd, accuracy over the questions whose
words are all known), WS-353 and SimLex-999 Spearman, with OOV rates; every model is scored by
the same seqlab functions, which match gensim's (tests/embeddings/test_emb_evaluation.py).

Target (issue 5): seqlab >= 1/3 of gensim's pairs per second, scores no worse than gensim's minus
2 points. Timings on a shared machine are noisy: read the ratios, measured in the same run, both
wall-clock and per CPU-second (process time over all threads, which other jobs inflate less).

    SEQLAB_DATA_DIR=../shared/data python benchmarks/embeddings.py [--architectures skipgram,cbow]
        [--epochs 5] [--glove-epochs 25] [--fasttext-epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

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
    evaluate_analogies,
    evaluate_word_pairs,
    read_corpus,
    train_fasttext,
    train_glove,
    train_word2vec,
)


def scores(vectors: KeyedVectors) -> dict:
    analogy = evaluate_analogies(vectors, datapath("questions-words.txt"))
    ws = evaluate_word_pairs(vectors, datapath("wordsim353.tsv"))
    simlex = evaluate_word_pairs(vectors, datapath("simlex999.txt"))
    return {"analogy": analogy.accuracy, "analogy_oov": analogy.oov_rate, "ws353": ws.spearman,
            "ws353_oov": ws.oov_rate, "simlex": simlex.spearman, "simlex_oov": simlex.oov_rate}


def from_gensim(model) -> KeyedVectors:
    return KeyedVectors(list(model.wv.index_to_key), torch.from_numpy(model.wv.vectors.copy()))


def row(name: str, seconds: float, cpu: float, pairs: float | None, s: dict) -> str:
    rate = f"{pairs / seconds:>12,.0f} {pairs / cpu:>12,.0f}" if pairs else f"{'':>12} {'':>12}"
    return (f"{name:<28} {seconds:>8.1f} {cpu:>8.1f} {rate}   {s['analogy']:.4f} ({s['analogy_oov']:.0%} OOV)   "
            f"{s['ws353']:+.4f} ({s['ws353_oov']:.0%})   {s['simlex']:+.4f} ({s['simlex_oov']:.0%})")


def timed(train, *args, **kwargs):
    """(result, wall-clock seconds, CPU seconds of this process over all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="gensim workers and torch threads")
    parser.add_argument("--architectures", default="skipgram", help="comma-separated: skipgram, cbow; '' skips")
    parser.add_argument("--glove-epochs", type=int, default=25, help="0 skips GloVe")
    parser.add_argument("--glove-x-max", type=float, default=100.0)
    parser.add_argument("--fasttext-epochs", type=int, default=1, help="0 skips FastText")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("PYTHONHASHSEED", "0")

    sentences = read_corpus(gutenberg_files(), encoding="latin-1", chunk_size=1000)
    vocab = build_vocabulary(sentences, min_count=5)
    print(f"Gutenberg: {sum(map(len, sentences)):,} words, {len(sentences):,} chunks, vocabulary {len(vocab):,}")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, threads/workers {args.threads}; shared with other jobs: timings are noisy\n")
    print(f"{'model':<28} {'wall s':>8} {'CPU s':>8} {'pairs/s':>12} {'pairs/CPU-s':>12}   "
          f"{'analogy (Google)':<20} {'WS-353':<16} SimLex-999")
    results: dict = {"words": sum(map(len, sentences)), "vocab": len(vocab), "threads": args.threads}

    for architecture in [a for a in args.architectures.split(",") if a]:
        sg = {"skipgram": 1, "cbow": 0}[architecture]
        theirs, gensim_wall, gensim_cpu = timed(
            GensimWord2Vec, sentences, vector_size=args.dim, window=5, min_count=5, negative=5, sg=sg, sample=1e-3,
            epochs=args.epochs, workers=args.threads, seed=1)
        config = Word2VecConfig(architecture=architecture, vector_size=args.dim, window=5, min_count=5, negative=5,
                                sample=1e-3, epochs=args.epochs, seed=1)
        ours, wall, cpu = timed(train_word2vec, sentences, config, vocab=vocab)
        gensim_scores, our_scores = scores(from_gensim(theirs)), scores(ours.vectors)
        print(row(f"gensim word2vec {architecture}", gensim_wall, gensim_cpu, ours.pairs, gensim_scores))
        print(row(f"seqlab word2vec {architecture}", wall, cpu, ours.pairs, our_scores))
        ratio, cpu_ratio = gensim_wall / wall, gensim_cpu / cpu
        print(f"{'':<28} seqlab/gensim pairs per second: {ratio:.2f} wall-clock, {cpu_ratio:.2f} per CPU-second "
              f"(target >= 0.33); loss per epoch {', '.join(f'{x:.3f}' for x in ours.epoch_losses)}")
        results[architecture] = {"gensim_wall": gensim_wall, "gensim_cpu": gensim_cpu, "seqlab_wall": wall,
                                 "seqlab_cpu": cpu, "pairs": ours.pairs, "speed_ratio": ratio,
                                 "cpu_speed_ratio": cpu_ratio, "gensim": gensim_scores, "seqlab": our_scores,
                                 "seqlab_epoch_losses": ours.epoch_losses}

    if args.glove_epochs:
        config = GloVeConfig(vector_size=args.dim, epochs=args.glove_epochs, x_max=args.glove_x_max)
        glove, wall, cpu = timed(train_glove, sentences, config, vocab=vocab)
        glove_scores = scores(glove.vectors)
        print(row(f"seqlab glove ({args.glove_epochs} ep, x_max {args.glove_x_max:g})", wall, cpu, None, glove_scores))
        results["glove"] = {"wall": wall, "cpu": cpu, "epochs": args.glove_epochs, "scores": glove_scores,
                            "epoch_losses": glove.epoch_losses}
    if args.fasttext_epochs:
        theirs, gensim_wall, gensim_cpu = timed(
            GensimFastText, sentences, vector_size=args.dim, window=5, min_count=5, negative=5, sg=1,
            epochs=args.fasttext_epochs, workers=args.threads, seed=1, bucket=200_000)
        config = FastTextConfig(vector_size=args.dim, epochs=args.fasttext_epochs, bucket=200_000)
        ft, wall, cpu = timed(train_fasttext, sentences, config, vocab=vocab)
        gensim_scores, ft_scores = scores(from_gensim(theirs)), scores(ft.vectors)
        print(row(f"gensim fasttext ({args.fasttext_epochs} ep)", gensim_wall, gensim_cpu, ft.pairs, gensim_scores))
        print(row(f"seqlab fasttext ({args.fasttext_epochs} ep)", wall, cpu, ft.pairs, ft_scores))
        results["fasttext"] = {"gensim_wall": gensim_wall, "gensim_cpu": gensim_cpu, "seqlab_wall": wall,
                               "seqlab_cpu": cpu, "pairs": ft.pairs, "epochs": args.fasttext_epochs,
                               "gensim": gensim_scores, "seqlab": ft_scores}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
