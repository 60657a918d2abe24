"""``seqlab tokenize train|encode|decode|inspect``: tokenizers trained, applied and examined.

Tokenizers are saved as Hugging Face ``tokenizer.json`` files, so the ones written here load in the
``tokenizers`` package and the ones it writes load here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seqlab.cli._files import text_files
from seqlab.errors import SeqlabError

tokenize_app = typer.Typer(help="Tokenizers: train byte-level BPE, WordPiece, Unigram, word or character "
                           "vocabularies; encode; decode; inspect. Files are Hugging Face tokenizer.json.",
                           no_args_is_help=True,
                           rich_markup_mode=None)
MODELS = ("bpe", "wordpiece", "unigram", "word", "char")


def _read_lines(files: list[Path], encoding: str, progress: Progress) -> Iterator[str]:
    task = progress.add_task("reading", total=sum(f.stat().st_size for f in files))
    for file in files:
        try:
            text = file.read_text(encoding=encoding)
        except UnicodeDecodeError as error:
            raise SeqlabError(f"{file}: not valid {encoding} ({error.reason} at byte {error.start}); "
                              "pass the file's encoding, e.g. --encoding latin-1") from None
        except LookupError:
            raise SeqlabError(f"--encoding: expected a codec name such as utf-8 or latin-1, got {encoding!r}") from None
        yield from text.splitlines(keepends=True)
        progress.advance(task, file.stat().st_size)


def _load(path: Path):
    from seqlab.text.tokenizer import Tokenizer

    if not path.is_file():
        raise SeqlabError(f"{path}: expected a tokenizer.json file, found none")
    return Tokenizer.from_file(path)


@tokenize_app.command("train")
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Text files or folders of *.txt files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write tokenizer.json.")] = Path("tokenizer.json"),
    model: Annotated[str, typer.Option(help="bpe (byte-level), wordpiece, unigram, word or char.")] = "bpe",
    vocab_size: Annotated[int, typer.Option(help="Vocabulary size (bpe, wordpiece, unigram).")] = 8000,
    min_frequency: Annotated[int, typer.Option(help="Least count of a merged pair or kept word.")] = 2,
    max_size: Annotated[int, typer.Option(help="Largest vocabulary (word, char); 0 for no limit.")] = 0,
    special: Annotated[list[str] | None, typer.Option(help="A special token (repeat the option); "
                                                      "defaults depend on the model.")] = None,
    lowercase: Annotated[bool, typer.Option(help="Lower-case first (wordpiece, word).")] = True,
    encoding: Annotated[str, typer.Option(help="Encoding of the corpus (Gutenberg texts: latin-1).")] = "utf-8",
) -> None:
    """Train a tokenizer on text files and save it as tokenizer.json.

    Examples:

        seqlab tokenize train ../shared/data/gutenberg --encoding latin-1 --vocab-size 8000 -o gutenberg-bpe.json

        seqlab tokenize train corpus.txt --model wordpiece --vocab-size 30000 -o bert.json

        seqlab tokenize train corpus.txt --model unigram --vocab-size 4000 -o sentencepiece.json

        seqlab tokenize train corpus.txt --model word --min-frequency 3 --max-size 20000 -o words.json
    """
    from seqlab.text.factories import default_specials, merges_to_learn, train_tokenizer

    if model not in MODELS:
        raise SeqlabError(f"--model: expected one of {', '.join(MODELS)}, got {model!r}")
    files = text_files(corpus)
    console = Console()
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        merges = progress.add_task("merges", total=None, visible=False)
        if model == "bpe":
            specials = special if special is not None else default_specials("bpe")
            progress.update(merges, total=merges_to_learn(vocab_size, specials))

        def on_merge(made: int) -> None:
            progress.update(merges, completed=made, visible=True)

        tokenizer = train_tokenizer(model, _read_lines(files, encoding, progress), vocab_size=vocab_size,
                                    min_frequency=min_frequency, max_size=max_size or None, specials=special,
                                    lowercase=lowercase, on_merge=on_merge)
    tokenizer.save(out)
    console.print(f"{model} tokenizer with {tokenizer.vocab_size:,} tokens trained on {len(files)} file(s); "
                  f"saved to {out}", soft_wrap=True)


@tokenize_app.command("encode")
def encode(
    tokenizer_file: Annotated[Path, typer.Argument(help="A tokenizer.json (seqlab's or Hugging Face's).")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to encode (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="Encode each line of this file.")] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of --file.")] = "utf-8",
    output: Annotated[str, typer.Option(help="ids, tokens or json (ids, tokens, offsets per line).")] = "ids",
    special_tokens: Annotated[bool, typer.Option(help="Add the post-processor's special tokens.")] = True,
) -> None:
    """Encode texts: one line of output per text.

    Examples:

        seqlab tokenize encode gutenberg-bpe.json "It was a dark and stormy night."

        seqlab tokenize encode bert.json "Hello there" --output tokens

        seqlab tokenize encode gutenberg-bpe.json --file notes.txt --output json
    """
    if output not in ("ids", "tokens", "json"):
        raise SeqlabError(f"--output: expected ids, tokens or json, got {output!r}")
    tokenizer = _load(tokenizer_file)
    lines = list(texts or [])
    if file is not None:
        lines += list(_read_lines([file], encoding, Progress(disable=True)))
        lines = [line.rstrip("\n") for line in lines]
    if not lines:
        raise SeqlabError("encode: expected texts as arguments or --file, got neither")
    encodings = []
    # the bar goes to stderr (and vanishes) so that stdout stays clean for pipes
    with Progress(console=Console(stderr=True), transient=True, disable=len(lines) < 10_000) as progress:
        task = progress.add_task("encoding", total=len(lines))
        chunk = 1000 if tokenizer.padding is None else len(lines)  # padding is to the longest of all
        for start in range(0, len(lines), chunk):
            encodings += tokenizer.encode_batch(lines[start:start + chunk], add_special_tokens=special_tokens)
            progress.advance(task, min(chunk, len(lines) - start))
    for text, encoded in zip(lines, encodings):
        if output == "ids":
            typer.echo(" ".join(map(str, encoded.ids)))
        elif output == "tokens":
            typer.echo(" ".join(encoded.tokens))
        else:
            typer.echo(json.dumps({"text": text, "ids": encoded.ids, "tokens": encoded.tokens,
                                   "offsets": encoded.offsets}, ensure_ascii=False))


@tokenize_app.command("decode")
def decode(
    tokenizer_file: Annotated[Path, typer.Argument(help="A tokenizer.json (seqlab's or Hugging Face's).")],
    ids: Annotated[list[str], typer.Argument(help="Token ids, as separate numbers or one JSON list.")],
    keep_special: Annotated[bool, typer.Option(help="Keep special tokens in the text.")] = False,
) -> None:
    """Decode token ids back to text.

    Examples:

        seqlab tokenize decode gutenberg-bpe.json 1026 373 257 3223

        seqlab tokenize decode gutenberg-bpe.json "[1026, 373, 257]"
    """
    tokenizer = _load(tokenizer_file)
    words = " ".join(ids).replace(",", " ").replace("[", " ").replace("]", " ").split()
    try:
        numbers = [int(word) for word in words]
    except ValueError:
        raise SeqlabError(f"ids: expected integers, got {' '.join(ids)!r}") from None
    typer.echo(tokenizer.decode(numbers, skip_special_tokens=not keep_special))


@tokenize_app.command("inspect")
def inspect(
    tokenizer_file: Annotated[Path, typer.Argument(help="A tokenizer.json (seqlab's or Hugging Face's).")],
    text: Annotated[str | None, typer.Argument(help="Show how this text is tokenized.")] = None,
    merges: Annotated[int, typer.Option(help="How many of the first merges to list (BPE).")] = 10,
) -> None:
    """Show a tokenizer's stages, vocabulary and special tokens, and optionally how it splits a text.

    Examples:

        seqlab tokenize inspect gutenberg-bpe.json

        seqlab tokenize inspect bert.json "Unbelievable, isn't it?"
    """
    tokenizer = _load(tokenizer_file)
    console = Console(highlight=False)
    data = tokenizer.to_json()
    summary = Table(show_header=False, box=None)
    summary.add_row("model", f"{data['model']['type']}, {tokenizer.vocab_size:,} tokens")
    for stage in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        summary.add_row(stage.replace("_", "-"), json.dumps(data[stage], ensure_ascii=False) if data[stage] else "none")
    summary.add_row("special tokens", " ".join(f"{a.content}={a.id}" for a in tokenizer.added_tokens) or "none")
    model_merges = getattr(tokenizer.model, "merges", None)
    if model_merges:
        shown = ", ".join(f"{a}+{b}" for a, b in model_merges[:merges])
        summary.add_row("merges", f"{len(model_merges):,}; first: {shown}")
    console.print(summary, markup=False)
    if text is not None:
        encoded = tokenizer.encode(text)
        table = Table("token", "id", "span", "text")
        for token, token_id, (start, end) in zip(encoded.tokens, encoded.ids, encoded.offsets):
            table.add_row(token, str(token_id), f"{start}:{end}", repr(text[start:end]))
        console.print(table, markup=False)
        console.print(f"{len(encoded)} tokens for {len(text)} characters ({len(text.encode('utf-8'))} bytes)")
