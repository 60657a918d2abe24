"""Intrinsic evaluation: analogy accuracy (Google set) and word-similarity correlation (WS-353, SimLex-999).

Both count as gensim's ``evaluate_word_analogies`` and ``evaluate_word_pairs`` do (tested on a
case-preserving vocabulary):

- words are matched case-insensitively (by ``str.upper``, as gensim) within the ``restrict`` most
  frequent words; a word with several case variants there ("Paris", "paris") takes the vector of
  the most frequent one (the first in the vocabulary);
- a question or pair with a word outside them is skipped and counted in ``oov_rate``;
- an analogy "a : b :: c : ?" is answered by the best of the top five words by 3CosAdd (or
  3CosMul) that is not a case variant of a, b or c; it is correct when that word is a case
  variant of d (gensim's rule: when all five are variants of a, b or c, the fifth one stands);
- analogy accuracy is correct / attempted; similarity is Spearman's rank correlation between
  cosines and human scores.

``case_insensitive=False`` matches words exactly, as gensim's flag of the same name.

The files ship with gensim (a test and benchmark dependency, never imported here):
``gensim.test.utils.datapath("questions-words.txt")``, ``"wordsim353.tsv"``, ``"simlex999.txt"``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from seqlab.embeddings.keyed_vectors import COSMUL_EPS, KeyedVectors
from seqlab.errors import SeqlabError
from seqlab.files import read_text

ANSWERS_LOOKED_AT = 5  # gensim's evaluate_word_analogies looks at its top five answers


@dataclass
class AnalogyResult:
    accuracy: float  # correct / attempted
    correct: int
    attempted: int
    total: int
    oov_rate: float  # share of questions skipped for an unknown word
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (correct, attempted)


@dataclass
class SimilarityResult:
    spearman: float
    pearson: float
    pairs: int  # pairs scored
    total: int
    oov_rate: float


def read_analogies(path: str | os.PathLike) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Sections of ``a b c d`` questions from a file in the Google format (``: section`` headers)."""
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.split()
        if not words:
            continue
        if len(words) != 4:
            raise SeqlabError(f"{path} line {number}: expected four words 'a b c d', got {line[:60]!r}")
        if not sections:
            sections.append(("questions", []))
        sections[-1][1].append(tuple(words))
    return sections


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """``word1<TAB>word2<TAB>score`` lines; ``#`` lines are comments."""
    pairs = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            pairs.append((parts[0], parts[1], float(parts[2])))
        except (IndexError, ValueError) as error:
            raise SeqlabError(f"{path} line {number}: expected 'word1<TAB>word2<TAB>score', "
                              f"got {line[:60]!r}") from error
    return pairs


def _key(word: str, case_insensitive: bool) -> str:
    return word.upper() if case_insensitive else word


def _lookup(vectors: KeyedVectors, restrict: int | None, case_insensitive: bool) -> dict[str, int]:
    """Key -> row among the first ``restrict`` words; the first (most frequent) spelling of a key wins."""
    table: dict[str, int] = {}
    for i, word in enumerate(vectors.words[:restrict]):
        table.setdefault(_key(word, case_insensitive), i)
    return table


def evaluate_analogies(vectors: KeyedVectors, path: str | os.PathLike, restrict: int | None = 300_000,
                       method: str = "3cosadd", chunk: int = 512, case_insensitive: bool = True) -> AnalogyResult:
    """Accuracy on "a : b :: c : d" questions, answering among the ``restrict`` first words (see the module)."""
    if method not in ("3cosadd", "3cosmul"):
        raise SeqlabError(f"method: expected '3cosadd' or '3cosmul', got {method!r}")
    table = _lookup(vectors, restrict, case_insensitive)
    unit = vectors.unit[: len(vectors.words[:restrict])]  # (V', E)
    key_ids = {key: n for n, key in enumerate(dict.fromkeys(_key(w, case_insensitive) for w in vectors.words))}
    word_key = torch.tensor([key_ids[_key(w, case_insensitive)] for w in vectors.words[:restrict]])  # (V',)
    topn = min(ANSWERS_LOOKED_AT, len(unit) - 3)
    sections = {}
    total = correct_all = attempted_all = 0
    for name, questions in read_analogies(path):
        total += len(questions)
        keys = [[_key(w, case_insensitive) for w in q] for q in questions]
        known = [[table[k] for k in q] for q in keys if all(k in table for k in q)]
        correct = 0
        for start in range(0, len(known) if topn > 0 else 0, chunk):
            q = torch.tensor(known[start : start + chunk])  # (n, 4): rows of a, b, c, d
            a, b, c = unit[q[:, 0]], unit[q[:, 1]], unit[q[:, 2]]
            if method == "3cosadd":
                scores = (b - a + c) @ unit.T  # (n, V'): cos(x, b) - cos(x, a) + cos(x, c), up to |x|
            else:
                shifted = [(v @ unit.T + 1) / 2 for v in (a, b, c)]
                scores = shifted[1] * shifted[2] / (shifted[0] + COSMUL_EPS)
            scores.scatter_(1, q[:, :3], float("-inf"))  # the rows of a, b and c are never answers
            candidates = word_key[scores.topk(topn, dim=1).indices]  # (n, topn) keys, best first
            question_keys = word_key[q]  # (n, 4)
            is_query = (candidates[:, :, None] == question_keys[:, None, :3]).any(2)  # (n, topn)
            # the first candidate that is no case variant of a, b, c; else the last one, as gensim
            first = torch.where(is_query.all(1), topn - 1, (~is_query).int().argmax(1))
            answer = candidates.gather(1, first[:, None]).squeeze(1)
            correct += int((answer == question_keys[:, 3]).sum())
        sections[name] = (correct, len(known))
        correct_all += correct
        attempted_all += len(known)
    return AnalogyResult(correct_all / attempted_all if attempted_all else 0.0, correct_all, attempted_all, total,
                         1 - attempted_all / total if total else 0.0, sections)


def rank(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n, ties sharing the mean of their ranks (as ``scipy.stats.rankdata``)."""
    values = values.double()
    order = torch.argsort(values, stable=True)
    sorted_values = values[order]
    ranks = torch.empty_like(values)
    start = 0
    n = len(values)
    while start < n:
        end = start
        while end + 1 < n and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.norm() * y.norm()).item()
    return float((x @ y) / denominator) if denominator > 0 else float("nan")


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman's rho: the Pearson correlation of the ranks."""
    return pearson(rank(x), rank(y))


def evaluate_word_pairs(vectors: KeyedVectors, path: str | os.PathLike, restrict: int | None = 300_000,
                        case_insensitive: bool = True) -> SimilarityResult:
    """Spearman and Pearson correlation of cosines with human scores, over pairs of known words."""
    table = _lookup(vectors, restrict, case_insensitive)
    pairs = read_word_pairs(path)
    keyed = [(_key(a, case_insensitive), _key(b, case_insensitive), s) for a, b, s in pairs]
    known = [(table[a], table[b], s) for a, b, s in keyed if a in table and b in table]
    if len(known) < 2:
        return SimilarityResult(float("nan"), float("nan"), len(known), len(pairs), 1 - len(known) / max(len(pairs), 1))
    i = torch.tensor([k[0] for k in known])
    j = torch.tensor([k[1] for k in known])
    human = torch.tensor([k[2] for k in known], dtype=torch.float64)
    cosines = (vectors.unit[i] * vectors.unit[j]).sum(1)
    return SimilarityResult(spearman(cosines, human), pearson(cosines, human), len(known), len(pairs),
                            1 - len(known) / len(pairs))
