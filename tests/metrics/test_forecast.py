"""Forecast metrics against hand-computed values and their defining properties."""

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.metrics.forecast import coverage, forecast_metrics, mae, mape, mase, rmse, seasonal_naive_scale, smape


def test_pinned_values():
    y, f = [100.0, 200.0, 400.0], [110.0, 190.0, 400.0]
    assert mae(y, f) == pytest.approx(20 / 3)
    assert rmse(y, f) == pytest.approx(np.sqrt(200 / 3))
    assert mape(y, f) == pytest.approx(100 * (0.1 + 0.05 + 0) / 3)
    assert smape(y, f) == pytest.approx(100 * (20 / 210 + 20 / 390 + 0) / 3)


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    train = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    assert seasonal_naive_scale(train, m=3) == pytest.approx(4.0)
    assert seasonal_naive_scale(train, m=1) == pytest.approx(6 / 5)
    assert mase([10.0, 12.0], [11.0, 14.0], train, m=3) == pytest.approx(1.5 / 4.0)


def test_mase_ranks_methods_as_mae_does():
    rng = np.random.default_rng(0)
    train, y = rng.normal(size=50), rng.normal(size=10)
    a, b = y + rng.normal(scale=0.1, size=10), y + rng.normal(scale=1.0, size=10)
    assert (mase(y, a, train, 2) < mase(y, b, train, 2)) == (mae(y, a) < mae(y, b))


def test_undefined_cases_raise():
    with pytest.raises(SeqlabError, match="MAPE"):
        mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(SeqlabError, match="shape"):
        mae([1.0, 2.0], [1.0])
    with pytest.raises(SeqlabError, match="period"):
        seasonal_naive_scale([1.0, 2.0], m=12)
    assert smape([0.0], [0.0]) == 0.0


def test_coverage_and_bundle():
    assert coverage([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 2.0, 4.0], [1.5, 3.0, 3.5, 4.0]) == pytest.approx(0.75)
    assert set(forecast_metrics([1.0, 2.0], [1.0, 2.5], [1.0, 2.0, 4.0])) == {"mae", "rmse", "mape", "smape", "mase"}
