"""``seqlab tutorials``: list the executable curriculum, run a tutorial, export it as a notebook.

Only typer, rich and the standard library are imported here; the library is imported inside each
command, so that ``seqlab --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from seqlab.tutorials import Tutorial

tutorials_app = typer.Typer(
    help="The curriculum as executable tutorials (jupytext .py files in the repository's tutorials/).\n\n"
    "Examples:\n\n"
    "    seqlab tutorials list\n\n"
    "    seqlab tutorials run 4 --fast\n\n"
    "    seqlab tutorials run 4 --out figures/lstm\n\n"
    "    seqlab tutorials export 4 --out notebooks/\n\n"
    "    seqlab tutorials open 4",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _datasets_cell(tutorial: Tutorial) -> str:
    """What a tutorial needs, and where it is: "gutenberg: missing, seqlab data get gutenberg"."""
    from seqlab.data.locate import find

    cells = []
    for name in tutorial.datasets:
        location = find(name)
        if location is None:
            cells.append(f"{name}: missing, seqlab data get {name}")
        else:
            cells.append(f"{name} ({location.place}{'' if location.is_whole else ', a part'})")
    return "\n".join(cells)


@tutorials_app.command("list")
def list_command() -> None:
    """List the tutorials with their numbers, titles and the datasets they need.

    A dataset that seqlab cannot find is marked "missing" with the command that fetches it.

    Example:

        seqlab tutorials list
    """
    from seqlab import tutorials as library

    found = library.list_tutorials()
    table = Table(title=f"Tutorials in {library.tutorials_dir()}")
    table.add_column("N", justify="right")
    table.add_column("file")
    table.add_column("title")
    table.add_column("data")
    for tutorial in found:
        table.add_row(str(tutorial.number), tutorial.path.name, tutorial.title, _datasets_cell(tutorial))
    console = Console(width=max(Console().width, 160), highlight=False)
    console.print(table)
    console.print("Run one: seqlab tutorials run N [--fast] [--out FOLDER]")


@tutorials_app.command("run")
def run_command(
    number: Annotated[int, typer.Argument(help="Tutorial number, as `seqlab tutorials list` shows it.")],
    fast: Annotated[bool, typer.Option("--fast", help="Tiny sizes (SEQLAB_FAST=1), as in the tests.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", "--figures",
        help="Folder for the figures and the files the tutorial writes. Default: tutorials-output/NN_name/ "
        "under the current folder.")] = None,
) -> None:
    """Run one tutorial as a script, top to bottom; figures and files go to --out, and the command says where.

    A tutorial whose dataset is missing stops before it starts, with the command that fetches it.

    Examples:

        seqlab tutorials run 1 --fast                  # ./tutorials-output/01_rnn_basics/

        seqlab tutorials run 4 --out figures/lstm
    """
    from seqlab import tutorials as library

    tutorial = library.find_tutorial(number)
    tutorial.check_datasets()  # a missing dataset: one line with the command, before anything starts
    folder = (library.default_output_dir(tutorial) if out is None else out).resolve()
    console = Console(highlight=False)
    console.print(f"Running {tutorial.path.name} ({'fast' if fast else 'full'} size); "
                  f"figures and files go to {folder}", soft_wrap=True)
    code = library.run_tutorial(tutorial, fast_mode=fast, out=folder)
    figures = sorted(path.name for path in folder.glob("*.png"))
    listed = f": {', '.join(figures)}" if figures else ""
    if code != 0:
        console.print(f"{tutorial.path.name} failed with exit code {code}; what it wrote is in {folder}",
                      soft_wrap=True)
        raise typer.Exit(code)
    console.print(f"{tutorial.path.name} ran to the end; {len(figures)} figure(s) in {folder}{listed}",
                  soft_wrap=True)


@tutorials_app.command("export")
def export_command(
    number: Annotated[int, typer.Argument(help="Tutorial number, as `seqlab tutorials list` shows it.")],
    out: Annotated[Path, typer.Option(help="An .ipynb path or an existing folder.")] = Path("."),
) -> None:
    """Write a tutorial as a Jupyter notebook (.ipynb) to open in Jupyter.

    Examples:

        seqlab tutorials export 4                 # ./04_lstm.ipynb

        seqlab tutorials export 4 --out lstm.ipynb
    """
    from seqlab import tutorials as library

    path = library.export_notebook(library.find_tutorial(number), out)
    Console().print(f"Notebook written to {path}", soft_wrap=True)


@tutorials_app.command("open")
def open_command(
    number: Annotated[int, typer.Argument(help="Tutorial number, as `seqlab tutorials list` shows it.")],
    out: Annotated[Path, typer.Option(help="Folder (or .ipynb path) for the exported notebook.")] = Path("."),
) -> None:
    """Export a tutorial as a notebook and open it in JupyterLab (or Jupyter Notebook).

    Examples:

        seqlab tutorials open 12

        seqlab tutorials open 12 --out /tmp
    """
    from seqlab import tutorials as library

    path = library.open_notebook(library.find_tutorial(number), out)
    Console().print(f"Notebook {path} closed", soft_wrap=True)
