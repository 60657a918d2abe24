"""Word-vector files: the word2vec text and binary formats and the GloVe text format.

=================  ==========================================================================
format             layout
=================  ==========================================================================
``word2vec``       header ``"V E\\n"``, then ``word v_1 ... v_E\\n`` per word (UTF-8 text)
``word2vec-binary``  header ``"V E\\n"``, then ``word`` + a space + E little-endian float32
                   (4E bytes) per word; the C tool writes a newline after each vector, gensim
                   does not: both are read
``glove``          no header; ``word v_1 ... v_E\\n`` per word (Stanford's GloVe output)
=================  ==========================================================================

Text values are written with 9 significant digits, enough to give back every float32 exactly.
Files are written atomically; nothing is unpickled. A file that does not hold what its format says
(a bad header, a row of the wrong length, a NaN or infinite value, bytes that are not UTF-8) raises a
one-line ``SeqlabError`` naming the file and the line (in a binary file: the vector's number).

Example:
    >>> save_vectors(kv, "vectors.bin", "word2vec-binary")   # doctest: +SKIP
    >>> load_vectors("vectors.bin").words[:3]                 # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import SeqlabError
from seqlab.files import write_atomic

FORMATS = ("word2vec", "word2vec-binary", "glove")


def save_vectors(vectors: KeyedVectors, path: str | os.PathLike, format: str = "word2vec") -> None:
    """Write ``vectors`` to ``path`` in ``format`` (one of ``FORMATS``)."""
    _check_format(format)
    matrix = vectors.vectors.detach().cpu().numpy().astype("<f4")  # (V, E)
    out = io.BytesIO()
    if format != "glove":
        out.write(f"{len(vectors)} {vectors.vector_size}\n".encode())
    for word, row in zip(vectors.words, matrix):
        if not word or any(c.isspace() for c in word):
            raise SeqlabError(f"word {word!r}: these formats cannot hold an empty word or one with whitespace")
        if format == "word2vec-binary":
            out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            out.write((word + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n").encode("utf-8"))
    write_atomic(path, out.getvalue())


def load_vectors(path: str | os.PathLike, format: str = "auto") -> KeyedVectors:
    """Read a vector file; ``format="auto"`` tells the three formats apart from the first bytes."""
    path = Path(path)
    data = path.read_bytes()
    if format == "auto":
        format = detect_format(data, path)
    _check_format(format)
    if format == "word2vec-binary":
        return _read_binary(data, path)
    return _read_text(data, path, header=format == "word2vec")


def detect_format(data: bytes, path: Path | str = "<bytes>") -> str:
    """``word2vec-binary`` if the body is not text, ``word2vec`` if line 1 is ``"V E"``, else ``glove``."""
    first, _, rest = data.partition(b"\n")
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        # a text file has numbers after the first word of line 2 (a wrong count is the reader's error to
        # report); a binary one has raw float32 bytes there
        second = rest.partition(b"\n")[0].split()
        return "word2vec" if len(second) > 1 and all(_is_number(v) for v in second[1:]) else "word2vec-binary"
    if len(parts) >= 2:
        return "glove"
    raise SeqlabError(f"{path}: unknown vector format: expected a 'V E' header or 'word v1 v2 ...' lines, "
                      f"got {first[:60]!r}")


def _is_number(value: bytes) -> bool:
    try:
        float(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise SeqlabError(f"format: expected one of {', '.join(FORMATS)}, got {format!r}")


def _read_text(data: bytes, path: Path, header: bool) -> KeyedVectors:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SeqlabError(f"{path} line {line}: not UTF-8 text (byte {error.start}); is it a binary word2vec "
                          f"file, or text in another encoding?") from None
    lines = text.splitlines()
    count = dim = None
    if header:
        if not lines:
            raise SeqlabError(f"{path}: empty file, expected a 'V E' header")
        count, dim = _header(lines[0], path)
        lines = lines[1:]
    words, rows = [], []
    for number, line in enumerate(lines, start=2 if header else 1):
        parts = line.rstrip().split(" ")
        if parts == [""]:
            continue
        expected = dim if dim is not None else (len(rows[0]) if rows else None)
        if expected is not None and len(parts) - 1 != expected:
            raise SeqlabError(f"{path} line {number}: expected a word and {expected} values, got "
                              f"{len(parts) - 1} values")
        try:
            row = [float(v) for v in parts[1:]]
        except ValueError:
            raise SeqlabError(f"{path} line {number}: expected numbers after the word, got {line[:60]!r}") from None
        if not row:
            raise SeqlabError(f"{path} line {number}: expected a word and its values, got {line[:60]!r}")
        if not all(math.isfinite(v) for v in row):
            raise SeqlabError(f"{path} line {number}: word {parts[0]!r} has a NaN or infinite value")
        rows.append(row)
        words.append(parts[0])
    if not rows:
        raise SeqlabError(f"{path}: no vectors")
    if header and len(words) != count:
        raise SeqlabError(f"{path}: the header announces {count} x {dim}, the file holds {len(words)} x {len(rows[0])}")
    _check_distinct(words, path)
    return KeyedVectors(words, torch.tensor(rows, dtype=torch.float32))


def _check_distinct(words: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for number, word in enumerate(words, start=1):
        if word in seen:
            raise SeqlabError(f"{path}: word {word!r} appears twice (vectors {seen[word]} and {number}); "
                              f"expected each word once")
        seen[word] = number


def _header(line: str | bytes, path: Path) -> tuple[int, int]:
    parts = line.split()
    try:
        count, dim = int(parts[0]), int(parts[1])
        if len(parts) != 2 or count < 1 or dim < 1:
            raise ValueError
    except (IndexError, ValueError):
        raise SeqlabError(f"{path} line 1: expected a header 'V E' (two positive integers), "
                          f"got {line[:60]!r}") from None
    return count, dim


def _read_binary(data: bytes, path: Path) -> KeyedVectors:
    first, _, body = data.partition(b"\n")
    count, dim = _header(first, path)
    width = 4 * dim
    matrix = np.empty((count, dim), dtype=np.float32)
    words = []
    at = 0
    for i in range(count):
        while at < len(body) and body[at : at + 1] == b"\n":  # the C tool's newline after a vector
            at += 1
        space = body.find(b" ", at)
        if space < 0 or space + 1 + width > len(body):
            raise SeqlabError(f"{path}: truncated binary file at vector {i + 1} of {count}")
        try:
            words.append(body[at:space].decode("utf-8"))
        except UnicodeDecodeError:
            raise SeqlabError(f"{path}: the word of vector {i + 1} is not UTF-8 ({body[at:space][:40]!r})") from None
        matrix[i] = np.frombuffer(body, dtype="<f4", count=dim, offset=space + 1)
        if not np.isfinite(matrix[i]).all():
            raise SeqlabError(f"{path}: vector {i + 1} (word {words[-1]!r}) has a NaN or infinite value")
        at = space + 1 + width
    _check_distinct(words, path)
    return KeyedVectors(words, torch.from_numpy(matrix))
