"""Loaders of the datasets: sizes from MANIFEST.md, format traps, clear errors; the bundled copies without any setup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab.data import (
    TaggedSentence,
    format_conll,
    load_airline,
    load_fra_eng,
    load_gutenberg,
    load_sentence_polarity,
    load_timemachine,
    load_tiny_shakespeare,
    load_tiny_shakespeare_file,
    load_wnut17,
    normalize_french_spaces,
    parse_conll,
    parse_parallel,
)
from seqlab.errors import SeqlabError


def test_sentence_polarity_sizes_and_labels(data_dir):
    texts, labels = load_sentence_polarity(data_dir)
    assert len(texts) == 10_662
    assert labels.count(0) == labels.count(1) == 5_331
    assert texts[5_331].startswith("the rock is destined")  # rt-polarity.pos's first line follows the negatives
    assert labels[5_330:5_332] == [0, 1]


def test_fra_eng_pairs_and_french_spaces(data_dir):
    pairs = load_fra_eng(data_dir)
    assert len(pairs) == 167_130
    assert pairs[0] == ("Go.", "Va !")
    assert not any("\u202f" in fr or "\u00a0" in fr for _, fr in pairs)
    raw = load_fra_eng(data_dir, max_pairs=3, normalize_spaces=False)
    assert raw[2] == ("Run!", "Cours\u202f!")
    assert len(raw) == 3


def test_wnut17_splits_with_tab_separators(data_dir):
    expected = {"train": (3_394, 62_730), "dev": (1_009, 15_733), "test": (1_287, 23_394)}
    for split, (sentences, tokens) in expected.items():
        data = load_wnut17(split, data_dir)
        assert (len(data), sum(len(s.tokens) for s in data)) == (sentences, tokens), split
        assert all(len(s.tokens) == len(s.tags) for s in data)
    train = load_wnut17("train", data_dir)
    assert train[0].tokens[:2] == ["@paulwalk", "It"]
    assert train[0].tags[14:17] == ["B-location", "I-location", "I-location"]
    tags = {t for s in train for t in s.tags}
    assert tags - {"O"} == {f"{p}-{k}" for p in "BI" for k in
                             ["person", "location", "group", "creative-work", "corporation", "product"]}


def test_gutenberg_is_latin1(data_dir):
    texts = load_gutenberg(data_dir)
    assert len(texts) == 17
    assert sum(len(t) for t in texts.values()) == 7_412_334  # Latin-1: one character per byte
    assert any(any(ord(c) > 127 for c in t) for t in texts.values())


def test_small_corpora(data_dir):
    assert len(load_timemachine(data_dir).split()) == 32_306
    assert load_tiny_shakespeare_file(data_dir) == load_tiny_shakespeare()
    months, values = load_airline(data_dir)
    assert (len(months), months[0], months[-1], values[0], values[-1]) == (144, "1949-01", "1960-12", 112.0, 432.0)


def test_missing_file_is_named_with_the_command_that_gets_it(tmp_path):
    with pytest.raises(SeqlabError, match=r"dataset wnut17 not found \(looked in .*\); "
                                          r"get it with: seqlab data get wnut17 --dest"):
        load_wnut17("train", tmp_path)
    with pytest.raises(SeqlabError, match="split"):
        load_wnut17("validation", tmp_path)


def test_the_bundled_datasets_load_with_nothing_set(places):
    texts, labels = load_sentence_polarity()
    assert (len(texts), labels.count(1)) == (10_662, 5_331)
    months, values = load_airline()
    assert (len(months), values[:3]) == (144, [112.0, 118.0, 132.0])
    assert load_tiny_shakespeare_file() == load_tiny_shakespeare()
    assert load_fra_eng(max_pairs=3, normalize_spaces=False)[2] == ("Run!", "Cours\u202f!")
    with pytest.raises(SeqlabError, match=r"get it with: seqlab data get gutenberg$"):
        load_gutenberg()


def test_data_dir_from_environment(monkeypatch, data_dir, places):
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(data_dir))
    assert len(load_timemachine().split()) == 32_306
    monkeypatch.delenv("SEQLAB_DATA_DIR")
    with pytest.raises(SeqlabError, match="seqlab data get timemachine"):
        load_timemachine()


def test_parse_conll_separators_and_bad_lines():
    text = "a\tO\nb\tB-x\n\t\nc\tO\n\n\n  \nd\tO"
    assert parse_conll(text.splitlines(keepends=True)) == [
        TaggedSentence(["a", "b"], ["O", "B-x"]), TaggedSentence(["c"], ["O"]), TaggedSentence(["d"], ["O"])]
    with pytest.raises(SeqlabError, match="line 2"):
        parse_conll(["a\tO", "no-tab-here"])


_token = st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"], blacklist_characters="\t"), max_size=5)
_sentence = st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(_token, min_size=n, max_size=n).filter(lambda toks: any(t.strip() for t in toks) or n > 0),
    st.lists(st.sampled_from(["O", "B-person", "I-person"]), min_size=n, max_size=n)))


@given(st.lists(_sentence, max_size=5))
def test_conll_round_trip(sentences):
    sentences = [TaggedSentence(list(t), list(g)) for t, g in sentences]
    # a line "token<TAB>tag" is never blank since the tag is not blank, so parse inverts format
    assert parse_conll(format_conll(sentences).splitlines(keepends=True)) == sentences


@given(st.lists(st.tuples(st.text(alphabet="ab \u00a0\u202f!", min_size=1), st.text(alphabet="xy \u202f?", min_size=1))
                .filter(lambda p: p[0].strip() or p[1].strip()), max_size=5))
def test_parse_parallel_round_trip(pairs):
    lines = [f"{s}\t{t}\tCC-BY 2.0 attribution\n" for s, t in pairs]
    parsed = parse_parallel(lines)
    assert parsed == [(normalize_french_spaces(s), normalize_french_spaces(t)) for s, t in pairs]
    assert all("\u202f" not in s + t and "\u00a0" not in s + t for s, t in parsed)
