"""Time series from files: a CSV with a date column, checked line by line, and the shipped series.

A ``TimeSeries`` is a regular calendar index (monthly, weekly, daily or yearly) and a
(T, F) float array of values, one column per variable. Reading a user's CSV names the file,
the line and the field of the first bad value, so the user can fix it. The CSV may come from
Excel: a UTF-8 byte-order mark and Windows line endings are fine, and a file in another encoding
is named with the ``encoding`` option to pass (``seqlab.data.readers.read_csv_rows``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data.locate import dataset_file
from seqlab.data.readers import read_csv_rows
from seqlab.errors import SeqlabError

# the frequencies we know, and the season length each implies
FREQUENCIES = {"Y": 1, "M": 12, "W": 52, "D": 7}


@dataclass(frozen=True)
class TimeSeries:
    """A regular series: ``dates`` (T,) datetime64, ``values`` (T, F) float64, named ``columns``.

    ``freq`` is "Y", "M", "W" or "D"; ``season`` the season length it implies (12 for monthly).
    """

    dates: np.ndarray
    values: np.ndarray
    columns: tuple[str, ...]
    freq: str

    def __post_init__(self):
        if self.values.ndim != 2 or self.values.shape[0] != self.dates.shape[0]:
            raise SeqlabError(f"values must be (T, F) with T = len(dates) = {self.dates.shape[0]}, "
                              f"got {self.values.shape}")
        if self.values.shape[1] != len(self.columns):
            raise SeqlabError(f"{len(self.columns)} column names for {self.values.shape[1]} value columns")
        if self.freq not in FREQUENCIES:
            raise SeqlabError(f"freq: expected one of {', '.join(FREQUENCIES)}, got {self.freq!r}")

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def season(self) -> int:
        return FREQUENCIES[self.freq]

    @staticmethod
    def season_of(freq: str) -> int:
        """The season length of a frequency: 12 for "M", 52 for "W", 7 for "D", 1 for "Y"."""
        return FREQUENCIES[freq]

    @property
    def _unit(self) -> str:
        return "D" if self.freq in ("D", "W") else self.freq

    def index_of(self, date: str) -> int:
        """Position of ``date`` (e.g. "1959-01") in the series; raises if it is not one of its dates."""
        wanted = np.datetime64(date, self._unit)
        hits = np.flatnonzero(self.dates.astype(f"datetime64[{self._unit}]") == wanted)
        if hits.size == 0:
            raise SeqlabError(f"date {date!r} is not in the series ({self.dates[0]} .. {self.dates[-1]})")
        return int(hits[0])

    def future_dates(self, n: int) -> np.ndarray:
        """The ``n`` dates that follow the last one, at the series' frequency."""
        step = 7 if self.freq == "W" else 1
        last = self.dates[-1].astype(f"datetime64[{self._unit}]")
        return last + step * np.arange(1, n + 1)


def _parse_date(text: str) -> np.datetime64:
    return np.datetime64(text.strip())


def infer_frequency(dates: np.ndarray, where: str = "dates") -> str:
    """The one frequency whose unit steps by exactly 1 between consecutive dates."""
    if dates.shape[0] < 2:
        raise SeqlabError(f"{where}: a series needs at least 2 dates, got {dates.shape[0]}")
    days = dates.astype("datetime64[D]")
    gaps = np.diff(days.astype(np.int64))
    if np.all(gaps == 1):
        return "D"
    if np.all(gaps == 7):
        return "W"
    # months and years by calendar step, whatever the day (month-end dates are common)
    for freq in ("M", "Y"):
        if np.all(np.diff(dates.astype(f"datetime64[{freq}]").astype(np.int64)) == 1):
            return freq
    bad = int(np.flatnonzero(gaps != np.median(gaps))[0]) if np.any(gaps != np.median(gaps)) else 0
    raise SeqlabError(f"{where}: dates are not regular (yearly, monthly, weekly or daily without gaps); "
                      f"first irregular step after {dates[bad]} -> {dates[bad + 1]}")


def read_csv_series(path: str | os.PathLike, date_column: str = "date", value_columns: list[str] | None = None,
                    encoding: str = "utf-8") -> TimeSeries:
    """Read a CSV whose header names a date column and one or more numeric columns.

    Dates are ISO-like ("1959", "1959-01", "1959-01-31"); values must be finite numbers. Column
    names match without regard to case or surrounding spaces. Errors name the file, the line
    (1-based, header = line 1) and the field.

    Example:
        >>> series = read_csv_series(dataset_file("airline/Airline.csv"), date_column="Date")
        >>> series.freq, series.columns
        ('M', ('Passengers',))
    """
    path = Path(path)
    header, records = read_csv_rows(path, encoding=encoding)
    match = {name.lower(): index for index, name in enumerate(header)}
    if date_column.strip().lower() not in match:
        raise SeqlabError(f"{path}: line 1: expected a date column {date_column!r}, found columns {header}")
    date_at = match[date_column.strip().lower()]
    if value_columns is None:
        value_at = [index for index in range(len(header)) if index != date_at]
    else:
        missing = [name for name in value_columns if name.strip().lower() not in match]
        if missing:
            raise SeqlabError(f"{path}: line 1: value column(s) {missing} not found; columns are {header}")
        value_at = [match[name.strip().lower()] for name in value_columns]
    if not value_at:
        raise SeqlabError(f"{path}: line 1: expected at least one value column besides {header[date_at]!r}")
    dates, rows, lines = [], [], []
    for line, record in records:
        if len(record) != len(header):
            raise SeqlabError(f"{path}: line {line}: expected {len(header)} fields, got {len(record)}")
        try:
            dates.append(_parse_date(record[date_at]))
        except ValueError:
            raise SeqlabError(f"{path}: line {line}: field {header[date_at]!r}: expected a date such as 1959-01 "
                              f"or 1959-01-31, got {record[date_at]!r}") from None
        row = []
        for index in value_at:
            try:
                value = float(record[index])
            except ValueError:
                raise SeqlabError(f"{path}: line {line}: field {header[index]!r}: expected a number, "
                                  f"got {record[index]!r}") from None
            if not np.isfinite(value):
                raise SeqlabError(f"{path}: line {line}: field {header[index]!r}: expected a finite number, "
                                  f"got {value}")
            row.append(value)
        rows.append(row)
        lines.append(line)
    if not rows:
        raise SeqlabError(f"{path}: no data rows after the header")
    stamps = np.array(dates)
    order = np.diff(stamps.astype("datetime64[D]").astype(np.int64))
    if np.any(order <= 0):
        bad = int(np.flatnonzero(order <= 0)[0]) + 1
        raise SeqlabError(f"{path}: line {lines[bad]}: field {header[date_at]!r}: dates must increase, "
                          f"got {stamps[bad - 1]} then {stamps[bad]}")
    freq = infer_frequency(stamps, where=str(path))
    return TimeSeries(stamps, np.asarray(rows, dtype=np.float64), tuple(header[index] for index in value_at), freq)


def load_airline(root: str | os.PathLike | None = None) -> TimeSeries:
    """Box & Jenkins' Series G, monthly airline passengers 1949-01..1960-12 (``airline/Airline.csv``).

    ``root`` is a data folder; without it the file is found as every dataset is (``seqlab.data.locate``),
    down to the copy bundled with seqlab.
    """
    return read_csv_series(dataset_file("airline/Airline.csv", root), date_column="Date")


def load_statsmodels_series(name: str) -> TimeSeries:
    """A series statsmodels ships: "sunspots" (yearly, 1700-2008) or "co2" (weekly, as monthly means).

    CO2's weekly table has gaps; it is averaged per month (as statsmodels' own examples do) and
    the few months without any observation are filled by linear interpolation. statsmodels is an
    optional extra and is imported only here.
    """
    try:
        from statsmodels import datasets
    except ImportError as missing:  # pragma: no cover - depends on the installed extras
        raise SeqlabError("the statsmodels series need statsmodels: pip install 'seqlab[test]'") from missing
    if name == "sunspots":
        frame = datasets.sunspots.load_pandas().data
        dates = np.array([np.datetime64(str(int(year)), "Y") for year in frame["YEAR"]])
        return TimeSeries(dates, frame[["SUNACTIVITY"]].to_numpy(np.float64), ("SUNACTIVITY",), "Y")
    if name == "co2":
        frame = datasets.co2.load_pandas().data
        months = frame.index.to_numpy().astype("datetime64[M]")
        values = frame["co2"].to_numpy(np.float64)
        keep = np.isfinite(values)
        unique, inverse = np.unique(months[keep], return_inverse=True)
        sums = np.bincount(inverse, weights=values[keep])
        counts = np.bincount(inverse)
        full = np.arange(unique[0], unique[-1] + 1)  # every month; a few have no observation at all
        position = lambda months: months.astype(np.int64).astype(np.float64)  # noqa: E731
        means = np.interp(position(full), position(unique), sums / counts)  # linear across the empty months
        return TimeSeries(full, means[:, None], ("co2",), "M")
    raise SeqlabError(f"unknown statsmodels series {name!r}; expected 'sunspots' or 'co2'")
