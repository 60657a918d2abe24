"""Using a trained run: ``seqlab eval``, ``seqlab generate``, ``seqlab classify``, ``seqlab export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from seqlab.cli.app import app
from seqlab.errors import SeqlabError
from seqlab.training.recipes import load_run


@app.command(name="eval")
def evaluate(run: Annotated[Path, typer.Argument(help="A run folder written by `seqlab train`.")]) -> None:
    """Evaluate a run's best checkpoint on its validation data.

    Examples:

        seqlab eval runs/sentiment-20260101-120000
    """
    module, config = load_run(run)
    metrics = module.evaluate_run(run, config)
    Console().print(" ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


@app.command()
def generate(
    run: Annotated[Path | None, typer.Argument(help="A language-model run folder.")] = None,
    model: Annotated[Path | None, typer.Option(help="A Hugging Face causal LM folder instead of a run.")] = None,
    prompt: Annotated[str, typer.Option(help="Text to continue.")] = "\n",
    length: Annotated[int, typer.Option(help="Tokens to sample.")] = 300,
    temperature: Annotated[float, typer.Option(help="Softmax temperature; 0 is greedy.")] = 0.8,
    top_k: Annotated[int | None, typer.Option(help="Sample among the k most probable tokens.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Sample within the smallest set of probability p.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the sampling.")] = 0,
) -> None:
    """Sample a continuation of a prompt from a trained language model.

    Examples:

        seqlab generate runs/lm-20260101-120000 --prompt "ROMEO:" --temperature 0.8 --top-k 40

        seqlab generate --model checkpoints/gpt2 --prompt "The cat" --length 20 --temperature 0
    """
    if (run is None) == (model is None):
        raise SeqlabError("generate: give a run folder or --model DIR (a Hugging Face folder), one of the two")
    if model is not None:
        from seqlab.models.huggingface import load_pretrained

        text = load_pretrained(model).generate(prompt, length, temperature, top_k, top_p, seed)
        Console().print(text, markup=False, highlight=False)
        return
    module, config = load_run(run)
    if config.task != "lm":
        raise SeqlabError(f"{run}: generate needs a language-model run, got a {config.task!r} run")
    text = module.load(run, config).generate(prompt, length, temperature, top_k, top_p, seed)
    Console().print(text, markup=False, highlight=False)


@app.command()
def classify(
    run: Annotated[Path, typer.Argument(help="A classification run folder.")],
    text: Annotated[str, typer.Argument(help="A sentence, or a text file with one sentence per line.")],
) -> None:
    """Label a sentence (or every line of a file) with a trained classifier.

    Examples:

        seqlab classify runs/sentiment-20260101-120000 "a gorgeous, witty, seductive movie"

        seqlab classify runs/sentiment-20260101-120000 reviews.txt
    """
    module, config = load_run(run)
    if not hasattr(module, "LoadedClassifier"):
        raise SeqlabError(f"{run}: classify needs a classification run, got a {config.task!r} run")
    path = Path(text)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if path.is_file() else [text]
    console = Console()
    for line, (label, probability) in zip(lines, module.load(run, config).predict(lines)):
        console.print(f"{label}\t{probability:.3f}\t{line}", markup=False, highlight=False)


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
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
