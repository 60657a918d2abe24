"""``seqlab embed train|eval|neighbors|convert``: word vectors trained, scored, queried and converted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seqlab.cli._files import text_files
from seqlab.cli.progress import fraction_progress
from seqlab.errors import SeqlabError

embed_app = typer.Typer(help="Word vectors: train Word2Vec, GloVe or FastText; evaluate; query; convert.",
                        no_args_is_help=True, rich_markup_mode=None)

MODELS = ("word2vec", "glove", "fasttext")
BENCHMARK_FILES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


@embed_app.command("train")
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Text files or folders of *.txt files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the vectors.")] = Path("vectors.txt"),
    model: Annotated[str, typer.Option(help="word2vec, glove or fasttext.")] = "word2vec",
    arch: Annotated[str, typer.Option(help="Word2Vec architecture: skipgram or cbow.")] = "skipgram",
    loss: Annotated[str, typer.Option(help="Word2Vec output: negative or hierarchical.")] = "negative",
    dim: Annotated[int, typer.Option(help="Vector size E.")] = 100,
    window: Annotated[int, typer.Option(help="Context window, each side.")] = 5,
    min_count: Annotated[int, typer.Option(help="Drop words seen fewer times.")] = 5,
    epochs: Annotated[int, typer.Option(help="Passes over the corpus.")] = 5,
    negative: Annotated[int, typer.Option(help="Noise words per prediction (word2vec, fasttext).")] = 5,
    sample: Annotated[float, typer.Option(help="Subsampling threshold; 0 keeps every word.")] = 1e-3,
    encoding: Annotated[str, typer.Option(help="Encoding of the corpus (Gutenberg texts: latin-1).")] = "utf-8",
    format: Annotated[str, typer.Option(help="Output format: word2vec, word2vec-binary or glove.")] = "word2vec",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    threads: Annotated[int, typer.Option(help="torch threads; the small batched updates run fastest on one.")] = 1,
) -> None:
    """Train word vectors on text files (lower-cased words, 1,000-word chunks).

    Examples:

        seqlab embed train ../shared/data/gutenberg --encoding latin-1 -o gutenberg.txt

        seqlab embed train corpus.txt --model glove --window 10 --epochs 25 -o glove.txt --format glove

        seqlab embed train corpus.txt --model fasttext --dim 50 -o ft.bin --format word2vec-binary
    """
    import torch

    from seqlab.embeddings import (
        FORMATS,
        FastTextConfig,
        GloVeConfig,
        Word2VecConfig,
        read_corpus,
        save_vectors,
        train_fasttext,
        train_glove,
        train_word2vec,
    )

    console = Console()
    if model not in MODELS:
        raise SeqlabError(f"model: expected one of {', '.join(MODELS)}, got {model!r}")
    if format not in FORMATS:
        raise SeqlabError(f"format: expected one of {', '.join(FORMATS)}, got {format!r}")
    if threads < 1:
        raise SeqlabError(f"--threads: expected an integer >= 1, got {threads}")
    # every setting is checked before the corpus is read
    if model == "word2vec":
        config = Word2VecConfig(architecture=arch, loss=loss, vector_size=dim, window=window, min_count=min_count,
                                epochs=epochs, negative=negative, sample=sample, seed=seed)
        trainer = train_word2vec
    elif model == "glove":
        config = GloVeConfig(vector_size=dim, window=window, min_count=min_count, epochs=epochs, seed=seed)
        trainer = train_glove
    else:
        config = FastTextConfig(vector_size=dim, window=window, min_count=min_count, epochs=epochs,
                                negative=negative, sample=sample, seed=seed)
        trainer = train_fasttext
    config.validate()
    torch.set_num_threads(threads)
    sentences = read_corpus(text_files(corpus), encoding=encoding)
    words = sum(len(s) for s in sentences)
    console.print(f"{model}: {words:,} words in {len(sentences):,} chunks")
    with fraction_progress(console, "training") as update:

        def on_progress(fraction: float, info: dict) -> None:
            update(fraction, f"epoch {info['epoch'] + 1}" + (f" loss {info['loss']:.4f}" if "loss" in info else ""))

        result = trainer(sentences, config, on_progress=on_progress)
    save_vectors(result.vectors, out, format)
    losses = ", ".join(f"{x:.4f}" for x in result.epoch_losses)
    console.print(f"{len(result.vectors):,} words x {dim} in {result.seconds:.1f} s "
                  f"({result.pairs / max(result.seconds, 1e-9):,.0f} pairs/s); loss per epoch: {losses}")
    console.print(f"Vectors saved in {out} ({format})", soft_wrap=True)


def _benchmark_file(name: str) -> str:
    try:
        from gensim.test.utils import datapath  # the Google and similarity sets ship with gensim
    except ImportError as error:
        raise SeqlabError(f"no {name} file given and gensim (which ships it) is not installed; "
                          f"pass the file's path") from error
    return datapath(BENCHMARK_FILES[name])


@embed_app.command("eval")
def evaluate(
    vectors: Annotated[Path, typer.Argument(help="A vector file (word2vec text/binary or GloVe).")],
    format: Annotated[str, typer.Option(help="auto, word2vec, word2vec-binary or glove.")] = "auto",
    analogies: Annotated[Path | None, typer.Option(help="Analogy questions (default: gensim's Google set).")] = None,
    pairs: Annotated[list[Path] | None, typer.Option(help="Word-pair files (default: WS-353 and SimLex-999).")] = None,
    method: Annotated[str, typer.Option(help="Analogy rule: 3cosadd or 3cosmul.")] = "3cosadd",
    restrict: Annotated[int, typer.Option(help="Search only the most frequent words.")] = 300_000,
) -> None:
    """Score vectors: analogy accuracy and Spearman correlation with human similarity, with OOV rates.

    Examples:

        seqlab embed eval gutenberg.txt

        seqlab embed eval vectors.bin --method 3cosmul --pairs my_pairs.tsv
    """
    from seqlab.embeddings import evaluate_analogies, evaluate_word_pairs, load_vectors

    kv = load_vectors(vectors, format)
    analogy_file = analogies or _benchmark_file("analogies")
    pair_files = pairs or [_benchmark_file("wordsim353"), _benchmark_file("simlex999")]
    table = Table("benchmark", "score", "scored / total", "OOV")
    result = evaluate_analogies(kv, analogy_file, restrict=restrict, method=method)
    table.add_row(f"analogies ({method})", f"{result.accuracy:.4f} accuracy", f"{result.attempted} / {result.total}",
                  f"{result.oov_rate:.1%}")
    for path in pair_files:
        similarity = evaluate_word_pairs(kv, path, restrict=restrict)
        table.add_row(Path(path).name, f"{similarity.spearman:.4f} Spearman",
                      f"{similarity.pairs} / {similarity.total}", f"{similarity.oov_rate:.1%}")
    Console().print(table)


@embed_app.command("neighbors")
def neighbors(
    vectors: Annotated[Path, typer.Argument(help="A vector file.")],
    queries: Annotated[list[str], typer.Argument(help="Words, or analogies written a:b::c (a is to b as c is to ?).")],
    topn: Annotated[int, typer.Option(help="How many neighbours to show.")] = 10,
    format: Annotated[str, typer.Option(help="auto, word2vec, word2vec-binary or glove.")] = "auto",
    method: Annotated[str, typer.Option(help="Analogy rule: 3cosadd or 3cosmul.")] = "3cosadd",
) -> None:
    """Nearest words by cosine, or the answers to analogies.

    Examples:

        seqlab embed neighbors gutenberg.txt whale king

        seqlab embed neighbors gutenberg.txt man:king::woman --topn 5
    """
    from seqlab.embeddings import load_vectors

    kv = load_vectors(vectors, format)
    console = Console()
    for query in queries:
        hits = _answer(kv, query, topn, method)
        console.print(f"[bold]{query}[/bold]: " + ", ".join(f"{w} ({s:.3f})" for w, s in hits), highlight=False)


def _answer(kv, query: str, topn: int, method: str) -> list[tuple[str, float]]:
    if "::" in query:
        left, _, c = query.partition("::")
        a, _, b = left.partition(":")
        if not (a and b and c):
            raise SeqlabError(f"analogy: expected 'a:b::c', got {query!r}")
        words = (a, b, c)
    else:
        words = (query,)
    unknown = [w for w in words if w not in kv]
    if unknown:
        raise SeqlabError(f"unknown word(s) {', '.join(map(repr, unknown))}: not among the {len(kv):,} words")
    return kv.analogy(*words, method=method, topn=topn) if len(words) == 3 else kv.most_similar(query, topn=topn)


@embed_app.command("convert")
def convert(
    source: Annotated[Path, typer.Argument(help="The vector file to read.")],
    target: Annotated[Path, typer.Argument(help="The vector file to write.")],
    to: Annotated[str, typer.Option("--to", help="Output format: word2vec, word2vec-binary or glove.")] = "word2vec",
    from_: Annotated[str, typer.Option("--from", help="Input format, or auto.")] = "auto",
) -> None:
    """Convert between the word2vec text, word2vec binary and GloVe text formats.

    Examples:

        seqlab embed convert glove.6B.100d.txt glove.bin --to word2vec-binary

        seqlab embed convert vectors.bin vectors.txt --to glove
    """
    from seqlab.embeddings import load_vectors, save_vectors

    kv = load_vectors(source, from_)
    save_vectors(kv, target, to)
    Console().print(f"{len(kv):,} vectors of {kv.vector_size} written to {target} ({to})", soft_wrap=True)
