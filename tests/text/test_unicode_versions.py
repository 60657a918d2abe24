"""seqlab's view of Unicode equals ``tokenizers``' on every code point Python's Unicode database knows.

``tokenizers`` classifies characters with Unicode 8.0 tables, normalizes with Unicode 9.0 ones and splits scripts
with SentencePiece's table; ``seqlab.text._unicode_data`` lists where those differ from Python's newer database.
These tests recompute each list against ``tokenizers`` over every assigned code point (a table that drifts from
``tokenizers`` fails here), and check the normalization forms -- text and alignment -- around combining marks.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.text import normalizers as N
from seqlab.text import pre_tokenizers as P
from seqlab.text import unicode
from seqlab.text.normalized import Normalized

hf = pytest.importorskip("tokenizers")

ASSIGNED = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
# where the versions can differ: marks, punctuation, symbols, controls, formats, decomposable characters (and a
# sample of private use, which no version changes)
MARKS = [ch for ch in ASSIGNED if unicodedata.category(ch)[0] in "MPS" or unicodedata.category(ch) in ("Cc", "Cf")
         or unicodedata.decomposition(ch) or unicodedata.combining(ch)] + ["\ue000", "\uf8ff", "\U000f0000"]


def test_combining_marks_are_unicode_9s():
    strip = hf.normalizers.StripAccents()
    assert [ch for ch in MARKS if unicode.is_combining_mark(ch) != (strip.normalize_str(ch) == "")] == []


def test_bert_classes_are_unicode_8s():
    clean = hf.normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                          lowercase=False)
    accents = hf.normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                            lowercase=False)
    dropped = [ch for ch in MARKS if ch not in "\t\n\r\x00\ufffd" and unicode.is_other(ch)
               != (clean.normalize_str("a" + ch + "a") == "aa")]
    assert dropped == []
    plain = [ch for ch in MARKS if not unicodedata.decomposition(ch)]
    assert [ch for ch in plain if unicode.is_nonspacing_mark(ch) != (accents.normalize_str("a" + ch) == "a")] == []


def test_punctuation_is_unicode_8s():
    punctuation = hf.pre_tokenizers.Punctuation()
    assert [ch for ch in MARKS if unicode.is_punctuation(ch)
            != (len(punctuation.pre_tokenize_str("a" + ch + "a")) == 3)] == []


@pytest.mark.parametrize("form", ["NFC", "NFD", "NFKC", "NFKD"])
def test_normalization_forms_of_every_character(form):
    theirs = getattr(hf.normalizers, form)()
    ours = getattr(N, form)()
    assert [ch for ch in MARKS if ours.normalize_str(ch) != theirs.normalize_str(ch)] == []


COMBINING = [*[ch for ch in ASSIGNED if unicodedata.combining(ch)][:400], "\u0bbe", "\u1161", "\u11a8", "\u0f73"]
BASES = ["a", "e", "o", "\u0b92", "\u1100", "가", "ǅ", "ﬁ", "Å", "\u0bc6"]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(COMBINING), st.sampled_from(BASES)), min_size=1, max_size=8),
       st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_reordering_and_composition_with_alignment(chars, form):
    """Runs of marks in every order: the text and each character's original span match tokenizers'."""
    text = "".join(chars)
    theirs = hf.Tokenizer(hf.models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    theirs.normalizer = getattr(hf.normalizers, form)()
    theirs.pre_tokenizer = hf.pre_tokenizers.Split(hf.Regex(r"[\s\S]"), "isolated")
    normalized = getattr(N, form)().normalize(Normalized(text))
    assert normalized.text == theirs.normalizer.normalize_str(text)
    assert normalized.spans == [tuple(o) for o in theirs.encode(text).offsets]


def test_unicode_scripts_of_every_character_and_its_neighbour():
    """Each assigned character next to the following one and to Latin and Cyrillic letters (every 5th pair)."""
    ours, theirs = P.UnicodeScripts(), hf.pre_tokenizers.UnicodeScripts()
    texts = ["a" + a + b + "ж" for a, b in zip(ASSIGNED[::5], ASSIGNED[1::5])]
    joined = "".join(texts)
    assert ours.pre_tokenize_str(joined) == [(piece, tuple(span)) for piece, span in theirs.pre_tokenize_str(joined)]
