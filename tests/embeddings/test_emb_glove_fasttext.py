"""GloVe's co-occurrence counts and training; FastText's n-grams and hashes against gensim, OOV vectors."""

from __future__ import annotations

import pytest
import torch
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import compute_ngrams, ft_hash_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.embeddings import (
    FastTextConfig,
    GloVeConfig,
    char_ngrams,
    cooccurrence,
    ft_hash,
    train_fasttext,
    train_glove,
)
from seqlab.embeddings.fasttext import ngram_buckets


def test_cooccurrence_by_hand():
    # sentence 0: a b a ; sentence 1: b c   (ids a=0, b=1, c=2), window 2
    ids = torch.tensor([0, 1, 0, 1, 2])
    sentence = torch.tensor([0, 0, 0, 1, 1])
    rows, cols, values = cooccurrence(ids, sentence, 3, window=2)
    X = torch.zeros(3, 3, dtype=torch.float64)
    X[rows, cols] = values
    expected = torch.tensor([[0.5 * 2, 2.0, 0], [2.0, 0, 1.0], [0, 1.0, 0]], dtype=torch.float64)
    # a-b at distance 1 twice (both directions), a-a at distance 2 once each way, b-c across no boundary
    torch.testing.assert_close(X, expected)
    torch.testing.assert_close(X, X.T)


def test_glove_learns_the_topics(corpus, topic_margin):
    result = train_glove(corpus, GloVeConfig(vector_size=16, window=3, min_count=1, epochs=30, batch_size=256,
                                             x_max=10.0))
    assert result.epoch_losses[-1] < 0.5 * result.epoch_losses[0]
    assert topic_margin(result.vectors) > 0.3


@given(st.text(min_size=1, max_size=12))
@settings(max_examples=60, deadline=None)
def test_ngrams_and_hashes_match_gensim(word):
    assert char_ngrams(word, 3, 6) == compute_ngrams(word, 3, 6)
    assert [ft_hash(g) for g in char_ngrams(word, 3, 6)] == [ft_hash_bytes(g.encode("utf-8"))
                                                              for g in compute_ngrams(word, 3, 6)]
    assert ngram_buckets(word, 3, 6, 2_000_000) == ft_ngram_hashes(word, 3, 6, 2_000_000)


def test_pinned_ngrams_and_hash():
    assert char_ngrams("where", 3, 4) == ["<wh", "whe", "her", "ere", "re>", "<whe", "wher", "here", "ere>"]
    assert ft_hash("") == 2166136261
    assert ft_hash("é") == ft_hash_bytes("é".encode())  # bytes above 0x7f are sign-extended


def test_fasttext_learns_and_builds_oov_vectors(corpus, topic_margin):
    config = FastTextConfig(vector_size=16, window=3, min_count=1, sample=0, epochs=5, lr=0.05, batch_size=64,
                            bucket=5000, min_n=3, max_n=4)
    result = train_fasttext(corpus, config)
    vectors = result.vectors
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert topic_margin(vectors) > 0.2
    assert "cats" not in vectors
    oov = vectors.get_vector("cats")  # shares <ca, cat with "cat"
    rows = ngram_buckets("cats", 3, 4, 5000)
    torch.testing.assert_close(oov, vectors.ngram_vectors[rows].mean(0))
    cos = float(vectors.unit_vector("cats") @ vectors.unit_vector("cat"))
    assert cos > float(vectors.unit_vector("cats") @ vectors.unit_vector("gold"))
    with pytest.raises(KeyError):
        vectors["cats"]
