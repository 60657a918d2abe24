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
from seqlab.metrics.forecast import forecast_metrics


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
