"""A tutorial converted to a notebook runs in a real Jupyter kernel (jupytext -> nbclient -> ipykernel)."""

from __future__ import annotations

import json
import sys

import pytest

from seqlab.tutorials import export_notebook, find_tutorial

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("jupytext")


def _install_kernel(folder, env):
    """A kernelspec that starts this interpreter, so the notebook sees the same seqlab as the tests."""
    spec = folder / "kernels" / "seqlab-tests"
    spec.mkdir(parents=True)
    kernel = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
              "display_name": "seqlab tests", "language": "python", "env": env}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return "seqlab-tests"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client/zmq internals, not ours
def test_rnn_basics_runs_as_a_notebook_in_a_kernel(tmp_path, monkeypatch):
    figures = tmp_path / "figures"
    for name in ("JUPYTER_PATH", "JUPYTER_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    kernel_name = _install_kernel(tmp_path / "jupyter", {"SEQLAB_FAST": "1", "SEQLAB_FIGURES": str(figures),
                                                         "MPLCONFIGDIR": str(tmp_path / "mpl"),
                                                         "OMP_NUM_THREADS": "1"})
    path = export_notebook(find_tutorial(1), tmp_path)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert [c.cell_type for c in notebook.cells].count("markdown") >= 3

    client = nbclient.NotebookClient(notebook, kernel_name=kernel_name, timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError if any cell fails

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the figure was not shown inline"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "fast mode: True" in text and "differ by at most" in text
    assert (figures / "01_hidden_state.png").stat().st_size > 0
