"""The recurrent forecaster: shapes, anchors, heads, and that it learns a tiny series."""

import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.forecaster import Forecast, RecurrentForecaster
from seqlab.series.windows import sliding_windows
from seqlab.training.config import FitConfig
from seqlab.training.fit import fit
from seqlab.training.tasks.forecasting import ForecastingTask, WindowBatches


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(model, task, windows, epochs, lr, batch_size):
    config = FitConfig(epochs=epochs, lr=lr, weight_decay=0.0, log_every=1)
    return fit(model, task, WindowBatches(windows, batch_size, seed=0), None, config, None).losses


@pytest.mark.parametrize("mode", ["direct", "recursive"])
@pytest.mark.parametrize("head", ["point", "gaussian", "quantile"])
def test_shapes(mode, head):
    model = RecurrentForecaster(n_targets=2, n_covariates=3, horizon=4, hidden_size=8, mode=mode, head=head,
                                cell="gru")
    out = model(torch.randn(5, 7, 5), torch.randn(5, 4, 3))
    assert out.mean.shape == (5, 4, 2)
    if head != "point":
        low, high = out.interval(0.8)
        assert low.shape == (5, 4, 2) and torch.all(low <= high)


def test_anchors_make_a_silent_network_a_baseline():
    """With the head zeroed, residual='seasonal' is seasonal naive and residual='last' is naive."""
    past = torch.arange(24.0).view(1, 24, 1)
    for residual, expected in (("seasonal", torch.arange(12.0, 15.0)), ("last", torch.full((3,), 23.0))):
        model = RecurrentForecaster(horizon=3, hidden_size=4, residual=residual, season=12)
        torch.nn.init.zeros_(model.head.weight)
        torch.nn.init.zeros_(model.head.bias)
        torch.testing.assert_close(model(past).mean[0, :, 0], expected)


def test_residual_models_see_the_window_relative_to_its_last_value():
    model = RecurrentForecaster(horizon=2, hidden_size=4, residual="last")
    past = torch.randn(3, 6, 1)
    shifted = model(past + 5.0).mean - 5.0
    torch.testing.assert_close(shifted, model(past).mean, atol=1e-5, rtol=0)


def test_bad_options_name_the_field():
    with pytest.raises(SeqlabError, match="head"):
        RecurrentForecaster(head="poisson")
    with pytest.raises(SeqlabError, match=r"quantiles"):
        RecurrentForecaster(head="quantile", quantiles=(0.1, 0.9))
    with pytest.raises(SeqlabError, match="horizon <= season"):
        RecurrentForecaster(horizon=13, residual="seasonal", season=12)
    with pytest.raises(SeqlabError, match="no interval"):
        Forecast(mean=torch.zeros(1)).interval()


def _sine_windows():
    t = torch.arange(48, dtype=torch.float64)
    return sliding_windows((torch.sin(2 * math.pi * t / 12)).numpy(), input_length=12, horizon=3)


@pytest.mark.parametrize("mode", ["direct", "recursive"])
def test_it_learns_a_sine(mode):
    windows = _sine_windows()
    model = RecurrentForecaster(horizon=3, hidden_size=12, mode=mode, residual="last")
    task = ForecastingTask()
    before = task.evaluate(model.eval(), windows.batches(64))["rmse"]
    losses = _train(model, task, windows, epochs=40, lr=2e-2, batch_size=64)
    after = task.evaluate(model, windows.batches(64))["rmse"]
    assert losses[-1] < losses[0] / 10
    assert after < 0.1 < before


def test_quantile_head_learns_calibrated_intervals():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(120, generator=g, dtype=torch.float64)
    windows = sliding_windows(noise.numpy(), input_length=2, horizon=1)
    model = RecurrentForecaster(horizon=1, hidden_size=8, head="quantile", quantiles=(0.1, 0.5, 0.9),
                                residual="none")
    task = ForecastingTask(interval=0.8)
    _train(model, task, windows, epochs=40, lr=3e-2, batch_size=128)
    metrics = task.evaluate(model, windows.batches(512))
    assert 0.65 < metrics["coverage"] < 0.95
