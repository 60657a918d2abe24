"""Calendar covariates: features known in advance for any date, past or future.

Each cyclic feature is a point on the unit circle, so December sits next to January:

    month:       (sin 2 pi (m - 1) / 12,  cos 2 pi (m - 1) / 12),   m in 1..12
    day of week: (sin 2 pi d / 7,         cos 2 pi d / 7),          d in 0..6 (Monday = 0)

Yearly series get no calendar features (a year has no position in a longer cycle we know).
"""

from __future__ import annotations

import numpy as np

from seqlab.errors import SeqlabError


def _circle(position: np.ndarray, period: int) -> np.ndarray:
    angle = 2.0 * np.pi * position / period
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def calendar_features(dates: np.ndarray, freq: str) -> np.ndarray:
    """Calendar covariates of ``dates`` (T,) at frequency ``freq``: (T, C) float64.

    C = 2 (month) for monthly and weekly series, 4 (month, day of week) for daily, 0 for yearly.
    """
    dates = np.asarray(dates)
    if freq == "Y":
        return np.zeros((dates.shape[0], 0))
    if freq not in ("M", "W", "D"):
        raise SeqlabError(f"calendar features: expected freq Y, M, W or D, got {freq!r}")
    months = dates.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    features = [_circle(months.astype(np.float64), 12)]
    if freq == "D":
        weekday = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        features.append(_circle(weekday.astype(np.float64), 7))
    return np.concatenate(features, axis=-1)
