# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 18 · Forecasting a time series, backtested against seasonal naive and ARIMA
#
# Data: `airline` (`Airline.csv`: Box & Jenkins' monthly airline passengers, 1949-1960, Series G),
# which ships with seqlab.
#
# A recurrent forecaster reads the last $L$ values (log-scaled, standardised on the training rows
# only) with calendar covariates and predicts the next $P$ at once. A forecast is only worth what
# it beats, so we backtest from a rolling origin (Tashman 2000, *Out-of-sample tests of forecasting
# accuracy*): for every month $o$ of the test period, forecast $y_{o..o+P-1}$ from $y_{<o}$ alone,
# next to the baselines
#
# $$\hat y^{\text{naive}}_{o+h} = y_{o-1}, \qquad \hat y^{\text{s-naive}}_{o+h} = y_{o+h-m\lceil (h+1)/m \rceil}
#   \ (m = 12), \qquad \text{SARIMA}(0,1,1)(0,1,1)_{12} \text{ on } \log y$$
#
# (the "airline model" of Box & Jenkins 1976), scored with the mean absolute scaled error of
# Hyndman & Koehler (2006): $\mathrm{MASE} = \mathrm{MAE} / \frac{1}{n-m}\sum_{t>m} |y_t - y_{t-m}|$
# on the training rows; below 1 beats the in-sample seasonal naive.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from seqlab.metrics.forecast import mae, mase
from seqlab.series.baselines import seasonal_naive
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import load_run, train
from seqlab.training.tasks.forecasting import load_series
from seqlab.tutorials import need_datasets, pick, save_figure, scratch_dir

need_datasets("airline")  # stops here with the command to run if one is missing

# %% [markdown]
# ## Baseline and metric, by hand

# %%
config = load_run_config("forecast", "airline", pick(
    fast=["model.ensemble=1", "fit.epochs=2", "model.hidden_size=8", "fit.plots=false", "data.backtest_start=1960-01"],
    full=["model.ensemble=5"]))
series = load_series(config.data)
y = series.values[:, 0]
first = series.index_of(config.data.backtest_start)
m, P = series.season, config.data.horizon
history = y[:first]
s_naive_by_hand = np.array([history[len(history) - m + (h % m)] for h in range(P)])  # same month last year
assert np.allclose(s_naive_by_hand, seasonal_naive(history, P, m))
scale = np.mean(np.abs(history[m:] - history[:-m]))
actual = y[first:first + P]
mase_by_hand = np.mean(np.abs(actual - s_naive_by_hand)) / scale
assert abs(mase_by_hand - mase(actual, s_naive_by_hand, history, m)) < 1e-12
assert abs(mae(actual, s_naive_by_hand) - np.mean(np.abs(actual - s_naive_by_hand))) < 1e-12
print(f"{len(y)} months, season m={m}; training rows before {config.data.backtest_start}: {first}; "
      f"first {P}-month seasonal-naive forecast by hand: MASE {mase_by_hand:.3f}")

# %% [markdown]
# ## Train, backtest, compare
#
# seqlab's forecasting recipe (`seqlab train forecast`, here through `seqlab.training.runner.train`)
# trains the forecaster (an ensemble of `model.ensemble` LSTMs) on the rows before the first origin
# and backtests it beside the baselines on the same origins.

# %%
started = time.perf_counter()
result = train(config, scratch_dir() / "forecast-run")
seconds = time.perf_counter() - started
metrics = result.results["all_points"]
run = load_run(scratch_dir() / "forecast-run")  # the ensemble, the scaler and the series, from the checkpoint
backtests = run.recipe.backtest(run.model, run.config, run.state)["backtests"]
methods = list(metrics)
for name in methods:
    scores = metrics[name]
    print(f"{name:15s} MASE {scores['mase']:.3f}  MAE {scores['mae']:.1f}  RMSE {scores['rmse']:.1f}  "
          f"sMAPE {scores['smape']:.2f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
left.plot(np.arange(len(y)), y, color="black", label="passengers (thousands)")
for name in methods:
    backtest = backtests[name]
    left.plot(backtest.origins + P - 1, backtest.forecasts[:, -1], label=f"{name}, {P} months ahead")
left.axvline(first, color="grey", linestyle=":")
left.set_xlabel("month")
left.legend(fontsize="small")
left.set_title("rolling-origin forecasts")
right.bar(methods, [metrics[name]["mase"] for name in methods])
right.axhline(1.0, color="grey", linestyle=":")
right.set_ylabel("MASE (all horizons)")
right.set_title(f"{len(backtests['model'].origins)} origins, horizon {P}")
save_figure(figure, "18_backtest")

# %% [markdown]
# ## What you saw

# %%
ranking = sorted(methods, key=lambda name: metrics[name]["mase"])
print(f"""
* The seasonal-naive forecast and MASE written by hand equal seqlab's.
* Trained on {result.results["n_train"]} months ({result.parameters:,} parameters in the ensemble of
  {config.model.ensemble}) and backtested over {len(backtests["model"].origins)} origins, {P} months ahead,
  in {seconds:.0f} s:
  {"; ".join(f"{name} MASE {metrics[name]['mase']:.3f}" for name in ranking)} (best first).
""")
