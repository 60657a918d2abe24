"""Analogy and similarity evaluation against gensim's, on the files gensim ships."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors
from gensim.test.utils import datapath
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from seqlab.embeddings import KeyedVectors, evaluate_analogies, evaluate_word_pairs, spearman
from seqlab.embeddings.evaluation import read_analogies


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(-3, 3, allow_nan=False)), min_size=3, max_size=30))
@settings(max_examples=50, deadline=None)
def test_spearman_matches_scipy_with_ties(pairs):
    x = torch.tensor([float(a) for a, _ in pairs])
    y = torch.tensor([b for _, b in pairs], dtype=torch.float64)
    ours = spearman(x, y)
    if len(set(x.tolist())) == 1 or len(set(y.tolist())) == 1:
        assert math.isnan(ours)  # undefined for a constant input (scipy warns and returns nan)
        return
    assert ours == pytest.approx(spearmanr(x.numpy(), y.numpy()).statistic, abs=1e-9)


@pytest.fixture(scope="module")
def vectors_and_questions(tmp_path_factory):
    sections = read_analogies(datapath("questions-words.txt"))
    # 40 questions from each of four sections, vectors for most of their words (some left out: OOV)
    chosen = [(name, qs[:40]) for name, qs in sections[:2] + sections[-2:]]
    path = tmp_path_factory.mktemp("analogies") / "questions.txt"
    path.write_text("".join(f": {name}\n" + "".join(" ".join(q) + "\n" for q in qs) for name, qs in chosen))
    words = sorted({w.lower() for _, qs in chosen for q in qs for w in q})
    words = [w for i, w in enumerate(words) if i % 9 != 4]  # about 11% of words unknown
    g = torch.Generator().manual_seed(0)
    # low-rank vectors so that some analogies come out right
    vectors = torch.randn(len(words), 3, generator=g) @ torch.randn(3, 20, generator=g)
    vectors += 0.3 * torch.randn(len(words), 20, generator=g)
    theirs = GensimKeyedVectors(20)
    theirs.add_vectors(words, vectors.numpy())
    return KeyedVectors(words, vectors), theirs, path


def test_analogy_accuracy_matches_gensim(vectors_and_questions):
    ours, theirs, path = vectors_and_questions
    result = evaluate_analogies(ours, path)
    score, sections = theirs.evaluate_word_analogies(str(path))
    total = sections[-1]
    assert result.correct == len(total["correct"])
    assert result.attempted == len(total["correct"]) + len(total["incorrect"])
    assert result.accuracy == pytest.approx(score)
    assert result.total == 160
    assert 0 < result.oov_rate < 1
    cosmul = evaluate_analogies(ours, path, method="3cosmul")
    assert cosmul.attempted == result.attempted


def test_word_pairs_match_gensim():
    lines = Path(datapath("wordsim353.tsv")).read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t") for line in lines if not line.startswith("#")]
    words = sorted({w.lower() for p in pairs for w in p[:2]})
    words = [w for i, w in enumerate(words) if i % 5 != 0]
    g = torch.Generator().manual_seed(1)
    vectors = torch.randn(len(words), 10, generator=g)
    ours = KeyedVectors(words, vectors)
    theirs = GensimKeyedVectors(10)
    theirs.add_vectors(words, vectors.numpy())
    for name in ("wordsim353.tsv", "simlex999.txt"):
        result = evaluate_word_pairs(ours, datapath(name))
        pearson, spearman_, oov_percent = theirs.evaluate_word_pairs(datapath(name))
        assert result.spearman == pytest.approx(spearman_.statistic, abs=1e-5)
        assert result.pearson == pytest.approx(pearson.statistic, abs=1e-5)
        assert 100 * result.oov_rate == pytest.approx(oov_percent)
