"""`seqlab tutorials list|run|export`: where the figures go, the datasets each needs, clear one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqlab.cli.app import main
from seqlab.errors import SeqlabError
from seqlab.tutorials import fast, figure_dir, find_tutorial, list_tutorials, pick, tutorials_dir


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run_cli(capsys):
    """``seqlab tutorials ...`` through the console script's entry point, in this process."""

    def run(*args):
        try:
            main(["tutorials", *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def test_list_shows_every_tutorial(run_cli):
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    for tutorial in list_tutorials():
        assert tutorial.path.name in result.stdout


def test_export_writes_a_valid_notebook(tmp_path, run_cli):
    nbformat = pytest.importorskip("nbformat")
    result = run_cli("export", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(tmp_path / "01_rnn_basics.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].cell_type == "markdown" and "RNN basics" in notebook.cells[0].source
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    """A tutorials folder of tiny scripts (the runner's plumbing without the cost of importing torch).

    No $SEQLAB_DATA_DIR and an empty user folder: only the bundled datasets are found.
    """
    folder = tmp_path / "tutorials"
    folder.mkdir()
    seen = tmp_path / "seen.txt"
    (folder / "01_hello.py").write_text(
        "# # 01 · hello\nimport os, pathlib\n"
        "seen = os.environ['SEQLAB_FAST'] + ' ' + os.environ.get('SEQLAB_FIGURES', '-')\n"
        f"pathlib.Path({str(seen)!r}).write_text(seen)\n"
        "pathlib.Path(os.environ['SEQLAB_FIGURES'], '01_hello.png').write_bytes(b'png')\n")
    (folder / "02_broken.py").write_text("# # 02 · broken\nassert 1 == 2, 'a failed check'\n")
    (folder / "03_entities.py").write_text(
        "# # 03 · entities\nfrom seqlab.tutorials import need_datasets\n\n"
        f"need_datasets('wnut17', 'sentence_polarity')\nimport pathlib\npathlib.Path({str(seen)!r}).write_text('3')\n")
    (folder / "04_reviews.py").write_text("# # 04 · reviews\nimport seqlab.tutorials\n\n"
                                          "seqlab.tutorials.need_datasets('sentence_polarity', 'fra-eng')\n")
    monkeypatch.setenv("SEQLAB_TUTORIALS", str(folder))
    monkeypatch.delenv("SEQLAB_FIGURES", raising=False)
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    return seen


def test_run_writes_into_out_and_says_where(tmp_path, run_cli, stand_ins):
    result = run_cli("run", "1", "--fast", "--out", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert stand_ins.read_text() == f"1 {tmp_path / 'figs'}"
    unwrapped = "".join(result.stdout.split())  # rich wraps long lines at the console width
    assert f"figuresandfilesgoto{tmp_path / 'figs'}" in unwrapped
    assert f"01_hello.pyrantotheend;1figure(s)in{tmp_path / 'figs'}:01_hello.png" in unwrapped


def test_run_defaults_to_a_named_folder_under_the_current_one(tmp_path, run_cli, stand_ins):
    before = {path.name for path in tmp_path.iterdir()}
    assert run_cli("run", "1").returncode == 0
    expected = tmp_path / "tutorials-output" / "01_hello"
    assert stand_ins.read_text() == f"0 {expected}" and (expected / "01_hello.png").is_file()
    assert {path.name for path in tmp_path.iterdir()} - before == {"tutorials-output", "seen.txt"}


def test_run_returns_the_exit_code_of_a_failed_tutorial(run_cli, stand_ins):
    broken = run_cli("run", "2", "--fast")
    assert broken.returncode == 1 and "02_broken.py failed with exit code 1" in broken.stdout


def test_list_marks_the_datasets_each_tutorial_needs(run_cli, stand_ins):
    assert [t.datasets for t in list_tutorials()] == [(), (), ("wnut17", "sentence_polarity"),
                                                      ("sentence_polarity", "fra-eng")]
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "03_entities.py" in line)
    assert [line.split("│")[4].strip() for line in lines[at:at + 2]] == [
        "wnut17: missing, seqlab data get wnut17", "sentence_polarity (bundled)"]
    assert "fra-eng (bundled, a part)" in result.stdout
    hello = next(line for line in lines if "01_hello.py" in line)
    assert hello.split("│")[4].strip() == ""


def test_a_tutorial_whose_dataset_is_missing_stops_before_it_starts_with_one_line(run_cli, stand_ins):
    result = run_cli("run", "3", "--fast")
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert " ".join(result.stderr.split()).startswith(
        "error: tutorial 3 (03_entities.py) needs the dataset(s) wnut17, which seqlab cannot find; "
        "get them with: seqlab data get wnut17")
    assert not stand_ins.exists()  # it never ran
    find_tutorial(4).check_datasets()  # bundled datasets need nothing (running it would cost a torch import)


def test_figures_of_a_script_go_to_a_folder_named_after_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SEQLAB_FIGURES", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "elsewhere" / "04_lstm.py")])
    assert figure_dir() == tmp_path / "tutorials-output" / "04_lstm" and figure_dir().is_dir()
    monkeypatch.setenv("SEQLAB_FIGURES", str(tmp_path / "mine"))
    assert figure_dir() == tmp_path / "mine" and figure_dir().is_dir()


def test_the_cli_modules_do_not_import_torch():
    code = "import sys, seqlab.cli.data, seqlab.cli.tutorials; print(sorted(m for m in sys.modules if 'torch' in m))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [("data",), ("data", "ls"), ("data", "get"), ("data", "info"), ("tutorials",),
                                     ("tutorials", "list"), ("tutorials", "run"), ("tutorials", "export"),
                                     ("tutorials", "open")])
def test_every_help_has_examples(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "Example" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (("run", "99"), "tutorial 99: no such tutorial; available: 1, "),
    (("export", "1", "--out", "notebook.txt"), "expected a folder or a path ending in .ipynb"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, monkeypatch, run_cli, args, expected):
    monkeypatch.chdir(tmp_path)
    result = run_cli(*args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_tutorials_folder_is_a_clear_error(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("SEQLAB_TUTORIALS", str(tmp_path / "absent"))
    with pytest.raises(SeqlabError, match=r"tutorials folder not found.*source checkout"):
        tutorials_dir()
    result = run_cli("list")
    assert result.returncode == 2 and "tutorials folder not found" in result.stderr


def test_fast_mode_and_pick_follow_the_environment(monkeypatch):
    monkeypatch.setenv("SEQLAB_FAST", "1")
    assert fast() and pick(fast=2, full=200) == 2
    for off in ("", "0", "false"):
        monkeypatch.setenv("SEQLAB_FAST", off)
        assert not fast() and pick(fast=2, full=200) == 200


def test_find_tutorial_by_number():
    assert find_tutorial(1).path.name == "01_rnn_basics.py"
    assert find_tutorial(1).title.startswith("01 · RNN basics")


def test_open_without_jupyter_names_the_exported_notebook(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no jupyter-lab / jupyter-notebook to find
    result = run_cli("open", "1", "--out", str(tmp_path))
    assert result.returncode == 2
    unwrapped = "".join(result.stderr.split())  # rich wraps long lines at the console width
    assert "noJupytertoopen" in unwrapped and "01_rnn_basics.ipynb" in unwrapped
    assert (tmp_path / "01_rnn_basics.ipynb").stat().st_size > 0


def test_open_launches_jupyter_with_the_notebook(tmp_path, monkeypatch, run_cli):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "argv.txt"
    fake = bin_dir / "jupyter-lab"
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {seen}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run_cli("open", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert seen.read_text().strip() == str(tmp_path / "02_bptt.ipynb")
