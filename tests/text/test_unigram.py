"""Unigram: Viterbi by hand, EM's expected counts against brute force, and tokenizer.json both ways."""

from __future__ import annotations

import itertools
import math
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text.models import Unigram
from seqlab.text.tokenizer import Tokenizer
from seqlab.text.trainers import UnigramTrainer, _expected_counts

hf = pytest.importorskip("tokenizers")

CORPUS = ["The Time Traveller (for so it will be convenient to speak of him) was expounding a recondite matter.",
          "His grey eyes shone and twinkled, and his usually pale face was flushed and animated.",
          "The fire burned brightly, and the soft radiance of the incandescent lights caught the bubbles."] * 3
TEXT = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cn"]).filter(
        lambda ch: unicodedata.ucd_3_2_0.category(ch) != "Cn"), max_size=25),
    st.lists(st.sampled_from(["the", "The", "time", "fire", "grey", "xyz", " ", "  ", ",", "."]),
             max_size=10).map("".join))


def tokens(model: Unigram, text: str) -> list[str]:
    return [t for _, t, _, _ in model.tokenize(text)]


def test_viterbi_by_hand():
    model = Unigram([("<unk>", 0.0), ("a", -1.0), ("b", -1.0), ("ab", -1.5), ("abc", -5.0), ("c", -2.0)])
    # ab + c = -3.5 beats a + b + c = -4 and abc = -5
    assert tokens(model, "abc") == ["ab", "c"]
    # x is unknown (score -5 - 10); a run of unknowns is one token with the unknown id
    assert [(i, t) for i, t, _, _ in model.tokenize("axxb")] == [(1, "a"), (0, "xx"), (2, "b")]


def test_ties_keep_the_longest_last_piece():
    model = Unigram([("<unk>", 0.0), ("a", -1.0), ("b", -1.0), ("ab", -2.0)])
    assert tokens(model, "ab") == ["ab"]  # a + b = -2 = ab: the piece found first (earliest start) stays


def test_unknown_without_unk_id_is_an_error():
    with pytest.raises(SeqlabError, match="no unk_id"):
        Unigram([("a", -1.0)], unk_id=None).tokenize("ab")


def test_expected_counts_match_brute_force():
    scores = {"a": math.log(0.3), "b": math.log(0.2), "ab": math.log(0.25), "ba": math.log(0.15), "aba": -3.0}
    word = "abab"
    segmentations = []
    for cuts in itertools.product([False, True], repeat=len(word) - 1):
        pieces, start = [], 0
        for i, cut in enumerate(cuts, start=1):
            if cut:
                pieces.append(word[start:i])
                start = i
        pieces.append(word[start:])
        if all(p in scores for p in pieces):
            segmentations.append(pieces)
    weights = [math.exp(sum(scores[p] for p in pieces)) for pieces in segmentations]
    z = sum(weights)
    brute = {}
    for pieces, w in zip(segmentations, weights):
        for p in pieces:
            brute[p] = brute.get(p, 0.0) + 3 * w / z
    expected = _expected_counts([(word, 3)], scores)
    assert expected.keys() == brute.keys()
    for piece, value in brute.items():
        assert expected[piece] == pytest.approx(value, rel=1e-12)


@pytest.fixture(scope="module")
def seqlab_unigram():
    tok = Tokenizer.unigram()
    tok.train_from_iterator(CORPUS, UnigramTrainer(vocab_size=120))
    return tok, hf.Tokenizer.from_str(tok.to_str())


def test_trainer_respects_the_vocabulary_size(seqlab_unigram):
    ours, _ = seqlab_unigram
    assert ours.vocab_size <= 120 and ours.token_to_id("<unk>") == 0
    characters = {ch for line in CORPUS for ch in unicodedata.normalize("NFKC", line).replace(" ", "▁")}
    assert characters <= set(ours.get_vocab())
    scores = [score for _, score in ours.model.pieces[1:]]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)
    assert ours.decode(ours.encode(CORPUS[0]).ids) == CORPUS[0]


def _same(ours, theirs, text):
    a, b = ours.encode(text), theirs.encode(text)
    assert (a.ids, a.tokens, a.offsets) == (b.ids, b.tokens, [tuple(o) for o in b.offsets])
    assert ours.decode(a.ids) == theirs.decode(b.ids)


@settings(max_examples=50, deadline=None)
@given(TEXT)
def test_seqlab_unigram_in_tokenizers(seqlab_unigram, text):
    _same(*seqlab_unigram, text)


@pytest.fixture(scope="module")
def tokenizers_unigram():
    theirs = hf.Tokenizer(hf.models.Unigram())
    theirs.pre_tokenizer = hf.pre_tokenizers.Metaspace()
    theirs.decoder = hf.decoders.Metaspace()
    theirs.train_from_iterator(CORPUS, hf.trainers.UnigramTrainer(vocab_size=100, special_tokens=["<unk>"],
                                                                  unk_token="<unk>", show_progress=False))
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=50, deadline=None)
@given(TEXT)
def test_tokenizers_unigram_in_seqlab(tokenizers_unigram, text):
    _same(*tokenizers_unigram, text)


def test_sampled_segmentations_follow_their_probabilities():
    import random
    from collections import Counter

    vocab = [("<unk>", 0.0), ("a", math.log(0.3)), ("b", math.log(0.3)), ("ab", math.log(0.2)),
             ("ba", math.log(0.1)), ("aba", math.log(0.1))]
    model = Unigram(vocab)
    alpha = 0.5
    scores = dict(vocab)
    exact = {}
    for cuts in itertools.product([False, True], repeat=2):  # every segmentation of "aba"
        pieces, start = [], 0
        for i, cut in enumerate(cuts, start=1):
            if cut:
                pieces.append("aba"[start:i])
                start = i
        pieces.append("aba"[start:])
        if all(p in scores for p in pieces):
            exact[tuple(pieces)] = math.exp(alpha * sum(scores[p] for p in pieces))
    z = sum(exact.values())
    rng = random.Random(0)
    n = 4000
    seen = Counter(tuple(t for _, t, _, _ in model.sample("aba", alpha, rng)) for _ in range(n))
    assert set(seen) == set(exact)
    for pieces, weight in exact.items():
        p = weight / z
        assert abs(seen[pieces] / n - p) < 4 * math.sqrt(p * (1 - p) / n)  # within four standard errors
    # a large alpha concentrates on the best segmentation
    best = tokens(model, "aba")
    assert all([t for _, t, _, _ in model.sample("aba", 200.0, rng)] == best for _ in range(20))
