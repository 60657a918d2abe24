"""``seqlab tokenize``: train, encode, decode and inspect end to end; bad input as one line with exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from seqlab.cli.app import app, main
from seqlab.text import Tokenizer

runner = CliRunner()
CORPUS = "It was the best of times, it was the worst of times.\nIt was the age of wisdom, café and crème.\n" * 20


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenize")
    corpus = folder / "corpus.txt"
    corpus.write_text(CORPUS, encoding="latin-1")
    paths = {}
    for model, size in (("bpe", 300), ("wordpiece", 120), ("unigram", 80), ("word", 0), ("char", 0)):
        out = folder / f"{model}.json"
        args = ["tokenize", "train", str(corpus), "--model", model, "--encoding", "latin-1", "-o", str(out)]
        result = runner.invoke(app, [*args, "--vocab-size", str(size)] if size else args)
        assert result.exit_code == 0, result.output
        assert "saved to" in result.output
        paths[model] = out
    return paths


@pytest.mark.parametrize("model", ["bpe", "wordpiece", "unigram", "word", "char"])
def test_encode_then_decode(trained, model):
    text = "it was the age of times"
    result = runner.invoke(app, ["tokenize", "encode", str(trained[model]), text])
    assert result.exit_code == 0, result.output
    ids = result.output.split()
    assert ids == [str(i) for i in Tokenizer.from_file(trained[model]).encode(text).ids]
    decoded = runner.invoke(app, ["tokenize", "decode", str(trained[model]), *ids])
    assert decoded.exit_code == 0, decoded.output
    assert decoded.output.strip() == text


def test_encode_json_and_inspect(trained):
    result = runner.invoke(app, ["tokenize", "encode", str(trained["bpe"]), "café", "--output", "json"])
    row = json.loads(result.output)
    assert row["text"] == "café" and len(row["ids"]) == len(row["offsets"])
    result = runner.invoke(app, ["tokenize", "inspect", str(trained["bpe"]), "the best"])
    assert result.exit_code == 0, result.output
    size = Tokenizer.from_file(trained["bpe"]).vocab_size
    assert size <= 300 and f"BPE, {size} tokens" in result.output and f"<|endoftext|>={size - 1}" in result.output
    assert "merges" in result.output and "'best'" in result.output and "for 8 characters" in result.output


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, capsys.readouterr().err


def test_bad_input_is_one_line_with_exit_code_2(trained, tmp_path, capsys):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café crème".encode("latin-1"))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"model": {"type": "SentencePiece", "vocab": []}}', encoding="utf-8")
    cases = [
        (["tokenize", "train", str(latin), "-o", str(tmp_path / "t.json")], "not valid utf-8"),
        (["tokenize", "train", str(empty), "-o", str(tmp_path / "t.json")], "empty corpus"),
        (["tokenize", "train", str(tmp_path / "missing.txt")], "no such file"),
        (["tokenize", "train", str(latin), "--model", "sentencepiece"], "--model: expected one of"),
        (["tokenize", "encode", str(garbage), "x"], "model.type: expected one of BPE, WordPiece, WordLevel"),
        (["tokenize", "encode", str(tmp_path / "none.json"), "x"], "expected a tokenizer.json file"),
        (["tokenize", "decode", str(trained["bpe"]), "12", "x"], "ids: expected integers"),
        (["tokenize", "decode", str(trained["bpe"]), "99999"], "outside the vocabulary"),
    ]
    for args, expected in cases:
        code, err = run_main(capsys, *args)
        assert code == 2, (args, err)
        message, _, hint = " ".join(err.split()).partition(" hint: ")  # rich wraps at the terminal's width
        assert message.startswith("error:") and expected in message and hint, (args, err)
        assert "Traceback" not in err


def test_encode_a_file_line_by_line(trained, tmp_path):
    lines = ["it was the best of times", "", "café crème"] * 5
    source = tmp_path / "lines.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["tokenize", "encode", str(trained["word"]), "--file", str(source),
                                 "--output", "tokens"])
    assert result.exit_code == 0, result.output
    tok = Tokenizer.from_file(trained["word"])
    assert result.output.splitlines() == [" ".join(tok.encode(line).tokens) for line in lines]
