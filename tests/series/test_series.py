"""Series I/O, scaling, windows, splits, calendar features, backtesting and baselines."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data.locate import bundled_root
from seqlab.errors import SeqlabError
from seqlab.series.backtest import rolling_origin
from seqlab.series.baselines import naive, sarima_forecaster, seasonal_naive
from seqlab.series.calendar import calendar_features
from seqlab.series.io import infer_frequency, load_airline, load_statsmodels_series, read_csv_series
from seqlab.series.scaling import Scaler
from seqlab.series.windows import chronological_split, sliding_windows


def test_csv_with_a_date_column(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("month,units,price\n2020-01-31,5,1.5\n2020-02-29,6,1.5\n2020-03-31,8,1.25\n")
    series = read_csv_series(path, date_column="Month", value_columns=["units"])
    assert series.freq == "M" and series.columns == ("units",)
    np.testing.assert_array_equal(series.values[:, 0], [5, 6, 8])
    assert str(series.future_dates(2)[1]) == "2020-05"


@pytest.mark.parametrize(("body", "message"), [
    ("date,y\n2020-01,1\n2020-02,abc\n", r"bad\.csv: line 3: field 'y': expected a number, got 'abc'"),
    ("date,y\n2020-01,1\nnot-a-date,2\n", r"bad\.csv: line 3: field 'date': expected a date"),
    ("when,y\n2020-01,1\n", r"bad\.csv: line 1: expected a date column 'date'"),
    ("date,y\n2020-02,1\n2020-01,2\n", r"bad\.csv: line 3: field 'date': dates must increase"),
    ("date,y\n2020-01,1\n2020-02\n", r"bad\.csv: line 3: expected 2 fields"),
    ("date,y\n2020-01,1\n2020-02,nan\n", r"bad\.csv: line 3: field 'y': expected a finite number"),
])
def test_csv_errors_name_file_line_and_field(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(SeqlabError, match=message):
        read_csv_series(path)


def test_csv_saved_by_excel_with_a_bom_and_windows_line_endings(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfMonth,Units\r\n2020-01,5\r\n2020-02,6\r\n\r\n")
    series = read_csv_series(path, date_column="month")
    assert series.columns == ("Units",) and series.freq == "M"
    np.testing.assert_array_equal(series.values[:, 0], [5, 6])


def test_csv_in_another_encoding_is_named_with_the_option_to_pass(tmp_path):
    path = tmp_path / "ventes.csv"
    path.write_bytes("date,caf\u00e9\n2020-01,5\n2020-02,6\n".encode("latin-1"))
    with pytest.raises(SeqlabError, match=r"ventes\.csv: not valid utf-8 \(.*line 1\); pass the file's encoding"):
        read_csv_series(path)
    assert read_csv_series(path, encoding="latin-1").columns == ("caf\u00e9",)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=2), min_size=2, max_size=30),
       st.sampled_from(["1949-01", "2001-12"]), st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_csv_series_round_trip(tmp_path, rows, start, bom, newline):
    dates = np.arange(np.datetime64(start, "M"), np.datetime64(start, "M") + len(rows))
    lines = ["date,a,b", *(f"{d},{a!r},{b!r}" for d, (a, b) in zip(dates, rows))]
    path = tmp_path / "series.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode())
    series = read_csv_series(path)
    assert series.columns == ("a", "b") and series.freq == "M"
    np.testing.assert_array_equal(series.dates, dates)
    np.testing.assert_array_equal(series.values, np.array(rows))  # repr of a float reads back exactly


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=["Cs"]), max_size=12), min_size=1, max_size=4))
def test_csv_series_with_random_lines_parses_or_names_the_file_and_line(tmp_path, body):
    path = tmp_path / "random.csv"
    path.write_text("date,y\n2020-01,1\n" + "\n".join(body), encoding="utf-8")
    try:
        read_csv_series(path)
    except SeqlabError as error:
        message = str(error)
        assert "\n" not in message and message.startswith(f"{path}: ")
        whole_file = ("no data rows", "not regular", "needs at least 2 dates")  # not about one line
        assert "line " in message or any(reason in message for reason in whole_file), message


def test_frequency_inference():
    days = np.datetime64("2021-03-01") + np.arange(5)
    assert infer_frequency(days) == "D"
    assert infer_frequency(np.datetime64("2021-03-07") + 7 * np.arange(5)) == "W"
    assert infer_frequency(np.arange(np.datetime64("1700"), np.datetime64("1705"))) == "Y"
    with pytest.raises(SeqlabError, match="not regular"):
        infer_frequency(days[[0, 1, 3]])


def test_scaler_uses_only_the_rows_it_is_fitted_on_and_inverts():
    train, later = np.array([[1.0], [2.0], [4.0]]), np.array([[100.0]])
    scaler = Scaler.fit(train, log=True)
    z = scaler.transform(np.log(train) * 0 + train)
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(later)), later)
    assert Scaler.from_state(scaler.state()) == scaler
    minmax = Scaler.fit(train, kind="minmax")
    np.testing.assert_allclose(minmax.transform(train)[:, 0], [0.0, 1 / 3, 1.0])
    with pytest.raises(SeqlabError, match="positive"):
        Scaler.fit(np.array([[0.0], [1.0]]), log=True)


def test_windows_line_up_past_future_and_target():
    values = np.arange(10.0)
    cov = np.arange(10.0)[:, None] * 10
    w = sliding_windows(values, input_length=3, horizon=2, covariates=cov)
    assert len(w) == 6 and w.past.shape == (6, 3, 2) and w.future.shape == (6, 2, 1) and w.target.shape == (6, 2, 1)
    np.testing.assert_array_equal(w.past[4, :, 0], [4, 5, 6])
    np.testing.assert_array_equal(w.target[4, :, 0], [7, 8])
    np.testing.assert_array_equal(w.future[4, :, 0], [70, 80])
    assert w.anchor[4].item() == 6
    assert sum(len(b["target"]) for b in w.batches(4)) == 6


def test_chronological_split():
    train, val, test = chronological_split(10, val=0.2, test=3)
    assert (train, val, test) == (slice(0, 5), slice(5, 7), slice(7, 10))
    with pytest.raises(SeqlabError, match="no training rows"):
        chronological_split(3, val=2, test=1)


def test_calendar_features_put_december_next_to_january():
    months = np.arange(np.datetime64("2020-01"), np.datetime64("2021-01"))
    f = calendar_features(months, "M")
    assert f.shape == (12, 2)
    assert np.linalg.norm(f[11] - f[0]) == pytest.approx(np.linalg.norm(f[1] - f[0]))
    assert calendar_features(np.datetime64("2024-01-01") + np.arange(7), "D").shape == (7, 4)
    assert calendar_features(months, "Y").shape == (12, 0)


def test_baselines_and_rolling_origin():
    y = np.array([1.0, 2.0, 3.0, 4.0, 11.0, 12.0, 13.0, 14.0, 21.0, 22.0])
    np.testing.assert_array_equal(seasonal_naive(y[:6], 3, m=4), [3.0, 4.0, 11.0])
    np.testing.assert_array_equal(seasonal_naive(y[:6], 6, m=4), [3.0, 4.0, 11.0, 12.0, 3.0, 4.0])
    np.testing.assert_array_equal(naive(y[:6], 2), [12.0, 12.0])
    seen = []

    def spy(origin):
        seen.append(origin)
        return naive(y[:origin], 2)

    bt = rolling_origin(y, first_origin=6, horizon=2, forecast=spy)
    assert seen == [6, 7, 8]
    np.testing.assert_array_equal(bt.actuals, [[13, 14], [14, 21], [21, 22]])
    assert bt.metrics(y[:6], m=1, last_points=True)["mae"] == pytest.approx(np.mean([2, 8, 8]))


def test_airline_baselines_match_the_classic_fit():
    series = load_airline(bundled_root())  # the bundled copy: the pinned bytes of the shared file
    assert len(series) == 144 and series.freq == "M" and series.index_of("1959-01") == 120
    y = series.values[:, 0]
    forecast = sarima_forecaster(y, y, horizon=6, m=12, log=True)
    # Box-Jenkins airline model on ln(y), full series: MA(1) about -0.40, seasonal MA(1) about -0.56
    assert forecast.params["ma.L1"] == pytest.approx(-0.4019, abs=0.01)
    assert forecast.params["ma.S.L12"] == pytest.approx(-0.5571, abs=0.01)
    assert forecast(132).shape == (6,)


def test_statsmodels_series():
    co2 = load_statsmodels_series("co2")
    assert co2.freq == "M" and str(co2.dates[0]) == "1958-03" and str(co2.dates[-1]) == "2001-12"
    assert len(co2) == 526 and np.all(np.isfinite(co2.values))  # every month, gaps interpolated
    sunspots = load_statsmodels_series("sunspots")
    assert sunspots.freq == "Y" and len(sunspots) == 309 and sunspots.season == 1
    with pytest.raises(SeqlabError, match="nile"):
        load_statsmodels_series("nile")
