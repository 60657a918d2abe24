"""Byte-level BPE: textbook cases, the tie-break, incremental training against a full recount, round trips."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text import pre_tokenizers
from seqlab.text.merges import _Counter, learn_merges
from seqlab.text.models import BPE
from seqlab.text.tokenizer import Tokenizer
from seqlab.text.trainers import BpeTrainer

# any valid text: every assigned code point of Python's Unicode database, surrogates excluded
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cn"]), max_size=40)


def test_wikipedia_aaabdaaabac_three_merges():
    tok = Tokenizer.byte_level_bpe()
    tok.train_from_iterator(["aaabdaaabac"], BpeTrainer(vocab_size=256 + 3, min_frequency=1))
    assert tok.model.merges == [("a", "a"), ("a", "b"), ("aa", "ab")]
    assert tok.encode("aaabdaaabac").ids == [258, 100, 258, 97, 99]
    assert tok.encode("aaabdaaabac").tokens == ["aaab", "d", "aaab", "a", "c"]


def _apply(merges, words):
    """Each word's symbols after the merges, and the count of each merged pair when it was merged."""
    symbols = {w: list(w) for w in words}
    counts = []
    for a, b in merges:
        counts.append(sum(n * sum(1 for pair in zip(symbols[w], symbols[w][1:]) if pair == (a, b))
                          for w, n in words.items()))
        for w in symbols:
            s, out, i = symbols[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == (a, b):
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            symbols[w] = out
    return counts, symbols


def test_d2l_toy_merges():
    # d2l 15.6: {fast_: 4, faster_: 3, tall_: 5, taller_: 4}, ten merges. d2l breaks ties by the first
    # pair met, we by the smaller (id, id) (alphabet ids: _ a e f l r s t), so equal-count merges come in
    # another order; every step still merges a pair with d2l's count, and the first nine are d2l's.
    words = {"fast_": 4, "faster_": 3, "tall_": 5, "taller_": 4}
    corpus = " ".join(w for w, n in words.items() for _ in range(n))
    tok = Tokenizer(BPE({}, []), pre_tokenizer=pre_tokenizers.WhitespaceSplit())
    tok.train_from_iterator([corpus], BpeTrainer(vocab_size=8 + 10, min_frequency=1))
    d2l = [("t", "a"), ("ta", "l"), ("tal", "l"), ("f", "a"), ("fa", "s"), ("fas", "t"), ("e", "r"), ("er", "_"),
           ("tall", "_"), ("fast", "_")]
    ours = tok.model.merges
    assert ours == [("a", "l"), ("t", "al"), ("tal", "l"), ("a", "s"), ("e", "r"), ("f", "as"), ("er", "_"),
                    ("fas", "t"), ("tall", "_"), ("tall", "er_")]
    assert _apply(ours, words)[0] == _apply(d2l, words)[0] == [9, 9, 9, 7, 7, 7, 7, 7, 5, 4]
    d2l_symbols = {"fast_": ["fast", "_"], "faster_": ["fast", "er_"], "tall_": ["tall_"], "taller_": ["tall", "er_"]}
    assert _apply(ours[:9], words)[1] == _apply(d2l[:9], words)[1] == d2l_symbols
    # the tenth merge: (tall, er_) and (fast, _) both count 4; ids (10, 14) < (15, 0)
    assert tok.encode("taller_").tokens == ["taller_"] and tok.encode("fast_").tokens == ["fast", "_"]


def test_tie_break_prefers_smaller_ids():
    # "ab" and "cd" both occur twice: (97, 98) < (99, 100), so "ab" is merged first
    merges = learn_merges([[99, 100], [97, 98]], [2, 2], n_new=1, combine=_Counter(256))
    assert merges == [(97, 98)]
    merges = learn_merges([[99, 100], [97, 98]], [3, 2], n_new=1, combine=_Counter(256))
    assert merges == [(99, 100)]


def _recount_merges(words, counts, n_new, first):
    """The textbook algorithm: recount every pair after every merge (slow, obviously right)."""
    words = [list(w) for w in words]
    merges = []
    for k in range(n_new):
        pairs = Counter()
        for word, n in zip(words, counts):
            for pair in itertools.pairwise(word):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new = first + k
        for w, word in enumerate(words):
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            words[w] = out
    return merges


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=8), st.integers(1, 5)), min_size=1,
                max_size=6), st.integers(1, 12))
def test_incremental_counts_equal_full_recount(corpus, n_new):
    words, counts = [w for w, _ in corpus], [n for _, n in corpus]
    assert learn_merges(words, counts, n_new, _Counter(4)) == _recount_merges(words, counts, n_new, 4)


@pytest.fixture(scope="module")
def small_bpe() -> Tokenizer:
    tok = Tokenizer.byte_level_bpe()
    corpus = ["the quick brown fox jumps over the lazy dog", "héllo wörld, ça va? 你好世界 🙂🙂",
              "  spaces\tand\nlines  "]
    tok.train_from_iterator(corpus * 3, BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"]))
    return tok


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_decode_encode_round_trip(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text).ids) == text


@pytest.mark.parametrize("text", ["", "🙂👍🏽", "日本語のテキスト", "e\u0301 n\u0303", "   \t\n\n  ", "a  b   c",
                                  "\x00\x7f"])
def test_round_trip_pinned_strings(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text).ids) == text


def test_lone_surrogate_is_a_clear_error(small_bpe):
    with pytest.raises(SeqlabError, match="lone surrogate U\\+D800 at position 1"):
        small_bpe.encode("a\ud800b")


def test_special_tokens_sit_after_bytes_and_merges(small_bpe):
    assert small_bpe.token_to_id("<|endoftext|>") == 299
    encoding = small_bpe.encode("hi<|endoftext|>there")
    assert encoding.ids[len(small_bpe.encode("hi").ids)] == 299
    assert small_bpe.decode(encoding.ids) == "hithere"
    assert small_bpe.decode(encoding.ids, skip_special_tokens=False) == "hi<|endoftext|>there"


def test_encoding_caches_pieces(small_bpe, monkeypatch):
    seen = []
    tokenize = small_bpe.model.tokenize
    monkeypatch.setattr(small_bpe.model, "tokenize", lambda piece: seen.append(piece) or tokenize(piece))
    small_bpe._refresh()
    first = small_bpe.encode("the the the")
    assert small_bpe.encode("the the the") == first
    assert seen == ["the", "Ġthe"]  # the merges of each distinct piece are computed once


def test_vocab_size_too_small_is_an_error():
    with pytest.raises(SeqlabError, match="vocab_size 100 is smaller"):
        Tokenizer.byte_level_bpe().train_from_iterator(["abc"], BpeTrainer(vocab_size=100))


def test_empty_corpus_is_an_error():
    with pytest.raises(SeqlabError, match="empty corpus"):
        Tokenizer.byte_level_bpe().train_from_iterator(["", ""], BpeTrainer(vocab_size=300))


def test_swapping_the_model_clears_the_cache(small_bpe):
    tok = Tokenizer.from_str(small_bpe.to_str())
    before = tok.encode("the lazy dog").ids
    tok.model = BPE({ch: i for i, ch in enumerate(small_bpe.model.vocab) if len(ch) == 1}, [])
    after = tok.encode("the lazy dog").ids
    assert len(after) == len("the lazy dog") and len(before) < len(after)
