"""Point-forecast errors: MAE, RMSE, MAPE, sMAPE and MASE, plus interval coverage.

With actual values y_t and forecasts ŷ_t over n points (e_t = y_t - ŷ_t):

    MAE   = mean |e_t|
    RMSE  = sqrt(mean e_t^2)
    MAPE  = 100 * mean |e_t / y_t|                         (percent; undefined where y_t = 0)
    sMAPE = 100 * mean 2 |e_t| / (|y_t| + |ŷ_t|)           (percent, in [0, 200]; M4's definition)
    MASE  = MAE / mean_{t > m} |y_t - y_{t-m}|             (Hyndman & Koehler 2006)

MASE scales the error by the in-sample MAE of the seasonal naive forecast with period m on the
*training* series, so MASE < 1 beats that one-step naive method on average, and two methods
compared on the same test points rank the same by MASE as by MAE.

Every function takes array-likes of the same shape (any shape; all points are pooled) and
returns a Python float.
"""

from __future__ import annotations

import numpy as np

from seqlab.errors import SeqlabError


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(actual, dtype=np.float64)
    y_hat = np.asarray(forecast, dtype=np.float64)
    if y.shape != y_hat.shape:
        raise SeqlabError(f"actual and forecast must have the same shape, got {y.shape} and {y_hat.shape}")
    if y.size == 0:
        raise SeqlabError("actual and forecast are empty: no points to score")
    return y, y_hat


def mae(actual, forecast) -> float:
    """Mean absolute error, mean |y - ŷ|."""
    y, y_hat = _pair(actual, forecast)
    return float(np.mean(np.abs(y - y_hat)))


def rmse(actual, forecast) -> float:
    """Root mean squared error, sqrt(mean (y - ŷ)^2)."""
    y, y_hat = _pair(actual, forecast)
    return float(np.sqrt(np.mean((y - y_hat) ** 2)))


def mape(actual, forecast) -> float:
    """Mean absolute percentage error, 100 * mean |(y - ŷ) / y|; raises if any y is 0."""
    y, y_hat = _pair(actual, forecast)
    if np.any(y == 0):
        raise SeqlabError("MAPE is undefined when an actual value is 0; use sMAPE or MASE")
    return float(100.0 * np.mean(np.abs((y - y_hat) / y)))


def smape(actual, forecast) -> float:
    """Symmetric MAPE, 100 * mean 2|y - ŷ| / (|y| + |ŷ|); a point where both are 0 scores 0."""
    y, y_hat = _pair(actual, forecast)
    denominator = np.abs(y) + np.abs(y_hat)
    ratio = np.divide(2.0 * np.abs(y - y_hat), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(100.0 * np.mean(ratio))


def seasonal_naive_scale(train, m: int = 1) -> float:
    """mean_{t > m} |y_t - y_{t-m}| on the training series: MASE's denominator."""
    y = np.asarray(train, dtype=np.float64)
    if y.ndim != 1 or y.size <= m or m < 1:
        raise SeqlabError(f"MASE needs a 1-D training series longer than the period m={m}, got shape {y.shape}")
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    if scale == 0.0:
        raise SeqlabError("MASE is undefined: the training series repeats exactly with period m (scale 0)")
    return scale


def mase(actual, forecast, train, m: int = 1) -> float:
    """Mean absolute scaled error: MAE / (in-sample MAE of the period-m naive forecast on ``train``)."""
    return mae(actual, forecast) / seasonal_naive_scale(train, m)


def coverage(actual, lower, upper) -> float:
    """Share of actual values inside [lower, upper]; a calibrated 80% interval scores about 0.8."""
    y, low = _pair(actual, lower)
    _, high = _pair(actual, upper)
    return float(np.mean((y >= low) & (y <= high)))


def forecast_metrics(actual, forecast, train, m: int = 1) -> dict[str, float]:
    """All five point metrics at once, keyed ``mae``, ``rmse``, ``mape``, ``smape``, ``mase``."""
    return {
        "mae": mae(actual, forecast),
        "rmse": rmse(actual, forecast),
        "mape": mape(actual, forecast),
        "smape": smape(actual, forecast),
        "mase": mase(actual, forecast, train, m),
    }
