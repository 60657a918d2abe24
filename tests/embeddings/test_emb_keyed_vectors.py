"""KeyedVectors against gensim's on the same random vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.embeddings import KeyedVectors
from seqlab.errors import SeqlabError


@pytest.fixture(scope="module")
def pair():
    g = torch.Generator().manual_seed(0)
    words = [f"w{i}" for i in range(200)]
    vectors = torch.randn(200, 12, generator=g)
    theirs = GensimKeyedVectors(12)
    theirs.add_vectors(words, vectors.numpy())
    return KeyedVectors(words, vectors), theirs


def _same(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")  # inside gensim's cosmul
def test_most_similar_and_analogies_match_gensim(pair):
    ours, theirs = pair
    _same(ours.most_similar("w3", topn=7), theirs.most_similar("w3", topn=7))
    _same(ours.most_similar(["w1", "w2"], ["w5"], topn=7), theirs.most_similar(["w1", "w2"], ["w5"], topn=7))
    _same(ours.analogy("w5", "w1", "w2", topn=5), theirs.most_similar(positive=["w1", "w2"], negative=["w5"], topn=5))
    _same(ours.most_similar_cosmul(["w1", "w2"], ["w5"], topn=5, eps=1e-6),
          theirs.most_similar_cosmul(positive=["w1", "w2"], negative=["w5"], topn=5))
    _same(ours.most_similar("w4", topn=5, restrict=50), theirs.most_similar("w4", topn=5, restrict_vocab=50))


def test_similarity_and_doesnt_match_match_gensim(pair):
    ours, theirs = pair
    assert ours.similarity("w1", "w9") == pytest.approx(float(theirs.similarity("w1", "w9")), abs=1e-6)
    words = ["w1", "w2", "w3", "w4", "w10"]
    assert ours.doesnt_match(words) == theirs.doesnt_match(words)


def test_errors(pair):
    ours, _ = pair
    with pytest.raises(KeyError, match="not in the vocabulary"):
        ours["nope"]
    with pytest.raises(SeqlabError, match="method"):
        ours.analogy("w1", "w2", "w3", method="pairdirection")
    with pytest.raises(SeqlabError, match="duplicates"):
        KeyedVectors(["a", "a"], torch.zeros(2, 2))
    with pytest.raises(SeqlabError, match="shape"):
        KeyedVectors(["a"], torch.zeros(2, 2))
