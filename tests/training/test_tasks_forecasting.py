"""The forecasting recipe: a tiny run on the airline series, its run folder, and forecasting from it."""

import json

import numpy as np
import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.config import FitConfig
from seqlab.training.tasks.forecasting import (
    ForecastDataConfig,
    ForecasterModelConfig,
    ForecastingConfig,
    forecast_ahead,
    load_forecaster,
    train,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(**model):
    return ForecastingConfig(model=ForecasterModelConfig(hidden_size=8, ensemble=1, **model),
                             fit=FitConfig(epochs=8, lr=1e-2, schedule="cosine", log_every=5), sarima=False)


def test_airline_run_scores_model_and_baselines_on_the_same_origins(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(data_dir))
    result = train(_tiny(head="quantile"), tmp_path)
    assert set(result.metrics) == {"model", "naive", "seasonal_naive"}
    assert result.n_train == 120 and len(result.backtests["model"].origins) == 19
    np.testing.assert_array_equal(result.backtests["model"].actuals, result.backtests["seasonal_naive"].actuals)
    assert 0.0 <= result.metrics["model"]["coverage"] <= 1.0
    # the seasonal residual starts from seasonal naive: even a few epochs stay within reach of it
    assert result.metrics["model"]["mase"] < 2 * result.metrics["seasonal_naive"]["mase"]
    saved = json.loads((tmp_path / "backtest.json").read_text())
    assert saved["all_points"]["model"]["mape"] == pytest.approx(result.metrics["model"]["mape"])

    ensemble, series = load_forecaster(tmp_path)
    again = ensemble.forecast(series.values[:120, 0], series.dates[:120], series.dates[120:126])["mean"]
    np.testing.assert_allclose(again, result.backtests["model"].forecasts[0], rtol=1e-6)
    ahead = forecast_ahead(ensemble, series, 8)  # beyond the horizon of 6: forecasts are fed back
    assert ahead["mean"].shape == (8,) and str(ahead["dates"][0]) == "1961-01"
    assert np.all(ahead["lower"] <= ahead["upper"])

    code, out = _cli(capsys, "forecast", str(tmp_path), "--horizon", "8")
    assert code == 0 and "1961-08" in out and "seasonal_naive" in out
    code, out = _cli(capsys, "forecast", str(tmp_path / "member-0"))
    assert code == 2 and "error:" in out and "forecaster.safetensors" in out


def _cli(capsys, *args) -> tuple[int, str]:
    from seqlab.cli.app import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_user_csv_with_gaussian_head(tmp_path):
    months = np.arange(np.datetime64("2000-01"), np.datetime64("2006-01"))
    values = 100 + np.arange(72) + 10 * np.sin(2 * np.pi * np.arange(72) / 12)
    path = tmp_path / "sales.csv"
    path.write_text("month,sales\n" + "".join(f"{m},{v:.3f}\n" for m, v in zip(months, values)))
    config = ForecastingConfig(
        data=ForecastDataConfig(source=str(path), date_column="month", backtest_start="2005-01", input_length=12,
                                horizon=3),
        model=ForecasterModelConfig(hidden_size=8, ensemble=1, head="gaussian", cell="gru"),
        fit=FitConfig(epochs=5, lr=1e-2), sarima=False)
    result = train(config, None)
    assert result.metrics["model"]["mape"] < result.metrics["naive"]["mape"]
    assert "coverage" in result.metrics["model"]


def test_a_run_folder_is_required(tmp_path):
    with pytest.raises(SeqlabError, match=r"forecaster\.safetensors"):
        load_forecaster(tmp_path)
