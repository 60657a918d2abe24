"""``seqlab ls``, ``seqlab cp NAME DEST``, ``seqlab validate CONFIG``: the shipped configs and the tasks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seqlab.errors import SeqlabError


def list_configs() -> None:
    """List the shipped configs (with the command that uses each) and the tasks with what they can do.

    Examples:

        seqlab ls
    """
    from seqlab.training.run_config import config_command, shipped_configs
    from seqlab.training.tasks import RECIPES

    console = Console()
    table = Table("config", "command")
    for name, path in shipped_configs().items():
        table.add_row(name, config_command(path))
    console.print(table)
    tasks = Table("task", "what it trains", "a run can")
    for name, recipe in RECIPES.items():
        tasks.add_row(name, recipe.summary, ", ".join(sorted(a.value for a in recipe.abilities)))
    console.print(tasks)


def copy_config(
    name: Annotated[str, typer.Argument(help="A shipped config (see `seqlab ls`).")],
    dest: Annotated[Path, typer.Argument(help="File or folder to copy it to.")],
) -> None:
    """Copy a shipped config to edit it.

    Examples:

        seqlab cp sentiment my_sentiment.yaml

        seqlab train sentiment --config my_sentiment.yaml
    """
    from seqlab.training.run_config import resolve_config_file

    source = resolve_config_file(name)
    target = dest / source.name if dest.is_dir() else dest
    if target.exists():
        raise SeqlabError(f"{target} already exists; expected a new file name")
    shutil.copyfile(source, target)
    Console().print(f"copied {source.name} to {target}")


def validate(
    config: Annotated[str, typer.Argument(help="Config file or shipped config name.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides to check as well.")] = None,
) -> None:
    """Check a config (types, known keys, values, settings that depend on each other) without training;
    print it resolved. The same checks run before any `seqlab train`.

    Examples:

        seqlab validate sentiment

        seqlab validate my.yaml fit.lr=3e-4
    """
    import yaml

    from seqlab.training.config import read_config_file, to_dict
    from seqlab.training.run_config import load_run_config, resolve_config_file

    path = resolve_config_file(config)
    task = read_config_file(path).get("task")
    resolved = load_run_config(task, path, overrides or ())
    console = Console()
    console.print(yaml.safe_dump(to_dict(resolved), sort_keys=False).rstrip(), markup=False, highlight=False)
    console.print(f"{Path(path).name}: valid config for task {resolved.task!r}")
