"""``seqlab diagnose gradients|gates``: gradient flow through time, and gate activations over a text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

diagnose_app = typer.Typer(help="See inside recurrent networks: gradient flow through time, gate activations.",
                           no_args_is_help=True, rich_markup_mode=None)

DEFAULT_CELLS = "rnn_tanh,rnn_relu,rnn_tanh_orthogonal,irnn,lstm,lstm_forget_bias_1,lstm_peephole,lstm_coupled,gru"
Runs = Annotated[Path, typer.Option(help="Folder in which the run folder is created.")]


@diagnose_app.command()
def gradients(
    cells: Annotated[str, typer.Option(help="Comma-separated cells (see seqlab.diagnostics.CELLS).")] = DEFAULT_CELLS,
    T: Annotated[int, typer.Option("--T", "-T", help="Sequence length.")] = 100,
    hidden: Annotated[int, typer.Option(help="Hidden size H.")] = 32,
    batch: Annotated[int, typer.Option(help="Sequences averaged over.")] = 8,
    loss: Annotated[str, typer.Option(help="Where the loss sits: last or every (step).")] = "last",
    jacobians: Annotated[bool, typer.Option(help="Also compute the Jacobian-product norms.")] = True,
    clipping_steps: Annotated[int, typer.Option(help="Also train each cell this many steps on the adding "
                                                     "problem under clipping by norm and by value (0 = skip).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of inputs and weights.")] = 0,
    runs: Runs = Path("runs"),
) -> None:
    """||dL/dh_t|| for every step t, Jacobian products and W_hh spectra, for several cells at initialisation.

    Writes gradient_norms.png, jacobian_norms.png, summary.json and summary.md.

    Examples:

        seqlab diagnose gradients

        seqlab diagnose gradients --cells rnn_tanh,lstm,gru --T 200 --loss every

        seqlab diagnose gradients --cells rnn_tanh,lstm --T 50 --clipping-steps 200
    """
    from seqlab.diagnostics.reports import gradient_report
    from seqlab.training.run_folder import new_run_dir

    names = [name.strip() for name in cells.split(",") if name.strip()]
    report = gradient_report(names, T=T, hidden_size=hidden, batch_size=batch, loss=loss, seed=seed,
                             with_jacobians=jacobians, clipping_steps=clipping_steps,
                             run_dir_factory=lambda: new_run_dir(runs, f"diagnose-gradients-T{T}"))
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"Gradient flow at initialisation, T = {T}, H = {hidden}, loss at {loss} step(s):")
    for name, entry in report["cells"].items():
        console.print(f"  {name:<22} ||dL/dh_0|| / ||dL/dh_T-1|| = {entry['grad_ratio']:.2e}   "
                      f"gradient above 1e-3 for the last {entry['horizon_1e-3']} steps")
    for name, entry in report.get("clipping", {}).items():
        for mode, stats in entry.items():
            console.print(f"  {name:<22} clip by {mode:<5}: {stats['fraction_clipped']:.0%} of steps clipped, "
                          f"norm {stats['norm_before_mean']:.3g} -> {stats['norm_after_mean']:.3g}, "
                          f"test MSE {stats['final_test_loss']:.4f}")
    console.print(f"\nRun saved in {report['run_dir']}", soft_wrap=True)


@diagnose_app.command()
def gates(
    text: Annotated[str, typer.Option(help="The text to read, character by character.")] =
        "To be, or not to be, that is the question:",
    run: Annotated[Path | None, typer.Option(help="A seqlab demo run folder with a trained character LM.")] = None,
    cell: Annotated[str, typer.Option(help="Without --run: an untrained lstm, gru or rnn.")] = "lstm",
    eps: Annotated[float, typer.Option(help="Saturation: a gate within eps of 0 or 1.")] = 0.1,
    units: Annotated[int, typer.Option(help="Units drawn per heat map.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the untrained model.")] = 0,
    runs: Runs = Path("runs"),
) -> None:
    """Gate and state activations of a character LM over a text: heat maps, PCA trajectory, saturation.

    Writes gates_layer<k>.png, states_pca.png and summary.json.

    Examples:

        seqlab diagnose gates --run runs/demo-char-lstm-20260101-120000

        seqlab diagnose gates --cell gru --text "ROMEO: But soft, what light"
    """
    from seqlab.diagnostics.reports import gates_report
    from seqlab.training.run_folder import new_run_dir

    report = gates_report(text, run=run, cell=cell, eps=eps, units=units, seed=seed,
                          run_dir_factory=lambda: new_run_dir(runs, "diagnose-gates"))
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"{report['model']}: {len(text)} characters, mean loss "
                  f"{report['mean_loss']:.3f} nats/char")
    for layer, stats in enumerate(report["saturation"]):
        parts = ", ".join(f"{gate} {s.get('near_0', s.get('near_-1')):.0%}/{s['near_1']:.0%}"
                          for gate, s in stats.items())
        console.print(f"  layer {layer} saturation (near 0 or -1 / near 1, eps {eps}): {parts}")
    console.print(f"\nRun saved in {report['run_dir']}", soft_wrap=True)
