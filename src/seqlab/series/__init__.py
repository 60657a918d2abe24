"""Raw series -> windows: CSV reading, scaling fitted on the train split, windows, splits, backtests, baselines."""

from seqlab.series.backtest import Backtest, rolling_origin
from seqlab.series.calendar import calendar_features
from seqlab.series.io import TimeSeries, load_airline, load_statsmodels_series, read_csv_series
from seqlab.series.scaling import Scaler
from seqlab.series.windows import WindowBatches, Windows, chronological_split, sliding_windows

__all__ = [
    "Backtest",
    "Scaler",
    "TimeSeries",
    "WindowBatches",
    "Windows",
    "calendar_features",
    "chronological_split",
    "load_airline",
    "load_statsmodels_series",
    "read_csv_series",
    "rolling_origin",
    "sliding_windows",
]
