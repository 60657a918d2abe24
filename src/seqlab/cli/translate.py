"""``seqlab translate RUN "text"`` and ``seqlab tag RUN "text"``: use a translation or NER run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from seqlab.cli.app import app
from seqlab.errors import SeqlabError
from seqlab.training.recipes import load_run


def _lines(text: str) -> list[str]:
    path = Path(text)
    if path.is_file():
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            raise SeqlabError(f"{path}: expected one sentence per line, the file is empty")
        return lines
    return [text]


@app.command()
def translate(
    run: Annotated[Path, typer.Argument(help="A run folder written by `seqlab train translate`.")],
    text: Annotated[str, typer.Argument(help="An English sentence, or a text file with one per line.")],
    beam: Annotated[int | None, typer.Option(help="Beam width; 1 is greedy (default: the run's beam_size).")] = None,
) -> None:
    """Translate English into French with a trained model.

    Examples:

        seqlab translate runs/translate-20260101-120000 "I am cold."

        seqlab translate runs/translate-20260101-120000 sentences.txt --beam 1
    """
    module, config = load_run(run)
    if config.task != "translate":
        raise SeqlabError(f"{run}: translate needs a translation run, got a {config.task!r} run")
    if beam is not None and beam < 1:
        raise SeqlabError(f"--beam: expected an integer >= 1, got {beam}")
    sources = _lines(text)
    outputs = module.load(run, config).translate(sources, beam_size=beam)
    console = Console()
    for source, output in zip(sources, outputs, strict=True):
        console.print(output if len(sources) == 1 else f"{source}\t{output}", markup=False, highlight=False)


@app.command()
def tag(
    run: Annotated[Path, typer.Argument(help="A run folder written by `seqlab train ner`.")],
    text: Annotated[str, typer.Argument(help="A sentence (split on spaces), or a text file with one per line.")],
) -> None:
    """Find named entities with a trained BiLSTM-CRF tagger.

    Examples:

        seqlab tag runs/ner-20260101-120000 "I flew from New York to Paris with Emma"
    """
    module, config = load_run(run)
    if config.task != "ner":
        raise SeqlabError(f"{run}: tag needs a named-entity run, got a {config.task!r} run")
    tagger = module.load(run, config)
    console = Console()
    for sentence in _lines(text):
        found = tagger.entities(sentence)
        shown = ", ".join(f"{span} ({kind})" for span, kind in found) or "no entities"
        console.print(f"{sentence}\t{shown}", markup=False, highlight=False)
