"""Word vectors with lookup by word: similarity, neighbours, analogies (gensim's KeyedVectors, in torch).

Similarities are cosines, ``cos(x, y) = x . y / (|x| |y|)``, computed against unit-normalised
vectors. Analogies "a is to b as c is to ?" (Athens : Greece :: Baghdad : ?) exclude a, b, c from
the answers and rank every other word x by

    3CosAdd (Mikolov et al., 2013):   cos(x, b) - cos(x, a) + cos(x, c)
    3CosMul (Levy & Goldberg, 2014):  cos'(x, b) * cos'(x, c) / (cos'(x, a) + eps),
                                      cos' = (cos + 1) / 2 in [0, 1], eps = 0.001

which are gensim's ``most_similar(positive=[b, c], negative=[a])`` and ``most_similar_cosmul``.

Example:
    >>> kv = KeyedVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    >>> kv.most_similar("a", topn=1)[0][0]
    'b'
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqlab.errors import SeqlabError

COSMUL_EPS = 1e-3


class KeyedVectors:
    """``V`` words and their vectors ``(V, E)``.

    Args:
        words: distinct words, most frequent first by convention (``restrict`` keeps the first ones).
        vectors: (V, E) float tensor, row ``i`` is the vector of ``words[i]``.
    """

    def __init__(self, words: Sequence[str], vectors: torch.Tensor):
        vectors = torch.as_tensor(vectors)
        if vectors.dim() != 2 or vectors.shape[0] != len(words):
            raise SeqlabError(f"vectors: expected shape ({len(words)}, E), got {tuple(vectors.shape)}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise SeqlabError("words: expected distinct words, got duplicates")
        self.vectors = vectors.float()
        self._unit: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self._id(word)]

    def _id(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary of {len(self)} words") from None

    @property
    def unit(self) -> torch.Tensor:
        """(V, E) rows scaled to unit length (zero rows stay zero)."""
        if self._unit is None:
            self._unit = self.vectors / self.vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return self._unit

    def unit_vector(self, word: str) -> torch.Tensor:
        """The unit vector of ``word`` (subclasses may build one for unseen words)."""
        return self.unit[self._id(word)]

    def similarity(self, a: str, b: str) -> float:
        """cos(a, b)."""
        return float(self.unit_vector(a) @ self.unit_vector(b))

    def most_similar(self, positive: str | Sequence[str] = (), negative: Sequence[str] = (), topn: int = 10,
                     restrict: int | None = None) -> list[tuple[str, float]]:
        """Words closest by cosine to the mean of the unit vectors of ``positive`` minus ``negative``.

        Excludes the query words, as gensim does. ``restrict`` searches only the first words.
        """
        positive = [positive] if isinstance(positive, str) else list(positive)
        if not positive and not negative:
            raise SeqlabError("most_similar: expected at least one positive or negative word")
        query = sum(self.unit_vector(w) for w in positive) - sum((self.unit_vector(w) for w in negative),
                                                                  torch.zeros(self.vector_size))
        scores = self._cosines(query, restrict)  # (V',)
        return self._top(scores, set(positive) | set(negative), topn)

    def most_similar_cosmul(self, positive: Sequence[str], negative: Sequence[str] = (), topn: int = 10,
                            restrict: int | None = None, eps: float = COSMUL_EPS) -> list[tuple[str, float]]:
        """3CosMul: the product of shifted cosines to ``positive`` over the product to ``negative``.

        ``eps`` keeps the quotient finite: 0.001 as Levy & Goldberg; gensim uses 1e-6.
        """
        unit = self.unit[:restrict]
        shifted = [(unit @ self.unit_vector(w) + 1) / 2 for w in list(positive) + list(negative)]  # each (V',)
        numerator = torch.stack(shifted[: len(positive)]).prod(0)
        denominator = torch.stack(shifted[len(positive) :]).prod(0) if negative else torch.ones(1)
        return self._top(numerator / (denominator + eps), set(positive) | set(negative), topn)

    def analogy(self, a: str, b: str, c: str, method: str = "3cosadd", topn: int = 1,
                restrict: int | None = None) -> list[tuple[str, float]]:
        """The answers to "a is to b as c is to ?" by ``method`` in ``3cosadd``, ``3cosmul``."""
        if method == "3cosadd":
            return self.most_similar([b, c], [a], topn=topn, restrict=restrict)
        if method == "3cosmul":
            return self.most_similar_cosmul([b, c], [a], topn=topn, restrict=restrict)
        raise SeqlabError(f"method: expected '3cosadd' or '3cosmul', got {method!r}")

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word farthest (lowest cosine) from the mean of the unit vectors of ``words``."""
        words = list(words)
        if len(words) < 2:
            raise SeqlabError(f"doesnt_match: expected at least two words, got {words}")
        vectors = torch.stack([self.unit_vector(w) for w in words])  # (n, E)
        mean = vectors.mean(0)
        mean = mean / mean.norm().clamp_min(1e-12)
        return words[int(torch.argmin(vectors @ mean))]

    def _cosines(self, query: torch.Tensor, restrict: int | None) -> torch.Tensor:
        query = query / query.norm().clamp_min(1e-12)
        return self.unit[:restrict] @ query

    def _top(self, scores: torch.Tensor, exclude: set[str], topn: int) -> list[tuple[str, float]]:
        order = torch.argsort(scores, descending=True, stable=True)[: topn + len(exclude)].tolist()
        hits = [(self.words[i], float(scores[i])) for i in order if self.words[i] not in exclude]
        return hits[:topn]
