"""Baselines every forecast is compared with, in the same run on the same origins.

    naive:           ŷ_{T+h} = y_T                              (the last value, carried forward)
    seasonal naive:  ŷ_{T+h} = y_{T+h-m*k}, k = floor((h-1)/m) + 1  (the latest known value of the same season)
    airline model:   SARIMA(0,1,1)(0,1,1)_m on ln y (Box & Jenkins' model for Series G), fitted
                     once by statsmodels on the training rows; at each origin the fitted
                     parameters filter y[:o] and forecast P steps, then exp maps back.

statsmodels is a test/benchmark extra and is imported only inside ``sarima_forecaster``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from seqlab.errors import SeqlabError


def naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value for every step: (P,)."""
    return np.full(horizon, float(np.asarray(history)[-1]))


def seasonal_naive(history: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """Each step repeats the latest known value from the same season: (P,)."""
    y = np.asarray(history, dtype=np.float64)
    if y.shape[0] < m:
        raise SeqlabError(f"seasonal naive needs at least one season ({m} steps) of history, got {y.shape[0]}")
    T = y.shape[0]
    h = np.arange(1, horizon + 1)
    return y[T + h - 1 - m * ((h - 1) // m + 1)]


def sarima_forecaster(train: np.ndarray, series: np.ndarray, horizon: int, m: int = 12,
                      log: bool = True) -> Callable[[int], np.ndarray]:
    """Fit SARIMA(0,1,1)(0,1,1)_m on ``train`` and return o -> P forecasts from ``series[:o]``."""
    try:
        from statsmodels.tsa.statespace.sarimax import SARIMAX
    except ImportError as missing:  # pragma: no cover - depends on the installed extras
        raise SeqlabError("the SARIMA baseline needs statsmodels: pip install 'seqlab[test]'") from missing
    g = np.log if log else (lambda a: a)
    g_inverse = np.exp if log else (lambda a: a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the optimiser; the fit is checked below
        fitted = SARIMAX(g(np.asarray(train, dtype=np.float64)), order=(0, 1, 1),
                         seasonal_order=(0, 1, 1, m)).fit(disp=False)
    if not np.all(np.isfinite(fitted.params)):
        raise SeqlabError("the SARIMA baseline did not converge to finite parameters")
    y = np.asarray(series, dtype=np.float64)

    def forecast(origin: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = fitted.apply(g(y[:origin]))  # same parameters, filtered over the longer history
        return g_inverse(np.asarray(state.forecast(horizon)))

    forecast.params = dict(zip(fitted.model.param_names, map(float, fitted.params)))  # type: ignore[attr-defined]
    return forecast
