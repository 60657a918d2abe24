"""Word2Vec: Huffman paths, sampling, subsampling, pairs, and that all four variants learn."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.embeddings import Word2VecConfig, build_vocabulary, train_word2vec
from seqlab.embeddings.huffman import huffman_paths
from seqlab.embeddings.word2vec import NoiseSampler, cbow_contexts, keep_probabilities, skipgram_pairs
from seqlab.errors import SeqlabError


def test_huffman_textbook_code_lengths():
    # CLRS's example: frequencies 45, 13, 12, 16, 9, 5 give code lengths 1, 3, 3, 3, 4, 4 (cost 224)
    counts = torch.tensor([45, 13, 12, 16, 9, 5])
    points, codes, mask = huffman_paths(counts)
    lengths = mask.sum(1).long()
    assert lengths.tolist() == [1, 3, 3, 3, 4, 4]
    assert int((lengths * counts).sum()) == 224
    assert points.max() <= len(counts) - 2
    as_strings = {"".join(str(int(b)) for b in codes[w, : lengths[w]]) for w in range(len(counts))}
    assert len(as_strings) == len(counts)
    assert not any(a != b and b.startswith(a) for a in as_strings for b in as_strings)  # prefix-free


@given(st.lists(st.integers(1, 1000), min_size=2, max_size=40))
@settings(max_examples=30, deadline=None)
def test_hierarchical_softmax_is_a_distribution(counts):
    points, codes, mask = huffman_paths(torch.tensor(counts))
    g = torch.Generator().manual_seed(len(counts))
    inner = torch.randn(len(counts) - 1, 3, generator=g, dtype=torch.float64)
    h = torch.randn(3, generator=g, dtype=torch.float64)
    # p(w|h) = prod_j sigma((1 - 2 d_j) u_{n_j} . h): the leaves' probabilities sum to one
    signs = (1 - 2 * codes.double())
    log_p = (torch.nn.functional.logsigmoid(signs * (inner[points] @ h)) * mask).sum(1)
    assert math.isclose(float(log_p.exp().sum()), 1.0, rel_tol=1e-9)


def test_noise_sampler_follows_count_to_the_three_quarters():
    counts = torch.tensor([1000, 100, 10, 1])
    sampler = NoiseSampler(counts, 0.75)
    draws = sampler((200_000,), torch.Generator().manual_seed(0))
    expected = counts.double() ** 0.75 / (counts.double() ** 0.75).sum()
    observed = torch.bincount(draws, minlength=4).double() / len(draws)
    torch.testing.assert_close(observed, expected, atol=4e-3, rtol=0)


def test_subsampling_formula():
    counts = torch.tensor([900, 90, 10])
    keep = keep_probabilities(counts, 1e-2)  # t N = 10
    expected = [(math.sqrt(c / 10) + 1) * 10 / c for c in (900, 90)] + [1.0]
    torch.testing.assert_close(keep, torch.tensor(expected, dtype=torch.float32))
    assert keep_probabilities(counts, 0).tolist() == [1.0, 1.0, 1.0]


@given(st.lists(st.integers(0, 3), min_size=1, max_size=30), st.integers(1, 4), st.integers(0, 5))
@settings(max_examples=40, deadline=None)
def test_pairs_stay_in_window_and_sentence(sentence_breaks, window, seed):
    sentence = torch.tensor(sorted(sentence_breaks))  # sentence id of each position
    ids = torch.arange(len(sentence))  # id = position, so pairs reveal distances
    g = torch.Generator().manual_seed(seed)
    centres, contexts = skipgram_pairs(ids, sentence, window, g)
    distance = (centres - contexts).abs()
    assert bool(((distance >= 1) & (distance <= window)).all())
    assert bool((sentence[centres] == sentence[contexts]).all())
    assert len(set(zip(centres.tolist(), contexts.tolist()))) == len(centres)  # no pair twice
    full = skipgram_pairs(ids, sentence, window, torch.Generator().manual_seed(seed))
    assert torch.equal(full[0], centres)  # seeded
    targets, context, mask = cbow_contexts(ids, sentence, window, torch.Generator().manual_seed(seed))
    rows = context[mask]
    owners = targets[:, None].expand_as(context)[mask]
    assert bool(((rows - owners).abs() <= window).all()) and bool((sentence[rows] == sentence[owners]).all())


def test_dynamic_window_gives_closer_words_more_pairs():
    ids = torch.arange(2000)
    centres, contexts = skipgram_pairs(ids, torch.zeros(2000, dtype=torch.long), 4, torch.Generator().manual_seed(0))
    counts = torch.bincount((centres - contexts).abs(), minlength=5)[1:].double()
    # P(b >= d) = (5 - d) / 4 for b ~ U{1..4}: expected ratios 4 : 3 : 2 : 1
    torch.testing.assert_close(counts / counts[0], torch.tensor([1.0, 0.75, 0.5, 0.25], dtype=torch.float64),
                               atol=0.05, rtol=0)


@pytest.mark.parametrize(("architecture", "loss"), [("skipgram", "negative"), ("cbow", "negative"),
                                                     ("skipgram", "hierarchical"), ("cbow", "hierarchical")])
def test_variants_learn_the_topics(corpus, topic_margin, architecture, loss):
    config = Word2VecConfig(architecture=architecture, loss=loss, vector_size=16, window=3, min_count=1,
                            sample=0, epochs=5, lr=0.1 if architecture == "cbow" else 0.05, batch_size=64, seed=3)
    result = train_word2vec(corpus, config)
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert topic_margin(result.vectors) > 0.3
    assert result.pairs > 0


def test_loss_per_prediction_starts_at_the_untrained_value():
    # W_out starts at zero, so every score is 0 and each prediction costs (1 + k) ln 2 at first;
    # 1,000 equally likely words make a noise word equal to its target rare (1 in 1,000)
    g = torch.Generator().manual_seed(0)
    corpus = [[f"w{i}" for i in torch.randint(0, 1000, (50,), generator=g).tolist()] for _ in range(200)]
    config = Word2VecConfig(vector_size=8, min_count=1, epochs=1, negative=5, lr=1e-8, min_lr=1e-8, sample=0)
    result = train_word2vec(corpus, config)
    assert result.epoch_losses[0] == pytest.approx(6 * math.log(2), rel=2e-3)


def test_seeded_training_is_reproducible(corpus):
    config = Word2VecConfig(vector_size=8, min_count=1, epochs=2, seed=7, batch_size=64)
    reports = []
    a = train_word2vec(corpus, config, on_progress=lambda fraction, info: reports.append((fraction, info)))
    b = train_word2vec(corpus, config)
    assert torch.equal(a.vectors.vectors, b.vectors.vectors)
    assert a.epoch_losses == b.epoch_losses
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    ends = [info["loss"] for f, info in reports if "lr" not in info]  # one report at the end of each epoch
    assert ends == a.epoch_losses
    assert all(info["loss"] > 0 for _, info in reports)


def test_bad_config_and_corpus():
    with pytest.raises(SeqlabError, match="architecture"):
        train_word2vec([["a", "b"]], Word2VecConfig(architecture="glove"))
    with pytest.raises(SeqlabError, match="min_count"):
        train_word2vec([["a", "b"]], Word2VecConfig(min_count=5))
    vocab = build_vocabulary([["a", "a", "b"]], min_count=1)
    assert vocab.words == ["a", "b"]
