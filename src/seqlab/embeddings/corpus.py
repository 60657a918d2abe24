"""Corpus and vocabulary for embedding training: words -> counted, frequency-sorted ids.

Word vectors train on a stream of word ids cut into sentences (a window never crosses a sentence
boundary). ``read_corpus`` reads text files (the Gutenberg texts are Latin-1; a UTF-8 BOM is dropped and
Windows line ends are read; a decode error names the file and byte), lower-cases them,
keeps the words of ``WORD_PATTERN`` and cuts each file into chunks of ``chunk_size`` words, which
is how the reference gensim run of the shared data's MANIFEST.md was made.

Example:
    >>> vocab = build_vocabulary([["a", "b", "a"], ["b", "a", "c"]], min_count=2)
    >>> vocab.words, vocab.counts.tolist()
    (['a', 'b'], [3, 2])
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import regex
import torch

from seqlab.checks import integer
from seqlab.errors import SeqlabError
from seqlab.files import read_text

WORD_PATTERN = regex.compile(r"[a-z]+(?:'[a-z]+)?")


def tokenize_words(text: str) -> list[str]:
    """Lower-case ``text`` and keep its words: runs of a-z with an optional ``'s``-style suffix."""
    return WORD_PATTERN.findall(text.lower())


def read_corpus(paths: Iterable[str | os.PathLike], encoding: str = "utf-8", chunk_size: int = 1000) -> list[list[str]]:
    """Tokenize text files into sentences of at most ``chunk_size`` words (one file never spans two)."""
    integer(chunk_size, "chunk_size", low=1)
    paths = [Path(path) for path in paths]
    sentences: list[list[str]] = []
    for path in paths:
        words = tokenize_words(read_text(path, encoding))  # names the file on a decode error
        sentences.extend(words[i : i + chunk_size] for i in range(0, len(words), chunk_size))
    if not any(sentences):
        raise SeqlabError(f"empty corpus: no words in {[str(p) for p in paths]}")
    return sentences


@dataclass
class Vocabulary:
    """Words sorted by decreasing count (ties in order of first appearance) and their counts."""

    words: list[str]
    counts: torch.Tensor  # (V,) long
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The in-vocabulary words as one id stream and the sentence number of each id.

        Out-of-vocabulary words are dropped before windowing, as word2vec and gensim do.
        Returns ``ids`` (N,) and ``sentence`` (N,), both long.
        """
        ids: list[int] = []
        owner: list[int] = []
        for number, sentence in enumerate(sentences):
            kept = [self.index[w] for w in sentence if w in self.index]
            ids.extend(kept)
            owner.extend([number] * len(kept))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(owner, dtype=torch.long)


def build_vocabulary(sentences: Iterable[Sequence[str]], min_count: int = 5, max_size: int | None = None) -> Vocabulary:
    """Count words; keep those seen at least ``min_count`` times, the ``max_size`` most frequent."""
    counter: Counter[str] = Counter()
    for sentence in sentences:
        counter.update(sentence)
    kept = [(w, c) for w, c in counter.items() if c >= min_count]  # Counter keeps first-appearance order
    kept.sort(key=lambda item: -item[1])  # stable: ties stay in order of first appearance
    if max_size is not None:
        kept = kept[:max_size]
    if not kept:
        raise SeqlabError(f"empty vocabulary: no word occurs at least min_count={min_count} times "
                          f"(the corpus has {sum(counter.values()):,} words, {len(counter):,} distinct)")
    return Vocabulary([w for w, _ in kept], torch.tensor([c for _, c in kept], dtype=torch.long))


def check_pairs(model: str, sentences: Sequence[Sequence[str]], vocab: Vocabulary, sentence: torch.Tensor,
                min_count: int, window: int, least_vocabulary: int = 2) -> None:
    """Raise unless training has something to learn from: ``least_vocabulary`` words, two of them in one sentence.

    ``sentence`` (N,) is the sentence number of each in-vocabulary word (``Vocabulary.encode``); with
    any window >= 1, a pair exists exactly when two neighbours in the id stream share a sentence.
    """
    words = sum(len(s) for s in sentences)
    sizes = (f"{words:,} words in {len(sentences):,} sentences, vocabulary of {len(vocab):,} at "
             f"min_count={min_count}, window={window}")
    if len(vocab) < least_vocabulary:
        raise SeqlabError(f"{model}: no training pairs: {sizes}; expected at least {least_vocabulary} "
                          f"vocabulary words (add text or lower min_count)")
    if not bool((sentence[1:] == sentence[:-1]).any()):
        raise SeqlabError(f"{model}: no training pairs: {sizes}; no sentence holds two vocabulary words")
