"""Forecasting: the task (loss and metrics of window batches) and the backtest experiment.

Losses by head, over every forecast step and series (y the target, in scaled units):

    point:     mean (ŷ - y)^2
    gaussian:  mean [ log sigma + (y - mu)^2 / (2 sigma^2) ] + log sqrt(2 pi)      (negative log-likelihood)
    quantile:  mean_q mean rho_q(y - q̂),  rho_q(u) = max(q u, (q - 1) u)           (pinball loss)

``run_backtest`` is the whole experiment of ``seqlab backtest``: read the series, split it at the
first backtest origin, fit the scaler on the rows before it, train the forecaster (an ensemble
of ``ensemble`` seeds, averaged) on sliding windows of those rows, forecast from every origin
(rolling origin, no refit), and score it beside naive, seasonal naive and SARIMA(0,1,1)(0,1,1)_m
on the same origins.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.metrics.forecast import coverage
from seqlab.models.forecaster import Forecast, RecurrentForecaster
from seqlab.runs import write_json_atomic
from seqlab.series.backtest import Backtest, rolling_origin
from seqlab.series.baselines import naive, sarima_forecaster, seasonal_naive
from seqlab.series.calendar import calendar_features
from seqlab.series.io import TimeSeries, load_airline, load_statsmodels_series, read_csv_series
from seqlab.series.scaling import Scaler
from seqlab.series.windows import sliding_windows

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

    name: str = "forecasting"
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


# -- the backtest experiment ----------------------------------------------------------------------

@dataclass(frozen=True)
class ForecastConfig:
    """One backtest: data, split, windows, model and training. Every field has a comment."""

    data: str = "airline"  # "airline" (needs data_dir), "sunspots", "co2", or a CSV file path
    date_column: str = "date"  # the date column of a CSV file
    column: str | None = None  # the value column forecast (None: the first one)
    backtest_start: str = "1959-01"  # date of the first forecast step; the model trains on rows before it
    horizon: int = 6  # P, steps forecast from every origin
    input_length: int = 24  # L, past steps the model reads
    log: bool = True  # model ln(y) (multiplicative series); needs positive values
    scaling: str = "standard"  # "standard", "minmax" or "none"; fitted on the training rows only
    calendar: bool = True  # add month (and weekday) covariates
    cell: str = "lstm"  # "lstm" or "gru"
    hidden_size: int = 32  # H
    num_layers: int = 1
    mode: str = "direct"  # "direct" or "recursive"
    head: str = "point"  # "point", "gaussian" or "quantile"
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)  # levels of the quantile head
    interval: float = 0.8  # coverage of the reported prediction interval
    residual: str = "seasonal"  # "last", "seasonal" or "none": what the network's output is added to
    dropout: float = 0.0
    epochs: int = 300  # passes over the training windows
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    ensemble: int = 5  # models trained with seeds seed, seed + 1, ...; their forecasts are averaged
    seed: int = 0
    sarima: bool = True  # include the SARIMA(0,1,1)(0,1,1)_m baseline (needs statsmodels)

    def __post_init__(self) -> None:
        for name in ("horizon", "input_length", "hidden_size", "num_layers", "epochs", "batch_size", "ensemble"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"{name}: expected an integer >= 1, got {getattr(self, name)}")
        if not 0.0 < self.interval < 1.0:
            raise SeqlabError(f"interval: expected a coverage in (0, 1), got {self.interval}")
        if self.lr <= 0:
            raise SeqlabError(f"lr: expected a positive number, got {self.lr}")


def load_series(config: ForecastConfig, data_dir: str | Path | None = None) -> TimeSeries:
    """The series named by ``config.data``."""
    if config.data == "airline":
        if data_dir is None:
            raise SeqlabError("data=airline needs the datasets folder: set SEQLAB_DATA_DIR or pass --data-dir")
        return load_airline(data_dir)
    if config.data in ("sunspots", "co2"):
        return load_statsmodels_series(config.data)
    columns = None if config.column is None else [config.column]
    return read_csv_series(config.data, date_column=config.date_column, value_columns=columns)


def build_forecaster(config: ForecastConfig, n_covariates: int, season: int) -> RecurrentForecaster:
    return RecurrentForecaster(n_targets=1, n_covariates=n_covariates, horizon=config.horizon,
                               hidden_size=config.hidden_size, num_layers=config.num_layers, cell=config.cell,
                               mode=config.mode, head=config.head, quantiles=config.quantiles,
                               residual=config.residual, season=season, dropout=config.dropout)


def train_windows(model: nn.Module, task: ForecastingTask, windows, config: ForecastConfig, seed: int,
                  on_epoch: Callable[[int, float], None] | None = None) -> list[float]:
    """Adam over shuffled window batches for ``config.epochs`` epochs; returns the loss per epoch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.lr / 10)
    losses = []
    model.train()
    for epoch in range(config.epochs):
        total, n = 0.0, 0
        for batch in windows.batches(config.batch_size, shuffle=True, generator=generator):
            loss = task.loss(model, batch)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total, n = total + loss.item() * batch["target"].shape[0], n + batch["target"].shape[0]
        schedule.step()
        losses.append(total / n)
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    model.eval()
    return losses


@dataclass
class EnsembleForecaster:
    """Averages the forecasts of trained models and maps them back to the data's units."""

    models: list[RecurrentForecaster]
    scaler: Scaler
    covariates: Callable[[np.ndarray], np.ndarray]  # dates (n,) -> (n, C)
    input_length: int
    horizon: int
    interval: float = 0.8

    @torch.no_grad()
    def forecast(self, history: np.ndarray, dates: np.ndarray, future_dates: np.ndarray) -> dict[str, np.ndarray]:
        """Forecast ``horizon`` steps after ``history`` (T,) dated ``dates``; returns mean (and interval)."""
        if history.shape[0] < self.input_length:
            raise SeqlabError(f"the model reads {self.input_length} past steps; the history has {history.shape[0]}")
        z = self.scaler.transform(history[-self.input_length:, None])  # (L, 1)
        past = np.concatenate([z, self.covariates(dates[-self.input_length:])], axis=-1)
        past_t = torch.as_tensor(past, dtype=torch.float32)[None]  # (1, L, 1 + C)
        future_t = torch.as_tensor(self.covariates(future_dates), dtype=torch.float32)[None]  # (1, P, C)
        forecasts = [model(past_t, future_t) for model in self.models]
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
class BacktestReport:
    """Scores of the model and of the baselines on the same origins, and what produced them."""

    metrics: dict[str, dict[str, float]]  # method -> metric -> value (all (origin, step) pairs)
    last_point_metrics: dict[str, dict[str, float]]  # method -> metric -> value (P-step-ahead only)
    backtests: dict[str, Backtest]
    n_train: int
    seconds: float
    extra: dict = field(default_factory=dict)


def run_backtest(config: ForecastConfig, run_dir: str | Path | None = None, data_dir: str | Path | None = None,
                 on_epoch: Callable[[int, int, float], None] | None = None) -> BacktestReport:
    """Train on the rows before ``backtest_start``, backtest from there, score beside the baselines.

    When ``run_dir`` is given, it receives ``config.json``, ``metrics.json`` and the checkpoint
    ``forecaster.safetensors`` (models, scaler, the series) that ``seqlab forecast`` reads.
    """
    start = time.perf_counter()
    series = load_series(config, data_dir)
    column = 0 if config.column is None or config.data in ("airline", "sunspots", "co2") \
        else series.columns.index(config.column)
    y = series.values[:, column]
    first = series.index_of(config.backtest_start)
    if first < config.input_length + config.horizon + 1:
        raise SeqlabError(f"backtest_start {config.backtest_start} leaves {first} training rows; "
                          f"windows of {config.input_length} + {config.horizon} need more")
    train = y[:first]
    scaler = Scaler.fit(train[:, None], kind=config.scaling, log=config.log)
    covariates = (lambda dates: calendar_features(dates, series.freq)) if config.calendar \
        else (lambda dates: np.zeros((len(dates), 0)))
    n_cov = covariates(series.dates[:1]).shape[1]
    windows = sliding_windows(scaler.transform(train[:, None]), config.input_length, config.horizon,
                              covariates(series.dates[:first]))
    task = ForecastingTask(interval=config.interval, scaler=scaler.state())
    models = []
    for k in range(config.ensemble):
        torch.manual_seed(config.seed + k)
        model = build_forecaster(config, n_cov, series.season)
        train_windows(model, task, windows, config, seed=config.seed + k,
                      on_epoch=None if on_epoch is None else (lambda e, loss, k=k: on_epoch(k, e, loss)))
        models.append(model)
    ensemble = EnsembleForecaster(models, scaler, covariates, config.input_length, config.horizon, config.interval)

    m = series.season
    P = config.horizon
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
    if config.sarima and m > 1:
        sarima = sarima_forecaster(train, y, P, m=m, log=config.log)
        methods["sarima"] = sarima
        extra["sarima_params"] = sarima.params
    backtests = {name: rolling_origin(y, first, P, method) for name, method in methods.items()}
    metrics = {name: _metrics(bt, train, m, last_points=False) for name, bt in backtests.items()}
    last = {name: _metrics(bt, train, m, last_points=True) for name, bt in backtests.items()}
    if intervals:
        origins = backtests["model"].origins
        lower = np.stack([intervals[int(o)][0] for o in origins])
        upper = np.stack([intervals[int(o)][1] for o in origins])
        metrics["model"]["coverage"] = coverage(backtests["model"].actuals, lower, upper)
    report = BacktestReport(metrics, last, backtests, n_train=first, seconds=time.perf_counter() - start,
                            extra=extra)
    if run_dir is not None:
        save_forecaster(run_dir, config, ensemble, series, column, report)
    return report


def _metrics(backtest: Backtest, train: np.ndarray, m: int, last_points: bool) -> dict[str, float]:
    try:
        return backtest.metrics(train, m, last_points=last_points)
    except SeqlabError:  # MAPE is undefined on series with zeros (sunspots): score without it
        actual = backtest.actuals[:, -1] if last_points else backtest.actuals
        forecast = backtest.forecasts[:, -1] if last_points else backtest.forecasts
        from seqlab.metrics.forecast import mae, mase, rmse, smape

        return {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast), "smape": smape(actual, forecast),
                "mase": mase(actual, forecast, train, m)}


# -- the run folder -----------------------------------------------------------------------------

def save_forecaster(run_dir: str | Path, config: ForecastConfig, ensemble: EnsembleForecaster, series: TimeSeries,
                    column: int, report: BacktestReport) -> None:
    """Write the checkpoint (weights of every model + JSON metadata), the config and the metrics."""
    from dataclasses import asdict

    from safetensors.torch import save as safetensors_bytes

    from seqlab.runs import write_atomic

    run_dir = Path(run_dir)
    tensors = {f"model{k}.{name}": value.detach().clone().contiguous()
               for k, model in enumerate(ensemble.models) for name, value in model.state_dict().items()}
    meta = {
        "format": "seqlab-forecaster/1",
        "config": asdict(config),
        "n_covariates": ensemble.models[0].n_covariates,
        "scaler": ensemble.scaler.state(),
        "freq": series.freq,
        "column": series.columns[column],
        "dates": [str(d) for d in series.dates],
        "values": [float(v) for v in series.values[:, column]],
    }
    import json

    write_atomic(run_dir / "forecaster.safetensors",
                 safetensors_bytes(tensors, metadata={"seqlab": json.dumps(meta)}))
    write_json_atomic(run_dir / "config.json", asdict(config))
    write_json_atomic(run_dir / "metrics.json", {"all_points": report.metrics, "last_points": report.last_point_metrics,
                                                 "n_train": report.n_train, "seconds": report.seconds,
                                                 **report.extra})


def load_forecaster(run_dir: str | Path) -> tuple[EnsembleForecaster, TimeSeries]:
    """The ensemble and series saved by ``run_backtest`` in ``run_dir`` (safetensors: no pickle)."""
    import json

    from safetensors import safe_open

    path = Path(run_dir) / "forecaster.safetensors"
    if not path.is_file():
        raise SeqlabError(f"{run_dir}: expected a forecasting run folder with forecaster.safetensors; "
                          "create one with `seqlab backtest`")
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads((handle.metadata() or {}).get("seqlab", "{}"))
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    if meta.get("format") != "seqlab-forecaster/1":
        raise SeqlabError(f"{path}: expected format seqlab-forecaster/1, got {meta.get('format')!r}")
    config = ForecastConfig(**{k: tuple(v) if k == "quantiles" else v for k, v in meta["config"].items()})
    models = []
    for k in range(config.ensemble):
        model = build_forecaster(config, meta["n_covariates"], TimeSeries.season_of(meta["freq"]))
        prefix = f"model{k}."
        model.load_state_dict({n[len(prefix):]: t for n, t in tensors.items() if n.startswith(prefix)})
        models.append(model.eval())
    dates = np.array([np.datetime64(d) for d in meta["dates"]])
    series = TimeSeries(dates, np.asarray(meta["values"], dtype=np.float64)[:, None], (meta["column"],), meta["freq"])
    freq = meta["freq"]
    covariates = (lambda d: calendar_features(d, freq)) if config.calendar else (lambda d: np.zeros((len(d), 0)))
    ensemble = EnsembleForecaster(models, Scaler.from_state(meta["scaler"]), covariates, config.input_length,
                                  config.horizon, config.interval)
    return ensemble, series


def forecast_ahead(ensemble: EnsembleForecaster, series: TimeSeries, steps: int) -> dict[str, np.ndarray]:
    """Forecast ``steps`` past the end of ``series``; beyond the model's horizon, its forecasts are fed back."""
    if steps < 1:
        raise SeqlabError(f"horizon: expected an integer >= 1, got {steps}")
    history, dates = series.values[:, 0].copy(), series.dates.copy()
    out: dict[str, list[np.ndarray]] = {}
    while sum(len(v) for v in out.get("mean", [])) < steps:
        future = TimeSeries(dates, history[:, None], series.columns, series.freq).future_dates(ensemble.horizon)
        result = ensemble.forecast(history, dates, future)
        for key, value in result.items():
            out.setdefault(key, []).append(value)
        history = np.concatenate([history, result["mean"]])
        dates = np.concatenate([dates.astype(future.dtype), future])
    joined = {key: np.concatenate(value)[:steps] for key, value in out.items()}
    joined["dates"] = TimeSeries(series.dates, series.values, series.columns, series.freq).future_dates(steps)
    return joined
