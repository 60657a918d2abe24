"""Tasks: what a batch means, the loss to train and the metrics to report (see ``base.Task``).

Each task of ``seqlab train TASK`` is a *recipe module* named in ``RECIPES``; the module defines

* ``Config``: the run's dataclass (fields ``task``, ``data``, ``model``, ``fit: FitConfig``, ...);
* ``train(config, run_dir, *, callbacks=(), resume=False)``: builds data and model, calls ``fit``,
  returns a result with ``history``, ``best_metrics`` and ``parameters``;
* ``evaluate_run(run_dir, config) -> dict``: the best checkpoint's metrics on the validation data;
* optionally ``load(run_dir, config)`` (used by ``generate``, ``classify``, ``export``).

Modules are imported on first use, so a task's dependencies cost nothing to the others.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from seqlab.errors import SeqlabError
from seqlab.training.tasks.base import Task

RECIPES = {
    "sentiment": "seqlab.training.tasks.classification",
    "classify": "seqlab.training.tasks.classification",
    "lm": "seqlab.training.tasks.language_model",
    "forecast": "seqlab.training.tasks.forecasting",
    "ner": "seqlab.training.tasks.tagging",
    "translate": "seqlab.training.tasks.translation",
}


def recipe(name: str) -> ModuleType:
    """The recipe module of task ``name``."""
    if name not in RECIPES:
        import difflib

        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SeqlabError(f"task: expected one of {', '.join(sorted(RECIPES))}, got {name!r}{hint}")
    return importlib.import_module(RECIPES[name])


__all__ = ["RECIPES", "Task", "recipe"]
