"""Loaders for the real datasets of the shared data folder (see its MANIFEST.md).

Each loader takes ``root`` (the data folder; ``$SEQLAB_DATA_DIR`` when omitted), reads the files
byte-for-byte as published, and returns plain Python values: texts, labels, pairs, tagged
sentences. A missing file raises ``SeqlabError`` naming the file and how to get it
(``seqlab.data.download``). The formats have traps, handled here once:

- the Gutenberg texts are Latin-1, not UTF-8;
- ``fra.txt`` writes French spacing with U+00A0 (no-break space) and U+202F (narrow no-break
  space); ``normalize_spaces=True`` replaces both with a plain space, as d2l does;
- the WNUT-17 train file separates sentences by an empty line *or* a line holding only a TAB.

Example:
    >>> texts, labels = load_sentence_polarity()          # doctest: +SKIP
    >>> len(texts), sum(labels)                            # doctest: +SKIP
    (10662, 5331)
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from seqlab.data.corpora import data_dir
from seqlab.errors import SeqlabError

POLARITY_LABELS = ("neg", "pos")  # label id -> name in load_sentence_polarity
WNUT17_FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}
GUTENBERG_ENCODING = "latin-1"
FRENCH_SPACES = {"\u00a0": " ", "\u202f": " "}  # no-break space, narrow no-break space


class TaggedSentence(NamedTuple):
    """One sentence of a sequence-labelling corpus: parallel lists of tokens and tags."""

    tokens: list[str]
    tags: list[str]


def dataset_file(relative: str, root: str | os.PathLike | None = None) -> Path:
    """The path of ``relative`` (e.g. ``"wnut17/wnut17train.conll"``) inside the data folder.

    Raises ``SeqlabError`` naming the missing file and the folder searched.
    """
    folder = data_dir(root)
    path = folder / relative
    if not path.is_file():
        name = relative.split("/", 1)[0]
        raise SeqlabError(
            f"dataset file {relative} not found in {folder}; get it with "
            f"seqlab.data.download({name!r}, {str(folder)!r}) or point SEQLAB_DATA_DIR at the shared data folder"
        )
    return path


# --- sentiment: sentence polarity (Pang & Lee 2005) ---------------------------------------------


def load_sentence_polarity(root: str | os.PathLike | None = None) -> tuple[list[str], list[int]]:
    """The 10,662 movie-review snippets of ``sentence_polarity/``: texts and labels (0 neg, 1 pos).

    Negative snippets come first, then positive ones, in file order; shuffle before splitting
    (the standard protocol is 10-fold cross-validation).
    """
    texts: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(POLARITY_LABELS):
        path = dataset_file(f"sentence_polarity/rt-polarity.{name}", root)
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                texts.append(line)
                labels.append(label)
    return texts, labels


# --- translation: Tatoeba English-French ---------------------------------------------------------


def normalize_french_spaces(text: str) -> str:
    """Replace U+00A0 and U+202F (French typographic spaces) with a plain space."""
    for odd, plain in FRENCH_SPACES.items():
        text = text.replace(odd, plain)
    return text


def parse_parallel(lines: Iterable[str], normalize_spaces: bool = True) -> list[tuple[str, str]]:
    """Parse ``source<TAB>target[<TAB>attribution]`` lines into (source, target) pairs.

    Empty lines are skipped; a non-empty line with fewer than two columns raises ``SeqlabError``.
    """
    pairs = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise SeqlabError(f"line {number}: expected 'source<TAB>target', got {line[:60]!r}")
        source, target = columns[0], columns[1]
        if normalize_spaces:
            source, target = normalize_french_spaces(source), normalize_french_spaces(target)
        pairs.append((source, target))
    return pairs


def load_fra_eng(
    root: str | os.PathLike | None = None, max_pairs: int | None = None, normalize_spaces: bool = True
) -> list[tuple[str, str]]:
    """English-French sentence pairs from ``fra-eng/fra.txt`` (167,130 pairs), in file order.

    Args:
        max_pairs: keep only the first ``max_pairs`` pairs (d2l uses 600).
        normalize_spaces: replace U+00A0 and U+202F with plain spaces.
    """
    path = dataset_file("fra-eng/fra.txt", root)
    with open(path, encoding="utf-8") as handle:
        lines = handle if max_pairs is None else _first_nonempty(handle, max_pairs)
        return parse_parallel(lines, normalize_spaces=normalize_spaces)


def _first_nonempty(lines: Iterable[str], count: int) -> list[str]:
    kept = []
    for line in lines:
        if len(kept) >= count:
            break
        if line.strip():
            kept.append(line)
    return kept


# --- sequence labelling: WNUT-17 named entities -----------------------------------------------------


def parse_conll(lines: Iterable[str]) -> list[TaggedSentence]:
    """Parse ``token<TAB>tag`` lines into sentences.

    A sentence ends at a line that is empty or holds only whitespace (WNUT-17's train file
    uses a lone TAB). A token may be empty (``"\\tO"`` occurs in the WNUT-17 test file).
    Raises ``SeqlabError`` on a line without a TAB.
    """
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            if tokens:
                sentences.append(TaggedSentence(tokens, tags))
                tokens, tags = [], []
            continue
        token, tab, tag = line.rpartition("\t")
        if not tab:
            raise SeqlabError(f"line {number}: expected 'token<TAB>tag', got {line[:60]!r}")
        tokens.append(token)
        tags.append(tag)
    if tokens:
        sentences.append(TaggedSentence(tokens, tags))
    return sentences


def format_conll(sentences: Iterable[TaggedSentence]) -> str:
    """The inverse of ``parse_conll``: one ``token<TAB>tag`` per line, an empty line after each sentence."""
    out = io.StringIO()
    for tokens, tags in sentences:
        for token, tag in zip(tokens, tags, strict=True):
            out.write(f"{token}\t{tag}\n")
        out.write("\n")
    return out.getvalue()


def load_wnut17(split: str = "train", root: str | os.PathLike | None = None) -> list[TaggedSentence]:
    """WNUT-17 sentences (BIO tags over six entity types) for ``split`` in train, dev, test.

    Sizes: train 3,394 sentences / 62,730 tokens, dev 1,009 / 15,733, test 1,287 / 23,394.
    """
    if split not in WNUT17_FILES:
        raise SeqlabError(f"split: expected one of {sorted(WNUT17_FILES)}, got {split!r}")
    path = dataset_file(f"wnut17/{WNUT17_FILES[split]}", root)
    with open(path, encoding="utf-8") as handle:
        return parse_conll(handle)


# --- raw text: Gutenberg, The Time Machine, Tiny Shakespeare -------------------------------------


def gutenberg_files(root: str | os.PathLike | None = None) -> list[Path]:
    """The ``*.txt`` files of ``gutenberg/``, sorted by name (17 texts)."""
    folder = data_dir(root) / "gutenberg"
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise SeqlabError(f"no gutenberg/*.txt files in {folder.parent}; "
                          "get them with seqlab.data.download('gutenberg', <folder>)")
    return files


def load_gutenberg(root: str | os.PathLike | None = None, names: Iterable[str] | None = None) -> dict[str, str]:
    """The Gutenberg texts decoded as Latin-1, by file name (``"austen-emma.txt"``: text)."""
    if names is None:
        return {path.name: path.read_text(encoding=GUTENBERG_ENCODING) for path in gutenberg_files(root)}
    return {name: dataset_file(f"gutenberg/{name}", root).read_text(encoding=GUTENBERG_ENCODING) for name in names}


def load_timemachine(root: str | os.PathLike | None = None) -> str:
    """H. G. Wells, *The Time Machine* (178,979 bytes of ASCII), as d2l distributes it."""
    return dataset_file("timemachine/timemachine.txt", root).read_text(encoding="utf-8")


def load_tiny_shakespeare_file(root: str | os.PathLike | None = None) -> str:
    """Tiny Shakespeare from the data folder (the same bytes as the bundled copy)."""
    return dataset_file("tinyshakespeare/input.txt", root).read_text(encoding="utf-8")


# --- time series: airline passengers -------------------------------------------------------------


def load_airline(root: str | os.PathLike | None = None) -> tuple[list[str], list[float]]:
    """Box & Jenkins' monthly airline passengers (thousands), 1949-01 to 1960-12: (months, values)."""
    path = dataset_file("airline/Airline.csv", root)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or [c.strip() for c in rows[0]] != ["Date", "Passengers"]:
        raise SeqlabError(f"{path}: expected the header 'Date,Passengers', got {rows[:1]}")
    months, values = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            months.append(row[0].strip())
            values.append(float(row[1]))
        except (IndexError, ValueError) as bad:
            raise SeqlabError(f"{path} line {number}: expected 'YYYY-MM,<number>', got {row}") from bad
    return months, values
