"""From a task name, a config file and ``key=value`` overrides to a validated run config; shipped configs.

The resolution order: the recipe's defaults <- the config file (YAML or JSON) <- the overrides, then
what the config names indirectly (``Recipe.resolve``: the sizes of a ``model.pretrained`` run).
Every field checks its value when the config is built, and the recipe checks the fields that
depend on each other, so a bad config fails here, before any data is read or any folder made
(``seqlab validate`` runs exactly this). A run's checkpoint and ``config.json`` hold the resolved
config, so a saved run rebuilds it exactly.

Example:
    >>> config = load_run_config("sentiment", None, ["fit.lr=3e-4", "model.arch=gru"])
    >>> config.fit.lr, config.model.arch
    (0.0003, 'gru')
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.training.config import apply_overrides, from_dict, read_config_file, to_dict
from seqlab.training.tasks import RECIPES, recipe


def configs_dir() -> Path:
    """The folder of the configs shipped inside the package (``seqlab/configs``)."""
    return Path(str(resources.files("seqlab") / "configs"))


def shipped_configs() -> dict[str, Path]:
    """Shipped config name (file stem) -> path."""
    folder = configs_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def config_command(path: str | Path) -> str:
    """The command line in a config file's header comment (``# seqlab train ...``), or ''."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and "seqlab " in line:
            return line.lstrip("# ").strip()
    return ""


def resolve_config_file(name: str | Path) -> Path:
    """A path as given if the file exists, else the shipped config of that name (with or without .yaml)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_configs()
    stem = path.stem if path.suffix in (".yaml", ".yml") else path.name
    if stem in shipped and path.parent == Path("."):
        return shipped[stem]
    close = difflib.get_close_matches(stem, shipped, n=2)
    hint = f"; shipped configs with a close name: {', '.join(close)}" if close else "; see `seqlab ls`"
    raise SeqlabError(f"config {str(name)!r} is neither a file nor a shipped config{hint}")


def deep_merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` laid over it, mappings merged key by key (neither input is changed)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_run_config(task: str | None, config_file: str | Path | None, overrides: Sequence[str] = ()) -> Any:
    """The validated config of a run of ``task`` (or of the file's ``task:`` when ``task`` is None)."""
    data = read_config_file(resolve_config_file(config_file)) if config_file is not None else {}
    named = data.get("task")
    if task is None:
        if named is None:
            raise SeqlabError(f"{config_file}: expected a 'task:' entry naming one of {', '.join(sorted(RECIPES))}")
        task = named
    elif named is not None and named != task and type(recipe(named)) is not type(recipe(task)):
        raise SeqlabError(f"{config_file}: is a config for task {named!r}, not {task!r}")
    chosen = recipe(task)
    data = {**data, "task": task}
    config = from_dict(chosen.config_class, deep_merge(to_dict(chosen.default_config()), data))
    config = chosen.resolve(apply_overrides(config, overrides))
    chosen.check(config)
    return config


__all__ = ["config_command", "configs_dir", "deep_merge", "load_run_config", "resolve_config_file",
           "shipped_configs"]
