"""Bad settings, corpora that give nothing to learn, and broken vector files: one-line errors, before any work."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.embeddings import (
    FastTextConfig,
    GloVeConfig,
    Word2VecConfig,
    load_vectors,
    train_fasttext,
    train_glove,
    train_word2vec,
)
from seqlab.errors import SeqlabError

BAD_NUMBERS = [math.nan, math.inf, -math.inf, -1.0]
CONFIGS = {"word2vec": Word2VecConfig, "fasttext": FastTextConfig, "glove": GloVeConfig}
TRAINERS = {"word2vec": train_word2vec, "fasttext": train_fasttext, "glove": train_glove}
FLOAT_FIELDS = [("word2vec", "sample"), ("word2vec", "lr"), ("word2vec", "min_lr"), ("fasttext", "sample"),
                ("fasttext", "lr"), ("fasttext", "min_lr"), ("glove", "x_max"), ("glove", "alpha"),
                ("glove", "lr")]
INT_FIELDS = [(model, name) for model in CONFIGS for name in ("vector_size", "window", "min_count", "epochs",
                                                              "batch_size")] + [("word2vec", "negative"),
                                                                                ("fasttext", "bucket")]


@pytest.mark.parametrize(("model", "field"), FLOAT_FIELDS)
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_nan_infinite_and_negative_settings_are_refused(model, field, value):
    config = CONFIGS[model](**{field: value})
    with pytest.raises(SeqlabError, match=rf"^{field}: expected a finite number") as error:
        TRAINERS[model]([["never", "read"]], config)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("model", "field"), INT_FIELDS)
@pytest.mark.parametrize("value", [0, -3, 2.5, math.nan, "5"])
def test_bad_integer_settings_are_refused(model, field, value):
    with pytest.raises(SeqlabError, match=rf"^{field}: expected an integer >= 1, got"):
        CONFIGS[model](**{field: value}).validate()


@given(st.floats(allow_nan=True, allow_infinity=True))
@settings(max_examples=60, deadline=None)
def test_sample_accepts_exactly_the_finite_non_negative_numbers(value):
    config = Word2VecConfig(sample=value)
    if math.isfinite(value) and value >= 0:
        config.validate()
    else:
        with pytest.raises(SeqlabError, match=r"^sample: "):
            config.validate()


@pytest.mark.parametrize("model", ["word2vec", "fasttext", "glove"])
@pytest.mark.parametrize("corpus", [[["hello"]], [["hello"], ["hello"]], [["a"], ["b"], ["c"]]])
def test_corpora_without_pairs_fail_fast_naming_the_sizes(model, corpus):
    config = CONFIGS[model](min_count=1, window=3)
    start = time.process_time()
    with pytest.raises(SeqlabError, match=rf"^{model}: no (training pairs|co-occurrences): ") as error:
        TRAINERS[model](corpus, config)
    message = str(error.value)
    words = sum(len(s) for s in corpus)
    assert f"{words} words" in message and "min_count=1" in message and "window=3" in message
    assert "vocabulary of" in message and "\n" not in message
    assert time.process_time() - start < 5  # FastText took 72 s to train on nothing


@pytest.mark.parametrize("model", ["word2vec", "fasttext"])
def test_subsampling_every_pair_away_is_an_error(model):
    # 40 words, each seen 5 times: with sample = 1e-9 every occurrence is dropped (p_keep ~ 1e-4)
    corpus = [[f"w{i}" for i in range(40)]] * 5
    extra = {"bucket": 100} if model == "fasttext" else {}
    config = CONFIGS[model](min_count=1, sample=1e-9, epochs=2, vector_size=4, **extra)
    with pytest.raises(SeqlabError, match=rf"^{model}: no training pairs after subsampling: .* sample=1e-09"):
        TRAINERS[model](corpus, config)


@pytest.mark.parametrize(("content", "format", "expected"), [
    (b"2 x\ncat 1 2\n", "word2vec", r"line 1: expected a header 'V E' \(two positive integers\)"),
    (b"2 x\ncat 1 2\n", "auto", r"line 1: expected numbers after the word, got '2 x'"),  # read as GloVe
    (b"0 3\n", "auto", r"line 1: expected a header 'V E'"),
    (b"2 3 4\ncat 1 2 3\n", "word2vec", r"line 1: expected a header 'V E'"),
    (b"2 3\ncat 1 2 3\ndog 1 2\n", "auto", r"line 3: expected a word and 3 values, got 2 values"),
    (b"2 3\ncat 1 2\ndog 1 2 3\n", "auto", r"line 2: expected a word and 3 values, got 2 values"),
    (b"2 2\ncat 1 nan\ndog 1 2\n", "auto", r"line 2: word 'cat' has a NaN or infinite value"),
    (b"2 2\ncat 1 2\ndog -inf 2\n", "auto", r"line 3: word 'dog' has a NaN or infinite value"),
    (b"2 2\ncat 1 2\ncaf\xe9 1 2\n", "auto", r"line 3: not UTF-8 text"),
    (b"2 2\ncat 1 2\ncat 3 4\n", "auto", r"word 'cat' appears twice"),
    (b"cat 1 2\ndog 1\n", "auto", r"line 2: expected a word and 2 values, got 1 values"),
    (b"cat 1 2\ndog 1 NaN\n", "glove", r"line 2: word 'dog' has a NaN or infinite value"),
])
def test_broken_text_files_name_the_file_and_line(tmp_path, content, format, expected):
    path = tmp_path / "vectors.txt"
    path.write_bytes(content)
    with pytest.raises(SeqlabError, match=expected) as error:
        load_vectors(path, format)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_broken_binary_files_name_the_file_and_vector(tmp_path):
    path = tmp_path / "vectors.bin"
    rows = np.array([[1.0, 2.0], [np.nan, 0.0]], dtype="<f4")
    path.write_bytes(b"2 2\n" + b"cat " + rows[0].tobytes() + b"\n" + b"dog " + rows[1].tobytes() + b"\n")
    with pytest.raises(SeqlabError, match=r"vectors.bin: vector 2 \(word 'dog'\) has a NaN or infinite value"):
        load_vectors(path, "word2vec-binary")
    path.write_bytes(b"2 2\n" + b"\xff\xfe " + rows[0].tobytes() + b"dog " + rows[0].tobytes())
    with pytest.raises(SeqlabError, match=r"vectors.bin: the word of vector 1 is not UTF-8"):
        load_vectors(path, "word2vec-binary")
    path.write_bytes(b"2 0\n")
    with pytest.raises(SeqlabError, match=r"vectors.bin line 1: expected a header 'V E'"):
        load_vectors(path, "word2vec-binary")
