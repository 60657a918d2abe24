"""Forecasting: the task (loss and metrics of window batches) and the backtest experiment.

Losses by head, over every forecast step and series (y the target, in scaled units):

    point:     mean (ŷ - y)^2
    gaussian:  mean [ log sigma + (y - mu)^2 / (2 sigma^2) ] + log sqrt(2 pi)      (negative log-likelihood)
    quantile:  mean_q mean rho_q(y - q̂),  rho_q(u) = max(q u, (q - 1) u)           (pinball loss)

``train`` is the whole run of ``seqlab train forecast``: read the series, split it at the first
backtest origin, fit the scaler on the rows before it, train the forecaster with ``fit`` (an
ensemble of ``model.ensemble`` seeds, averaged) on sliding windows of those rows, forecast from
every origin (rolling origin, no refit), and score it beside naive, seasonal naive and
SARIMA(0,1,1)(0,1,1)_m on the same origins. ``seqlab forecast RUN`` reads the run folder.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from seqlab.data.loaders import dataset_file
from seqlab.errors import SeqlabError
from seqlab.files import write_atomic, write_json_atomic
from seqlab.metrics.forecast import coverage, mae, mape, mase, rmse, smape
from seqlab.models.forecaster import Forecast, RecurrentForecaster
from seqlab.series.backtest import Backtest, rolling_origin
from seqlab.series.baselines import naive, sarima_forecaster, seasonal_naive
from seqlab.series.calendar import calendar_features
from seqlab.series.io import TimeSeries, load_statsmodels_series, read_csv_series
from seqlab.series.scaling import Scaler
from seqlab.series.windows import Windows, sliding_windows
from seqlab.training.config import FitConfig, from_dict, to_dict
from seqlab.training.fit import Callback, History, fit

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


@dataclass
class ForecastingTask:
    """Batches are ``{"past", "future", "target"}`` dicts of window tensors (``Windows.batches``).

    Metrics (scaled units): ``loss``, ``mae``, ``rmse`` and, for probabilistic heads, the share of
    targets inside the central ``interval`` (``coverage``).
    """

    name: str = "forecast"
    interval: float = 0.8
    scaler: dict = field(default_factory=dict)

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        return forecast_loss(model(batch["past"], batch["future"], batch["target"]), batch["target"])

    def evaluate(self, model: nn.Module, batches: Iterable[dict]) -> dict[str, float]:
        totals = {"loss": 0.0, "abs": 0.0, "sq": 0.0, "inside": 0.0}
        count, points, probabilistic = 0, 0, False
        with torch.no_grad():
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

    def state(self) -> dict:
        return {"name": self.name, "interval": self.interval, "scaler": self.scaler}


# -- config ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForecastDataConfig:
    """The series, its split and its windows."""

    source: str = "airline"  # "airline" ($SEQLAB_DATA_DIR), "sunspots", "co2" (statsmodels), or a CSV path
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
            if getattr(self, name) < 1:
                raise SeqlabError(f"data.{name}: expected an integer >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class ForecasterModelConfig:
    """The ``RecurrentForecaster``'s hyper-parameters (see its docstring) and the ensemble size."""

    cell: Literal["lstm", "gru"] = "lstm"
    hidden_size: int = 32  # H
    num_layers: int = 1
    mode: Literal["direct", "recursive"] = "direct"
    head: Literal["point", "gaussian", "quantile"] = "point"
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)  # levels of the quantile head
    interval: float = 0.8  # coverage of the reported prediction interval
    residual: Literal["last", "seasonal", "none"] = "seasonal"  # what the network's output is added to
    dropout: float = 0.0
    ensemble: int = 5  # models trained with seeds fit.seed, fit.seed + 1, ...; forecasts averaged

    def __post_init__(self) -> None:
        if self.ensemble < 1:
            raise SeqlabError(f"model.ensemble: expected an integer >= 1, got {self.ensemble}")
        if not 0.0 < self.interval < 1.0:
            raise SeqlabError(f"model.interval: expected a coverage in (0, 1), got {self.interval}")


@dataclass(frozen=True)
class ForecastingConfig:
    """A forecasting run: ``seqlab train forecast --config airline``."""

    task: str = "forecast"
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecasterModelConfig = field(default_factory=ForecasterModelConfig)
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


def build_forecaster(config: ForecasterModelConfig, horizon: int, n_covariates: int,
                     season: int) -> RecurrentForecaster:
    return RecurrentForecaster(n_targets=1, n_covariates=n_covariates, horizon=horizon,
                               hidden_size=config.hidden_size, num_layers=config.num_layers, cell=config.cell,
                               mode=config.mode, head=config.head, quantiles=config.quantiles,
                               residual=config.residual, season=season, dropout=config.dropout)


class WindowBatches:
    """Re-iterable shuffled batches of windows for ``fit``; ``set_epoch`` fixes each epoch's order."""

    def __init__(self, windows: Windows, batch_size: int, seed: int):
        self.windows, self.batch_size, self.seed, self.epoch = windows, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.windows) / self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return self.windows.batches(self.batch_size, shuffle=True, generator=generator)


@dataclass
class EnsembleForecaster:
    """Averages the forecasts of trained models and maps them back to the data's units."""

    models: list[RecurrentForecaster]
    scaler: Scaler
    freq: str
    calendar: bool
    input_length: int
    horizon: int
    interval: float = 0.8

    def covariates(self, dates: np.ndarray) -> np.ndarray:
        return calendar_features(dates, self.freq) if self.calendar else np.zeros((len(dates), 0))

    @torch.no_grad()
    def forecast(self, history: np.ndarray, dates: np.ndarray, future_dates: np.ndarray) -> dict[str, np.ndarray]:
        """Forecast ``horizon`` steps after ``history`` (T,) dated ``dates``; returns mean (and interval)."""
        if history.shape[0] < self.input_length:
            raise SeqlabError(f"the model reads {self.input_length} past steps; the history has {history.shape[0]}")
        z = self.scaler.transform(history[-self.input_length:, None])  # (L, 1)
        past = np.concatenate([z, self.covariates(dates[-self.input_length:])], axis=-1)
        past_t = torch.as_tensor(past, dtype=torch.float32)[None]  # (1, L, 1 + C)
        future_t = torch.as_tensor(self.covariates(future_dates), dtype=torch.float32)[None]  # (1, P, C)
        forecasts = [model.eval()(past_t, future_t) for model in self.models]
        mean = torch.stack([f.mean for f in forecasts]).mean(0)[0, :, 0].numpy()  # (P,)
        result = {"mean": self.scaler.inverse(mean[:, None])[:, 0]}
        if forecasts[0].scale is not None or forecasts[0].quantiles is not None:
            bounds = [f.interval(self.interval) for f in forecasts]
            low = torch.stack([b[0] for b in bounds]).mean(0)[0, :, 0].numpy()
            high = torch.stack([b[1] for b in bounds]).mean(0)[0, :, 0].numpy()
            result["lower"] = self.scaler.inverse(low[:, None])[:, 0]
            result["upper"] = self.scaler.inverse(high[:, None])[:, 0]
        return result


@dataclass
class ForecastingResult:
    """What ``train`` returns: the model's and the baselines' scores on the same origins."""

    history: History  # of the last ensemble member
    best_metrics: dict  # the model's backtest metrics (all points)
    metrics: dict[str, dict[str, float]]  # method -> metric -> value, all (origin, step) pairs
    last_point_metrics: dict[str, dict[str, float]]  # method -> metric -> value, P-step-ahead only
    backtests: dict[str, Backtest]
    parameters: int
    n_train: int
    seconds: float
    run_dir: Path | None
    extra: dict = field(default_factory=dict)


def train(config: ForecastingConfig, run_dir: str | Path | None, *, callbacks: Sequence[Callback] = (),
          resume: bool = False) -> ForecastingResult:
    """Train on the rows before ``data.backtest_start``, backtest from there, score beside the baselines.

    ``run_dir`` receives ``config.json``, ``backtest.json`` (all metrics) and the checkpoint
    ``forecaster.safetensors`` (every ensemble member, the scaler, the series) that
    ``seqlab forecast`` reads; each member's ``fit`` files are in ``member-<k>/``.
    """
    if resume:
        raise SeqlabError("--resume: a forecasting run trains in seconds; start it again instead")
    start = time.perf_counter()
    run_dir = Path(run_dir) if run_dir is not None else None
    data = config.data
    series = load_series(data)
    y = series.values[:, 0]
    first = series.index_of(data.backtest_start)
    if first < data.input_length + data.horizon + 1:
        raise SeqlabError(f"data.backtest_start {data.backtest_start} leaves {first} training rows; "
                          f"windows of {data.input_length} + {data.horizon} need more")
    train_rows = y[:first]
    scaler = Scaler.fit(train_rows[:, None], kind=data.scaling, log=data.log)
    ensemble = EnsembleForecaster([], scaler, series.freq, data.calendar, data.input_length, data.horizon,
                                  config.model.interval)
    windows = sliding_windows(scaler.transform(train_rows[:, None]), data.input_length, data.horizon,
                              ensemble.covariates(series.dates[:first]))
    n_cov = windows.future.shape[-1]
    task = ForecastingTask(interval=config.model.interval, scaler=scaler.state())
    if run_dir is not None:
        write_json_atomic(run_dir / "config.json", to_dict(config))
    history = History()
    for k in range(config.model.ensemble):
        seed = config.fit.seed + k
        torch.manual_seed(seed)
        model = build_forecaster(config.model, data.horizon, n_cov, series.season)
        member = None if run_dir is None else run_dir / f"member-{k}"
        history = fit(model, task, WindowBatches(windows, data.batch_size, seed), None,
                      replace(config.fit, seed=seed), member, callbacks=callbacks, run_config=to_dict(config))
        ensemble.models.append(model.eval())

    report = backtest(ensemble, series, first, config.sarima)
    result = ForecastingResult(history, report["metrics"]["model"], report["metrics"], report["last_points"],
                               report["backtests"], sum(p.numel() for p in ensemble.models[0].parameters()),
                               first, time.perf_counter() - start, run_dir, report["extra"])
    if run_dir is not None:
        save_forecaster(run_dir, config, ensemble, series)
        write_json_atomic(run_dir / "backtest.json", {
            "all_points": result.metrics, "last_points": result.last_point_metrics, "n_train": first,
            "first_origin": str(series.dates[first]), "origins": len(result.backtests["model"].origins),
            "seconds": result.seconds, **result.extra})
    return result


def backtest(ensemble: EnsembleForecaster, series: TimeSeries, first: int, sarima: bool = True) -> dict:
    """Rolling-origin scores of the ensemble and the baselines from origin ``first`` on."""
    y, m, P = series.values[:, 0], series.season, ensemble.horizon
    train_rows = y[:first]
    intervals = {}

    def model_forecast(o: int) -> np.ndarray:
        result = ensemble.forecast(y[:o], series.dates[:o], series.dates[o:o + P])
        if "lower" in result:
            intervals[o] = (result["lower"], result["upper"])
        return result["mean"]

    methods: dict[str, Callable[[int], np.ndarray]] = {
        "model": model_forecast,
        "naive": lambda o: naive(y[:o], P),
        "seasonal_naive": lambda o: seasonal_naive(y[:o], P, m),
    }
    extra = {}
    if sarima and m > 1:
        arima = sarima_forecaster(train_rows, y, P, m=m, log=ensemble.scaler.log)
        methods["sarima"] = arima
        extra["sarima_params"] = arima.params
    backtests = {name: rolling_origin(y, first, P, method) for name, method in methods.items()}
    metrics = {name: _metrics(bt, train_rows, m, last_points=False) for name, bt in backtests.items()}
    last = {name: _metrics(bt, train_rows, m, last_points=True) for name, bt in backtests.items()}
    if intervals:
        origins = backtests["model"].origins
        lower = np.stack([intervals[int(o)][0] for o in origins])
        upper = np.stack([intervals[int(o)][1] for o in origins])
        metrics["model"]["coverage"] = coverage(backtests["model"].actuals, lower, upper)
    return {"metrics": metrics, "last_points": last, "backtests": backtests, "extra": extra}


def _metrics(backtest: Backtest, train: np.ndarray, m: int, last_points: bool) -> dict[str, float]:
    actual = backtest.actuals[:, -1] if last_points else backtest.actuals
    forecast = backtest.forecasts[:, -1] if last_points else backtest.forecasts
    scores = {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast), "smape": smape(actual, forecast),
              "mase": mase(actual, forecast, train, m)}
    if np.all(actual != 0):  # MAPE is undefined on series with zeros (sunspots)
        scores["mape"] = mape(actual, forecast)
    return scores


# -- the run folder -----------------------------------------------------------------------------

FORMAT = "seqlab-forecaster/1"


def save_forecaster(run_dir: str | Path, config: ForecastingConfig, ensemble: EnsembleForecaster,
                    series: TimeSeries) -> None:
    """One safetensors file: every member's weights, plus JSON metadata (config, scaler, the series)."""
    tensors = {f"model{k}.{name}": value.detach().clone().contiguous()
               for k, model in enumerate(ensemble.models) for name, value in model.state_dict().items()}
    meta = {"format": FORMAT, "config": to_dict(config), "n_covariates": ensemble.models[0].n_covariates,
            "scaler": ensemble.scaler.state(), "freq": series.freq, "column": series.columns[0],
            "dates": [str(d) for d in series.dates], "values": [float(v) for v in series.values[:, 0]]}
    write_atomic(Path(run_dir) / "forecaster.safetensors",
                 safetensors_bytes(tensors, metadata={"seqlab": json.dumps(meta)}))


def load_forecaster(run_dir: str | Path) -> tuple[EnsembleForecaster, TimeSeries]:
    """The ensemble and the series saved by ``train`` in ``run_dir`` (safetensors: no pickle)."""
    path = Path(run_dir) / "forecaster.safetensors"
    if not path.is_file():
        raise SeqlabError(f"{run_dir}: expected a forecasting run folder with forecaster.safetensors; "
                          "create one with `seqlab train forecast`")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("seqlab", "{}"))
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own error types for a damaged file
        raise SeqlabError(f"{path}: not a readable safetensors file ({error})") from None
    if meta.get("format") != FORMAT:
        raise SeqlabError(f"{path}: expected format {FORMAT}, got {meta.get('format')!r}")
    config = from_dict(ForecastingConfig, meta["config"])
    dates = np.array([np.datetime64(d) for d in meta["dates"]])
    series = TimeSeries(dates, np.asarray(meta["values"], dtype=np.float64)[:, None], (meta["column"],), meta["freq"])
    ensemble = EnsembleForecaster([], Scaler.from_state(meta["scaler"]), series.freq, config.data.calendar,
                                  config.data.input_length, config.data.horizon, config.model.interval)
    for k in range(config.model.ensemble):
        model = build_forecaster(config.model, config.data.horizon, meta["n_covariates"], series.season)
        prefix = f"model{k}."
        model.load_state_dict({n[len(prefix):]: t for n, t in tensors.items() if n.startswith(prefix)})
        ensemble.models.append(model.eval())
    return ensemble, series


def forecast_ahead(ensemble: EnsembleForecaster, series: TimeSeries, steps: int) -> dict[str, np.ndarray]:
    """Forecast ``steps`` past the end of ``series``; beyond the model's horizon its forecasts are fed back.

    Returns ``dates`` (steps,), ``mean`` and, for probabilistic heads, ``lower`` and ``upper``.
    """
    if steps < 1:
        raise SeqlabError(f"horizon: expected an integer >= 1, got {steps}")
    history, dates = series.values[:, 0].copy(), series.dates.copy()
    parts: dict[str, list[np.ndarray]] = {}
    made = 0
    while made < steps:
        current = TimeSeries(dates, history[:, None], series.columns, series.freq)
        future = current.future_dates(ensemble.horizon)
        result = ensemble.forecast(history, dates, future)
        for key, value in result.items():
            parts.setdefault(key, []).append(value)
        history = np.concatenate([history, result["mean"]])
        dates = np.concatenate([current.dates.astype(future.dtype), future])
        made += ensemble.horizon
    out = {key: np.concatenate(value)[:steps] for key, value in parts.items()}
    out["dates"] = series.future_dates(steps)
    return out


def evaluate_run(run_dir: str | Path, config: ForecastingConfig) -> dict[str, float]:
    """The saved ensemble's backtest metrics (all points), recomputed from the run folder."""
    ensemble, series = load_forecaster(run_dir)
    report = backtest(ensemble, series, series.index_of(config.data.backtest_start), sarima=False)
    return report["metrics"]["model"]


Config = ForecastingConfig

__all__ = ["Config", "EnsembleForecaster", "ForecastingConfig", "ForecastingTask", "backtest", "evaluate_run",
           "forecast_ahead", "load_forecaster", "train"]
