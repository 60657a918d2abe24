"""Analogy and similarity evaluation against gensim's, on the files gensim ships."""

from __future__ import annotations

import math
import random
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


@pytest.fixture(scope="module")
def case_preserving(tmp_path_factory):
    """Vectors where "Paris", "paris" and "PARIS" coexist, near each other, in a shuffled frequency order.

    Each section's second word is the first plus the section's offset, so most analogies come out
    right; the nearest word to b - a + c is then often a case variant of c, which gensim skips,
    and the right answer often a less frequent spelling of d, which gensim accepts.
    """
    sections = read_analogies(datapath("questions-words.txt"))
    chosen = [(name, qs[:50]) for name, qs in sections[:2] + sections[-2:]]
    path = tmp_path_factory.mktemp("cased") / "questions.txt"
    path.write_text("".join(f": {name}\n" + "".join(" ".join(q) + "\n" for q in qs) for name, qs in chosen))
    g = torch.Generator().manual_seed(0)
    rng = random.Random(0)
    E = 16
    base: dict[str, torch.Tensor] = {}
    for _, questions in chosen:
        offset = torch.randn(E, generator=g) * 0.8
        for q in questions:
            for left, right in ((q[0].lower(), q[1].lower()), (q[2].lower(), q[3].lower())):
                base.setdefault(left, torch.randn(E, generator=g))
                base.setdefault(right, base[left] + offset + 0.4 * torch.randn(E, generator=g))
    words, rows = [], []
    for i, (word, vector) in enumerate(sorted(base.items())):
        if i % 11 == 5:
            continue  # unknown in every spelling
        for variant in rng.sample([word, word.capitalize(), word.upper()], rng.choice([1, 2, 2, 3])):
            if variant not in words:
                words.append(variant)
                rows.append(vector + 0.1 * torch.randn(E, generator=g))
    order = list(range(len(words)))
    rng.shuffle(order)
    words, vectors = [words[i] for i in order], torch.stack([rows[i] for i in order])
    theirs = GensimKeyedVectors(E)
    theirs.add_vectors(words, vectors.numpy())
    pairs = path.parent / "pairs.tsv"
    pair_lines = [f"{w.capitalize() if n % 3 else w}\t{v.upper() if n % 4 else v}\t{n % 10}.5"
                  for n, (w, v) in enumerate(zip(sorted(base)[::2], sorted(base)[1::2]))]
    pairs.write_text("# word1\tword2\tscore\n" + "\n".join(pair_lines) + "\n")
    return KeyedVectors(words, vectors), theirs, path, pairs


def test_analogy_counts_match_gensim_on_a_case_preserving_vocabulary(case_preserving):
    ours, theirs, path, _ = case_preserving
    assert len({w.upper() for w in ours.words}) < len(ours.words)  # case variants are there
    result = evaluate_analogies(ours, path)
    _, sections = theirs.evaluate_word_analogies(str(path))
    expected = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections[:-1]}
    assert result.sections == expected
    assert 0 < result.correct < result.attempted  # some right and some wrong: the counts say something
    assert (result.correct, result.attempted) == (len(sections[-1]["correct"]),
                                                  len(sections[-1]["correct"]) + len(sections[-1]["incorrect"]))


def test_word_pair_counts_match_gensim_on_a_case_preserving_vocabulary(case_preserving):
    ours, theirs, _, pairs = case_preserving
    result = evaluate_word_pairs(ours, pairs)
    pearson, spearman_, oov_percent = theirs.evaluate_word_pairs(str(pairs))
    assert 0 < result.oov_rate < 1
    assert 100 * result.oov_rate == pytest.approx(oov_percent)
    assert result.spearman == pytest.approx(spearman_.statistic, abs=1e-5)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-5)


def test_case_sensitive_matching_is_exact(case_preserving):
    ours, theirs, path, _ = case_preserving
    result = evaluate_analogies(ours, path, case_insensitive=False)
    _, sections = theirs.evaluate_word_analogies(str(path), case_insensitive=False)
    assert result.correct == len(sections[-1]["correct"])
    assert result.attempted == len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    assert result.attempted < evaluate_analogies(ours, path).attempted  # fewer questions find every spelling
