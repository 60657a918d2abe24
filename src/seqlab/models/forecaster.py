"""A recurrent forecaster: a seqlab LSTM/GRU reads the past window, a head forecasts P steps.

Two ways to reach P steps ahead:

* direct:    h_L = RNN(x_1..x_L);  [ŷ_{L+1}, ..., ŷ_{L+P}] = W [h_L; c_{L+1}; ...; c_{L+P}] + b
  (one output per step, all at once, from the last state and the known future covariates c);
* recursive: ŷ_{t+1} = W [h_t; c_{t+1}] + b, then (ŷ_{t+1}, c_{t+1}) is fed back as the next input,
  P times (during training the true y_{t+1} is fed back instead: teacher forcing).

With ``residual="last"`` the network forecasts the change from the last observed value a
(``ŷ_{L+h} = y_L + Δ_h``), which keeps a trending series inside the range the network was trained
on; with ``residual="seasonal"`` the change from the same season a period m earlier
(``ŷ_{L+h} = y_{L+h-m} + Δ_h``, seasonal differencing as in SARIMA; needs P <= m <= L);
``residual="none"`` forecasts the level itself. With a residual, the network also *reads* the
window relative to its last value (x_t - y_L for the target features), so a level never seen in
training (a series that keeps growing) reaches the network as a familiar shape.

Heads, K outputs per step and target:

* "point":    K = 1, the mean;
* "gaussian": K = 2, mean mu and scale sigma = softplus(s) + 1e-4 of N(mu, sigma^2);
* "quantile": K = Q, the quantiles q_1 < ... < q_Q listed in ``quantiles`` (sorted after the
  head, so they never cross).

Shape:
    past (B, L, F + C): targets then covariates, as ``seqlab.series.sliding_windows`` builds them;
    future (B, P, C): covariates of the forecast steps; returns a ``Forecast`` of (B, P, F) tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqlab.checks import integer
from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM
from seqlab.series.calendar import calendar_features
from seqlab.series.io import TimeSeries
from seqlab.series.scaling import Scaler

CELLS = {"lstm": LSTM, "gru": GRU}
HEADS = ("point", "gaussian", "quantile")
MODES = ("direct", "recursive")
RESIDUALS = ("last", "seasonal", "none")


@dataclass
class Forecast:
    """A forecast: ``mean`` (B, P, F); ``scale`` (B, P, F) for Gaussian heads; ``quantiles`` (B, P, F, Q)."""

    mean: torch.Tensor
    scale: torch.Tensor | None = None
    quantiles: torch.Tensor | None = None
    levels: tuple[float, ...] = ()

    def interval(self, coverage: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
        """Central interval meant to hold ``coverage`` of outcomes: (lower, upper), each (B, P, F).

        Gaussian: mu -/+ z sigma with z the (1 + coverage) / 2 quantile of N(0, 1). Quantile head:
        the stored levels (1 - coverage) / 2 and (1 + coverage) / 2, which must be among its levels.
        """
        if self.scale is not None:
            z = math.sqrt(2.0) * torch.erfinv(torch.tensor(coverage, dtype=self.mean.dtype))
            return self.mean - z * self.scale, self.mean + z * self.scale
        if self.quantiles is not None:
            low, high = (1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0
            index = {round(level, 6): k for k, level in enumerate(self.levels)}
            if round(low, 6) not in index or round(high, 6) not in index:
                raise SeqlabError(f"a {coverage:.0%} interval needs quantiles {low:g} and {high:g}; "
                                  f"the head has {list(self.levels)}")
            return self.quantiles[..., index[round(low, 6)]], self.quantiles[..., index[round(high, 6)]]
        raise SeqlabError("a point forecast has no interval; use head='gaussian' or head='quantile'")


class RecurrentForecaster(nn.Module):
    """Forecast P steps of F target series from L past steps, with a seqlab LSTM or GRU.

    Args:
        n_targets: F, series forecast (also the first F input features).
        n_covariates: C, known-ahead covariates (calendar features), after the targets.
        horizon: P. hidden_size: H. num_layers: L_rnn. cell: "lstm" or "gru".
        mode: "direct" or "recursive". head: "point", "gaussian" or "quantile".
        quantiles: levels of the quantile head; must include 0.5 (its median is the point forecast).
        residual: "last", "seasonal" or "none": what the network's output is added to.
        season: m, the period of ``residual="seasonal"``.
        dropout: between recurrent layers and before the head.

    Example:
        >>> model = RecurrentForecaster(n_targets=1, n_covariates=2, horizon=6)
        >>> model(torch.randn(4, 24, 3), torch.randn(4, 6, 2)).mean.shape
        torch.Size([4, 6, 1])
    """

    def __init__(self, n_targets: int = 1, n_covariates: int = 0, horizon: int = 1, hidden_size: int = 32,
                 num_layers: int = 1, cell: str = "lstm", mode: str = "direct", head: str = "point",
                 quantiles: tuple[float, ...] = (0.1, 0.5, 0.9), residual: str = "last", season: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        if cell not in CELLS:
            raise SeqlabError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
        if mode not in MODES:
            raise SeqlabError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if head not in HEADS:
            raise SeqlabError(f"head: expected one of {', '.join(HEADS)}, got {head!r}")
        levels = tuple(sorted(float(q) for q in quantiles))
        if head == "quantile" and (0.5 not in levels or not all(0.0 < q < 1.0 for q in levels)):
            raise SeqlabError(f"quantiles: expected levels in (0, 1) including 0.5, got {list(quantiles)}")
        if residual not in RESIDUALS:
            raise SeqlabError(f"residual: expected one of {', '.join(RESIDUALS)}, got {residual!r}")
        if residual == "seasonal" and mode == "recursive":
            raise SeqlabError("residual='seasonal' is for mode='direct'; recursive forecasts use residual='last'")
        if residual == "seasonal" and horizon > season:
            raise SeqlabError(f"residual='seasonal' needs horizon <= season, got {horizon} and {season}")
        if n_targets < 1 or n_covariates < 0 or horizon < 1:
            raise SeqlabError(f"n_targets >= 1, n_covariates >= 0, horizon >= 1 expected, "
                              f"got {n_targets}, {n_covariates}, {horizon}")
        self.n_targets, self.n_covariates, self.horizon = n_targets, n_covariates, horizon
        self.mode, self.head_kind, self.levels, self.residual, self.season = mode, head, levels, residual, season
        self.k = {"point": 1, "gaussian": 2, "quantile": len(levels)}[head]
        self.rnn = CELLS[cell](n_targets + n_covariates, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        steps = horizon if mode == "direct" else 1
        self.head = nn.Linear(hidden_size + steps * n_covariates, steps * n_targets * self.k)

    def forward(self, past: torch.Tensor, future: torch.Tensor | None = None,
                target: torch.Tensor | None = None) -> Forecast:
        """Forecast the ``horizon`` steps after ``past``; ``target`` (B, P, F) enables teacher forcing."""
        B, L, features = past.shape
        if features != self.n_targets + self.n_covariates:
            raise SeqlabError(f"past: expected {self.n_targets} + {self.n_covariates} features, got {features}")
        if future is None:
            future = past.new_zeros(B, self.horizon, self.n_covariates)
        if future.shape != (B, self.horizon, self.n_covariates):
            raise SeqlabError(f"future: expected covariates of shape {(B, self.horizon, self.n_covariates)}, "
                              f"got {tuple(future.shape)}")
        if self.residual == "seasonal" and self.season > L:
            raise SeqlabError(f"residual='seasonal' needs at least {self.season} past steps, got {L}")
        if self.residual == "seasonal":  # y_{L+h-m} for h = 1..P
            anchor = past[:, L - self.season:L - self.season + self.horizon, : self.n_targets]  # (B, P, F)
        else:
            anchor = past[:, -1:, : self.n_targets]  # (B, 1, F)
        if self.residual != "none":
            past = self._relative(past)
        if self.mode == "direct":
            h, _ = self.rnn(past)  # (B, L, H)
            features = torch.cat([self.dropout(h[:, -1]), future.flatten(1)], dim=-1)  # (B, H + P*C)
            raw = self.head(features).view(B, self.horizon, self.n_targets, self.k)  # (B, P, F, K)
        else:
            raw = self._recursive(past, future, target, anchor)
        return self._distribution(raw, anchor)

    def _relative(self, past: torch.Tensor) -> torch.Tensor:
        """The window with its last target value subtracted from the target features."""
        shift = torch.zeros_like(past[:, -1:])  # (B, 1, F + C)
        shift[..., : self.n_targets] = past[:, -1:, : self.n_targets]
        return past - shift

    def _recursive(self, past, future, target, anchor) -> torch.Tensor:
        """P one-step forecasts, each fed back as the next input; locations relative to y_L (if residual).

        ``anchor`` (B, 1, F) is y_L in the caller's units, subtracted from teacher-forced targets.
        """
        origin = anchor if self.residual != "none" else None
        h, state = self.rnn(past)  # (B, L, H)
        last = h[:, -1]  # (B, H)
        previous = past[:, -1:, : self.n_targets]  # (B, 1, F): 0 when relative
        outputs = []
        for p in range(self.horizon):
            raw = self.head(torch.cat([self.dropout(last), future[:, p]], dim=-1))
            raw = raw.view(-1, 1, self.n_targets, self.k)  # (B, 1, F, K)
            if origin is not None:  # one step's change from the previous value
                raw = self._shift(raw, previous)
            outputs.append(raw)
            if p + 1 == self.horizon:
                break
            if target is not None and self.training:  # teacher forcing: feed the truth
                value = target[:, p:p + 1] - (0.0 if origin is None else origin)
            else:  # feed the forecast back, (B, 1, F)
                value = self._location(raw)
            h, state = self.rnn(torch.cat([value, future[:, p:p + 1]], dim=-1), state)  # input (B, 1, F + C)
            last, previous = h[:, -1], value
        return torch.cat(outputs, dim=1)  # (B, P, F, K)

    def _location(self, raw: torch.Tensor) -> torch.Tensor:
        """The point forecast inside raw outputs (B, P, F, K): the mean, or the median quantile."""
        if self.head_kind == "quantile":
            return torch.sort(raw, dim=-1).values[..., self.levels.index(0.5)]
        return raw[..., 0]

    def _shift(self, raw: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Add ``offset`` (B, 1 or P, F) to the location outputs (not to a Gaussian's scale)."""
        if self.head_kind == "quantile":
            return raw + offset.unsqueeze(-1)
        return torch.cat([raw[..., :1] + offset.unsqueeze(-1), raw[..., 1:]], dim=-1)

    def _distribution(self, raw: torch.Tensor, anchor: torch.Tensor) -> Forecast:
        raw = raw if self.residual == "none" else self._shift(raw, anchor)  # anchor (B, 1 or P, F)
        if self.head_kind == "point":
            return Forecast(mean=raw[..., 0])
        if self.head_kind == "gaussian":
            return Forecast(mean=raw[..., 0], scale=nn.functional.softplus(raw[..., 1]) + 1e-4)
        quantiles = torch.sort(raw, dim=-1).values  # (B, P, F, Q), never crossing
        median = quantiles[..., self.levels.index(0.5)]
        return Forecast(mean=median, quantiles=quantiles, levels=self.levels)


class ForecasterEnsemble(nn.Module):
    """Forecasters trained apart (one seed each) whose forecasts are averaged.

        mean = (1/K) sum_k mu_k;   interval = ((1/K) sum_k lower_k, (1/K) sum_k upper_k)

    Averaging the members' bounds keeps each member's own spread; it is not the interval of the
    mixture. The members are a ``ModuleList``, so the ensemble saves and loads as one state dict.

    Example:
        >>> ensemble = ForecasterEnsemble([RecurrentForecaster(horizon=3) for _ in range(2)])
        >>> ensemble.forecast(torch.randn(4, 12, 1), torch.zeros(4, 3, 0))[0].shape
        torch.Size([4, 3, 1])
    """

    def __init__(self, members: list[RecurrentForecaster]):
        super().__init__()
        if not members:
            raise SeqlabError("ForecasterEnsemble: expected at least one member, got none")
        self.members = nn.ModuleList(members)

    @property
    def horizon(self) -> int:
        return self.members[0].horizon

    @property
    def n_covariates(self) -> int:
        return self.members[0].n_covariates

    @property
    def probabilistic(self) -> bool:
        return self.members[0].head_kind != "point"

    def forward(self, past: torch.Tensor, future: torch.Tensor | None = None,
                target: torch.Tensor | None = None) -> Forecast:
        """The first member's forecast (training reaches each member on its own; see ``forecast``)."""
        return self.members[0](past, future, target)

    @torch.no_grad()
    def forecast(self, past: torch.Tensor, future: torch.Tensor,
                 interval: float = 0.8) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The averaged mean (B, P, F) and, for probabilistic heads, the averaged interval bounds."""
        forecasts = [member.eval()(past, future) for member in self.members]
        mean = torch.stack([f.mean for f in forecasts]).mean(0)
        if not self.probabilistic:
            return mean, None, None
        bounds = [f.interval(interval) for f in forecasts]
        return mean, torch.stack([b[0] for b in bounds]).mean(0), torch.stack([b[1] for b in bounds]).mean(0)


MAX_FORECAST_STEPS = 100_000  # a bound on what one forecast may allocate


@dataclass
class SeriesForecaster:
    """A trained ensemble in the data's own units: reads a series' last ``input_length`` values, forecasts ahead.

    The values are scaled as in training (``scaler``, fitted on the training rows only), the
    calendar covariates are computed from the dates, and the forecast is mapped back to the
    data's units. This is what ``seqlab forecast`` and the backtest call.
    """

    ensemble: ForecasterEnsemble
    scaler: Scaler
    freq: str
    calendar: bool
    input_length: int
    interval: float = 0.8

    @property
    def horizon(self) -> int:
        return self.ensemble.horizon

    def covariates(self, dates: np.ndarray) -> np.ndarray:
        return calendar_features(dates, self.freq) if self.calendar else np.zeros((len(dates), 0))

    def forecast(self, history: np.ndarray, dates: np.ndarray, future_dates: np.ndarray) -> dict[str, np.ndarray]:
        """The ``horizon`` steps after ``history`` (T,) dated ``dates``: ``mean`` (and ``lower``, ``upper``)."""
        if history.shape[0] < self.input_length:
            raise SeqlabError(f"the model reads {self.input_length} past steps; the history has {history.shape[0]}")
        z = self.scaler.transform(history[-self.input_length:, None])  # (L, 1)
        past = np.concatenate([z, self.covariates(dates[-self.input_length:])], axis=-1)
        past_t = torch.as_tensor(past, dtype=torch.float32)[None]  # (1, L, 1 + C)
        future_t = torch.as_tensor(self.covariates(future_dates), dtype=torch.float32)[None]  # (1, P, C)
        mean, lower, upper = self.ensemble.forecast(past_t, future_t, self.interval)
        result = {"mean": self.scaler.inverse(mean[0].numpy())[:, 0]}  # (P,)
        if lower is not None:
            result["lower"] = self.scaler.inverse(lower[0].numpy())[:, 0]
            result["upper"] = self.scaler.inverse(upper[0].numpy())[:, 0]
        return result

    def forecast_ahead(self, series: TimeSeries, steps: int) -> dict[str, np.ndarray]:
        """Forecast ``steps`` past the end of ``series``; beyond the horizon its forecasts are fed back.

        Returns ``dates`` (steps,), ``mean`` and, for probabilistic heads, ``lower`` and ``upper``.
        """
        integer(steps, "horizon", low=1, high=MAX_FORECAST_STEPS)
        history, dates = series.values[:, 0].copy(), series.dates.copy()
        parts: dict[str, list[np.ndarray]] = {}
        made = 0
        while made < steps:
            current = TimeSeries(dates, history[:, None], series.columns, series.freq)
            future = current.future_dates(self.horizon)
            result = self.forecast(history, dates, future)
            for key, value in result.items():
                parts.setdefault(key, []).append(value)
            history = np.concatenate([history, result["mean"]])
            dates = np.concatenate([current.dates.astype(future.dtype), future])
            made += self.horizon
        out = {key: np.concatenate(value)[:steps] for key, value in parts.items()}
        out["dates"] = series.future_dates(steps)
        return out
