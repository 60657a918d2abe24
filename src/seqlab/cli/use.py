"""Using a trained run: ``seqlab eval``, ``generate``, ``classify``, ``translate``, ``tag``, ``forecast``, ``export``.

Every command reads a run folder (or one checkpoint file) through ``seqlab.training.runner.load_run``
and asks the run's recipe whether it can do what is asked, so a command on the wrong kind of run
is a one-line error naming what that run can do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seqlab.errors import SeqlabError

RunArgument = Annotated[Path, typer.Argument(help="A run folder written by `seqlab train` (or a checkpoint file).")]


def _load(run: Path, ability: str):
    from seqlab.training.recipe import Ability
    from seqlab.training.runner import load_run

    loaded = load_run(run)
    loaded.require(Ability(ability))
    return loaded


def _lines(text: str) -> list[str]:
    """``text`` itself, or the non-empty lines of the file it names."""
    from seqlab.files import read_text

    path = Path(text)
    if path.is_file():
        lines = [line.strip() for line in read_text(path).splitlines() if line.strip()]
        if not lines:
            raise SeqlabError(f"{path}: expected one sentence per line, the file is empty")
        return lines
    return [text]


def evaluate(run: RunArgument) -> None:
    """Evaluate a run's best checkpoint the way the run was scored (validation metrics, BLEU, test F1, backtest).

    Examples:

        seqlab eval runs/sentiment-20260101-120000
    """
    from seqlab.training.runner import evaluate_run

    metrics = evaluate_run(run)
    flat = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    Console().print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in flat.items()),
                    highlight=False)
    for name, table in ((k, v) for k, v in metrics.items() if isinstance(v, dict)):
        _print_scores(Console(), name, table)


def generate(
    run: Annotated[Path | None, typer.Argument(help="A language-model run folder (or a checkpoint file).")] = None,
    model: Annotated[Path | None, typer.Option(help="A Hugging Face folder (GPT-2, T5) instead of a run.")] = None,
    prompt: Annotated[str, typer.Option(help="Text to continue.")] = "\n",
    length: Annotated[int, typer.Option(help="Tokens to generate.")] = 300,
    temperature: Annotated[float, typer.Option(help="Softmax temperature; 0 is greedy.")] = 0.8,
    top_k: Annotated[int | None, typer.Option(help="Sample among the k most probable tokens.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Sample within the smallest set of probability p.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the sampling.")] = 0,
) -> None:
    """Continue a prompt with a trained language model.

    Examples:

        seqlab generate runs/lm-20260101-120000 --prompt "ROMEO:" --temperature 0.8 --top-k 40

        seqlab generate --model checkpoints/gpt2 --prompt "The cat" --length 20 --temperature 0
    """
    from seqlab.generation import DecodingConfig
    from seqlab.generation.generate import MAX_NEW_TOKENS

    if (run is None) == (model is None):
        raise SeqlabError("generate: give a run folder or --model DIR (a Hugging Face folder), one of the two")
    if not 0 <= length <= MAX_NEW_TOKENS:
        raise SeqlabError(f"--length: expected a number of tokens in [0, {MAX_NEW_TOKENS:,}], got {length}")
    decoding = DecodingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    if model is not None:
        from seqlab.models.huggingface import load_pretrained

        text = load_pretrained(model).generate(prompt, length, decoding, seed)
    else:
        loaded = _load(run, "generate")
        text = loaded.recipe.generate(loaded, prompt, length, decoding, seed)
    Console().print(text, markup=False, highlight=False)


def classify(
    run: RunArgument,
    text: Annotated[str, typer.Argument(help="A sentence, or a text file with one sentence per line.")],
) -> None:
    """Label a sentence (or every line of a file) with a trained classifier.

    Examples:

        seqlab classify runs/sentiment-20260101-120000 "a gorgeous, witty, seductive movie"

        seqlab classify runs/sentiment-20260101-120000 reviews.txt
    """
    lines = _lines(text)
    loaded = _load(run, "classify")
    console = Console()
    for line, (label, probability) in zip(lines, loaded.recipe.classify(loaded, lines), strict=True):
        console.print(f"{label}\t{probability:.3f}\t{line}", markup=False, highlight=False)


def translate(
    run: RunArgument,
    text: Annotated[str, typer.Argument(help="An English sentence, or a text file with one per line.")],
    beam: Annotated[int | None, typer.Option(help="Beam width; 1 is greedy (default: the run's beam_size).")] = None,
) -> None:
    """Translate English into French with a trained model.

    Examples:

        seqlab translate runs/translate-20260101-120000 "I am cold."

        seqlab translate runs/translate-20260101-120000 sentences.txt --beam 1
    """
    from seqlab.generation import DecodingConfig

    decoding = DecodingConfig(beam_size=beam) if beam is not None else None
    sources = _lines(text)
    loaded = _load(run, "translate")
    outputs = loaded.recipe.translate(loaded, sources, decoding)
    console = Console()
    for source, output in zip(sources, outputs, strict=True):
        console.print(output if len(sources) == 1 else f"{source}\t{output}", markup=False, highlight=False)


def tag(
    run: RunArgument,
    text: Annotated[str, typer.Argument(help="A sentence (split on spaces), or a text file with one per line.")],
) -> None:
    """Find named entities with a trained BiLSTM-CRF tagger.

    Examples:

        seqlab tag runs/ner-20260101-120000 "I flew from New York to Paris with Emma"
    """
    sentences = _lines(text)
    loaded = _load(run, "tag")
    console = Console()
    for sentence in sentences:
        found = loaded.recipe.tag(loaded, sentence)
        shown = ", ".join(f"{span} ({kind})" for span, kind in found) or "no entities"
        console.print(f"{sentence}\t{shown}", markup=False, highlight=False)


def forecast(
    run: RunArgument,
    horizon: Annotated[int | None, typer.Option(help="Steps to forecast (default: the model's horizon).")] = None,
) -> None:
    """Forecast the next steps of the series a forecasting run was trained on, and show its backtest.

    Examples:

        seqlab train forecast --config airline          # trains, backtests from 1959-01, saves a run

        seqlab forecast runs/forecast-20260101-120000 --horizon 12
    """
    import json

    from seqlab.models.forecaster import MAX_FORECAST_STEPS

    if horizon is not None and not 1 <= horizon <= MAX_FORECAST_STEPS:
        raise SeqlabError(f"--horizon: expected a number of steps in [1, {MAX_FORECAST_STEPS:,}], got {horizon}")
    loaded = _load(run, "forecast")
    result = loaded.recipe.forecast(loaded, horizon)
    table = Table(title=f"{loaded.state['column']}: forecast after {loaded.state['dates'][-1]}")
    table.add_column("date")
    table.add_column("forecast", justify="right")
    interval = "lower" in result
    if interval:
        table.add_column(f"{loaded.config.model.interval:.0%} interval", justify="right")
    for i, date in enumerate(result["dates"]):
        row = [str(date), f"{result['mean'][i]:.2f}"]
        if interval:
            row.append(f"[{result['lower'][i]:.2f}, {result['upper'][i]:.2f}]")
        table.add_row(*row)
    console = Console()
    console.print(table)
    results = loaded.path / "results.json"
    if results.is_file():
        report = json.loads(results.read_text(encoding="utf-8"))
        if isinstance(report, dict) and isinstance(report.get("all_points"), dict):
            _print_scores(console, f"backtest from {report.get('first_origin')} ({report.get('origins')} origins, "
                                   "all steps)", report["all_points"])


def export(
    run: RunArgument,
    format: Annotated[str, typer.Option(help="Export format (onnx).")] = "onnx",
    output: Annotated[Path | None, typer.Option(help="Output file; default RUN/model.onnx.")] = None,
) -> None:
    """Export a run's best model to ONNX, checked against onnxruntime on two input lengths.

    Examples:

        seqlab export runs/sentiment-20260101-120000 --format onnx
    """
    if format != "onnx":
        raise SeqlabError(f"--format: expected onnx, got {format!r}")
    from seqlab.training.export import export_run

    path, difference = export_run(run, output)
    Console().print(f"wrote {path} (max |onnxruntime - torch| = {difference:.2e})", soft_wrap=True)


def _print_scores(console: Console, title: str, scores: dict) -> None:
    """A table of method -> metric -> value (backtests), or of one level of metrics."""
    rows = {k: v for k, v in scores.items() if isinstance(v, dict)}
    if not rows:
        return
    names = sorted({name for values in rows.values() for name in values})
    table = Table(title=title)
    table.add_column("")
    for name in names:
        table.add_column(name.upper(), justify="right")
    for method, values in rows.items():
        table.add_row(method, *(f"{values[n]:.3f}" if isinstance(values.get(n), float) else "-" for n in names))
    console.print(table)
