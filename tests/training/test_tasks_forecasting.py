"""The forecasting recipe: a tiny run on the airline series, its run folder, and forecasting from it."""

import json

import numpy as np
import pytest
import torch

from seqlab.data.corpora import bundled_path
from seqlab.errors import SeqlabError
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import load_run, train


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


AIRLINE = [f"data.source={bundled_path('airline') / 'Airline.csv'}", "data.date_column=Date"]
TINY = ["model.hidden_size=8", "model.ensemble=2", "fit.epochs=8", "fit.lr=1e-2", "fit.schedule=cosine",
        "fit.log_every=5", "sarima=false"]


def test_airline_run_scores_model_and_baselines_on_the_same_origins(tmp_path, cli):
    config = load_run_config("forecast", None, [*TINY, "model.head=quantile", *AIRLINE])
    result = train(config, tmp_path / "run")
    scores = result.results["all_points"]
    assert set(scores) == {"model", "naive", "seasonal_naive"}
    assert result.results["n_train"] == 120 and result.results["origins"] == 19
    assert 0.0 <= scores["model"]["coverage"] <= 1.0
    # the seasonal residual starts from seasonal naive: even a few epochs stay within reach of it
    assert scores["model"]["mase"] < 2 * scores["seasonal_naive"]["mase"]
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["all_points"]["model"]["mape"] == pytest.approx(scores["model"]["mape"])

    run = load_run(tmp_path / "run")  # from the checkpoint alone: ensemble, scaler and series
    assert len(run.model.members) == 2
    report = run.recipe.backtest(run.model, run.config, run.state)
    np.testing.assert_array_equal(report["backtests"]["model"].actuals, report["backtests"]["seasonal_naive"].actuals)
    assert report["all_points"]["model"]["mape"] == pytest.approx(scores["model"]["mape"], rel=1e-6)
    ahead = run.recipe.forecast(run, 8)  # beyond the horizon of 6: forecasts are fed back
    assert ahead["mean"].shape == (8,) and str(ahead["dates"][0]) == "1961-01"
    assert np.all(ahead["lower"] <= ahead["upper"])

    code, out = cli("forecast", str(tmp_path / "run"), "--horizon", "8")
    assert code == 0 and "1961-08" in out and "seasonal_naive" in out
    code, out = cli("forecast", str(tmp_path / "run"), "--horizon", "10000000000")
    assert code == 2 and "--horizon: expected a number of steps" in out
    code, out = cli("forecast", str(tmp_path))
    assert code == 2 and "error:" in out and "not a run folder" in out



def test_user_csv_with_gaussian_head(tmp_path):
    months = np.arange(np.datetime64("2000-01"), np.datetime64("2006-01"))
    values = 100 + np.arange(72) + 10 * np.sin(2 * np.pi * np.arange(72) / 12)
    path = tmp_path / "sales.csv"
    path.write_text("month,sales\n" + "".join(f"{m},{v:.3f}\n" for m, v in zip(months, values, strict=True)))
    config = load_run_config("forecast", None, [
        f"data.source={path}", "data.date_column=month", "data.backtest_start=2005-01", "data.input_length=12",
        "data.horizon=3", "model.hidden_size=8", "model.ensemble=1", "model.head=gaussian", "model.arch=gru",
        "fit.epochs=5", "fit.lr=1e-2", "sarima=false"])
    result = train(config, None)
    scores = result.results["all_points"]
    assert scores["model"]["mape"] < scores["naive"]["mape"]
    assert "coverage" in scores["model"]


def test_a_forecasting_run_is_not_resumed(tmp_path):
    config = load_run_config("forecast", None, [*TINY, *AIRLINE])
    train(config, tmp_path / "run")
    with pytest.raises(SeqlabError, match="trains in seconds; start it again"):
        train(config, tmp_path / "run", resume=True)
