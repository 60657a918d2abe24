"""``seqlab experiment adding|copy|compare|bidirectional|pretraining``: the experiments behind the textbook's claims."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

experiment_app = typer.Typer(help="Long-dependency experiments and the RNN/LSTM/GRU comparison.",
                             no_args_is_help=True, rich_markup_mode=None)

Cells = Annotated[str, typer.Option(help="Comma-separated cells: rnn_tanh, rnn_relu, irnn, lstm, "
                                         "lstm_forget_bias_1, lstm_peephole, lstm_coupled, gru, ...")]
Runs = Annotated[Path, typer.Option(help="Folder in which the run folder is created.")]
Threads = Annotated[int, typer.Option(help="torch CPU threads (0 = torch's default).")]


def _split(cells: str) -> list[str]:
    return [name.strip() for name in cells.split(",") if name.strip()]


def _set_threads(threads: int) -> None:
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _long_memory(task: str, cells: str, T: int, steps: int, seconds: float, hidden: int, batch: int, lr: float,
                 clip: str, seed: int, runs: Path, threads: int) -> None:
    from seqlab.diagnostics.experiments import run_experiment
    from seqlab.diagnostics.long_memory import LongMemoryConfig
    from seqlab.training.run_folder import new_run_dir

    _set_threads(threads)
    console = Console()
    config = LongMemoryConfig(task=task, T=T, steps=steps, max_seconds=seconds, hidden_size=hidden,
                              batch_size=batch, lr=lr, clip=None if clip == "none" else clip, seed=seed)
    names = _split(cells)
    for name in names:  # every cell checked before the first one trains
        config.cell = name
        config.validate()
    run_dir = new_run_dir(runs, f"experiment-{task}-T{T}")

    def on_step(cell: str, step: int, entry: dict) -> None:
        console.print(f"  {cell:<22} step {step:>5}  test loss {entry['test_loss']:.4f}", highlight=False)

    summary = run_experiment(task, names, config, run_dir, on_step=on_step)
    console.print(f"\n{task} problem, T = {T}: memoryless baseline {summary['baseline']:.4f} ({summary['loss']})")
    for cell, s in summary["cells"].items():
        console.print(f"  {cell:<22} final {s['final_test_loss']:.4f}  = {s['ratio_to_baseline']:.3f} x baseline "
                      f"({s['verdict']}), {s['steps']} steps in {s['seconds']:.0f} s", highlight=False, soft_wrap=True)
    console.print(f"\nRun saved in {run_dir}", soft_wrap=True)


@experiment_app.command()
def adding(
    cells: Cells = "rnn_tanh,lstm,gru",
    T: Annotated[int, typer.Option("--T", "-T", help="Sequence length.")] = 100,
    steps: Annotated[int, typer.Option(help="Optimisation steps per cell.")] = 2000,
    seconds: Annotated[float, typer.Option(help="Wall-clock budget per cell (0 = none).")] = 0.0,
    hidden: Annotated[int, typer.Option(help="Hidden size H.")] = 64,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    clip: Annotated[str, typer.Option(help="Gradient clipping: norm, value or none.")] = "norm",
    seed: Annotated[int, typer.Option(help="Seed of data, weights and test set.")] = 0,
    runs: Runs = Path("runs"),
    threads: Threads = 0,
) -> None:
    """The adding problem: remember two marked numbers over T steps and output their sum.

    Baseline: predicting 1 scores Var(a + b) = 1/6 ~ 0.167.

    Examples:

        seqlab experiment adding --T 100 --steps 2000 --threads 1

        seqlab experiment adding --cells rnn_tanh,irnn,lstm_forget_bias_1 --T 50 --seconds 60
    """
    _long_memory("adding", cells, T, steps, seconds, hidden, batch, lr, clip, seed, runs, threads)


@experiment_app.command()
def copy(
    cells: Cells = "rnn_tanh,lstm,gru",
    T: Annotated[int, typer.Option("--T", "-T", help="Delay between the symbols and their recall.")] = 100,
    steps: Annotated[int, typer.Option(help="Optimisation steps per cell.")] = 2000,
    seconds: Annotated[float, typer.Option(help="Wall-clock budget per cell (0 = none).")] = 0.0,
    hidden: Annotated[int, typer.Option(help="Hidden size H.")] = 64,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    clip: Annotated[str, typer.Option(help="Gradient clipping: norm, value or none.")] = "norm",
    seed: Annotated[int, typer.Option(help="Seed of data, weights and test set.")] = 0,
    runs: Runs = Path("runs"),
    threads: Threads = 0,
) -> None:
    """Copy memory: read 10 symbols, wait T steps, then write them back.

    Baseline: blanks, then a uniform guess over 8 symbols: 10 ln 8 / (T + 20) nats per step.

    Examples:

        seqlab experiment copy --T 100 --steps 2000 --threads 1

        seqlab experiment copy --cells lstm,gru --T 20 --steps 300
    """
    _long_memory("copy", cells, T, steps, seconds, hidden, batch, lr, clip, seed, runs, threads)


@experiment_app.command()
def compare(
    cells: Cells = "rnn_tanh,lstm,gru,lstm_peephole,lstm_coupled",
    hidden: Annotated[int, typer.Option(help="Hidden size of the reference LSTM.")] = 64,
    task_steps: Annotated[int, typer.Option(help="Steps on adding and on copy per cell and setting (0 = skip).")] = 300,
    char_lm_steps: Annotated[int, typer.Option(help="Char-LM steps on Tiny Shakespeare (0 = skip).")] = 200,
    adding_T: Annotated[int, typer.Option("--adding-T", help="Adding-problem length.")] = 50,
    copy_T: Annotated[int, typer.Option("--copy-T", help="Copy-memory delay.")] = 20,
    repeats: Annotated[int, typer.Option(help="Timed training steps per cell.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of data and weights.")] = 0,
    runs: Runs = Path("runs"),
    threads: Threads = 0,
) -> None:
    """RNN, LSTM, GRU and LSTM variants at equal hidden size and at equal parameter count.

    Parameters, time per training step and saved activations (ratios to the LSTM from one run),
    losses on adding, copy and character LM, and which of the curriculum's claims hold.

    Examples:

        seqlab experiment compare --threads 1

        seqlab experiment compare --cells lstm,gru --task-steps 0 --char-lm-steps 0
    """
    from seqlab.diagnostics.comparison import CompareConfig, run_comparison, verdict_word
    from seqlab.training.run_folder import new_run_dir

    _set_threads(threads)
    console = Console(highlight=False, soft_wrap=True)
    config = CompareConfig(cells=tuple(_split(cells)), hidden_size=hidden, task_steps=task_steps,
                           char_lm_steps=char_lm_steps, adding_length=adding_T, copy_delay=copy_T,
                           timing_repeats=repeats, seed=seed)
    config.validate()
    run_dir = new_run_dir(runs, "experiment-compare")
    report = run_comparison(config, run_dir, on_progress=lambda message: console.print(f"  {message}"))
    console.print("")
    for setting in ("equal_hidden", "equal_params"):
        console.print(setting.replace("_", " ") + ":")
        for cell, r in report["settings"][setting].items():
            console.print(f"  {cell:<16} H={r['hidden_size']:<4} {r['parameters']:>8,} params "
                          f"({r['parameters_vs_lstm']:.3f} x LSTM), time {r['time_vs_lstm']:.2f} x LSTM")
    console.print("\nClaims:")
    for claim in report["claims"]:
        console.print(f"  {verdict_word(claim['holds'])}: {claim['claim']}: {claim['measured']}")
    console.print(f"\nRun saved in {run_dir}")


@experiment_app.command()
def bidirectional(
    steps: Annotated[int, typer.Option(help="Training steps of each model.")] = 300,
    hidden: Annotated[int, typer.Option(help="Hidden size H per direction.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of data, weights and samples.")] = 0,
    runs: Runs = Path("runs"),
    threads: Threads = 0,
) -> None:
    """A bidirectional LSTM "language model" sees the future: an impossibly low loss, degenerate samples.

    Trains a unidirectional and a bidirectional character LSTM on Tiny Shakespeare with the same
    budget and compares their teacher-forced validation loss with their loss when they may read
    only the past, as a generator must.

    Examples:

        seqlab experiment bidirectional --threads 1

        seqlab experiment bidirectional --steps 100 --hidden 32
    """
    import dataclasses

    from seqlab.data.corpora import load_tiny_shakespeare
    from seqlab.diagnostics.bidirectional_lm import bidirectional_lm_experiment
    from seqlab.files import write_json_atomic
    from seqlab.training.run_folder import new_run_dir

    _set_threads(threads)
    console = Console(highlight=False, soft_wrap=True)
    result = bidirectional_lm_experiment(load_tiny_shakespeare(), steps=steps, hidden_size=hidden, seed=seed)
    run_dir = new_run_dir(runs, "experiment-bidirectional")
    write_json_atomic(run_dir / "summary.json", dataclasses.asdict(result))
    console.print(f"After {steps} steps each (uniform guess: {result.uniform_loss:.2f} nats/char):")
    for name in ("unidirectional", "bidirectional"):
        console.print(f"  {name:<15} val loss {result.teacher_forced[name]:.3f} teacher-forced, "
                      f"{result.from_the_past[name]:.3f} from the past only; its sample scores "
                      f"{result.sample_loss_under_unidirectional[name]:.3f} under the unidirectional model")
    console.print("\nBidirectional sample:", markup=False)
    console.print(result.samples["bidirectional"], markup=False)
    console.print(f"\nRun saved in {run_dir}")


@experiment_app.command()
def pretraining(
    parts: Annotated[str, typer.Option(help="Comma-separated: bert, bigru, gpt.")] = "bert,bigru,gpt",
    mlm_run: Annotated[Path | None, typer.Option(help="An mlm run (default: train one with --config bert_mlm).")
                       ] = None,
    mlm_steps: Annotated[int, typer.Option(help="Steps of the MLM run trained when --mlm-run is not given.")] = 1000,
    gpt_run: Annotated[Path | None, typer.Option(help="An lm run on Gutenberg (default: --config gpt_gutenberg).")
                       ] = None,
    gpt_steps: Annotated[int, typer.Option(help="Steps of the GPT trained when --gpt-run is not given.")] = 1500,
    vectors: Annotated[Path | None, typer.Option(help="Word vectors (default: seqlab word2vec on Gutenberg).")
                       ] = None,
    sentiment_epochs: Annotated[int, typer.Option(help="Epochs of every sentiment arm.")] = 3,
    finetune_steps: Annotated[int, typer.Option(help="Steps of both Tiny Shakespeare arms.")] = 500,
    seed: Annotated[int, typer.Option(help="fit.seed of every arm.")] = 0,
    runs: Runs = Path("runs"),
    threads: Threads = 0,
) -> None:
    """Pre-train, then fine-tune: BERT and GPT from scratch vs from pretrained weights, at equal budgets.

    Sentence polarity: a BERT from scratch, the same BERT fine-tuned from an MLM run (and the
    control with the MLM run's tokenizer but random weights), seqlab's BiGRU with and without
    word2vec vectors. Tiny Shakespeare: a GPT from scratch vs continued from a Gutenberg GPT.
    Writes pretraining.md, pretraining.json and curves.png into the run folder.

    Examples:

        seqlab experiment pretraining --mlm-run runs/mlm-20260101-120000 --gpt-run runs/lm-20260101-130000

        seqlab experiment pretraining --parts gpt --gpt-steps 300 --finetune-steps 200
    """
    from seqlab.diagnostics.pretraining import PretrainingExperimentConfig, run_pretraining_experiment
    from seqlab.training.run_folder import new_run_dir

    _set_threads(threads)
    console = Console(highlight=False, soft_wrap=True)
    config = PretrainingExperimentConfig(
        parts=tuple(_split(parts)), mlm_run=None if mlm_run is None else str(mlm_run), mlm_steps=mlm_steps,
        gpt_run=None if gpt_run is None else str(gpt_run), gpt_steps=gpt_steps,
        vectors=None if vectors is None else str(vectors), sentiment_epochs=sentiment_epochs,
        finetune_steps=finetune_steps, seed=seed)
    config.validate()
    run_dir = new_run_dir(runs, "experiment-pretraining")
    report = run_pretraining_experiment(config, run_dir, on_progress=lambda message: console.print(f"  {message}"))
    console.print("")
    for name, arm in report["arms"].items():
        console.print(f"  {name:<16} val {arm['metric']} {arm['value']:.4f} (best {arm['best']:.4f}) after "
                      f"{arm['steps']} steps: {arm['description']}")
    console.print("")
    console.print((run_dir / "pretraining.md").read_text(encoding="utf-8").split("\n\n")[-1].strip(), markup=False)
    console.print(f"\nRun saved in {run_dir}")
