"""``seqlab demo``: the main job, a guided tour of the curriculum's applications on bundled data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from seqlab.cli.progress import TrainingProgress, format_seconds

SECTIONS = "lm,gradients,sentiment,forecast,translation"  # seqlab.cli.tour.SECTIONS, without importing torch
EXPECTED_SECONDS = 560  # the whole tour on a quiet 2-core machine (measured 9 min 23 s on 2026-12-02; see the README)


def demo(
    steps: Annotated[int, typer.Option(help="Training steps of the character language model.")] = 1000,
    cell: Annotated[str, typer.Option(help="Recurrent cell of the language model: lstm, gru or rnn.")] = "lstm",
    sections: Annotated[str, typer.Option(help=f"Comma-separated sections to run, of: {SECTIONS}.")] = SECTIONS,
    sentiment_epochs: Annotated[int, typer.Option(help="Epochs of the sentiment classifier.")] = 6,
    translation_steps: Annotated[int, typer.Option(help="Training steps of the translator.")] = 800,
    runs: Annotated[Path, typer.Option(help="Folder in which the run folder is created.")] = Path("runs"),
    seed: Annotated[int, typer.Option(help="Random seed of data order, weights and sampling.")] = 1337,
) -> None:
    """A guided tour of about ten minutes on 2 cores: a character LM trained and sampled, the gradient-flow
    figure, a sentiment classifier, an airline forecast and a few translations; report.html and report.md in
    the run folder. Budgets are steps, so every machine prints the same figures (a slower one takes longer).

    Examples:

        seqlab demo                                   # the whole tour

        seqlab demo --sections lm --steps 3000        # only the language model, trained longer

        seqlab demo --sections sentiment,forecast --runs /tmp/runs
    """
    from seqlab.cli.tour import TITLES, TourConfig, run_tour
    from seqlab.training.run_folder import new_run_dir

    console = Console()
    config = TourConfig(sections=tuple(s.strip() for s in sections.split(",") if s.strip()), lm_steps=steps,
                        lm_cell=cell, sentiment_epochs=sentiment_epochs, translation_steps=translation_steps,
                        seed=seed)
    run_dir = new_run_dir(runs, "demo")
    order = {key: k + 1 for k, key in enumerate(config.sections)}
    if config.sections == tuple(SECTIONS.split(",")):
        console.print(f"The tour takes about {format_seconds(EXPECTED_SECONDS)} on a quiet 2-core machine "
                      "(longer on a busy or slower one; the figures are the same).")

    def on_section(key: str, event: str) -> None:
        if event == "start":
            console.print(f"[bold][{order[key]}/{len(order)}] {TITLES[key]}[/bold]")

    def report(section) -> None:
        m = section.metrics
        if section.key == "lm":
            vocabulary = round(math.exp(m["uniform_loss"]))
            console.print(f"  {m['parameters']:,} parameters, {m['steps']:,} steps in "
                          f"{format_seconds(section.seconds)}; validation loss {m['val_loss']:.3f} nats/char against "
                          f"ln({vocabulary}) = {m['uniform_loss']:.2f} for a uniform guess")
            console.print("  Sample:")
            console.print(m["sample"], markup=False, highlight=False, emoji=False)
        elif section.key == "gradients":
            ratios = ", ".join(f"{c} {v['grad_ratio']:.1e}" for c, v in m["cells"].items())
            console.print(f"  ||dL/dh_0|| / ||dL/dh_T-1|| at T = 100: {ratios}", markup=False)
        elif section.key == "sentiment":
            console.print(f"  held-out accuracy {m['accuracy']:.1%}")
            for text, (label, p), right in zip(m["sentences"], m["examples"], m["as_a_reader"], strict=True):
                console.print(f"  {label} ({p:.2f}){'' if right else ' (a reader would disagree)'}  {text}",
                              markup=False)
        elif section.key == "forecast":
            for method, values in m["metrics"].items():
                console.print(f"  {method:16} MAPE {values.get('mape', float('nan')):6.2f}%  "
                              f"MASE {values.get('mase', float('nan')):.3f}")
        elif section.key == "translation":
            console.print(f"  BLEU {m['bleu_greedy']:.1f} (greedy), {m['bleu_beam']:.1f} (beam)")
            for source, target in m["examples"].items():
                console.print(f"  {source}  ->  {target}", markup=False)
        console.print(f"  ({format_seconds(section.seconds)})")

    result = run_tour(run_dir, config, on_section=on_section, on_result=report,
                      callbacks_for=lambda key: [TrainingProgress(console, f"  {key}")])
    console.print(f"\nThe tour took {format_seconds(sum(s.seconds for s in result))}.")
    console.print(f"Report: {run_dir / 'report.html'} (and report.md)", soft_wrap=True)
    console.print(f"Run saved in {run_dir}", soft_wrap=True)
