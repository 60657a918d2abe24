"""``seqlab tutorials``: list the executable curriculum, run a tutorial, export it as a notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seqlab import tutorials as library

tutorials_app = typer.Typer(
    help="The curriculum as executable tutorials (jupytext .py files in the repository's tutorials/).\n\n"
    "Examples:\n\n"
    "    seqlab tutorials list\n\n"
    "    seqlab tutorials run 4 --fast\n\n"
    "    seqlab tutorials export 4 --out notebooks/\n\n"
    "    seqlab tutorials open 4",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@tutorials_app.command("list")
def list_command() -> None:
    """List the tutorials with their numbers and titles.

    Example:

        seqlab tutorials list
    """
    found = library.list_tutorials()
    table = Table(title=f"Tutorials in {library.tutorials_dir()}")
    table.add_column("N", justify="right")
    table.add_column("file")
    table.add_column("title")
    for tutorial in found:
        table.add_row(str(tutorial.number), tutorial.path.name, tutorial.title)
    Console(width=140).print(table)


@tutorials_app.command("run")
def run_command(
    number: Annotated[int, typer.Argument(help="Tutorial number, as `seqlab tutorials list` shows it.")],
    fast: Annotated[bool, typer.Option("--fast", help="Tiny sizes (SEQLAB_FAST=1), as in the tests.")] = False,
    figures: Annotated[Path | None, typer.Option(help="Folder for the PNG figures (default: a temp folder).")] = None,
) -> None:
    """Run one tutorial as a script, top to bottom; figures go to --figures.

    Examples:

        seqlab tutorials run 1 --fast

        seqlab tutorials run 4 --figures figs/
    """
    tutorial = library.find_tutorial(number)
    console = Console()
    console.print(f"Running {tutorial.path.name} ({'fast' if fast else 'full'} size)")
    code = library.run_tutorial(tutorial, fast_mode=fast, figures=figures)
    if code != 0:
        console.print(f"{tutorial.path.name} failed with exit code {code}")
        raise typer.Exit(code)
    console.print(f"{tutorial.path.name} ran to the end")


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
    path = library.open_notebook(library.find_tutorial(number), out)
    Console().print(f"Notebook {path} closed", soft_wrap=True)
