"""Loaders of the datasets seqlab knows (``seqlab.data.registry``), wherever they are.

Each loader finds its files through ``seqlab.data.locate``: ``root`` (a data folder) if given,
else ``$SEQLAB_DATA_DIR``, else the per-user folder that ``seqlab data get`` fills, else the copy
bundled with seqlab (sentence polarity, airline, Tiny Shakespeare whole; the first 40,000 Tatoeba
pairs). A dataset found nowhere raises a one-line ``SeqlabError`` with the command that fetches it.
The files are read as published (``seqlab.data.readers``: BOM, Windows line endings and encoding
errors handled) and returned as plain Python values: texts, labels, pairs, tagged sentences.
The formats have traps, handled here once:

- the Gutenberg texts are Latin-1, not UTF-8;
- ``fra.txt`` writes French spacing with U+00A0 (no-break space) and U+202F (narrow no-break
  space); ``normalize_spaces=True`` replaces both with a plain space, as d2l does;
- the WNUT-17 train file separates sentences by an empty line *or* a line holding only a TAB.

Example:
    >>> texts, labels = load_sentence_polarity()
    >>> len(texts), sum(labels)
    (10662, 5331)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from seqlab.data.locate import dataset_file, locate
from seqlab.data.readers import (
    FRENCH_SPACES,
    POLARITY_LABELS,
    TaggedSentence,
    format_conll,
    normalize_french_spaces,
    parse_conll,
    parse_parallel,
    read_conll_file,
    read_csv_rows,
    read_parallel_file,
    read_polarity_files,
)
from seqlab.errors import SeqlabError
from seqlab.files import read_text

WNUT17_FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}
GUTENBERG_ENCODING = "latin-1"


# --- sentiment: sentence polarity (Pang & Lee 2005) ---------------------------------------------


def load_sentence_polarity(root: str | os.PathLike | None = None) -> tuple[list[str], list[int]]:
    """The 10,662 movie-review snippets of ``sentence_polarity/``: texts and labels (0 neg, 1 pos).

    Negative snippets come first, then positive ones, in file order; shuffle before splitting
    (the standard protocol is 10-fold cross-validation).
    """
    location = locate("sentence_polarity", root)
    return read_polarity_files(*(location.file(f"sentence_polarity/rt-polarity.{name}") for name in POLARITY_LABELS))


# --- translation: Tatoeba English-French ---------------------------------------------------------


def load_fra_eng(
    root: str | os.PathLike | None = None, max_pairs: int | None = None, normalize_spaces: bool = True
) -> list[tuple[str, str]]:
    """English-French sentence pairs from ``fra-eng/fra.txt`` (167,130 pairs), in file order.

    The file is ordered by length, shortest first; the bundled part is its first 40,000 pairs.

    Args:
        max_pairs: keep only the first ``max_pairs`` pairs (d2l uses 600).
        normalize_spaces: replace U+00A0 and U+202F with plain spaces.
    """
    return read_parallel_file(dataset_file("fra-eng/fra.txt", root), normalize_spaces=normalize_spaces,
                              max_pairs=max_pairs)


# --- sequence labelling: WNUT-17 named entities -----------------------------------------------------


def load_wnut17(split: str = "train", root: str | os.PathLike | None = None) -> list[TaggedSentence]:
    """WNUT-17 sentences (BIO tags over six entity types) for ``split`` in train, dev, test.

    Sizes: train 3,394 sentences / 62,730 tokens, dev 1,009 / 15,733, test 1,287 / 23,394.
    """
    if split not in WNUT17_FILES:
        raise SeqlabError(f"split: expected one of {sorted(WNUT17_FILES)}, got {split!r}")
    return read_conll_file(dataset_file(f"wnut17/{WNUT17_FILES[split]}", root))


# --- raw text: Gutenberg, The Time Machine, Tiny Shakespeare -------------------------------------


def gutenberg_files(root: str | os.PathLike | None = None) -> list[Path]:
    """The 17 ``*.txt`` files of ``gutenberg/``, sorted by name."""
    location = locate("gutenberg", root)
    return sorted((file for path, file in location.files.items() if path.endswith(".txt")), key=lambda p: p.name)


def load_gutenberg(root: str | os.PathLike | None = None, names: Iterable[str] | None = None) -> dict[str, str]:
    """The Gutenberg texts decoded as Latin-1, by file name (``"austen-emma.txt"``: text)."""
    if names is None:
        return {path.name: read_text(path, GUTENBERG_ENCODING) for path in gutenberg_files(root)}
    location = locate("gutenberg", root)
    return {name: read_text(location.file(f"gutenberg/{name}"), GUTENBERG_ENCODING) for name in names}


def load_timemachine(root: str | os.PathLike | None = None) -> str:
    """H. G. Wells, *The Time Machine* (178,979 bytes of ASCII), as d2l distributes it."""
    return read_text(dataset_file("timemachine/timemachine.txt", root))


def load_tiny_shakespeare_file(root: str | os.PathLike | None = None) -> str:
    """Tiny Shakespeare, wherever it is found (the same bytes as the bundled copy)."""
    return read_text(dataset_file("tinyshakespeare/input.txt", root))


# --- time series: airline passengers -------------------------------------------------------------


def load_airline(root: str | os.PathLike | None = None) -> tuple[list[str], list[float]]:
    """Box & Jenkins' monthly airline passengers (thousands), 1949-01 to 1960-12: (months, values)."""
    path = dataset_file("airline/Airline.csv", root)
    header, rows = read_csv_rows(path)
    if header != ["Date", "Passengers"]:
        raise SeqlabError(f"{path}: line 1: expected the header 'Date,Passengers', got {','.join(header)!r}")
    months, values = [], []
    for line, row in rows:
        try:
            months.append(row[0].strip())
            values.append(float(row[1]))
        except (IndexError, ValueError):
            raise SeqlabError(f"{path}: line {line}: expected 'YYYY-MM,<number>', got {row}") from None
    return months, values


__all__ = [
    "FRENCH_SPACES",
    "GUTENBERG_ENCODING",
    "POLARITY_LABELS",
    "WNUT17_FILES",
    "TaggedSentence",
    "dataset_file",
    "format_conll",
    "gutenberg_files",
    "load_airline",
    "load_fra_eng",
    "load_gutenberg",
    "load_sentence_polarity",
    "load_timemachine",
    "load_tiny_shakespeare_file",
    "load_wnut17",
    "normalize_french_spaces",
    "parse_conll",
    "parse_parallel",
]
