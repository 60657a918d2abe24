"""`seqlab diagnose gradients|gates`: tiny runs write their figures and summaries; bad input exits 2."""

import json

import pytest

from seqlab.cli.app import main


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = stop.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_diagnose_gradients_with_clipping(tmp_path, capsys):
    code, text = run(["diagnose", "gradients", "--cells", "rnn_tanh,gru", "--T", "12", "--hidden", "6",
                      "--clipping-steps", "3", "--runs", str(tmp_path)], capsys)
    assert code == 0, text
    (run_dir,) = tmp_path.iterdir()
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"gradient_norms.png", "jacobian_norms.png", "summary.json", "summary.md", "curves.json"}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["clipping"]["gru"]) == {"none", "norm", "value"}
    assert summary["clipping"]["gru"]["none"]["fraction_clipped"] == 0.0
    curves = json.loads((run_dir / "curves.json").read_text())
    assert len(curves["grad_h"]["rnn_tanh"]) == 12 and curves["grad_h"]["rnn_tanh"][-1] == pytest.approx(1.0)
    assert str(run_dir) in text


def test_diagnose_gates_of_an_untrained_gru(tmp_path, capsys):
    code, text = run(["diagnose", "gates", "--cell", "gru", "--text", "ROMEO: soft", "--runs", str(tmp_path)],
                     capsys)
    assert code == 0, text
    (run_dir,) = tmp_path.iterdir()
    assert {p.name for p in run_dir.iterdir()} == {"gates_layer0.png", "states_pca.png", "summary.json"}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["saturation"][0]) == {"r", "z", "n"} and len(summary["loss_per_step"]) == 10
    assert "layer 0 saturation" in text


@pytest.mark.parametrize("argv, expected", [
    (["diagnose", "gradients", "--cells", "rnn,lstm"], "cells: expected names from"),
    (["diagnose", "gradients", "--loss", "first"], "loss: expected one of last, every"),
    (["diagnose", "gates", "--cell", "transformer"], "cell: expected one of lstm, gru, rnn"),
    (["diagnose", "gates", "--text", "x"], "text: expected at least 2 tokens"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys, argv, expected):
    code, text = run([*argv, "--runs", str(tmp_path)], capsys)
    assert code == 2 and expected in text and "Traceback" not in text


@pytest.mark.parametrize("arch", ["gru", "gpt"])
def test_diagnose_gates_reads_any_language_model_run(tmp_path, capsys, arch):
    """A `seqlab train lm` run (and so the tour's lm/ section, the same run folder) is read from its checkpoint."""
    code, text = run(["train", "lm", "data.limit=4000", "data.block_size=16", "data.batch_size=8",
                      f"model.arch={arch}", "model.num_layers=1", "model.hidden_size=16", "model.embedding_dim=8",
                      "model.n_layer=1", "model.n_head=1", "model.n_embd=8", "fit.max_steps=3", "fit.eval_every=3",
                      "sample.length=5", "--runs", str(tmp_path / "runs")], capsys)
    assert code == 0, text
    (lm_run,) = (tmp_path / "runs").iterdir()
    code, text = run(["diagnose", "gates", "--run", str(lm_run), "--text", "First Citizen", "--runs",
                      str(tmp_path / "diag")], capsys)
    if arch == "gru":
        assert code == 0, text
        assert f"trained GRU from {lm_run}" in " ".join(text.split())
    else:
        assert code == 2 and "reads a recurrent language model" in text and "Traceback" not in text
