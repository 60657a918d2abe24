"""What the tutorials share: fast mode, where figures go, and where the tutorials live.

The tutorials are jupytext "percent" ``.py`` files in the repository's ``tutorials/`` folder
(they ship with the source checkout, not with the wheel). Each one reads its settings from
environment variables through this module:

* ``SEQLAB_FAST=1``: tiny sizes, so that the test suite runs every tutorial in seconds;
  unset (or ``0``), the tutorial runs at full size.
* ``SEQLAB_FIGURES``: the folder that receives the PNG figures (``seqlab tutorials run N --out``
  sets it). Unset, a script writes to ``tutorials-output/<tutorial>/`` under the current folder;
  a notebook, whose figures are shown inline, to a temporary folder removed when its kernel exits.
  Other files a tutorial writes (tokenizer.json, vectors, run folders) go to ``scratch_dir()``
  inside it.
* ``SEQLAB_TUTORIALS``: the tutorials folder, when not the one of this source checkout.

A tutorial that reads a dataset says so at its top with ``need_datasets("gutenberg")``: that line
stops it with the command that fetches a missing dataset, and ``seqlab tutorials list`` reads it
to show what each tutorial needs. Datasets are found as the loaders find them
(``seqlab.data.locate``), so those that ship with seqlab need nothing set.

Example:
    >>> from seqlab.tutorials import fast, pick
    >>> steps = pick(fast=20, full=2000)   # 20 under SEQLAB_FAST=1, else 2000
"""

from __future__ import annotations

import ast
import atexit
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from seqlab.data.locate import Location, find, locate
from seqlab.errors import SeqlabError

log = logging.getLogger(__name__)

FAST_ENV = "SEQLAB_FAST"
FIGURES_ENV = "SEQLAB_FIGURES"
TUTORIALS_ENV = "SEQLAB_TUTORIALS"
OUTPUT_FOLDER = "tutorials-output"  # under the current folder: tutorials-output/04_lstm/

_T = TypeVar("_T")
_figure_dir: Path | None = None


def fast() -> bool:
    """True when ``SEQLAB_FAST`` is set to anything but "", "0", "false" or "no"."""
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no")


_is_fast = fast  # pick's keyword argument ``fast`` shadows the function inside pick


def pick(fast: _T, full: _T) -> _T:
    """``fast`` under ``SEQLAB_FAST=1``, otherwise ``full``."""
    return fast if _is_fast() else full


def figure_dir() -> Path:
    """Where figures go: ``$SEQLAB_FIGURES``, else ``tutorials-output/<script>/``, in a notebook a temporary folder.

    The folder is created if needed. A notebook shows its figures inline; its temporary folder is
    removed when the kernel exits.
    """
    global _figure_dir
    value = os.environ.get(FIGURES_ENV)
    if value:
        folder = Path(value)
    elif _in_kernel():
        if _figure_dir is None:
            _figure_dir = Path(tempfile.mkdtemp(prefix="seqlab-figures-"))
            atexit.register(shutil.rmtree, _figure_dir, ignore_errors=True)
        return _figure_dir
    else:
        script = Path(sys.argv[0]).stem if sys.argv else ""
        folder = Path.cwd() / OUTPUT_FOLDER / (script if script and not script.startswith("-") else "tutorial")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scratch_dir() -> Path:
    """A folder for files a tutorial writes besides figures (tokenizer.json, vectors): ``<figure_dir>/files``."""
    folder = figure_dir() / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(figure, name: str) -> Path:
    """Write ``figure`` as ``<figure_dir>/<name>.png``; inside a Jupyter kernel also show it inline.

    The figure is closed afterwards, so that a notebook shows it once and a script does not
    accumulate open figures.
    """
    import matplotlib.pyplot as plt

    path = figure_dir() / f"{name}.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    if _in_kernel():
        from IPython.display import display

        display(figure)
    plt.close(figure)
    log.info("figure written to %s", path)
    return path


def show_png(path: str | os.PathLike) -> Path:
    """Show a PNG written by ``seqlab.plots`` inline when inside a Jupyter kernel; returns its path."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"figure {path} does not exist")
    if _in_kernel():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    return path


def _in_kernel() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


# -- finding and running the tutorials ---------------------------------------------------------

_NAME = re.compile(r"^(\d{2})_([a-z0-9_]+)\.py$")


def need_datasets(*names: str) -> list[Location]:
    """Where each named dataset is; a one-line ``SeqlabError`` with ``seqlab data get NAME`` for a missing one.

    A tutorial calls it at its top, so that a missing dataset stops it before any work, and so that
    ``seqlab tutorials list`` (which reads these calls) can show what the tutorial needs.
    """
    return [find(name) or locate(name) for name in names]  # locate raises the error; the loaders log the place


@dataclass(frozen=True)
class Tutorial:
    """One tutorial file: ``number`` 1..19, ``name`` such as "rnn_basics", its title, path and datasets."""

    number: int
    name: str
    title: str
    path: Path
    datasets: tuple[str, ...] = ()  # the names passed to need_datasets(...) in the file

    def missing_datasets(self) -> list[str]:
        """The datasets it needs that are nowhere seqlab looks (``seqlab.data.locate``)."""
        return [name for name in self.datasets if find(name) is None]

    def check_datasets(self) -> None:
        """Raise a one-line ``SeqlabError`` with the command to run when a dataset it needs is missing."""
        missing = self.missing_datasets()
        if missing:
            commands = " and ".join(f"seqlab data get {name}" for name in missing)
            raise SeqlabError(f"tutorial {self.number} ({self.path.name}) needs the dataset(s) {', '.join(missing)}, "
                              f"which seqlab cannot find; get them with: {commands}")


def tutorials_dir() -> Path:
    """The ``tutorials/`` folder: ``$SEQLAB_TUTORIALS`` if set, else the one of this source checkout."""
    value = os.environ.get(TUTORIALS_ENV)
    # src/seqlab/tutorials.py -> the repository root is two folders above the package
    folder = Path(value) if value else Path(__file__).resolve().parents[2] / "tutorials"
    if not folder.is_dir():
        raise SeqlabError(f"tutorials folder not found: expected {folder} to hold 01_rnn_basics.py ...; "
                          "the tutorials ship with the source checkout (git clone, then pip install -e .), "
                          f"or point {TUTORIALS_ENV} at a copy of the folder")
    return folder


def list_tutorials(folder: Path | None = None) -> list[Tutorial]:
    """Every ``NN_name.py`` in the tutorials folder, in curriculum order."""
    folder = tutorials_dir() if folder is None else Path(folder)
    found = []
    for path in sorted(folder.glob("*.py")):
        match = _NAME.match(path.name)
        if match:
            source = path.read_text(encoding="utf-8")
            found.append(Tutorial(int(match[1]), match[2], _title(source, path.stem), path, _datasets(source, path)))
    return found


def find_tutorial(number: int, folder: Path | None = None) -> Tutorial:
    """The tutorial numbered ``number``; a ``SeqlabError`` naming the available numbers otherwise."""
    tutorials = list_tutorials(folder)
    for tutorial in tutorials:
        if tutorial.number == number:
            return tutorial
    available = ", ".join(str(t.number) for t in tutorials) or "none"
    raise SeqlabError(f"tutorial {number}: no such tutorial; available: {available}")


def _title(source: str, default: str) -> str:
    """The first markdown heading of a percent-format file (``# # Title``)."""
    for line in source.splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return default


def _datasets(source: str, path: Path) -> tuple[str, ...]:
    """The string arguments of every ``need_datasets(...)`` call in a tutorial's source, in order."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise SeqlabError(f"{path}: line {error.lineno}: not valid Python ({error.msg})") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called == need_datasets.__name__:
                names += [arg.value for arg in node.args
                          if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return tuple(dict.fromkeys(names))


def default_output_dir(tutorial: Tutorial) -> Path:
    """``tutorials-output/<NN_name>/`` under the current folder: where ``seqlab tutorials run`` writes by default."""
    return Path.cwd() / OUTPUT_FOLDER / tutorial.path.stem


def run_tutorial(tutorial: Tutorial, *, fast_mode: bool = False, out: Path | None = None) -> int:
    """Run a tutorial as a script in a fresh Python process; returns its exit code.

    Its output goes to this process's terminal. ``fast_mode`` sets ``SEQLAB_FAST=1``; figures and
    the files the tutorial writes go to ``out`` (``SEQLAB_FIGURES``; default ``default_output_dir``).
    A dataset it needs that is missing raises a one-line ``SeqlabError`` before it starts.
    """
    tutorial.check_datasets()
    out = default_output_dir(tutorial) if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env[FAST_ENV] = "1" if fast_mode else "0"
    env[FIGURES_ENV] = str(out.resolve())
    return subprocess.run([sys.executable, str(tutorial.path)], env=env, cwd=tutorial.path.parent,
                          check=False).returncode


def export_notebook(tutorial: Tutorial, destination: Path) -> Path:
    """Write the tutorial as a Jupyter notebook (``.ipynb``, outputs empty) with jupytext.

    ``destination`` is a file path or an existing folder (then ``NN_name.ipynb`` inside it).
    """
    try:
        import jupytext
    except ImportError as missing:
        raise SeqlabError("exporting a notebook needs jupytext: pip install jupytext "
                          "(it comes with seqlab's test extra)") from missing
    from seqlab.files import write_text_atomic

    destination = Path(destination)
    if destination.is_dir():
        destination = destination / f"{tutorial.path.stem}.ipynb"
    if destination.suffix != ".ipynb":
        raise SeqlabError(f"destination: expected a folder or a path ending in .ipynb, got {destination}")
    notebook = jupytext.read(tutorial.path, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    write_text_atomic(destination, jupytext.writes(notebook, fmt="ipynb"))
    return destination


def notebook_launcher() -> list[str] | None:
    """The command that opens a notebook in Jupyter (``jupyter-lab``, else ``jupyter-notebook``), or None."""
    for program in ("jupyter-lab", "jupyter-notebook"):
        found = shutil.which(program)
        if found:
            return [found]
    return None


def open_notebook(tutorial: Tutorial, destination: Path) -> Path:
    """Export the tutorial as a notebook and open it in Jupyter (blocks until Jupyter exits).

    Raises ``SeqlabError`` naming the exported file when neither JupyterLab nor Notebook is installed.
    """
    path = export_notebook(tutorial, destination)
    launcher = notebook_launcher()
    if launcher is None:
        raise SeqlabError(f"no Jupyter to open {path} with: expected jupyter-lab or jupyter-notebook on PATH; "
                          "pip install jupyterlab, or open the notebook in your editor")
    subprocess.run([*launcher, str(path)], check=False)
    return path
