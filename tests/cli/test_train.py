"""`seqlab train/eval/classify/generate/export/ls/cp/validate`: tiny real runs in-process, bad input as one line."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.cli.app import main

POSITIVE = ["a gorgeous witty film", "great fun and moving", "a wonderful moving story", "witty great and gorgeous"]
NEGATIVE = ["a dull tedious mess", "boring and flat", "a tedious boring film", "flat dull and lifeless"]
TINY_SENTIMENT = ["data.val_fraction=0.25", "data.batch_size=8", "model.embedding_dim=16", "model.hidden_size=16",
                  "model.dropout=0.0", "fit.epochs=8", "fit.lr=0.02", "fit.max_seconds=null"]
TINY_LM = ["data.limit=4000", "data.block_size=16", "data.batch_size=16", "model.embedding_dim=16",
           "model.hidden_size=32", "model.num_layers=1", "fit.max_steps=20", "fit.eval_every=10",
           "fit.max_seconds=null", "sample.length=10"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(capsys, *args) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def reviews(tmp_path):
    path = tmp_path / "reviews.csv"
    lines = ["text,label"] + [f"{t},pos" for t in POSITIVE * 5] + [f"{t},neg" for t in NEGATIVE * 5]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_eval_classify_export_a_sentiment_run(tmp_path, capsys, reviews):
    code, out = run(capsys, "train", "sentiment", "--config", "sentiment", f"data.path={reviews}", *TINY_SENTIMENT,
                    "--runs", str(tmp_path / "runs"))
    assert code == 0, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "best validation" in out and str(run_dir) in out
    for name in ("config.json", "tokenizer.json", "metrics.jsonl", "history.json", "curves.png",
                 "checkpoints/best.safetensors", "checkpoints/last.safetensors"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "config.json").read_text())["data"]["path"] == str(reviews)

    code, out = run(capsys, "eval", str(run_dir))
    assert code == 0 and "accuracy 1.0000" in out, out
    code, out = run(capsys, "classify", str(run_dir), "a gorgeous moving story")
    assert code == 0 and out.split()[0] == "pos", out
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("a dull boring mess\n\na witty great film\n", encoding="utf-8")
    code, out = run(capsys, "classify", str(run_dir), str(sentences))
    assert [line.split()[0] for line in out.splitlines()] == ["neg", "pos"]
    code, out = run(capsys, "export", str(run_dir), "--format", "onnx")
    assert code == 0 and (run_dir / "model.onnx").is_file(), out


def test_train_and_generate_a_language_model(tmp_path, capsys):
    code, out = run(capsys, "train", "lm", "--config", "char_lstm", *TINY_LM, "--runs", str(tmp_path))
    assert code == 0, out
    (run_dir,) = tmp_path.iterdir()
    code, out = run(capsys, "generate", str(run_dir), "--prompt", "ROMEO:", "--length", "12", "--top-k", "5")
    assert code == 0 and out.startswith("ROMEO:") and len(out.rstrip("\n")) >= 12, out
    code, out = run(capsys, "eval", str(run_dir))
    assert code == 0 and "bits_per_char" in out


def test_ls_cp_validate(tmp_path, capsys):
    code, out = run(capsys, "ls")
    assert code == 0 and "seqlab train sentiment --config sentiment" in out
    code, _ = run(capsys, "cp", "char_gpt", str(tmp_path))
    assert code == 0 and (tmp_path / "char_gpt.yaml").is_file()
    code, out = run(capsys, "cp", "char_gpt", str(tmp_path))
    assert code == 2 and "already exists" in " ".join(out.split())
    code, out = run(capsys, "validate", str(tmp_path / "char_gpt.yaml"), "fit.lr=1e-4")
    assert code == 0 and "lr: 0.0001" in out and "valid config for task 'lm'" in " ".join(out.split())


@pytest.mark.parametrize(("args", "expected"), [
    (("train", "sentiment", "fit.lrr=1"), "unknown key 'fit.lrr'; did you mean 'fit.lr'"),
    (("train", "sentimnt"), "did you mean 'sentiment'"),
    (("train", "lm", "--config", "no_such_config"), "neither a file nor a shipped config"),
    (("train", "lm", "model.arch=transformer"), "model.arch: expected one of"),
    (("validate", "sentiment", "fit.epochs=many"), "fit.epochs: expected an integer"),
    (("eval", "."), "not a run folder"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, args, expected):
    code, out = run(capsys, *args)
    assert code == 2
    assert expected in " ".join(out.split())
    assert "Traceback" not in out
