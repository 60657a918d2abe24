"""word2vec text/binary and GloVe files: round trips, and interchange with gensim both ways."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.embeddings import KeyedVectors, load_vectors, save_vectors
from seqlab.embeddings.formats import detect_format
from seqlab.errors import SeqlabError


@pytest.fixture
def vectors():
    g = torch.Generator().manual_seed(0)
    words = ["the", "naïve", "café", "x", "日本"]  # non-ASCII words must survive UTF-8
    return KeyedVectors(words, torch.randn(5, 7, generator=g) * 10 ** torch.randint(-6, 3, (5, 7), generator=g))


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary", "glove"])
def test_round_trip_is_exact(tmp_path, vectors, fmt):
    path = tmp_path / f"v.{fmt}"
    save_vectors(vectors, path, fmt)
    assert detect_format(path.read_bytes()) == fmt
    back = load_vectors(path)
    assert back.words == vectors.words
    assert torch.equal(back.vectors, vectors.vectors)


# gensim's no_header reader leaves a file handle open (a ResourceWarning in gensim, not in seqlab)
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("fmt", "binary", "no_header"), [("word2vec", False, False), ("word2vec-binary", True, False),
                                                          ("glove", False, True)])
def test_gensim_reads_ours(tmp_path, vectors, fmt, binary, no_header):
    path = tmp_path / "ours"
    save_vectors(vectors, path, fmt)
    theirs = GensimKeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=no_header)
    assert theirs.index_to_key == vectors.words
    np.testing.assert_array_equal(theirs.vectors, vectors.vectors.numpy())


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensims(tmp_path, vectors, binary):
    theirs = GensimKeyedVectors(7)
    theirs.add_vectors(vectors.words, vectors.vectors.numpy())
    path = tmp_path / "theirs"
    theirs.save_word2vec_format(str(path), binary=binary)
    ours = load_vectors(path)
    assert ours.words == vectors.words
    if binary:
        assert torch.equal(ours.vectors, vectors.vectors)
    else:  # gensim writes str(float32), which rounds to the float32 it came from
        torch.testing.assert_close(ours.vectors, vectors.vectors, rtol=1e-6, atol=0)


def test_bad_files_name_the_problem(tmp_path, vectors):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\nthe 1 2 3\ncat 1 2\n")
    with pytest.raises(SeqlabError, match="line 3"):
        load_vectors(bad, "word2vec")
    bad.write_text("3 3\nthe 1 2 3\n")
    with pytest.raises(SeqlabError, match="header announces 3 x 3"):
        load_vectors(bad, "word2vec")
    bad.write_text("justoneword\n")
    with pytest.raises(SeqlabError, match="unknown vector format"):
        load_vectors(bad)
    with pytest.raises(SeqlabError, match="format"):
        save_vectors(vectors, tmp_path / "x", "fasttext-bin")
    with pytest.raises(SeqlabError, match="whitespace"):
        save_vectors(KeyedVectors(["a b"], torch.zeros(1, 2)), tmp_path / "x")
    path = tmp_path / "v.bin"
    save_vectors(vectors, path, "word2vec-binary")
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(SeqlabError, match="truncated"):
        load_vectors(path)
