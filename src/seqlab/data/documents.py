"""Unlabelled text as documents and sentences: what pre-training reads.

    read_documents(path, corpus, encoding) -> [Document(name, text), ...]
    split_sentences(text)                  -> ["First sentence.", "Second one?", ...]

A corpus is a list of documents, one per file: a user's text file, every ``*.txt`` file of a user's
folder (in name order), or the named corpora of the shared data folder and the package:

==================  ================================================================  ==========
name                files                                                             encoding
==================  ================================================================  ==========
``gutenberg``       the 17 NLTK Gutenberg texts (``$SEQLAB_DATA_DIR/gutenberg``)       Latin-1
``timemachine``     H. G. Wells, *The Time Machine* (``$SEQLAB_DATA_DIR/timemachine``)  UTF-8
``tinyshakespeare`` Tiny Shakespeare (bundled with seqlab)                             UTF-8
==================  ================================================================  ==========

Sentences: a blank line ends a paragraph, and a paragraph always ends a sentence; inside one, the
lines are joined with single spaces and a sentence ends after ``.``, ``!`` or ``?`` (and any closing
quotes or brackets) followed by white space and a capital letter, a digit or an opening quote,
except after the usual abbreviations (``Mr.``, ``Mrs.``, ``Dr.``, ``St.``, single initials).
It is a rule of thumb, not a parser: poetry without full stops gives long "sentences", which
pre-training cuts to its budget anyway.

Example:
    >>> split_sentences("Mr. Knightley came.  'Did you?' she asked.\\nHe smiled\\n\\nA new paragraph")
    ['Mr. Knightley came.', "'Did you?' she asked.", 'He smiled', 'A new paragraph']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import regex

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.data.loaders import load_gutenberg, load_timemachine
from seqlab.errors import SeqlabError
from seqlab.files import read_text

CORPORA = ("gutenberg", "timemachine", "tinyshakespeare")
ENCODINGS = ("utf-8", "latin-1")
ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "sr", "jr", "vs", "etc", "no", "vol", "ch", "mt", "capt",
                           "col", "gen", "lt", "rev", "prof", "hon"})

_PARAGRAPH = regex.compile(r"\n[ \t]*\n")
_BOUNDARY = regex.compile(r"""(?<=[.!?][\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[\p{Lu}\d])""")
_LAST_WORD = regex.compile(r"(\w+)[.!?][\"'”’)\]]*$")


class Document(NamedTuple):
    """One text of a corpus: where it came from and what it says."""

    name: str
    text: str


def read_documents(path: str | os.PathLike | None = None, corpus: Sequence[str] = ("gutenberg", "timemachine"),
                   encoding: str = "utf-8", root: str | os.PathLike | None = None) -> list[Document]:
    """The documents of ``path`` (a text file, or a folder of ``*.txt`` files), or else of the named ``corpus``.

    Args:
        path: a user's file or folder, read as ``encoding`` (BOM dropped, CRLF read as LF).
        corpus: names from ``CORPORA``, read when ``path`` is None, each with its own encoding.
        encoding: of the user's files: ``utf-8`` or ``latin-1``.
        root: the shared data folder (``$SEQLAB_DATA_DIR`` when None).
    """
    if encoding not in ENCODINGS:
        raise SeqlabError(f"data.encoding: expected one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if path is not None:
        return _user_documents(Path(path), encoding)
    check_corpus(corpus)
    documents = []
    for name in corpus:
        if name == "gutenberg":
            documents += [Document(f"gutenberg/{file}", text) for file, text in load_gutenberg(root).items()]
        elif name == "timemachine":
            documents.append(Document("timemachine/timemachine.txt", load_timemachine(root)))
        else:
            documents.append(Document("tinyshakespeare.txt", load_tiny_shakespeare()))
    return documents


def check_corpus(corpus: Sequence[str]) -> None:
    """A ``SeqlabError`` naming the first unknown corpus name (or an empty list)."""
    if not corpus:
        raise SeqlabError(f"data.corpus: expected at least one of {', '.join(CORPORA)}, got none")
    for name in corpus:
        if name not in CORPORA:
            raise SeqlabError(f"data.corpus: expected names from {', '.join(CORPORA)}, got {name!r}")


def _user_documents(path: Path, encoding: str) -> list[Document]:
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise SeqlabError(f"data.path: the folder {path} holds no *.txt file")
        return [Document(file.name, read_text(file, encoding)) for file in files]
    if not path.is_file():
        raise SeqlabError(f"data.path: {path} does not exist")
    return [Document(path.name, read_text(path, encoding))]


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` by the rule of the module docstring, white space collapsed, none empty."""
    sentences = []
    for paragraph in _PARAGRAPH.split(text):
        flat = " ".join(paragraph.split())
        if not flat:
            continue
        start = 0
        for boundary in _BOUNDARY.finditer(flat):
            candidate = flat[start:boundary.start()]
            last = _LAST_WORD.search(candidate)
            if last is not None and (last.group(1).lower() in ABBREVIATIONS or len(last.group(1)) == 1):
                continue  # "Mr. Knightley", "H. G. Wells": not the end of a sentence
            sentences.append(candidate)
            start = boundary.end()
        sentences.append(flat[start:])
    return sentences


__all__ = ["ABBREVIATIONS", "CORPORA", "ENCODINGS", "Document", "check_corpus", "read_documents", "split_sentences"]
