"""Forecasting: the task (loss and metrics of window batches), its config, and the backtest recipe.

Losses by head, over every forecast step and series (y the target, in scaled units):

    point:     mean (ŷ - y)^2
    gaussian:  mean [ log sigma + (y - mu)^2 / (2 sigma^2) ] + log sqrt(2 pi)      (negative log-likelihood)
    quantile:  mean_q mean rho_q(y - q̂),  rho_q(u) = max(q u, (q - 1) u)           (pinball loss)

The recipe: read the series, split it at the first backtest origin, fit the scaler on the rows
before it, train an ensemble of ``model.ensemble`` forecasters (one ``fit`` each, seeds seed,
seed + 1, ...) on sliding windows of those rows, then forecast from every origin (rolling origin,
no refit) and score the model beside naive, seasonal naive and SARIMA(0,1,1)(0,1,1)_m on the same
origins (``seqlab.series.backtest``). The run's checkpoint holds the ensemble, the scaler and the
series, so ``seqlab forecast RUN`` needs nothing else.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from seqlab.checks import integer
from seqlab.data.locate import dataset_file
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.models.config import ForecasterConfig
from seqlab.models.factory import make_model
from seqlab.models.forecaster import Forecast, ForecasterEnsemble, SeriesForecaster
from seqlab.series.backtest import compare_with_baselines
from seqlab.series.calendar import calendar_features
from seqlab.series.io import TimeSeries, load_statsmodels_series, read_csv_series
from seqlab.series.scaling import Scaler
from seqlab.series.windows import WindowBatches, sliding_windows
from seqlab.training.checkpoint import save_checkpoint
from seqlab.training.config import FitConfig
from seqlab.training.fit import Callback, History, fit
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import BEST, HISTORY, LAST

log = logging.getLogger(__name__)


def pinball_loss(quantiles: torch.Tensor, target: torch.Tensor, levels: tuple[float, ...]) -> torch.Tensor:
    """mean over everything of rho_q(y - q̂); quantiles (..., Q), target (...)."""
    q = torch.tensor(levels, dtype=quantiles.dtype, device=quantiles.device)  # (Q,)
    u = target.unsqueeze(-1) - quantiles  # (..., Q)
    return torch.maximum(q * u, (q - 1.0) * u).mean()


def gaussian_nll(mean: torch.Tensor, scale: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean of -log N(y; mu, sigma^2)."""
    return (torch.log(scale) + 0.5 * ((target - mean) / scale) ** 2).mean() + 0.5 * math.log(2.0 * math.pi)


def forecast_loss(forecast: Forecast, target: torch.Tensor) -> torch.Tensor:
    """The training loss of the forecast's head against ``target`` (B, P, F)."""
    if forecast.quantiles is not None:
        return pinball_loss(forecast.quantiles, target, forecast.levels)
    if forecast.scale is not None:
        return gaussian_nll(forecast.mean, forecast.scale, target)
    return ((forecast.mean - target) ** 2).mean()


class ForecastingTask:
    """Batches are ``{"past", "future", "target"}`` dicts of window tensors (``Windows.batches``).

    Metrics (scaled units): ``loss``, ``mae``, ``rmse`` and, for probabilistic heads, the share of
    targets inside the central ``interval`` (``coverage``).
    """

    def __init__(self, interval: float = 0.8, name: str = "forecast"):
        self.name, self.interval = name, interval

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return forecast_loss(model(batch["past"], batch["future"], batch["target"]), batch["target"])

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        totals = {"loss": 0.0, "abs": 0.0, "sq": 0.0, "inside": 0.0}
        count, points, probabilistic = 0, 0, False
        for batch in batches:
            forecast = model(batch["past"], batch["future"])
            target = batch["target"]
            n = target.shape[0]
            totals["loss"] += forecast_loss(forecast, target).item() * n
            totals["abs"] += (forecast.mean - target).abs().sum().item()
            totals["sq"] += ((forecast.mean - target) ** 2).sum().item()
            if forecast.scale is not None or forecast.quantiles is not None:
                probabilistic = True
                low, high = forecast.interval(self.interval)
                totals["inside"] += ((target >= low) & (target <= high)).sum().item()
            count, points = count + n, points + target.numel()
        if count == 0:
            raise SeqlabError("evaluate: no batches to evaluate")
        metrics = {"loss": totals["loss"] / count, "mae": totals["abs"] / points,
                   "rmse": math.sqrt(totals["sq"] / points)}
        if probabilistic:
            metrics["coverage"] = totals["inside"] / points
        return metrics


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForecastDataConfig:
    """The series, its split and its windows."""

    source: str = "airline"  # "airline" (bundled), "sunspots", "co2" (statsmodels), or a CSV path
    date_column: str = "date"  # the date column of a CSV file
    column: str | None = None  # the value column forecast (None: the first one)
    backtest_start: str = "1959-01"  # date of the first forecast step; the model trains on rows before it
    horizon: int = 6  # P, steps forecast from every origin
    input_length: int = 24  # L, past steps the model reads
    log: bool = True  # model ln(y) (multiplicative series); needs positive values
    scaling: Literal["standard", "minmax", "none"] = "standard"  # fitted on the training rows only
    calendar: bool = True  # add month (and weekday) covariates
    batch_size: int = 16  # windows per step

    def __post_init__(self) -> None:
        for name in ("horizon", "input_length", "batch_size"):
            integer(getattr(self, name), f"data.{name}", low=1)


@dataclass(frozen=True)
class ForecastingRunConfig:
    """A forecasting run: ``seqlab train forecast --config airline``."""

    task: str = "forecast"
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecasterConfig = field(default_factory=ForecasterConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=100, lr=3e-3, schedule="cosine",
                                                             weight_decay=1e-4, clip_norm=1.0, log_every=50))
    sarima: bool = True  # include the SARIMA(0,1,1)(0,1,1)_m baseline (needs statsmodels)


def load_series(config: ForecastDataConfig) -> TimeSeries:
    """The series named by ``config.source``."""
    if config.source == "airline":
        return read_csv_series(dataset_file("airline/Airline.csv"), date_column="Date")
    if config.source in ("sunspots", "co2"):
        return load_statsmodels_series(config.source)
    columns = None if config.column is None else [config.column]
    return read_csv_series(config.source, date_column=config.date_column, value_columns=columns)


def series_of(state: dict) -> TimeSeries:
    """The series a run's state carries (saved with the checkpoint, so a run forecasts on its own)."""
    dates = np.array([np.datetime64(d) for d in state["dates"]])
    return TimeSeries(dates, np.asarray(state["values"], dtype=np.float64)[:, None], (state["column"],),
                      state["freq"])


def series_forecaster(model: ForecasterEnsemble, config: ForecastingRunConfig, state: dict) -> SeriesForecaster:
    return SeriesForecaster(model, Scaler.from_state(state["scaler"]), state["freq"], config.data.calendar,
                            config.data.input_length, config.model.interval)


# -- recipe ---------------------------------------------------------------------------------------

class ForecastingRecipe(Recipe):
    config_class = ForecastingRunConfig
    abilities = frozenset({Ability.FORECAST})
    summary = "time-series forecasting (airline, CO2, sunspots or a CSV), backtested beside baselines; forecasts"

    def check(self, config: ForecastingRunConfig) -> None:
        try:
            np.datetime64(config.data.backtest_start)
        except ValueError:
            raise SeqlabError(f"data.backtest_start: expected a date such as 1959-01 or 1959-01-31, got "
                              f"{config.data.backtest_start!r}") from None

    def build_data(self, config: ForecastingRunConfig, tokenizers=None) -> TaskData:
        data = config.data
        series = load_series(data)
        y = series.values[:, 0]
        first = series.index_of(data.backtest_start)
        if first < data.input_length + data.horizon + 1:
            raise SeqlabError(f"data.backtest_start {data.backtest_start} leaves {first} training rows; "
                              f"windows of {data.input_length} + {data.horizon} need more")
        scaler = Scaler.fit(y[:first, None], kind=data.scaling, log=data.log)
        covariates = calendar_features(series.dates[:first], series.freq) if data.calendar else None
        windows = sliding_windows(scaler.transform(y[:first, None]), data.input_length, data.horizon, covariates)
        state = {"scaler": scaler.state(), "freq": series.freq, "column": series.columns[0], "season": series.season,
                 "n_covariates": int(windows.future.shape[-1]), "first_origin": first,
                 "dates": [str(d) for d in series.dates], "values": [float(v) for v in y]}
        return TaskData(windows, None, {}, state, test=series, extra={"n_train": first})

    def build_model(self, config: ForecastingRunConfig, state: dict) -> ForecasterEnsemble:
        return make_model(config.model, horizon=config.data.horizon, n_covariates=state["n_covariates"],
                          season=state["season"])

    def make_task(self, config: ForecastingRunConfig, state: dict) -> ForecastingTask:
        return ForecastingTask(config.model.interval, self.name)

    def fit_model(self, model: ForecasterEnsemble, config: ForecastingRunConfig, data: TaskData,
                  run_dir: Path | None, callbacks: Sequence[Callback], resume: bool,
                  checkpoint_meta: dict) -> History:
        """One ``fit`` per member (seed ``fit.seed + k``, its own data order), then one checkpoint of the ensemble."""
        if resume:
            raise SeqlabError("--resume: a forecasting run trains in seconds; start it again instead")
        task = self.make_task(config, data.state)
        history = History()
        for k, member in enumerate(model.members):
            seed = config.fit.seed + k
            torch.manual_seed(seed)
            history = fit(member, task, WindowBatches(data.train, config.data.batch_size, seed), None,
                          replace(config.fit, seed=seed, plots=False), None, callbacks=callbacks)
        if run_dir is not None:
            meta = {**checkpoint_meta, "step": history.steps, "metrics": {}}
            for name in (BEST, LAST):
                save_checkpoint(run_dir / name, model, meta)
            write_json_atomic(run_dir / HISTORY, history.to_dict())
        return history

    def evaluate(self, model: ForecasterEnsemble, config: ForecastingRunConfig, data: TaskData) -> dict:
        """The rolling-origin backtest beside the baselines (``backtest`` without the arrays)."""
        report = self.backtest(model, config, data.state)
        return {key: value for key, value in report.items() if key != "backtests"}

    def backtest(self, model: ForecasterEnsemble, config: ForecastingRunConfig, state: dict,
                 sarima: bool | None = None) -> dict:
        """Scores of every method over all (origin, step) pairs and over the last points, and the backtests."""
        series, forecaster = series_of(state), series_forecaster(model, config, state)
        y, first, P = series.values[:, 0], state["first_origin"], config.data.horizon
        report = compare_with_baselines(
            y, first, P, state["season"],
            lambda o: forecaster.forecast(y[:o], series.dates[:o], series.dates[o:o + P]),
            sarima=config.sarima if sarima is None else sarima, log=config.data.log)
        return {"all_points": report["metrics"], "last_points": report["last_points"], "n_train": first,
                "first_origin": str(series.dates[first]), "origins": len(report["backtests"]["model"].origins),
                **report["extra"], "backtests": report["backtests"]}

    def forecast(self, run: LoadedRun, steps: int | None = None) -> dict:
        forecaster = series_forecaster(run.model, run.config, run.state)
        return forecaster.forecast_ahead(series_of(run.state), steps or forecaster.horizon)


__all__ = ["ForecastDataConfig", "ForecastingRecipe", "ForecastingRunConfig", "ForecastingTask", "forecast_loss",
           "gaussian_nll", "load_series", "pinball_loss", "series_of"]
