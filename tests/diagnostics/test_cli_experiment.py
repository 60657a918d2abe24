"""`seqlab experiment adding|copy`: tiny runs write their run folder; bad input is one line, exit code 2."""

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


def test_experiment_adding_writes_summary_figure_and_names_the_folder(tmp_path, capsys):
    code, text = run(["experiment", "adding", "--cells", "rnn_tanh,gru", "--T", "6", "--steps", "4", "--hidden", "8",
                      "--batch", "8", "--runs", str(tmp_path)], capsys)
    assert code == 0, text
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["cells"]) == {"rnn_tanh", "gru"} and summary["baseline"] == pytest.approx(1 / 6)
    assert all(cell["steps"] == 4 for cell in summary["cells"].values())
    assert (run_dir / "learning_curves.png").stat().st_size > 0
    assert str(run_dir) in text and "memoryless baseline 0.1667" in text


@pytest.mark.parametrize("argv, expected", [
    (["experiment", "copy", "--cells", "lstm,transformer"], "cell: expected one of"),
    (["experiment", "adding", "--T", "1"], "T: the adding problem needs T >= 2"),
    (["experiment", "copy", "--clip", "global"], "clip: expected one of norm, value or none"),
    (["experiment", "pretraining", "--parts", "bert,bart"], "parts: expected some of bert, bigru, gpt"),
    (["experiment", "pretraining", "--mlm-run", "no-such-run"], "mlm_run: no-such-run does not exist"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys, argv, expected):
    code, text = run([*argv, "--runs", str(tmp_path)], capsys)
    assert code == 2 and expected in text and "Traceback" not in text
    assert not any(tmp_path.iterdir())  # nothing trained, no run folder left behind
