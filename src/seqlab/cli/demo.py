"""``seqlab demo``: the main job, a guided tour of the curriculum's applications on bundled data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from seqlab.cli.app import app
from seqlab.runs import new_run_dir
from seqlab.tour import SECTIONS, TourConfig, run_tour

TITLES = {"lm": "Character LSTM on Tiny Shakespeare", "gradients": "Gradient flow: RNN vs LSTM vs GRU",
          "sentiment": "Sentiment classifier on sentence polarity", "forecast": "Airline passengers forecast",
          "translation": "English -> French translation with attention"}


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="Training budget of the language model, in seconds.")] = 90.0,
    steps: Annotated[int, typer.Option(help="Upper bound on the language model's training steps.")] = 5000,
    cell: Annotated[str, typer.Option(help="Recurrent cell of the language model: lstm, gru or rnn.")] = "lstm",
    sections: Annotated[str, typer.Option(help=f"Comma-separated sections to run, of: {','.join(SECTIONS)}.")]
    = ",".join(SECTIONS),
    sentiment_seconds: Annotated[float, typer.Option(help="Training budget of the sentiment classifier.")] = 45.0,
    translation_seconds: Annotated[float, typer.Option(help="Training budget of the translator.")] = 75.0,
    runs: Annotated[Path, typer.Option(help="Folder in which the run folder is created.")] = Path("runs"),
    seed: Annotated[int, typer.Option(help="Random seed of data order, weights and sampling.")] = 1337,
) -> None:
    """A guided tour in about five minutes: a character LM trained and sampled, the gradient-flow
    figure, a sentiment classifier, an airline forecast and a few translations; report.html and
    report.md in the run folder.

    Examples:

        seqlab demo                                  # the whole tour, about five minutes on 2 cores

        seqlab demo --sections lm --seconds 120      # only the language model, for two minutes

        seqlab demo --sections sentiment,forecast --runs /tmp/runs
    """
    console = Console()
    config = TourConfig(sections=tuple(s.strip() for s in sections.split(",") if s.strip()), lm_seconds=seconds,
                        lm_steps=steps, lm_cell=cell, sentiment_seconds=sentiment_seconds,
                        translation_seconds=translation_seconds, seed=seed)
    run_dir = new_run_dir(runs, "demo")
    order = {key: k + 1 for k, key in enumerate(config.sections)}
    columns = [TextColumn("  {task.description}"), BarColumn(), TextColumn("step {task.completed:.0f}"),
               TextColumn("{task.fields[loss]}"), TimeElapsedColumn()]
    progress = Progress(*columns, console=console, transient=True)
    bar = {}

    def on_section(key: str, event: str) -> None:
        if event == "start":
            console.print(f"[bold][{order[key]}/{len(order)}] {TITLES[key]}[/bold]")
            if key == "lm":
                progress.start()
                bar["task"] = progress.add_task("training", total=steps, loss="")
        elif key == "lm":
            progress.stop()

    def on_lm_step(step: int, info: dict) -> None:
        text = f"loss {info['train_loss']:.3f}" + (f" val {info['val_loss']:.3f}" if "val_loss" in info else "")
        progress.update(bar["task"], completed=step, loss=text)

    def report(section) -> None:
        m = section.metrics
        if section.key == "lm":
            vocabulary = round(math.exp(m["uniform_loss"]))
            console.print(f"  {m['parameters']:,} parameters, {m['steps']} steps in {section.seconds:.0f} s; "
                          f"validation loss {m['val_loss']:.3f} nats/char against ln({vocabulary}) = "
                          f"{m['uniform_loss']:.2f} for a uniform guess")
            console.print("  Sample (300 characters):")
            console.print(m["sample"], markup=False, highlight=False, emoji=False)
        elif section.key == "gradients":
            ratios = ", ".join(f"{cell} {v['grad_ratio']:.1e}" for cell, v in m["cells"].items())
            console.print(f"  ||dL/dh_0|| / ||dL/dh_T-1|| at T = 100: {ratios}")
        elif section.key == "sentiment":
            console.print(f"  held-out accuracy {m['accuracy']:.1%}")
            for text, (label, p) in zip(m.get("sentences", []), m["examples"]):
                console.print(f"  {label} ({p:.2f})  {text}", markup=False)
        elif section.key == "forecast":
            for method, values in m["metrics"].items():
                console.print(f"  {method:16} MAPE {values.get('mape', float('nan')):6.2f}%  "
                              f"MASE {values.get('mase', float('nan')):.3f}")
        elif section.key == "translation":
            console.print(f"  BLEU {m['bleu_greedy']:.1f} (greedy), {m['bleu_beam']:.1f} (beam)")
            for source, target in m["examples"].items():
                console.print(f"  {source}  ->  {target}", markup=False)

    result = run_tour(run_dir, config, on_section=on_section, on_lm_step=on_lm_step, on_result=report)
    console.print(f"\nThe tour took {sum(s.seconds for s in result):.0f} s.")
    console.print(f"Report: {run_dir / 'report.html'} (and report.md)", soft_wrap=True)
    console.print(f"Run saved in {run_dir}", soft_wrap=True)
