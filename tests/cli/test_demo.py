"""`seqlab demo`: a real (tiny) tour end to end, and bad input as one line with exit code 2."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "seqlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_demo_trains_and_writes_its_run_folder(tmp_path):
    result = run_cli("demo", "--sections", "lm,gradients", "--steps", "30", "--runs", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (run_dir,) = list(tmp_path.iterdir())
    tour = json.loads((run_dir / "summary.json").read_text())
    assert set(tour) == {"lm", "gradients"}
    lm = tour["lm"]
    assert lm["steps"] == 30
    # 30 steps of a real model on real text already beat a uniform guess over the characters.
    assert lm["val_loss"] < lm["uniform_loss"]
    sample = (run_dir / "lm" / "sample.txt").read_text()
    assert sample.startswith("ROMEO:") and len(sample) == 300 + len("ROMEO:")
    for name in ("config.json", "tokenizer.json", "checkpoints/best.safetensors", "history.json", "results.json"):
        assert (run_dir / "lm" / name).stat().st_size > 0  # the lm section is a run folder like any other
    # the textbook's claim, measured: more of the gradient reaches step 0 through an LSTM than through a tanh RNN
    cells = tour["gradients"]["cells"]
    assert cells["lstm"]["grad_ratio"] > cells["rnn_tanh"]["grad_ratio"]
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2  # figures embedded: the report stands alone
    assert "Character-level language model" in (run_dir / "report.md").read_text()
    assert str(run_dir) in result.stdout


@pytest.mark.parametrize("args, expected", [
    (("demo", "--cell", "transformer"), "cell: expected one of rnn, lstm, gru"),
    (("demo", "--steps", "-1"), "lm_steps: expected an integer >= 1, got -1"),
    (("demo", "--sections", "lm,poetry"), "sections: expected some of lm, gradients"),
    (("demo", "--steps", "abc"), "--steps"),
    (("no-such-command",), "No such command"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, expected):
    result = run_cli(*args, "--runs", str(tmp_path)) if args[0] == "demo" else run_cli(*args)
    assert result.returncode == 2
    assert expected in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("demo", "--cell", "transformer", "--runs", str(tmp_path), "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
