"""Learning BPE merges from word counts: the training loop shared by the BPE and WordPiece trainers.

Byte-pair encoding (Sennrich et al., 2016) starts from words split into symbols and repeats:

    (a, b) = argmax_{(a, b)} count(a, b),   count(a, b) = sum_w n_w * #{i : w_i = a, w_{i+1} = b}

then replaces every adjacent ``a b`` by the new symbol ``ab``. Counting all pairs again after every
merge costs O(corpus) per merge; here each word is stored once with its count ``n_w``, only the
words that contain the merged pair are rewritten, and the pair counts change by the difference
between the word's pairs after and before (times ``n_w``). The best pair comes from a max-heap whose
stale entries are skipped lazily: an entry whose count differs from the current count is pushed
again with the current count.

Tie-break (documented and tested): among pairs with the same count the pair with the smaller
``(left id, right id)`` wins -- the rule of Hugging Face's ``BpeTrainer``. With byte ids equal to
byte values, this gives Wikipedia's ``"aaabdaaabac"`` example exactly (``aa``, then ``ab``, then
``aa ab``).

Example:
    >>> words, counts = [[97, 97, 97, 98, 100, 97, 97, 97, 98, 97, 99]], [1]
    >>> learn_merges(words, counts, n_new=3, combine=_Counter(256))
    [(97, 97), (97, 98), (256, 257)]
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable

from seqlab.text._gc import collector_paused


class _Counter:
    """``combine`` for plain BPE: every merge makes a new id, counting from ``first``."""

    def __init__(self, first: int):
        self.next = first

    def __call__(self, a: int, b: int) -> tuple[int, bool]:
        self.next += 1
        return self.next - 1, True


def learn_merges(words: list[list[int]], counts: list[int], n_new: int,
                 combine: Callable[[int, int], tuple[int, bool]], min_count: int = 1,
                 on_merge: Callable[[int], None] | None = None) -> list[tuple[int, int]]:
    """Learn merges until ``n_new`` new symbols exist or no pair occurs ``min_count`` times.

    Args:
        words: each distinct word as a list of symbol ids (not modified).
        counts: ``counts[w]`` is the number of times word ``w`` occurs.
        n_new: how many new symbols to create.
        combine: ``combine(a, b) -> (id, is_new)``: the id of the merged symbol, and whether it is a new
            one (WordPiece's ``a + ##bc`` and ``ab + ##c`` both give ``abc``: the second is not new).
        min_count: pairs seen fewer times are never merged.
        on_merge: called with the number of new symbols after each merge (progress bars).

    Returns:
        The merges ``(a, b)`` in the order learned.
    """
    with collector_paused():
        return _learn(words, counts, n_new, combine, min_count, on_merge)


def _learn(words, counts, n_new, combine, min_count, on_merge) -> list[tuple[int, int]]:
    """``learn_merges``' loop (word lists copied first: the caller's stay untouched)."""
    words = [list(word) for word in words]
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        n_w = counts[w]
        for pair in itertools.pairwise(word):
            pair_counts[pair] += n_w
            where[pair].add(w)
    # max-heap on count, then min on (a, b): heapq is a min-heap, so store -count
    heap = [(-count, a, b) for (a, b), count in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    made = 0
    while made < n_new and heap:
        negative, a, b = heapq.heappop(heap)
        current = pair_counts.get((a, b), 0)
        if current != -negative:
            if current > 0:
                heapq.heappush(heap, (-current, a, b))
            continue
        if current < min_count:
            break
        new, is_new = combine(a, b)
        made += is_new
        merges.append((a, b))
        delta: dict[tuple[int, int], int] = defaultdict(int)
        for w in where.pop((a, b)):
            word = words[w]
            merged = _merge_word(word, a, b, new)
            if merged is None:
                continue  # a stale entry: the pair left this word in an earlier merge
            n_w = counts[w]
            for pair in itertools.pairwise(word):
                delta[pair] -= n_w
            for pair in itertools.pairwise(merged):
                delta[pair] += n_w
                if new in pair:
                    where[pair].add(w)
            words[w] = merged
        for pair, change in delta.items():
            if change:
                pair_counts[pair] += change
                if change > 0:
                    heapq.heappush(heap, (-pair_counts[pair], *pair))
        pair_counts.pop((a, b), None)
        if on_merge is not None:
            on_merge(made)
    return merges


def _merge_word(word: list[int], a: int, b: int, new: int) -> list[int] | None:
    """``word`` with every ``a b`` (left to right, non-overlapping) replaced by ``new``; None if absent."""
    out: list[int] = []
    i, n, found = 0, len(word), False
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
            found = True
        else:
            out.append(word[i])
            i += 1
    return out if found else None
