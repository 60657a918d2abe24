"""Loaders of the shared datasets: sizes from MANIFEST.md, format traps, clear errors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab.data import (
    TaggedSentence,
    dataset_file,
    download,
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
from seqlab.data.download import SOURCES, RemoteFile
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


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SeqlabError, match=r"wnut17/wnut17train.conll not found"):
        load_wnut17("train", tmp_path)
    with pytest.raises(SeqlabError, match="split"):
        load_wnut17("validation", tmp_path)
    with pytest.raises(SeqlabError, match="does not exist"):
        dataset_file("x", tmp_path / "nowhere")


def test_data_dir_from_environment(monkeypatch, data_dir):
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(data_dir))
    assert load_airline()[1][:3] == [112.0, 118.0, 132.0]
    monkeypatch.delenv("SEQLAB_DATA_DIR")
    with pytest.raises(SeqlabError, match="SEQLAB_DATA_DIR"):
        load_airline()


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


def test_download_verifies_sha256_from_local_sources(tmp_path):
    import zipfile

    source = tmp_path / "remote"
    source.mkdir()
    (source / "a.txt").write_bytes(b"alpha\n")
    with zipfile.ZipFile(source / "pack.zip", "w") as zipped:
        zipped.writestr("pack/b.txt", b"beta\n")
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in [("a", b"alpha\n"), ("b", b"beta\n")]}
    table = {"toy": [RemoteFile("toy/a.txt", (source / "a.txt").as_uri(), sha["a"]),
                     RemoteFile("toy/b.txt", (source / "pack.zip").as_uri(), sha["b"], member="pack/b.txt")]}
    paths = download("toy", tmp_path / "data", sources=table)
    assert [p.read_bytes() for p in paths] == [b"alpha\n", b"beta\n"]
    bad = {"toy": [RemoteFile("toy/c.txt", (source / "a.txt").as_uri(), "0" * 64)]}
    with pytest.raises(SeqlabError, match="sha256"):
        download("toy", tmp_path / "data", sources=bad)
    assert not (tmp_path / "data" / "toy" / "c.txt").exists()
    with pytest.raises(SeqlabError, match="expected one of"):
        download("nope", tmp_path)


def test_download_table_matches_the_shared_checksums(data_dir):
    recorded = dict(line.split()[::-1] for line in (data_dir / "SHA256SUMS").read_text().splitlines() if line)
    listed = {remote.path: remote.sha256 for files in SOURCES.values() for remote in files}
    assert listed.keys() - {"gutenberg/README"} <= recorded.keys()
    assert all(recorded[path] == sha for path, sha in listed.items())
    assert all(remote.url.startswith(("https://", "http://")) for files in SOURCES.values() for remote in files)
