"""Every tutorial runs top to bottom in fast mode: a raised error or a failed assertion fails its test."""

from __future__ import annotations

import re
import runpy

import matplotlib
import pytest
import torch

from seqlab.tutorials import list_tutorials, tutorials_dir

matplotlib.use("Agg")  # no display in tests; set before any tutorial imports pyplot

TUTORIALS = list_tutorials()


@pytest.fixture
def one_thread():
    """Fast mode's tensors are tiny: one thread avoids the cost of waking a pool for each small op."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_tutorials_folder_is_found_and_numbered_without_gaps():
    numbers = [t.number for t in TUTORIALS]
    assert numbers, f"no tutorial found in {tutorials_dir()}"
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.path.stem for t in TUTORIALS])
def test_tutorial_runs_in_fast_mode(tutorial, tmp_path, monkeypatch, capsys, one_thread, request):
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "home"))  # datasets: $SEQLAB_DATA_DIR or the bundled copies
    if tutorial.missing_datasets():
        request.getfixturevalue("data_dir")  # skips without the datasets (fails under CI=true)
    figures = tmp_path / "figures"
    monkeypatch.setenv("SEQLAB_FAST", "1")
    monkeypatch.setenv("SEQLAB_FIGURES", str(figures))
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(tutorial.path), run_name="__main__")
    output = capsys.readouterr().out
    # each tutorial saves at least one figure and ends by stating what it measured
    assert sorted(figures.glob(f"{tutorial.path.stem[:2]}_*.png")), "no figure written"
    assert output.strip(), "the closing cell printed nothing"


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.path.stem for t in TUTORIALS])
def test_tutorial_has_a_title_equations_sources_and_a_closing_cell(tutorial):
    source = tutorial.path.read_text(encoding="utf-8")
    assert tutorial.title.startswith(f"{tutorial.number:02d} ·")
    assert "$" in source, "no equation in the markdown cells"
    assert re.search(r"\(\D*\d{4}", source), "no cited source (author, year)"
    last_markdown = source.rsplit("# %% [markdown]", 1)[1]
    assert last_markdown.strip().startswith("# ## What you saw")
    assert "# %%\n" in last_markdown, "the closing cell must compute its statement, not type it in"
    assert "savefig" not in source, "figures go through seqlab.tutorials.save_figure (into SEQLAB_FIGURES)"


def test_readme_lists_every_tutorial():
    readme = (tutorials_dir() / "README.md").read_text(encoding="utf-8")
    for tutorial in TUTORIALS:
        assert f"({tutorial.path.name})" in readme, f"{tutorial.path.name} is not linked from tutorials/README.md"
