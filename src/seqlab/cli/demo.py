"""``seqlab demo``: the main job, a character LSTM trained on bundled Tiny Shakespeare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from seqlab.cli.app import app
from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.runs import new_run_dir
from seqlab.training.char_lm import CharLMConfig, train_char_lm


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="Wall-clock budget for training, in seconds.")] = 120.0,
    steps: Annotated[int, typer.Option(help="Upper bound on training steps.")] = 5000,
    cell: Annotated[str, typer.Option(help="Recurrent cell: lstm, gru or rnn.")] = "lstm",
    runs: Annotated[Path, typer.Option(help="Folder in which the run folder is created.")] = Path("runs"),
    seed: Annotated[int, typer.Option(help="Random seed of batches, weights and sampling.")] = 1337,
) -> None:
    """Train a character-level language model on Tiny Shakespeare and sample from it.

    Examples:

        seqlab demo                      # about two minutes on 2 cores

        seqlab demo --seconds 30 --cell gru
    """
    console = Console()
    config = CharLMConfig(cell=cell, max_seconds=seconds, max_steps=steps, seed=seed)
    config.validate()
    text = load_tiny_shakespeare()
    run_dir = new_run_dir(runs, f"demo-char-{cell}")
    console.print(f"Training a character {cell.upper()} on Tiny Shakespeare ({len(text):,} characters, "
                  f"90/10 split) for up to {seconds:.0f} s / {steps} steps.")
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("step {task.completed:.0f}"),
               TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("training", total=steps, loss="")
        val = {"text": ""}

        def on_step(step: int, info: dict) -> None:
            if "val_loss" in info:
                val["text"] = f" val {info['val_loss']:.3f}"
            progress.update(task, completed=step, loss=f"loss {info['train_loss']:.3f}{val['text']}")

        result = train_char_lm(text, config, run_dir=run_dir, on_step=on_step)
    console.print(f"\n{result.parameters:,} parameters, {result.steps} steps in {result.seconds:.0f} s")
    console.print(f"validation loss {result.final_val_loss:.3f} nats/char (best {result.best_val_loss:.3f}); "
                  f"a uniform guess over {round(2.718281828 ** result.uniform_loss)} characters scores "
                  f"ln(V) = {result.uniform_loss:.2f}")
    console.print("\n[bold]Sample (300 characters, temperature 0.8):[/bold]")
    console.print(result.sample, markup=False, highlight=False)
    console.print(f"\nRun saved in {run_dir}", soft_wrap=True)
