"""``seqlab train TASK [--config FILE] [key=value ...]``: one run of a task; also under torchrun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from seqlab.cli.app import app
from seqlab.errors import SeqlabError
from seqlab.training import distributed
from seqlab.training.fit import Callback
from seqlab.training.recipes import load_run, load_run_config
from seqlab.training.tasks import recipe


class ProgressBar(Callback):
    """A rich progress bar over the optimiser steps, with the loss, the rate and the ETA."""

    def __init__(self, console: Console, description: str = "training"):
        columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("step {task.completed:.0f}"),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn()]
        self.progress = Progress(*columns, console=console, transient=False)
        self.description = description
        self.task = None
        self.val = ""

    def on_train_begin(self, total_steps, start_step):
        self.progress.start()
        self.task = self.progress.add_task(self.description, total=total_steps, completed=start_step, status="")

    def on_step(self, step, info):
        self.progress.update(self.task, completed=step, status=f"loss {info['loss']:.3f}{self.val}")

    def on_evaluate(self, step, metrics):
        shown = {k: v for k, v in metrics.items() if k in ("loss", "accuracy", "bits_per_char", "f1", "bleu")}
        self.val = " | val " + " ".join(f"{k} {v:.3f}" for k, v in shown.items())

    def on_train_end(self, history):
        self.progress.stop()


@app.command(context_settings={"allow_extra_args": False})
def train(
    task: Annotated[str, typer.Argument(help="Task: sentiment, lm, ... (see `seqlab ls`).")],
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides, e.g. fit.lr=3e-4.")] = None,
    config: Annotated[str | None, typer.Option("--config", "-c", help="Config file or shipped config name.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Run folder to continue from its last checkpoint.")] = None,
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

        torchrun --nproc_per_node=2 -m seqlab train sentiment --config sentiment
    """
    console = Console()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if resume is not None:
        if config is not None or overrides:
            raise SeqlabError("--resume continues a run with its saved config; expected no --config and no "
                              f"overrides, got {config or ' '.join(overrides)}")
        module, resolved = load_run(resume)
        run_dir = resume
    else:
        resolved = load_run_config(task, config, overrides or ())
        module = recipe(task)
        run_dir = None
    if device is not None:
        from dataclasses import replace

        resolved = replace(resolved, fit=replace(resolved.fit, device=device))
    distributed.init_from_env(resolved.fit.device)
    main = distributed.is_main_process()
    if run_dir is None:
        run_dir = _shared_run_dir(runs, task)
    callbacks = [ProgressBar(console)] if main else []
    if folds is not None:
        _cross_validate(module, resolved, run_dir, folds, console)
        return
    if main:
        console.print(f"Training {task} -> {run_dir}", soft_wrap=True)
    try:
        result = module.train(resolved, run_dir, callbacks=callbacks, resume=resume is not None)
    except KeyboardInterrupt:
        from seqlab.training.fit import LAST

        if main and (Path(run_dir) / LAST).is_file():
            console.print(f"\ninterrupted; the last checkpoint continues with: seqlab train {task} --resume {run_dir}",
                          soft_wrap=True)
        elif main:
            console.print("\ninterrupted before the first checkpoint; nothing to resume")
        raise typer.Exit(130) from None
    if not main:
        return
    history = result.history
    console.print(f"{result.parameters:,} parameters; {history.steps} steps in {history.seconds:.0f} s "
                  f"({history.stop_reason})")
    if history.best_metrics:
        best = ", ".join(f"{k} {v:.4f}" for k, v in history.best_metrics.items())
        console.print(f"best validation (step {history.best_step}): {best}")
    if getattr(result, "sample", ""):
        console.print("\nSample:", style="bold")
        console.print(result.sample, markup=False, highlight=False)
    console.print(f"\nRun saved in {run_dir}", soft_wrap=True)


def _shared_run_dir(runs: Path, task: str) -> Path:
    """Rank 0 creates the run folder; every other rank receives its name."""
    from seqlab.runs import new_run_dir

    if not distributed.is_distributed():
        return new_run_dir(runs, task)
    import torch.distributed as dist

    holder = [str(new_run_dir(runs, task)) if distributed.is_main_process() else None]
    dist.broadcast_object_list(holder, src=0)  # between our own processes, not from a user's file
    return Path(holder[0])


def _cross_validate(module, config, run_dir: Path, folds: int, console: Console) -> None:
    if not hasattr(module, "cross_validate"):
        raise SeqlabError(f"--folds: task {config.task!r} has no cross-validation; it is for classification tasks")
    from dataclasses import replace

    config = replace(config, data=replace(config.data, folds=folds))
    summary = module.cross_validate(config, run_dir,
                                    callbacks_for=lambda k: [ProgressBar(console, f"fold {k + 1}/{folds}")])
    scores = " ".join(f"{a:.3f}" for a in summary["accuracies"])
    console.print(f"{folds}-fold accuracy {summary['mean']:.4f} +- {summary['std']:.4f} (folds: {scores})")
    console.print(f"Runs saved in {run_dir}", soft_wrap=True)
