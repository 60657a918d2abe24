"""`seqlab tutorials list|run|export`, and a clear error when the tutorials folder is absent."""

from __future__ import annotations

import pytest

from seqlab.cli.app import main
from seqlab.errors import SeqlabError
from seqlab.tutorials import fast, find_tutorial, list_tutorials, pick, tutorials_dir


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


def test_run_passes_fast_mode_and_figures_and_returns_the_exit_code(tmp_path, monkeypatch, run_cli):
    # a stand-in tutorials folder: the runner's plumbing without the cost of importing torch
    folder = tmp_path / "tutorials"
    folder.mkdir()
    seen = tmp_path / "seen.txt"
    (folder / "01_hello.py").write_text(
        "# # 01 · hello\nimport os, pathlib\n"
        "seen = os.environ['SEQLAB_FAST'] + ' ' + os.environ.get('SEQLAB_FIGURES', '-')\n"
        f"pathlib.Path({str(seen)!r}).write_text(seen)\n")
    (folder / "02_broken.py").write_text("# # 02 · broken\nassert 1 == 2, 'a failed check'\n")
    monkeypatch.setenv("SEQLAB_TUTORIALS", str(folder))
    monkeypatch.delenv("SEQLAB_FIGURES", raising=False)

    result = run_cli("run", "1", "--fast", "--figures", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert "ran to the end" in result.stdout
    assert seen.read_text() == f"1 {tmp_path / 'figs'}"

    assert run_cli("run", "1").returncode == 0
    assert seen.read_text() == "0 -"

    broken = run_cli("run", "2", "--fast")
    assert broken.returncode == 1 and "02_broken.py failed with exit code 1" in broken.stdout


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
