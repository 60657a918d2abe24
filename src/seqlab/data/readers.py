"""Readers for the files users have: plain text, TAB-separated pairs, CoNLL, CSV/TSV and JSON Lines.

Every reader takes a file as people save it: a UTF-8 byte-order mark (Excel, Notepad) is dropped,
Windows (``\\r\\n``) and old Mac (``\\r``) line endings are read as ``\\n``, and a file that is not
valid in its encoding raises a ``SeqlabError`` naming the file and suggesting the ``encoding``
option. A line that does not parse raises a one-line ``SeqlabError`` naming the file and the line
(1-based; a CSV header is line 1). Text is read with ``seqlab.files.read_text``.

The ``parse_*`` functions take lines already read (``source`` names them in errors); the ``read_*``
functions take a path.

Example:
    >>> parse_parallel(["Go.\\tVa !\\tCC-BY 2.0\\n"])
    [('Go.', 'Va !')]
    >>> parse_conll(["Paris\\tB-location\\n", "is\\tO\\n", "\\n"])
    [TaggedSentence(tokens=['Paris', 'is'], tags=['B-location', 'O'])]
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from seqlab.errors import SeqlabError
from seqlab.files import read_text

FRENCH_SPACES = {"\u00a0": " ", "\u202f": " "}  # no-break space, narrow no-break space
DOCUMENT_START = "-DOCSTART-"  # CoNLL-2003's document separator line, not a token
LABELLED_SUFFIXES = (".csv", ".tsv", ".jsonl")


class TaggedSentence(NamedTuple):
    """One sentence of a sequence-labelling corpus: parallel lists of tokens and tags."""

    tokens: list[str]
    tags: list[str]


def _where(source: str | os.PathLike | None, number: int) -> str:
    return f"line {number}" if source is None else f"{source}: line {number}"


def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file without their line endings (BOM dropped; ``\\r\\n`` and ``\\r`` end lines).

    Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line: a U+2028 or form feed inside a line stays in it
    (``str.splitlines`` would split there).
    """
    text = read_text(path, encoding=encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    return lines


# -- parallel text: source<TAB>target ---------------------------------------------------------


def normalize_french_spaces(text: str) -> str:
    """Replace U+00A0 and U+202F (French typographic spaces) with a plain space."""
    for odd, plain in FRENCH_SPACES.items():
        text = text.replace(odd, plain)
    return text


def parse_parallel(lines: Iterable[str], normalize_spaces: bool = True,
                   source: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """Parse ``source<TAB>target[<TAB>more columns]`` lines into (source, target) pairs.

    Empty lines are skipped; a non-empty line with fewer than two columns raises ``SeqlabError``
    naming ``source`` (the file) and the line.
    """
    pairs = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise SeqlabError(f"{_where(source, number)}: expected 'source<TAB>target', got {line[:60]!r}")
        first, second = columns[0], columns[1]
        if normalize_spaces:
            first, second = normalize_french_spaces(first), normalize_french_spaces(second)
        pairs.append((first, second))
    return pairs


def read_parallel_file(path: str | os.PathLike, normalize_spaces: bool = True, max_pairs: int | None = None,
                       encoding: str = "utf-8") -> list[tuple[str, str]]:
    """The (source, target) pairs of a ``source<TAB>target`` file, the first ``max_pairs`` if given."""
    lines = read_lines(path, encoding)
    if max_pairs is not None:
        lines = _first_nonempty(lines, max_pairs)
    return parse_parallel(lines, normalize_spaces=normalize_spaces, source=path)


def _first_nonempty(lines: list[str], count: int) -> list[str]:
    """The lines up to and including the ``count``-th non-empty one (blank lines keep the line numbers)."""
    seen = 0
    for index, line in enumerate(lines):
        if line.strip():
            seen += 1
            if seen == count:
                return lines[:index + 1]
    return lines


# -- sequence labelling: CoNLL --------------------------------------------------------------------


def parse_conll(lines: Iterable[str], source: str | os.PathLike | None = None) -> list[TaggedSentence]:
    """Parse CoNLL lines into sentences: the token in the first column, the tag in the last.

    Columns are separated by TABs (``token<TAB>tag``, as WNUT-17), or by spaces when a line has no
    TAB (CoNLL-2003's ``EU NNP B-NP B-ORG``). A sentence ends at a line that is empty or holds only
    whitespace (WNUT-17's train file uses a lone TAB). A token may be empty (``"\\tO"`` occurs in
    the WNUT-17 test file). ``-DOCSTART-`` lines are skipped. A line with a single column raises
    ``SeqlabError`` naming ``source`` (the file) and the line.
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
        columns = line.split("\t") if "\t" in line else line.split()
        if columns[0] == DOCUMENT_START:
            continue
        if len(columns) < 2:
            raise SeqlabError(f"{_where(source, number)}: expected 'token<TAB>tag', got {line[:60]!r}")
        tokens.append(columns[0])
        tags.append(columns[-1])
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


def read_conll_file(path: str | os.PathLike, encoding: str = "utf-8") -> list[TaggedSentence]:
    """The sentences of a CoNLL file (see ``parse_conll``)."""
    return parse_conll(read_lines(path, encoding), source=path)


# -- tables: CSV, TSV ------------------------------------------------------------------------------


def read_csv_rows(path: str | os.PathLike, delimiter: str = ",",
                  encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows of a CSV (or, with ``delimiter="\\t"``, TSV) file.

    Returns ``(header, rows)``, each row as ``(line, fields)`` with ``line`` the 1-based line where
    the record starts (the header is line 1). Blank lines are skipped. Quoted fields may hold the
    delimiter and line breaks, as Excel writes them.
    """
    text = read_text(path, encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if record and any(field.strip() for field in record):
                if header is None:
                    header = [field.strip() for field in record]
                else:
                    rows.append((start, record))
            start = reader.line_num + 1
    except csv.Error as error:
        raise SeqlabError(f"{path}: line {start}: not a valid {'TSV' if delimiter == chr(9) else 'CSV'} "
                          f"record ({error})") from None
    if header is None:
        raise SeqlabError(f"{path}: expected a header line naming the columns, got an empty file")
    return header, rows


# -- labelled texts: CSV, TSV, JSON Lines, and the polarity folder ----------------------------------


def read_labelled_file(path: str | os.PathLike, text_column: str = "text", label_column: str = "label",
                       encoding: str = "utf-8") -> list[tuple[str, str]]:
    """(text, label) pairs from a ``.csv``, ``.tsv`` or ``.jsonl`` file with named text and label fields.

    A CSV/TSV file has a header naming its columns; a JSON Lines file has one object per line. Labels
    are returned as strings (``1`` and ``"1"`` are the same label), stripped; an empty label is an error.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LABELLED_SUFFIXES:
        raise SeqlabError(f"{path}: expected a {', '.join(LABELLED_SUFFIXES)} file, got {suffix or 'no suffix'!r}")
    if suffix == ".jsonl":
        return _read_labelled_jsonl(path, text_column, label_column, encoding)
    header, rows = read_csv_rows(path, delimiter="\t" if suffix == ".tsv" else ",", encoding=encoding)
    for key in (text_column, label_column):
        if key not in header:
            raise SeqlabError(f"{path}: line 1: expected a column named {key!r}, got {header}")
    text_at, label_at = header.index(text_column), header.index(label_column)
    pairs = []
    for line, record in rows:
        if len(record) <= max(text_at, label_at) or not record[label_at].strip():
            raise SeqlabError(f"{path}: line {line}: expected the fields {text_column!r} and {label_column!r}, "
                              f"got {record}"[:200])
        pairs.append((record[text_at], record[label_at].strip()))
    return pairs


def _read_labelled_jsonl(path: Path, text_column: str, label_column: str, encoding: str) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SeqlabError(f"{path}: line {number}: not valid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise SeqlabError(f"{path}: line {number}: expected a JSON object, got {type(record).__name__}")
        for key in (text_column, label_column):
            if key not in record or record[key] is None:
                raise SeqlabError(f"{path}: line {number}: expected a JSON object with key {key!r}, "
                                  f"got keys {sorted(record)}"[:200])
        label = str(record[label_column]).strip()
        if not label:
            raise SeqlabError(f"{path}: line {number}: field {label_column!r} is empty")
        pairs.append((str(record[text_column]), label))
    return pairs


POLARITY_LABELS = ("neg", "pos")  # label id -> name in read_polarity_folder and load_sentence_polarity


def read_polarity_files(negative: str | os.PathLike, positive: str | os.PathLike) -> tuple[list[str], list[int]]:
    """Texts and labels (0 negative, 1 positive) from two files of one snippet per line, negatives first."""
    texts: list[str] = []
    labels: list[int] = []
    for label, path in enumerate((negative, positive)):
        for line in read_lines(path):
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
    return texts, labels


def read_polarity_folder(folder: str | os.PathLike) -> tuple[list[str], list[int]]:
    """The ``rt-polarity.neg`` and ``rt-polarity.pos`` files of ``folder`` (the sentence_polarity layout)."""
    folder = Path(folder)
    files = [folder / f"rt-polarity.{name}" for name in POLARITY_LABELS]
    for file in files:
        if not file.is_file():
            raise SeqlabError(f"{folder}: expected the files rt-polarity.neg and rt-polarity.pos, "
                              f"{file.name} is missing")
    return read_polarity_files(*files)


__all__ = [
    "FRENCH_SPACES",
    "POLARITY_LABELS",
    "TaggedSentence",
    "format_conll",
    "normalize_french_spaces",
    "parse_conll",
    "parse_parallel",
    "read_conll_file",
    "read_csv_rows",
    "read_labelled_file",
    "read_lines",
    "read_parallel_file",
    "read_polarity_files",
    "read_polarity_folder",
]
