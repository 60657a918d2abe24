"""`seqlab embed train|eval|neighbors|convert` end to end on a tiny corpus, and bad input -> exit code 2."""

from __future__ import annotations

import pytest

from seqlab.cli.app import main
from seqlab.embeddings import load_vectors


def run(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, " ".join((captured.out + captured.err).split())  # rich wraps long lines


@pytest.fixture
def corpus_file(tmp_path, corpus):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in corpus), encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["word2vec", "glove", "fasttext"])
def test_train_then_query_convert_and_eval(capsys, tmp_path, corpus_file, model):
    out = tmp_path / "v.txt"
    code, text = run(capsys, "embed", "train", str(corpus_file), "--model", model, "--dim", "8", "--epochs", "2",
                     "--min-count", "1", "-o", str(out))
    assert code == 0, text
    assert "Vectors saved" in text
    vectors = load_vectors(out)
    assert len(vectors) == 15 and vectors.vector_size == 8
    code, text = run(capsys, "embed", "neighbors", str(out), "cat", "cat:dog::iron", "--topn", "2")
    assert code == 0, text
    assert text.count("(") == 4  # two neighbours for each query
    binary = tmp_path / "v.bin"
    assert run(capsys, "embed", "convert", str(out), str(binary), "--to", "word2vec-binary")[0] == 0
    assert load_vectors(binary).words == vectors.words
    code, text = run(capsys, "embed", "eval", str(binary))
    assert code == 0, text
    assert "wordsim353" in text and "OOV" in text


@pytest.mark.parametrize(("args", "expected"), [
    (("embed", "train", "missing-corpus.txt"), "no such file or folder"),
    (("embed", "train", "{corpus}", "--model", "bert"), "model: expected one of"),
    (("embed", "train", "{empty}"), "empty corpus"),
    (("embed", "train", "{latin1}"), "not valid utf-8"),
    (("embed", "convert", "{corpus}", "{tmp}/x.txt"), "expected numbers after the word"),
    (("embed", "neighbors", "{vectors}", "zebra"), "unknown word(s) 'zebra'"),
    # settings are checked before the corpus is read: the missing corpus is never reached
    (("embed", "train", "missing-corpus.txt", "--sample", "nan"), "sample: expected a finite number >= 0, got nan"),
    (("embed", "train", "missing-corpus.txt", "--model", "glove", "--dim", "-1"), "vector_size: expected an integer"),
    (("embed", "train", "missing-corpus.txt", "--model", "fasttext", "--sample", "inf"), "sample: expected a finite"),
    (("embed", "train", "missing-corpus.txt", "--threads", "0"), "threads: expected an integer >= 1"),
    (("embed", "train", "{one_word}", "--model", "fasttext", "--min-count", "1"), "fasttext: no training pairs: 1 "),
    (("embed", "eval", "{nan_vectors}"), "line 3: word 'dog' has a NaN or infinite value"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, corpus_file, args, expected):
    (tmp_path / "empty.txt").write_text("123 456\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "vectors.txt").write_text("1 2\ncat 0.5 0.25\n")
    (tmp_path / "nan.txt").write_text("2 2\ncat 0.5 0.25\ndog nan 1\n")
    (tmp_path / "one.txt").write_text("hello\n")
    names = {"corpus": corpus_file, "empty": tmp_path / "empty.txt", "latin1": tmp_path / "latin1.txt",
             "vectors": tmp_path / "vectors.txt", "tmp": tmp_path, "nan_vectors": tmp_path / "nan.txt",
             "one_word": tmp_path / "one.txt"}
    code, text = run(capsys, *(a.format(**names) for a in args))
    assert code == 2
    assert expected in text
    assert "Traceback" not in text
