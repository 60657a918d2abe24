"""``seqlab data``: the datasets seqlab knows, where each one is, and fetching one from its pinned source.

Only typer, rich and the standard library are imported here; the library is imported inside each
command, so that ``seqlab --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

data_app = typer.Typer(
    help="The datasets seqlab knows: where each one is, and fetching one from its pinned source.\n\n"
    "seqlab looks for a dataset in $SEQLAB_DATA_DIR, then in your user folder ($SEQLAB_HOME/datasets, "
    "by default ~/.local/share/seqlab/datasets), then in the copies that ship with seqlab.\n\n"
    "Examples:\n\n"
    "    seqlab data ls\n\n"
    "    seqlab data info fra-eng\n\n"
    "    seqlab data get wnut17\n\n"
    "    seqlab data get gutenberg --dest ~/datasets",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _size(count: int) -> str:
    """Bytes in decimal units, as file managers show them: 1,744 -> "1.7 kB"."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def _where(name: str) -> str:
    from seqlab.data.locate import find

    location = find(name)
    return f"missing: seqlab data get {name}" if location is None else location.describe()


@data_app.command("ls")
def ls_command() -> None:
    """List every dataset seqlab knows: size, licence, source, and where it is (or the command to get it).

    Examples:

        seqlab data ls

        SEQLAB_DATA_DIR=/shared/data seqlab data ls
    """
    from seqlab.data.locate import DATA_DIR_ENV, env_data_dir, user_data_dir
    from seqlab.data.registry import DATASETS

    table = Table(title="Datasets seqlab knows", title_justify="left")
    for column in ("name", "size", "licence", "source", "where"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for dataset in DATASETS.values():
        table.add_row(dataset.name, _size(dataset.size), dataset.licence, dataset.source, _where(dataset.name))
    console = Console(highlight=False)
    console.print(table)
    shared = env_data_dir()
    console.print(f"Searched in order: {DATA_DIR_ENV}={shared if shared else '(unset)'}, "
                  f"user folder {user_data_dir()}, the copies bundled with seqlab.", soft_wrap=True)


@data_app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="A dataset name, as `seqlab data ls` shows it.")],
) -> None:
    """Show one dataset: what it is, its licence and source, where it is, and each file's URL and sha256.

    The URLs and sha256 sums are what you need to place the files by hand on a machine that
    cannot download them.

    Examples:

        seqlab data info wnut17

        seqlab data info fra-eng
    """
    from seqlab.data.locate import download_dir
    from seqlab.data.registry import get_dataset

    dataset = get_dataset(name)
    console = Console(highlight=False)
    lines = [
        f"{dataset.name}: {dataset.description}",
        f"task: {dataset.task}",
        f"licence: {dataset.licence}",
        f"source: {dataset.source}",
        f"cite: {dataset.citation}",
        f"read with: {dataset.loader}" if dataset.loader else "",
        f"ships with seqlab: {dataset.bundled.part}" if dataset.bundled else "ships with seqlab: no",
        f"where: {_where(name)}",
        *(f"note: {note}" for note in dataset.notes),
        f"files ({_size(dataset.size)}; `seqlab data get {name}` puts them under {download_dir() / name}):",
    ]
    for line in filter(None, lines):
        console.print(line, soft_wrap=True)
    for remote in dataset.files:
        origin = remote.url if remote.member is None else f"{remote.url} (zip member {remote.member})"
        console.print(f"  {remote.path}  {remote.size:,} bytes  sha256 {remote.sha256}", soft_wrap=True)
        console.print(f"      from {origin}", soft_wrap=True)


class _PoochBar:
    """A rich progress task that pooch can drive like a tqdm bar (``total``, ``update``, ``reset``, ``close``)."""

    def __init__(self, progress: Progress, label: str):
        self._progress = progress
        self._task = progress.add_task(label, total=None)
        self._total: int | None = None

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        self._total = value or None  # a server that sends no length: an indeterminate bar
        self._progress.update(self._task, total=self._total)

    def update(self, count: int) -> None:
        self._progress.advance(self._task, count)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self._total)

    def close(self) -> None:
        if self._total is not None:
            self._progress.update(self._task, completed=self._total)


@data_app.command("get")
def get_command(
    names: Annotated[list[str], typer.Argument(help="Dataset names, as `seqlab data ls` shows them.")],
    dest: Annotated[Path | None, typer.Option(
        "--dest", help="Data folder to put them in (as DEST/NAME/...). Default: $SEQLAB_DATA_DIR if set, "
        "else your user folder.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a server.")] = 60.0,
) -> None:
    """Fetch datasets from their pinned sources, check every file's sha256, and unpack zip members.

    Files already in place with the right sha256 are not fetched again. A file whose sha256 differs
    is not kept. Offline, the error names the URL and the exact path and sha256 to place the file by hand.

    Examples:

        seqlab data get wnut17

        seqlab data get gutenberg fra-eng

        seqlab data get wnut17 --dest ~/datasets     # then: export SEQLAB_DATA_DIR=~/datasets
    """
    from seqlab.data.download import download
    from seqlab.data.locate import download_dir, env_data_dir, user_data_dir
    from seqlab.data.registry import get_dataset

    datasets = [get_dataset(name) for name in names]  # every name checked before any download
    folder = download_dir(dest)
    console = Console(highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    for dataset in datasets:
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            paths = download(dataset, dest, timeout=timeout, progress=lambda label: _PoochBar(progress, label))
        console.print(f"{dataset.name}: {len(paths)} file(s), {_size(dataset.size)}, sha256 verified, "
                      f"in {folder / dataset.name}", soft_wrap=True)
    searched = [place.resolve() for place in (env_data_dir(), user_data_dir()) if place is not None]
    if folder.resolve() not in searched:
        console.print(f"seqlab looks in $SEQLAB_DATA_DIR and {user_data_dir()}: to use {folder}, "
                      f"export SEQLAB_DATA_DIR={folder}", soft_wrap=True)
