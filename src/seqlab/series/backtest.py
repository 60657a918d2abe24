"""Rolling-origin backtesting: forecast from every origin in turn, with only the past in hand.

For origins o = first, first + step, ... (while o + P <= T) a forecaster sees y[:o] and
returns P values for y[o : o + P]. Scores pool every (origin, step) pair; ``last_points``
keeps only each origin's P-step-ahead forecast (darts' ``last_points_only`` convention).
The model is not refitted between origins (darts' ``retrain=False``): it is trained once on
the rows before the first origin, and at each origin only its input window moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.metrics.forecast import coverage, forecast_metrics, mae, mape, mase, rmse, smape
from seqlab.series.baselines import naive, sarima_forecaster, seasonal_naive


@dataclass(frozen=True)
class Backtest:
    """origins (N,), forecasts and actuals (N, P) of one univariate series."""

    origins: np.ndarray
    forecasts: np.ndarray
    actuals: np.ndarray

    def metrics(self, train: np.ndarray, m: int = 1, last_points: bool = False) -> dict[str, float]:
        """MAE, RMSE, MAPE, sMAPE, MASE over all forecasts (or only each origin's last step)."""
        if last_points:
            return forecast_metrics(self.actuals[:, -1], self.forecasts[:, -1], train, m)
        return forecast_metrics(self.actuals, self.forecasts, train, m)


def rolling_origin(series: np.ndarray, first_origin: int, horizon: int,
                   forecast: Callable[[int], np.ndarray], step: int = 1) -> Backtest:
    """Call ``forecast(o)`` (which may read only ``series[:o]``) for each origin o; stack the results.

    Args:
        series: (T,) the actual values.
        first_origin: index of the first forecast step (e.g. the index of 1959-01).
        horizon: P, steps forecast from each origin.
        forecast: maps an origin o to P forecasts of series[o : o + P].
        step: distance between consecutive origins.
    """
    y = np.asarray(series, dtype=np.float64)
    if y.ndim != 1:
        raise SeqlabError(f"rolling_origin scores one series (T,), got shape {y.shape}")
    origins = np.arange(first_origin, y.shape[0] - horizon + 1, step)
    if first_origin < 1 or origins.size == 0:
        raise SeqlabError(f"no origin fits: first origin {first_origin}, horizon {horizon}, {y.shape[0]} steps")
    forecasts = np.stack([np.asarray(forecast(int(o)), dtype=np.float64).reshape(horizon) for o in origins])
    actuals = np.stack([y[o:o + horizon] for o in origins])
    return Backtest(origins, forecasts, actuals)


def compare_with_baselines(series: np.ndarray, first_origin: int, horizon: int, season: int,
                           model: Callable[[int], dict[str, np.ndarray]], sarima: bool = True,
                           log: bool = False) -> dict:
    """Rolling-origin scores of a model beside naive, seasonal naive and SARIMA(0,1,1)(0,1,1)_m on the same origins.

    Args:
        series: (T,) the actual values.
        first_origin: index of the first forecast step; the baselines are fitted on ``series[:first_origin]``.
        horizon: P. season: m (1 for a series without seasons: then no SARIMA).
        model: maps an origin o to ``{"mean": (P,)}`` and, for probabilistic forecasts, ``"lower"``/``"upper"``.
        sarima: include SARIMA (needs statsmodels). log: fit SARIMA on ln(y).

    Returns:
        ``metrics`` (method -> scores over every (origin, step) pair), ``last_points`` (each origin's
        P-step-ahead forecast only), ``backtests`` (method -> ``Backtest``) and ``extra`` (SARIMA's
        parameters); the model's ``coverage`` of its interval when it gives one.
    """
    y, train = np.asarray(series, dtype=np.float64), np.asarray(series[:first_origin], dtype=np.float64)
    intervals: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def model_mean(o: int) -> np.ndarray:
        result = model(o)
        if "lower" in result:
            intervals[o] = (result["lower"], result["upper"])
        return result["mean"]

    methods: dict[str, Callable[[int], np.ndarray]] = {
        "model": model_mean,
        "naive": lambda o: naive(y[:o], horizon),
        "seasonal_naive": lambda o: seasonal_naive(y[:o], horizon, season),  # = naive when season is 1
    }
    extra = {}
    if sarima and season > 1:
        arima = sarima_forecaster(train, y, horizon, m=season, log=log)
        methods["sarima"] = arima
        extra["sarima_params"] = arima.params
    backtests = {name: rolling_origin(y, first_origin, horizon, method) for name, method in methods.items()}
    metrics = {name: _scores(bt, train, season, last_points=False) for name, bt in backtests.items()}
    last = {name: _scores(bt, train, season, last_points=True) for name, bt in backtests.items()}
    if intervals:
        origins = backtests["model"].origins
        lower = np.stack([intervals[int(o)][0] for o in origins])
        upper = np.stack([intervals[int(o)][1] for o in origins])
        metrics["model"]["coverage"] = coverage(backtests["model"].actuals, lower, upper)
    return {"metrics": metrics, "last_points": last, "backtests": backtests, "extra": extra}


def _scores(backtest: Backtest, train: np.ndarray, m: int, last_points: bool) -> dict[str, float]:
    actual = backtest.actuals[:, -1] if last_points else backtest.actuals
    forecast = backtest.forecasts[:, -1] if last_points else backtest.forecasts
    scores = {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast), "smape": smape(actual, forecast),
              "mase": mase(actual, forecast, train, m)}
    if np.all(actual != 0):  # MAPE is undefined on series with zeros (sunspots)
        scores["mape"] = mape(actual, forecast)
    return scores
