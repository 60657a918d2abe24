"""``seqlab train TASK [--config FILE] [key=value ...]``: one run of a task; also under torchrun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from seqlab.cli.progress import TrainingProgress, format_seconds
from seqlab.errors import SeqlabError


def train(
    task: Annotated[str, typer.Argument(help="Task: sentiment, lm, translate, ner, forecast, classify.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides, e.g. fit.lr=3e-4.")] = None,
    config: Annotated[str | None, typer.Option("--config", "-c", help="Config file or shipped config name.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Run folder to continue from its last checkpoint (budget "
                                                     "overrides fit.max_steps=, fit.epochs=, fit.max_seconds= "
                                                     "extend a finished run).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu (default), cuda, cuda:1, ...")] = None,
    runs: Annotated[Path, typer.Option(help="Folder in which the run folder is created.")] = Path("runs"),
    folds: Annotated[int | None, typer.Option(help="Cross-validate over this many folds (classification).")] = None,
    threads: Annotated[int | None, typer.Option(help="torch intra-op threads (default: torch's choice).")] = None,
) -> None:
    """Train TASK with a config file and key=value overrides; the run folder keeps everything.

    Examples:

        seqlab train sentiment --config sentiment

        seqlab train lm --config char_lstm fit.max_seconds=600

        seqlab train sentiment --config sentiment --folds 10

        seqlab train lm --resume runs/lm-20260101-120000

        seqlab train lm --resume runs/lm-20260101-120000 fit.max_steps=8000

        torchrun --nproc_per_node=2 -m seqlab train sentiment --config sentiment
    """
    from dataclasses import replace

    import torch

    from seqlab.training import distributed
    from seqlab.training.config import apply_overrides, from_dict
    from seqlab.training.run_config import load_run_config
    from seqlab.training.run_folder import CONFIG
    from seqlab.training.runner import BUDGET_KEYS, cross_validate
    from seqlab.training.runner import train as run_training
    from seqlab.training.tasks import recipe

    console = Console()
    if threads is not None:
        if threads < 1:
            raise SeqlabError(f"--threads: expected a positive number of threads, got {threads}")
        torch.set_num_threads(threads)
    if resume is not None:
        if config is not None:
            raise SeqlabError(f"--resume continues a run with its saved config; expected no --config, got {config}")
        refused = [item for item in overrides or () if item.partition("=")[0].strip() not in BUDGET_KEYS]
        if refused:
            raise SeqlabError(f"--resume: only the budget may change ({', '.join(BUDGET_KEYS)}); got "
                              f"{' '.join(refused)}")
        saved = _saved_config(resume / CONFIG)
        if saved.get("task") != task:
            raise SeqlabError(f"--resume: {resume} is a {saved.get('task')!r} run; expected a {task!r} run "
                              f"(use `seqlab train {saved.get('task')} --resume {resume}`)")
        resolved = apply_overrides(from_dict(recipe(task).config_class, saved), overrides or ())
        run_dir = resume
    else:
        resolved = load_run_config(task, config, overrides or ())
        run_dir = None
    if device is not None:
        resolved = replace(resolved, fit=replace(resolved.fit, device=device))
    distributed.init_from_env(resolved.fit.device)
    main = distributed.is_main_process()
    if run_dir is None:
        run_dir = _shared_run_dir(runs, task)
    if folds is not None:
        if folds < 2:
            raise SeqlabError(f"--folds: expected at least 2 folds, got {folds}")
        summary = cross_validate(resolved, run_dir, folds,
                                 callbacks_for=lambda k: [TrainingProgress(console, f"fold {k + 1}/{folds}")])
        scores = " ".join(f"{a:.3f}" for a in summary["scores"])
        console.print(f"{folds}-fold {summary['metric']} {summary['mean']:.4f} +- {summary['std']:.4f} "
                      f"(folds: {scores})")
        console.print(f"Runs saved in {run_dir}", soft_wrap=True)
        return
    if main:
        console.print(f"{'Resuming' if resume else 'Training'} {task} -> {run_dir}", soft_wrap=True)
    callbacks = [TrainingProgress(console)] if main else []
    try:
        result = run_training(resolved, run_dir, callbacks=callbacks, resume=resume is not None)
    except KeyboardInterrupt:
        from seqlab.training.run_folder import LAST

        if main and (run_dir / LAST).is_file():
            console.print(f"\ninterrupted; the last checkpoint continues with: seqlab train {task} --resume {run_dir}",
                          soft_wrap=True)
        elif main:
            console.print("\ninterrupted before the first checkpoint; nothing to resume")
        raise typer.Exit(130) from None
    if not main:
        return
    history = result.history
    console.print(f"{result.parameters:,} parameters; {history.steps:,} steps in {format_seconds(history.seconds)} "
                  f"({history.stop_reason})")
    if history.best_metrics:
        best = ", ".join(f"{k} {v:.4f}" for k, v in history.best_metrics.items())
        console.print(f"best validation (step {history.best_step}): {best}")
    shown = {k: v for k, v in result.results.items() if isinstance(v, float) and k not in history.best_metrics}
    if shown:
        console.print("final evaluation: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()))
    if result.sample:
        console.print("\nSample:", style="bold")
        console.print(result.sample, markup=False, highlight=False)
    console.print(f"\nRun saved in {run_dir}", soft_wrap=True)


def _saved_config(path: Path) -> dict:
    import json

    if not path.is_file():
        raise SeqlabError(f"--resume: {path.parent} is not a run folder (expected {path.name} inside)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SeqlabError(f"{path}: not valid JSON; the run's config is damaged") from None
    if not isinstance(data, dict):
        raise SeqlabError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _shared_run_dir(runs: Path, task: str) -> Path:
    """A new run folder's name (not made yet): rank 0 chooses it and every other rank receives it."""
    from seqlab.training import distributed
    from seqlab.training.run_folder import new_run_dir

    if not distributed.is_distributed():
        return new_run_dir(runs, task, create=False)
    import torch.distributed as dist

    holder = [str(new_run_dir(runs, task, create=False)) if distributed.is_main_process() else None]
    dist.broadcast_object_list(holder, src=0)  # between our own processes, not from a user's file
    return Path(holder[0])
