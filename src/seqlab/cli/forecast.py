"""``seqlab forecast RUN [--horizon N]``: forecast past the end of the series a forecasting run saved."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seqlab.cli.app import app
from seqlab.errors import SeqlabError


@app.command()
def forecast(
    run: Annotated[Path, typer.Argument(help="A run folder written by `seqlab train forecast`.")],
    horizon: Annotated[int | None, typer.Option(help="Steps to forecast (default: the model's horizon).")] = None,
) -> None:
    """Forecast the next steps of the series a forecasting run was trained on, and show its backtest.

    Examples:

        seqlab train forecast --config airline          # trains, backtests from 1959-01, saves a run

        seqlab forecast runs/forecast-20260101-120000 --horizon 12
    """
    from seqlab.training.tasks.forecasting import forecast_ahead, load_forecaster

    if horizon is not None and horizon < 1:
        raise SeqlabError(f"--horizon: expected an integer >= 1, got {horizon}")
    ensemble, series = load_forecaster(run)
    result = forecast_ahead(ensemble, series, horizon or ensemble.horizon)
    table = Table(title=f"{series.columns[0]}: forecast after {series.dates[-1]}")
    table.add_column("date")
    table.add_column("forecast", justify="right")
    interval = "lower" in result
    if interval:
        table.add_column(f"{ensemble.interval:.0%} interval", justify="right")
    for i, date in enumerate(result["dates"]):
        row = [str(date), f"{result['mean'][i]:.2f}"]
        if interval:
            row.append(f"[{result['lower'][i]:.2f}, {result['upper'][i]:.2f}]")
        table.add_row(*row)
    console = Console()
    console.print(table)
    _print_backtest(console, run)


def _print_backtest(console: Console, run: Path) -> None:
    import json

    path = run / "backtest.json"
    if not path.is_file():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    table = Table(title=f"backtest from {report['first_origin']} ({report['origins']} origins, all steps)")
    names = ["mae", "rmse", "mape", "smape", "mase"]
    table.add_column("method")
    for name in names:
        table.add_column(name.upper(), justify="right")
    for method, scores in report["all_points"].items():
        table.add_row(method, *(f"{scores[n]:.3f}" if n in scores else "-" for n in names))
    console.print(table)
